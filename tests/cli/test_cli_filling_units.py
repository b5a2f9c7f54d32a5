"""``qgmag run --electrons`` / ``[compute] electrons`` and ``--units`` / ``[run] units``."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import constants as sc

from qgmag.cli import app

CUBIC = """
[model]
file = "{tb}"

[compute]
quantities = "anomalous_hall_conductivity"
electrons = 0.5
kmesh = [8, 8, 8]

[run]
plots = false
progress = false
"""


def test_half_filled_cubic_band_puts_mu_at_zero(runner, tmp_path, cubic_tb):
    # ε = -2t Σ cos(k_i a) is odd under k -> k + (π/a)(1, 1, 1): half filling is μ = 0
    cfg = tmp_path / "cubic.toml"
    cfg.write_text(CUBIC.format(tb=cubic_tb))
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(cfg), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Fermi level for 0.5 electrons" in result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert abs(float(ds["mu"].values[0])) < 1e-12
        assert ds.attrs["electrons"] == 0.5
        assert ds.attrs["fermi_level_eV"] == float(ds["mu"].values[0])


def test_mu_and_electrons_exclude_each_other(runner, tmp_path, cubic_tb):
    cfg = tmp_path / "both.toml"
    cfg.write_text(CUBIC.format(tb=cubic_tb).replace("electrons = 0.5", "electrons = 0.5\nmu = 0"))
    result = runner.invoke(app, ["run", str(cfg), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "exactly one of `mu`" in result.output and "both" in result.output
    # the command line wins: --set compute.mu drops electrons, --electrons drops mu
    result = runner.invoke(
        app, ["run", str(cfg), "-o", str(tmp_path / "o"), "--set", "compute.mu=0.3"]
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(tmp_path / "o" / "results.nc") as ds:
        assert float(ds["mu"].values[0]) == 0.3 and "electrons" not in ds.attrs
    result = runner.invoke(app, ["run", str(cfg), "-o", str(tmp_path / "p"), "--electrons", "2"])
    assert result.exit_code == 2
    assert "strictly between 0 and 1" in result.output


def test_units_option_and_formula_units(runner, haldane_config, tmp_path):
    plain, conv = tmp_path / "plain", tmp_path / "conv"
    assert runner.invoke(app, ["run", str(haldane_config), "-o", str(plain)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "run",
            str(haldane_config),
            "-o",
            str(conv),
            "--units",
            "anomalous_hall_conductivity=uS",
            "--set",
            "run.formula_units=2",
        ],
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(plain / "results.nc") as a, xr.open_dataset(conv / "results.nc") as b:
        np.testing.assert_allclose(
            b["anomalous_hall_conductivity"],
            a["anomalous_hall_conductivity"] * sc.e**2 / sc.h * 1e6,
            rtol=1e-12,
        )
        assert b["anomalous_hall_conductivity"].attrs["units"] == "uS"
        np.testing.assert_array_equal(
            b["orbital_magnetization_per_formula_unit"], a["orbital_magnetization_per_cell"] / 2
        )
    result = runner.invoke(
        app,
        ["run", str(haldane_config), "-o", str(conv), "--units", "chern_number=S", "--overwrite"],
    )
    assert result.exit_code == 2 and "dimensions differ" in result.output


FE_SCF_FERMI_EV = 17.6255  # Fe/wannier90/scf.out


def test_fe_run_with_electrons_reproduces_the_scf_fermi_level(runner, tmp_path, shared_data):
    width = 0.02 * sc.physical_constants["Rydberg constant times hc in eV"][0]  # QE degauss
    cfg = tmp_path / "fe.toml"
    cfg.write_text(
        f"""
[model]
file = "{shared_data / "Fe" / "Fe_tb.dat"}"
spinor_ordering = "spin-fastest"

[compute]
quantities = "spin_magnetization"
electrons = 8   # scf.out: 16 electrons; Fe.win: exclude_bands = 1-8
kmesh = [16, 16, 16]
smearing = ["methfessel-paxton", {width}]

[run]
plots = false
progress = false
"""
    )
    out = tmp_path / "fe"
    result = runner.invoke(app, ["run", str(cfg), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        fermi = float(ds.attrs["fermi_level_eV"])
        # the model's interpolation error (3×3×3 Wannierisation): see tests/physics/test_filling.py
        assert abs(fermi - FE_SCF_FERMI_EV) < 0.1


def test_quick_look_on_a_model_name_and_a_file(runner, tmp_path, cubic_tb, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["map", "haldane", "berry_curvature", "--set", "map.n=12", "--set", 'run.formats=["png"]'],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "haldane" / "map.png").is_file()
    result = runner.invoke(
        app,
        [
            "bands",
            str(cubic_tb),
            "energy",
            "-o",
            str(tmp_path / "b"),
            "--set",
            'run.formats=["png"]',
            "--set",
            "bands.n_points=30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "bands.png").is_file()
    result = runner.invoke(app, ["bands", "no_such_model"])
    assert result.exit_code == 2
    assert "neither a .toml configuration" in result.output
    result = runner.invoke(app, ["map", "haldane", "not_a_quantity"])
    assert result.exit_code == 2 and "[map] quantity" in result.output
