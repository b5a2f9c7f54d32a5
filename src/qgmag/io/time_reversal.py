"""The time-reversal operator of a Wannier model, fitted from its own H(R).

Time reversal of a lattice model acts within each cell: Θ|Rn> = Σ_m U_mn |Rm>, Θ = U K
with U unitary (K complex conjugation in the Wannier basis). Θ H Θ⁻¹ = H means
U H(R)* U† = H(R), i.e. the linear equations H(R) U − U H(R)* = 0 for every R. Their
least-squares solution is the right singular vector of the stacked map with the smallest
singular value; :func:`fit_time_reversal` returns it made unitary (polar decomposition),
the residual (how far the model is from time-reversal symmetric, eV), the gap to the next
singular value (how unique Θ is), and, for spinful models (U U* = −1, U antisymmetric),
the Kramers pairs (i, j) with |U_ij| ≈ 1 and their phases U_ij.

A Wannier90 fit of a non-magnetic crystal is only approximately symmetric: GaAs_tb.dat has
residual 9.1e-4 eV (2.3e-4 for the map on unit-norm U, next singular value 0.148, largest
15.6), so a T-odd spin operator cannot give exactly zero spin magnetization there.
:meth:`TimeReversalFit.symmetrize` gives the exactly symmetric model H_sym(R) =
(H(R) + U H(R)* U†)/2 and :meth:`TimeReversalFit.odd_part` the exactly T-odd part of an
operator, (S − U S* U†)/2; together they make M^S of the insulator vanish identically.
:func:`time_reversal_symmetric_model` builds that model from a ``_tb.dat`` model (Θ
restricted to its Kramers pairs, partners at their mean centre, the minimal-distance rule
re-applied with those centres, H and r symmetrized, S made T-odd); it is what
``read_wannier90(..., time_reversal="symmetrize")`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qgmag.errors import ModelError

#: Θ counts as unique when the next singular value is this many times the smallest
UNIQUENESS_RATIO = 10.0


class TimeReversalError(ModelError):
    """The model has no unique (or no antisymmetric) time-reversal operator."""


@dataclass(frozen=True)
class TimeReversalFit:
    """Θ = U K fitted to a model's H(R) (see the module docstring).

    ``operator`` U (n, n) unitary; ``residual`` sqrt(Σ_R ‖H(R)U − U H(R)*‖²_F) (eV) of that
    unitary U; ``singular_values`` (smallest, next, largest) of the map on unit-norm U (eV);
    ``antisymmetry`` max |U U* + 1| (0 for a spinful Θ, Θ² = −1); ``pairs`` the Kramers
    pairs (i < j) where every Wannier function has one partner with |U_ij| > 1/√2 (None
    otherwise); ``phases`` U_ij of those pairs; ``off_pair`` max |U_kl| outside the pairs.
    """

    operator: np.ndarray
    residual: float
    singular_values: tuple[float, float, float]
    antisymmetry: float
    pairs: list[tuple[int, int]] | None
    phases: np.ndarray | None
    off_pair: float | None

    @property
    def spinful(self) -> bool:
        """Θ² = −1 (to 1e-8): Kramers pairs exist."""
        return self.antisymmetry < 1e-8

    def conjugate(self, x: ArrayLike) -> np.ndarray:
        """U X* U† for (…, n, n) matrices (Θ X Θ⁻¹ of an on-site or R-space block)."""
        u = self.operator
        return np.matmul(np.matmul(u, np.conj(np.asarray(x))), np.conj(u.T))

    def symmetrize(self, hoppings: ArrayLike) -> np.ndarray:
        """H_sym(R) = (H(R) + U H(R)* U†)/2 (nR, n, n): exactly Θ-symmetric, Hermitian if H is."""
        h = np.asarray(hoppings, dtype=complex)
        return 0.5 * (h + self.conjugate(h))

    def odd_part(self, operator: ArrayLike) -> np.ndarray:
        """(X − U X* U†)/2 for (…, n, n) X: exactly T-odd under Θ when Θ² = ±1."""
        x = np.asarray(operator, dtype=complex)
        return 0.5 * (x - self.conjugate(x))

    def odd_breaking(self, operator: ArrayLike) -> float:
        """max |X + U X* U†|/2: how far X is from T-odd under Θ (0 for a T-odd X)."""
        x = np.asarray(operator, dtype=complex)
        return float(np.max(np.abs(0.5 * (x + self.conjugate(x)))))


def _stacked_map(hoppings: np.ndarray) -> np.ndarray:
    """(nR n², n²) matrix of U -> H(R) U − U H(R)* on row-major vec(U)."""
    n = hoppings.shape[1]
    eye = np.eye(n)
    # row-major vec: vec(A U B) = (A ⊗ Bᵀ) vec(U)
    blocks = [np.kron(h, eye) - np.kron(eye, np.conj(h).T) for h in hoppings]
    return np.concatenate(blocks)


def fit_time_reversal(hoppings: ArrayLike, source: str = "model") -> TimeReversalFit:
    """Fit Θ = U K to H(R) (nR, n, n), eV; raises :class:`TimeReversalError` when the
    smallest singular value is not separated from the next (Θ not unique: the model has
    extra unitary symmetries in the Wannier basis, or is far from T-symmetric)."""
    h = np.asarray(hoppings, dtype=complex)
    if h.ndim != 3 or h.shape[1] != h.shape[2]:
        raise TimeReversalError(f"{source}: H(R) must have shape (nR, n, n); got {h.shape}.")
    n = h.shape[1]
    _, s, vh = np.linalg.svd(_stacked_map(h), full_matrices=False)
    smallest, nxt = float(s[-1]), float(s[-2]) if s.size > 1 else np.inf
    if not nxt > UNIQUENESS_RATIO * smallest:
        raise TimeReversalError(
            f"{source}: no unique time-reversal operator Θ = U K (smallest singular values "
            f"{smallest:.3g}, {nxt:.3g} eV of H(R)U - U H(R)*: the model is not "
            "time-reversal symmetric, or has extra symmetries); pass the Kramers pairs "
            "explicitly: spin_pairs=[(up, down), ...]."
        )
    null = np.conj(vh[-1]).reshape(n, n)
    w, _, v = np.linalg.svd(null)
    u = w @ v  # nearest unitary (polar factor)
    residual = float(np.sqrt(sum(np.linalg.norm(x @ u - u @ np.conj(x)) ** 2 for x in h)))
    anti = float(np.max(np.abs(u @ np.conj(u) + np.eye(n))))
    pairs, phases, off = _kramers_pairs(u)
    return TimeReversalFit(u, residual, (smallest, nxt, float(s[0])), anti, pairs, phases, off)


def _kramers_pairs(
    u: np.ndarray,
) -> tuple[list[tuple[int, int]] | None, np.ndarray | None, float | None]:
    """Pairs (i < j) with |U_ij| > 1/√2 mutual partners, their U_ij, max |U| off them."""
    n = u.shape[0]
    mag = np.abs(u)
    partner = np.argmax(mag, axis=1)
    if np.any(mag[np.arange(n), partner] <= 2**-0.5) or np.any(partner[partner] != np.arange(n)):
        return None, None, None
    if np.any(partner == np.arange(n)):
        return None, None, None
    pairs = sorted({(int(min(i, j)), int(max(i, j))) for i, j in enumerate(partner)})
    mask = np.zeros((n, n), dtype=bool)
    for i, j in pairs:
        mask[i, j] = mask[j, i] = True
    phases = np.array([u[i, j] for i, j in pairs])
    return pairs, phases, float(mag[~mask].max())


def same_pairs(a: list[tuple[int, int]] | None, b: list[tuple[int, int]]) -> bool:
    """Whether two pair lists pair the same indices (order within a pair ignored)."""
    if a is None:
        return False
    return {frozenset(p) for p in a} == {frozenset(p) for p in b}


# -- an exactly time-reversal-symmetric copy of a tight-binding model ------------------------

#: ħ; a spin operator whose T-even part under the fitted Θ exceeds this is refused (wrong
#: spin pairs: σ/2 on non-partners has a T-even part of order 1/4), not made T-odd
SPIN_EVEN_TOL = 1e-2


def kramers_problem(fit: TimeReversalFit, centres: np.ndarray) -> str | None:
    """Why ``fit`` gives no usable Kramers pairs for Wannier functions at the Cartesian
    ``centres`` (n, 3) Å (None if it does): residual above
    :data:`qgmag.io.spinor_pairs.TIME_REVERSAL_TOL` eV, Θ² ≠ −1, no one-to-one pairing, or
    partners further apart than :data:`qgmag.io.spinor_pairs.PAIR_CENTRE_TOL` Å."""
    from qgmag.io.spinor_pairs import PAIR_CENTRE_TOL, TIME_REVERSAL_TOL, separations

    if fit.residual > TIME_REVERSAL_TOL:
        return f"the model is not time-reversal symmetric (residual {fit.residual:.3g} eV)"
    if not fit.spinful:
        return f"the fitted Θ has Θ² = +1 (|UU* + 1| = {fit.antisymmetry:.2g}): spinless"
    if fit.pairs is None:
        return "the fitted Θ does not pair the Wannier functions one to one"
    if np.max(separations(centres, fit.pairs)) > PAIR_CENTRE_TOL:
        return "the Kramers partners of the fitted Θ do not share centres"
    return None


def pair_operator(fit: TimeReversalFit) -> TimeReversalFit:
    """``fit`` with U restricted to its Kramers pairs: U_ab = −U_ba = c/|c| with
    c = (U_ab − U_ba)/2 for each pair (a, b), zero elsewhere. Exactly unitary and
    antisymmetric (Θ² = −1 to round-off), and it maps a Wannier function only onto its
    partner, which shares its centre; the fitted U also mixes Wannier functions at
    different centres (2.5e-5 on GaAs_tb.dat), which would break T of the velocities."""
    if fit.pairs is None:
        raise TimeReversalError("the fitted Θ has no Kramers pairs.")
    u = np.zeros_like(fit.operator)
    for a, b in fit.pairs:
        c = 0.5 * (fit.operator[a, b] - fit.operator[b, a])
        u[a, b], u[b, a] = c / abs(c), -c / abs(c)
    anti = float(np.max(np.abs(u @ np.conj(u) + np.eye(u.shape[0]))))
    phases = np.array([u[a, b] for a, b in fit.pairs])
    return TimeReversalFit(u, fit.residual, fit.singular_values, anti, fit.pairs, phases, 0.0)


def _on_union(vec_a: np.ndarray, mat_a: np.ndarray, vec_b: np.ndarray, mat_b: np.ndarray):
    """(R list, A(R) − B(R)) on the union of two R lists (missing blocks are zero)."""
    keys = sorted({tuple(v) for v in vec_a} | {tuple(v) for v in vec_b})
    where = {k: i for i, k in enumerate(keys)}
    diff = np.zeros((len(keys), *mat_a.shape[1:]), dtype=complex)
    for v, x in zip(vec_a, mat_a, strict=True):
        diff[where[tuple(v)]] += x
    for v, x in zip(vec_b, mat_b, strict=True):
        diff[where[tuple(v)]] -= x
    return np.array(keys), diff


def time_reversal_symmetric_model(model: Any) -> Any:
    """An exactly time-reversal-symmetric copy of a non-magnetic tight-binding ``model``.

    ``model`` is a :class:`~qgmag.models.tight_binding.TightBindingModel` as returned by
    :func:`qgmag.read_wannier90` for a ``_tb.dat`` / ``_hr.dat`` file (H(R) in eV, centres
    in Å, S/ħ on-site). A Wannier90 fit of a non-magnetic crystal breaks T slightly
    (GaAs_tb.dat: fitted residual ~1e-3 eV), so a T-odd quantity such as the spin
    magnetization of the insulator is ~1e-5 μB/cell instead of zero. Here:

    1. Θ = U K is fitted to the model's own H(R) (:func:`fit_time_reversal`); a magnetic
       model (no unique Θ, or residual above 0.05 eV, Fe_tb.dat), a spinless Θ, or Kramers
       partners at different centres are refused with :class:`TimeReversalError`.
    2. U is restricted to the Kramers pairs (:func:`pair_operator`).
    3. The two partners of each pair are put at their mean centre (they differ by ~1e-5 Å
       in GaAs_tb.dat), so that the atomic-gauge phases e^{ik·(R+τ_j−τ_i)} commute with Θ.
    4. If the reader applied Wannier90's minimal-distance rule
       (``model.parameters["minimal_distance"]["applied"]``), the rule is applied again
       with the mean centres: :func:`qgmag.io.tb_mdrs.apply_rule` folds H(R) and r(R)
       back onto the ab-initio grid first (exact: the image weights of every pair sum to
       1), so the result is the rule applied to the file *after* the centres were averaged,
       the order in which the partners get the same images.
    5. H_sym(R) = (H(R) + U H(R)* U†)/2 and, if present, r_sym(R) = (r(R) + U r(R)* U†)/2
       (r is T-even); S_odd = (S − U S* U†)/2 (S is T-odd). A spin operator whose T-even
       part exceeds :data:`SPIN_EVEN_TOL` ħ (spin pairs that are not Kramers partners) is
       refused rather than changed.

    The result's ``parameters["time_reversal"]`` records what was done: option
    "symmetrize", the pairs, the fit residual (eV), ``removed_breaking_eV`` = max over R,
    i, j of |H(R) − H_sym(R)|_ij, ``band_shift_bound_eV`` = Σ_R ‖H(R) − H_sym(R)‖₂ (every
    band energy at every k moves by at most this, Weyl's inequality; the centre averaging
    does not move energies), ``centre_shift_angstrom``, ``spin_even_part_removed`` (ħ) and
    whether the minimal-distance images changed. Band energies, names and every other
    attribute are kept.
    """
    from qgmag.models.tight_binding import TightBindingModel
    from qgmag.models.wannier_model import WannierModel

    if isinstance(model, WannierModel) or not isinstance(model, TightBindingModel):
        raise TimeReversalError(
            f"time_reversal_symmetric_model needs a tight-binding model read from a "
            f"_tb.dat/_hr.dat file; got {type(model).__name__} (a Wannier90 run has its own "
            "R-space matrices: read its _tb.dat instead)."
        )
    source = str(model.parameters.get("source", model.name))
    lattice = np.asarray(model.lattice, dtype=float)
    positions = np.asarray(model.positions, dtype=float)
    hoppings = np.asarray(model.hopping_matrices)
    try:
        fit = fit_time_reversal(hoppings, source)
        problem = kramers_problem(fit, positions @ lattice)
    except TimeReversalError as exc:
        problem = str(exc).split(": ", 1)[-1].split(";")[0]
    if problem is not None:
        raise TimeReversalError(
            f"{source}: cannot make the model time-reversal symmetric: {problem} (a magnetic "
            "model has no time reversal); read it with time_reversal='as-read'."
        )
    theta = pair_operator(fit)
    mean = positions.copy()
    for a, b in theta.pairs or []:
        mean[a] = mean[b] = 0.5 * (positions[a] + positions[b])
    vectors = np.asarray(model.hopping_vectors)
    rmat = model.position_matrices
    new_vectors, new_h, new_r = vectors, hoppings, rmat
    rule = model.parameters.get("minimal_distance") or {}
    images_changed = None
    if rule.get("applied"):
        from qgmag.io.tb_mdrs import apply_rule

        arrays = (hoppings,) if rmat is None else (hoppings, np.asarray(rmat))
        new_vectors, out = apply_rule(
            lattice,
            mean @ lattice,
            tuple(rule["mp_grid"]),
            vectors,
            *arrays,
            tolerance=float(rule["tie_tolerance_angstrom"]),
        )
        new_h, new_r = out[0], (out[1] if rmat is not None else None)
        same = new_vectors.shape == vectors.shape and np.array_equal(new_vectors, vectors)
        images_changed = not (same and np.max(np.abs(new_h - hoppings)) < 1e-12)
    sym_h = theta.symmetrize(new_h)
    sym_r = None
    if new_r is not None:
        r = np.moveaxis(np.asarray(new_r), -1, 0)  # (d, nR, n, n)
        sym_r = np.moveaxis(theta.symmetrize(r), 0, -1)
    spin, even = model.spin, None
    if spin is not None:
        even = theta.odd_breaking(spin)
        if even > SPIN_EVEN_TOL:
            raise TimeReversalError(
                f"{source}: the spin matrices have a T-even part {even:.2g} ħ under the fitted "
                f"time reversal (Kramers pairs {theta.pairs}): they are not σ/2 on Kramers "
                "partners; read with spin_pairs='time-reversal' or those pairs."
            )
        spin = theta.odd_part(spin)
    _, diff = _on_union(vectors, hoppings, new_vectors, sym_h)
    shift = np.linalg.norm((mean - positions) @ lattice, axis=1)
    record = {
        "option": "symmetrize",
        "kramers_pairs": [list(p) for p in theta.pairs or []],
        "fit_residual_eV": fit.residual,
        "removed_breaking_eV": float(np.max(np.abs(diff))),
        "band_shift_bound_eV": float(sum(np.linalg.norm(x, 2) for x in diff)),
        "centre_shift_angstrom": float(np.max(shift)),
        "spin_even_part_removed": even,
        "minimal_distance_images_changed": images_changed,
    }
    return TightBindingModel.from_arrays(
        lattice,
        mean,
        new_vectors,
        sym_h,
        spin,
        gauge=model.gauge,
        name=model.name,
        parameters={**model.parameters, "time_reversal": record},
        position_matrices=sym_r,
        berry_connection=model.berry_connection,
        hermitian_tolerance=1e-6,  # Θ-averaging keeps the input's |H(R) - H(-R)†|
        positions_outside_cell=True,
    )
