"""``qgmag models``, ``info``, ``bands``, ``map``, plots of ``run``, and ``--version``."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import qgmag
from qgmag.cli import app
from qgmag.models.registry import BUILTIN_MODELS


def test_models_lists_all_builtins(runner):
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for name in BUILTIN_MODELS:
        assert name in result.output


def test_models_json(runner):
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(BUILTIN_MODELS)
    assert rows["haldane"]["parameters"]["t2"] == 0.1
    assert rows["haldane"]["kind"] == "lattice"
    assert rows["rashba"]["kind"] == "continuum"
    assert rows["pt_antiferromagnet"]["parameters"]["direction"] == [0.0, 0.0, 1.0]


def test_info_text_and_json(runner, cubic_tb):
    result = runner.invoke(app, ["info", str(cubic_tb)])
    assert result.exit_code == 0, result.output
    assert "num_wann" in result.output and "wannier90_tb" in result.output
    result = runner.invoke(app, ["info", str(cubic_tb), "--json", "--energy-shift", "1.0"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["num_wann"] == 1
    assert info["n_R"] == 7
    assert info["spinor"] is False
    np.testing.assert_allclose(info["lattice_angstrom"], 3.0 * np.eye(3))
    assert info["energy_window_k0_eV"] == pytest.approx([-5.0, -5.0])


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert qgmag.__version__ in result.stdout


@pytest.fixture
def fake_plotting(monkeypatch, tmp_path):
    """Stand-ins for qgmag.plotting / qgmag.kspace.path that record their arguments."""
    calls: dict[str, tuple] = {}

    def _touch(outfile: Path, formats) -> list[Path]:
        files = [Path(f"{outfile}.{fmt}") for fmt in formats]
        for f in files:
            f.write_text("plot")
        return files

    def plot_observables(ds, outdir, formats=("png", "pdf")):
        calls["plot_observables"] = (ds, outdir, tuple(formats))
        return _touch(Path(outdir) / "observables", formats)

    def plot_bands(
        model,
        kpath,
        quantity="berry_curvature",
        component="z",
        *,
        mu=None,
        energy_window=None,
        outfile,
        formats=("png", "pdf"),
    ):
        calls["plot_bands"] = (model, kpath, quantity, component, mu, energy_window, outfile)
        return _touch(outfile, formats)

    def plot_bz_map(
        model,
        quantity="berry_curvature",
        component="z",
        *,
        mu=0.0,
        temperature=0.0,
        kz=0.0,
        n=200,
        band=None,
        plane="reduced",
        outfile,
        formats=("png", "pdf"),
    ):
        assert plane == "reduced"
        calls["plot_bz_map"] = (model, quantity, component, mu, temperature, kz, n, band, outfile)
        return _touch(outfile, formats)

    def make_path(model, points=None, n_points=300):
        calls["make_path"] = (model, points, n_points)
        return types.SimpleNamespace(kpoints=np.zeros((n_points, 2)))

    plotting = types.ModuleType("qgmag.plotting")
    plotting.plot_observables = plot_observables
    plotting.plot_bands = plot_bands
    plotting.plot_bz_map = plot_bz_map
    path_mod = types.ModuleType("qgmag.kspace.path")
    path_mod.make_path = make_path
    monkeypatch.setitem(sys.modules, "qgmag.plotting", plotting)
    monkeypatch.setitem(sys.modules, "qgmag.kspace.path", path_mod)
    return calls


def test_bands_passes_the_bands_section(runner, haldane_config, tmp_path, fake_plotting):
    out = tmp_path / "plots"
    result = runner.invoke(
        app, ["bands", str(haldane_config), "-o", str(out), "--set", 'run.formats=["png"]']
    )
    assert result.exit_code == 0, result.output
    model, points, n_points = fake_plotting["make_path"]
    assert model.n_bands == 2 and n_points == 40
    assert points[1][0] == "K"
    np.testing.assert_allclose(points[1][1], [2 / 3, 1 / 3])
    _, _, quantity, component, mu, window, outfile = fake_plotting["plot_bands"]
    assert (quantity, component, mu, window) == ("berry_curvature", "z", 0.0, (-3.0, 3.0))
    assert outfile == out / "bands"
    assert (out / "bands.png").is_file()
    assert str(out / "bands.png") in result.stdout


def test_map_passes_the_map_section(runner, haldane_config, tmp_path, fake_plotting):
    out = tmp_path / "plots"
    result = runner.invoke(app, ["map", str(haldane_config), "-o", str(out), "--set", "map.band=0"])
    assert result.exit_code == 0, result.output
    _, quantity, component, mu, temperature, kz, n, band, outfile = fake_plotting["plot_bz_map"]
    assert (quantity, component, mu, temperature, kz, n, band) == (
        "berry_curvature",
        "z",
        0.0,
        0.0,
        0.0,
        16,
        0,
    )
    assert outfile == out / "map"
    assert (out / "map.png").is_file() and (out / "map.pdf").is_file()


def test_run_calls_plot_observables(runner, haldane_config, tmp_path, fake_plotting):
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["run", str(haldane_config), "-o", str(out), "--set", "run.plots=true"]
    )
    assert result.exit_code == 0, result.output
    ds, outdir, formats = fake_plotting["plot_observables"]
    assert outdir.parent == out and formats == ("png", "pdf")  # staged, then swapped in
    assert "orbital_magnetization" in ds
    assert "observables.png" in result.stdout


def test_bands_and_map_without_compute_section(runner, tmp_path, fake_plotting):
    config = tmp_path / "plots_only.toml"
    config.write_text('[model]\nname = "qi_wu_zhang"\n[map]\nn = 8\n')
    result = runner.invoke(app, ["map", str(config), "-o", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["bands", str(config), "-o", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert fake_plotting["make_path"][1] is None  # default path of the lattice


# -- with the real plotting module (once it exists) ------------------------------------------


def test_real_plots(runner, haldane_config, tmp_path):
    pytest.importorskip("qgmag.plotting")
    pytest.importorskip("qgmag.kspace.path")
    out = tmp_path / "real"
    common = ["-o", str(out), "--set", 'run.formats=["png"]']
    result = runner.invoke(app, ["run", str(haldane_config), *common, "--set", "run.plots=true"])
    assert result.exit_code == 0, result.output
    assert any(p.suffix == ".png" for p in out.iterdir())
    result = runner.invoke(app, ["bands", str(haldane_config), *common])
    assert result.exit_code == 0, result.output
    assert (out / "bands.png").is_file()
    result = runner.invoke(app, ["map", str(haldane_config), *common])
    assert result.exit_code == 0, result.output
    assert (out / "map.png").is_file()
