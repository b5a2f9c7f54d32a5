"""Irreducible points of a uniform k-mesh and the symmetrization of integrated tensors.

An operation g = (R, θ) maps k to s R k (s = -1 for primed g). In reduced reciprocal
coordinates f (k = f·B, B the reciprocal vectors as rows) this is f → f M_g with the
integer matrix M_g = s B Rᵀ B⁻¹. A uniform mesh is usable only if every M_g maps it onto
itself (Γ-centred meshes with equal counts along symmetry-related directions; a shifted
mesh only for groups that keep it).

If X(gk) = ρ(g) X(k) (the model has the symmetry), the sum over an orbit is
Σ_{k' ∈ Gk} X(k') = |Gk| P X(k) with P = (1/|G|) Σ_g ρ(g), so

    Σ_{full mesh} X = P Σ_{irreducible k} |Gk| X(k)

exactly: integrate the orbit representatives with weight |Gk|·w_k, then apply P
(:func:`qgmag.symmetry.tensors.symmetrize_components`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qgmag.kspace.mesh import UniformMesh
from qgmag.models.base import FloatArray
from qgmag.symmetry.operations import MagneticGroup, SymmetryError


def reduced_k_matrices(group: MagneticGroup, reciprocal_lattice: np.ndarray) -> np.ndarray:
    """(|G|, d, d) integer matrices M_g with f' = f M_g in reduced reciprocal coordinates."""
    b = np.asarray(reciprocal_lattice, dtype=float)
    binv = np.linalg.inv(b)
    mats = np.array([b @ a.T @ binv for a in group.k_actions()])
    rounded = np.rint(mats)
    bad = np.max(np.abs(mats - rounded), axis=(1, 2)) > 1e-6
    if np.any(bad):
        labels = [group.operations[i].label() for i in np.nonzero(bad)[0]]
        raise SymmetryError(
            f"operations {labels} of {group.name} do not map the model's reciprocal lattice "
            "onto itself: the group and the model are in different frames or settings."
        )
    return rounded.astype(int)


def _mesh_images(mesh: UniformMesh, m: np.ndarray, idx: np.ndarray) -> np.ndarray | None:
    """Linear mesh indices of f M for mesh points with integer coordinates ``idx`` (N, d);
    None if some image is off the mesh."""
    counts = np.asarray(mesh.counts)
    strides = np.array([int(np.prod(counts[a + 1 :])) for a in range(len(counts))])
    if not mesh.shift:
        # f = i/n: j_b = Σ_a i_a M_ab n_b/n_a, integer for every i iff each M_ab n_b/n_a is
        scaled = m * counts[None, :] / counts[:, None]
        if np.allclose(scaled, np.rint(scaled)):
            image = np.mod(idx @ np.rint(scaled).astype(np.int64), counts)
            return image @ strides
        return None
    frac = (idx + 0.5) / counts
    image = (frac @ np.asarray(m, dtype=float)) * counts - 0.5
    near = np.rint(image)
    if np.max(np.abs(image - near), initial=0.0) > 1e-8:
        return None
    return np.mod(near.astype(np.int64), counts) @ strides


def irreducible_points(
    mesh: UniformMesh, group: MagneticGroup, block: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """(linear indices of the orbit representatives, orbit sizes) of a uniform mesh.

    Raises SymmetryError if the mesh is not invariant under the group.
    """
    mats = reduced_k_matrices(group, mesh.reciprocal_lattice)
    n = mesh.n_points
    rep = np.arange(n, dtype=np.int64)
    for start in range(0, n, block):
        linear = np.arange(start, min(start + block, n), dtype=np.int64)
        idx = np.stack(np.unravel_index(linear, mesh.counts), axis=-1).astype(np.int64)
        view = rep[start : start + len(linear)]
        for g, m in enumerate(mats):
            image = _mesh_images(mesh, m, idx)
            if image is None:
                op = group.operations[g].label()
                kind = "shifted" if mesh.shift else "Γ-centred"
                raise SymmetryError(
                    f"the {kind} kmesh {list(mesh.counts)} is not invariant under {op} of "
                    f"{group.name}, so the irreducible-mesh result would not equal the "
                    "full-mesh one: use a Γ-centred mesh (shift=False) with equal counts along "
                    "symmetry-related reciprocal vectors, or symmetry=None."
                )
            np.minimum(view, image, out=view)
    # rep[k] = min over g of image(g, k) is the same for every point of an orbit
    reps, sizes = np.unique(rep, return_counts=True)
    return reps, sizes


@dataclass(frozen=True)
class IrreducibleMesh:
    """The orbit representatives of a uniform mesh, weighted by their orbit sizes.

    Behaves as a mesh (chunks of k-points and weights) for every backend; the weights sum
    to those of the full mesh.
    """

    base: UniformMesh
    group: MagneticGroup
    indices: np.ndarray  # linear indices into base
    multiplicity: np.ndarray

    @property
    def n_points(self) -> int:
        return int(len(self.indices))

    @property
    def n_full_points(self) -> int:
        return self.base.n_points

    @property
    def spacing(self) -> float:
        return self.base.spacing

    @property
    def reciprocal_lattice(self) -> FloatArray:
        return self.base.reciprocal_lattice

    @property
    def counts(self) -> tuple[int, ...]:
        return self.base.counts

    def chunk(self, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        idx = np.unravel_index(self.indices[start:stop], self.base.counts)
        s = 0.5 if self.base.shift else 0.0
        frac = np.stack([(i + s) / n for i, n in zip(idx, self.base.counts, strict=True)], axis=-1)
        k = frac @ self.base.reciprocal_lattice
        w = self.multiplicity[start:stop] / (self.base.n_points * self.base.cell_volume)
        return k, w

    def energy_step(self, k: FloatArray, gradient: FloatArray) -> FloatArray:
        return self.base.energy_step(k, gradient)

    def halved(self) -> IrreducibleMesh:
        return irreducible_mesh(self.base.halved(), self.group)

    def describe(self) -> dict[str, object]:
        return {
            **self.base.describe(),
            "symmetry": self.group.name,
            "symmetry_operations": [o.label() for o in self.group],
            "n_irreducible": self.n_points,
        }


def irreducible_mesh(mesh: UniformMesh, group: MagneticGroup) -> IrreducibleMesh:
    """The irreducible wedge of ``mesh`` under ``group`` (see :func:`irreducible_points`)."""
    if not isinstance(mesh, UniformMesh):
        raise SymmetryError(
            "symmetry reduction needs a uniform Brillouin-zone mesh (lattice models); "
            "continuum models are integrated with symmetry=None."
        )
    if group.dim != len(mesh.counts):
        raise SymmetryError(f"the group is for {group.dim}D but the mesh is {len(mesh.counts)}D.")
    reps, sizes = irreducible_points(mesh, group)
    return IrreducibleMesh(mesh, group, reps, sizes.astype(float))
