"""Orbital τ⁰ Fermi-sea weights of the E² kinetic magnetization, exact in the eigenbasis.

The E² free energy per cell is F^(2) = (eE_j)(eE_k) P_jk with the band polarizability
(Å²/eV)

    P_jk = ½ ∮ dz/2πi f(z) ∫[dk] Tr[G V^j G³ V^k],   G = (z - H(k))⁻¹,

the contour around the real axis (for a filled-band insulator at T = 0 this is
Σ_{n occ, m unocc} Re V^j_nm V^k_mn/(ε_n-ε_m)³). In a uniform field B the same operator
expression holds with the Weyl symbols multiplied by the Moyal product of the kinetic
momenta, [K_a, K_b] = iθ_ab, θ_ab = -(e/ħ) ε_abi B_i (electron charge -e; straight-line
Peierls phases are the Weyl quantization of H(k) in the atomic gauge):
A ⋆ C = AC + (i/2) θ_ab ∂_aA ∂_bC + O(B²), the symbol of V^a is ∂_aH and
G_⋆ = G + (i/2) θ_ab G ∂_aH G ∂_bH G + O(B²). The first order in θ of
Tr[G_⋆ ⋆ V^j ⋆ G_⋆³ ⋆ V^k] is, per k, T^{i,jk}(z) = (i/2) ε_abi Σ_chains Tr[chain], a sum of
19 traces of products of V = U†∂H U, W = U†∂∂H U and powers of the diagonal G (the list
:data:`CHAINS`). It is a rational function of z with poles of order ≤ 6 at the band
energies, so

    ∮ f(z) T(z) dz/2πi = Σ_n Σ_{r=0}^{5} C^{(r)}_n f^{(r)}(ε_n)/r!,

with C^{(r)}_n the coefficient of (z - ε_n)^{-1-r} in the Laurent expansion of T at the
degenerate set of band n (shared equally by the set's bands). The coefficients are
computed exactly (no quadrature) by propagating, for every anchor band c at once, the
rows e_c of the chain as truncated Laurent series in u = z - ε_c: each G^w factor is
P_c u^{-w} + Σ_l binom(-w, l) u^l S_c^{w+l} with the reduced resolvent
S_c = Σ_{m ∉ D(c)} P_m/(ε_c - ε_m); the singular part needs at least one P_c, and the
first one in each chain is the anchor. Cost ∝ 19 chains × n³ per k (vectorized over k
and the Cartesian components). The weights do not depend on μ or T: one pass over k
serves every (μ, T), with the kernels f0, f0', ..., f0^(5).

Then ∂P_jk/∂B_i = -(e/ħ) Σ_n Σ_r ∫[dk] f^{(r)}(ε_n) X^{(r),i,jk}_n with X^{(r)} = ½ Re C^{(r)}/r!
(symmetrized in (j, k)) and δM_i = -∂F^(2)/∂B_i = (e/ħ) e² E_jE_k Σ_r Σ_n ∫ f^{(r)} X^{(r)}.
For an insulator at T = 0 only r = 0 survives (the occupied residues). Checked against
Peierls magnetic supercells (:mod:`qgmag.validation.second_order_orbital`) and against the
circle quadrature of :mod:`qgmag.validation.second_order_orbital_contour`.

Numerics: bands closer than ``degeneracy_tol`` are one pole (exact for a degenerate set);
two distinct bands split by δ contribute terms ∝ 1/δ⁵ that cancel between them, so round-off
grows as ε_mach·(Δ/δ)⁵ for pairs split just above the tolerance (as for the other E² τ⁰
terms): near-degenerate pairs of a Wannier model should be grouped with degeneracy_tol.
"""

from __future__ import annotations

from math import comb, factorial

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.geometry.roundoff import (  # noqa: F401
    ROUNDOFF_LIMIT,
    check_roundoff,
    check_valid_field,
    natural_scale,
)
from qgmag.models.base import FloatArray

#: highest derivative of the occupation in the sea (poles of order ≤ 6)
MAX_DERIVATIVE = 5

