"""Wannier90's minimal-distance (``use_ws_distance``) rule applied to a ``_tb.dat`` model.

A ``_hr.dat`` / ``_tb.dat`` file holds H(R) on the Wigner–Seitz supercell of the ab-initio
mesh (N1×N2×N3), *without* the minimal-distance-replica correction that Wannier90 applies
in its own interpolation when the ``.win`` sets ``use_ws_distance = true`` (the default of
Wannier90 ≥ 3). On a coarse mesh the difference is large: GaAs_tb.dat (2×2×2 mesh) read
as written breaks the cubic symmetry of its band energies by 1.2 eV at generic k and has
no gap (bands 8 and 9 overlap from 7.51 to 8.50 eV), while the corrected model has the
Γ gap 7.7209–8.1237 eV of ``scf.out`` as its gap and is cubic to 9.3e-3 eV (tests/cross_code/
test_gaas_second_order.py).

The rule (the same as :func:`qgmag.io.w90_rspace.mdrs_vectors` for runs): fold the file's
H(R) (already divided by the degeneracies) onto the grid, H(R0) = Σ_{R ≡ R0 mod N} H(R),
then give every orbital pair (m, n) the images R0 + (N1 L1, N2 L2, N3 L3) that minimise
|R + τ_n - τ_m|, each with weight 1/(number of equidistant images). On the ab-initio mesh
the Bloch sums are unchanged (k·N L ∈ 2πℤ); in between they are Wannier90's interpolation.

When :func:`qgmag.read_wannier90` applies it (``minimal_distance=``, default "auto"):
:func:`choose` decides, :func:`apply_rule` does it on the arrays (H(R) and, for
``_tb.dat``, r(R) get the same weights). The "auto" rule: apply it exactly when the file's
R list and degeneracies are the plain Wigner–Seitz supercell of an ab-initio mesh
(:mod:`qgmag.io.tb_ws`: what Wannier90 writes, without replicas), unless the ``.win``
beside the file says ``use_ws_distance = false``; the mesh is ``mp_grid=``, else the
``.win``'s ``mp_grid``, else the one mesh whose supercell the R list is. Files that are no
such supercell (WannierBerri's, with the replicas folded in, every degeneracy 1; the Fe and
Te reference files) are read as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io.tb_ws import (
    folding_grids,
    folds_onto,
    is_wigner_seitz_supercell,
    wigner_seitz_grid,
)
from qgmag.io.w90_files import read_win_minimal_distance
from qgmag.io.w90_rspace import to_r_space
from qgmag.models.tight_binding import TightBindingModel

#: images closer to the minimal distance than this (Å) share the weight. Wannier centres
#: written to 1e-5 Å are noisy at that level, so the 1e-5 Å of runs splits near-ties at
#: random on a coarse mesh: GaAs_tb.dat keeps its 3-fold axes to 9.3e-3 eV with 1e-3 Å
#: (and 1e-2 Å), but breaks them by 0.94 eV with 1e-5 Å.
TIE_TOLERANCE = 1e-3


def minimal_distance_model(
    model: TightBindingModel, mp_grid: tuple[int, int, int], tolerance: float = TIE_TOLERANCE
) -> TightBindingModel:
    """``model`` (atomic gauge, H(R) of a Wannier90 file) with the minimal-distance rule
    for the ab-initio mesh ``mp_grid`` (the ``mp_grid`` of the ``.win``); ``tolerance`` (Å)
    for equidistant images. Spin matrices are kept; position matrices r(R) are not
    carried over (tight-binding Berry connection)."""
    mp = as_mp_grid(mp_grid)
    lattice = np.asarray(model.lattice)
    centres = np.asarray(model.positions) @ lattice
    new_vectors, (matrices,) = apply_rule(
        lattice,
        centres,
        mp,
        np.asarray(model.hopping_vectors),
        np.asarray(model.hopping_matrices),
        tolerance=tolerance,
    )
    return TightBindingModel.from_arrays(
        lattice,
        model.positions,
        new_vectors,
        matrices,
        getattr(model, "spin", None),
        gauge="atomic",
        name=f"{model.name} (minimal-distance rule, mp_grid {mp})",
        parameters={**dict(getattr(model, "parameters", {})), "mdrs_mp_grid": list(mp)},
        positions_outside_cell=True,
    )


def as_mp_grid(mp_grid: Any) -> tuple[int, int, int]:
    """``mp_grid`` as three positive ints, or a one-line error."""
    try:
        mp = tuple(int(x) for x in mp_grid)
        ok = len(mp) == 3 and min(mp) >= 1 and all(float(x) == int(x) for x in mp_grid)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise WannierFormatError(
            f"mp_grid must be three positive integers (the ab-initio mesh of the .win, e.g. "
            f"mp_grid=(2, 2, 2)); got {mp_grid!r}."
        )
    return mp  # type: ignore[return-value]


def minimal_images(
    lattice: np.ndarray,
    mp_grid: tuple[int, int, int],
    centres: np.ndarray,
    search: int = 3,
    tolerance: float = TIE_TOLERANCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`qgmag.io.w90_rspace.mdrs_vectors` (same R list, grid indices and weights, the
    same arithmetic) one grid vector R0 at a time, on the images that can be minimal
    (length within 2 max|τ_n − τ_m| of the shortest): memory ≤ (2 search + 1)³ n² instead of
    N times that (an 8×8×8 mesh with 40 Wannier functions: ≤ 13 MB instead of 6.7 GB)."""
    mp = np.array(mp_grid)
    n = centres.shape[0]
    r0 = np.stack(np.meshgrid(*[np.arange(x) for x in mp], indexing="ij"), -1).reshape(-1, 3)
    steps = np.arange(-search, search + 1)
    shifts = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3) * mp
    diff = centres[None, :, :] - centres[:, None, :]  # (m, n, 3): τ_n - τ_m
    reach = 2 * float(np.max(np.linalg.norm(diff, axis=-1))) + tolerance + 1e-9
    vectors, index, weights = [], [], []
    for g in r0:
        cand = g[None, :] + shifts  # (S, 3)
        cart = cand @ lattice
        # |c + d| ≥ |c| - max|d|: images longer than the shortest + 2 max|d| are never chosen
        length = np.linalg.norm(cart, axis=-1)
        keep = length <= length.min() + reach
        cand, cart = cand[keep], cart[keep]
        dist = np.linalg.norm(cart[:, None, None, :] + diff[None], axis=-1)
        chosen = dist < dist.min(axis=0, keepdims=True) + tolerance  # (S, m, n)
        used = np.flatnonzero(np.any(chosen, axis=(1, 2)))
        vectors.append(cand[used])
        index.append(np.broadcast_to(g, (used.size, 3)))
        weights.append((chosen / chosen.sum(axis=0, keepdims=True))[used])
    v, i, w = np.concatenate(vectors), np.concatenate(index), np.concatenate(weights)
    order = np.lexsort(v.T[::-1])
    return v[order], i[order], w[order].reshape(-1, n, n)


