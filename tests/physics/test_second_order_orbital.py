"""Orbital τ⁰ Fermi sea of the E² kinetic magnetization vs exact magnetic supercells, and the
exact eigenbasis (Laurent-coefficient) evaluation vs the circle-quadrature oracle.

The independent reference (qgmag.validation.second_order_orbital): the filled-band
polarizability P(B) of Peierls magnetic supercells at fluxes ±p/q, its odd part in B
Richardson-extrapolated to B = 0, and the Maxwell relation δM_z = -∂F^(2)/∂B_z with
F^(2) = (eE)(eE)P. No formula of qgmag.geometry.second_order_orbital is used there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.geometry.second_order_orbital import orbital_sea_weights
from qgmag.occupation import occupation_kernel
from qgmag.validation import second_order_orbital_contour as contour
from qgmag.validation.second_order_field import centrosymmetric_magnet
from qgmag.validation.second_order_orbital import (
    metal_polarizability_response,
    orbital_polarizability_response,
    response_per_cell,
)

ORB = "kinetic_orbital_second_order"


@pytest.fixture(scope="module")
def magnet():
    return centrosymmetric_magnet()


def _kspace(magnet, n):
    ds = qgmag.compute(magnet, ORB, mu=0.1, kmesh=(n, n), smearing=("gaussian", 0.02))
    return ds, ds[ORB + "_per_cell"].isel(mu=0, temperature=0).values  # (3, 2, 2)


def test_orbital_tau0_sea_of_an_insulator_matches_small_supercells(magnet):
    """q_max = 200 (fluxes 1/200, 1/100, 1/50): the extrapolation is 2.4 % short of the
    limit (q_max = 800 in the slow test agrees to 1e-4); a factor, sign or a missing term
    of the k-space formula above 4 % fails here."""
    ds, chi = _kspace(magnet, 36)
    total = ds[ORB].isel(mu=0, temperature=0).values
    sea = ds[ORB + "_tau0_sea"].isel(mu=0, temperature=0).values
    np.testing.assert_allclose(total, sea, rtol=1e-12)  # the only part in a gap
    ref = response_per_cell(orbital_polarizability_response(magnet, 2, q_max=200)[0])
    assert np.abs(ref).min() > 0
    np.testing.assert_allclose(chi[2], ref, rtol=4e-2)
    assert np.abs(chi[:2]).max() == 0.0  # B in the plane has no Peierls phase in 2D


@pytest.mark.slow
def test_orbital_tau0_sea_of_an_insulator_equals_exact_supercells(magnet):
    """Done-means of issue 13: 2e-3 relative (measured: 5e-5 ... 9e-5 with 60² k-points)."""
    _, chi = _kspace(magnet, 60)
    ref = response_per_cell(orbital_polarizability_response(magnet, 2, q_max=800)[0])
    np.testing.assert_allclose(chi[2], ref, rtol=2e-3)


# --- the exact eigenbasis evaluation against the circle-quadrature oracle ---------------

SEA_KERNELS = ("f0", "df0", "d2f0", "d3f0", "d4f0", "d5f0")


def _bands(model, n_k, seed, **kw):
    dim = model.dim
    k = np.random.default_rng(seed).uniform(-3.0, 3.0, (n_k, dim))
    return BandData(model, k, need_second_derivatives=True, **kw)


def _exact_total(bands, mu, temperature):
    """Σ_r Σ_n f0^(r)(ε_n) X^(r)_n per k (3, 3, 3, N) from the exact weights."""
    x = orbital_sea_weights(bands)
    total = 0.0
    for r, kernel in enumerate(SEA_KERNELS):
        f = occupation_kernel(
            bands.energy.ravel(), np.array([mu]), np.array([temperature]), kernel
        ).reshape(bands.energy.shape)
        total = total + np.einsum("...kn,kn->...k", x[r], f)
    return total


def test_exact_sea_weights_equal_the_contour_oracle_in_an_insulator(magnet):
    """Residues: the exact Laurent coefficients (r = 0) equal the 24-point circles per band
    and per k (the oracle's own quadrature error is ~1e-10 relative)."""
    bands = _bands(magnet, 25, 1)
    exact = orbital_sea_weights(bands)
    oracle = contour.orbital_sea_weight(bands)
    scale = np.abs(oracle).max()
    assert scale > 0
    assert np.abs(exact[0] - oracle).max() < 1e-9 * scale


def test_exact_sea_equals_the_contour_with_the_fermi_function_in_a_metal(magnet):
    """μ in the conduction band, 900 K: Σ_r f^(r) X^(r) (every higher-order pole, real
    derivatives of f) equals ½∮ f(z) T(z) dz/2πi with f at complex z on small circles,
    per k; the f0 × residue prescription alone is wrong by O(1) here."""
    bands = _bands(magnet, 25, 2)
    mu, temperature = 1.3, 900.0
    exact = _exact_total(bands, mu, temperature)
    oracle = contour.orbital_sea_weight(bands, mu=mu, temperature=temperature).sum(-1)
    scale = np.abs(oracle).max()
    assert np.abs(exact - oracle).max() < 1e-9 * scale
    f0 = occupation_kernel(
        bands.energy.ravel(), np.array([mu]), np.array([temperature]), "f0"
    ).reshape(bands.energy.shape)
    residues_only = np.einsum("...kn,kn->...k", contour.orbital_sea_weight(bands), f0)
    assert np.abs(residues_only - oracle).max() > 0.1 * scale


def test_insulator_limit_of_the_metal_formula(magnet):
    """μ mid-gap: as T -> 0 the finite-T sea tends to the filled-band residue sum."""
    bands = _bands(magnet, 25, 3)
    residues = orbital_sea_weights(bands)[0]
    occupied = (bands.energy < 0.1).astype(float)
    filled = np.einsum("...kn,kn->...k", residues, occupied)
    for temperature, bound in ((300.0, 1e-5), (100.0, 1e-12)):
        got = _exact_total(bands, 0.1, temperature)
        assert np.abs(got - filled).max() < bound * np.abs(filled).max(), temperature


def test_sea_of_an_eighteen_band_model_is_computed_and_t_odd(shared_data):
    """Fe_tb.dat: the sea is computed (no band limit); splittings that would cancel beyond
    round-off are refused with a QgmagError that names degeneracy_tol."""
    path = shared_data / "Fe/Fe_tb.dat"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qgmag.QgmagWarning)
        model = qgmag.read_wannier90(path)
    kw = dict(mu=17.6255, temperature=1000.0, kmesh=(3, 3, 3), allow_coarse_mesh=True)
    with pytest.raises(qgmag.QgmagError, match="degeneracy_tol"):
        qgmag.compute(model, ORB, degeneracy_tol=1e-4, **kw)
    ds = qgmag.compute(model, ORB, degeneracy_tol=1e-3, **kw)
    assert np.abs(ds[ORB + "_tau0_sea"].values).max() > 0


