"""Models and structures from other codes: PythTB, TBmodels (objects and HDF5 files), ASE, pymatgen.

Conventions mapped (qgmag: SPEC §1, ``t_ij(R) = <i,0|H|j,R>``, atomic gauge
``H_ij(k) = Σ_R t_ij(R) e^{ik·(R + τ_j - τ_i)}``, lattice rows in Å, energies in eV):

* **PythTB** (``tb_model``, 1.x): ``set_hop(t, i, j, R)`` is ``<i,0|H|j,R> = t``, its
  Hermitian conjugate added by PythTB, on-site energies separate; PythTB's Hamiltonian uses
  the orbital positions in the phases (its "convention 1"), which is qgmag's atomic gauge, so
  the blocks carry over unchanged. ``nspin = 2`` models (2×2 amplitudes and on-site
  matrices) become spinor models with basis (orbital, spin) spin-fastest and S/ħ = σ/2.
  Only fully periodic models (``dim_k == dim_r`` = 2 or 3) are accepted.
* **TBmodels** (``tbmodels.Model``): ``hop[R]`` holds half of the Hamiltonian,
  ``H(k) = Σ_R hop[R] e^{2πi k·R} + h.c.`` (the on-site term is split in two halves in
  ``hop[0]``), so ``t(R) = hop[R] + hop[-R]^†``. TBmodels has no spin: pass
  ``spinor_ordering`` when its orbitals are spinors. HDF5 files written by TBmodels
  (``Model.to_hdf5_file``) are read with h5py by :func:`read_tbmodels_hdf5` (TBmodels
  itself is not needed).
* Lengths: the codes are unit-free; qgmag reads their lattice vectors as Å and energies as
  eV (``length_unit`` scales the lattice: 0.529177 for bohr).

Structures (for symmetry analysis): :func:`structure_cell` turns an ASE ``Atoms`` or a
pymatgen ``Structure`` into the spglib cell ``(lattice, fractional positions, numbers)``
(with magnetic moments when the object has them). ASE and pymatgen are optional.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from qgmag.errors import ModelError, QgmagError
from qgmag.models.spin import SPINOR_ORDERINGS, spin_operators
from qgmag.models.tight_binding import TightBindingModel


def _blocks_to_model(
    lattice: np.ndarray,
    positions: np.ndarray,
    blocks: Mapping[tuple[int, ...], np.ndarray],
    spin: np.ndarray | None,
    name: str,
    parameters: dict[str, Any],
) -> TightBindingModel:
    """Full t(R) blocks (closed under R -> -R) -> TightBindingModel."""
    n = positions.shape[0]
    keys = sorted(blocks)
    for key in keys:  # make the set closed under R -> -R
        minus = tuple(-x for x in key)
        if minus not in blocks:
            raise ModelError(f"internal: block R={key} has no partner -R.")  # pragma: no cover
    vectors = np.array(keys, dtype=int).reshape(len(keys), lattice.shape[0])
    matrices = np.array([blocks[k] for k in keys], dtype=complex).reshape(len(keys), n, n)
    return TightBindingModel.from_arrays(
        lattice,
        positions,
        vectors,
        matrices,
        spin,
        name=name,
        parameters=parameters,
        positions_outside_cell=True,
    )


def _add(
    blocks: dict[tuple[int, ...], np.ndarray], key: tuple[int, ...], mat: np.ndarray, n: int
) -> None:
    if key not in blocks:
        blocks[key] = np.zeros((n, n), dtype=complex)
    blocks[key] += mat


# -- PythTB --------------------------------------------------------------------------------------


def from_pythtb(
    tb_model: Any, *, name: str = "pythtb model", length_unit: float = 1.0
) -> TightBindingModel:
    """A qgmag model equal to a PythTB ``tb_model`` (same bands and Berry curvature).

    ``length_unit``: Å per length unit of the PythTB lattice vectors (1 = they are in Å).
    Energies are taken as eV. See the module docstring for the conventions.
    """
    for attr in ("_dim_k", "_dim_r", "_lat", "_orb", "_norb", "_nspin", "_hoppings"):
        if not hasattr(tb_model, attr):
            raise QgmagError(
                f"from_pythtb needs a pythtb.tb_model (PythTB 1.x); got {type(tb_model).__name__} "
                f"without {attr!r}."
            )
    dim_k, dim_r = int(tb_model._dim_k), int(tb_model._dim_r)
    if dim_k != dim_r or dim_k not in (2, 3):
        raise QgmagError(
            f"from_pythtb accepts periodic 2D or 3D models (dim_k = dim_r = 2 or 3); this one has "
            f"dim_k = {dim_k}, dim_r = {dim_r} (slabs, ribbons and 1D chains are not supported)."
        )
    if list(tb_model._per) != list(range(dim_r)):
        raise QgmagError("from_pythtb: every lattice direction must be periodic (per = all).")
    lattice = np.asarray(tb_model._lat, dtype=float) * float(length_unit)
    positions = np.asarray(tb_model._orb, dtype=float)
    norb, nspin = int(tb_model._norb), int(tb_model._nspin)
    n = norb * nspin
    blocks: dict[tuple[int, ...], np.ndarray] = {}
    zero = (0,) * dim_r
    onsite = np.zeros((n, n), dtype=complex)
    for i, energy in enumerate(np.asarray(tb_model._site_energies)):
        s = slice(i * nspin, (i + 1) * nspin)
        onsite[s, s] = np.asarray(energy, dtype=complex).reshape(nspin, nspin)
    _add(blocks, zero, onsite, n)
    for amp, i, j, r_vec in tb_model._hoppings:
        key = tuple(int(round(float(x))) for x in np.atleast_1d(r_vec))
        block = np.asarray(amp, dtype=complex).reshape(nspin, nspin)
        mat = np.zeros((n, n), dtype=complex)
        mat[i * nspin : (i + 1) * nspin, j * nspin : (j + 1) * nspin] = block
        _add(blocks, key, mat, n)  # <i,0|H|j,R> = amp
        _add(blocks, tuple(-x for x in key), mat.conj().T, n)  # and its conjugate
    if nspin == 2:
        positions = np.repeat(positions, 2, axis=0)
        spin = spin_operators(norb, "spin-fastest")
    else:
        spin = None
    return _blocks_to_model(
        lattice, positions, blocks, spin, name, {"source": "pythtb", "nspin": nspin}
    )


# -- TBmodels ------------------------------------------------------------------------------------


def _tbmodels_blocks(hop: Mapping[Any, Any], n: int) -> dict[tuple[int, ...], np.ndarray]:
    """TBmodels' half hoppings -> full t(R) = hop[R] + hop[-R]^†."""
    blocks: dict[tuple[int, ...], np.ndarray] = {}
    for r_vec, mat in hop.items():
        dense = mat.toarray() if hasattr(mat, "toarray") else np.asarray(mat)
        dense = np.asarray(dense, dtype=complex).reshape(n, n)
        key = tuple(int(x) for x in np.atleast_1d(r_vec))
        _add(blocks, key, dense, n)
        _add(blocks, tuple(-x for x in key), dense.conj().T, n)
    return blocks


