"""Config keys and `qgmag info` options minimal_distance / mp_grid for _tb.dat files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qgmag
from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError

COMPUTE = {"quantities": ["spin_magnetization"], "mu": 7.9, "kmesh": [2, 2, 2]}


def _cfg(model):
    return load_config(None, raw={"model": model, "compute": dict(COMPUTE)})


def test_keys_reach_the_reader(gaas_tb):
    default = _cfg({"file": str(gaas_tb)}).model.build()
    assert default.parameters["minimal_distance"]["applied"]
    off = _cfg({"file": str(gaas_tb), "minimal_distance": False})
    assert off.model.reader["minimal_distance"] is False
    plain = qgmag.read_wannier90(gaas_tb, minimal_distance=False)
    assert np.array_equal(off.model.build().hopping_matrices, plain.hopping_matrices)
    on = _cfg({"file": str(gaas_tb), "minimal_distance": True, "mp_grid": [2, 2, 2]})
    assert on.model.reader == {
        "spinor_ordering": None,
        "minimal_distance": True,
        "mp_grid": (2, 2, 2),
    }
    assert np.array_equal(on.model.build().hopping_matrices, default.hopping_matrices)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("minimal_distance", "yes", r"\[model\] minimal_distance must be \"auto\", true or false"),
        ("mp_grid", [2, 2], r"\[model\] mp_grid must be an array of 3 positive integers"),
        ("mp_grid", [2, 0, 2], r"mp_grid\[1\] must be >= 1"),
    ],
)
def test_keys_are_validated(gaas_tb, key, value, match):
    with pytest.raises(ConfigError, match=match):
        _cfg({"file": str(gaas_tb), key: value})


def test_keys_refused_for_a_run(shared_data):
    chk = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not chk.is_file():
        pytest.skip(f"{chk} not available")
    with pytest.raises(ConfigError, match=r"\['minimal_distance'\] apply to _tb.dat/_hr.dat"):
        _cfg({"file": str(chk), "minimal_distance": False})


def test_info_options(runner, gaas_tb):
    result = runner.invoke(app, ["info", str(gaas_tb), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["minimal_distance"]
    assert summary["applied"] and summary["mp_grid"] == [2, 2, 2]
    result = runner.invoke(app, ["info", str(gaas_tb), "--minimal-distance", "false", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["minimal_distance"]["applied"] is False
    for args, match in (
        (["--minimal-distance", "maybe"], "--minimal-distance 'maybe' is not allowed"),
        (["--mp-grid", "2,2"], "e.g. --mp-grid 2,2,2"),
        (["--minimal-distance", "true", "--mp-grid", "3,3,3"], "not of mp_grid (3, 3, 3)"),
    ):
        result = runner.invoke(app, ["info", str(gaas_tb), *args])
        assert result.exit_code != 0 and match in result.output, result.output
        assert "Traceback" not in result.output
