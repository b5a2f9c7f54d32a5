"""Bad model input raises ModelError with a message naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.errors import ModelError, QgmagError

SQUARE = np.eye(2)
TWO_SITES = [[0.0, 0.0], [0.5, 0.5]]


def square_model(**overrides):
    args = {"lattice": SQUARE, "positions": TWO_SITES, "hoppings": [(0, 1, (0, 0), 1.0)]}
    args.update(overrides)
    return qgmag.TightBindingModel(**args)


def test_a_valid_model_builds() -> None:
    model = square_model(onsite=[0.1, -0.1])
    assert model.n_bands == 2 and model.dim == 2
    assert issubclass(ModelError, QgmagError) and issubclass(ModelError, ValueError)


@pytest.mark.parametrize(
    ("hoppings", "match"),
    [
        ([(0, 2, (0, 0), 1.0)], r"orbital index j=2 out of range 0\.\.1"),
        ([(-1, 0, (1, 0), 1.0)], r"orbital index i=-1 out of range"),
        ([(0, 1.0, (0, 0), 1.0)], r"orbital index j=1\.0 is not an integer"),
        ([(0, 1, (0.5, 0), 1.0)], r"R=\(0\.5, 0\) has non-integer components"),
        ([(0, 1, (0, 0, 0), 1.0)], r"must be a 2-tuple of integers"),
        ([(0, 1, (1, 0), 1.0), (0, 1, (1, 0), 0.5)], r"duplicates hopping #0"),
        ([(0, 1, (1, 0), 1.0), (1, 0, (-1, 0), 1.0)], r"duplicates hopping #0.*Hermitian"),
        ([(0, 0, (0, 0), 1.0)], r"on-site energy; pass it through `onsite`"),
        ([(0, 1, (0, 0))], r"must be a tuple \(i, j, R, t\)"),
        ([(0, 1, (0, 0), np.nan)], r"amplitude .* is not finite"),
    ],
)
def test_bad_hoppings(hoppings, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        square_model(hoppings=hoppings)


@pytest.mark.parametrize(
    ("onsite", "match"),
    [
        ([0.1 + 0.2j, 0.0], r"on-site energies must be real .*non-Hermitian"),
        ([[0.0, 1.0], [0.5, 0.0]], r"on-site matrix is not Hermitian"),
        ([[0.0, 1j], [1j, 0.0]], r"on-site matrix is not Hermitian"),
        ([0.1, 0.2, 0.3], r"onsite must have shape \(2,\) .* or \(2, 2\)"),
    ],
)
def test_non_hermitian_or_misshapen_onsite(onsite, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        square_model(onsite=onsite)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"lattice": np.eye(3)[:2]}, r"lattice must be a \(d, d\) array .* got shape \(2, 3\)"),
        ({"lattice": np.ones(4)}, r"lattice must be a \(d, d\) array"),
        ({"lattice": np.eye(4)}, r"d = 2 or 3"),
        ({"lattice": [[1.0, 0.0], [2.0, 0.0]]}, r"linearly dependent"),
        ({"lattice": [[np.inf, 0.0], [0.0, 1.0]]}, r"NaN or infinite"),
        (
            {"positions": [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]},
            r"positions must be an \(n_orb, 2\) array",
        ),
        ({"positions": [0.0, 0.5]}, r"positions must be an \(n_orb, 2\) array"),
        ({"positions": [[0.0, 0.0], [1.0, 0.5]]}, r"orbital 1 .* outside the cell \[0, 1\)"),
        ({"positions": [[-0.1, 0.0], [0.5, 0.5]]}, r"orbital 0 .* outside the cell"),
        ({"spin": np.zeros((3, 4, 4))}, r"spin must have shape \(3, 2, 2\)"),
        ({"spin": np.zeros((2, 2, 2))}, r"spin must have shape \(3, 2, 2\)"),
        ({"spin": np.stack([np.triu(np.ones((2, 2)))] * 3)}, r"spin matrices must be Hermitian"),
        ({"gauge": "wannier"}, r"gauge must be one of \('atomic', 'lattice'\)"),
    ],
)
def test_bad_shapes_positions_spin(overrides, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        square_model(**overrides)


def test_from_arrays_rejects_non_hermitian_hamiltonian() -> None:
    vectors = [[0, 0], [1, 0], [-1, 0]]
    mats = np.zeros((3, 2, 2), complex)
    mats[1, 0, 1], mats[2, 1, 0] = 1.0, 0.9  # H(-R) != H(R)^†
    with pytest.raises(ModelError, match=r"not Hermitian: max \|H\(R\) - H\(-R\)\^†\|"):
        qgmag.TightBindingModel.from_arrays(SQUARE, TWO_SITES, vectors, mats)
    with pytest.raises(ModelError, match=r"R=\(.*1.*0.*\) is present but -R is not"):
        qgmag.TightBindingModel.from_arrays(SQUARE, TWO_SITES, vectors[:2], mats[:2])


@pytest.mark.parametrize(
    ("builder", "kwargs", "match"),
    [
        ("kane_mele", {"a": 0.0}, r"a must be a positive length"),
        ("qi_wu_zhang", {"a": -1.0}, r"a must be a positive length"),
        ("bhz", {"a": np.nan}, r"a must be a positive length"),
        ("weyl_lattice", {"a": 0.0}, r"a must be a positive length"),
        ("pt_antiferromagnet", {"direction": (0, 0, 0)}, r"direction must be a non-zero 3-vector"),
        ("pt_antiferromagnet", {"direction": (1, 0)}, r"direction must be a non-zero 3-vector"),
        ("haldane", {"a": -2.0}, r"lattice constant a must be positive"),
    ],
)
def test_builtin_models_reject_bad_parameters(builder: str, kwargs, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        getattr(qgmag.models, builder)(**kwargs)


def test_build_model_rejects_unknown_parameter() -> None:
    with pytest.raises(qgmag.ConfigError, match=r"no parameter\(s\) \['lambda'\]"):
        qgmag.models.build_model("kane_mele", **{"lambda": 0.1})
