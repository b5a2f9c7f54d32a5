"""The execution keywords of qgmag.compute and ``qgmag run``: validation, lazy Dask import,
BLAS threads in Dask tasks, and the progress of a parallel command-line run."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import qgmag
from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError, QgmagError

ARGS = (["anomalous_hall_conductivity"], 0.0)
KW = {"kmesh": (4, 4, 4)}


@pytest.fixture(scope="module")
def weyl():
    return qgmag.models.weyl_lattice()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheduler": "nonsense"}, "scheduler must be None"),
        ({"scheduler": 8786}, "scheduler must be None"),
        ({"scheduler": "local", "n_workers": 0}, "n_workers must be a positive integer"),
        ({"scheduler": "local", "n_workers": -2}, "n_workers must be a positive integer"),
        ({"scheduler": "local", "n_workers": 1.5}, "n_workers must be a positive integer"),
        ({"scheduler": "local", "n_workers": True}, "n_workers must be a positive integer"),
        ({"scheduler": "local", "threads_per_worker": 0}, "threads_per_worker must be"),
        ({"n_workers": 2}, "n_workers needs a scheduler"),
        ({"threads_per_worker": 2}, "threads_per_worker needs a scheduler"),
        ({"scheduler": "local", "runner": lambda *a: None}, "either runner= or scheduler="),
        ({"resume": True}, "resume=True needs checkpoint="),
        ({"resume": "yes", "checkpoint": "x.qgck"}, "resume must be True or False"),
        ({"checkpoint": 42}, "checkpoint must be a file path"),
        ({"checkpoint": "x.qgck", "checkpoint_interval": -1}, "checkpoint_interval"),
    ],
)
def test_bad_execution_options_are_refused(weyl, kwargs, match):
    with pytest.raises(QgmagError, match=match):
        qgmag.compute(weyl, *ARGS, **KW, **kwargs)


def test_unreachable_scheduler_names_the_address(weyl):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(
            QgmagError, match=r"cannot connect to the Dask scheduler 'tcp://127\.0\.0\.1:9'"
        ),
    ):
        qgmag.compute(weyl, *ARGS, **KW, scheduler="tcp://127.0.0.1:9")


def test_local_cluster_from_a_worker_reimporting_main_is_refused(weyl, monkeypatch):
    """What a script without ``if __name__ == '__main__':`` does in a spawned worker."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(QgmagError, match="__name__ == '__main__'"):
        qgmag.compute(weyl, *ARGS, **KW, scheduler="local", n_workers=1)


def test_import_and_serial_runs_do_not_import_dask(tmp_path):
    """qgmag imports neither dask nor distributed unless a scheduler is requested.

    (xarray itself imports ``dask.array``, if installed, when the result Dataset is built,
    to recognise dask arrays; the integration, checkpoints included, runs without it.)
    """
    code = f"""
import sys
import qgmag
import qgmag.parallel  # the Dask runner module imports Dask only when it runs
from qgmag.integrate.driver import run_serial

def dask_modules():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))

assert not dask_modules(), dask_modules()
seen = []
def runner(*args):
    total = run_serial(*args)
    seen.append(dask_modules())
    return total

model = qgmag.models.weyl_lattice()
qgmag.compute(model, ["anomalous_hall_conductivity"], 0.0, kmesh=(4, 4, 4), runner=runner,
              checkpoint={str(tmp_path / "c.qgck")!r}, checkpoint_interval=0)
assert seen == [[]], seen
assert "distributed" not in sys.modules
print("ok")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def _plan(model, chunk_size=10):
    from qgmag.integrate.driver import build_plan
    from qgmag.kspace.mesh import make_mesh
    from qgmag.observables import OBSERVABLES

    return build_plan(
        model,
        [OBSERVABLES["anomalous_hall_conductivity"]],
        np.array([0.0]),
        np.array([0.0]),
        make_mesh(model, (4, 4, 4)),
        smearing=None,
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=chunk_size,
    )


def test_chunk_task_limits_blas_to_one_thread():
    """In a fresh process with BLAS set to 2 threads, a chunk task leaves it at 1."""
    code = """
import numpy as np
import threadpoolctl
import qgmag
from qgmag.integrate.driver import build_plan
from qgmag.kspace.mesh import make_mesh
from qgmag.observables import OBSERVABLES
from qgmag.parallel import chunk_task

