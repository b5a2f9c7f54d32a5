"""Adaptive tetrahedron refinement of Fermi-surface (f0') terms (``"adaptive-tetrahedron"``).

Starting from the cells of the uniform mesh (corners at mesh points), every cell that the
Fermi surface can cross is split into 2^d halves, recursively, ``levels`` times; cells it
cannot cross stay as they are. The rule is free of tolerances: a cell is refined when the
energy range of some band over the cell reaches the energies at which f0' is evaluated
(the node energies of :func:`qgmag.integrate.tetrahedron.energy_nodes`: μ at T = 0
without smearing, μ ± a few k_B T or widths otherwise, for every μ of the run). The
range over a cell is that of its corner energies widened by the largest interior excess
of a quadratic band, Σ_a Δ_a / 4, where Δ_a is the spread over the corners of the change
of ε along the cell edge a (from the band velocities; twice the exact bound Σ_a |c_aa|/8
of a quadratic), so that pockets inside a cell (band extrema between its corners) are not
missed.

The final cells (of every level) are integrated with the linear tetrahedron rule (6
tetrahedra per cell in 3D, 2 triangles in 2D, the same decomposition at every level), so
on the cells that the Fermi surface crosses the result is that of the uniform mesh
2^levels times denser, at a fraction of its k-points; f0' is zero on the others. The
k-points are the corners of the final cells; Fermi-sea terms of the same run use the
composite trapezoid weights of the cells (each cell gives 1/2^d of its measure to each
corner; on the unrefined mesh these are the uniform weights 1/(N V_cell)). Refined and
unrefined neighbours do not share the midpoints of their faces (the tetrahedra are
integrated one by one, so none is needed).

Error estimate: ``convergence_check=True`` integrates the same rule with one level fewer
(:meth:`AdaptiveMesh.halved`) and reports the difference as ``<name>_error``.

The point list, its trapezoid weights and the f0' weights of the run's (μ, T) are built
before the chunks (energies and velocities at every corner, level by level), and travel
with the plan as for the uniform tetrahedron rule: chunks, Dask workers and checkpoints
work unchanged. Symmetry-reduced point lists and continuum models are refused.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.errors import QgmagError
from qgmag.kspace.mesh import UniformMesh, chunk_bounds
from qgmag.models.base import FloatArray, Model
from qgmag.occupation import Smearing

from .tetrahedron import (
    TETRA_CHUNK,
    TetrahedronRule,
    _active_bands,
    add_tetra_weights,
    energy_nodes,
    tetrahedra_offsets,
    triangles_offsets,
)

#: name of the rule in qgmag.compute(integration=...)
ADAPTIVE_RULE = "adaptive-tetrahedron"
#: refinement levels when none are given
DEFAULT_LEVELS = 2
#: most levels accepted (each halves the cells the Fermi surface crosses)
MAX_LEVELS = 8


@dataclass(frozen=True)
class AdaptiveMesh:
    """Corners of the final cells of an adaptive refinement, with their weights.

    Behaves as a mesh (chunks of Cartesian k-points in 1/Å and weights in 1/Å^d summing to
    1/V_cell) for every backend; ``rule`` holds the f0' weights of its points.
    """

    base: UniformMesh
    levels: int
    frac: np.ndarray  # (N, d) fractional coordinates along the reciprocal vectors
    weight: np.ndarray  # (N,) composite trapezoid weights, 1/Å^d
    rule: TetrahedronRule
    final_cells: tuple[int, ...]  # final cells of each level 0..levels
    parent: AdaptiveMesh | None = None  # the same refinement with one level fewer

    @property
    def n_points(self) -> int:
        return int(self.frac.shape[0])

    @property
    def reciprocal_lattice(self) -> FloatArray:
        return self.base.reciprocal_lattice

    @property
    def counts(self) -> tuple[int, ...]:
        return self.base.counts

    @property
    def cell_volume(self) -> float:
        return self.base.cell_volume

    @property
    def spacing(self) -> float:
        """Largest step between neighbouring points of the finest cells (1/Å)."""
        return self.base.spacing / 2**self.levels

    def chunk(self, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        return self.frac[start:stop] @ self.base.reciprocal_lattice, self.weight[start:stop]

    def energy_step(self, k: FloatArray, gradient: FloatArray) -> FloatArray:
        steps = self.base.reciprocal_lattice / (np.asarray(self.counts)[:, None] * 2**self.levels)
        return np.max(np.abs(gradient @ steps.T), axis=-1)

    def halved(self) -> AdaptiveMesh:
        """The refinement with one level fewer (the error estimate of convergence_check)."""
        if self.parent is None:
            raise QgmagError(
                "convergence_check with integration='adaptive-tetrahedron' compares the last "
                "two refinement levels: use adaptive_levels >= 1."
            )
        return self.parent

    def describe(self) -> dict[str, object]:
        return {
            **self.base.describe(),
            "type": "adaptive",
            "adaptive_levels": self.levels,
            "n_points": self.n_points,
            "final_cells": list(self.final_cells),
        }


class _Points:
    """Energies and band slopes at integer points of the finest grid (keys, sorted)."""

    def __init__(self, model: Model, base: UniformMesh, scale: int, chunk_size: int,
                 degeneracy_tol: float) -> None:
        self.model, self.base, self.chunk_size = model, base, chunk_size
        self.degeneracy_tol = degeneracy_tol
        self.fine = np.asarray(base.counts, dtype=np.int64) * scale  # points per axis
        self.offset = 0.5 * scale if base.shift else 0.0
        self.keys = np.zeros(0, dtype=np.int64)
        self.energy = np.zeros((0, model.n_bands))
        self.slope = np.zeros((0, model.n_bands, len(base.counts)))

    def key(self, points: np.ndarray) -> np.ndarray:
        wrapped = np.mod(points, self.fine)
        out = np.zeros(points.shape[:-1], dtype=np.int64)
        for axis, n in enumerate(self.fine):
            out = out * n + wrapped[..., axis]
        return out

    def frac(self, keys: np.ndarray) -> np.ndarray:
        coords = np.stack(np.unravel_index(keys, tuple(self.fine)), axis=-1)
        return (coords + self.offset) / self.fine

    def index(self, keys: np.ndarray) -> np.ndarray:
        """Positions of ``keys`` in the store, evaluating the points not yet there."""
        new = np.setdiff1d(np.unique(keys), self.keys, assume_unique=True)
        if new.size:
            energy, slope = self._evaluate(self.frac(new))
            keys_all = np.concatenate([self.keys, new])
            order = np.argsort(keys_all, kind="stable")
            self.keys = keys_all[order]
            self.energy = np.concatenate([self.energy, energy])[order]
            self.slope = np.concatenate([self.slope, slope])[order]
        return np.searchsorted(self.keys, keys)

    def _evaluate(self, frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Band energies (N, n) and slopes ∂ε/∂f_a = ∇_k ε · b_a (N, n, d) in eV."""
        energy, slope = [], []
        recip = self.base.reciprocal_lattice
        for start, stop in chunk_bounds(frac.shape[0], max(self.chunk_size, 1)):
            bands = BandData(self.model, frac[start:stop] @ recip,
                             degeneracy_tol=self.degeneracy_tol)
            energy.append(bands.energy)
            grad = np.moveaxis(bands.band_velocity[: bands.dim], 0, -1)  # (N, n, d) eV·Å
            slope.append(grad @ recip.T)
        return np.concatenate(energy), np.concatenate(slope)


