"""E² kinetic magnetization (kinetic_*_second_order): each part against an independent fact.

- band quantities: the three-band field derivative of the BCP against central differences in
  a Zeeman term and in k; the non-Abelian inverse mass against second differences of ε_n;
- τ⁰ Fermi sea of a centrosymmetric magnetic insulator against exact ribbons with the
  potential +eE·r (second difference in E) and against the Hellmann–Feynman route;
- every linear kinetic response of that magnet is zero to round-off (inversion);
- τ² against the Boltzmann f2 from finite differences of f0 on shifted meshes (a metal);
- exact τ scaling of each part; gauge invariance; degenerate-set continuity; PT zero.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import qgmag
from qgmag import constants as c
from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry import second_order as so
from qgmag.models.tight_binding import TightBindingModel
from qgmag.validation.second_order_field import (
    _with_zeeman,
    boltzmann_second_order,
    centrosymmetric_magnet,
    ribbon_spin_response,
    spin_per_cell_to_si,
    zeeman_spin_response,
    zeeman_spin_response_metal,
)

# the identities tested here (equal routes, τ scaling, gauge, symmetry zeros) hold on any
# mesh; the coarse-mesh guard (SPEC §5) protects converged values
_compute_any_mesh = functools.partial(qgmag.compute, allow_coarse_mesh=True)

SPIN = "kinetic_spin_second_order"
ORB = "kinetic_orbital_second_order"
PARTS = ("tau2", "tau1", "tau0_sea", "tau0_surface")


@pytest.fixture(scope="module")
def magnet() -> TightBindingModel:
    return centrosymmetric_magnet()


@pytest.fixture(scope="module")
def insulator(magnet) -> object:
    """All parts at μ mid-gap, T = 0 (Gaussian smearing far from every band)."""
    return _compute_any_mesh(
        magnet, [SPIN, ORB], mu=0.1, kmesh=(40, 40), smearing=("gaussian", 0.02)
    )


def _kpoints(n=30, dim=2, seed=0):
    return np.random.default_rng(seed).uniform(-3, 3, (n, dim))


def test_bcp_field_derivative_matches_zeeman_and_k_differences(magnet):
    k = _kpoints()
    bands = BandData(magnet, k, need_second_derivatives=True)
    t = so.bcp_field_derivative(bands, bands.spin_matrix)
    h = 1e-4
    for i in range(3):
        fd = (
            so.bcp_native(BandData(_with_zeeman(magnet, h, i), k))
            - so.bcp_native(BandData(_with_zeeman(magnet, -h, i), k))
        ) / (2 * h)
        np.testing.assert_allclose(t[i, :2, :2], fd[:2, :2], atol=1e-7 * np.abs(fd).max())
    w = np.swapaxes(bands.second_derivative_matrix, 0, 1)
    tk = so.bcp_field_derivative(bands, bands.velocity_matrix, w)
    for a in range(2):
        e = np.eye(2)[a] * 1e-5
        fd = (
            so.bcp_native(BandData(magnet, k + e)) - so.bcp_native(BandData(magnet, k - e))
        ) / 2e-5
        np.testing.assert_allclose(tk[a, :2, :2], fd[:2, :2], atol=1e-7 * np.abs(fd).max())


def test_bcp_is_the_second_order_energy_and_inverse_mass_is_the_band_curvature(magnet):
    """G_n = -∂²ε_n/∂(eE)² of H + eE·r? In k-space: ε^(2) = e² E·g3·E equals the exact
    second-order energy of a two-level-resolved sum; checked here through ∂a∂b ε_n and the
    BCP units (Å²/V = 2 g3)."""
    k = _kpoints(seed=1)
    bands = BandData(magnet, k, need_second_derivatives=True)
    mass = np.real(np.diagonal(so.inverse_mass_matrix(bands), axis1=-2, axis2=-1))
    h = 1e-4
    for a in range(2):
        for b in range(2):
            ea, eb = np.eye(2)[a] * h, np.eye(2)[b] * h

            def en(kk):
                return BandData(magnet, kk).energy

            fd = (en(k + ea + eb) - en(k + ea - eb) - en(k - ea + eb) + en(k - ea - eb)) / (
                4 * h * h
            )
            np.testing.assert_allclose(mass[a, b], fd, atol=1e-5 * np.abs(fd).max())
    np.testing.assert_allclose(
        so.berry_connection_polarizability(bands), 2 * so.bcp_native(bands), rtol=1e-14
    )


def test_insulator_tau0_sea_equals_exact_ribbon(magnet, insulator):
    """Spin of a centrosymmetric magnetic insulator: k-space τ⁰ sea vs exact ribbons."""
    chi = insulator[SPIN].isel(mu=0, temperature=0).values  # (3, 2, 2) A·m²/V²
    np.testing.assert_allclose(insulator[SPIN + "_tau0_sea"].isel(mu=0, temperature=0), chi)
    for part in ("tau2", "tau1", "tau0_surface"):
        assert np.abs(insulator[f"{SPIN}_{part}"].values).max() < 1e-12 * np.abs(chi).max()
    for periodic, layers in (((0, 1), 32), ((1, -1), 46)):  # same width: 32 ≈ 46/√2 cells
        e_hat, exact = ribbon_spin_response(magnet, periodic, n_layers=layers, n_k=32)
        ref = spin_per_cell_to_si(exact, magnet.cell_volume)
        mine = np.einsum("ijk,j,k->i", chi, e_hat, e_hat)
        assert np.abs(mine - ref).max() < 2e-3 * np.abs(ref).max(), (periodic, mine, ref)


def test_insulator_tau0_sea_equals_hellmann_feynman(magnet, insulator):
    chi = insulator[SPIN].isel(mu=0, temperature=0).values
    exact = spin_per_cell_to_si(zeeman_spin_response(magnet, (40, 40), 2), magnet.cell_volume)
    np.testing.assert_allclose(chi, exact, rtol=0, atol=1e-6 * np.abs(exact).max())


def test_metal_spin_tau0_equals_the_zeeman_derivative_of_the_occupied_bcp_energy(magnet):
    """Metal (μ = 1.3 eV, 900 K): sea + surface = e² ∂_λ Σ_n f0(ε_n) g3_n for H + λS by a
    central difference in the Zeeman term (the surface part is the occupations' derivative,
    the sea that of g3); same k-points, so equal to the difference's error."""
    ds = _compute_any_mesh(magnet, SPIN, mu=1.3, temperature=900.0, kmesh=(24, 24))
    got = {
        p: ds[f"{SPIN}_{p}"].isel(mu=0, temperature=0).values for p in ("tau0_sea", "tau0_surface")
    }
    exact = spin_per_cell_to_si(
        zeeman_spin_response_metal(magnet, (24, 24), 1.3, 900.0), magnet.cell_volume
    )
    total = got["tau0_sea"] + got["tau0_surface"]
    np.testing.assert_allclose(total, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
    assert np.abs(got["tau0_surface"]).max() > 1e-3 * np.abs(exact).max()  # both parts seen


def test_centrosymmetric_magnet_has_no_linear_kinetic_response(magnet):
    linear = [
        "kinetic_spin_extrinsic",
        "kinetic_spin_intrinsic",
        "kinetic_orbital_extrinsic",
        "kinetic_orbital_intrinsic",
    ]
    ds = _compute_any_mesh(magnet, linear, mu=[0.1, 1.2], temperature=600.0, kmesh=(24, 24))
    broken = centrosymmetric_magnet()  # the same model with inversion broken by a τ_x s_0 term
    mats = np.array(broken.hopping_matrices)
    mats[np.all(broken.hopping_vectors == 0, axis=1)] += (
        0.3
        * np.kron(np.array([[0, 1], [1, 0]]), np.eye(2))
        * 1j
        * np.array([[0, 1], [-1, 0]]).repeat(2, 0).repeat(2, 1)
    )
    ref = _compute_any_mesh(
        TightBindingModel.from_arrays(
            broken.lattice, broken.positions, broken.hopping_vectors, mats, spin=broken.spin
        ),
        linear,
        mu=[0.1, 1.2],
        temperature=600.0,
        kmesh=(24, 24),
    )
    for name in linear:
        scale = np.abs(ref[name].values).max()
        assert scale > 0
        assert np.abs(ds[name].values).max() < 1e-12 * scale, name


def _metal(magnet, quantities, tau=10.0, **kw):
    return _compute_any_mesh(
        magnet, quantities, mu=1.3, temperature=900.0, kmesh=(36, 36), tau=tau, **kw
    )


def test_tau2_equals_boltzmann_finite_differences(magnet):
    ds = _metal(magnet, [SPIN, ORB])
    e_tau = c.ELEMENTARY_CHARGE * 10.0 * c.FEMTOSECOND / c.HBAR
    area = magnet.cell_volume
    spin_ref = boltzmann_second_order(
        magnet, lambda b: b.spin_expectation, (36, 36), 1.3, 900.0
    )  # <S/ħ> ∂∂f0 per cell, Å²
    spin_si = -2.0 * c.BOHR_MAGNETON * e_tau**2 * spin_ref / area  # Å² / Å² cancels
    got = ds[SPIN + "_tau2"].isel(mu=0, temperature=0).values
    np.testing.assert_allclose(got, spin_si, rtol=0, atol=2e-5 * np.abs(spin_si).max())
    local = boltzmann_second_order(
        magnet, lambda b: q.orbital_moment_vector(b), (36, 36), 1.3, 900.0
    )
    # itinerant term with the occupation-linear grand density g_n = (μ - ε_n) f_n
    itinerant = boltzmann_second_order(
        magnet, lambda b: q.berry_curvature_vector(b) * (1.3 - b.energy), (36, 36), 1.3, 900.0
    )
    orb_si = (
        c.ELEMENTARY_CHARGE / c.HBAR * c.EV * c.ANGSTROM**2 * e_tau**2 * (local + itinerant) / area
    )
    got = ds[ORB + "_tau2"].isel(mu=0, temperature=0).values
    np.testing.assert_allclose(got, orb_si, rtol=0, atol=2e-5 * np.abs(orb_si).max())


def test_each_part_scales_exactly_with_tau(magnet):
    a = _metal(magnet, [SPIN, ORB], tau=10.0)
    b = _metal(magnet, [SPIN, ORB], tau=5.0)
    for name in (SPIN, ORB):
        for part, power in (("tau2", 2), ("tau1", 1), ("tau0_surface", 0)):
            x, y = a[f"{name}_{part}"].values, b[f"{name}_{part}"].values
            assert np.abs(x).max() > 0
            np.testing.assert_allclose(x, 2.0**power * y, rtol=1e-12, atol=0)
        total = sum(a[f"{name}_{p}"] for p in ("tau2", "tau1", "tau0"))
        np.testing.assert_allclose(a[name].values, total.values, rtol=1e-13)
    np.testing.assert_allclose(
        a[SPIN + "_tau0"].values,
        (a[SPIN + "_tau0_sea"] + a[SPIN + "_tau0_surface"]).values,
        rtol=1e-13,
    )


def test_results_are_symmetric_in_the_field_indices_and_labelled(magnet, insulator):
    for name in (SPIN, ORB):
        da = insulator[name]
        assert da.dims == ("mu", "temperature", "i", "j", "k")
        np.testing.assert_array_equal(da.values, np.swapaxes(da.values, -1, -2))
    assert insulator[SPIN].attrs["units"] == "ampere * meter**2 / volt**2"
    assert insulator[SPIN + "_per_cell"].attrs["units"] == "bohr_magneton / (volt / nanometer)**2"
    ratio = insulator[SPIN + "_per_cell"] / insulator[SPIN]
    per_cell = magnet.cell_volume * c.ANGSTROM**2 / c.BOHR_MAGNETON / c.NANOMETER**2
    np.testing.assert_allclose(ratio.values[np.isfinite(ratio.values)], per_cell, rtol=1e-12)


def _doubled(model: TightBindingModel, delta: float) -> TightBindingModel:
    """Two identical copies of ``model`` coupled by delta (1 ⊗ 1): every band becomes a pair
    split by 2·delta whose members have no matrix elements of S, V or ∂²H between them."""
    mats = np.array([np.kron(np.eye(2), t) for t in model.hopping_matrices])
    zero = np.all(model.hopping_vectors == 0, axis=1)
    mats[zero] += delta * np.kron(np.array([[0, 1], [1, 0]]), np.eye(model.n_bands))
    spin = np.array([np.kron(np.eye(2), s) for s in model.spin])
    pos = np.vstack([model.positions, model.positions])
    return TightBindingModel.from_arrays(model.lattice, pos, model.hopping_vectors, mats, spin=spin)


def test_degenerate_sets_gauge_invariance_and_continuity(magnet):
    """Pairs exactly degenerate (grouped, randomly rotated) or split by 2δ across the
    tolerance: every part equals twice the single-copy value."""
    kw = dict(mu=1.3, temperature=900.0, kmesh=(16, 16), degeneracy_tol=1e-5)
    single = _compute_any_mesh(magnet, [SPIN, ORB], **kw)
    for delta, seed in ((0.0, 3), (2e-6, 4), (2e-5, None)):
        ds = _compute_any_mesh(_doubled(magnet, delta), [SPIN, ORB], gauge_seed=seed, **kw)
        for name in (SPIN, ORB):
            for part in ("tau2", "tau1", "tau0_sea", "tau0_surface"):
                ref = 2 * single[f"{name}_{part}"].values
                got = ds[f"{name}_{part}"].values
                assert np.abs(got - ref).max() < 1e-6 * np.abs(ref).max(), (name, part, delta)


def test_pt_antiferromagnet_total_spin_has_no_t_odd_part():
    model = qgmag.models.lattice_models.pt_antiferromagnet(direction=(1.0, 0.3, 0.5))
    ds = _compute_any_mesh(model, SPIN, mu=0.4, temperature=900.0, kmesh=(16, 16), gauge_seed=1)
    t_even = np.abs(ds[SPIN + "_tau1"].values).max()
    assert t_even > 0
    for part in ("tau2", "tau0_sea", "tau0_surface"):
        assert np.abs(ds[f"{SPIN}_{part}"].values).max() < 1e-10 * t_even, part


def test_band_geometry_second_order_quantities(magnet):
    k = _kpoints(5, seed=2)
    ds = qgmag.band_geometry(
        magnet,
        k,
        ["berry_connection_polarizability", "spin_connection_polarizability", "inverse_mass"],
    )
    bands = BandData(magnet, k, need_second_derivatives=True)
    g = ds["berry_connection_polarizability"]
    assert g.dims == ("k", "band", "j", "l") and g.attrs["units"] == "angstrom**2 / volt"
    np.testing.assert_allclose(
        g.values, np.moveaxis(2 * so.bcp_native(bands), (0, 1), (2, 3))[:, :, :2, :2]
    )
    # the spin analogue is the Zeeman derivative of G (central difference)
    h = 1e-4
    fd = [
        qgmag.band_geometry(_with_zeeman(magnet, s * h, 2), k, ["berry_connection_polarizability"])
        for s in (1, -1)
    ]
    deriv = fd[0]["berry_connection_polarizability"] - fd[1]["berry_connection_polarizability"]
    deriv = deriv / (2 * h)
    got = ds["spin_connection_polarizability"].sel(i="z")
    assert np.abs(got.values - deriv.values).max() < 1e-6 * np.abs(deriv.values).max()
    assert ds["inverse_mass"].dims == ("k", "band", "j", "l")


def test_no_orbital_drude_or_dipole_in_an_insulator(magnet, insulator):
    """f2 = f1 = 0 in a gap: the τ² (local and itinerant, g = (μ - ε) f) and τ¹ orbital
    parts vanish there, while they are finite in the conduction band."""
    metal = _metal(magnet, [ORB])
    for part in ("tau2", "tau1", "tau0_surface"):
        scale = np.abs(metal[f"{ORB}_{part}"].values).max()
        assert scale > 0
        assert np.abs(insulator[f"{ORB}_{part}"].values).max() < 1e-10 * scale, part


def test_insulator_sea_is_continuous_when_coupled_pairs_cross_the_tolerance(magnet):
    """Copies coupled by δ (σ_x ⊗ X, X a random Hermitian matrix: intra-pair matrix elements
    of S and V are nonzero): grouped (δ = 0 rotated, 3e-6) or split (3e-5, 3e-4) across the
    1e-5 eV tolerance, the filled-band τ⁰ sea (spin and orbital) stays 2× the single value
    to O(δ²)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    x = (x + x.conj().T) / 2
    x /= np.abs(np.linalg.eigvalsh(x)).max()
    kw = dict(mu=0.1, kmesh=(16, 16), smearing=("gaussian", 0.02), degeneracy_tol=1e-5)
    single = _compute_any_mesh(magnet, [SPIN, ORB], **kw)
    ref = 2 * single[SPIN + "_tau0_sea"].values
    ref_orb = 2 * single[ORB + "_tau0_sea"].values
    for delta, seed in ((0.0, 1), (3e-6, 2), (3e-5, None), (3e-4, None)):
        model = _doubled(magnet, 0.0)
        mats = np.array(model.hopping_matrices)
        mats[np.all(model.hopping_vectors == 0, axis=1)] += delta * np.kron(
            np.array([[0, 1], [1, 0]]), x
        )
        model = TightBindingModel.from_arrays(
            model.lattice, model.positions, model.hopping_vectors, mats, spin=model.spin
        )
        ds = _compute_any_mesh(model, [SPIN, ORB], gauge_seed=seed, **kw)
        got = ds[SPIN].values
        bound = max(1e-10, 1e-5 * (delta / 1e-3) ** 2)  # measured 3e-16, 1e-11, 1e-9, 1e-7
        assert np.abs(got - ref).max() < bound * np.abs(ref).max(), delta
        # the orbital sea (exact Laurent weights): measured 3e-16, 5e-11, 5e-9, 5e-7
        got = ds[ORB + "_tau0_sea"].values
        assert np.abs(got - ref_orb).max() < bound * np.abs(ref_orb).max(), delta
