"""Integrands, prefactors and terms of the second-order (E²) kinetic magnetization.

δM_i = Σ_jk χ_ijk E_j E_k, χ symmetric in (j, k), split by powers of the relaxation time
τ (docs/observables/kinetic_spin_second_order.md). One engine serves every operator O
(spin S, orbital moment m, velocity v); for a band-diagonal O_n:

* τ²  Σ_n O_n f2_n,  f2 = (eτ/ħ)² E_jE_k ∂_j∂_k f0(ε_n)
      = (eτ/ħ)² E_jE_k [f0'' Tr_D[O V^j V^k] + f0' Tr_D[O M^{jk}]]  (Boltzmann, Drude);
* τ¹  Σ_n f1_n α^O_n·E,  f1 = (eτ/ħ)(E·V_n) f0',  α^O_n the first-order field-induced
      <O>_n (e Φ_n for spin, e F_n for orbital, e Ω_n for velocity);
* τ⁰  Σ_n [f0 ∂_λ ε^(2)_n + f0' ε^(2)_n O_n]  for H -> H + λO (Hellmann–Feynman:
      <O> = ∂Ω/∂λ with the field-corrected band energy ε + ε^(2)), the Fermi-sea and
      Fermi-surface parts (spin). For a filled-band insulator this is the exact static E²
      response (checked against finite ribbons, qgmag.validation.second_order_field). For
      the orbital moment τ⁰ is -∂_B of the isothermal contour polarizability
      (qgmag.geometry.second_order_orbital): its f0 weight is the sea, its f0'…f0^(5)
      weights the surface (Σ f0' ε^(2) m is among them, not added again).

Integrands return (N, n, 3·d·d) arrays (i-major, then j, k over the model's directions),
in native units; each Term's factor converts to SI (A·m/V² in 3D, A·m²/V² in 2D).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qgmag import constants as c
from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry import second_order as so
from qgmag.geometry.roundoff import guard_weight
from qgmag.geometry.second_order_orbital import MAX_DERIVATIVE, orbital_sea_weights
from qgmag.models.base import FloatArray


def rank3(t: FloatArray, dim: int) -> FloatArray:
    """(3, 3, 3, N, n) -> (N, n, 3·dim·dim), field indices restricted to the model's."""
    t = t[:, :dim, :dim]
    return np.moveaxis(t, (0, 1, 2), (2, 3, 4)).reshape(t.shape[3], t.shape[4], -1)


def _memo(bands: BandData, key: str, fn: Callable[[], object]) -> object:
    """Cache a per-chunk intermediate on the BandData (shared by several terms)."""
    store = bands.__dict__.setdefault("_second_order_cache", {})
    if key not in store:
        store[key] = fn()
    return store[key]


def _operator(bands: BandData, kind: str) -> np.ndarray:
    return _memo(bands, f"op:{kind}", lambda: so.operator_matrix(bands, kind))  # type: ignore[return-value]


def _drude(bands: BandData, kind: str) -> tuple[FloatArray, FloatArray]:
    return _memo(  # type: ignore[return-value]
        bands, f"drude:{kind}", lambda: so.drude_traces(bands, _operator(bands, kind))
    )


def _guard(x: FloatArray, bands: BandData, what: str, p: int, spin: bool = False) -> FloatArray:
    """The shared round-off guard (:mod:`qgmag.geometry.roundoff`) on a weight ∝ |V|^p
    (|S| too for ``spin``) over powers of band gaps; returns ``x`` unchanged."""
    op = _operator(bands, "spin") if spin else None
    return guard_weight(x, bands, what, p, op, 1 if spin else 0)


def _curvature_matrix(bands: BandData) -> np.ndarray:
    return _memo(bands, "omega", lambda: so.berry_curvature_matrix(bands))  # type: ignore[return-value]


# --- spin -------------------------------------------------------------------------------


def spin_drude_vv(bands: BandData) -> FloatArray:
    """Tr_D[S_i V^j V^k] (eV²·Å²), weight of f0''."""
    return rank3(_drude(bands, "spin")[0], bands.dim)


def spin_drude_mass(bands: BandData) -> FloatArray:
    """Tr_D[S_i M^{jk}] (eV·Å²), weight of f0' (M the non-Abelian inverse mass)."""
    x = rank3(_drude(bands, "spin")[1], bands.dim)
    return _guard(x, bands, "kinetic_spin_second_order (tau^2)", 2, spin=True)


