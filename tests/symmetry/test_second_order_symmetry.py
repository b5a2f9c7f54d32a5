"""E² (second-order) responses in the magnetic-symmetry machinery.

Independent facts: (1) the generic Neumann projector (qgmag.symmetry.tensors) gives, for
bcc Fe with M ∥ z (4/mm'm', from spglib on Fe.win), GaAs (-43m1') and Te (321'), the same
allowed spaces as the E² module's own hand-built operation lists
(qgmag.observables.second_order_symmetry), which reproduce SYMMETRY_NOTES (spintensor /
symmetr); (2) for a model that has its group exactly, the irreducible-mesh sum symmetrized
with the T-odd (τ², τ⁰) and T-even (τ¹) rules equals the full-mesh sum; forbidden
components come out exactly zero.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import qgmag
from qgmag.observables import second_order_symmetry as hand
from qgmag.symmetry.operations import group_from_structure
from qgmag.symmetry.structure import group_from_win
from qgmag.symmetry.tensors import TensorKind, allowed_form, tensor_kind, variable_kinds
from qgmag.validation.second_order_field import centrosymmetric_magnet

# the identities tested here (equal routes, τ scaling, gauge, symmetry zeros) hold on any
# mesh; the coarse-mesh guard (SPEC §5) protects converged values
_compute_any_mesh = functools.partial(qgmag.compute, allow_coarse_mesh=True)

E2 = ("kinetic_spin_second_order", "kinetic_orbital_second_order")


def _span(basis: np.ndarray) -> np.ndarray:
    """Orthogonal projector onto the span of (n, 27) basis rows."""
    if len(basis) == 0:
        return np.zeros((27, 27))
    q, _ = np.linalg.qr(np.asarray(basis, dtype=float).reshape(len(basis), 27).T)
    return q @ q.T


def _data(shared_data: Path, relative: str) -> Path:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"reference data {path} not available")
    return path


def test_term_kinds_have_the_right_time_parity():
    for name in E2:
        assert tensor_kind(name, "tau1") == TensorKind(3, True, False, ((1, 2, 1),), "χ")
        for term in ("tau2_vv", "tau0_sea", "tau0_surface"):
            assert tensor_kind(name, term).t_odd and tensor_kind(name, term).axial
    assert not tensor_kind("nonlinear_current_second_order", "tau1").axial
    # the total mixes both parities; a part has one
    assert len(variable_kinds(E2[0], E2[0])) == 2
    assert variable_kinds(E2[0], E2[0] + "_tau1_per_cell") == [tensor_kind(E2[0], "tau1")]
    assert variable_kinds(E2[0], E2[0] + "_tau0_sea") == [tensor_kind(E2[0], "tau0_sea")]


@pytest.mark.parametrize("t_odd", [True, False])
def test_projector_equals_the_hand_built_tables(shared_data, t_odd):
    kind = TensorKind(3, True, t_odd, ((1, 2, 1),))
    fe = group_from_win(_data(shared_data, "Fe/wannier90/Fe.win"), [[0, 0, 1]])
    assert fe.name == "4/mm'm'"
    cases = [(fe, hand.fe_4mmm_mz())]
    fcc = 2.825 * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]])  # zinc blende, a = 5.65 Å
    gaas = group_from_structure(fcc, [[0, 0, 0], [0.25, 0.25, 0.25]], [31, 33], None)
    assert gaas.name == "-43m1'"
    cases.append((gaas, hand.td_grey()))
    for group, ops in cases:
        basis = allowed_form(kind, group=group).basis
        assert np.allclose(_span(basis), _span(hand.allowed_basis(ops, t_odd)), atol=1e-10)


def test_irreducible_equals_full_mesh_for_a_symmetric_magnet():
    """Spin and orbital E² on the wedge. (With the exact metal sea — every higher-order pole
    weighted by f0^(r) — the orbital τ⁰ integrand is covariant per k, so ``symmetry="auto"``
    finds the full group for the orbital tensor too; the f0 × residue form was not.)"""
    model = centrosymmetric_magnet(exchange=(0.0, 0.0, 0.35), A2=0.0)  # 4/mm'm'
    kw = dict(mu=[0.9, 1.3], temperature=[600.0], kmesh=(24, 24), tau=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qgmag.QgmagWarning)
        full = _compute_any_mesh(model, list(E2), **kw)
        irr = _compute_any_mesh(model, list(E2), symmetry="auto", **kw)
    assert irr.attrs["magnetic_point_group"] == "4/mm'm'"
    assert irr.attrs["n_kpoints_evaluated"] < full.attrs["n_kpoints"] / 5
    for name in E2:
        variables = [v for v in irr.data_vars if v.startswith(name) and "per_cell" not in v]
        scale = max(float(np.max(np.abs(full[v].values))) for v in variables)
        assert scale > 0
        for var in variables:
            np.testing.assert_allclose(
                irr[var].values, full[var].values, rtol=0, atol=1e-12 * scale
            )
            mask = np.array(json.loads(irr[var].attrs["allowed_mask"]), dtype=bool)[:, :2, :2]
            assert np.all(irr[var].values[..., ~mask] == 0.0), var
        # the T-even τ¹ part has only χ_xyz-type components, the T-odd parts only zxx = zyy
        tau1 = np.array(json.loads(irr[name + "_tau1"].attrs["allowed_mask"]), dtype=bool)
        tau2 = np.array(json.loads(irr[name + "_tau2"].attrs["allowed_mask"]), dtype=bool)
        assert sorted(map(tuple, np.argwhere(tau1))) == [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0)]
        assert (2, 0, 0) in map(tuple, np.argwhere(tau2)) and not tau2[0, 1, 2]
        zxx = irr[name + "_tau2"].sel(i="z", j="x", k="x").values
        np.testing.assert_allclose(irr[name + "_tau2"].sel(i="z", j="y", k="y").values, zxx)