# A chain is a cyclic product: ints are powers of the diagonal G, strings the matrix slots
# 'a', 'b', 'j', 'k' (V^x) and 'aj', 'bj', 'bk' (W^{xy}); all are summed with (i/2) ε_abi.
CHAINS: tuple[tuple[int | str, ...], ...] = (
    # G⋆ correction of the first G
    (1, "a", 1, "b", 1, "j", 3, "k"),
    # correction of G⋆³: the G⋆ corrections and the Moyal pairs among its three factors
    (1, "j", 1, "a", 1, "b", 3, "k"),
    (1, "j", 2, "a", 1, "b", 2, "k"),
    (1, "j", 3, "a", 1, "b", 1, "k"),
    (1, "j", 1, "a", 2, "b", 2, "k"),
    (1, "j", 1, "a", 3, "b", 1, "k"),
    (1, "j", 2, "a", 2, "b", 1, "k"),
    # Moyal pairs among the four factors (G, V^j, G³, V^k)
    (1, "a", 1, "bj", 3, "k"),
    (1, "a", 1, "j", 1, "b", 3, "k"),
    (1, "a", 1, "j", 2, "b", 2, "k"),
    (1, "a", 1, "j", 3, "b", 1, "k"),
    (1, "a", 1, "j", 3, "bk"),
    (1, "aj", 1, "b", 3, "k"),
    (1, "aj", 2, "b", 2, "k"),
    (1, "aj", 3, "b", 1, "k"),
    (1, "aj", 3, "bk"),
    (1, "j", 1, "a", 3, "bk"),
    (1, "j", 2, "a", 2, "bk"),
    (1, "j", 3, "a", 1, "bk"),
)

#: complex entries of one state array (k-block size; bounded memory, ~64 MiB)
_BLOCK_ENTRIES = 2**20


def _levi(dim: int) -> np.ndarray:
    """ε_iab (3, dim, dim) restricted to the model's directions a, b."""
    out = np.zeros((3, 3, 3))
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        out[c, a, b], out[c, b, a] = 1.0, -1.0
    return out[:, :dim, :dim]