def spin_dipole(bands: BandData) -> FloatArray:
    """½(v^j Φ^{ik} + v^k Φ^{ij})_n (Å²), weight of f0' (dipole of the ASP e Φ), as the set
    trace ½ Re Tr_D[V^j Φ^{ik} + V^k Φ^{ij}] with Φ's set matrix (gauge invariant inside
    degenerate sets, :func:`~qgmag.geometry.second_order.dipole_weight_covariant`)."""
    x = rank3(so.dipole_weight_covariant(bands, _operator(bands, "spin")), bands.dim)
    return _guard(x, bands, "kinetic_spin_second_order (tau^1)", 2, spin=True)


def spin_sea(bands: BandData) -> FloatArray:
    """∂g3^{jk}_n/∂λ_i for H + λ S_i (Å²/eV²), weight of f0 (τ⁰ Fermi sea)."""
    x = rank3(so.bcp_field_derivative(bands, _operator(bands, "spin")), bands.dim)
    return _guard(x, bands, "kinetic_spin_second_order (tau^0 sea)", 2, spin=True)


def spin_surface(bands: BandData) -> FloatArray:
    """Tr_D[S_i Y^{jk}] (Å²/eV), weight of f0' (τ⁰ Fermi surface, <S>_n ε^(2)_n)."""
    x = rank3(so.bcp_operator_trace(bands, _operator(bands, "spin")), bands.dim)
    return _guard(x, bands, "kinetic_spin_second_order (tau^0 surface)", 2, spin=True)


# --- orbital ----------------------------------------------------------------------------


def orbital_drude_local_vv(bands: BandData) -> FloatArray:
    """Tr_D[m_i V^j V^k]/(e/ħ) (eV³·Å⁴), weight of f0''."""
    x = rank3(_drude(bands, "orbital")[0], bands.dim)
    return _guard(x, bands, "kinetic_orbital_second_order (tau^2)", 4)


def orbital_drude_local_mass(bands: BandData) -> FloatArray:
    """Tr_D[m_i M^{jk}]/(e/ħ) (eV²·Å⁴), weight of f0'."""
    x = rank3(_drude(bands, "orbital")[1], bands.dim)
    return _guard(x, bands, "kinetic_orbital_second_order (tau^2)", 4)


def _itinerant(bands: BandData) -> tuple[FloatArray, FloatArray]:
    return _memo(  # type: ignore[return-value]
        bands, "drude:omega", lambda: so.drude_traces(bands, _curvature_matrix(bands))
    )


def orbital_drude_itinerant_vv(bands: BandData) -> FloatArray:
    """Tr_D[Ω_i V^j V^k] (eV²·Å⁴), weight of (μ - ε) f0'' (itinerant τ² term)."""
    x = rank3(_itinerant(bands)[0], bands.dim)
    return _guard(x, bands, "kinetic_orbital_second_order (tau^2)", 4)


def orbital_drude_itinerant_mass(bands: BandData) -> FloatArray:
    """Tr_D[Ω_i M^{jk}] (eV·Å⁴), weight of (μ - ε) f0' (itinerant τ² term)."""
    x = rank3(_itinerant(bands)[1], bands.dim)
    return _guard(x, bands, "kinetic_orbital_second_order (tau^2)", 4)


def orbital_dipole(bands: BandData) -> FloatArray:
    """½(v^j F^{ik} + v^k F^{ij})_n/(e/ħ) (eV·Å⁴), weight of f0' (F physical sign), as the
    set trace ½ Re Tr_D[V^j F^{ik} + V^k F^{ij}] with F's set matrix (gauge invariant inside
    degenerate sets, :func:`~qgmag.geometry.magnetoelectric.magnetoelectric_set_blocks`)."""
    from qgmag.geometry.magnetoelectric import magnetoelectric_set_blocks

    if bands.degenerate_partners:
        f = magnetoelectric_set_blocks(bands)
        x = rank3(so.dipole_weight_of_matrix(bands, f), bands.dim)
    else:  # no sets: the per-band product
        x = rank3(so.dipole_weight(bands, q.magnetoelectric_tensor_native(bands)), bands.dim)
    return _guard(x, bands, "kinetic_orbital_second_order (tau^1)", 4)


def _sea_weights(bands: BandData) -> FloatArray:
    return _memo(bands, "orbital_sea", lambda: orbital_sea_weights(bands))  # type: ignore[return-value]


def orbital_sea_weight(order: int) -> Callable[[BandData], FloatArray]:
    """X^{(r),i,jk}_n (Å⁴/eV^{1-r}), weight of f0^(r) for r = ``order`` (τ⁰ Fermi sea:
    -(ħ/e) ∂_B of the band polarizability ½∮ f Tr[G V G³ V], exact Laurent coefficients,
    :mod:`qgmag.geometry.second_order_orbital`); δM = +(e/ħ) e² E E Σ_r Σ f0^(r) X^(r)."""

    def integrand(bands: BandData) -> FloatArray:
        return rank3(_sea_weights(bands)[order], bands.dim)

    integrand.__name__ = f"orbital_sea_{SEA_KERNELS[order]}"
    return integrand


