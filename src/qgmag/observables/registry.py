"""The observables of SPEC §3: integrand + occupation kernel + prefactor + units.

An :class:`Observable` is a sum of :class:`Term` s; a term is an integrand of band data
(:mod:`qgmag.observables.integrands`), the occupation kernel it is weighted with
("f0", "df0" or "grand", :mod:`qgmag.occupation`) and a constant factor to SI. The
integration driver knows nothing about any particular observable: adding one is adding
an entry to :data:`OBSERVABLES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qgmag import constants as c
from qgmag.observables import integrands as ig

Integrand = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Term:
    """One contribution: Σ_n ∫[dk] integrand · kernel, times ``factor`` (to SI).

    ``factor`` may depend on the run's parameters (tau in fs, g_s, dim): it is a callable
    of a :class:`Parameters`.
    """

    name: str
    integrand: Integrand
    kernel: str
    factor: Callable[[Parameters], float]
    needs_second_derivatives: bool = False
    #: the integrand takes ``broadening`` (eV): it is evaluated once per distinct
    #: broadening of the run (k_B T, or the smearing width at T = 0)
    broadened: bool = False
    #: the integrand is a band weight with inverse powers of band gaps, checked per k by
    #: :mod:`qgmag.geometry.roundoff`: the integration also accumulates its round-off
    #: estimate Σ_k w_k Σ_n |K_n| ε_mach κ(k) |X_n(k)| (reported as ``<name>_roundoff``)
    guarded: bool = False


@dataclass(frozen=True)
class Parameters:
    """Run parameters a prefactor may need."""

    dim: int
    tau_fs: float
    g_s: float


@dataclass(frozen=True)
class Observable:
    """A Brillouin-zone integrated observable (SPEC §3)."""

    name: str
    description: str
    equation: str
    shape: str  # "vector" (i), "tensor" (i, j), "rank3" (i, j, k) or "scalar"
    terms: tuple[Term, ...]
    units: Callable[[int], str]
    per_cell: tuple[Callable[[int], float], str] | None = None  # SI -> per-cell factor(V_cell)
    needs_spin: bool = False
    only_2d: bool = False
    extra_outputs: tuple[str, ...] = field(default_factory=tuple)
    warning: str | None = None  # a QgmagWarning issued whenever the observable is computed


def _length_si(dim: int) -> float:
    """(1 Å)^(-d) in m^(-d): converts ∫[dk] (1/Å^d) to SI."""
    return c.ANGSTROM ** (-dim)


def _magnetization_units(dim: int) -> str:
    return "ampere / meter" if dim == 3 else "ampere"


def _kinetic_units(dim: int) -> str:
    return "ampere / volt" if dim == 3 else "ampere * meter / volt"


def _per_cell_magnetization(volume_si: float) -> float:
    """SI magnetization × cell volume (m^d) -> Bohr magnetons per cell."""
    return volume_si / c.BOHR_MAGNETON


def _per_cell_kinetic(volume_si: float) -> float:
    """SI α × cell volume -> Bohr magnetons per cell per (V/nm)."""
    return volume_si / c.BOHR_MAGNETON / c.NANOMETER


# --- prefactors (native integral -> SI) -------------------------------------------------
# Native integrals are Σ_n ∫[dk] X·kernel with X in the integrand's units, [dk] in 1/Å^d,
# f0' in 1/eV, G in eV.


def _spin_mag(p: Parameters) -> float:
    # M = -g_s μ_B ∫ <S/ħ> f0
    return -p.g_s * c.BOHR_MAGNETON * _length_si(p.dim)


def _orbital(p: Parameters) -> float:
    # (e/ħ) × eV·Å² -> A m²; per volume
    return c.ELEMENTARY_CHARGE / c.HBAR * c.EV * c.ANGSTROM**2 * _length_si(p.dim)


def _ahc(p: Parameters) -> float:
    if p.dim == 3:  # -(e²/ħ) Å²/Å³ -> S/m -> S/cm
        return -c.E2_OVER_HBAR / c.ANGSTROM / 100.0
    return -2.0 * np.pi  # -(e²/ħ) ∫Ω f / (e²/h) = -2π ∫[dk] Ω f


def _chern(p: Parameters) -> float:
    return 2.0 * np.pi


def _spin_ext(p: Parameters) -> float:
    # -(g_s e τ μ_B/ħ) ∫ <S/ħ> (V/ħ) f0' : (eV·Å)(1/eV) = Å -> Å^(1-d)
    return (
        -p.g_s
        * c.ELEMENTARY_CHARGE
        * p.tau_fs
        * c.FEMTOSECOND
        * c.BOHR_MAGNETON
        / c.HBAR
        * c.ANGSTROM
        * _length_si(p.dim)
    )


def _spin_int(p: Parameters) -> float:
    # -(g_s e μ_B) ∫ Φ f0 with Φ in Å/eV (S in units of ħ)
    return -p.g_s * c.ELEMENTARY_CHARGE * c.BOHR_MAGNETON * c.ANGSTROM / c.EV * _length_si(p.dim)


def _orbital_ext(p: Parameters) -> float:
    # e τ (e/ħ)(1/ħ) ∫ Tr[M V] f0' : eV²Å³ / eV = eV·Å³
    return (
        c.ELEMENTARY_CHARGE**2
        * p.tau_fs
        * c.FEMTOSECOND
        / c.HBAR**2
        * c.EV
        * c.ANGSTROM**3
        * _length_si(p.dim)
    )


def _orbital_int(p: Parameters) -> float:
    # e (e/ħ) ∫ F f0 with F/(e/ħ) in Å³
    return c.E2_OVER_HBAR * c.ANGSTROM**3 * _length_si(p.dim)


def _orbital_int_by_parts(p: Parameters) -> float:
    # same, integrand in eV·Å³ times f0' in 1/eV
    return _orbital_int(p)


OBSERVABLES: dict[str, Observable] = {}


def _register(obs: Observable) -> None:
    OBSERVABLES[obs.name] = obs


_register(
    Observable(
        "spin_magnetization",
        "spin magnetization M^S_i = -(g_s μ_B/ħ) Σ_n ∫[dk] <S_i>_n f0",
        "Eq. (1)",
        "vector",
        (Term("total", ig.spin_expectation, "f0", _spin_mag),),
        _magnetization_units,
        (_per_cell_magnetization, "bohr_magneton"),
        needs_spin=True,
    )
)
_register(
    Observable(
        "orbital_magnetization",
        "orbital magnetization M^O_i = Σ_n ∫[dk] [m_n f0 + (e/ħβ) Ω_n ln(1 + e^{-β(ε_n-μ)})]",
        "Eq. (5)",
        "vector",
        (
            Term("local", ig.orbital_moment, "f0", _orbital),
            Term("itinerant", ig.berry_curvature, "grand", _orbital),
        ),
        _magnetization_units,
        (_per_cell_magnetization, "bohr_magneton"),
        extra_outputs=("local", "itinerant"),
    )
)
_register(
    Observable(
        "anomalous_hall_conductivity",
        "anomalous Hall conductivity σ^c = σ_ab = -(e²/ħ) Σ_n ∫[dk] Ω^{ab}_n f0, (a,b,c) cyclic; "
        "j_a = σ_ab E_b",
        "-",
        "vector",
        (Term("total", ig.berry_curvature, "f0", _ahc),),
        lambda d: "siemens / centimeter" if d == 3 else "elementary_charge**2 / planck_constant",
    )
)
_register(
    Observable(
        "chern_number",
        "Chern number C = (1/2π) Σ_n ∫ d²k Ω^z_n f0 (integer in a gap at T = 0)",
        "-",
        "scalar",
        (Term("total", ig.berry_curvature, "f0", _chern),),
        lambda d: "dimensionless",
        only_2d=True,
    )
)
_register(
    Observable(
        "kinetic_spin_extrinsic",
        "extrinsic (Edelstein) kinetic spin magnetization α_ij = -(g_s e τ μ_B/ħ) Σ_n ∫[dk] "
        "Tr_D[S_i v_j] f0'",
        "Eq. (6)",
        "tensor",
        (Term("total", ig.spin_velocity, "df0", _spin_ext),),
        _kinetic_units,
        (_per_cell_kinetic, "bohr_magneton / (volt / nanometer)"),
        needs_spin=True,
    )
)
_register(
    Observable(
        "kinetic_spin_intrinsic",
        "intrinsic kinetic spin magnetization α_ij = -(g_s e μ_B/ħ) Σ_n ∫[dk] Φ^{ij}_n f0",
        "Eq. (7)",
        "tensor",
        (Term("total", ig.spin_berry_curvature, "f0", _spin_int, broadened=True, guarded=True),),
        _kinetic_units,
        (_per_cell_kinetic, "bohr_magneton / (volt / nanometer)"),
        needs_spin=True,
    )
)
_register(
    Observable(
        "kinetic_orbital_extrinsic",
        "extrinsic (orbital Edelstein) kinetic orbital magnetization α_ij = e τ Σ_n ∫[dk] "
        "Tr_D[m_i v_j] f0'",
        "Eq. (8)",
        "tensor",
        (Term("total", ig.orbital_moment_velocity, "df0", _orbital_ext),),
        _kinetic_units,
        (_per_cell_kinetic, "bohr_magneton / (volt / nanometer)"),
    )
)
_register(
    Observable(
        "kinetic_orbital_intrinsic",
        "intrinsic kinetic orbital magnetization α_ij = e Σ_n ∫[dk] F^{ij}_n f0 (physical sign)",
        "Eqs. (9)-(10)",
        "tensor",
        (
            Term(
                "total",
                ig.magnetoelectric_analytic,
                "f0",
                _orbital_int,
                needs_second_derivatives=True,
                guarded=True,
            ),
        ),
        _kinetic_units,
        (_per_cell_kinetic, "bohr_magneton / (volt / nanometer)"),
    )
)

#: the metric-dipole term of F moved onto the occupation (SPEC §2): same observable
KINETIC_ORBITAL_INTRINSIC_BY_PARTS = (
    Term("interband", ig.magnetoelectric_interband, "f0", _orbital_int, guarded=True),
    Term("metric_dipole", ig.magnetoelectric_dipole_by_parts, "df0", _orbital_int_by_parts),
)

# E² (second-order) kinetic magnetization and current: src/qgmag/observables/second_order.py
from qgmag.observables.second_order import second_order_observables  # noqa: E402

for _obs in second_order_observables(Observable, Term):
    _register(_obs)  # type: ignore[arg-type]
