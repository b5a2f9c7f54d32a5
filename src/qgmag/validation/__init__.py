"""Independent checks of the geometric formulas, by routes that do not use them.

* :mod:`qgmag.validation.finite_field` — a uniform magnetic field put on a 2D
  tight-binding model by Peierls substitution in magnetic supercells: the orbital
  magnetization as -dΩ/dB and the orbital magnetoelectric response as dP/dB (Berry-phase
  polarization), from exact supercell spectra. Also importable as ``qgmag.finite_field``.
* :mod:`qgmag.validation.peierls` — the magnetic supercells it diagonalizes.
"""

from __future__ import annotations

from qgmag.validation import finite_field

__all__ = ["finite_field"]