#: kernels f0, f0', ..., f0^(5) of the orbital τ⁰ sea (poles of order ≤ 6)
SEA_KERNELS = ("f0", "df0", "d2f0", "d3f0", "d4f0", "d5f0")[: MAX_DERIVATIVE + 1]


def orbital_tau0_part(order: int) -> str:
    """Term name of the f0^(r) weight of the orbital τ⁰: r = 0 is the Fermi sea
    ("tau0_sea"), r ≥ 1 the Fermi surface ("tau0_surface_df0", ...); their sum is the whole
    τ⁰ (the B-derivative of the contour polarizability already holds Σ f0' ε^(2) m)."""
    return "tau0_sea" if order == 0 else f"tau0_surface_{SEA_KERNELS[order]}"


# --- velocity (nonlinear current; cross-check of the engine) -----------------------------


def velocity_drude_vv(bands: BandData) -> FloatArray:
    """Tr_D[V_i V^j V^k] (eV³·Å³), weight of f0''."""
    return rank3(_drude(bands, "velocity")[0], bands.dim)


def velocity_drude_mass(bands: BandData) -> FloatArray:
    """Tr_D[V_i M^{jk}] (eV²·Å³), weight of f0'."""
    x = rank3(_drude(bands, "velocity")[1], bands.dim)
    return _guard(x, bands, "nonlinear_current_second_order (tau^2)", 3)


def velocity_dipole(bands: BandData) -> FloatArray:
    """½(v^j Ω^{ik} + v^k Ω^{ij})_n (eV·Å³), weight of f0' (Berry-curvature dipole), as the
    set trace with Ω's set matrix (gauge invariant inside degenerate sets)."""
    x = rank3(so.dipole_weight_covariant(bands, _operator(bands, "velocity")), bands.dim)
    return _guard(x, bands, "nonlinear_current_second_order (tau^1)", 3)


# --- prefactors -------------------------------------------------------------------------


def _per_volume(dim: int) -> float:
    return c.ANGSTROM ** (-dim)


def _e_tau_over_hbar(tau_fs: float) -> float:
    """eτ/ħ in 1/V per (V/m)·m: multiplies E (V/m) times a k-gradient (m)."""
    return c.ELEMENTARY_CHARGE * tau_fs * c.FEMTOSECOND / c.HBAR


_E_OVER_EV = c.ELEMENTARY_CHARGE / c.EV  # e/eV = 1/V


def spin_factor(power: int) -> Callable[..., float]:
    """SI prefactor of the τ^power spin term (A·m/V² in 3D): -g_s μ_B × ..."""

    def factor(p: object) -> float:
        base = -p.g_s * c.BOHR_MAGNETON * c.ANGSTROM**2 * _per_volume(p.dim)  # type: ignore[attr-defined]
        if power == 2:
            return base * _e_tau_over_hbar(p.tau_fs) ** 2  # type: ignore[attr-defined]
        if power == 1:
            return base * _e_tau_over_hbar(p.tau_fs) * _E_OVER_EV  # type: ignore[attr-defined]
        return base * _E_OVER_EV**2

    return factor


def orbital_factor(power: int) -> Callable[..., float]:
    """SI prefactor of the τ^power orbital term: (e/ħ)·eV·Å² per volume × ..."""

    def factor(p: object) -> float:
        base = c.ELEMENTARY_CHARGE / c.HBAR * c.EV * c.ANGSTROM**4 * _per_volume(p.dim)  # type: ignore[attr-defined]
        if power == 2:
            return base * _e_tau_over_hbar(p.tau_fs) ** 2  # type: ignore[attr-defined]
        if power == 1:  # (eτ/ħ)(Å) × e (e/ħ) F Å³
            return (
                _e_tau_over_hbar(p.tau_fs)  # type: ignore[attr-defined]
                * c.E2_OVER_HBAR
                * c.ANGSTROM**4
                * _per_volume(p.dim)  # type: ignore[attr-defined]
            )
        return base * _E_OVER_EV**2

    return factor


def current_factor(power: int) -> Callable[..., float]:
    """SI prefactor of the τ^power nonlinear current j = -e <V>/ħ (A/V² in 3D)."""

    def factor(p: object) -> float:
        base = -c.ELEMENTARY_CHARGE / c.HBAR * c.EV * c.ANGSTROM**3 * _per_volume(p.dim)  # type: ignore[attr-defined]
        if power == 2:
            return base * _e_tau_over_hbar(p.tau_fs) ** 2  # type: ignore[attr-defined]
        return base * _e_tau_over_hbar(p.tau_fs) * _E_OVER_EV  # type: ignore[attr-defined]

    return factor


