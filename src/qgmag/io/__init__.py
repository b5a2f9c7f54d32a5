"""Input/output: Wannier90 tight-binding files (results files live in their own module)."""

from qgmag.io.w90_files import (
    RawWannierData,
    read_centres_xyz,
    read_hamiltonian_file,
    read_win_lattice,
    read_wout,
)
from qgmag.io.wannier90 import NotImplementedOptionError, model_info, read_wannier90

__all__ = [
    "NotImplementedOptionError",
    "RawWannierData",
    "model_info",
    "read_centres_xyz",
    "read_hamiltonian_file",
    "read_wannier90",
    "read_win_lattice",
    "read_wout",
]
