"""Finite-field cross-check: orbital magnetization and magnetoelectric response from B.

Independent of the geometric formulas of :mod:`qgmag.geometry`: a uniform field B_z is
put on a 2D tight-binding model by Peierls substitution in magnetic supercells of q
primitive cells (flux p/q flux quanta Φ0 = h/e per cell), the supercell spectrum is
diagonalized exactly, and

- the orbital magnetization is M_z = -dΩ/dB_z at fixed μ and T (Ω the grand potential
  per area), from Ω at fluxes ±1/q, ±2/q, ... (:func:`orbital_magnetization`);
- for an insulator with Chern number C = 0, the polarization P(B_z) is the Berry phase of
  the occupied supercell bands, and dP_j/dB_z = dM_z/dE_j = α_zj, the intrinsic orbital
  magnetoelectric response (:func:`magnetoelectric`); both are second derivatives of one
  free energy.

Conventions (SPEC §1): electron charge -e, t_ij(R) = <i,0|H|j,R>, atomic-gauge Bloch
phases. The Peierls phase of t_ij(R) is exp(i (-e/ħ) ∫ A·dl) along the straight line from
the source orbital r_j = R + τ_j to the destination r_i = τ_i, with the Landau gauge
A·dr = Φ s1 ds2 in fractional coordinates r = s1 a1 + s2 a2 (Φ = (p/q) Φ0, B_z =
Φ / det(a1, a2)). A site-diagonal gauge transformation makes the hoppings strictly
periodic in the supercell q a1 × a2. See docs/finite_field.md.

Units: energies eV, lengths Å, B in T; M in A (2D), α in A·m/V, P in C/m.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qgmag import constants as c
from qgmag.errors import QgmagError, QgmagWarning
from qgmag.models.tight_binding import TightBindingModel
from qgmag.validation.peierls import (
    FLUX_QUANTUM_T_A2,  # noqa: F401 - public constant, re-exported
    _check_flux,
    _check_model,
    _chunks,
    _field_tesla,
    _kmesh_cartesian,
    _swap_axes,
    magnetic_supercell,
)

__all__ = [
    "FiniteFieldResult",
    "magnetic_supercell",
    "magnetoelectric",
    "orbital_magnetization",
    "polarization",
]

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class FiniteFieldResult:
    """Result of a finite-field extrapolation to B -> 0.

    Attributes
    ----------
    value : the extrapolated derivative: M_z in A (:func:`orbital_magnetization`) or
        (α_zx, α_zy) in A·m/V (:func:`magnetoelectric`).
    error : estimate of the extrapolation error of ``value`` (same units): the change
        when the largest flux is left out of the fit.
    units : pint-parsable units of ``value``.
    fluxes : (n_flux,) flux per primitive cell in units of Φ0 = h/e (p/q).
    fields : (n_flux,) B_z in T for each flux (per supercell axis for magnetoelectric).
    data : per-flux data: Ω per area in eV/Å² (magnetization), or P·b_j in C/m times
        the reciprocal vector length scale (see :func:`magnetoelectric`).
    fit : odd-polynomial coefficients [c1, c3, ...] of the antisymmetric part of ``data``
        in powers of B (T); ``value`` is -c1 (magnetization) or the c1 combination (α).
    parameters : the inputs (mu, temperature, q, kmesh, ...).
    """

    value: float | np.ndarray
    error: float | np.ndarray
    units: str
    fluxes: np.ndarray
    fields: np.ndarray
    data: np.ndarray
    fit: np.ndarray
    parameters: dict[str, object] = field(default_factory=dict)

    @property
    def value_per_cell(self) -> float | np.ndarray:
        """For the magnetization: M_z per primitive cell in Bohr magnetons."""
        area = float(self.parameters["cell_area_angstrom2"])  # type: ignore[arg-type]
        if self.units != "A":
            raise QgmagError("value_per_cell is defined for the orbital magnetization only.")
        return self.value * area * c.ANGSTROM**2 / c.BOHR_MAGNETON


# -- validation --------------------------------------------------------------------------------


def _progress(progress: bool | ProgressCallback | None, label: str) -> ProgressCallback | None:
    if progress is True:
        from qgmag.progress import RichProgress

        return RichProgress(label)
    if progress in (None, False):
        return None
    if not callable(progress):
        raise QgmagError("progress must be True, False/None or a callable(done, total).")
    return progress


def _close(callback: ProgressCallback | None) -> None:
    close = getattr(callback, "close", None)
    if close is not None:
        close()


# -- (a) grand potential and magnetization -----------------------------------------------------


def _grand_potential_density(energies: np.ndarray, mu: float, temperature: float) -> np.ndarray:
    """Σ_n ω(ε_n) in eV: (ε-μ)θ(μ-ε) at T = 0, -k_BT ln(1 + e^{-(ε-μ)/k_BT}) at T > 0."""
    x = energies - mu
    if temperature == 0.0:
        return np.sum(np.where(x < 0.0, x, 0.0), axis=-1)
    kt = c.thermal_energy_ev(temperature)
    return -kt * np.sum(np.logaddexp(0.0, -x / kt), axis=-1)


def _supercell_energies(model: TightBindingModel, p: int, q: int, m1: int, m2: int) -> np.ndarray:
    """Eigenvalues (m1·m2, q·n_orb) in eV of the flux-p/q supercell on its (m1, m2) k-mesh."""
    sc = magnetic_supercell(model, p, q)
    k = _kmesh_cartesian(sc.lattice, m1, m2).reshape(-1, 2)
    return np.concatenate(
        [np.linalg.eigvalsh(sc.hamiltonian(k[part])) for part in _chunks(len(k), sc.n_bands**2)]
    )


def grand_potential(
    energies: np.ndarray, mu: np.ndarray, temperature: np.ndarray, area: float
) -> np.ndarray:
    """Grand potential per area Ω (eV/Å²) of a k-mesh of eigenvalues, shape (n_mu, n_T).

    ``energies`` (N_k, n_bands) in eV of a cell of ``area`` Å² sampled on N_k points:
    Ω = Σ_{k,n} ω(ε_nk) / (N_k area), ω = (ε-μ)θ(μ-ε) at T = 0 and
    -k_BT ln(1 + e^{-(ε-μ)/k_BT}) at T > 0 (spinless: one state per band).
    """
    eps = energies.ravel()
    out = np.empty((len(mu), len(temperature)))
    for t_index, temp in enumerate(temperature):
        for m_index, chem in enumerate(mu):
            out[m_index, t_index] = np.sum(_grand_potential_density(eps, chem, float(temp)))
    return out / (energies.shape[0] * area)


def _band_ranges(model: TightBindingModel, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest energy (eV) of each band on an n × n mesh of the primitive cell."""
    recip = 2.0 * np.pi * np.linalg.inv(model.lattice).T
    f = np.stack(np.meshgrid(*(np.arange(n) / n,) * 2, indexing="ij"), axis=-1).reshape(-1, 2)
    energies = np.linalg.eigvalsh(model.hamiltonian(f @ recip))
    return energies.min(axis=0), energies.max(axis=0)


