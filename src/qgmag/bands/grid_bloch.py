"""Separable Bloch sums on a uniform mesh: H(k), ∂H, ∂²H for a chunk of mesh lines.

On a Monkhorst–Pack mesh k = Σ_a f_a b_a with f_a = (i_a + s)/n_a, the phase factors
e^{ik·R} = e^{2πi f·R} of the lattice vectors R (integers) factorize. The mesh is
ordered with the last index fastest, so a chunk of consecutive points is a set of
*lines* (fixed leading indices, all or part of the last index). With R = (R_lead, R_l):

* per line:  W(R_l) = Σ_{R_lead} e^{2πi f_lead·R_lead} Y(R_lead, R_l)   (n_lines × n_R)
* per point: X(k)  = Σ_{R_l} e^{2πi f_l R_l} W_line(k)(R_l)              (N × n_Rl)

for every Bloch-summed matrix Y (the hoppings and their Cartesian-derivative terms,
:meth:`TightBindingModel.grid_term_blocks`), instead of the direct N × n_R sum. For a
Wannier model with n_Rl ≈ 7 distinct last components and lines of ~50 points this is a
few times fewer operations. The sums are the same sums, in another order (equal to
round-off). It is a per-line discrete Fourier sum: a 1D FFT along the line would need
the R_l range padded to the line length and gains nothing for n_Rl ≲ 10, and a full 3D
FFT needs the whole mesh in memory at once (2.6 GB for Fe 50³), which the chunked,
bounded-memory design rules out; both are GEMMs here (one BLAS call per R_l group and
one batched call per chunk).

:func:`grid_wannier_blocks` does the same for the Wannier matrices S(R), B(R), C(R) of
a :class:`~qgmag.models.wannier_model.WannierModel`. Both return None when the separable
route does not apply (not a tight-binding model, not a uniform mesh) or is estimated
slower than the direct sums (:func:`separable_is_faster`); the caller then uses
``model.bloch_blocks`` / ``model.wannier_blocks``.
"""

from __future__ import annotations

import numpy as np

from qgmag.kspace.mesh import UniformMesh
from qgmag.models.base import ComplexArray

#: use the separable route when its estimated operation count is below this fraction
#: of the direct GEMM's (complex products count 4 real ones, the direct real GEMM with
#: the ±R pairing (2 real rows per pair) 2 per R)
SEPARABLE_MAX_COST_RATIO = 0.6


def chunk_lines(mesh: UniformMesh, start: int, stop: int) -> tuple[np.ndarray, int, int]:
    """(line indices (L,), first point's offset in its line, points per line)."""
    n_last = mesh.counts[-1]
    first, last = start // n_last, (stop - 1) // n_last
    return np.arange(first, last + 1), start - first * n_last, n_last


def separable_is_faster(n_points: int, n_lines: int, n_r: int, n_r_last: int, line: int) -> bool:
    """Operation-count estimate: separable (lines·n_R + padded points·n_Rl complex) vs
    direct (N·n_R real, two per ±R pair)."""
    separable = 4.0 * (n_lines * n_r + n_lines * line * n_r_last)
    direct = 2.0 * n_points * n_r
    return separable < SEPARABLE_MAX_COST_RATIO * direct


def separable_sum(
    mesh: UniformMesh, start: int, stop: int, rs: np.ndarray, y: ComplexArray
) -> ComplexArray | None:
    """Σ_R e^{2πi f(k)·R} Y(R) (N, n_cols) for mesh points [start, stop) by separable sums
    along mesh lines, for integer R ``rs`` (n_R, d) and ``y`` (n_R, n_cols); None where the
    direct sum is estimated faster (:func:`separable_is_faster`)."""
    lines, offset, line = chunk_lines(mesh, start, stop)
    r_last = rs[:, -1]
    groups = np.unique(r_last)
    if not separable_is_faster(stop - start, lines.size, rs.shape[0], groups.size, line):
        return None
    counts = np.asarray(mesh.counts)
    s = 0.5 if mesh.shift else 0.0
    lead = np.stack(np.unravel_index(lines, tuple(counts[:-1])), axis=-1)  # (L, d-1)
    f_lead = (lead + s) / counts[:-1]
    phase_lead = np.exp(2j * np.pi * (f_lead @ rs[:, :-1].T))  # (L, nR)
    # W[l, g] = Σ_{R: R_l = groups[g]} phase_lead[l, R] Y(R)
    w = np.empty((lines.size, groups.size, y.shape[1]), dtype=complex)
    for g, value in enumerate(groups):
        sel = np.flatnonzero(r_last == value)
        w[:, g] = phase_lead[:, sel] @ y[sel]
    f_last = (np.arange(line) + s) / counts[-1]
    phase_last = np.exp(2j * np.pi * np.outer(f_last, groups))  # (line, G)
    full = np.matmul(phase_last[None], w)  # (L, line, n_cols)
    return full.reshape(lines.size * line, -1)[offset : offset + (stop - start)]


def grid_bloch_blocks(
    model: object, mesh: object, start: int, stop: int, order: int = 1, connection: bool = False
) -> dict[str, ComplexArray | None] | None:
    """The dict of ``model.bloch_blocks(k, order, connection)`` for mesh points [start,
    stop) of a uniform mesh by separable sums, or None where that is not the faster or
    not a possible route."""
    if not isinstance(mesh, UniformMesh) or not hasattr(model, "grid_term_blocks"):
        return None
    rs, y = model.grid_term_blocks(order, connection)  # type: ignore[attr-defined]
    full = separable_sum(mesh, start, stop, rs, y)
    if full is None:
        return None
    n = int(model.n_bands)  # type: ignore[attr-defined]
    nk = stop - start
    blocks = np.moveaxis(full.reshape(nk, -1, n, n), 1, 0)  # (n_terms, N, n, n)
    from qgmag.models.tight_binding import unpack_bloch_terms

    # ∂_a∂_b H as its distinct pairs (a view, no symmetric copy): BandData builds the
    # (d, d) form only if asked for it
    out = unpack_bloch_terms(blocks, int(model.dim), order, connection, d2h_pairs=True)  # type: ignore[attr-defined]
    if getattr(model, "gauge", None) == "atomic":
        k, _ = mesh.chunk(start, stop)
        out["phase"] = np.exp(1j * (k @ model._tau.T))  # type: ignore[attr-defined]
    return out


def grid_wannier_blocks(
    model: object, mesh: object, start: int, stop: int, key: str
) -> ComplexArray | None:
    """``model.wannier_blocks(k, key)`` (3, N, n, n) of a WannierModel for mesh points
    [start, stop) by separable sums, or None where that is not the faster or not a
    possible route."""
    if not isinstance(mesh, UniformMesh) or not hasattr(model, "grid_wannier_terms"):
        return None
    rs, y = model.grid_wannier_terms(key)  # type: ignore[attr-defined]
    full = separable_sum(mesh, start, stop, rs, y)
    if full is None:
        return None
    n = int(model.n_bands)  # type: ignore[attr-defined]
    return np.moveaxis(full.reshape(stop - start, -1, n, n), 1, 0)
