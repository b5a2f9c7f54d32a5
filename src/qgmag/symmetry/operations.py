"""Magnetic point operations and groups: from spglib (structure + moments) or a lattice.

A :class:`MagneticOperation` is a point operation R (Cartesian, orthogonal 3×3) with or
without time reversal θ (a "primed" operation R'), plus the fractional data spglib gives
(rotation in lattice coordinates, translation). Translations do not act on
k-space observables and are kept for information only. A :class:`MagneticGroup` is the
set of distinct (R, θ) pairs (the magnetic point group, MPG) in one Cartesian frame.

How an operation acts (the rules every other module of :mod:`qgmag.symmetry` uses):

* on k: k → s R k with s = -1 for primed operations (time reversal flips k);
* on a rank-n tensor T with axial parity p (1 axial, 0 polar) and time parity t (1 for
  T-odd "c-tensors", 0 for T-even "i-tensors"):
  T → s^t (det R)^p R^{⊗n} T (Neumann's principle: an allowed tensor is invariant).

2D models (layers in the x–y plane) use 3×3 operations that keep the plane, acting on
k through their upper-left 2×2 block.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qgmag.errors import QgmagError

#: tolerance for equality of Cartesian rotation matrices
MATRIX_TOL = 1e-6
#: vacuum length (Å) used to embed a 2D lattice in 3D for spglib
VACUUM = 30.0


class SymmetryError(QgmagError):
    """A symmetry analysis that cannot give a trustworthy answer."""


@dataclass(frozen=True)
class MagneticOperation:
    """One magnetic point operation.

    rotation : (3, 3) Cartesian orthogonal matrix R (acts on column vectors).
    time_reversal : True for a primed operation R' = θR.
    rotation_frac : optional (d, d) integer rotation in lattice coordinates (spglib's W).
    translation : optional fractional translation (information only).
    """

    rotation: np.ndarray
    time_reversal: bool = False
    rotation_frac: np.ndarray | None = None
    translation: np.ndarray | None = field(default=None, compare=False)

    @property
    def det(self) -> int:
        return int(round(float(np.linalg.det(self.rotation))))

    @property
    def k_sign(self) -> int:
        """-1 for primed operations (θ flips k), +1 otherwise."""
        return -1 if self.time_reversal else 1

    def tensor_sign(self, axial: bool, t_odd: bool) -> int:
        """s^t (det R)^p of Neumann's rule."""
        sign = self.det if axial else 1
        return -sign if (t_odd and self.time_reversal) else sign

    @property
    def key(self) -> tuple[object, ...]:
        """Hashable identity of (R, θ) (R rounded to 1e-6)."""
        entries = np.rint(self.rotation.ravel() * 1e6).astype(int).tolist()
        return (bool(self.time_reversal), *entries)

    def same(self, other: MagneticOperation) -> bool:
        return self.time_reversal == other.time_reversal and bool(
            np.allclose(self.rotation, other.rotation, atol=MATRIX_TOL)
        )

    def compose(self, other: MagneticOperation) -> MagneticOperation:
        """self ∘ other (apply ``other`` first)."""
        return MagneticOperation(
            self.rotation @ other.rotation, self.time_reversal != other.time_reversal
        )

    def label(self) -> str:
        """A short name such as ``2_z'`` or ``-4_z`` (axis in Cartesian components)."""
        from qgmag.symmetry.naming import operation_label

        return operation_label(self)


def _unique(ops: Iterable[MagneticOperation]) -> list[MagneticOperation]:
    out: dict[tuple[object, ...], MagneticOperation] = {}
    for op in ops:
        out.setdefault(op.key, op)
    return list(out.values())


class MagneticGroup:
    """A magnetic point group: distinct (R, θ) operations in one Cartesian frame.

    Parameters
    ----------
    operations : the operations (duplicates are dropped); must form a group.
    dim : 3, or 2 for layer models (every operation must keep the x–y plane).
    source : where the group came from (for reports).
    """

    def __init__(
        self, operations: Sequence[MagneticOperation], dim: int = 3, source: str = ""
    ) -> None:
        ops = _unique(operations)
        if not ops:
            raise SymmetryError("a magnetic group needs at least the identity.")
        keys = {o.key for o in ops}
        if MagneticOperation(np.eye(3)).key not in keys:
            raise SymmetryError("the operations do not contain the identity: not a group.")
        for a in ops:
            for b in ops:
                ab = a.compose(b)
                if ab.key not in keys:
                    raise SymmetryError(
                        f"the operations are not closed ({a.label()} · {b.label()} is missing): "
                        "not a group; check the structure, moments or tolerance."
                    )
        if dim == 2:
            for o in ops:
                r = o.rotation
                if np.max(np.abs(r[2, :2])) > MATRIX_TOL or np.max(np.abs(r[:2, 2])) > MATRIX_TOL:
                    raise SymmetryError(
                        f"operation {o.label()} does not keep the x-y plane of a 2D model."
                    )
        self.operations: tuple[MagneticOperation, ...] = tuple(ops)
        self.dim = int(dim)
        self.source = source

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self):  # noqa: ANN204
        return iter(self.operations)

    def __repr__(self) -> str:
        return f"MagneticGroup({self.name!r}, {len(self)} operations)"

    @property
    def name(self) -> str:
        """Hermann–Mauguin symbol of the magnetic point group, e.g. ``4/mm'm'``."""
        from qgmag.symmetry.naming import mpg_name

        return mpg_name(self)

    @property
    def n_primed(self) -> int:
        return sum(o.time_reversal for o in self.operations)

    def k_actions(self) -> np.ndarray:
        """(|G|, dim, dim) Cartesian matrices s R acting on k (restricted to the model's dims)."""
        d = self.dim
        return np.array([o.k_sign * o.rotation[:d, :d] for o in self.operations])

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "n_operations": len(self),
            "operations": [o.label() for o in self.operations],
            "source": self.source,
        }


