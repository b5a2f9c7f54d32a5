"""qgmag.compute rejects bad input with messages that name the problem and the fix."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.errors import QgmagError, QgmagWarning


@pytest.fixture(scope="module")
def haldane():
    return qgmag.models.haldane()


def test_unknown_quantity_lists_allowed(haldane) -> None:
    with pytest.raises(QgmagError, match="unknown quantity.*orbital_magnetization"):
        qgmag.compute(haldane, ["orbital_magnetisation"], mu=0.0, kmesh=(4, 4))


def test_spin_quantity_needs_spinful_model(haldane) -> None:
    with pytest.raises(QgmagError, match="needs spin matrices"):
        qgmag.compute(haldane, "spin_magnetization", mu=0.0, kmesh=(4, 4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": -1.0}, "temperature must be >= 0"),
        ({"kmesh": (4,)}, "kmesh must be 2 positive integers"),
        ({"kmesh": (4, 0)}, "kmesh must be 2 positive integers"),
        ({"kmesh": (4.5, 4)}, "kmesh must be 2 positive integers"),
        ({"kmesh": None}, "kmesh is required"),
        ({"tau": 0.0}, "tau must be a positive"),
        ({"mu": [np.nan]}, "mu contains NaN"),
        ({"metric_dipole": "numerical"}, "metric_dipole must be one of"),
        ({"smearing": ("cauchy", 0.1)}, "smearing kind"),
        # found by probing compute() with odd values (were TypeError/ValueError tracebacks,
        # or accepted): session 7
        ({"gauge_seed": "x"}, "gauge_seed must be None or an integer"),
        ({"gauge_seed": -1}, "gauge_seed must be None or an integer"),
        ({"gauge_seed": 1.5}, "gauge_seed must be None or an integer"),
        ({"progress": "yes"}, "progress must be True, False, None or a callable"),
    ],
)
def test_bad_arguments(haldane, kwargs, match) -> None:
    args = {"mu": 0.0, "kmesh": (4, 4)} | kwargs
    with pytest.raises(QgmagError, match=match):
        qgmag.compute(haldane, "orbital_magnetization", **args)


def test_fermi_surface_at_zero_temperature_needs_smearing(haldane) -> None:
    with pytest.raises(QgmagError, match="smearing"):
        qgmag.compute(haldane, "kinetic_orbital_extrinsic", mu=1.0, kmesh=(8, 8))
    res = qgmag.compute(
        haldane,
        "kinetic_orbital_extrinsic",
        mu=1.0,
        temperature=300.0,
        kmesh=(8, 8),
        allow_coarse_mesh=True,
    )
    assert "kinetic_orbital_extrinsic" in res


def test_chern_number_only_in_2d() -> None:
    with pytest.raises(QgmagError, match="2D models only"):
        qgmag.compute(qgmag.models.weyl_lattice(), "chern_number", mu=0.0, kmesh=(3, 3, 3))


def test_smearing_too_small_for_mesh_is_an_error_unless_allowed(haldane) -> None:
    kw = dict(mu=1.0, kmesh=(10, 10), smearing=("gaussian", 0.001))
    with pytest.raises(QgmagError, match=r"too coarse .* kmesh = \[\d+, \d+\]"):
        qgmag.compute(haldane, "kinetic_orbital_extrinsic", **kw)
    with pytest.warns(QgmagWarning, match="too coarse"):
        res = qgmag.compute(haldane, "kinetic_orbital_extrinsic", allow_coarse_mesh=True, **kw)
    assert res.attrs["allow_coarse_mesh"] == 1 and "too coarse" in res.attrs["coarse_mesh"]


def test_small_temperature_on_a_coarse_mesh_is_an_error(haldane) -> None:
    """1 K (k_B T = 86 µeV) on a 6 x 6 mesh: the f0' kernel misses almost every point."""
    with pytest.raises(QgmagError, match=r"k_B T = 8.62e-05 eV \(T = 1 K\)"):
        qgmag.compute(haldane, "kinetic_orbital_extrinsic", mu=1.0, temperature=1.0, kmesh=(6, 6))


def test_the_mesh_the_error_asks_for_is_accepted(haldane) -> None:
    """The kmesh named in the message passes the check (the message is actionable)."""
    import re

    kw = dict(mu=1.0, smearing=("gaussian", 0.02))
    with pytest.raises(QgmagError) as err:
        qgmag.compute(haldane, "kinetic_orbital_extrinsic", kmesh=(12, 12), **kw)
    wanted = [int(x) for x in re.search(r"kmesh = \[(\d+), (\d+)\]", str(err.value)).groups()]
    res = qgmag.compute(haldane, "kinetic_orbital_extrinsic", kmesh=wanted, **kw)
    assert res.attrs["allow_coarse_mesh"] == 0 and "coarse_mesh" not in res.attrs


@pytest.mark.parametrize("quantities", [5, None, ["orbital_magnetization", 3]])
def test_quantities_of_the_wrong_type_are_refused(haldane, quantities) -> None:
    with pytest.raises(QgmagError, match="quantities must be a name or a list of names"):
        qgmag.compute(haldane, quantities, mu=0.0, kmesh=(4, 4))


def test_quantities_from_a_generator_are_read_once(haldane) -> None:
    names = (n for n in ["orbital_magnetization"])
    res = qgmag.compute(haldane, names, mu=0.0, kmesh=(4, 4), allow_coarse_mesh=True)
    assert "orbital_magnetization" in res