def per_cell_second_order(volume_si: float) -> float:
    """SI χ × cell volume -> Bohr magnetons per cell per (V/nm)²."""
    return volume_si / c.BOHR_MAGNETON / c.NANOMETER**2


def _units(three_d: str, two_d: str) -> Callable[[int], str]:
    return lambda dim: three_d if dim == 3 else two_d


SECOND_ORDER_PARTS = ("tau2", "tau1", "tau0", "tau0_sea", "tau0_surface")
#: what is checked of the orbital τ⁰ term (docs/observables/kinetic_orbital_second_order.md)
ORBITAL_TAU0_SCOPE = (
    "tau^0 is the exact B-derivative of the isothermal band polarizability "
    "(1/2)∮f Tr[G V G^3 V] at any mu and T (checked against magnetic supercells, insulators "
    "and metals): its f0 weight is the Fermi sea, its f0'...f0^(5) weights the Fermi "
    "surface (docs page: how this metal tau^0 differs from the spin one)"
)


def second_order_observables(observable: type, term: type) -> list[object]:
    """The E² observables, built with the registry's Observable and Term classes."""
    per_cell = (per_cell_second_order, "bohr_magneton / (volt / nanometer)**2")
    mag_units = _units("ampere * meter / volt**2", "ampere * meter**2 / volt**2")
    spin = observable(
        "kinetic_spin_second_order",
        "E² kinetic spin magnetization δM_i = χ_ijk E_j E_k, χ = τ²(Drude) + τ(ASP dipole) "
        "+ τ⁰(Fermi sea + Fermi surface), M^S = -g_s μ_B <S>/ħ",
        "E2_NOTES §0-§1; docs/observables/kinetic_spin_second_order.md",
        "rank3",
        (
            term("tau2_vv", spin_drude_vv, "d2f0", spin_factor(2), True),
            term("tau2_mass", spin_drude_mass, "df0", spin_factor(2), True, guarded=True),
            term("tau1", spin_dipole, "df0", spin_factor(1), guarded=True),
            term("tau0_sea", spin_sea, "f0", spin_factor(0), guarded=True),
            term("tau0_surface", spin_surface, "df0", spin_factor(0), guarded=True),
        ),
        mag_units,
        per_cell,
        needs_spin=True,
        extra_outputs=SECOND_ORDER_PARTS,
    )
    orbital = observable(
        "kinetic_orbital_second_order",
        "E² kinetic orbital magnetization δM_i = χ_ijk E_j E_k: τ² (Drude, local + itinerant), "
        "τ (dipole of F) and τ⁰ (-∂_B of the E² free energy: Fermi sea + Fermi surface); "
        + ORBITAL_TAU0_SCOPE,
        "E2_NOTES §1; docs/observables/kinetic_orbital_second_order.md",
        "rank3",
        (
            term(
                "tau2_local_vv",
                orbital_drude_local_vv,
                "d2f0",
                orbital_factor(2),
                True,
                guarded=True,
            ),
            term(
                "tau2_local_mass",
                orbital_drude_local_mass,
                "df0",
                orbital_factor(2),
                True,
                guarded=True,
            ),
            term(
                "tau2_itinerant_vv",
                orbital_drude_itinerant_vv,
                "x_d2f0",
                orbital_factor(2),
                True,
                guarded=True,
            ),
            term(
                "tau2_itinerant_mass",
                orbital_drude_itinerant_mass,
                "x_df0",
                orbital_factor(2),
                True,
                guarded=True,
            ),
            term("tau1", orbital_dipole, "df0", orbital_factor(1), True, guarded=True),
            *(
                term(
                    orbital_tau0_part(r),
                    orbital_sea_weight(r),
                    kern,
                    orbital_factor(0),
                    True,
                    guarded=True,
                )
                for r, kern in enumerate(SEA_KERNELS)
            ),
        ),
        mag_units,
        per_cell,
        extra_outputs=SECOND_ORDER_PARTS,
    )
    current = observable(
        "nonlinear_current_second_order",
        "E² current j_i = χ_ijk E_j E_k from the same engine with O = velocity: τ² nonlinear "
        "Drude + τ Berry-curvature dipole (the thermodynamic τ⁰ current vanishes identically)",
        "docs/observables/kinetic_spin_second_order.md (engine)",
        "rank3",
        (
            term("tau2_vv", velocity_drude_vv, "d2f0", current_factor(2), True),
            term("tau2_mass", velocity_drude_mass, "df0", current_factor(2), True, guarded=True),
            term("tau1", velocity_dipole, "df0", current_factor(1), guarded=True),
        ),
        _units("ampere / volt**2", "ampere * meter / volt**2"),
        None,
        extra_outputs=("tau2", "tau1"),
    )
    return [spin, orbital, current]
