"""Separable Bloch sums on a uniform mesh: H(k), ∂H, ∂²H for a chunk of mesh lines.

On a Monkhorst–Pack mesh k = Σ_a f_a b_a with f_a = (i_a + s)/n_a, the phase factors
e^{ik·R} = e^{2πi f·R} of the lattice vectors R (integers) factorize. The mesh is
ordered with the last index fastest, so a chunk of consecutive points is a set of
*lines* (fixed leading indices, all or part of the last index) in one or a few *planes*
(fixed first index, 3D). For every Bloch-summed matrix Y (the hoppings and their
Cartesian-derivative terms, :meth:`TightBindingModel.grid_term_blocks`):

* per plane (3D): V(R_2, R_3) = Σ_{R_1} e^{2πi f_1 R_1} Y(R), one GEMM with a cached
  dense table, where cheaper than the next step over every R;
* per line:  W(R_l) = Σ_{R_lead} e^{2πi f_lead·R_lead} Y(R_lead, R_l) (or the same sum
  of V over R_2), the groups ±R_l combined into W(g) + W(-g) and i(W(g) - W(-g));
* per point: X(k) = W(0) + Σ_{g>0} [cos(2π f_l g)(W(g) + W(-g)) + sin(2π f_l g)
  i(W(g) - W(-g))], one real GEMM (half the operations of the complex one),

instead of the direct N × n_R sum. For a Wannier model with ~7 distinct components per
direction and lines of ~50 points this is several times fewer operations. The sums are
the same sums, in another order (equal to round-off), and assume no symmetry of Y. A
1D FFT along the line would need the R_l range padded to the line length and gains
nothing for n_Rl ≲ 10, and a full 3D FFT needs the whole mesh in memory at once (2.6 GB
for Fe 50³), which the chunked, bounded-memory design rules out.

:func:`grid_wannier_blocks` does the same for the Wannier matrices S(R), B(R), C(R) of
a :class:`~qgmag.models.wannier_model.WannierModel`. Both return None when the separable
route does not apply (not a tight-binding model, not a uniform mesh) or is estimated
slower than the direct sums (:func:`separable_is_faster`); the caller then uses
``model.bloch_blocks`` / ``model.wannier_blocks``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

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


def separable_is_faster(n_points: int, n_lines: int, n_r: int, n_coef: int, line: int) -> bool:
    """Operation-count estimate: separable (lines·n_R complex, then padded points·n_coef
    real coefficients times complex entries, :func:`separable_sum`) vs direct (N·n_R
    real, two per ±R pair)."""
    separable = 4.0 * n_lines * n_r + 2.0 * n_lines * line * n_coef
    direct = 2.0 * n_points * n_r
    return separable < SEPARABLE_MAX_COST_RATIO * direct


def sorted_by_last(rs: np.ndarray, y: ComplexArray) -> tuple[np.ndarray, ComplexArray]:
    """(R, Y) rows ordered by R's last component, then the one before it, and so on
    (lexicographic from the last): the layout :func:`separable_sum` takes without a copy
    (each R_l group, and each (R_2, R_3) combination in it, a contiguous slice)."""
    order = np.lexsort(rs.T)
    return rs[order], np.ascontiguousarray(y[order])


#: largest dense (R_1; R_2, R_3) table of a 3D plan (bytes); larger models keep two stages
PLANE_TABLE_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class _PlanePlan:
    """Stage 1 of a 3D sum: per mesh plane (fixed f_1), V(R_2, R_3) = Σ_{R_1} e^{2πi f_1 R_1}
    Y(R_1, R_2, R_3) as one GEMM with the dense table ``table`` (n_r1, n_c n_cols) (zero
    rows where an (R_1, R_2, R_3) is absent) for the combinations ``combos`` (n_c, 2) of
    (R_2, R_3), ordered by R_3 (``bounds``: each R_3 group's combinations)."""

    r1: np.ndarray
    combos: np.ndarray
    bounds: dict[int, tuple[int, int]]
    table: ComplexArray


@dataclass(frozen=True)
class _LinePlan:
    """The rows (R, Y) of a separable sum, ordered by :func:`sorted_by_last`, with each R_l
    group's row range, the positive |R_l| values and, for 3D meshes, the plane stage.
    ``rs``, ``y`` are the sorted copies, or None where the caller's arrays are in that
    order already (the plan holds no reference to them: its cache entry goes with them)."""

    rs: np.ndarray | None
    y: ComplexArray | None
    bounds: dict[int, tuple[int, int]]
    positive: np.ndarray
    plane: _PlanePlan | None


def _group_bounds(values: np.ndarray) -> dict[int, tuple[int, int]]:
    """{value: (lo, hi)} of the contiguous runs of a sorted integer array."""
    groups, first = np.unique(values, return_index=True)
    ends = [*first[1:].tolist(), values.size]
    return {g: (lo, hi) for g, lo, hi in zip(groups.tolist(), first.tolist(), ends, strict=True)}


def _build_plan(rs: np.ndarray, y: ComplexArray) -> _LinePlan:
    in_place = not np.any(np.diff(np.lexsort(rs.T)) != 1)
    if not in_place:  # not in the sorted layout: sort a copy
        rs, y = sorted_by_last(rs, y)
    r_last = rs[:, -1]
    positive = np.union1d(r_last, -r_last)
    plane = None
    if rs.shape[1] == 3:
        r1 = np.unique(rs[:, 0])
        combos, where = np.unique(rs[:, 1:][:, ::-1], axis=0, return_inverse=True)
        combos = combos[:, ::-1]  # (R_2, R_3), ordered by R_3 then R_2
        nbytes = r1.size * combos.shape[0] * y.shape[1] * 16
        if nbytes <= min(PLANE_TABLE_MAX_BYTES, 3 * y.nbytes):
            table = np.zeros((r1.size, combos.shape[0], y.shape[1]), dtype=complex)
            table[np.searchsorted(r1, rs[:, 0]), where.ravel()] = y
            plane = _PlanePlan(
                r1, combos, _group_bounds(combos[:, -1]), table.reshape(r1.size, -1)
            )
    kept = (None, None) if in_place else (rs, y)
    return _LinePlan(*kept, _group_bounds(r_last), positive[positive > 0], plane)


#: plans by id(y), each with a weak reference to its y (entries go when y does)
_PLANS: dict[int, tuple[weakref.ref, _LinePlan, tuple[int, ...]]] = {}


def _plan(rs: np.ndarray, y: ComplexArray) -> _LinePlan:
    """The cached :class:`_LinePlan` of (rs, y) (built once per y array)."""
    entry = _PLANS.get(id(y))
    if entry is not None and entry[0]() is y and entry[2] == rs.shape:
        return entry[1]
    plan = _build_plan(rs, y)
    key = id(y)
    ref = weakref.ref(y, lambda _, key=key, plans=_PLANS: plans.pop(key, None))
    _PLANS[key] = (ref, plan, rs.shape)
    return plan


def separable_sum(
    mesh: UniformMesh, start: int, stop: int, rs: np.ndarray, y: ComplexArray
) -> ComplexArray | None:
    """Σ_R e^{2πi f(k)·R} Y(R) (N, n_cols) for mesh points [start, stop) by separable sums
    along mesh lines, for integer R ``rs`` (n_R, d) and ``y`` (n_R, n_cols); None where the
    direct sum is estimated faster (:func:`separable_is_faster`). Rows in the layout of
    :func:`sorted_by_last` are used in place; others are sorted once (a cached copy).

    * 3D, per mesh plane: V(R_2, R_3) = Σ_{R_1} e^{2πi f_1 R_1} Y(R) (:class:`_PlanePlan`),
      where cheaper than summing every R per line;
    * per line: W(g) = Σ_{R_l = g} e^{2πi f_lead·R_lead} Y(R) (or the same sum of V), and
      the groups ±g combined, W(g) + W(-g) and i(W(g) - W(-g)), so that
    * per point the sum has the real coefficients cos(2π f_l g), sin(2π f_l g): one real
      GEMM with half the operations of the complex one.

    No symmetry of Y is assumed; the sums are the direct ones in another order.
    """
    lines, offset, line = chunk_lines(mesh, start, stop)
    plan = _plan(rs, y)
    n_pos = plan.positive.size
    if not separable_is_faster(stop - start, lines.size, rs.shape[0], 1 + 2 * n_pos, line):
        return None
    if plan.y is not None:  # the sorted copy
        rs, y = plan.rs, plan.y
    counts = np.asarray(mesh.counts)
    s = 0.5 if mesh.shift else 0.0
    if counts.size > 1:
        lead = np.stack(np.unravel_index(lines, tuple(counts[:-1])), axis=-1)  # (L, d-1)
    else:  # 1D: the one line has no leading components
        lead = np.zeros((lines.size, 0), dtype=int)
    f_lead = (lead + s) / counts[:-1]
    # Q[l] = [W(0), W(g) + W(-g) for g > 0, i(W(g) - W(-g)) for g > 0] (W of an absent
    # group zero)
    q = np.zeros((lines.size, 1 + 2 * n_pos, y.shape[1]), dtype=complex)
    planes, first = np.unique(lead[:, 0], return_index=True) if lead.shape[1] else ([], [])
    stage = plan.plane
    if stage is not None and (
        len(planes) * stage.r1.size * stage.combos.shape[0] + lines.size * stage.combos.shape[0]
        >= lines.size * rs.shape[0]
    ):
        stage = None
    if stage is None:
        phase = np.exp(2j * np.pi * (f_lead @ rs[:, :-1].T))  # (L, nR)
        _fill_line_sums(q, phase, y, plan.bounds, plan.positive)
    else:
        f1 = (np.asarray(planes) + s) / counts[0]
        v = np.exp(2j * np.pi * np.outer(f1, stage.r1)) @ stage.table  # (P, n_c n_cols)
        v = v.reshape(len(planes), stage.combos.shape[0], -1)
        ends = [*list(first[1:]), lines.size]
        for p, (lo, hi) in enumerate(zip(first, ends, strict=True)):
            phase = np.exp(2j * np.pi * np.outer(f_lead[lo:hi, 1], stage.combos[:, 0]))
            _fill_line_sums(q[lo:hi], phase, v[p], stage.bounds, plan.positive)
    f_last = (np.arange(line) + s) / counts[-1]
    angle = 2 * np.pi * np.outer(f_last, plan.positive)  # (line, n_pos)
    coef = np.concatenate([np.ones((line, 1)), np.cos(angle), np.sin(angle)], axis=1)
    full = np.matmul(coef[None], q.view(float)).view(complex)  # (L, line, n_cols)
    return full.reshape(lines.size * line, -1)[offset : offset + (stop - start)]


def _fill_line_sums(
    q: ComplexArray,
    phase: ComplexArray,
    data: ComplexArray,
    bounds: dict[int, tuple[int, int]],
    positive: np.ndarray,
) -> None:
    """Q (L, 1 + 2 n_pos, n_cols) of :func:`separable_sum` from W(g) = phase[:, rows of g]
    @ data[rows of g] (``bounds``: the rows of each last-component value g)."""
    n_pos = positive.size

    def group_sum(g: int, out: np.ndarray) -> bool:
        lo_hi = bounds.get(g)
        if lo_hi is None:
            return False
        lo, hi = lo_hi
        np.matmul(phase[:, lo:hi], data[lo:hi], out=out)
        return True

    group_sum(0, q[:, 0])
    minus = np.empty((q.shape[0], q.shape[2]), dtype=complex)
    for j, g in enumerate(positive.tolist()):
        plus, diff = q[:, 1 + j], q[:, 1 + n_pos + j]
        group_sum(g, plus)
        diff[...] = plus
        if group_sum(-g, minus):
            plus += minus
            diff -= minus
        diff *= 1j


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
