"""Finite-field cross-check (qgmag.validation.finite_field) against the geometric formulas.

The finite-field values come from exact spectra in a magnetic field (Peierls substitution,
magnetic supercells) and from Berry-phase polarizations; they share no code with
``qgmag.compute`` beyond the tight-binding Hamiltonian H(k).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants as sc

import qgmag
from qgmag.errors import QgmagError, QgmagWarning
from qgmag.validation import finite_field as ff


def anisotropic_haldane(
    t1: tuple[float, float, float] = (1.0, 1.0, 1.4),
    t2: float = 0.1,
    phi: float = 0.9,
    mass: float = 0.8,
    a: float = 2.46,
    angle: float = 0.0,
) -> qgmag.TightBindingModel:
    """Haldane model with one stronger nearest-neighbour bond (breaks T, P and C3; C = 0),
    lattice rotated by ``angle`` (rad) so that α_zx and α_zy are both non-zero."""
    rot = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    lattice = a * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]]) @ rot
    nn = ((0, 0), (-1, 0), (0, -1))
    hoppings = [(0, 1, r, t) for r, t in zip(nn, t1, strict=True)]
    for r in ((1, 0), (-1, 1), (0, -1)):
        hoppings += [(0, 0, r, t2 * np.exp(1j * phi)), (1, 1, r, t2 * np.exp(-1j * phi))]
    return qgmag.TightBindingModel(
        lattice, [[1 / 3, 1 / 3], [2 / 3, 2 / 3]], hoppings, onsite=[mass, -mass]
    )


def square_lattice(t: float = -1.0, a: float = 1.0) -> qgmag.TightBindingModel:
    return qgmag.TightBindingModel(
        a * np.eye(2), [[0.0, 0.0]], [(0, 0, (1, 0), t), (0, 0, (0, 1), t)]
    )


# -- the magnetic supercell itself ---------------------------------------------------------------


def test_zero_flux_supercell_folds_the_bands() -> None:
    model = qgmag.models.haldane(t2=0.1, phi=0.7, mass=0.3)
    q = 5
    sc_model = ff.magnetic_supercell(model, 0, q)
    rng = np.random.default_rng(1)
    k = rng.uniform(-1, 1, (4, 2))
    folded = np.sort(np.linalg.eigvalsh(sc_model.hamiltonian(k)), axis=1)
    b1 = 2 * np.pi * np.linalg.inv(model.lattice).T[0]
    prim = np.concatenate(
        [np.linalg.eigvalsh(model.hamiltonian(k + j * b1 / q)) for j in range(q)], axis=1
    )
    np.testing.assert_allclose(folded, np.sort(prim, axis=1), atol=1e-12)


@pytest.mark.parametrize("p", [1, -2, 3])
def test_peierls_phase_around_a_plaquette_is_aharonov_bohm_for_charge_minus_e(p: int) -> None:
    """Hopping counter-clockwise around a plaquette holding flux Φ gives exp(-2πi Φ/Φ0)."""
    t, q = -1.0, 7
    blocks = ff.magnetic_supercell(square_lattice(t), p, q)
    h = {tuple(r): m for r, m in zip(blocks.hopping_vectors, blocks.hopping_matrices, strict=True)}
    for cell in range(q - 1):
        loop = (
            h[(0, 0)][cell + 1, cell]  # (c,0) -> (c+1,0)
            * h[(0, -1)][cell + 1, cell + 1]  # (c+1,0) -> (c+1,1)
            * h[(0, 0)][cell, cell + 1]  # (c+1,1) -> (c,1)
            * h[(0, 1)][cell, cell]  # (c,1) -> (c,0)
        )
        np.testing.assert_allclose(loop, t**4 * np.exp(-2j * np.pi * p / q), atol=1e-12)


def test_lowest_landau_level_of_the_square_lattice() -> None:
    """E_0 = -4|t| + (ħω_c/2)(1 - πφ/4 + O(φ²)), ħω_c = ħ e B/m*, m* = ħ²/(2|t|a²).

    The -πφ/4 (φ = flux per cell in Φ0) is first-order perturbation theory in the quartic
    band term -|t| a⁴(k_x⁴ + k_y⁴)/12 in the lowest Landau level; B comes from the flux.
    """
    t, a, q = -1.0, 1.5, 400
    model = square_lattice(t, a)
    energies = np.linalg.eigvalsh(ff.magnetic_supercell(model, 1, q).hamiltonian([[0.0, 0.0]]))
    field = ff._field_tesla(model, 1, q)
    assert field == pytest.approx(sc.h / sc.e / q / (a * sc.angstrom) ** 2, rel=1e-12)
    m_star = sc.hbar**2 / (2 * abs(t) * sc.eV * (a * sc.angstrom) ** 2)
    hbar_omega = sc.hbar * sc.e * field / m_star / sc.eV
    ratio = (energies.min() + 4 * abs(t)) / (hbar_omega / 2)
    assert ratio == pytest.approx(1 - np.pi / (4 * q), abs=1e-4)  # O(φ²) ~ 6e-5


def test_berry_phase_polarization_of_an_atomic_insulator_is_minus_e_tau_over_area() -> None:
    """One electron on an isolated orbital at fractional τ: P·b1 = -(e/A) 2π τ1 (mod 2πe/A)."""
    tau = (0.3, 0.6)
    lattice = np.array([[2.0, 0.0], [0.7, 1.8]])
    model = qgmag.TightBindingModel(lattice, [tau, (0.8, 0.1)], onsite=[-1.0, 1.0])
    area = abs(np.linalg.det(lattice)) * sc.angstrom**2
    quantum = 2 * np.pi * sc.e / area * sc.angstrom  # C/m per (1/Å)
    value, n_occ = ff.polarization(model, 0.0, 0, 1, (4, 2))
    assert n_occ == 1
    expected = -sc.e / area * 2 * np.pi * tau[0] * sc.angstrom
    assert np.remainder(value - expected + quantum / 2, quantum) - quantum / 2 == pytest.approx(
        0.0, abs=1e-9 * quantum
    )


# -- (a) orbital magnetization -----------------------------------------------------------------

HALDANE_PHASES = {
    # Chern insulator, C = -1: gap (-0.42, 0.42) eV
    "chern": (dict(t2=0.1, phi=np.pi / 2, mass=0.1), (-1.0, 0.2, 1.0)),
    # trivial insulator, C = 0: gap (-0.50, 0.20) eV
    "trivial": (dict(t2=0.1, phi=np.pi / 3, mass=0.8), (-1.0, -0.15, 1.0)),
}


@pytest.mark.parametrize("phase", sorted(HALDANE_PHASES))
def test_orbital_magnetization_equals_minus_dOmega_dB(phase: str) -> None:
    """M_z = -dΩ/dB at fixed μ, T from Hofstadter spectra equals Eq. (5), sign included.

    μ in the valence band, the gap and the conduction band. In the gap T = 0 and 1000 K;
    in the bands 1000 K, which damps de Haas–van Alphen oscillations at flux ≤ 3/240
    (ħω_c ≲ 0.15 eV) far below 1e-3 (at T = 0 a metal's Ω(B) oscillates).
    """
    params, mus = HALDANE_PHASES[phase]
    model = qgmag.models.haldane(**params)
    temps = [0.0, 1000.0]
    with pytest.warns(QgmagWarning, match="inside a band"):
        finite = ff.orbital_magnetization(model, mus, temps, q=240, p_max=3, kmesh=(240, 2))
    geometric = qgmag.compute(
        model, "orbital_magnetization", mu=mus, temperature=temps, kmesh=(240, 240)
    )
    ref = geometric.orbital_magnetization.sel(i="z").values  # (mu, T), A
    checked = [(1, 0), (1, 1), (0, 1), (2, 1)]  # (mu, T): gap at 0 and 1000 K, bands at 1000 K
    for m_index, t_index in checked:
        value = finite.value[m_index, t_index]
        assert abs(ref[m_index, t_index]) > 1e-7  # a few 1e-3 μ_B per cell: not a trivial zero
        assert value == pytest.approx(ref[m_index, t_index], rel=1e-3), (m_index, t_index)
    assert finite.units == "A"
    per_cell = geometric.orbital_magnetization_per_cell.sel(i="z").values  # μ_B per cell
    for m_index, t_index in checked:
        assert finite.value_per_cell[m_index, t_index] == pytest.approx(
            per_cell[m_index, t_index], rel=1e-3
        )


# -- (b) magnetoelectric response ----------------------------------------------------------------


def test_magnetoelectric_alpha_equals_dP_dB_sign_included() -> None:
    """α_zj (Eq. 9 with the F of qgmag) = dP_j/dB_z from Berry phases in B (Maxwell relation).

    The model (C = 0, T, P and C3 broken) is rotated so that both α_zx and α_zy are non-zero.
    This fixes the sign of F: the literal Eq. (10) gives the opposite sign (SPEC §2).
    """
    model = anisotropic_haldane(angle=0.5)
    mu = -0.2  # gap (-0.59, 0.24) eV
    finite = ff.magnetoelectric(model, mu, q=240, p_max=4, kmesh=(480, 2))
    geometric = qgmag.compute(
        model, "kinetic_orbital_intrinsic", mu=mu, temperature=0.0, kmesh=(200, 200)
    )
    ref = geometric.kinetic_orbital_intrinsic.sel(i="z", j=["x", "y"]).values[0, 0]  # A·m/V
    assert np.all(np.abs(ref) > 1e-17)
    np.testing.assert_allclose(finite.value, ref, rtol=1e-3)
    assert np.all(finite.error < 1e-3 * np.abs(ref))
    assert finite.units == "A*m/V"
    assert finite.parameters["occupied_per_supercell"] == 240


# -- input validation ------------------------------------------------------------------------


def test_inputs_are_validated() -> None:
    model = qgmag.models.haldane(t2=0.1, mass=0.1)
    with pytest.raises(QgmagError, match="multiple of q"):
        ff.orbital_magnetization(model, 0.2, q=20, kmesh=(30, 4))
    with pytest.raises(QgmagError, match="p_max"):
        ff.orbital_magnetization(model, 0.2, q=20, p_max=5, kmesh=(20, 4))
    with pytest.raises(QgmagError, match="temperature"):
        ff.orbital_magnetization(model, 0.2, -1.0, q=20, kmesh=(20, 4))
    with pytest.raises(QgmagError, match="2D"):
        cubic = qgmag.TightBindingModel(np.eye(3), [[0, 0, 0]], [(0, 0, (1, 0, 0), 1.0)])
        ff.orbital_magnetization(cubic, 0.0, q=20, kmesh=(20, 4))
    with pytest.raises(QgmagError, match="TightBindingModel"):
        ff.magnetic_supercell("haldane", 1, 5)  # type: ignore[arg-type]
    with pytest.raises(QgmagError, match="not in a gap"):
        ff.magnetoelectric(model, 1.0, q=20, p_max=1, kmesh=(40, 2))
    with pytest.raises(QgmagError, match="Chern number"):
        ff.magnetoelectric(model, 0.2, q=20, p_max=1, kmesh=(40, 2))


# -- slow: convergence beyond the default settings -------------------------------------------


@pytest.mark.slow
def test_magnetoelectric_converges_with_smaller_fields_and_does_not_depend_on_mu_in_gap() -> None:
    """At q = 360 the finite-field α agrees to 2e-4, for any μ in the gap (C = 0)."""
    model = anisotropic_haldane(angle=-0.3, t1=(1.0, 1.2, 1.4))
    geometric = qgmag.compute(
        model, "kinetic_orbital_intrinsic", mu=[-0.3, 0.0], temperature=0.0, kmesh=(240, 240)
    )
    ref = geometric.kinetic_orbital_intrinsic.sel(i="z", j=["x", "y"]).values[:, 0]
    np.testing.assert_allclose(ref[0], ref[1], rtol=1e-9)
    for mu in (-0.3, 0.0):
        finite = ff.magnetoelectric(model, mu, q=360, p_max=4, kmesh=(720, 1))
        np.testing.assert_allclose(finite.value, ref[0], rtol=2e-4)


@pytest.mark.slow
def test_orbital_magnetization_of_the_anisotropic_model_at_room_temperature() -> None:
    """Deep in the bands 300 K already suffices; in the gap T = 0 (C = 0, T, P, C3 broken)."""
    model = anisotropic_haldane(angle=0.2)
    mus, temps = [-1.5, -0.2, 1.5], [0.0, 300.0]
    with pytest.warns(QgmagWarning):
        finite = ff.orbital_magnetization(model, mus, temps, q=360, kmesh=(360, 2))
    ref = qgmag.compute(
        model, "orbital_magnetization", mu=mus, temperature=temps, kmesh=(300, 300)
    ).orbital_magnetization.sel(i="z")
    for m_index, t_index in [(0, 1), (1, 0), (1, 1), (2, 1)]:
        assert finite.value[m_index, t_index] == pytest.approx(
            ref.values[m_index, t_index], rel=1e-3
        )