def apply_rule(
    lattice: np.ndarray,
    centres: np.ndarray,
    mp_grid: tuple[int, int, int],
    vectors: np.ndarray,
    *matrices: np.ndarray,
    tolerance: float = TIE_TOLERANCE,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The minimal-distance rule on arrays: ``matrices`` (each (nR, n, n, ...), already
    divided by the degeneracies) on ``vectors`` (nR, 3) are folded onto the ``mp_grid``
    grid and spread over the minimal images of every pair for the Cartesian ``centres``
    (n, 3) Å. Returns the new R list and the matrices on it, in the order given."""
    mp = as_mp_grid(mp_grid)
    new_vectors, index, weights = minimal_images(
        np.asarray(lattice, dtype=float),
        mp,
        np.asarray(centres, dtype=float),
        tolerance=tolerance,
    )
    folded = tuple(np.mod(np.asarray(vectors), mp).T)
    out = []
    for x in matrices:
        grid = np.zeros(mp + x.shape[1:], dtype=complex)
        np.add.at(grid, folded, x)
        out.append(to_r_space(grid, index, weights))
    return new_vectors, out


@dataclass(frozen=True)
class Choice:
    """Whether the reader applies the rule, on which mesh, and why (for the provenance)."""

    option: str  # "auto", "true" or "false", as asked
    applied: bool
    mp_grid: tuple[int, int, int] | None
    mp_grid_source: str | None
    reason: str
    warning: str | None = None  # for a file that looks Wannier90-written but is not read so

    def record(self) -> dict[str, Any]:
        """JSON-friendly dict for ``model.parameters["minimal_distance"]``."""
        return {
            "option": self.option,
            "applied": self.applied,
            "mp_grid": None if self.mp_grid is None else list(self.mp_grid),
            "mp_grid_source": self.mp_grid_source,
            "reason": self.reason,
            "tie_tolerance_angstrom": TIE_TOLERANCE if self.applied else None,
        }


def _option(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str) and value == "auto":
        return "auto"
    raise WannierFormatError(f"minimal_distance must be 'auto', True or False; got {value!r}.")


def _refuse_other_supercell(
    path: Path,
    lattice: np.ndarray,
    vectors: np.ndarray,
    degeneracies: np.ndarray,
    grid: tuple[int, int, int],
    source: str | None,
) -> None:
    """A file written by Wannier90 on another mesh than ``grid``: the rule would alias."""
    found = wigner_seitz_grid(lattice, vectors, degeneracies)
    if found is not None:
        raise WannierFormatError(
            f"{str(path)!r}: the R list is the Wigner-Seitz supercell of mp_grid {found}, "
            f"not of mp_grid {grid} from {source}: pass the mesh the file was written on "
            "(mp_grid=) or minimal_distance=False to read it as written."
        )


def _not_a_supercell(
    path: Path,
    option: str,
    grid: Any,
    source: str | None,
    vectors: np.ndarray,
    degeneracies: np.ndarray,
) -> Choice:
    mesh = "any mesh" if grid is None else f"mp_grid {grid}"
    reason = (
        f"the R list is not the plain Wigner-Seitz supercell of {mesh} (minimal-distance "
        "replicas already in the file, e.g. written by WannierBerri): read as written"
    )
    warning = None
    near = folding_grids(vectors, degeneracies) if grid is None else [grid]
    near = [g for g in near if folds_onto(vectors, degeneracies, g)]
    if np.any(np.asarray(degeneracies) != 1) and near:
        warning = (
            f"{str(path)!r} folds onto mp_grid {near[0]} with Wigner-Seitz degeneracies like a "
            "file written by Wannier90, but its R list is not that mesh's supercell, so "
            "minimal_distance='auto' read it as written (no minimal-distance "
            "rule); pass minimal_distance=True with mp_grid=(N1, N2, N3) of its run to apply "
            "the rule, or minimal_distance=False to read it as written without this warning."
        )
    return Choice(option, False, grid, source, reason, warning)


def choose(
    path: Path,
    lattice: np.ndarray,
    vectors: np.ndarray,
    degeneracies: np.ndarray,
    minimal_distance: Any = "auto",
    mp_grid: Any = None,
    win: Path | None = None,
) -> Choice:
    """Decide the minimal-distance rule for the file ``path`` (R list ``vectors`` with
    ``degeneracies`` as written, ``lattice`` rows in Å, ``win`` the ``.win`` beside it or
    None). See the module docstring for the "auto" rule; True needs ``mp_grid`` or the
    ``.win``'s mp_grid; False reads the file as written."""
    option = _option(minimal_distance)
    use, win_grid = read_win_minimal_distance(win) if win is not None else (None, None)
    if option == "false":
        return Choice(option, False, None, None, "minimal_distance=False: read as written")
    grid, source = None, None
    if mp_grid is not None:
        grid, source = as_mp_grid(mp_grid), "argument mp_grid="
    elif win_grid is not None:
        grid, source = win_grid, f"{win} (mp_grid)"
    ws = is_wigner_seitz_supercell(lattice, vectors, degeneracies, grid) if grid else None
    if option == "true":
        if grid is None:
            found = wigner_seitz_grid(lattice, vectors, degeneracies)
            hint = (
                f" (its R list is the Wigner-Seitz supercell of mp_grid {found}: "
                "minimal_distance='auto' uses that)"
                if found
                else ""
            )
            raise WannierFormatError(
                f"minimal_distance=True needs the ab-initio mesh of {str(path)!r}: pass "
                f"mp_grid=(N1, N2, N3) or put the run's .win (mp_grid) beside the file{hint}."
            )
        if not ws:
            _refuse_other_supercell(path, lattice, vectors, degeneracies, grid, source)
        return Choice(option, True, grid, source, "minimal_distance=True")
    if use is False:
        return Choice(
            option, False, grid, source, f"{win} sets use_ws_distance = false: read as written"
        )
    if grid is None:
        grid = wigner_seitz_grid(lattice, vectors, degeneracies)
        if grid is None:
            return _not_a_supercell(path, option, None, None, vectors, degeneracies)
        source, ws = "the R list (the Wigner-Seitz supercell of this mesh)", True
    if not ws:
        _refuse_other_supercell(path, lattice, vectors, degeneracies, grid, source)
        return _not_a_supercell(path, option, grid, source, vectors, degeneracies)
    flag = "use_ws_distance = true" if use else "use_ws_distance absent (Wannier90 >= 3: true)"
    where = f"{win}: {flag}" if win is not None else "no .win beside the file"
    return Choice(
        option,
        True,
        grid,
        source,
        f"the R list is Wannier90's Wigner-Seitz supercell of mp_grid {grid} (no "
        f"minimal-distance replicas); {where}",
    )