def adaptive_mesh(
    model: Model,
    base: object,
    levels: object,
    mu: FloatArray,
    temperature: FloatArray,
    smearing: Smearing | None,
    chunk_size: int,
    degeneracy_tol: float,
    with_parent: bool = False,
) -> AdaptiveMesh:
    """Refine the cells of ``base`` that the Fermi surface can cross, ``levels`` times
    (``with_parent``: also keep the mesh of one level fewer, for the error estimate)."""
    if not isinstance(base, UniformMesh):
        raise QgmagError(
            "integration='adaptive-tetrahedron' refines the cells of the uniform k-mesh of a "
            "lattice model; use integration='mesh' for continuum models."
        )
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or not (
        0 <= levels <= MAX_LEVELS
    ):
        raise QgmagError(
            f"adaptive_levels must be an integer from 0 to {MAX_LEVELS} (times the cells the "
            f"Fermi surface crosses are halved); got {levels!r}."
        )
    if min(base.counts) < 2:
        raise QgmagError(
            "integration='adaptive-tetrahedron' needs at least 2 points along every "
            f"direction; got kmesh {list(base.counts)}."
        )
    levels = int(levels)
    nodes, coeff = energy_nodes(mu, temperature, smearing)
    lo, hi = float(nodes.min()), float(nodes.max())
    dim = len(base.counts)
    scale = 2**levels
    store = _Points(model, base, scale, chunk_size, degeneracy_tol)
    corners = np.array(list(itertools.product((0, 1), repeat=dim)), dtype=np.int64)
    cells = np.stack(np.unravel_index(np.arange(base.n_points), base.counts), axis=-1) * scale
    finals: list[np.ndarray] = []
    built: AdaptiveMesh | None = None
    for level in range(levels + 1):
        size = scale >> level
        finals.append(cells)
        if level == levels or (with_parent and level == levels - 1):
            built = _finish(store, base, level, finals, corners, nodes, coeff, built)
        if level == levels:
            break
        cross = _crossed(store, cells, size, corners, lo, hi)
        finals[-1] = cells[~cross]
        half = size // 2
        cells = (cells[cross][:, None, :] + half * corners[None]).reshape(-1, dim)
    assert built is not None
    return built


