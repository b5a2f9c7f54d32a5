"""Which magnetic operations a model has: tested numerically on random k.

For a candidate g = (R, θ) and random k, the band energies must satisfy ε(gk) = ε(k) and
every gauge-invariant band quantity X must transform as its tensor:
X(gk) = s^t (det R)^p R^{⊗n} X(k) (see :mod:`qgmag.symmetry.operations`). The quantities
are summed over bands with smooth Fermi weights at a few chemical potentials,
Y(k) = Σ_n X_n(k) f(ε_n; μ_j, T), so degenerate sets need no special care. The
violation of g is max_j |Y(gk) - ρ(g)Y(k)| / max_n |X_n(k)| (relative to the per-band
size, with a floor SCALE_FLOOR), and for the energies max |ε(gk) - ε(k)| in eV.

Candidates are the lattice's point operations with and without θ
(:func:`~qgmag.symmetry.operations.lattice_candidates`): every magnetic point operation
of a crystal on that lattice is among them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.models.base import Model
from qgmag.symmetry.operations import (
    MagneticGroup,
    MagneticOperation,
    SymmetryError,
    lattice_candidates,
)
from qgmag.symmetry.tensors import TensorKind

#: relative violation below which an operation counts as a symmetry of the model
DEFAULT_TOLERANCE = 1e-6
N_RANDOM_K = 6
#: smallest per-band size (native units: eV, Å) a tested quantity is measured against
SCALE_FLOOR = 1e-8

Quantity = tuple[str, Callable[[BandData], np.ndarray], TensorKind, bool]


def _band_velocity(bands: BandData) -> np.ndarray:
    return np.moveaxis(bands.band_velocity, 0, -1)[..., : bands.dim]


def default_quantities(model: Model, observables: Sequence[str] | None = None) -> list[Quantity]:
    """(name, integrand, kind, needs ∂²H) of every term of ``observables`` (default: all
    observables the model supports) plus the band velocity."""
    from qgmag.observables.registry import OBSERVABLES
    from qgmag.symmetry.tensors import TENSOR_KINDS, tensor_kind

    # by default the linear responses and magnetizations: they already probe every operation
    # on H, S and r; the E² integrands (1/Δ³, 1/Δ⁴ terms) are tested when they are requested
    names = (
        list(observables)
        if observables is not None
        else [n for n, kinds in TENSOR_KINDS.items() if kinds["*"].rank < 3]
    )
    qs: list[Quantity] = [("band_velocity", _band_velocity, TensorKind(1, False, True), False)]
    seen: set[object] = set()
    for name in names:
        obs = OBSERVABLES.get(name)
        if obs is None or (obs.needs_spin and model.spin is None):
            continue
        if obs.only_2d and model.dim != 2:
            continue
        # (the two terms of KINETIC_ORBITAL_INTRINSIC_BY_PARTS are not covariant one by one
        # at each k in 2D: only their sum over the zone is; they are not tested)
        for term in obs.terms:
            if term.integrand in seen:
                continue
            seen.add(term.integrand)
            qs.append(
                (
                    f"{name}:{term.name}",
                    term.integrand,
                    tensor_kind(name, term.name),
                    term.needs_second_derivatives,
                )
            )
    return qs


def transform(values: np.ndarray, op: MagneticOperation, kind: TensorKind, dim: int) -> np.ndarray:
    """ρ(g) applied to stored components (..., C): C = 3 or d (vectors), 3·d^(n-1) (rank n)."""
    from qgmag.symmetry.tensors import _pad, _unpad

    sign = op.tensor_sign(kind.axial, kind.t_odd)
    if kind.rank == 1:
        c = values.shape[-1]
        return sign * values @ op.rotation[:c, :c].T
    rho = np.ones((1, 1))
    for _ in range(kind.rank):
        rho = np.kron(rho, op.rotation)
    return sign * _unpad(_pad(values, kind.rank, dim) @ rho.T, kind.rank, dim)


@dataclass(frozen=True)
class SymmetryTest:
    """Result of testing candidate operations on a model."""

    operations: tuple[MagneticOperation, ...]
    energy_violation: np.ndarray  # eV, per operation
    violation: np.ndarray  # relative, per operation (max over quantities)
    worst_quantity: tuple[str, ...]

    def passing(self, tolerance: float = DEFAULT_TOLERANCE) -> list[MagneticOperation]:
        return [
            o
            for o, e, v in zip(self.operations, self.energy_violation, self.violation, strict=True)
            if e <= tolerance and v <= tolerance
        ]

    def table(self) -> list[str]:
        return [
            f"{o.label():>22s}  |Δε| = {e:.1e} eV  violation = {v:.1e} ({q})"
            for o, e, v, q in zip(
                self.operations,
                self.energy_violation,
                self.violation,
                self.worst_quantity,
                strict=True,
            )
        ]


def symmetry_violations(
    model: Model,
    operations: Sequence[MagneticOperation],
    quantities: Sequence[Quantity] | None = None,
    *,
    n_k: int = N_RANDOM_K,
    seed: int = 0,
) -> SymmetryTest:
    """Violation of each operation by ``model`` on ``n_k`` random k-points."""
    recip = getattr(model, "reciprocal_lattice", None)
    if recip is None:
        raise SymmetryError(
            "symmetry analysis needs a lattice model (tight-binding or Wannier90), not a "
            "continuum model."
        )
    dim = model.dim
    qs = list(quantities) if quantities is not None else default_quantities(model)
    rng = np.random.default_rng(seed)
    k0 = rng.random((n_k, dim)) @ np.asarray(recip)
    ks = [k0] + [op.k_sign * k0 @ op.rotation[:dim, :dim].T for op in operations]
    need2 = any(q[3] for q in qs)
    bands = BandData(model, np.concatenate(ks), need_second_derivatives=need2)
    energy = bands.energy.reshape(len(ks), n_k, -1)
    lo, hi = float(energy.min()), float(energy.max())
    width = max(hi - lo, 1e-6)
    mus = lo + width * np.array([0.2, 0.4, 0.5, 0.6, 0.8])
    kt = 0.05 * width
    occ = 1.0 / (1.0 + np.exp((energy[..., None] - mus) / kt))  # (G+1, n_k, n, n_mu)
    weighted = {}
    for name, func, kind, _ in qs:
        x = func(bands).reshape(len(ks), n_k, energy.shape[-1], -1)
        # scale: the per-band size of the quantity (a weighted sum may vanish by symmetry)
        # (a floor in native units so that a quantity that vanishes identically gives no
        # information instead of relative round-off noise)
        scale = max(float(np.max(np.abs(x[0]))), SCALE_FLOOR)
        weighted[name] = (np.einsum("gknc,gknm->gkmc", x, occ), kind, scale)
    e_viol = np.max(np.abs(energy[1:] - energy[:1]), axis=(1, 2))
    viol = np.zeros(len(operations))
    worst = ["-"] * len(operations)
    for name, (y, kind, scale) in weighted.items():
        for g, op in enumerate(operations):
            v = float(np.max(np.abs(y[g + 1] - transform(y[0], op, kind, dim)))) / scale
            if v > viol[g] or worst[g] == "-":
                viol[g] = max(viol[g], v)
                worst[g] = name
    return SymmetryTest(tuple(operations), e_viol, viol, tuple(worst))


def model_group(
    model: Model,
    quantities: Sequence[Quantity] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    candidates: Sequence[MagneticOperation] | None = None,
) -> tuple[MagneticGroup, SymmetryTest]:
    """The magnetic point group of a tight-binding model: the candidates it keeps.

    Returns the group and the full test (violation of every candidate).
    """
    lattice = getattr(model, "lattice", None)
    if lattice is None:
        raise SymmetryError(
            "symmetry analysis needs a lattice model (tight-binding or Wannier90), not a "
            "continuum model."
        )
    cands = list(candidates) if candidates is not None else lattice_candidates(lattice)
    test = symmetry_violations(model, cands, quantities)
    ops = test.passing(tolerance)
    try:
        group = MagneticGroup(ops, dim=model.dim, source=f"tested on the model (tol {tolerance:g})")
    except SymmetryError as err:
        raise SymmetryError(
            f"the operations the model keeps to {tolerance:g} do not form a group ({err}); "
            "the model is close to a symmetry: pass symmetry_tolerance larger or smaller."
        ) from None
    return group, test
