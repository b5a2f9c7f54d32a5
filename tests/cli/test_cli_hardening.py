"""Issue 14 items 2, 3, 11: output folders, writability, interrupts (command line)."""

from __future__ import annotations

import errno

import xarray as xr

import qgmag
from qgmag.cli import app
from qgmag.integrate import driver
from qgmag.results import load_results


def _run(runner, config, out, *extra):
    return runner.invoke(app, ["run", str(config), "-o", str(out), *extra])


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_rerun_into_a_results_folder_is_refused_without_overwrite(runner, haldane_config, tmp_path):
    out = tmp_path / "o"
    assert _run(runner, haldane_config, out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = _run(runner, haldane_config, out, "--set", "compute.mu=0.1")
    assert result.exit_code == 2
    assert "--overwrite" in _one_error_line(result)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched


def test_overwrite_replaces_every_output_of_the_old_run_and_keeps_foreign_files(
    runner, haldane_config, tmp_path
):
    out = tmp_path / "o"
    first = _run(runner, haldane_config, out, "--set", "run.plots=true", "--set",
                 'run.formats=["png"]')
    assert first.exit_code == 0, first.output
    assert (out / "chern_number.png").is_file()
    (out / "my_notes.txt").write_text("keep me")
    second = _run(
        runner, haldane_config, out, "--overwrite", "--set",
        'compute.quantities=["anomalous_hall_conductivity"]',
    )
    assert second.exit_code == 0, second.output
    names = sorted(p.name for p in out.iterdir())
    # the stale plots of the first run are gone; only the second run's files + the user's
    assert names == [".qgmag-outputs.json", "my_notes.txt", "results.nc", "summary.md"]
    assert (out / "my_notes.txt").read_text() == "keep me"
    ds = load_results(out / "results.nc")
    assert list(ds.data_vars) == ["anomalous_hall_conductivity"]


def test_unwritable_folder_is_refused_before_computing(runner, haldane_config, tmp_path,
                                                       monkeypatch):
    import qgmag.files as files

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    calls = []
    monkeypatch.setattr(qgmag, "compute", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(files.tempfile, "mkstemp", full_disk)
    out = tmp_path / "o"
    out.mkdir()
    result = _run(runner, haldane_config, out)
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "cannot write into the output folder" in line and "No space left" in line
    assert calls == []  # refused before the computation


def test_late_write_failure_keeps_the_checkpoint_and_resume_finishes(
    runner, haldane_config, tmp_path, monkeypatch
):
    real = xr.Dataset.to_netcdf

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_disk)
    out = tmp_path / "o"
    result = _run(runner, haldane_config, out)
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "--resume" in line and "checkpoint.qgck" in line
    assert (out / "checkpoint.qgck").is_file()
    assert not (out / "results.nc").exists()
    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    computed = []
    original = driver.integrate_chunk
    monkeypatch.setattr(driver, "integrate_chunk",
                        lambda *a, **k: computed.append(1) or original(*a, **k))
    again = _run(runner, haldane_config, out, "--resume")
    assert again.exit_code == 0, again.output
    assert computed == []  # nothing recomputed
    assert (out / "results.nc").is_file() and not (out / "checkpoint.qgck").exists()


def test_ctrl_c_saves_progress_says_resume_and_resume_completes(
    runner, haldane_config, tmp_path, monkeypatch
):
    original = driver.integrate_chunk
    count = []

    def interrupting(model, plan, start, stop):
        if len(count) == 2:
            raise KeyboardInterrupt
        count.append(1)
        return original(model, plan, start, stop)

    monkeypatch.setattr(driver, "integrate_chunk", interrupting)
    out = tmp_path / "o"
    result = _run(runner, haldane_config, out, "--set", "compute.chunk_size=16")
    assert result.exit_code == 130
    assert "--resume" in result.stderr and "Traceback" not in result.output
    assert (out / "checkpoint.qgck").is_file()
    monkeypatch.setattr(driver, "integrate_chunk", original)
    again = _run(runner, haldane_config, out, "--set", "compute.chunk_size=16", "--resume")
    assert again.exit_code == 0, again.output
    ds = load_results(out / "results.nc")
    assert ds.attrs["resumed_chunks"] == 2


def test_ctrl_c_before_any_progress_leaves_no_empty_folder(
    runner, haldane_config, tmp_path, monkeypatch
):
    def interrupting(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "integrate_chunk", interrupting)
    out = tmp_path / "new" / "o"
    result = _run(runner, haldane_config, out)
    assert result.exit_code == 130
    assert not out.exists()
