"""Magnetic symmetry: magnetic point groups, allowed tensor forms, irreducible k-meshes."""

from qgmag.symmetry.operations import (
    MagneticGroup,
    MagneticOperation,
    SymmetryError,
    generate_group,
    group_from_structure,
    lattice_candidates,
    operation,
)

__all__ = [
    "MagneticGroup",
    "MagneticOperation",
    "SymmetryError",
    "generate_group",
    "group_from_structure",
    "lattice_candidates",
    "operation",
]
