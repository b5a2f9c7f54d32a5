"""One k-chunk of a Brillouin-zone integration: the unit of work of every backend.

:func:`integrate_chunk` is a pure function of (model, plan, chunk bounds) returning an
additive :class:`PartialSums`; serial runs, process pools, Dask clusters and resumed runs
are all the same reduction ``sum(integrate_chunk(...) for each chunk)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.constants import BOLTZMANN_EV
from qgmag.geometry.roundoff import EPS, conditioning
from qgmag.kspace.mesh import Mesh, chunk_bounds
from qgmag.models.base import Model
from qgmag.observables.integrands import supports_band_window
from qgmag.observables.registry import Term
from qgmag.occupation import TAIL_CUTOFF, Smearing, occupation_kernel

#: key of the statistics used to judge the smearing against the mesh
FERMI_STEP_KEY = ("__stats__", "fermi_surface_step")
#: smallest half-width (eV) of the energy window of the Fermi-step statistics
FERMI_STEP_WINDOW = 0.1
#: key of the count of states whose partner is split by less than the broadening
QUASI_DEGENERATE_KEY = ("__stats__", "quasi_degenerate")
#: suffix of the term name under which a guarded term's round-off estimate is summed
ROUNDOFF_SUFFIX = "#roundoff"


def roundoff_key(observable: str, term: str) -> tuple[str, str]:
    """PartialSums key of the round-off estimate of a guarded term (:func:`integrate_chunk`)."""
    return (observable, term + ROUNDOFF_SUFFIX)


@dataclass(frozen=True)
class IntegrationPlan:
    """Everything a worker needs besides the model (picklable, immutable)."""

    mesh: Mesh
    terms: tuple[tuple[str, Term], ...]  # (observable name, term)
    mu: tuple[float, ...]
    temperature: tuple[float, ...]
    smearing: Smearing | None
    degeneracy_tol: float
    chunk_size: int
    gauge_seed: int | None = None  # testing: rotate degenerate sets by random unitaries
    band_window: bool = True  # per-band work only for bands that can contribute (exact)
    separable_sums: bool = True  # Bloch sums along uniform-mesh lines where faster (same sums)
    integration: Any = None  # None: point mesh; a TetrahedronRule: its f0' weights

    @property
    def chunk_bounds(self) -> list[tuple[int, int]]:
        """(start, stop) mesh-point ranges of the chunks, in order."""
        return chunk_bounds(self.mesh.n_points, self.chunk_size)

    @property
    def need_second_derivatives(self) -> bool:
        return any(t.needs_second_derivatives for _, t in self.terms)

    @property
    def broadenings(self) -> tuple[float, ...]:
        """The broadening (eV) of each temperature: k_B T for T > 0, else the smearing width
        (0 without smearing); it sets the switch of quasi-degenerate pairs."""
        width = self.smearing.width if self.smearing is not None else 0.0
        return tuple(BOLTZMANN_EV * t if t > 0 else width for t in self.temperature)

    @property
    def kernels(self) -> tuple[str, ...]:
        return tuple(sorted({t.kernel for _, t in self.terms}))

    @property
    def fermi_surface_window(self) -> tuple[float, float] | None:
        """(lo, hi) eV outside which f0' (the ``df0`` kernel) is exactly zero, for the
        Fermi-surface terms of a run whose :attr:`energy_window` is None because another
        integrand needs every band as a row (e.g. the F tensor of
        ``kinetic_orbital_intrinsic``): their row-band integrands then run on the rows in
        this window only (:meth:`BandData.row_subset`). None when not applicable."""
        if self.integration is not None or not self.band_window or self.energy_window:
            return None
        margin = self.kernel_margin
        return (min(self.mu) - margin, max(self.mu) + margin)

    @property
    def kernel_margin(self) -> float:
        """eV beyond every μ where f0' is exactly zero: TAIL_CUTOFF widths of the largest
        broadening, at least the Fermi-step statistics window."""
        smear = self.smearing.width if self.smearing is not None else 0.0
        width = max(BOLTZMANN_EV * t if t > 0 else smear for t in self.temperature)
        return max(TAIL_CUTOFF * width, FERMI_STEP_WINDOW)

    @property
    def energy_window(self) -> tuple[float, float] | None:
        """(lo, hi) eV outside which every kernel of the plan is exactly zero, or None.

        Smeared and Fermi–Dirac kernels take their exact step limits beyond TAIL_CUTOFF
        widths of every μ (:func:`qgmag.occupation.occupation_kernel`): states above
        max μ + margin have f0 = G = f0' = 0, states below min μ - margin have f0' = 0,
        so dropping them changes the sums only by round-off. The margin also covers the
        Fermi-step statistics window (>= 0.1 eV). None (no window) when disabled or when
        some integrand needs every band as a row.
        """
        if self.integration is not None:
            return None  # tetrahedron weights reach bands beyond the kernel margins
        if not self.band_window or not all(
            supports_band_window(t.integrand) for _, t in self.terms
        ):
            return None
        margin = self.kernel_margin
        fermi_sea = any(k in ("f0", "grand") for k in self.kernels)
        lo = -np.inf if fermi_sea else min(self.mu) - margin
        return (lo, max(self.mu) + margin)


@dataclass
class PartialSums:
    """Additive partial integrals: key (observable, term) -> (n_mu, n_T, C) array.

    Guarded terms (``Term.guarded``) also carry their round-off estimate under
    :func:`roundoff_key` (additive like the values, same shape)."""

    sums: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    n_points: int = 0

    def __add__(self, other: PartialSums) -> PartialSums:
        if not isinstance(other, PartialSums):
            return NotImplemented
        keys = set(self.sums) | set(other.sums)
        out = {}
        for key in keys:
            a, b = self.sums.get(key), other.sums.get(key)
            out[key] = a + b if a is not None and b is not None else (a if b is None else b).copy()
        return PartialSums(out, self.n_points + other.n_points)

    def __radd__(self, other: object) -> PartialSums:
        if other == 0:  # support sum()
            return self
        return NotImplemented  # type: ignore[return-value]


def integrate_chunk(model: Model, plan: IntegrationPlan, start: int, stop: int) -> PartialSums:
    """Σ_k w_k Σ_n X_n(k) K(ε_n(k); μ, T) over mesh points [start, stop) for every term.

    For a guarded term (a weight with inverse powers of band gaps, ``Term.guarded``) also
    the round-off estimate Σ_k w_k Σ_n |K(ε_n; μ, T)| ε_mach κ(k) max_C |X_n,C(k)| (κ the
    conditioning of :mod:`qgmag.geometry.roundoff`; the same for every component C),
    under :func:`roundoff_key`: the per-k error that the round-off guard bounds,
    integrated without cancellation.
    """
    k, w = plan.mesh.chunk(start, stop)
    bands = BandData(
        model,
        k,
        degeneracy_tol=plan.degeneracy_tol,
        need_second_derivatives=plan.need_second_derivatives,
        gauge_rotation=(
            None if plan.gauge_seed is None else np.random.default_rng([plan.gauge_seed, start])
        ),
        energy_window=plan.energy_window,
        mesh_range=(plan.mesh, start, stop) if plan.separable_sums else None,
    )
    n_k, n_b = bands.row_energy.shape
    mu = np.asarray(plan.mu)
    temp = np.asarray(plan.temperature)
    shape = (len(mu), len(temp))
    rule = plan.integration
    # Fermi-surface row-band terms of a run without a band window: on the rows where f0'
    # can be nonzero only (f0' = 0 exactly on the others, so the sums are the same)
    fs_window = plan.fermi_surface_window
    surface = bands.row_subset(fs_window) if fs_window is not None else bands

    def on_surface(term: Term) -> bool:
        return (
            surface is not bands
            and term.kernel == "df0"
            and not term.broadened
            and supports_band_window(term.integrand)
        )

    used = {("df0_rows" if on_surface(t) else t.kernel) for _, t in plan.terms}
    kernels = {}
    for name in used:
        if name == "df0" and rule is not None:
            continue
        sel = surface if name == "df0_rows" else bands
        energy = sel.row_energy.ravel()
        base = "df0" if name == "df0_rows" else name
        kernels[name] = occupation_kernel(energy, mu, temp, base, plan.smearing).reshape(
            energy.size, -1
        )
    if rule is not None and "df0" in plan.kernels:  # weights include the k-point weights
        kernels["tetra"] = rule.df0(start, stop, bands.rows).reshape(n_k * n_b, -1)
    cache: dict[object, np.ndarray] = {}
    sums: dict[tuple[str, str], np.ndarray] = {}
    by_kernel: dict[str, list[tuple[tuple[str, str], np.ndarray]]] = {}
    by_kernel_abs: dict[str, list[tuple[tuple[str, str], np.ndarray]]] = {}
    n_components: dict[tuple[str, str], int] = {}
    for obs_name, term in plan.terms:
        if term.broadened:
            value, estimate = _broadened_sum(bands, plan, term, kernels, w, cache)
            sums[(obs_name, term.name)] = value
            if estimate is not None:
                sums[roundoff_key(obs_name, term.name)] = estimate
            continue
        rows = on_surface(term)
        sel = surface if rows else bands
        x = cache.get((term.integrand, rows))
        if x is None:
            x = term.integrand(sel)
            cache[(term.integrand, rows)] = x
        size = x.shape[0] * x.shape[1]
        tetra = term.kernel == "df0" and rule is not None
        if tetra:  # the tetrahedron weights include the k-point weights
            key, xw = "tetra", x.reshape(size, -1)
        else:
            key = "df0_rows" if rows else term.kernel
            xw = (x * w[:, None, None]).reshape(size, -1)
        by_kernel.setdefault(key, []).append(((obs_name, term.name), xw))
        if term.guarded:
            est = roundoff_key(obs_name, term.name)
            scale = EPS * conditioning(sel) * (1.0 if tetra else w)  # (N,)
            by_kernel_abs.setdefault(key, []).append((est, _roundoff_weight(x, scale)))
            n_components[est] = x.shape[2]
    # one pass over each kernel matrix K for the values, one over |K| for the estimates
    for absolute, group in ((False, by_kernel), (True, by_kernel_abs)):
        for key, items in group.items():
            kernel = np.abs(kernels[key]) if absolute else kernels[key]
            xs = [xw for _, xw in items]
            kw = kernel.T @ (xs[0] if len(xs) == 1 else np.concatenate(xs, axis=1))
            col = 0
            for name, xw in items:
                block = kw[:, col : col + xw.shape[1]]
                if absolute:  # one estimate for every component of the term
                    block = np.repeat(block, n_components[name], axis=1)
                sums[name] = block.reshape(*shape, -1)
                col += xw.shape[1]
    if "df0" in plan.kernels and rule is None:
        sums[FERMI_STEP_KEY] = _fermi_step_statistics(bands, plan)
    if any(t.broadened for _, t in plan.terms):
        sums[QUASI_DEGENERATE_KEY] = _quasi_degenerate_statistics(bands, plan)
    return PartialSums(sums, n_k)


def _roundoff_weight(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """ε_mach κ(k) max_C |X_n,C(k)| (× the k weight, in ``scale`` (N,)) as an (N·n, 1)
    column: the largest component, because the mixing of eigenvectors that round-off
    causes moves weight between components (a component that is small, or zero by a
    symmetry at every k, is not therefore accurate to its own size)."""
    return (np.abs(x).max(axis=2) * scale[:, None]).reshape(-1, 1)


def _broadened_sum(
    bands: BandData,
    plan: IntegrationPlan,
    term: Term,
    kernels: dict[str, np.ndarray],
    w: np.ndarray,
    cache: dict[object, np.ndarray],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Σ over the chunk of a term whose integrand depends on the broadening of each T, and
    its round-off estimate (None unless ``term.guarded``; :func:`integrate_chunk`)."""
    n_k, n_b = bands.row_energy.shape
    n_mu, n_t = len(plan.mu), len(plan.temperature)
    kernel = kernels[term.kernel].reshape(n_k * n_b, n_mu, n_t)
    scale = EPS * conditioning(bands) * w if term.guarded else None
    out: np.ndarray | None = None
    est: np.ndarray | None = None
    for t_index, eta in enumerate(plan.broadenings):
        key = (term.integrand, eta)
        x = cache.get(key)
        if x is None:
            x = term.integrand(bands, broadening=eta)
            cache[key] = x
        xw = (x * w[:, None, None]).reshape(n_k * n_b, -1)
        if out is None:
            out = np.empty((n_mu, n_t, xw.shape[1]))
        out[:, t_index] = kernel[:, :, t_index].T @ xw
        if scale is not None:
            if est is None:
                est = np.empty((n_mu, n_t, xw.shape[1]))
            column = np.abs(kernel[:, :, t_index]).T @ _roundoff_weight(x, scale)
            est[:, t_index] = np.repeat(column, xw.shape[1], axis=1)
    assert out is not None
    return out, est