def _in_bands(model: TightBindingModel, mu: np.ndarray) -> list[float]:
    """The μ values (eV) that lie inside some band (not in a gap)."""
    low, high = _band_ranges(model)
    return [float(m) for m in mu if np.any((low <= m) & (m <= high))]


def _metal_warning(model: TightBindingModel, mu: np.ndarray, temperature: np.ndarray) -> None:
    """Warn when some μ lies inside a band at T = 0 (de Haas–van Alphen oscillations)."""
    if not np.any(temperature == 0.0):
        return
    inside = _in_bands(model, mu)
    if inside:
        warnings.warn(
            f"mu = {inside} eV lies inside a band: at T = 0, Ω(B) oscillates (de Haas–van "
            "Alphen) and -dΩ/dB is not the B -> 0 magnetization; use a temperature that washes "
            "the oscillations out (k_BT well above the level spacing at flux 1/q).",
            QgmagWarning,
            stacklevel=3,
        )


def _odd_fit(fields: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit the antisymmetric part of values(B) on ±B pairs by c1 B + c3 B³ + ...

    ``fields``/``values`` hold B = 0 first then ±B pairs. Returns the coefficients of the
    full (interpolating) fit and those of the fit without the largest |B|, for an error
    estimate. ``values`` may carry trailing axes.
    """
    order = np.argsort(np.abs(fields), kind="stable")
    b_pos = np.array([fields[i] for i in order if fields[i] > 0])
    odd = []
    for b in b_pos:
        plus = int(np.flatnonzero(np.isclose(fields, b))[0])
        minus = int(np.flatnonzero(np.isclose(fields, -b))[0])
        odd.append(0.5 * (values[plus] - values[minus]))
    odd_arr = np.array(odd)
    powers = 2 * np.arange(len(b_pos)) + 1
    full = np.linalg.solve(b_pos[:, None] ** powers[None], odd_arr.reshape(len(b_pos), -1))
    if len(b_pos) > 1:
        small = b_pos[:-1, None] ** powers[None, :-1]
        reduced = np.linalg.solve(small, odd_arr[:-1].reshape(len(b_pos) - 1, -1))
    else:
        reduced = np.zeros_like(full)
    shape = values.shape[1:]
    return full.reshape(len(b_pos), *shape), reduced.reshape(max(len(b_pos) - 1, 1), *shape)


def orbital_magnetization(
    model: TightBindingModel,
    mu: float | Sequence[float],
    temperature: float | Sequence[float] = 0.0,
    *,
    q: int = 240,
    p_max: int = 3,
    kmesh: Sequence[int] | None = None,
    progress: bool | ProgressCallback | None = None,
) -> FiniteFieldResult:
    """Orbital magnetization M_z = -dΩ/dB_z (A) of a 2D model from its exact spectrum in B.

    Ω(B) (grand potential per area at fixed μ in eV and T in K) is computed at fluxes
    p/q Φ0 per cell for p = 0, ±1, ..., ±p_max on a torus of ``kmesh`` = (L1, L2)
    primitive cells (L1 a multiple of q; the supercell k-mesh is (L1/q, L2); default
    (q, 4): at p ≠ 0 magnetic translations make each transverse k2 stand for q/gcd(p, q)
    of them, and Ω(0) does not enter the odd fit). The
    antisymmetric part (Ω(B) - Ω(-B))/2 = -M B + c3 B³ + ... is fitted exactly by odd
    powers (Richardson extrapolation). ``mu`` and ``temperature`` may be lists: the
    spectra are computed once and ``value`` then has shape (n_mu, n_T).

    At T = 0 use μ in a gap: in a band, Ω(B) has de Haas–van Alphen oscillations and the
    slope is not the B -> 0 magnetization (a QgmagWarning says so); use T > 0 such that
    k_BT is well above the level spacing at flux 1/q. Only the orbital (Peierls) coupling
    is included, no Zeeman term. ``result.value_per_cell`` gives μ_B per cell.
    """
    model = _check_model(model)
    scalar = np.ndim(mu) == 0 and np.ndim(temperature) == 0
    mus = np.atleast_1d(np.asarray(mu, dtype=float))
    temps = np.atleast_1d(np.asarray(temperature, dtype=float))
    if mus.ndim != 1 or not np.all(np.isfinite(mus)):
        raise QgmagError(f"mu must be a finite energy or a 1D list of energies in eV; got {mu!r}.")
    if temps.ndim != 1 or not np.all(np.isfinite(temps) & (temps >= 0.0)):
        raise QgmagError(f"temperature must be >= 0 K (a number or 1D list); got {temperature!r}.")
    q, p_max, m1, m2 = _check_flux(q, p_max, (q, 4) if kmesh is None else kmesh)
    _metal_warning(model, mus, temps)
    ps = [0] + [s * p for p in range(1, p_max + 1) for s in (1, -1)]
    callback = _progress(progress, "fluxes")
    omegas = []
    try:
        for done, p in enumerate(ps):
            energies = _supercell_energies(model, p, q, m1, m2)
            omegas.append(grand_potential(energies, mus, temps, q * model.cell_volume))
            if callback is not None:
                callback(done + 1, len(ps))
    finally:
        _close(callback)
    fields = np.array([_field_tesla(model, p, q) for p in ps])
    omega = np.array(omegas)  # (n_flux, n_mu, n_T)
    full, reduced = _odd_fit(fields, omega)
    to_si = c.EV / c.ANGSTROM**2  # eV/(Å² T) -> A
    value = -full[0] * to_si
    error = np.abs(full[0] - reduced[0]) * to_si
    return FiniteFieldResult(
        value=float(value[0, 0]) if scalar else value,
        error=float(error[0, 0]) if scalar else error,
        units="A",
        fluxes=np.array(ps) / q,
        fields=fields,
        data=omega[:, 0, 0] if scalar else omega,
        fit=full[:, 0, 0] if scalar else full,
        parameters={
            "mu_eV": mus.tolist(),
            "temperature_K": temps.tolist(),
            "q": q,
            "p_max": p_max,
            "kmesh": (m1 * q, m2),
            "cell_area_angstrom2": model.cell_volume,
            "data_units": "eV/angstrom**2",
        },
    )


# -- (b) Berry-phase polarization and magnetoelectric response ---------------------------------


def _wilson_phases(occ: np.ndarray, close: np.ndarray, step: int) -> np.ndarray:
    """Berry phases -Σ Im ln det <u_k|u_{k+step·Δ}> of the ``step`` interleaved loops.

    ``occ`` (m1, m2, N, n_occ) occupied states on the loop points k_0..k_{m1-1}; the loop
    is closed with u_{k+G} = close · u_k. Returns (step, m2) phases (mod 2π).
    """
    out = []
    for start in range(step):
        states = occ[start::step]
        nxt = np.concatenate([states[1:], close[None, None, :, None] * states[:1]], axis=0)
        overlaps = np.einsum("abim,abin->abmn", states.conj(), nxt, optimize=True)
        sign, _ = np.linalg.slogdet(overlaps)
        out.append(-np.sum(np.angle(sign), axis=0))
    return np.array(out)


def _berry_phase_supercell(sc: TightBindingModel, mu: float, m1: int, m2: int) -> tuple[float, int]:
    """Total Berry phase γ1 of the states below μ along the supercell's first reciprocal
    vector, averaged over the m2 transverse k-points, and the number of occupied bands.

    γ = -Σ_links Im ln det <u_k|u_{k+Δ}> with atomic-gauge cell-periodic states; the loop is
    closed with u_{k+G} = diag(e^{-iG·τ}) u_k. Its discretization error is O(Δ²); for even
    m1 the loops of step 2Δ give the Richardson value (4 γ_Δ - γ_2Δ)/3, error O(Δ⁴).
    γ(k2) is unwrapped along k2 before averaging.
    """
    k = _kmesh_cartesian(sc.lattice, m1, m2)  # (m1, m2, 2)
    recip = 2.0 * np.pi * np.linalg.inv(sc.lattice).T
    tau = sc.positions @ sc.lattice  # Cartesian (N, 2)
    close = np.exp(-1j * (tau @ recip[0]))  # (N,)
    n_occ: int | None = None
    gammas = np.empty(m2)
    for part in _chunks(m2, m1 * sc.n_bands**2):
        kp = k[:, part].reshape(-1, 2)
        energies, vectors = np.linalg.eigh(sc.hamiltonian(kp))
        counts = np.count_nonzero(energies < mu, axis=1)
        if counts.min() != counts.max() or (n_occ is not None and counts[0] != n_occ):
            raise QgmagError(
                f"mu = {mu} eV is not in a gap of the supercell spectrum (the number of states "
                "below mu varies with k); the Berry-phase polarization needs an insulator."
            )
        n_occ = int(counts[0])
        if n_occ == 0:
            raise QgmagError(f"no states below mu = {mu} eV; choose mu in a gap above a band.")
        occ = vectors[:, :, :n_occ].reshape(m1, -1, sc.n_bands, n_occ)
        gamma = _wilson_phases(occ, close, 1)[0]
        if m1 % 2 == 0:
            coarse = _wilson_phases(occ, close, 2)
            coarse = gamma + np.angle(np.exp(1j * (coarse - gamma)))  # same branch as gamma
            gamma = (4.0 * gamma - np.mean(coarse, axis=0)) / 3.0
        gammas[part] = gamma
    gammas = np.unwrap(gammas)
    return float(np.mean(gammas)), int(n_occ)  # type: ignore[arg-type]


def polarization(
    model: TightBindingModel,
    mu: float,
    p: int,
    q: int,
    kmesh: Sequence[int],
) -> tuple[float, int]:
    """P·b1 in C/m·Å⁻¹ (b1 in 1/Å) of the states below μ (eV) at flux p/q per cell.

    Uses the q a1 × a2 magnetic supercell on a torus of ``kmesh`` = (L1, L2) primitive
    cells (L1 a multiple of q): P·b1 = -(e/A_cell) γ1 with γ1 the total Berry phase of the
    occupied supercell bands along B1 = b1/q (averaged over k2); defined modulo the
    quantum 2π e/A_cell. Returns (P·b1, number of occupied supercell bands).
    """
    model = _check_model(model)
    l1, l2 = (int(x) for x in kmesh)
    if l1 % q or l1 < q or l2 < 1:
        raise QgmagError(f"kmesh=(L1, L2) needs L1 a positive multiple of q={q}; got {kmesh!r}.")
    sc = magnetic_supercell(model, p, q)
    gamma, n_occ = _berry_phase_supercell(sc, mu, l1 // q, l2)
    return -c.ELEMENTARY_CHARGE * gamma / model.cell_volume / c.ANGSTROM, n_occ


def magnetoelectric(
    model: TightBindingModel,
    mu: float,
    *,
    q: int = 240,
    p_max: int = 4,
    kmesh: Sequence[int] | None = None,
    progress: bool | ProgressCallback | None = None,
) -> FiniteFieldResult:
    """α_zx, α_zy = dP_x/dB_z, dP_y/dB_z (A·m/V) of a 2D insulator with Chern number 0.

    P(B) is the Berry-phase polarization of the states below μ (μ in the gap, eV), charge
    -e: P = (1/2π) Σ_j (P·b_j) a_j with P·b_j = -(e/A) γ_j, γ_j the Berry phase of the
    occupied bands of the magnetic supercell q a_j along its short reciprocal vector b_j/q,
    so that the polarization quantum stays 2π e/A while P changes by O(1/q) per flux step.
    ``kmesh`` = (L_par, L_perp): each supercell is sampled on a torus of L_par primitive
    cells along its axis (a multiple of q; an even multiple enables the O(Δk⁴) Wilson
    loop) and L_perp across; default (2q, 2). The transverse sampling hardly matters at
    p ≠ 0 (magnetic translations) and P(0) does not enter the odd fit. The odd part of
    P·b_j in B over p = ±1..±p_max is fitted exactly (Richardson). By the Maxwell
    relation dP_j/dB_z = dM_z/dE_j this equals ``kinetic_orbital_intrinsic`` α_zj;
    ``value`` is (α_zx, α_zy).

    Raises QgmagError if μ is not in a gap or if the number of occupied states changes with
    flux (C ≠ 0, Streda): P(B) is then not a function of B alone.
    """
    model = _check_model(model)
    mu = float(mu)
    if not np.isfinite(mu):
        raise QgmagError(f"mu must be a finite energy in eV (in the gap); got {mu}.")
    if _in_bands(model, np.array([mu])):
        raise QgmagError(
            f"mu = {mu} eV is not in a gap of the band structure; the Berry-phase polarization "
            "P(B) needs an insulator: put mu in the gap."
        )
    q, p_max, m_par, l_perp = _check_flux(q, p_max, (2 * q, 2) if kmesh is None else kmesh)
    mesh = (m_par * q, l_perp)
    ps = [0] + [s * p for p in range(1, p_max + 1) for s in (1, -1)]
    callback = _progress(progress, "fluxes")
    data = np.empty((len(ps), 2))
    fields = np.empty((len(ps), 2))
    n_occ: set[int] = set()
    try:
        done = 0
        for axis, base in enumerate((model, _swap_axes(model))):
            for row, p in enumerate(ps):
                data[row, axis], occ = polarization(base, mu, p, q, mesh)
                fields[row, axis] = _field_tesla(base, p, q)
                n_occ.add(occ)
                done += 1
                if callback is not None:
                    callback(done, 2 * len(ps))
    finally:
        _close(callback)
    if len(n_occ) != 1:
        raise QgmagError(
            f"the number of states below mu = {mu} eV changes with the flux ({sorted(n_occ)} per "
            "supercell): the insulator has a non-zero Chern number (Streda), and dP/dB is not "
            "defined; the magnetoelectric check needs C = 0."
        )
    quantum = 2.0 * np.pi * c.ELEMENTARY_CHARGE / model.cell_volume / c.ANGSTROM
    slopes, errors, fits = [], [], []
    for axis in range(2):
        values = data[:, axis]
        # unwrap P·b_j continuously in B, outwards from B = 0 for each sign of p
        for sign in (1, -1):
            prev = values[0]
            for p in range(1, p_max + 1):
                row = ps.index(sign * p)
                values[row] -= quantum * np.round((values[row] - prev) / quantum)
                prev = values[row]
        full, reduced = _odd_fit(fields[:, axis], values)
        slopes.append(float(full[0]))
        errors.append(abs(float(full[0] - reduced[0])))
        fits.append(full)
    # P = (1/2π) Σ_j (P·b_j) a_j (a_j in Å, P·b_j in C/m/Å): α = dP/dB_z in (C/m)/T = A·m/V
    value = (np.array(slopes) @ model.lattice) / (2.0 * np.pi)
    error = (np.array(errors) @ np.abs(model.lattice)) / (2.0 * np.pi)
    return FiniteFieldResult(
        value=value,
        error=error,
        units="A*m/V",
        fluxes=np.array(ps) / q,
        fields=fields,
        data=data,
        fit=np.array(fits),
        parameters={
            "mu_eV": mu,
            "q": q,
            "p_max": p_max,
            "kmesh": mesh,
            "cell_area_angstrom2": model.cell_volume,
            "data_units": "C/m/angstrom (P·b_j with b_j in 1/angstrom)",
            "occupied_per_supercell": n_occ.pop(),
        },
    )
