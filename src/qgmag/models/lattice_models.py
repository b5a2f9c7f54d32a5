"""Built-in tight-binding models (energies in eV, lengths in Å).

Each builder returns an immutable :class:`~qgmag.models.TightBindingModel` whose
docstring states its Hamiltonian. Orbital positions enter the Bloch phases (atomic gauge).
"""

from __future__ import annotations

import numpy as np

from qgmag.errors import ModelError
from qgmag.models.tight_binding import TightBindingModel

#: honeycomb primitive vectors in units of the lattice constant (rows)
_HONEYCOMB = np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])
#: second-neighbour vectors R (in units of a1, a2) forming a counter-clockwise triangle
_HONEYCOMB_NNN = ((1, 0), (-1, 1), (0, -1))
#: the three A -> B nearest-neighbour cells: B sits at tau_B + R
_HONEYCOMB_NN = ((0, 0), (-1, 0), (0, -1))


def haldane(
    t1: float = 1.0,
    t2: float = 0.1,
    phi: float = np.pi / 2,
    mass: float = 0.0,
    a: float = 2.46,
) -> TightBindingModel:
    """Haldane model on the honeycomb lattice.

    H = t1 Σ_<ij> c†_i c_j + t2 Σ_<<ij>> e^{i ν_ij φ} c†_i c_j + mass Σ_i ξ_i c†_i c_i

    Sublattices A at fractional (1/3, 1/3) and B at (2/3, 2/3) of a1 = a(1, 0),
    a2 = a(1/2, √3/2); ν_ij = +1 for second-neighbour hops A->A along a1, a2 - a1, -a2
    and ν_ij = -1 for the same hops on B; ξ = +1 on A, -1 on B. Chern insulator
    (|C| = 1) for |mass| < 3√3 |t2 sin φ|, trivial beyond. Energies in eV, a in Å.
    """
    if a <= 0:
        raise ModelError(f"lattice constant a must be positive (Å); got {a}.")
    hoppings = [(0, 1, r, t1) for r in _HONEYCOMB_NN]
    for r in _HONEYCOMB_NNN:
        hoppings.append((0, 0, r, t2 * np.exp(1j * phi)))
        hoppings.append((1, 1, r, t2 * np.exp(-1j * phi)))
    return TightBindingModel(
        a * _HONEYCOMB,
        [[1 / 3, 1 / 3], [2 / 3, 2 / 3]],
        hoppings,
        onsite=[mass, -mass],
        name="haldane",
        parameters={"t1": t1, "t2": t2, "phi": phi, "mass": mass, "a": a},
    )
