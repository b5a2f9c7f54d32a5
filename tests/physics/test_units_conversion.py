"""Results in requested units (qgmag.units.convert_units) against scipy.constants by hand."""

from __future__ import annotations

import numpy as np
import pint
import pytest
from scipy import constants as sc

import qgmag
from qgmag.errors import QgmagError
from qgmag.units import convert_units, parse_unit_options

MU_B = sc.physical_constants["Bohr magneton"][0]


@pytest.fixture(scope="module")
def results():
    model = qgmag.models.haldane(t2=0.1, phi=0.6, mass=0.2)
    return qgmag.compute(
        model,
        ["anomalous_hall_conductivity", "orbital_magnetization"],
        [-0.5, 0.0, 0.4],
        [0.0, 300.0],
        kmesh=(18, 18),
        convergence_check=True,
    )


def test_conversions_equal_hand_factors_and_attrs_stay_true(results):
    out = convert_units(
        results,
        {
            "anomalous_hall_conductivity": "mS",
            "orbital_magnetization": "mA",
            "orbital_magnetization_per_cell": "J/T",
        },
    )
    ahc = results["anomalous_hall_conductivity"]
    assert ahc.attrs["units"] == "elementary_charge**2 / planck_constant"  # 2D: e²/h
    np.testing.assert_allclose(
        out["anomalous_hall_conductivity"], ahc * sc.e**2 / sc.h * 1e3, rtol=1e-12
    )
    np.testing.assert_allclose(
        out["orbital_magnetization"], results["orbital_magnetization"] * 1e3, rtol=1e-12
    )
    for part in ("local", "itinerant", "error"):  # companions in the same units
        name = f"orbital_magnetization_{part}"
        np.testing.assert_allclose(out[name], results[name] * 1e3, rtol=1e-12)
        assert out[name].attrs["units"] == "mA"
    np.testing.assert_allclose(
        out["orbital_magnetization_per_cell"],
        results["orbital_magnetization_per_cell"] * MU_B,
        rtol=1e-8,  # pint's and scipy's CODATA releases of μ_B
    )
    ureg = pint.UnitRegistry()
    for name in out.data_vars:
        ureg.Unit(out[name].attrs["units"])  # still pint-parsable
    assert out["anomalous_hall_conductivity"].attrs["units"] == "mS"
    assert out["anomalous_hall_conductivity"].attrs["converted_from"] == ahc.attrs["units"]
    assert "converted_from" not in ahc.attrs  # the input is untouched


def test_per_formula_unit_is_per_cell_over_z(results):
    out = convert_units(results, formula_units=2)
    np.testing.assert_array_equal(
        out["orbital_magnetization_per_formula_unit"],
        results["orbital_magnetization_per_cell"] / 2,
    )
    assert out["orbital_magnetization_per_formula_unit"].attrs["units"] == "bohr_magneton"
    assert "per formula unit" in out["orbital_magnetization_per_formula_unit"].attrs["description"]
    assert out.attrs["formula_units_per_cell"] == 2.0


@pytest.mark.parametrize(
    ("units", "formula_units", "match"),
    [
        ({"anomalous_hall_conductivity": "S/cm"}, None, "dimensions differ"),
        ({"anomalous_hall_conductivity": "furlongs_per_fish"}, None, "not a unit"),
        ({"spin_magnetization": "A"}, None, "cannot convert 'spin_magnetization'"),
        (None, 0, "positive number"),
        (None, float("nan"), "positive number"),
    ],
)
def test_bad_requests_are_errors(results, units, formula_units, match):
    with pytest.raises(QgmagError, match=match):
        convert_units(results, units, formula_units=formula_units)


def test_unit_options():
    assert parse_unit_options(["anomalous_hall_conductivity = S/m"]) == {
        "anomalous_hall_conductivity": "S/m"
    }
    with pytest.raises(QgmagError, match="NAME=UNIT"):
        parse_unit_options(["S/m"])