def orbital_sea_weights(bands: BandData) -> FloatArray:
    """X^{(r),i,jk}_n (6[r], 3[i], 3[j], 3[k], N, n), Å⁴/eV^{1-r}: weights of f0^(r)(ε_n).

    Σ_r Σ_n f0^(r)(ε_n) X^{(r)}_n averaged over the mesh is Q with ∂P_jk/∂B_i = -(e/ħ) Q
    (module docstring); symmetric in (j, k); degenerate sets share their weights equally.
    Needs ``bands`` built with ``need_second_derivatives=True`` and without a band window.
    """
    bands._require_square("the orbital τ⁰ sea")
    check_valid_field(bands, "kinetic_orbital_second_order (orbital tau^0 sea)")
    dim = bands.dim
    e_all = bands.energy
    n = e_all.shape[-1]
    v_all = bands.velocity_matrix[:dim]
    w_all = bands.second_derivative_matrix[:dim, :dim]
    deg_all = bands.degenerate
    size = max(1, _BLOCK_ENTRIES // (3 * dim**3 * n * n))
    out = np.zeros((MAX_DERIVATIVE + 1, 3, 3, 3, *e_all.shape))
    for start in range(0, e_all.shape[0], size):
        sl = slice(start, start + size)
        block = _block_weights(e_all[sl], deg_all[sl], v_all[:, sl], w_all[:, :, sl], dim)
        _check_roundoff(block, bands, sl)
        out[:, :, :dim, :dim, sl] = block
    return out


def _check_roundoff(x: np.ndarray, bands: BandData, sl: slice) -> None:
    """The shared round-off guard (:mod:`qgmag.geometry.roundoff`) on one k-block: weights
    ∝ 1/δ⁵ of bands split by δ cancel between them; natural scale |V|⁴/(1 eV)⁵. Without
    the conditioning factor: the rule was calibrated on Fe_tb.dat against the contour
    oracle (ratios ≤ 1.5e-3 gave per-k errors ≤ 3e-7, ≥ 8e-2 errors of order one)."""
    biggest = np.abs(x).max(axis=(0, 1, 2, 3, 5))  # (N,), eV^r-weighted (1 eV units)
    natural = natural_scale(bands, 4, rows=sl)
    check_roundoff(
        biggest,
        natural,
        bands,
        "kinetic_orbital_second_order (orbital tau^0 sea)",
        sl,
        conditioned=False,
    )


def _block_weights(
    energy: np.ndarray, deg: np.ndarray, v: np.ndarray, w: np.ndarray, dim: int
) -> FloatArray:
    """(6, 3, dim, dim, N, n) weights of one k-block."""
    inmask = deg.astype(float)  # (N, c, m): m in the set of the anchor c
    diff = energy[:, :, None] - energy[:, None, :]  # ε_c - ε_m
    inv = np.where(deg, 0.0, 1.0 / np.where(deg, 1.0, diff))
    powers = {p: inv**p for p in range(1, 3 + 2 * MAX_DERIVATIVE + 2)}
    slots = {
        "a": v[:, None, None, None],
        "b": v[None, :, None, None],
        "j": v[None, None, :, None],
        "k": v[None, None, None, :],
        "aj": w[:, None, :, None],
        "bj": w[None, :, :, None],
        "bk": w[None, :, None, :],
    }
    levi = _levi(dim)
    coef = np.zeros((MAX_DERIVATIVE + 1, 3, 1, dim, dim, *energy.shape), dtype=complex)
    for chain in CHAINS:
        for anchor in range(0, len(chain), 2):
            for r, c in _anchored(chain, anchor, inmask, powers, slots, levi).items():
                coef[r] += c
    # (i/2) ε_abi, ½ Re of the polarizability, 1/r! of the Taylor weight, symmetrize (j, k)
    x = np.real(0.5j * coef[:, :, 0]) * 0.5
    x = 0.5 * (x + np.swapaxes(x, 2, 3))
    x /= np.array([factorial(r) for r in range(MAX_DERIVATIVE + 1)])[
        :, None, None, None, None, None
    ]
    # degenerate sets share their Laurent coefficients equally (gauge invariance)
    size = deg.sum(axis=-1)
    return np.einsum("...kc,kcm->...km", x, inmask / size[:, :, None])


def _anchored(
    chain: tuple[int | str, ...],
    anchor: int,
    inmask: np.ndarray,
    powers: dict[int, np.ndarray],
    slots: dict[str, np.ndarray],
    levi: np.ndarray,
) -> dict[int, np.ndarray]:
    """{r: coefficient of u^{-1-r}} (3, 1, dj, dk, N, n) of the chain anchored at G factor
    ``anchor`` (the first P_c of the chain, cyclically from there): the factors after it
    with full G, those before it with the regular part only."""
    w0 = chain[anchor]
    seq = [(f, True) for f in chain[anchor + 1 :]] + [(f, False) for f in chain[:anchor]]
    # Tr[P_c F1 ... Fm] = Tr[P_c Fm^T ... F1^T]: propagate in the cheaper direction
    conj = _cost(seq[::-1]) < _cost(seq)
    if conj:
        seq = seq[::-1]
    # lowering still possible after each step: powers of the full G factors still to come
    rest = [
        sum(f for f, full in seq[t + 1 :] if full and isinstance(f, int)) for t in range(len(seq))
    ]
    ab_last = max(t for t, (f, _) in enumerate(seq) if isinstance(f, str) and f[0] in "ab")
    state: dict[int, np.ndarray] = {}
    for t, (f, full) in enumerate(seq):
        top = -1 + rest[t]
        if isinstance(f, str):
            mat = np.conj(slots[f]) if conj else slots[f]  # M^T = conj(M), M Hermitian
        if t == 0:  # first slot after the anchor: e_c^T P_c M = rows of M
            state = {-w0: mat}
        elif t == len(seq) - 1:  # closing slot: diag(X M) without the product
            state = {o: np.einsum("...ij,...ji->...i", x, mat) for o, x in state.items()}
        elif isinstance(f, str):
            state = {o: np.matmul(x, mat) for o, x in state.items()}
        else:
            state = _times_g(state, f, full, top, inmask, powers)
        if t == ab_last:
            state = {o: _contract(x, levi) for o, x in state.items()}
    return {-1 - o: x for o, x in state.items() if -1 - o <= MAX_DERIVATIVE}


def _cost(seq: list[tuple[int | str, bool]]) -> int:
    """Matrix products (in units of one n×n product) of a propagation order."""
    axes: set[str] = set()
    cost, contracted = 0, False
    slots = [f for f, _ in seq if isinstance(f, str)]
    last_ab = max(t for t, f in enumerate(slots) if f[0] in "ab")
    for t, f in enumerate(slots):
        axes |= set(f)
        if 0 < t < len(slots) - 1:
            width = 3 ** len(axes - ({"a", "b"} if contracted else set()))
            cost += width * (3 if contracted else 1)
        if t == last_ab:
            contracted = True
    return cost


def _times_g(
    state: dict[int, np.ndarray],
    w: int,
    full: bool,
    top: int,
    inmask: np.ndarray,
    powers: dict[int, np.ndarray],
) -> dict[int, np.ndarray]:
    """Row series × G^w = P_c u^{-w} (full only) + Σ_l binom(-w, l) u^l S_c^{w+l}, orders ≤ top."""
    out: dict[int, np.ndarray] = {}

    def add(order: int, x: np.ndarray) -> None:
        out[order] = out[order] + x if order in out else x

    for o, x in state.items():
        if full and o - w <= top:
            add(o - w, x * inmask)
        for ll in range(0, top - o + 1):
            add(o + ll, x * ((-1) ** ll * comb(w + ll - 1, ll) * powers[w + ll]))
    return out


def _contract(x: np.ndarray, levi: np.ndarray) -> np.ndarray:
    """Σ_ab ε_iab X_ab...: axes (a, b, ...) -> (i, 1, ...)."""
    return np.tensordot(levi, x, axes=([1, 2], [0, 1]))[:, None]