def _crossed(store: _Points, cells: np.ndarray, size: int, corners: np.ndarray,
             lo: float, hi: float) -> np.ndarray:
    """Which cells (origins, edge ``size`` finest steps) the node energies [lo, hi] reach."""
    out = np.zeros(cells.shape[0], dtype=bool)
    edge = size / store.fine  # fractional edge lengths (d,)
    for c0, c1 in chunk_bounds(cells.shape[0], TETRA_CHUNK):
        idx = store.index(store.key(cells[c0:c1, None, :] + size * corners[None]))
        e = store.energy[idx]  # (C, 2^d, n)
        change = store.slope[idx] * edge  # (C, 2^d, n, d): ε change along each edge
        pad = np.sum(change.max(axis=1) - change.min(axis=1), axis=-1) / 4.0  # (C, n)
        out[c0:c1] = np.any((e.min(axis=1) - pad <= hi) & (e.max(axis=1) + pad >= lo), axis=1)
    return out


def _finish(
    store: _Points,
    base: UniformMesh,
    level: int,
    finals: list[np.ndarray],
    corners: np.ndarray,
    nodes: FloatArray,
    coeff: FloatArray,
    parent: AdaptiveMesh | None,
) -> AdaptiveMesh:
    """The mesh of the final cells ``finals`` (cells of level l have edge 2^(L-l)), where
    the cells of the last entry are taken as final too (refinement stopped at ``level``)."""
    dim = len(base.counts)
    scale = int(store.fine[0] // base.counts[0])
    sizes = [scale >> lv for lv in range(level + 1)]
    keys = np.unique(np.concatenate([
        store.key(c[:, None, :] + s * corners[None]).ravel() for c, s in zip(finals, sizes,
                                                                             strict=True)
    ]))
    store.index(keys)  # corners of the last level are evaluated here
    energies = store.energy[np.searchsorted(store.keys, keys)]
    weight = np.zeros(keys.size)
    fine_cells = np.prod(store.fine.astype(float))
    if dim == 3:
        offsets = tetrahedra_offsets(base.reciprocal_lattice, base.counts, 4)
    else:
        offsets = triangles_offsets(base.reciprocal_lattice, base.counts)
    bands = _active_bands(energies, float(nodes.min()), float(nodes.max()))
    df0 = np.zeros((keys.size, bands.stop - bands.start, *nodes.shape[:2]))
    for cells, size in zip(finals, sizes, strict=True):
        measure = size**dim / fine_cells / base.cell_volume  # [dk] of one cell, 1/Å^d
        for c0, c1 in chunk_bounds(cells.shape[0], TETRA_CHUNK):
            origin = cells[c0:c1]
            where = np.searchsorted(keys, store.key(origin[:, None, :] + size * corners[None]))
            np.add.at(weight, where.ravel(), measure / corners.shape[0])
            if df0.shape[1]:
                points = np.searchsorted(
                    keys, store.key(origin[:, None, None, :] + size * offsets[None])
                )  # (C, n_t, corners)
                add_tetra_weights(df0, energies[:, bands], points, np.eye(dim + 1), nodes,
                                  coeff, measure / offsets.shape[0])
    rule = TetrahedronRule(ADAPTIVE_RULE, df0, bands.start if df0.shape[1] else 0)
    return AdaptiveMesh(base, level, store.frac(keys), weight, rule,
                        tuple(int(c.shape[0]) for c in finals), parent)