threadpoolctl.threadpool_limits(2)
assert {lib["num_threads"] for lib in threadpoolctl.threadpool_info()} == {2}
model = qgmag.models.weyl_lattice()
plan = build_plan(model, [OBSERVABLES["anomalous_hall_conductivity"]], np.array([0.0]),
                  np.array([0.0]), make_mesh(model, (4, 4, 4)), smearing=None,
                  degeneracy_tol=1e-6, metric_dipole="analytic", chunk_size=10)
chunk_task(model, plan, 0, 10)
threads = {lib["num_threads"] for lib in threadpoolctl.threadpool_info()}
assert threads == {1}, threads
print("ok")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_dask_tasks_run_with_one_blas_thread(weyl, dask_client):
    """Chunk tasks on the workers: same numbers as integrate_chunk, BLAS on one thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from qgmag.integrate.chunk import integrate_chunk
    from qgmag.parallel import chunk_task

    plan = _plan(weyl)
    expected = integrate_chunk(weyl, plan, 10, 20)
    for address in dask_client.nthreads():  # 1 thread each: the next task runs there too
        result = dask_client.submit(
            chunk_task, weyl, plan, 10, 20, workers=[address], pure=False
        ).result()
        assert result.n_points == expected.n_points == 10
        for key in expected.sums:
            np.testing.assert_array_equal(result.sums[key], expected.sums[key])
        info = dask_client.submit(
            threadpoolctl.threadpool_info, workers=[address], pure=False
        ).result()
        assert {lib["num_threads"] for lib in info} == {1}


# -- the command line ----------------------------------------------------------------------

CONFIG = """
[model]
name = "qi_wu_zhang"

[compute]
quantities = ["anomalous_hall_conductivity", "chern_number"]
mu = [-1.0, 0.0, 1.0]
kmesh = [60, 60]
chunk_size = 200
convergence_check = true

[run]
plots = false
"""


def test_cli_local_cluster_shows_progress_and_matches_serial(tmp_path):
    pytest.importorskip("distributed")
    config = tmp_path / "qwz.toml"
    config.write_text(CONFIG)
    runner = CliRunner()
    serial = runner.invoke(app, ["run", str(config), "-o", str(tmp_path / "s"), "--quiet"])
    assert serial.exit_code == 0, serial.output
    result = runner.invoke(
        app,
        ["run", str(config), "-o", str(tmp_path / "p"), "--scheduler", "local", "--workers", "2"],
    )
    assert result.exit_code == 0, result.output
    # k-points done of both meshes (60^2 + 30^2), rate and ETA on stderr
    assert "k-points" in result.stderr and "4500/4500" in result.stderr
    assert "k/s" in result.stderr and "ETA" in result.stderr
    with (
        xr.open_dataset(tmp_path / "s" / "results.nc") as s,
        xr.open_dataset(tmp_path / "p" / "results.nc") as p,
    ):
        assert p.attrs["execution"] == "dask local cluster (2 workers x 1 threads)"
        for name in s.data_vars:  # 2x2 matrices: BLAS threads do not enter
            np.testing.assert_array_equal(s[name].values, p[name].values, err_msg=name)


def test_config_checkpoint_interval(tmp_path):
    raw = {
        "model": {"name": "haldane"},
        "compute": {"quantities": "chern_number", "mu": 0.0, "kmesh": [4, 4]},
        "run": {"output": str(tmp_path), "checkpoint": True, "checkpoint_interval": 5},
    }
    cfg = load_config(None, raw=raw)
    assert cfg.run.execution_kwargs() == {
        "checkpoint": tmp_path / "checkpoint.qgck",
        "checkpoint_interval": 5.0,
    }
    raw["run"]["checkpoint_interval"] = -1
    with pytest.raises(ConfigError, match=r"\[run\] checkpoint_interval must be >= 0"):
        load_config(None, raw=raw)


def test_local_cluster_runs_without_costly_periodic_callbacks():
    """qgmag's local clusters get LOCAL_CLUSTER_CONFIG (no profiler, slow watchdog tick) in
    every worker; the caller's own Dask configuration is left as it was."""
    pytest.importorskip("distributed")
    import dask

    from qgmag.parallel import LOCAL_CLUSTER_CONFIG, open_client

    before = dask.config.get("distributed.worker.profile.enabled")
    client, close, _ = open_client("local", n_workers=1)
    try:
        seen = client.run(
            lambda dask_worker: (
                {key: dask.config.get(key) for key in LOCAL_CLUSTER_CONFIG},
                "profile" in dask_worker.periodic_callbacks,
            )
        )
    finally:
        close()
    ((config, profiling),) = seen.values()
    assert config == LOCAL_CLUSTER_CONFIG
    assert not profiling
    assert dask.config.get("distributed.worker.profile.enabled") == before
