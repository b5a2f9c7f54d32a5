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

from qgmag.io.w90_rspace import mdrs_vectors

#: Å; supercell images closer to the minimal distance than this count as equidistant (ties
#: of a symmetric lattice are exact to ~1e-15 Å; Wannier90 compares squared distances to
#: 1e-10 Å², which is 1e-11 Å at 5 Å)
WS_TIE_TOLERANCE = 1e-6


def wigner_seitz_supercell(
    lattice: np.ndarray, mp_grid: tuple[int, int, int], tolerance: float = WS_TIE_TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """The R list (nR, 3) int, sorted lexicographically, and the degeneracies (nR,) int of
    Wannier90's Wigner–Seitz supercell of ``mp_grid`` for ``lattice`` (rows, Å)."""
    vectors, _, weights = mdrs_vectors(
        np.asarray(lattice, dtype=float), tuple(mp_grid), np.zeros((1, 3)), tolerance=tolerance
    )
    return vectors.astype(np.int64), np.rint(1.0 / weights[:, 0, 0]).astype(np.int64)


def _sorted(vectors: np.ndarray, degeneracies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vectors, dtype=np.int64)
    order = np.lexsort(v.T[::-1])
    return v[order], np.asarray(degeneracies, dtype=np.int64)[order]


def is_wigner_seitz_supercell(
    lattice: np.ndarray,
    vectors: np.ndarray,
    degeneracies: np.ndarray,
    mp_grid: tuple[int, int, int],
) -> bool:
    """True if ``vectors`` with ``degeneracies`` are exactly (same set, same integers) the
    Wigner–Seitz supercell of ``mp_grid``."""
    mp = np.asarray(mp_grid, dtype=np.int64)
    v, d = _sorted(vectors, degeneracies)
    if v.shape[0] == 0 or np.any(d < 1):
        return False
    # cheap necessary condition first: every grid class R0 (mod N) carries weight 1
    classes = np.zeros(tuple(int(x) for x in mp))
    np.add.at(classes, tuple(np.mod(v, mp).T), 1.0 / d)
    if not np.allclose(classes, 1.0, atol=1e-9):
        return False
    ws_v, ws_d = wigner_seitz_supercell(lattice, tuple(int(x) for x in mp))
    return ws_v.shape == v.shape and bool(np.all(ws_v == v) and np.all(ws_d == d))


def wigner_seitz_grid(
    lattice: np.ndarray, vectors: np.ndarray, degeneracies: np.ndarray
) -> tuple[int, int, int] | None:
    """The mesh (N1, N2, N3) whose Wigner–Seitz supercell ``vectors``/``degeneracies`` are
    (tried: every ordered factorisation of Σ 1/ndegen), or None if there is none or more
    than one."""
    d = np.asarray(degeneracies, dtype=float)
    if d.size == 0 or np.any(d < 1):
        return None
    total = float(np.sum(1.0 / d))
    n = int(round(total))
    if n < 1 or abs(total - n) > 1e-6:
        return None
    divisors = [x for x in range(1, n + 1) if n % x == 0]
    found = [
        (a, b, n // (a * b))
        for a, b in itertools.product(divisors, divisors)
        if n % (a * b) == 0
        and is_wigner_seitz_supercell(lattice, vectors, degeneracies, (a, b, n // (a * b)))
    ]
    return found[0] if len(found) == 1 else None
