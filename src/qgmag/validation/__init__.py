"""Independent checks of the geometric formulas, by routes that do not use them.

* :mod:`qgmag.validation.finite_field` — a uniform magnetic field put on a 2D
  tight-binding model by Peierls substitution in magnetic supercells: the orbital
  magnetization as -dΩ/dB and the orbital magnetoelectric response as dP/dB (Berry-phase
  polarization), from exact supercell spectra. Also importable as ``qgmag.finite_field``.
* :mod:`qgmag.validation.peierls` — the magnetic supercells it diagonalizes.
* :mod:`qgmag.validation.second_order_field` — E² spin checks (exact ribbons, Zeeman
  Hellmann–Feynman, Boltzmann f2) and the test magnet.
* :mod:`qgmag.validation.second_order_orbital` — the E² orbital τ⁰ response of an
  insulator as ∂P/∂B of the filled-band polarizability in magnetic supercells.
"""

from __future__ import annotations

from qgmag.validation import finite_field

__all__ = ["finite_field"]
