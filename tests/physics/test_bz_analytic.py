"""Integrated observables against closed forms derived independently of qgmag's code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants as sc
from scipy import integrate

import qgmag

MU_B = sc.physical_constants["Bohr magneton"][0]


def edelstein_closed_form(alpha_ev_a: float, mass_ratio: float, tau_fs: float, g_s: float) -> float:
    """Edelstein response α_yx of the Rashba 2DEG with both spin bands occupied (T = 0).

    H = ħ²k²/2m + α(σ_x k_y − σ_y k_x) = ħ²k²/2m + α k (σ·n), n = (sin φ, −cos φ).
    Bands E± = ħ²k²/2m ± αk with <S/ħ>± = ±n/2 and v± = (1/ħ) dE±/dk k̂.
    Eq. (6): α_yx = −g_s e τ μ_B Σ± ∫ d²k/(2π)² <S_y/ħ>± v±,x f0'(E±), f0' = −δ(E − μ):
      Σ± ∫ k dk dφ/(2π)² (−δ(E± − μ)) (∓cos φ/2)(v± cos φ)
        = Σ± (±1/2) π k± v± / (|dE±/dk| (2π)²) = Σ± ± k±/(8πħ) = (k+ − k−)/(8πħ),
    and at equal μ > 0 the Fermi wave vectors differ by k+ − k− = −2αm/ħ².
    So α_yx = g_s e τ μ_B α m / (4π ħ³), independent of μ; α_xy = −α_yx.
    """
    alpha = alpha_ev_a * sc.eV * sc.angstrom
    mass = mass_ratio * sc.m_e
    return g_s * sc.e * tau_fs * 1e-15 * MU_B * alpha * mass / (4 * np.pi * sc.hbar**3)


@pytest.mark.parametrize("mu", [0.3, 0.6, 1.0])
def test_rashba_edelstein_matches_closed_form_and_is_mu_independent(mu: float) -> None:
    alpha, mass, tau = 0.5, 1.0, 10.0
    model = qgmag.models.rashba(alpha=alpha, effective_mass=mass, k_max=1.0)
    res = qgmag.compute(
        model,
        "kinetic_spin_extrinsic",
        mu=mu,
        kmesh=(1600, 64),
        tau=tau,
        smearing=("gaussian", 0.02),
    )
    expected = edelstein_closed_form(alpha, mass, tau, 2.0)
    a = res.kinetic_spin_extrinsic.isel(mu=0, temperature=0)
    assert a.sel(i="y", j="x").item() == pytest.approx(expected, rel=1e-3)
    assert a.sel(i="x", j="y").item() == pytest.approx(-expected, rel=1e-3)
    assert abs(a.sel(i="z", j="x").item()) < 1e-6 * expected
    assert res.kinetic_spin_extrinsic.attrs["units"] == "ampere * meter / volt"


def test_massive_dirac_orbital_magnetization_in_gap_matches_quadrature() -> None:
    """M^O_z at T = 0, μ in the gap: ∫_disk [m_v + (e/ħ)(μ − ε_v) Ω_v] d²k/(2π)², done with
    scipy.integrate.quad from the SPEC closed forms (ε_v = −d, Ω_v = +m v²/2d³,
    m_v = −e m v²/(2ħ d²))."""
    v, m, kmax, mu = 2.0, 0.3, 0.8, 0.1
    model = qgmag.models.massive_dirac(v=v, m=m, k_max=kmax)
    res = qgmag.compute(model, "orbital_magnetization", mu=mu, kmesh=(200, 8))

    def integrand(k: float) -> float:
        d = np.hypot(v * k, m)
        moment = -m * v**2 / (2 * d**2)  # in units of e/ħ · eV·Å²
        itinerant = (mu + d) * m * v**2 / (2 * d**3)
        return (moment + itinerant) * k / (2 * np.pi)  # ∫ dφ k dk / (2π)²

    value, _ = integrate.quad(integrand, 0.0, kmax, epsabs=0, epsrel=1e-13)
    expected = sc.e / sc.hbar * sc.eV * value  # (e/ħ) eV·Å² / Å² -> A
    got = res.orbital_magnetization.sel(i="z").item()
    assert got == pytest.approx(expected, rel=1e-10)
    assert res.orbital_magnetization.attrs["units"] == "ampere"
    # the two terms are reported separately and add up
    total = (res.orbital_magnetization_local + res.orbital_magnetization_itinerant).sel(i="z")
    assert total.item() == pytest.approx(got, rel=1e-12)
