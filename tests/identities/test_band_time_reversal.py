"""Time reversal at k and -k for T-symmetric models (Kane–Mele without exchange, BHZ).

Θ = i s_y K maps the Bloch state of band n at k onto the same band at -k (E_n(k) = E_n(-k)).
T-odd quantities flip sign, T-even ones do not: Ω_n, m_n, <S>_n, Φ_n and F_n are odd (the
latter two because their Fermi-sea integrals are forbidden in a T-symmetric crystal), g_n
is even, and therefore ∂g_n is odd. Where bands are degenerate at k the relation holds for
the degenerate-set sums. Turning on the exchange field must violate it.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag

ODD = (
    "berry_curvature",
    "orbital_moment",
    "spin",
    "spin_berry_curvature",
    "magnetoelectric_tensor",
    "metric_dipole",
)
EVEN = ("energy", "quantum_metric")


def t_symmetric_perturbation(model: qgmag.TightBindingModel, seed: int, size: float = 0.2):
    """model + X + Θ X Θ^-1 on site (X random Hermitian, Θ = i s_y K, spin-fastest basis):
    keeps time reversal, breaks every crystal symmetry (BHZ's C2z·T forces Ω ≡ 0)."""
    rng = np.random.default_rng(seed)
    n = model.n_bands
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    x = size * (x + x.conj().T) / 4
    theta = np.kron(np.eye(n // 2), [[0, 1], [-1, 0]])
    extra = x + theta @ x.conj() @ theta.T
    mats = np.array(model.hopping_matrices)
    mats[np.flatnonzero(~model.hopping_vectors.any(axis=1))[0]] += extra
    return qgmag.TightBindingModel.from_arrays(
        model.lattice, model.positions, model.hopping_vectors, mats, spin=model.spin
    )


MODELS = {
    "kane_mele_rashba": lambda: qgmag.models.kane_mele(lambda_r=0.08, mass=0.1),
    "bhz": lambda: qgmag.models.bhz(),
    "bhz_bia": lambda: qgmag.models.bhz(D=0.1, bia=0.2),
    "bhz_low_symmetry": lambda: t_symmetric_perturbation(qgmag.models.bhz(bia=0.1), seed=9),
}


def pair_sums(values: np.ndarray, energy: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Sum (k, band, ...) values over degenerate sets, written back on every band of the set."""
    out = values.copy()
    for ik in range(energy.shape[0]):
        start = 0
        for n in range(1, energy.shape[1] + 1):
            if n == energy.shape[1] or energy[ik, n] - energy[ik, n - 1] > tol:
                out[ik, start:n] = values[ik, start:n].sum(axis=0)
                start = n
    return out


def geometry_at_pm_k(model, n_k: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    k = rng.uniform(0, 1, size=(n_k, 2)) @ model.reciprocal_lattice
    names = list(ODD + EVEN)
    return (
        qgmag.band_geometry(model, k, quantities=names),
        qgmag.band_geometry(model, -k, quantities=names),
    )


@pytest.mark.parametrize("name", list(MODELS))
def test_t_odd_quantities_flip_and_t_even_ones_do_not(name: str) -> None:
    plus, minus = geometry_at_pm_k(MODELS[name]())
    energy = plus.energy.values
    np.testing.assert_allclose(minus.energy.values, energy, rtol=0, atol=1e-12)
    for quantity, parity in [(q, -1) for q in ODD] + [(q, 1) for q in EVEN[1:]]:
        a = pair_sums(plus[quantity].values, energy)
        b = pair_sums(minus[quantity].values, energy)
        # absolute floor for quantities that vanish by a crystal symmetry (C2z·T in BHZ)
        atol = 1e-9 * np.abs(plus[quantity].values).max() + 1e-11
        np.testing.assert_allclose(b, parity * a, rtol=0, atol=atol, err_msg=quantity)


def test_low_symmetry_models_test_something() -> None:
    """The checks above are not vacuous: Ω, m and Φ are sizeable at generic k."""
    for name in ("kane_mele_rashba", "bhz_low_symmetry"):
        plus, _ = geometry_at_pm_k(MODELS[name]())
        energy = plus.energy.values
        assert np.diff(energy, axis=1).min() > 1e-3  # no degeneracy: per-band statement
        for quantity in ("berry_curvature", "orbital_moment", "spin_berry_curvature"):
            assert np.abs(plus[quantity].values).max() > 1e-3, (name, quantity)


def test_exchange_field_breaks_the_relation() -> None:
    plus, minus = geometry_at_pm_k(qgmag.models.kane_mele(lambda_r=0.08, mass=0.1, exchange=0.1))
    omega_p = plus.berry_curvature.sel(i="z").values
    omega_m = minus.berry_curvature.sel(i="z").values
    assert np.abs(omega_p + omega_m).max() > 1e-2 * np.abs(omega_p).max()
    assert np.abs(plus.energy.values - minus.energy.values).max() > 1e-3