# --- a metal at finite T: the sea vs Peierls supercells with the Fermi function ----------


def _metal_tau0(magnet, temperature, n):
    ds = qgmag.compute(
        magnet, ORB, mu=1.3, temperature=temperature, kmesh=(n, n), allow_coarse_mesh=True
    )
    part = {p: ds[f"{ORB}_{p}_per_cell"].isel(mu=0, temperature=0).values for p in TAU0}
    # the whole τ⁰ is its two parts: no further Fermi-surface term on top
    np.testing.assert_allclose(part["tau0"], part["tau0_sea"] + part["tau0_surface"], rtol=1e-13)
    return part  # (3, 2, 2) each


TAU0 = ("tau0", "tau0_sea", "tau0_surface")


def test_metal_tau0_matches_supercells_with_the_fermi_function(magnet):
    """μ = 1.3 eV (conduction band), 3000 K: the whole k-space τ⁰ (every f0^(r) weight:
    sea r = 0, surface r ≥ 1) vs the B-derivative of ½ Σ_nm Re V V f[ε_n, ε_m, ε_m, ε_m]
    of Peierls supercells at fluxes 1/100, 1/50, 1/25 (measured 3.7e-3; q_max = 200:
    2.7e-4). Adding Σ f0' ε^(2) m on top (it is already among the f0' weights) was 7.3e-2
    off; the f0 × residue form alone is wrong by O(1) here (test above)."""
    part = _metal_tau0(magnet, 3000.0, 60)
    ref = response_per_cell(metal_polarizability_response(magnet, 1.3, 3000.0, q_max=100)[0])
    assert np.abs(ref).min() > 0
    np.testing.assert_allclose(part["tau0"][2], ref, rtol=0, atol=1e-2 * np.abs(ref).max())
    # the surface part is not negligible here: the check above sees the split
    assert np.abs(part["tau0_surface"][2]).max() > 0.05 * np.abs(ref).max()


@pytest.mark.slow
def test_metal_tau0_equals_supercells_at_900_kelvin(magnet):
    """900 K, fluxes down to 1/800 (measured with q_max = 400: 7e-4 … 3.6e-3 of the largest)."""
    chi = _metal_tau0(magnet, 900.0, 160)["tau0"]
    ref = response_per_cell(metal_polarizability_response(magnet, 1.3, 900.0, q_max=800)[0])
    np.testing.assert_allclose(chi[2], ref, rtol=0, atol=2e-3 * np.abs(ref).max())


def test_fe_tau0_total_does_not_depend_on_the_grouping_of_close_pairs(shared_data):
    """Merging two poles split by δ < degeneracy_tol changes the total τ⁰ by O(δ²) only
    (weight moves between the sea and the surface: docs page). Fe_tb.dat, 4³, E_F, 1000 K:
    tolerances 1e-3 and 1e-2 (pairs split by 1e-3-1e-2 eV merged or not)."""
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qgmag.QgmagWarning)
        model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    kw = dict(mu=17.6255, temperature=1000.0, kmesh=(4, 4, 4), allow_coarse_mesh=True)
    parts = {}
    for tol in (1e-3, 1e-2):
        ds = qgmag.compute(model, ORB, degeneracy_tol=tol, **kw)
        parts[tol] = {p: ds[f"{ORB}_{p}_per_cell"].values for p in TAU0}
    total = np.abs(parts[1e-2]["tau0"]).max()
    assert total > 0
    np.testing.assert_allclose(parts[1e-3]["tau0"], parts[1e-2]["tau0"], rtol=0, atol=1e-4 * total)