def _quasi_degenerate_statistics(bands: BandData, plan: IntegrationPlan) -> np.ndarray:
    """[states near μ with a partner split by tol <= Δ < broadening, states near μ]."""
    eta = max(plan.broadenings)
    window = max(10.0 * eta, 0.05)
    e = bands.row_energy
    near = (e > min(plan.mu) - window) & (e < max(plan.mu) + window)
    gap = np.abs(e[:, :, None] - bands.energy[:, None, :])
    quasi = ((gap < eta) & ~bands.degenerate).any(axis=2) & near
    return np.array([[[float(quasi.sum()), float(near.sum())]]])


def _fermi_step_statistics(bands: BandData, plan: IntegrationPlan) -> np.ndarray:
    """[Σ |∇ε| Δk, count] over states near any requested μ: the energy step of the mesh."""
    width = plan.smearing.width if plan.smearing is not None else 0.0
    window = max(3.0 * width, FERMI_STEP_WINDOW)  # eV around the requested chemical potentials
    energy = bands.row_energy
    near = (energy > min(plan.mu) - window) & (energy < max(plan.mu) + window)
    gradient = np.moveaxis(bands.band_velocity[: bands.dim], 0, -1)  # (N, n, d) eV·Å
    step = plan.mesh.energy_step(bands.kpoints, gradient)[near]
    return np.array([[[float(step.sum()), float(step.size)]]])
