"""Config keys and `qgmag info` options of Wannier90 runs: level, scheme, spin_pairs,
phase_centres, orbital_formula (validated with messages that name the fix)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qgmag
from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError

GAAS_PAIRS = [[0, 7], [1, 2], [3, 6], [4, 5], [8, 9], [10, 11], [12, 13], [14, 15]]
COMPUTE = {"quantities": ["orbital_magnetization"], "mu": 17.6255, "kmesh": [3, 3, 3]}


@pytest.fixture(scope="module")
def fe_chk(shared_data):
    path = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


def _cfg(model):
    return load_config(None, raw={"model": model, "compute": dict(COMPUTE)})


def test_run_keys_reach_the_reader(fe_chk):
    model = {
        "file": str(fe_chk), "level": "full", "scheme": "wannierberri",
        "phase_centres": "origin", "orbital_formula": "projected",
    }
    cfg = _cfg(model)
    assert cfg.model.reader == {k: v for k, v in model.items() if k != "file"}
    built = cfg.model.build()
    assert built.level == "full" and built.orbital_formula == "projected"
    assert np.allclose(built.parameters["phase_centres_cart"], 0.0)
    low = _cfg({"file": str(fe_chk), "level": "tight-binding", "scheme": "postw90"}).model
    assert low.build().level == "tight-binding"
    assert low.build().parameters["scheme"] == "postw90"


def test_phase_centres_in_the_config_change_no_number(fe_chk):
    a = _cfg({"file": str(fe_chk)}).model.build()
    b = _cfg({"file": str(fe_chk), "phase_centres": "origin"}).model.build()
    da, db = (qgmag.compute(m, **{"quantities": COMPUTE["quantities"], "mu": 17.6255,
                                  "temperature": 0.0, "kmesh": (3, 3, 3)}) for m in (a, b))
    x, y = da.orbital_magnetization_per_cell.values, db.orbital_magnetization_per_cell.values
    assert np.max(np.abs(x - y)) < 1e-9 * np.max(np.abs(x))  # round-off (measured 1.3e-10)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("level", "fulll", r"\[model\] level = 'fulll' is not allowed; choose from"),
        ("scheme", "w90", r"\[model\] scheme = 'w90' is not allowed"),
        ("phase_centres", "cell", r"choose from \['wannier-centres', 'origin'\]"),
        ("orbital_formula", "ceresoli", r"choose from \['lopez', 'projected'\]"),
        ("spin_pairs", [[0, 1], [2]], r"array of \[up, down\] pairs"),
        ("spin_pairs", "guess", r"choose from \['auto', 'time-reversal'\]"),
        ("berry_connection", "full", r"apply to _tb.dat/_hr.dat files; a Wannier90 run takes"),
        ("spinor_ordering", "spin-fastest", r"apply to _tb.dat/_hr.dat files"),
        ("centres", "x.xyz", r"centres of a Wannier90 run must be an array"),
    ],
)
def test_run_keys_are_validated(fe_chk, key, value, match):
    with pytest.raises(ConfigError, match=match):
        _cfg({"file": str(fe_chk), key: value})


def test_run_keys_refused_for_a_tight_binding_file(gaas_tb):
    for key, value in (("level", "full"), ("phase_centres", "origin"), ("scheme", "postw90"),
                       ("orbital_formula", "lopez")):
        with pytest.raises(ConfigError, match=r"apply to Wannier90 runs .*remove them"):
            _cfg({"file": str(gaas_tb), key: value})


def test_spin_pairs_for_a_tight_binding_file(gaas_tb):
    explicit = _cfg({"file": str(gaas_tb), "spin_pairs": GAAS_PAIRS}).model.build()
    fitted = _cfg({"file": str(gaas_tb), "spin_pairs": "time-reversal"}).model.build()
    assert explicit.spin is not None and fitted.spin is not None
    assert "fitted time reversal" in fitted.parameters["spinor_ordering"]
    with pytest.raises(qgmag.QgmagError, match="spin_pairs"):
        _cfg({"file": str(gaas_tb), "spin_pairs": "auto"}).model.build()


def test_info_options(runner, fe_chk, gaas_tb):
    result = runner.invoke(app, ["info", str(fe_chk), "--level", "full-connection",
                                 "--phase-centres", "origin", "--orbital-formula", "projected",
                                 "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["level"] == "full-connection" and summary["orbital_formula"] == "projected"
    assert summary["scheme"] == "wannierberri"
    result = runner.invoke(app, ["info", str(gaas_tb), "--spin-pairs", "0-7,1-2,3-6,4-5,8-9,"
                                 "10-11,12-13,14-15", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spinor"] is True
    for args, match in (
        (["--level", "ful"], "--level 'ful' is not allowed; choose from"),
        (["--spin-pairs", "0-7,x"], "e.g. --spin-pairs 0-7,1-2,3-6"),
    ):
        result = runner.invoke(app, ["info", str(fe_chk), *args])
        assert result.exit_code != 0 and match in result.output
    result = runner.invoke(app, ["info", str(gaas_tb), "--level", "full"])
    assert result.exit_code != 0 and "apply to Wannier90 runs" in result.output
    assert "Traceback" not in result.output
