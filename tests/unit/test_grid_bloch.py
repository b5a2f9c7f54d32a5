"""Separable Bloch sums along uniform-mesh lines equal the direct sums (same H, ∂H, ∂²H)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qgmag
from qgmag.bands import grid_bloch
from qgmag.bands.engine import BandData
from qgmag.bands.grid_bloch import grid_bloch_blocks, separable_is_faster
from qgmag.integrate.chunk import integrate_chunk
from qgmag.integrate.driver import _select_observables, build_plan
from qgmag.kspace.mesh import make_mesh
from qgmag.models import lattice_models
from qgmag.occupation import parse_smearing

RANGES = [(0, 1), (0, 37), (5, 6), (13, 200), (171, 343), (0, 343)]


def _compare(model, mesh, order, connection=False):
    checked = 0
    for start, stop in RANGES:
        if start >= mesh.n_points:
            continue
        stop = min(stop, mesh.n_points)
        k, _ = mesh.chunk(start, stop)
        ref = model.bloch_blocks(k, order, connection=connection)
        got = grid_bloch_blocks(model, mesh, start, stop, order, connection)
        if got is None:
            continue  # judged slower for this range: the direct sums are used
        checked += 1
        pairs = got.pop("d2h_pairs", None)  # ∂_a∂_b H as its distinct pairs a <= b
        if order >= 2:
            d = model.dim
            index = [(a, b) for a in range(d) for b in range(a, d)]
            assert got["d2h"] is None and pairs.shape[0] == len(index)
            got["d2h"] = np.empty_like(ref["d2h"])
            for p, (a, b) in enumerate(index):
                got["d2h"][a, b] = got["d2h"][b, a] = pairs[p]
        assert set(got) == set(ref)
        for key, value in ref.items():
            if value is None:
                assert got[key] is None
                continue
            scale = np.max(np.abs(value)) or 1.0
            np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-13 * scale, err_msg=key)
    return checked


@pytest.mark.parametrize("shift", [False, True])
def test_fe_all_orders_and_full_connection(shared_data, shift):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest", berry_connection="full")
    mesh = make_mesh(model, (7, 7, 7), shift)
    assert _compare(model, mesh, 1) >= 3
    assert _compare(model, mesh, 2) >= 3
    assert _compare(model, mesh, 1, connection=True) >= 3


@pytest.mark.parametrize(
    "model", [lattice_models.kane_mele(), lattice_models.haldane(), lattice_models.weyl_lattice()]
)
def test_builtin_models_non_square_mesh(model, monkeypatch):
    counts = (4, 9) if model.dim == 2 else (3, 5, 7)
    mesh = make_mesh(model, counts, True)
    # small models: the estimate may choose the direct sums; check the separable ones anyway
    monkeypatch.setattr(grid_bloch, "SEPARABLE_MAX_COST_RATIO", np.inf)
    for order in (1, 2):
        assert _compare(model, mesh, order) == len([r for r in RANGES if r[0] < mesh.n_points])


def test_route_choice_and_integration_equal(shared_data):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    mesh = make_mesh(model, (8, 8, 8))
    bands = BandData(model, mesh.chunk(0, 300)[0], mesh_range=(mesh, 0, 300))
    assert bands.separable_sums  # Fe: 95 R, 7 distinct R_3 -> the separable route
    assert not separable_is_faster(1, 1, 95, 7, 50)  # one point: direct
    q = ["anomalous_hall_conductivity", "orbital_magnetization", "kinetic_spin_extrinsic"]
    plan = build_plan(
        model,
        _select_observables(q, model),
        np.array([17.3, 17.6255]),
        np.array([0.0, 300.0]),
        mesh,
        smearing=parse_smearing(0.02),
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=150,
    )
    a = sum(integrate_chunk(model, plan, s, e) for s, e in plan.chunk_bounds)
    direct = dataclasses.replace(plan, separable_sums=False)
    b = sum(integrate_chunk(model, direct, s, e) for s, e in plan.chunk_bounds)
    for key, ref in b.sums.items():
        scale = np.max(np.abs(ref)) or 1.0
        np.testing.assert_allclose(a.sums[key], ref, rtol=0, atol=1e-10 * scale, err_msg=key)
