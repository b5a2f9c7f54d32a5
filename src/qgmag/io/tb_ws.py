"""Is a file's R list the plain Wigner–Seitz supercell of an ab-initio mesh?

Wannier90 (``hamiltonian_wigner_seitz``) writes ``_hr.dat`` / ``_tb.dat`` on the lattice
vectors R of the Wigner–Seitz cell of the Born–von Kármán supercell (N1 a1, N2 a2, N3 a3)
of its ``mp_grid``: those R that are at least as close to the origin as every R − (N1 L1,
N2 L2, N3 L3), each with degeneracy ndegen(R) = the number of equally close images, so that
Σ_R 1/ndegen(R) = N1 N2 N3. Such a file does not contain the minimal-distance replicas.
A file written with the replicas folded in (WannierBerri's ``to_tb_file``: every
degeneracy 1, extra R where a pair (m, n) has its minimal image outside the cell) is not
of this form. :func:`wigner_seitz_grid` finds the mesh whose supercell a file's R list and
degeneracies are, exactly, or None.
"""

from __future__ import annotations

import itertools

import numpy as np

#: Å; Wannier90's ws_distance_tol: images whose squared distances differ by less than its
#: square (1e-10 Å²) are equidistant, as in ``hamiltonian_wigner_seitz`` (a rounded lattice
#: makes near-ties of 1e-6 Å² that Wannier90 separates, so a looser tolerance would not
#: reproduce its R lists)
WS_DISTANCE_TOL = 1e-5


def wigner_seitz_supercell(
    lattice: np.ndarray,
    mp_grid: tuple[int, int, int],
    tolerance: float = WS_DISTANCE_TOL,
    search: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """The R list (nR, 3) int, sorted lexicographically, and the degeneracies (nR,) int of
    Wannier90's Wigner–Seitz supercell of ``mp_grid`` for ``lattice`` (rows, Å): for every
    grid class R0 (mod N), the images R0 + N L (|L_i| ≤ ``search``) of minimal length,
    each with degeneracy the number of such images."""
    lat = np.asarray(lattice, dtype=float)
    mp = np.array(mp_grid, dtype=np.int64)
    r0 = np.stack(np.meshgrid(*[np.arange(x) for x in mp], indexing="ij"), -1).reshape(-1, 3)
    steps = np.arange(-search, search + 1)
    shifts = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3) * mp
    cand = r0[:, None, :] + shifts[None, :, :]  # (N, S, 3)
    d2 = np.einsum("nsi,ij,nsj->ns", cand, lat @ lat.T, cand)
    chosen = np.abs(d2 - d2.min(axis=1, keepdims=True)) < tolerance**2
    degeneracy = np.broadcast_to(chosen.sum(axis=1, keepdims=True), chosen.shape)
    vectors, deg = cand[chosen], degeneracy[chosen]
    order = np.lexsort(vectors.T[::-1])
    return vectors[order].astype(np.int64), deg[order].astype(np.int64)


def _sorted(vectors: np.ndarray, degeneracies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vectors, dtype=np.int64)
    order = np.lexsort(v.T[::-1])
    return v[order], np.asarray(degeneracies, dtype=np.int64)[order]


def folds_onto(
    vectors: np.ndarray, degeneracies: np.ndarray, mp_grid: tuple[int, int, int]
) -> bool:
    """True if every grid class R0 (mod ``mp_grid``) carries Σ 1/ndegen = 1: the necessary
    condition of a Wigner–Seitz supercell (Wannier90 checks the total itself)."""
    mp = np.asarray(mp_grid, dtype=np.int64)
    v = np.asarray(vectors, dtype=np.int64)
    d = np.asarray(degeneracies, dtype=float)
    if v.shape[0] == 0 or np.any(d < 1):
        return False
    classes = np.zeros(tuple(int(x) for x in mp))
    np.add.at(classes, tuple(np.mod(v, mp).T), 1.0 / d)
    return bool(np.allclose(classes, 1.0, atol=1e-9))


def folding_grids(vectors: np.ndarray, degeneracies: np.ndarray) -> list[tuple[int, int, int]]:
    """Every mesh (ordered factorisation of Σ 1/ndegen) that ``vectors`` fold onto."""
    d = np.asarray(degeneracies, dtype=float)
    if d.size == 0 or np.any(d < 1):
        return []
    total = float(np.sum(1.0 / d))
    n = int(round(total))
    if n < 1 or abs(total - n) > 1e-6:
        return []
    divisors = [x for x in range(1, n + 1) if n % x == 0]
    grids = [
        (a, b, n // (a * b)) for a, b in itertools.product(divisors, divisors) if n % (a * b) == 0
    ]
    return [g for g in grids if folds_onto(vectors, degeneracies, g)]


def is_wigner_seitz_supercell(
    lattice: np.ndarray,
    vectors: np.ndarray,
    degeneracies: np.ndarray,
    mp_grid: tuple[int, int, int],
) -> bool:
    """True if ``vectors`` with ``degeneracies`` are exactly (same set, same integers) the
    Wigner–Seitz supercell of ``mp_grid``."""
    if not folds_onto(vectors, degeneracies, mp_grid):  # cheap necessary condition first
        return False
    v, d = _sorted(vectors, degeneracies)
    ws_v, ws_d = wigner_seitz_supercell(lattice, tuple(int(x) for x in mp_grid))
    return ws_v.shape == v.shape and bool(np.all(ws_v == v) and np.all(ws_d == d))


def wigner_seitz_grid(
    lattice: np.ndarray, vectors: np.ndarray, degeneracies: np.ndarray
) -> tuple[int, int, int] | None:
    """The mesh (N1, N2, N3) whose Wigner–Seitz supercell ``vectors``/``degeneracies`` are
    (tried: every mesh of :func:`folding_grids`), or None if there is none or more than
    one."""
    found = [
        g
        for g in folding_grids(vectors, degeneracies)
        if is_wigner_seitz_supercell(lattice, vectors, degeneracies, g)
    ]
    return found[0] if len(found) == 1 else None
