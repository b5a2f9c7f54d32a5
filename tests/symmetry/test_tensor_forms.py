"""Allowed tensor forms (Neumann's principle) against published tables.

Expected forms are those of the standard tables (Birss, "Symmetry and Magnetism" (1966),
tables 4 and 7; Bilbao MTENSOR; Grimmer, Acta Cryst. A 49, 763 (1993) for the
magnetoelectric tensor) written in the orientation of the generators below (z the
principal axis, x the first secondary axis), and, for the rank-3 E² tensors, the
spintensor results recorded in shared/SYMMETRY_NOTES.md. Each expected form is a map
component -> coefficient vector over free parameters; the test checks that every such
tensor is invariant and that the allowed space has exactly that dimension, so the two
spaces are equal.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qgmag.symmetry import generate_group, operation
from qgmag.symmetry.tensors import TensorKind, allowed_form, group_average

Z, X, Y = (0, 0, 1), (1, 0, 0), (0, 1, 0)
D110 = (1, 1, 0)


def op(axis, order, improper=False, primed=False):
    return operation(axis, order, improper=improper, primed=primed)


INV = op(Z, 1, improper=True)
THETA = op(Z, 1, primed=True)

GROUPS = {
    "4/mm'm'": [op(Z, 4), INV, op(X, 2, primed=True)],
    "6'/m'mm'": [
        op(Z, 6, primed=True),
        op(Z, 2, improper=True, primed=True),
        op(X, 2, improper=True),
    ],
    "m'm2'": [op(X, 2, improper=True, primed=True), op(Y, 2, improper=True)],
    "m'm'2": [op(X, 2, improper=True, primed=True), op(Y, 2, improper=True, primed=True)],
    "32": [op(Z, 3), op(X, 2)],
    "-42m": [op(Z, 4, improper=True), op(X, 2)],
    "1": [],
    "321'": [op(Z, 3), op(X, 2), THETA],
    "-43m1'": [op(Z, 4, improper=True), op((1, 1, 1), 3), THETA],
}

MAGNETIZATION = TensorKind(1, True, True, symbol="M")
AHC_TENSOR = TensorKind(2, False, True, ((0, 1, -1),), symbol="σ")
KINETIC_T_EVEN = TensorKind(2, True, False, symbol="α")  # extrinsic (τ) kinetic α_ij
KINETIC_T_ODD = TensorKind(2, True, True, symbol="α")  # intrinsic kinetic / magnetoelectric
E2_T_EVEN = TensorKind(3, True, False, ((1, 2, 1),), symbol="χ")
E2_T_ODD = TensorKind(3, True, True, ((1, 2, 1),), symbol="χ")

# expected forms: {component string: {parameter: coefficient}}; missing components are 0
ALL_VECTOR = {"x": {"a": 1}, "y": {"b": 1}, "z": {"c": 1}}
ALL_RANK2 = {a + b: {a + b: 1} for a, b in itertools.product("xyz", repeat=2)}
HALL_ALL = {
    "xy": {"a": 1},
    "yx": {"a": -1},
    "xz": {"b": 1},
    "zx": {"b": -1},
    "yz": {"c": 1},
    "zy": {"c": -1},
}
TABLE = {
    "4/mm'm'": {
        MAGNETIZATION: {"z": {"m": 1}},
        AHC_TENSOR: {"xy": {"s": 1}, "yx": {"s": -1}},
        KINETIC_T_EVEN: {},
        KINETIC_T_ODD: {},
        E2_T_EVEN: {"xyz": {"a": 1}, "xzy": {"a": 1}, "yxz": {"a": -1}, "yzx": {"a": -1}},
        E2_T_ODD: {
            "xxz": {"a": 1},
            "xzx": {"a": 1},
            "yyz": {"a": 1},
            "yzy": {"a": 1},
            "zxx": {"b": 1},
            "zyy": {"b": 1},
            "zzz": {"c": 1},
        },
    },
    "6'/m'mm'": {MAGNETIZATION: {}, AHC_TENSOR: {}, KINETIC_T_EVEN: {}, KINETIC_T_ODD: {}},
    "m'm2'": {
        MAGNETIZATION: {"y": {"m": 1}},
        AHC_TENSOR: {"zx": {"s": 1}, "xz": {"s": -1}},
        KINETIC_T_EVEN: {"xy": {"a": 1}, "yx": {"b": 1}},
        KINETIC_T_ODD: {"yz": {"a": 1}, "zy": {"b": 1}},
    },
    "m'm'2": {
        MAGNETIZATION: {"z": {"m": 1}},
        AHC_TENSOR: {"xy": {"s": 1}, "yx": {"s": -1}},
        KINETIC_T_EVEN: {"xy": {"a": 1}, "yx": {"b": 1}},
        KINETIC_T_ODD: {"xx": {"a": 1}, "yy": {"b": 1}, "zz": {"c": 1}},
    },
    "32": {
        MAGNETIZATION: {},
        AHC_TENSOR: {},
        KINETIC_T_EVEN: {"xx": {"a": 1}, "yy": {"a": 1}, "zz": {"c": 1}},
        KINETIC_T_ODD: {"xx": {"a": 1}, "yy": {"a": 1}, "zz": {"c": 1}},
    },
    "-42m": {
        MAGNETIZATION: {},
        AHC_TENSOR: {},
        KINETIC_T_EVEN: {"xx": {"a": 1}, "yy": {"a": -1}},
        KINETIC_T_ODD: {"xx": {"a": 1}, "yy": {"a": -1}},
    },
    "1": {
        MAGNETIZATION: ALL_VECTOR,
        AHC_TENSOR: HALL_ALL,
        KINETIC_T_EVEN: ALL_RANK2,
        KINETIC_T_ODD: ALL_RANK2,
    },
    "321'": {
        MAGNETIZATION: {},
        AHC_TENSOR: {},
        KINETIC_T_EVEN: {"xx": {"a": 1}, "yy": {"a": 1}, "zz": {"c": 1}},
        KINETIC_T_ODD: {},
        E2_T_EVEN: {
            "xxx": {"a": 1},
            "xyy": {"a": -1},
            "yxy": {"a": -1},
            "yyx": {"a": -1},
            "xyz": {"b": 1},
            "xzy": {"b": 1},
            "yxz": {"b": -1},
            "yzx": {"b": -1},
        },
        E2_T_ODD: {},
    },
    "-43m1'": {
        MAGNETIZATION: {},
        KINETIC_T_EVEN: {},
        KINETIC_T_ODD: {},
        E2_T_EVEN: {},
        E2_T_ODD: {},
    },
}


def _expected_tensors(kind, form):
    params = sorted({p for coeffs in form.values() for p in coeffs})
    out = []
    for p in params:
        t = np.zeros((3,) * kind.rank)
        for comp, coeffs in form.items():
            t[tuple("xyz".index(ch) for ch in comp)] = coeffs.get(p, 0.0)
        out.append(t)
    return out


CASES = [(g, k) for g, kinds in TABLE.items() for k in kinds]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{g}-{k.describe()}" for g, k in CASES])
def test_forms_equal_published_tables(name, kind):
    group = generate_group(GROUPS[name])
    assert group.name == name
    form = allowed_form(kind, group=group)
    expected = _expected_tensors(kind, TABLE[name][kind])
    assert form.n_free == len(expected)
    proj = group_average(group, kind)
    flat_basis = form.basis.reshape(form.n_free, 3**kind.rank)
    for t in expected:
        v = t.reshape(-1)
        np.testing.assert_allclose(proj @ v, v, atol=1e-12)  # invariant under the group
        # in the span of the returned basis
        coef, *_ = np.linalg.lstsq(flat_basis.T, v, rcond=None)
        np.testing.assert_allclose(flat_basis.T @ coef, v, atol=1e-12)
    expected_mask = np.zeros((3,) * kind.rank, bool)
    for t in expected:
        expected_mask |= t != 0
    np.testing.assert_array_equal(form.mask, expected_mask)


@pytest.mark.parametrize("name", list(GROUPS))
def test_hall_vector_and_antisymmetric_tensor_agree(name):
    """AHC stored as the axial vector σ^c equals the antisymmetric polar tensor σ_ab."""
    group = generate_group(GROUPS[name])
    vec = allowed_form(MAGNETIZATION, group=group).mask
    ten = allowed_form(AHC_TENSOR, group=group).mask
    assert vec[0] == ten[1, 2] and vec[1] == ten[2, 0] and vec[2] == ten[0, 1]


def test_relations_are_readable():
    group = generate_group(GROUPS["4/mm'm'"])
    assert allowed_form(AHC_TENSOR, group=group).relations == (
        "free: σ_xy",
        "σ_yx = -σ_xy",
        "all else 0",
    )
    assert allowed_form(MAGNETIZATION, group=group).text() == "free: M_z; all else 0"
    assert allowed_form(KINETIC_T_ODD, group=group).text() == "all components 0"
    hexagonal = generate_group([op(Z, 3), op(X, 2)])
    form = allowed_form(KINETIC_T_EVEN, group=hexagonal)
    assert "α_yy = α_xx" in form.relations


def test_generic_signature_and_symmetric_indices():
    """allowed_form(rank, axial, t_odd, index_symmetries, group): the issue-13 interface."""
    group = generate_group(GROUPS["4/mm'm'"])
    a = allowed_form(3, True, True, [(1, 2, 1)], group)
    b = allowed_form(E2_T_ODD, group=group)
    np.testing.assert_array_equal(a.mask, b.mask)
    for t in a.basis:
        np.testing.assert_allclose(t, np.swapaxes(t, 1, 2), atol=1e-12)


KINDS = [MAGNETIZATION, AHC_TENSOR, KINETIC_T_EVEN, KINETIC_T_ODD, E2_T_EVEN, E2_T_ODD]


@pytest.mark.peer
@pytest.mark.parametrize("name", list(GROUPS))
def test_optional_cross_check_with_spintensor(name):
    """The same allowed spaces as spintensor's solver (peer code, optional)."""
    spintensor = pytest.importorskip("spintensor")
    group = generate_group(GROUPS[name])
    ops = [[bool(o.time_reversal), o.rotation] for o in group]
    for kind in KINDS:
        sym, anti = [], []
        for i, j, sign in kind.index_symmetries:
            perm = list(range(kind.rank))
            perm[i], perm[j] = perm[j], perm[i]
            (sym if sign > 0 else anti).append(tuple(perm))
        result = spintensor.solve_tensor_constraints(
            ops,
            3,
            kind.rank,
            symmetries=sym or None,
            antisymmetries=anti or None,
            T_constraint=int(kind.t_odd),
            P_constraint=int(kind.axial),
        )
        theirs = np.asarray(result[1]).reshape(3**kind.rank, -1)
        ours = allowed_form(kind, group=group).basis.reshape(-1, 3**kind.rank).T
        assert theirs.shape[1] == ours.shape[1], kind.describe()
        if ours.shape[1]:
            # same column space: each basis lies in the span of the other
            for a, b in ((ours, theirs), (theirs, ours)):
                coef, *_ = np.linalg.lstsq(b, a, rcond=None)
                np.testing.assert_allclose(b @ coef, a, atol=1e-8)


def test_symmetrize_rank3_stored_components():
    """The E² plug-in path: a random rank-3 tensor (symmetric in j, k) of a 3D model,
    stored as 27 components, is projected onto the allowed form of 4/mm'm'; the result is
    invariant, lies in the allowed space, and the forbidden components are exactly 0."""
    from qgmag.symmetry.tensors import symmetrize_components

    group = generate_group(GROUPS["4/mm'm'"])
    rng = np.random.default_rng(1)
    t = rng.normal(size=(2, 3, 3, 3))
    t = t + np.swapaxes(t, -1, -2)
    out = symmetrize_components(t.reshape(2, 27), group, E2_T_ODD, 3).reshape(2, 3, 3, 3)
    form = allowed_form(E2_T_ODD, group=group)
    assert np.all(out[:, ~form.mask] == 0.0)
    np.testing.assert_allclose(out[:, 0, 0, 2], out[:, 1, 1, 2], atol=1e-14)  # χ_xxz = χ_yyz
    again = symmetrize_components(out.reshape(2, 27), group, E2_T_ODD, 3)
    np.testing.assert_allclose(again, out.reshape(2, 27), atol=1e-14)
