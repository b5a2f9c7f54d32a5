"""The shared reporting rules of the benchmarks (benchmarks/timing.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qgmag

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "timing.py"


@pytest.fixture(scope="module")
def timing():
    spec = importlib.util.spec_from_file_location("benchmark_timing", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleaved_order_and_medians(timing):
    calls = []

    def run(label):
        calls.append(label)
        return {"cpu": float(len(calls)), "wall": 10.0 * len(calls)}

    records = timing.interleaved(run, ["A", "B"], 3)
    assert calls == ["A", "B", "A", "B", "A", "B"]  # interleaved, not A A A B B B
    med = timing.medians(records["B"], ["cpu", "wall"])
    assert med["cpu"] == 4.0 and med["cpu_range"] == (2.0, 6.0)  # rounds 2, 4, 6
    assert med["wall"] == 40.0 and med["repeat"] == 3
    assert timing.medians(records["A"][:2], ["cpu"])["cpu"] == 2.0  # even count: the mean


CLOCKS_SCRIPT = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("benchmark_timing", sys.argv[1])
timing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(timing)
_, wall, cpu = timing.timed(time.sleep, 0.2)
_, busy_wall, busy_cpu = timing.timed(lambda: sum(i * i for i in range(2_000_000)))
print(wall, cpu, busy_wall, busy_cpu)
"""


def test_cpu_and_wall_clocks():
    # Sleeping costs wall time, not CPU time; a busy loop costs CPU time. process_time
    # counts every thread of the process, so this runs in a fresh interpreter: in the
    # test process, BLAS threads of earlier tests may still spin and be counted. One BLAS
    # thread, as the benchmarks run (benchmarks/timing.py): OpenBLAS 0.3.31's idle pool
    # threads spin after numpy's import, 0.06 s of CPU during the 0.2 s sleep on 2 cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CLOCKS_SCRIPT, str(PATH)],
        capture_output=True, text=True, check=True, timeout=60, env=env,
    ).stdout
    wall, cpu, busy_wall, busy_cpu = map(float, out.split())
    assert wall >= 0.2 and cpu < 0.1 * wall
    assert busy_cpu > 0.25 * busy_wall > 0.0  # a busy loop is counted (even if descheduled a while)


def test_repeat_note(timing):
    assert timing.repeat_note(3) == "median of 3 interleaved repetitions"
    assert "NOT a median" in timing.repeat_note(1)
    assert "--pairs 3" in timing.repeat_note(2, "--pairs")


def test_eigh_floor_mesh(timing):
    model = qgmag.models.haldane()
    frac = timing.mesh_fractions(4, dim=2)
    assert frac.shape == (16, 2)
    assert {tuple(x) for x in frac} == {(i / 4, j / 4) for i in range(4) for j in range(4)}
    wall, cpu = timing.eigh_floor(model, frac, chunk=5)  # 4 chunks
    assert wall > 0.0 and cpu >= 0.0
    assert np.isfinite(wall + cpu)
