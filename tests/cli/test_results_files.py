"""Result files: atomic writes, NetCDF-safe attributes, JSON export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from qgmag.cli import app
from qgmag.errors import QgmagError
from qgmag.results import (
    load_results,
    netcdf_attr,
    results_to_json,
    results_to_markdown,
    save_results,
)


def _dataset() -> xr.Dataset:
    ds = xr.Dataset(
        {"m": (("mu", "i"), np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]]))},
        coords={"mu": [0.0, 0.1], "i": ["x", "y", "z"]},
    )
    ds["m"].attrs = {"units": "ampere", "flag": True}
    ds["mu"].attrs["units"] = "eV"
    ds.attrs = {"config": {"a": 1}, "none": None, "ok": False, "kmesh": [4, 4], "name": "x"}
    return ds


def test_netcdf_attr_conversions():
    assert netcdf_attr(True) == 1
    assert netcdf_attr(None) == "null"
    assert json.loads(netcdf_attr({"a": [1, 2]})) == {"a": [1, 2]}
    assert netcdf_attr([1, 2.5]) == [1, 2.5]
    assert json.loads(netcdf_attr([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert json.loads(netcdf_attr(["a", "b"])) == ["a", "b"]


def test_save_load_roundtrip(tmp_path):
    path = save_results(_dataset(), tmp_path / "r.nc")
    with xr.open_dataset(path) as ds:
        assert ds["m"].attrs["units"] == "ampere"
        assert ds["mu"].attrs["units"] == "eV"
        assert json.loads(ds.attrs["config"]) == {"a": 1}
        assert ds.attrs["ok"] == 0
    loaded = load_results(path)
    np.testing.assert_array_equal(loaded["m"].values, _dataset()["m"].values)
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_load_results_errors(tmp_path):
    with pytest.raises(QgmagError, match="does not exist"):
        load_results(tmp_path / "none.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(QgmagError, match="not a readable"):
        load_results(bad)


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_no_file(tmp_path, monkeypatch, exc):
    target = tmp_path / "r.nc"
    save_results(_dataset(), target)
    before = target.read_bytes()

    def broken(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise exc

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(type(exc)):
        save_results(_dataset(), target)
    assert target.read_bytes() == before  # old file untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]
    with pytest.raises(type(exc)):
        save_results(_dataset(), tmp_path / "new.nc")
    assert not (tmp_path / "new.nc").exists()


def test_interrupted_run_leaves_no_results(runner, haldane_config, tmp_path, monkeypatch):
    def broken(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(haldane_config), "-o", str(out)])
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    # no result file, only the (complete) checkpoint, which --resume finishes from
    assert [p.name for p in out.iterdir()] == ["checkpoint.qgck"]
    assert "--resume" in result.output


def test_results_to_json_is_strict_json():
    data = results_to_json(_dataset())
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["data_vars"]["m"]["values"][0] == [1.0, None, 3.0]
    assert back["data_vars"]["m"]["units"] == "ampere"
    assert back["data_vars"]["m"]["dims"] == ["mu", "i"]
    assert back["coords"]["i"]["values"] == ["x", "y", "z"]
    assert back["attrs"]["config"] == {"a": 1}


def test_markdown_summary_has_units_and_provenance():
    text = results_to_markdown(_dataset())
    assert "## m [ampere]" in text
    assert "| μ (eV) | x | y | z |" in text
    assert "| 0.1 | 4 | 5 | 6 |" in text
    assert "## Provenance" in text


ROUNDOFF_CONFIG = """
[model]
name = "kane_mele"

[compute]
quantities = ["kinetic_spin_intrinsic", "kinetic_spin_second_order"]
mu = [0.5]
temperature = 300.0
kmesh = [12, 12]
allow_coarse_mesh = true

[run]
plots = false
progress = false
"""


def test_round_off_estimates_in_results_file_summary_and_units(runner, tmp_path):
    """``<name>_roundoff`` (and per part, per cell) are written with units and description;
    the summary shows the total's estimate and lists the parts' ones; unit conversion
    takes the estimate along with its observable."""
    from qgmag.units import convert_units

    config = tmp_path / "km.toml"
    config.write_text(ROUNDOFF_CONFIG)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    obs = "kinetic_spin_second_order"
    with xr.open_dataset(out / "results.nc") as ds:
        for name in (f"{obs}_roundoff", f"{obs}_tau1_roundoff", "kinetic_spin_intrinsic_roundoff"):
            stem = name.removesuffix("_roundoff")
            assert ds[name].dims == ds[stem].dims
            assert ds[name].attrs["units"] == ds[stem].attrs["units"]
            assert "round-off" in ds[name].attrs["description"]
            cell = ds[f"{stem}_per_cell"].attrs["units"]
            assert ds[f"{stem}_roundoff_per_cell"].attrs["units"] == cell
        converted = convert_units(load_results(out / "results.nc"), {obs: "A*cm**2/V**2"})
        assert converted[f"{obs}_roundoff"].attrs["units"] == "A*cm**2/V**2"
        np.testing.assert_allclose(
            converted[f"{obs}_roundoff"].values, 1e4 * ds[f"{obs}_roundoff"].values
        )
    summary = (out / "summary.md").read_text()
    assert f"## {obs}_roundoff [" in summary
    assert f"## {obs}_tau1_roundoff" not in summary
    also = summary.split("Also in the result file:")[1].split("\n")[0]
    assert f"{obs}_tau1_roundoff" in also and f"{obs}_tau0_sea_roundoff_per_cell" in also
