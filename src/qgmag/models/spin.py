"""Pauli matrices and spin operators S/hbar for spinful orbital bases."""

from __future__ import annotations

import numpy as np

from qgmag.models.base import ComplexArray

SIGMA_0 = np.eye(2, dtype=complex)
SIGMA_X = np.array([[0, 1], [1, 0]], dtype=complex)
SIGMA_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
SIGMA_Z = np.array([[1, 0], [0, -1]], dtype=complex)
#: (3, 2, 2) Pauli matrices sigma_x, sigma_y, sigma_z
PAULI = np.stack([SIGMA_X, SIGMA_Y, SIGMA_Z])

SPINOR_ORDERINGS = ("spin-fastest", "spin-blocks")


def spin_operators(n_orbitals: int, ordering: str = "spin-fastest") -> ComplexArray:
    """S/hbar = sigma/2 for ``n_orbitals`` spatial orbitals, each with spin up and down.

    ``ordering`` = "spin-fastest": basis (orb0 up, orb0 dn, orb1 up, ...), as Wannier90 3.x
    writes spinor Wannier functions; "spin-blocks": (orb0 up, orb1 up, ..., orb0 dn, ...).
    Returns (3, 2 n_orbitals, 2 n_orbitals).
    """
    if ordering == "spin-fastest":
        return 0.5 * np.stack([np.kron(np.eye(n_orbitals), p) for p in PAULI])
    if ordering == "spin-blocks":
        return 0.5 * np.stack([np.kron(p, np.eye(n_orbitals)) for p in PAULI])
    raise ValueError(f"spin ordering must be one of {SPINOR_ORDERINGS}; got {ordering!r}.")
