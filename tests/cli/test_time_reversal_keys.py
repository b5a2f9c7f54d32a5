"""Config key `[model] time_reversal` and `qgmag info --time-reversal` for _tb.dat files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qgmag
from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError

COMPUTE = {"quantities": ["spin_magnetization"], "mu": 7.9, "kmesh": [2, 2, 2]}
PAIRS = [[0, 7], [1, 2], [3, 6], [4, 5], [8, 9], [10, 11], [12, 13], [14, 15]]


def _cfg(model):
    return load_config(None, raw={"model": model, "compute": dict(COMPUTE)})


def test_key_reaches_the_reader(gaas_tb):
    cfg = _cfg({"file": str(gaas_tb), "spin_pairs": PAIRS, "time_reversal": "symmetrize"})
    assert cfg.model.reader["time_reversal"] == "symmetrize"
    built = cfg.model.build()
    direct = qgmag.read_wannier90(
        gaas_tb, spin_pairs=[tuple(p) for p in PAIRS], time_reversal="symmetrize"
    )
    assert built.parameters["time_reversal"]["option"] == "symmetrize"
    assert np.array_equal(built.hopping_matrices, direct.hopping_matrices)
    default = _cfg({"file": str(gaas_tb), "spin_pairs": PAIRS}).model.build()
    assert default.parameters["time_reversal"] == {"option": "as-read"}


def test_key_is_validated_and_refused_for_a_run(gaas_tb, shared_data):
    with pytest.raises(ConfigError, match=r"\[model\] time_reversal = 'yes' is not allowed"):
        _cfg({"file": str(gaas_tb), "time_reversal": "yes"})
    chk = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not chk.is_file():
        pytest.skip(f"{chk} not available")
    with pytest.raises(ConfigError, match=r"\['time_reversal'\] apply to _tb.dat/_hr.dat"):
        _cfg({"file": str(chk), "time_reversal": "symmetrize"})


def test_info_option(runner, gaas_tb, shared_data):
    result = runner.invoke(app, ["info", str(gaas_tb), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["time_reversal"] == {"option": "as-read"}
    args = ["info", str(gaas_tb), "--time-reversal", "symmetrize", "--spin-pairs", "time-reversal"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["time_reversal"]
    assert summary["option"] == "symmetrize" and 0 < summary["removed_breaking_eV"] < 1e-3
    result = runner.invoke(app, ["info", str(gaas_tb), "--time-reversal", "maybe"])
    assert result.exit_code != 0 and "--time-reversal 'maybe' is not allowed" in result.output
    fe = shared_data / "Fe" / "Fe_tb.dat"
    if fe.is_file():
        result = runner.invoke(app, ["info", str(fe), "--time-reversal", "symmetrize"])
        assert result.exit_code != 0 and "time_reversal='as-read'" in result.output
        assert "Traceback" not in result.output
