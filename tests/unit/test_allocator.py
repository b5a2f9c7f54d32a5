"""Allocator discipline (qgmag.allocator): applied by compute, not at import; it works.

The effect is measured, not assumed: page faults per k-point of a repeated Fe run with
the tuning (default) and without it (QGMAG_MALLOC_TUNING=0), each in a fresh process.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

SCRIPT = r"""
import json, resource, sys, warnings
import numpy as np
from threadpoolctl import threadpool_limits
import qgmag
from qgmag import allocator
before = allocator.state()
warnings.simplefilter("ignore")
model = qgmag.read_wannier90(sys.argv[1], spinor_ordering="spin-fastest")
q = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
mu = 17.6255 + np.linspace(-0.5, 0.5, 11)
with threadpool_limits(1):
    qgmag.compute(model, q, mu, kmesh=(8, 8, 8), smearing=0.02, chunk_size=500)  # warm-up
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    qgmag.compute(model, q, mu, kmesh=(12, 12, 12), smearing=0.02, chunk_size=500)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"before": before["applied"], "after": allocator.state(),
                  "faults_per_k": (r1.ru_minflt - r0.ru_minflt) / 12**3}))
"""


def _run(path: Path, tuning: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC, "QGMAG_MALLOC_TUNING": tuning}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@glibc
def test_compute_tunes_allocator_and_removes_page_faults(shared_data):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    tuned, plain = _run(path, "1"), _run(path, "0")
    assert tuned["before"] is False and plain["before"] is False  # import changes nothing
    assert tuned["after"]["applied"] is True
    assert tuned["after"]["mmap_threshold"] == 32 * 2**20
    assert plain["after"]["applied"] is False and "QGMAG_MALLOC_TUNING" in plain["after"]["reason"]
    # untuned: ~10 faults per k-point (fresh mmap of every multi-MiB temporary)
    assert plain["faults_per_k"] > 2.0
    assert tuned["faults_per_k"] < 0.2 * plain["faults_per_k"]


@glibc
def test_tune_allocator_idempotent():
    from qgmag import allocator

    first = allocator.tune_allocator()
    assert allocator.tune_allocator() == first
    assert first["applied"] is (os.environ.get("QGMAG_MALLOC_TUNING", "1") != "0")
