"""``qgmag run``: result files, JSON output, overrides, relative paths and execution options."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pint
import pytest
import xarray as xr

import qgmag
from qgmag.cli import app


def test_run_writes_results_summary_and_roundtrips_units(runner, haldane_config, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(haldane_config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds["orbital_magnetization"].attrs["units"] == "ampere"
        assert ds["orbital_magnetization_per_cell"].attrs["units"] == "bohr_magneton"
        assert ds["anomalous_hall_conductivity"].dims == ("mu", "temperature", "i")
        assert ds["mu"].attrs["units"] == "eV"
        assert list(ds["i"].values) == ["x", "y", "z"]
        ureg = pint.UnitRegistry()
        for var in ds.data_vars.values():
            ureg.Unit(var.attrs["units"])  # pint-parsable
        np.testing.assert_allclose(ds["mu"].values, [-0.2, 0.0, 0.2])
        # Haldane (phi = pi/2, mass = 0) is a Chern insulator at mu = 0
        assert abs(abs(float(ds["chern_number"].sel(mu=0.0).item())) - 1) < 1e-2  # coarse mesh
        assert ds.attrs["config_file"] == str(haldane_config.resolve())
        assert list(ds.attrs["kmesh"]) == [12, 12]
        assert json.loads(ds.attrs["model"])["name"] == "haldane"
    summary = (out / "summary.md").read_text()
    assert "## orbital_magnetization [ampere]" in summary
    assert "| μ (eV) | T (K) | x | y | z |" in summary
    assert "## Provenance" in summary and "qgmag_version" in summary


def test_run_json_prints_only_json_on_stdout(runner, haldane_config, tmp_path):
    result = runner.invoke(
        app, ["run", str(haldane_config), "-o", str(tmp_path / "o"), "--json", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    chern = data["data_vars"]["chern_number"]
    assert chern["dims"] == ["mu", "temperature"]
    assert chern["units"] == "dimensionless"
    assert data["coords"]["mu"]["values"] == pytest.approx([-0.2, 0.0, 0.2])
    assert data["coords"]["mu"]["units"] == "eV"
    assert data["data_vars"]["orbital_magnetization"]["units"] == "ampere"
    assert data["attrs"]["kmesh"] == [12, 12]
    assert data["attrs"]["model"]["name"] == "haldane"  # JSON attrs decoded


def test_set_overrides_change_the_calculation(runner, haldane_config, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "run",
            str(haldane_config),
            "-o",
            str(out),
            "--set",
            "compute.kmesh=[8, 10]",
            "--set",
            "compute.mu=0.0",
            "--set",
            "model.parameters.mass=2.0",
            "--set",
            "compute.quantities=chern_number",
        ],
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert list(ds.attrs["kmesh"]) == [8, 10]
        assert ds.sizes["mu"] == 1
        assert set(ds.data_vars) == {"chern_number"}
        assert json.loads(ds.attrs["model"])["parameters"]["mass"] == 2.0
        assert abs(float(ds["chern_number"].item())) < 1e-2  # trivial insulator
        assert "compute.kmesh=[8, 10]" in json.loads(ds.attrs["cli_overrides"])


def test_relative_wannier_path_resolves_against_the_config_folder(runner, cubic_tb, tmp_path):
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    config = cfg_dir / "cubic.toml"
    config.write_text(
        '[model]\nfile = "../cubic_tb.dat"\n'
        '[compute]\nquantities = ["anomalous_hall_conductivity"]\nmu = [-1.0, 0.0]\n'
        "kmesh = [4, 4, 4]\n[run]\nplots = false\nprogress = false\n"
        'output = "res"\n'
    )
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(cfg_dir / "res" / "results.nc") as ds:
        assert ds["anomalous_hall_conductivity"].attrs["units"] == "siemens / centimeter"
        np.testing.assert_allclose(ds["anomalous_hall_conductivity"].values, 0.0, atol=1e-9)


def test_default_output_is_config_stem_in_cwd(runner, haldane_config, tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["run", str(haldane_config), "--set", "compute.mu=0.0"])
    assert result.exit_code == 0, result.output
    assert (work / "results" / "haldane_tiny" / "results.nc").is_file()


def test_execution_options_are_passed_to_compute(runner, haldane_config, tmp_path, monkeypatch):
    seen: dict = {}
    real = qgmag.compute

    def fake_compute(model, quantities, mu, **kwargs):
        execution = {
            k: kwargs.pop(k)
            for k in ("scheduler", "n_workers", "checkpoint", "resume")
            if k in kwargs
        }
        seen.update(execution)
        return real(model, quantities, mu, **kwargs)

    monkeypatch.setattr(qgmag, "compute", fake_compute)
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "run",
            str(haldane_config),
            "-o",
            str(out),
            "--scheduler",
            "local",
            "--workers",
            "2",
            "--resume",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen == {
        "scheduler": "local",
        "n_workers": 2,
        "checkpoint": out / "checkpoint.qgck",
        "resume": True,
    }
    # without those options only the default checkpoint is passed (kept until the files
    # are written, then deleted)
    seen.clear()
    result = runner.invoke(app, ["run", str(haldane_config), "-o", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert seen == {"checkpoint": out / "checkpoint.qgck"}
    assert not (out / "checkpoint.qgck").exists()


def test_run_end_to_end_subprocess(haldane_config, tmp_path):
    out = tmp_path / "e2e"
    proc = subprocess.run(
        [sys.executable, "-m", "qgmag.cli", "run", str(haldane_config), "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "orbital_magnetization" in data["data_vars"]
    assert (out / "results.nc").is_file() and (out / "summary.md").is_file()


def test_examples_are_valid_configs(tmp_path):
    from qgmag.config import load_config

    examples = Path(__file__).resolve().parents[2] / "examples"
    names = sorted(p.name for p in examples.glob("*.toml"))
    assert {
        "haldane_streda.toml",
        "rashba_edelstein.toml",
        "pt_afm_kinetic.toml",
        "fe_ahc.toml",
    } <= set(names)
    for name in names:
        overrides = [f"model.file={tmp_path / 'x_tb.dat'}"] if name == "fe_ahc.toml" else []
        if overrides:
            (tmp_path / "x_tb.dat").write_text("placeholder")
        cfg = load_config(examples / name, overrides)
        assert cfg.compute is not None
        if cfg.model.name is not None:
            cfg.model.build()


def test_warnings_go_to_stderr_summary_and_attrs(runner, haldane_config, tmp_path, monkeypatch):
    real = qgmag.compute

    def warning_compute(*args, **kwargs):
        warnings.warn("smearing too small: test", qgmag.QgmagWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(qgmag, "compute", warning_compute)
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(haldane_config), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert "warning: QgmagWarning: smearing too small: test" in result.stderr
    json.loads(result.stdout)
    assert "smearing too small: test" in (out / "summary.md").read_text()
    with xr.open_dataset(out / "results.nc") as ds:
        assert json.loads(ds.attrs["warnings"]) == ["QgmagWarning: smearing too small: test"]