# -- groups from spglib -------------------------------------------------------------------


def _cartesian(lattice: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """R_cart = A W A^-1 with A the lattice vectors as columns."""
    a = lattice.T
    return np.einsum("ij,njk,kl->nil", a, rotations, np.linalg.inv(a))


def _embed_lattice(lattice: np.ndarray) -> np.ndarray:
    lat = np.asarray(lattice, dtype=float)
    if lat.shape == (3, 3):
        return lat
    if lat.shape == (2, 2):
        out = np.zeros((3, 3))
        out[:2, :2] = lat
        out[2, 2] = VACUUM
        return out
    raise SymmetryError(f"lattice must be (2, 2) or (3, 3) rows in Å; got shape {lat.shape}.")


def _embed_positions(positions: np.ndarray, dim: int) -> np.ndarray:
    pos = np.atleast_2d(np.asarray(positions, dtype=float))
    if pos.shape[1] == 3:
        return pos
    if pos.shape[1] == 2 and dim == 2:
        return np.hstack([pos, np.zeros((len(pos), 1))])
    raise SymmetryError(f"positions must be fractional (n, {dim}); got shape {pos.shape}.")


def group_from_structure(
    lattice: np.ndarray,
    positions: np.ndarray,
    species: Sequence[object],
    moments: np.ndarray | None = None,
    *,
    symprec: float = 1e-5,
    mag_symprec: float = -1.0,
) -> MagneticGroup:
    """The magnetic point group of a crystal (spglib's magnetic symmetry).

    lattice : rows in Å ((3, 3); (2, 2) for a layer, embedded with vacuum).
    positions : fractional atomic positions (n, d).
    species : one label per atom (any hashable; equal labels = same element).
    moments : (n, 3) Cartesian moments (non-collinear, any units), (n,) collinear
        moments along z, or None for a non-magnetic crystal (grey group, θ included).
    """
    import spglib

    lat = _embed_lattice(lattice)
    dim = 2 if np.asarray(lattice).shape == (2, 2) else 3
    pos = _embed_positions(positions, dim)
    labels = {s: i + 1 for i, s in enumerate(dict.fromkeys(species))}
    numbers = [labels[s] for s in species]
    if len(numbers) != len(pos):
        raise SymmetryError(f"{len(pos)} positions but {len(numbers)} species labels.")
    if moments is None:
        mags = np.zeros((len(pos), 3))
    else:
        mags = np.asarray(moments, dtype=float)
        if mags.ndim == 1:
            mags = np.outer(mags, [0.0, 0.0, 1.0])
        if mags.shape != (len(pos), 3):
            raise SymmetryError(
                f"moments must be (n_atoms, 3) Cartesian vectors or (n_atoms,) along z; got "
                f"shape {mags.shape} for {len(pos)} atoms."
            )
    # spglib wants moments in Cartesian coordinates for axial vectors (is_axial=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # spglib's error-handling notice
        sym = spglib.get_magnetic_symmetry(
            (lat, pos, numbers, mags), symprec=symprec, mag_symprec=mag_symprec, is_axial=True
        )
    if sym is None:
        raise SymmetryError(
            "spglib found no magnetic symmetry for this structure; check lattice, positions "
            "(fractional) and moments."
        )
    rot_cart = _cartesian(lat, np.asarray(sym["rotations"], dtype=float))
    ops = [
        MagneticOperation(_clean(r), bool(tr), np.asarray(w, dtype=int), np.asarray(t))
        for r, tr, w, t in zip(
            rot_cart, sym["time_reversals"], sym["rotations"], sym["translations"], strict=True
        )
    ]
    what = "non-magnetic" if moments is None else "magnetic"
    return MagneticGroup(ops, dim=dim, source=f"spglib ({what} structure, {len(pos)} atoms)")


def lattice_candidates(lattice: np.ndarray, *, symprec: float = 1e-5) -> list[MagneticOperation]:
    """Every point operation of the lattice (holohedry), each with and without θ.

    The candidates a tight-binding model's symmetry is searched among: any point operation
    of a crystal on this lattice is one of them.
    """
    import spglib

    lat = _embed_lattice(lattice)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sym = spglib.get_symmetry((lat, [[0.0, 0.0, 0.0]], [1]), symprec=symprec)
    if sym is None:
        raise SymmetryError("spglib could not analyse the lattice; check the lattice vectors.")
    rots = _unique(
        MagneticOperation(_clean(r), False, np.asarray(w, dtype=int))
        for r, w in zip(
            _cartesian(lat, np.asarray(sym["rotations"], float)), sym["rotations"], strict=True
        )
    )
    return rots + [MagneticOperation(o.rotation, True, o.rotation_frac) for o in rots]


def _clean(r: np.ndarray) -> np.ndarray:
    """Round entries that are numerically 0, ±1/2, ±1, ±√3/2 to the exact value."""
    out = np.array(r, dtype=float)
    for v in (0.0, 0.5, 1.0, np.sqrt(3.0) / 2.0):
        for s in (1.0, -1.0):
            near = np.abs(out - s * v) < 1e-8
            out[near] = s * v
    return out


def operation(
    axis: Sequence[float], order: int, *, improper: bool = False, primed: bool = False
) -> MagneticOperation:
    """A rotation by 2π/order about ``axis`` (times inversion if ``improper``), θ if primed.

    ``operation((0, 0, 1), 2, improper=True)`` is the mirror m_z; order 1 with
    ``improper`` is the inversion.
    """
    ax = np.asarray(axis, dtype=float)
    ax = ax / np.linalg.norm(ax)
    phi = 2.0 * np.pi / order
    k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    r = np.eye(3) + np.sin(phi) * k + (1 - np.cos(phi)) * (k @ k)
    if improper:
        r = -r
    return MagneticOperation(_clean(r), bool(primed))


def generate_group(
    generators: Sequence[MagneticOperation], dim: int = 3, source: str = "generators"
) -> MagneticGroup:
    """The group generated by ``generators`` (closure under composition)."""
    gens = [MagneticOperation(_clean(g.rotation), g.time_reversal) for g in generators]
    found = {MagneticOperation(np.eye(3)).key: MagneticOperation(np.eye(3))}
    frontier = list(found.values())
    while frontier:
        nxt = []
        for a in frontier:
            for g in gens:
                ab = g.compose(a)
                ab = MagneticOperation(_clean(ab.rotation), ab.time_reversal)
                if ab.key not in found:
                    found[ab.key] = ab
                    nxt.append(ab)
        frontier = nxt
        if len(found) > 96:
            raise SymmetryError("the generators do not generate a finite point group.")
    ops = list(found.values())
    return MagneticGroup(ops, dim=dim, source=source)