def _spin(n: int, spinor_ordering: str | None) -> np.ndarray | None:
    if spinor_ordering is None:
        return None
    if spinor_ordering not in SPINOR_ORDERINGS:
        raise QgmagError(
            f"spinor_ordering must be None or one of {SPINOR_ORDERINGS}; got {spinor_ordering!r}."
        )
    if n % 2:
        raise QgmagError(f"spinor_ordering needs an even number of orbitals; the model has {n}.")
    return spin_operators(n // 2, spinor_ordering)


def _tbmodels_to_qgmag(
    uc: Any,
    pos: Any,
    hop: Mapping[Any, Any],
    *,
    name: str,
    spinor_ordering: str | None,
    length_unit: float,
) -> TightBindingModel:
    if uc is None:
        raise QgmagError("the TBmodels model has no unit cell (uc); qgmag needs the lattice.")
    lattice = np.asarray(uc, dtype=float) * float(length_unit)
    positions = np.asarray(pos, dtype=float)
    if lattice.shape[0] not in (2, 3):
        raise QgmagError(f"qgmag models are 2D or 3D; the TBmodels model is {lattice.shape[0]}D.")
    n = positions.shape[0]
    blocks = _tbmodels_blocks(hop, n)
    blocks.setdefault((0,) * lattice.shape[0], np.zeros((n, n), dtype=complex))
    return _blocks_to_model(
        lattice, positions, blocks, _spin(n, spinor_ordering), name, {"source": "tbmodels"}
    )


def from_tbmodels(
    model: Any,
    *,
    name: str = "tbmodels model",
    spinor_ordering: str | None = None,
    length_unit: float = 1.0,
) -> TightBindingModel:
    """A qgmag model equal to a ``tbmodels.Model`` (same bands and Berry curvature).

    ``spinor_ordering``: None (no spin operator), "spin-fastest" or "spin-blocks" when the
    orbitals are spinors. ``length_unit``: Å per unit of ``model.uc``.
    """
    for attr in ("hop", "pos", "uc"):
        if not hasattr(model, attr):
            raise QgmagError(
                f"from_tbmodels needs a tbmodels.Model; got {type(model).__name__} without "
                f"{attr!r}."
            )
    return _tbmodels_to_qgmag(
        model.uc,
        model.pos,
        model.hop,
        name=name,
        spinor_ordering=spinor_ordering,
        length_unit=length_unit,
    )


def read_tbmodels_hdf5(
    path: str | os.PathLike[str],
    *,
    spinor_ordering: str | None = None,
    length_unit: float = 1.0,
) -> TightBindingModel:
    """Read a TBmodels HDF5 file (``Model.to_hdf5_file``) without TBmodels installed."""
    import h5py

    file = os.fspath(path)
    if not os.path.isfile(file):
        raise QgmagError(f"TBmodels file {file!r} does not exist.")
    try:
        handle = h5py.File(file, "r")
    except OSError:
        raise QgmagError(f"{file!r} is not an HDF5 file (TBmodels writes HDF5).") from None
    with handle:
        group = handle["tb_model"] if "tb_model" in handle else handle
        tag = group.get("type_tag")
        tag_text = tag[()].decode() if tag is not None and hasattr(tag[()], "decode") else tag
        if tag_text is not None and tag_text != "tbmodels.model" or "hop" not in group:
            raise QgmagError(
                f"{file!r} is not a TBmodels model file (type_tag {tag_text!r}); write it "
                "with tbmodels.Model.to_hdf5_file."
            )
        n = int(group["size"][()])
        hop: dict[tuple[int, ...], np.ndarray] = {}
        for key in group["hop"]:
            entry = group["hop"][key]
            r_vec = tuple(int(x) for x in np.atleast_1d(entry["R"][()]))
            if "mat" in entry:
                mat = np.asarray(entry["mat"][()], dtype=complex)
            else:  # sparse CSR
                from scipy.sparse import csr_matrix

                mat = csr_matrix(
                    (entry["data"][()], entry["indices"][()], entry["indptr"][()]),
                    shape=tuple(entry["shape"][()]),
                ).toarray()
            hop[r_vec] = hop.get(r_vec, 0) + mat.reshape(n, n)
        uc = group["uc"][()] if "uc" in group else None
        pos = group["pos"][()]
    stem = os.path.splitext(os.path.basename(file))[0]
    return _tbmodels_to_qgmag(
        uc, pos, hop, name=stem, spinor_ordering=spinor_ordering, length_unit=length_unit
    )


# -- structures ----------------------------------------------------------------------------------


def structure_cell(
    structure: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """An ASE ``Atoms`` or pymatgen ``Structure`` as an spglib cell.

    Returns ``(lattice rows Å, fractional positions, atomic numbers)``, plus the magnetic
    moments (collinear (N,) or non-collinear (N, 3), μ_B) as a fourth entry when the
    structure carries non-zero ones (ASE initial magnetic moments, pymatgen ``magmom`` site
    properties). A tuple of arrays (already an spglib cell) is returned unchanged.
    """
    if isinstance(structure, tuple):
        return structure  # type: ignore[return-value]
    if hasattr(structure, "get_scaled_positions") and hasattr(structure, "cell"):  # ASE Atoms
        lattice = np.asarray(structure.cell[:], dtype=float)
        frac = np.asarray(structure.get_scaled_positions(wrap=True), dtype=float)
        numbers = np.asarray(structure.get_atomic_numbers(), dtype=int)
        moments = np.asarray(structure.get_initial_magnetic_moments(), dtype=float)
    elif hasattr(structure, "lattice") and hasattr(structure, "frac_coords"):  # pymatgen
        lattice = np.asarray(structure.lattice.matrix, dtype=float)
        frac = np.mod(np.asarray(structure.frac_coords, dtype=float), 1.0)
        numbers = np.asarray([site.specie.Z for site in structure], dtype=int)
        props = getattr(structure, "site_properties", {}) or {}
        moments = np.asarray(props.get("magmom", np.zeros(len(numbers))), dtype=float)
    else:
        raise QgmagError(
            "a structure must be an ASE Atoms, a pymatgen Structure or an spglib cell "
            f"(lattice, positions, numbers[, magmoms]); got {type(structure).__name__}."
        )
    if lattice.shape != (3, 3) or not np.all(np.isfinite(lattice)):
        raise QgmagError("the structure needs a full 3D periodic cell (3 lattice vectors).")
    if np.any(moments != 0):
        return lattice, frac, numbers, moments
    return lattice, frac, numbers


__all__ = ["from_pythtb", "from_tbmodels", "read_tbmodels_hdf5", "structure_cell"]
