"""Crystal structures for spglib: atoms of a Wannier90 ``.win`` file plus user moments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qgmag.io.w90_files import BOHR_ANGSTROM, _read_text, _win_lines, read_win_lattice
from qgmag.symmetry.operations import MagneticGroup, SymmetryError, group_from_structure


def read_win_atoms(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(lattice rows Å, fractional positions (n, 3), species) from a ``.win`` file
    (``atoms_frac`` or ``atoms_cart`` block, units ang/bohr)."""
    lattice = read_win_lattice(path)
    p, text = _read_text(path, ".win file")
    lines = _win_lines(text)
    lower = [ln.lower() for ln in lines]
    for kind in ("atoms_frac", "atoms_cart"):
        begin = [i for i, ln in enumerate(lower) if re.fullmatch(rf"begin\s+{kind}", ln)]
        if not begin:
            continue
        ends = [
            i for i, ln in enumerate(lower) if i > begin[0] and re.fullmatch(rf"end\s+{kind}", ln)
        ]
        end = ends[0] if ends else None
        if end is None:
            raise SymmetryError(f"{str(p)!r}: 'begin {kind}' has no matching 'end {kind}'.")
        block = lines[begin[0] + 1 : end]
        scale = 1.0
        if block and block[0].lower() in ("bohr", "ang"):
            scale = BOHR_ANGSTROM if block[0].lower() == "bohr" else 1.0
            block = block[1:]
        species, coords = [], []
        for line in block:
            parts = line.split()
            try:
                coords.append([float(x.replace("d", "e").replace("D", "e")) for x in parts[1:4]])
            except ValueError:
                coords = []
                break
            species.append(parts[0])
        if not coords or any(len(c) != 3 for c in coords):
            raise SymmetryError(
                f"{str(p)!r}: the {kind} block must hold lines 'Species x y z'; found {block!r}."
            )
        xyz = np.array(coords)
        if kind == "atoms_cart":
            xyz = (xyz * scale) @ np.linalg.inv(lattice)
        return lattice, xyz, species
    raise SymmetryError(
        f"{str(p)!r} has no atoms_frac or atoms_cart block: give the structure to "
        "qgmag.symmetry.group_from_structure directly."
    )


def group_from_win(
    path: str | Path,
    moments: Sequence[Sequence[float]] | np.ndarray | None = None,
    *,
    symprec: float = 1e-5,
) -> MagneticGroup:
    """Magnetic point group of the crystal in a ``.win`` file with the given moments.

    moments : (n_atoms, 3) Cartesian magnetic moments (or (n_atoms,) along z), in the order
        of the atoms block; None for a non-magnetic crystal.
    """
    lattice, frac, species = read_win_atoms(path)
    group = group_from_structure(lattice, frac, species, moments, symprec=symprec)
    group.source = f"spglib on {Path(path).name} with moments {np.asarray(moments).tolist()}"
    return group
