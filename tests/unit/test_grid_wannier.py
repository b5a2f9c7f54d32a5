"""Separable Bloch sums of the Wannier matrices S, B, B^†, C equal Σ_R e^{ik·R} X(R); the
packed diagonal-only keys (X_x + i X_y, X_z) too, and the band diagonals from them equal
those of the full transforms U† X U."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qgmag
from qgmag.bands.grid_bloch import grid_wannier_blocks
from qgmag.integrate.chunk import integrate_chunk
from qgmag.integrate.driver import _select_observables, build_plan
from qgmag.kspace.mesh import make_mesh
from qgmag.occupation import parse_smearing

KEYS = {"spin": "spin_matrices", "orbital_c": "orbital_c_matrices"}


@pytest.fixture(scope="module")
def fe_run(shared_data):
    path = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not path.is_file():
        pytest.skip("Fe Wannier90 run not available")
    return qgmag.read_wannier90(path)


def _naive(model, k, key):
    """Σ_R e^{ik·R} X(R) by the definition (3, N, n, n)."""
    phase = np.exp(1j * (k @ model._r_cart.T))  # (N, nR)
    if key == "orbital_b_dagger":
        src = model.orbital_b_matrices
        x = np.einsum("kr,rija->akji", np.conj(phase), np.conj(src))  # (Σ e^{-ikR} B(R))^†
        return x
    if key.endswith("_packed"):  # (X_x + i X_y, X_z)
        x = _naive(model, k, key.removesuffix("_packed"))
        return np.stack([x[0] + 1j * x[1], x[2]])
    src = model.orbital_b_matrices if key == "orbital_b" else getattr(model, KEYS[key])
    return np.einsum("kr,rija->akij", phase, src)


@pytest.mark.parametrize("shift", [False, True])
def test_separable_wannier_sums_equal_the_definition(fe_run, shift):
    mesh = make_mesh(fe_run, (6, 7, 9), shift)
    for start, stop in ((0, 378), (11, 200)):
        k, _ = mesh.chunk(start, stop)
        for key in (*KEYS, "orbital_b", "orbital_b_dagger", "spin_packed", "orbital_c_packed"):
            ref = _naive(fe_run, k, key)
            scale = np.max(np.abs(ref))
            got = grid_wannier_blocks(fe_run, mesh, start, stop, key)
            assert got is not None  # Fe: 95 R, lines of 9 points -> separable
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * scale, err_msg=key)
            direct = fe_run.wannier_blocks(k, key)
            np.testing.assert_allclose(direct, ref, rtol=0, atol=1e-13 * scale, err_msg=key)


def test_full_level_integration_equal_with_and_without_separable_sums(fe_run):
    # shifted: no high-symmetry points, whose near-degenerate pairs amplify round-off
    mesh = make_mesh(fe_run, (5, 6, 7), True)
    q = [
        "anomalous_hall_conductivity",
        "orbital_magnetization",
        "spin_magnetization",
        "kinetic_orbital_extrinsic",
    ]
    for formula in ("lopez", "projected"):
        model = fe_run.with_level("full", orbital_formula=formula)
        plan = build_plan(
            model,
            _select_observables(q, model),
            np.array([17.5, 17.6255]),
            np.array([300.0]),
            mesh,
            smearing=parse_smearing(0.05),
            degeneracy_tol=1e-6,
            metric_dipole="analytic",
            chunk_size=100,
        )
        a = sum(integrate_chunk(model, plan, s, e) for s, e in plan.chunk_bounds)
        direct = dataclasses.replace(plan, separable_sums=False)
        b = sum(integrate_chunk(model, direct, s, e) for s, e in plan.chunk_bounds)
        for key, ref in b.sums.items():
            scale = np.max(np.abs(ref)) or 1.0
            np.testing.assert_allclose(a.sums[key], ref, rtol=0, atol=2e-12 * scale, err_msg=key)


@pytest.mark.parametrize("window", [None, (-np.inf, 17.8)])
def test_packed_wannier_diagonals_equal_the_full_transforms(fe_run, window):
    from qgmag.bands.engine import BandData

    model = fe_run.with_level("full")
    k = np.random.default_rng(5).uniform(-1.0, 1.0, size=(50, 3))
    for key in KEYS:
        packed = BandData(model, k, energy_window=window)  # diagonal from the packed sums
        assert packed.windowed == (window is not None)
        got = packed.wannier_diagonal(key)
        bands = BandData(model, k, energy_window=window)
        full = bands.wannier_matrix(key)  # U_w† X U from the three components
        ref = np.real(bands.diagonal(full))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14 * np.abs(ref).max(), err_msg=key)


@pytest.mark.parametrize("window", [None, (-np.inf, 0.0)])
def test_eigen_diagonal_equals_the_diagonal_of_the_transform(window):
    from qgmag.bands.engine import BandData
    from qgmag.models import lattice_models

    model = lattice_models.weyl_lattice()
    rng = np.random.default_rng(3)
    k = rng.uniform(-1.0, 1.0, size=(70, 3))
    bands = BandData(model, k, energy_window=window)
    assert bands.windowed == (window is not None)
    n = model.n_bands
    x = rng.normal(size=(3, 70, n, n)) + 1j * rng.normal(size=(3, 70, n, n))
    x = x + np.conj(np.swapaxes(x, -1, -2))
    u = bands._u
    full = np.conj(np.swapaxes(u, -1, -2)) @ x @ u
    ref = np.real(np.diagonal(full, axis1=-2, axis2=-1))[..., bands.rows]
    got = bands._eigen_diagonal(x)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    got_view = bands._eigen_diagonal(np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 0, 1)), 1, 0))
    np.testing.assert_allclose(got_view, ref, rtol=0, atol=1e-13 * np.abs(ref).max())


@pytest.mark.parametrize("window", [None, (-np.inf, 17.8)])
def test_packed_curl_diagonal_equals_the_full_transform(fe_run, window):
    from qgmag.bands.engine import BandData
    from qgmag.models.tight_binding import pack_curl, unpack_curl

    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 5, 6, 6)) + 1j * rng.normal(size=(4, 5, 6, 6))
    x = x + np.conj(np.swapaxes(x, -1, -2))  # Hermitian terms
    packed = pack_curl(x)  # the last three terms as (x + i y, z)
    np.testing.assert_array_equal(packed[:, :2], x[:, :2])  # rows 4, terms 5
    np.testing.assert_allclose(
        unpack_curl(np.moveaxis(packed[:, 2:], 1, 0)),
        np.moveaxis(x[:, 2:], 1, 0),
        rtol=0,
        atol=1e-14,
    )
    model = fe_run.with_level("full-connection")
    k = rng.uniform(-1.0, 1.0, size=(50, 3))
    got = BandData(model, k, energy_window=window).position_curvature_diagonal  # packed diag
    bands = BandData(model, k, energy_window=window)
    ref = np.real(bands.diagonal(bands.position_curvature))  # U_w† Ω_c U, c = x, y, z
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14 * np.abs(ref).max())
