"""Interrupted runs resume from their checkpoint: same result bit for bit, done chunks kept.

Interrupts are raised from the progress callback (after a given number of chunks, like a
Ctrl-C between chunks), or by killing a ``qgmag run`` process with SIGKILL / SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import qgmag
import qgmag.integrate.driver as driver
from qgmag.cli import app

from .conftest import QUANTITIES, RUN, assert_identical, serial_reference

CHUNK = 20  # 6^3 = 216 points -> 11 chunks
N_CHUNKS = 11


def interrupt_after(points: int):
    """A progress callback raising KeyboardInterrupt once ``points`` k-points are done."""

    def progress(done: int, total: int) -> None:
        if done >= points:
            raise KeyboardInterrupt

    return progress


@pytest.fixture
def count_chunks(monkeypatch):
    """Count integrate_chunk calls of serial runs."""
    calls: list[tuple[int, int]] = []
    real = driver.integrate_chunk

    def counting(model, plan, start, stop):
        calls.append((start, stop))
        return real(model, plan, start, stop)

    monkeypatch.setattr(driver, "integrate_chunk", counting)
    return calls


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_interrupt_then_resume_is_bit_identical(model, tmp_path, count_chunks, interval):
    """interval 0: saved after every chunk; 3600: saved only because of the interrupt."""
    ck = tmp_path / "run.qgck"
    kwargs = {**RUN, "chunk_size": CHUNK}
    reference = qgmag.compute(model, QUANTITIES, **kwargs)
    count_chunks.clear()
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(
            model,
            QUANTITIES,
            checkpoint=ck,
            checkpoint_interval=interval,
            progress=interrupt_after(4 * CHUNK),
            **kwargs,
        )
    assert ck.is_file() and count_chunks == [(i * CHUNK, (i + 1) * CHUNK) for i in range(4)]
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"
    count_chunks.clear()
    resumed = qgmag.compute(model, QUANTITIES, checkpoint=ck, resume=True, **kwargs)
    assert_identical(reference, resumed)
    assert resumed.attrs["resumed_chunks"] == 4
    assert [start for start, _ in count_chunks] == [i * CHUNK for i in range(4, N_CHUNKS)]
    assert not ck.exists(), "the checkpoint is deleted after success"


def test_second_interrupt_and_resume_twice(model, tmp_path, count_chunks):
    ck = tmp_path / "run.qgck"
    kwargs = {**RUN, "chunk_size": CHUNK, "checkpoint": ck, "checkpoint_interval": 0}
    reference = qgmag.compute(model, QUANTITIES, **{**RUN, "chunk_size": CHUNK})
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(model, QUANTITIES, progress=interrupt_after(2 * CHUNK), **kwargs)
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(model, QUANTITIES, resume=True, progress=interrupt_after(7 * CHUNK), **kwargs)
    count_chunks.clear()
    resumed = qgmag.compute(model, QUANTITIES, resume=True, **kwargs)
    assert_identical(reference, resumed)
    assert resumed.attrs["resumed_chunks"] == 7 and len(count_chunks) == N_CHUNKS - 7


def test_convergence_check_interrupted_in_second_pass(model, tmp_path, count_chunks):
    ck = tmp_path / "run.qgck"
    kwargs = {**RUN, "chunk_size": CHUNK, "convergence_check": True}
    reference = qgmag.compute(model, QUANTITIES, **kwargs)
    full = 6**3
    with pytest.raises(KeyboardInterrupt):  # full mesh done, half mesh (27 points) started
        qgmag.compute(
            model, QUANTITIES, checkpoint=ck, progress=interrupt_after(full + CHUNK), **kwargs
        )
    count_chunks.clear()
    resumed = qgmag.compute(model, QUANTITIES, checkpoint=ck, resume=True, **kwargs)
    assert_identical(reference, resumed)
    assert resumed.attrs["resumed_chunks"] == N_CHUNKS + 1
    assert count_chunks == [(CHUNK, 27)]  # only the rest of the half-density mesh


def test_tau_and_g_s_may_change_on_resume(model, tmp_path):
    """They scale the sums after integration, so they are not part of the fingerprint."""
    ck = tmp_path / "run.qgck"
    kwargs = {**RUN, "chunk_size": CHUNK}
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(model, QUANTITIES, checkpoint=ck, progress=interrupt_after(CHUNK), **kwargs)
    resumed = qgmag.compute(
        model, QUANTITIES, checkpoint=ck, resume=True, tau=25.0, g_s=1.0, **kwargs
    )
    assert_identical(qgmag.compute(model, QUANTITIES, tau=25.0, g_s=1.0, **kwargs), resumed)


def test_dask_run_interrupted_and_resumed_on_dask_and_serially(model, tmp_path, dask_client):
    """Checkpoints are backend independent: a Dask run resumes serially and vice versa."""
    kwargs = {**RUN, "chunk_size": 7}  # 31 chunks
    reference = serial_reference(model, **kwargs)
    ck = tmp_path / "dask.qgck"
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(
            model,
            QUANTITIES,
            scheduler=dask_client,
            checkpoint=ck,
            progress=interrupt_after(10 * 7),
            **kwargs,
        )
    assert ck.is_file()
    with pytest.raises(KeyboardInterrupt):  # serial, from the Dask checkpoint
        qgmag.compute(
            model,
            QUANTITIES,
            checkpoint=ck,
            resume=True,
            checkpoint_interval=0,
            progress=interrupt_after(20 * 7),
            **kwargs,
        )
    resumed = qgmag.compute(
        model, QUANTITIES, scheduler=dask_client, checkpoint=ck, resume=True, **kwargs
    )
    assert_identical(reference, resumed)
    assert resumed.attrs["resumed_chunks"] >= 20


# -- a killed `qgmag run` process ----------------------------------------------------------

CONFIG = """
[model]
name = "qi_wu_zhang"

