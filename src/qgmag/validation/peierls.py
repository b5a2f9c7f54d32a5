"""Magnetic supercells: a uniform field B_z on a 2D tight-binding model by Peierls substitution.

The building block of :mod:`qgmag.validation.finite_field`: the q a1 × a2 supercell with
flux p/q flux quanta Φ0 = h/e per primitive cell (Landau gauge in fractional coordinates,
a site gauge that makes the hoppings periodic in the supercell), its field in tesla and
its k-mesh. Units: energies eV, lengths Å, B in T.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qgmag import constants as c
from qgmag.errors import QgmagError
from qgmag.models.tight_binding import TightBindingModel

#: flux quantum h/e in T·Å² (the flux per cell is (p/q) of it)
FLUX_QUANTUM_T_A2: float = c.PLANCK / c.ELEMENTARY_CHARGE / c.ANGSTROM**2
#: complex entries per chunk of supercell Hamiltonians (about 64 MiB)
_CHUNK_ENTRIES = 4 * 2**20


# -- validation --------------------------------------------------------------------------------


def _check_model(model: object) -> TightBindingModel:
    if not isinstance(model, TightBindingModel):
        raise QgmagError(
            "the finite-field check needs a qgmag.TightBindingModel (Peierls substitution acts "
            f"on hoppings between orbital positions); got {type(model).__name__}."
        )
    if model.dim != 2:
        raise QgmagError(
            f"the finite-field check is implemented for 2D models (B_z on a plane); got a "
            f"{model.dim}D model."
        )
    if model.gauge != "atomic":
        raise QgmagError(
            "the finite-field check uses the orbital positions (atomic gauge, SPEC §1); build "
            "the model with gauge='atomic' so that qgmag.compute uses the same positions."
        )
    return model


def _check_flux(q: int, p_max: int, kmesh: Sequence[int]) -> tuple[int, int, int, int]:
    if not isinstance(q, int | np.integer) or q < 2:
        raise QgmagError(f"q (supercell size, flux 1/q per cell) must be an integer >= 2; got {q}.")
    if not isinstance(p_max, int | np.integer) or not 1 <= p_max < q / 4:
        raise QgmagError(
            f"p_max must be an integer with 1 <= p_max < q/4 (fluxes ±1/q..±p_max/q stay in the "
            f"small-field regime); got p_max={p_max} with q={q}."
        )
    try:
        n1, n2 = (int(x) for x in kmesh)
    except (TypeError, ValueError):
        raise QgmagError(
            f"kmesh must be (L1, L2), the torus size in primitive cells; got {kmesh!r}."
        ) from None
    if n1 < q or n2 < 1 or n1 % q:
        raise QgmagError(
            f"kmesh=(L1, L2) is the torus size in primitive cells (the B = 0 equivalent k-mesh); "
            f"L1 must be a positive multiple of q={q} along the supercell axis; got {kmesh!r}. "
            f"Use e.g. kmesh=({q * max(1, round(n1 / q))}, {n2})."
        )
    return int(q), int(p_max), n1 // q, n2


# -- magnetic supercell ------------------------------------------------------------------------


def _swap_axes(model: TightBindingModel) -> TightBindingModel:
    """The same model with a1 <-> a2 (so that the supercell can be built along a2)."""
    return TightBindingModel.from_arrays(
        model.lattice[::-1],
        model.positions[:, ::-1],
        model.hopping_vectors[:, ::-1],
        model.hopping_matrices,
        positions_outside_cell=True,
        name=model.name,
    )


def magnetic_supercell(model: TightBindingModel, p: int, q: int) -> TightBindingModel:
    """The q a1 × a2 supercell of a 2D model with flux p/q Φ0 per primitive cell.

    B_z = (p/q) Φ0 / det(a1, a2) (negative when a1, a2 are left-handed). Hopping t_ij(R)
    from orbital j at s_j = R + τ_j to orbital i at s_i = τ_i (fractional coordinates) gets
    the Peierls phase θ = -2π (p/q) (s1_i + s1_j)/2 (s2_i - s2_j) of the straight-line
    integral of A·dr = Φ s1 ds2 for charge -e, plus the site gauge φ = 2π (p/q) τ2 n1
    (n1 the cell index along a1) that makes the hoppings periodic in q a1. Supercell orbital
    c·n_orb + i is orbital i of cell c along a1. No Zeeman term is added.
    """
    model = _check_model(model)
    q, p = int(q), int(p)
    if q < 1:
        raise QgmagError(f"q must be a positive integer; got {q}.")
    n = model.n_bands
    tau = model.positions  # (n, 2) fractional
    cells = np.arange(q)
    frac = p / q
    blocks: dict[tuple[int, int], np.ndarray] = {}
    for r_vec, t in zip(model.hopping_vectors, model.hopping_matrices, strict=True):
        r1, r2 = int(r_vec[0]), int(r_vec[1])
        s1_i = cells[:, None, None] + tau[None, :, 0, None]  # (q, n, 1)
        s1_j = cells[:, None, None] + r1 + tau[None, None, :, 0]  # (q, 1, n)
        ds2 = tau[:, 1, None] - (r2 + tau[None, :, 1])  # (n, n): s2_i - s2_j
        theta = -2.0 * np.pi * frac * 0.5 * (s1_i + s1_j) * ds2[None]
        theta += 2.0 * np.pi * frac * (tau[None, :, 1, None] * cells[:, None, None])
        theta -= 2.0 * np.pi * frac * (tau[None, None, :, 1] * (cells + r1)[:, None, None])
        phased = t[None] * np.exp(1j * theta)  # (q, n, n)
        source = cells + r1
        shift1, dest = np.divmod(source, q)
        for cell in range(q):
            key = (int(shift1[cell]), r2)
            block = blocks.get(key)
            if block is None:
                block = blocks[key] = np.zeros((q * n, q * n), dtype=complex)
            rows = slice(cell * n, (cell + 1) * n)
            cols = slice(int(dest[cell]) * n, (int(dest[cell]) + 1) * n)
            block[rows, cols] += phased[cell]
    keys = sorted(blocks)
    positions = np.concatenate(
        [np.column_stack([(cell + tau[:, 0]) / q, tau[:, 1]]) for cell in range(q)]
    )
    lattice = np.array([q * model.lattice[0], model.lattice[1]])
    return TightBindingModel.from_arrays(
        lattice,
        positions,
        np.array(keys, dtype=int),
        np.array([blocks[k] for k in keys]),
        positions_outside_cell=True,
        hermitian_tolerance=1e-9 * max(1.0, float(np.abs(model.hopping_matrices).max())),
        name=f"{model.name} (flux {p}/{q})",
    )


def _field_tesla(model: TightBindingModel, p: int, q: int) -> float:
    """B_z (T) of flux p/q per cell for lattice rows a1, a2 (signed area)."""
    return p / q * FLUX_QUANTUM_T_A2 / float(np.linalg.det(model.lattice))


def _kmesh_cartesian(lattice: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """Γ-centred (n1, n2, 2) Cartesian mesh (1/Å) of the cell with rows ``lattice``."""
    recip = 2.0 * np.pi * np.linalg.inv(lattice).T
    f1, f2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    return np.stack([f1, f2], axis=-1) @ recip


def _chunks(total: int, per_item: int) -> list[slice]:
    size = max(1, _CHUNK_ENTRIES // max(per_item, 1))
    return [slice(s, min(s + size, total)) for s in range(0, total, size)]
