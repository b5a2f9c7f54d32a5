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
"""

from __future__ import annotations

from dataclasses import dataclass

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