[compute]
quantities = ["anomalous_hall_conductivity", "orbital_magnetization", "chern_number"]
mu = [-1.0, 0.0, 1.0]
temperature = [0.0, 100.0]
kmesh = [200, 200]
chunk_size = 100

[run]
plots = false
progress = false
checkpoint = true
checkpoint_interval = 0
"""
N_CLI_CHUNKS = 400


def _start_and_stop(config: Path, out: Path, sig: int) -> subprocess.CompletedProcess:
    """Start ``qgmag run``, send ``sig`` once its checkpoint exists, wait for the end."""
    ck = out / "checkpoint.qgck"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qgmag.cli", "run", str(config), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ck.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            stdout, stderr = proc.communicate()
            pytest.fail(f"no checkpoint appeared (rc {proc.returncode}): {stderr[-2000:]}")
        time.sleep(0.005)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_ref")
    config = folder / "qwz.toml"
    config.write_text(CONFIG)
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["run", str(config), "-o", str(folder / "ref")])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(folder / "ref" / "results.nc") as ds:
        return config, ds.load()


def _assert_same_numbers(reference: xr.Dataset, path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    for name in reference.data_vars:
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)
    return ds


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_cli_run_resumes(cli_reference, tmp_path, sig):
    config, reference = cli_reference
    out = tmp_path / "out"
    stopped = _start_and_stop(config, out, sig)
    ck = out / "checkpoint.qgck"
    if sig == signal.SIGKILL:
        assert stopped.returncode == -signal.SIGKILL
    else:  # SIGTERM is handled like Ctrl-C: checkpoint saved, workers stopped, exit 130
        assert stopped.returncode == 130, stopped.stderr
        assert "--resume" in stopped.stderr and str(ck) in stopped.stderr
    assert ck.is_file() and not (out / "results.nc").exists()
    proc = subprocess.run(
        [sys.executable, "-m", "qgmag.cli", "run", str(config), "-o", str(out), "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    ds = _assert_same_numbers(reference, out / "results.nc")
    assert 0 < ds.attrs["resumed_chunks"] < N_CLI_CHUNKS
    assert not ck.exists()
