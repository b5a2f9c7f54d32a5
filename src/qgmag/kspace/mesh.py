"""k-space integration meshes, streamed in chunks.

A mesh is a rule: it yields chunks of Cartesian k-points (1/Å) with weights w_k
(1/Å^d) such that ∫[dk] X ≈ Σ_k w_k X(k), [dk] = d^dk/(2π)^d (SPEC §1). Chunks are
addressed by index so that any subset can be computed anywhere (Dask workers, resumed
runs) and summed in any order.

* :class:`UniformMesh` — Monkhorst–Pack mesh of a lattice model's Brillouin zone,
  Γ-centred or shifted by half a step; w_k = 1/(N V_cell).
* :class:`DiskMesh` — polar Gauss–Legendre (radial) × uniform (angular) rule on a
  continuum model's disk.
* :class:`BoxMesh` — midpoint rule on a continuum model's box.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from qgmag.errors import QgmagError
from qgmag.models.base import FloatArray, Model
from qgmag.models.continuum import Box, ContinuumModel, Disk


def _check_counts(kmesh: object, length: int, what: str) -> tuple[int, ...]:
    try:
        if isinstance(kmesh, str | bytes) or any(isinstance(n, str | bool) for n in kmesh):  # type: ignore[union-attr]
            raise TypeError
        counts = tuple(int(n) for n in kmesh)  # type: ignore[union-attr]
    except (TypeError, ValueError, OverflowError):
        raise QgmagError(
            f"kmesh must be a sequence of {length} integers ({what}); got {kmesh!r}."
        ) from None
    if (
        len(counts) != length
        or any(n < 1 for n in counts)
        or any(
            float(a) != float(b)
            for a, b in zip(kmesh, counts, strict=True)  # type: ignore[arg-type]
        )
    ):
        raise QgmagError(f"kmesh must be {length} positive integers ({what}); got {kmesh!r}.")
    return counts


@dataclass(frozen=True)
class UniformMesh:
    """Monkhorst–Pack mesh: fractional points (i + s)/n_a, s = 0 or 1/2 (``shift``)."""

    reciprocal_lattice: FloatArray  # (d, d) rows b_a in 1/Å
    counts: tuple[int, ...]
    cell_volume: float
    shift: bool = False

    @property
    def n_points(self) -> int:
        return int(np.prod(self.counts))

    @property
    def spacing(self) -> float:
        """Largest distance between neighbouring mesh points (1/Å)."""
        return float(
            max(
                np.linalg.norm(b) / n
                for b, n in zip(self.reciprocal_lattice, self.counts, strict=True)
            )
        )

    def chunk(self, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        """k-points (stop-start, d) and weights of linear indices [start, stop)."""
        idx = np.unravel_index(np.arange(start, stop), self.counts)
        s = 0.5 if self.shift else 0.0
        frac = np.stack([(i + s) / n for i, n in zip(idx, self.counts, strict=True)], axis=-1)
        k = frac @ self.reciprocal_lattice
        w = np.full(k.shape[0], 1.0 / (self.n_points * self.cell_volume))
        return k, w

    def energy_step(self, k: FloatArray, gradient: FloatArray) -> FloatArray:
        """Energy change to the next mesh point, max over mesh directions (eV).

        gradient: ∂ε/∂k (N, n, d) in eV·Å.
        """
        steps = self.reciprocal_lattice / np.asarray(self.counts)[:, None]  # (d, d)
        return np.max(np.abs(gradient @ steps.T), axis=-1)

    def halved(self) -> UniformMesh:
        """The mesh with half the density per direction (for convergence estimates)."""
        return UniformMesh(
            self.reciprocal_lattice,
            tuple(max(1, n // 2) for n in self.counts),
            self.cell_volume,
            self.shift,
        )

    def describe(self) -> dict[str, object]:
        return {"type": "uniform", "kmesh": list(self.counts), "shift": self.shift}


@dataclass(frozen=True)
class DiskMesh:
    """Polar rule on |k| <= radius: Gauss–Legendre in |k| (n_radial) × n_angle angles."""

    radius: float
    counts: tuple[int, int]

    @property
    def n_points(self) -> int:
        return self.counts[0] * self.counts[1]

    @property
    def spacing(self) -> float:
        return float(max(self.radius / self.counts[0], 2 * np.pi * self.radius / self.counts[1]))

    def chunk(self, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        n_r, n_phi = self.counts
        x, wx = np.polynomial.legendre.leggauss(n_r)
        r = 0.5 * self.radius * (x + 1.0)
        wr = 0.5 * self.radius * wx
        ir, iphi = np.unravel_index(np.arange(start, stop), self.counts)
        phi = 2.0 * np.pi * (iphi + 0.5) / n_phi
        k = np.stack([r[ir] * np.cos(phi), r[ir] * np.sin(phi)], axis=-1)
        w = wr[ir] * r[ir] * (2.0 * np.pi / n_phi) / (2.0 * np.pi) ** 2
        return k, w

    def energy_step(self, k: FloatArray, gradient: FloatArray) -> FloatArray:
        """Energy change to the next radial / angular node (eV); gradient (N, n, 2) eV·Å."""
        r = np.linalg.norm(k, axis=-1)
        rhat = k / np.where(r > 0, r, 1.0)[:, None]
        phat = np.stack([-rhat[:, 1], rhat[:, 0]], axis=-1)
        dr = np.pi * self.radius / (2.0 * self.counts[0])  # Gauss–Legendre mid-interval spacing
        dphi = 2.0 * np.pi / self.counts[1]
        radial = np.abs(np.einsum("kna,ka->kn", gradient, rhat)) * dr
        angular = np.abs(np.einsum("kna,ka->kn", gradient, phat)) * (r * dphi)[:, None]
        return np.maximum(radial, angular)

    def halved(self) -> DiskMesh:
        return DiskMesh(self.radius, (max(1, self.counts[0] // 2), max(1, self.counts[1] // 2)))

    def describe(self) -> dict[str, object]:
        return {"type": "disk", "kmesh": list(self.counts), "radius_inv_angstrom": self.radius}


@dataclass(frozen=True)
class BoxMesh:
    """Midpoint rule on a box lower <= k <= upper."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def n_points(self) -> int:
        return int(np.prod(self.counts))

    @property
    def spacing(self) -> float:
        return float(
            max((u - lo) / n for lo, u, n in zip(self.lower, self.upper, self.counts, strict=True))
        )

    def chunk(self, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        idx = np.unravel_index(np.arange(start, stop), self.counts)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        step = (hi - lo) / np.asarray(self.counts)
        k = np.stack([lo[a] + (i + 0.5) * step[a] for a, i in enumerate(idx)], axis=-1)
        w = np.full(k.shape[0], np.prod(step) / (2.0 * np.pi) ** len(self.counts))
        return k, w

    def energy_step(self, k: FloatArray, gradient: FloatArray) -> FloatArray:
        step = (np.asarray(self.upper) - np.asarray(self.lower)) / np.asarray(self.counts)
        return np.max(np.abs(gradient * step), axis=-1)

    def halved(self) -> BoxMesh:
        return BoxMesh(self.lower, self.upper, tuple(max(1, n // 2) for n in self.counts))

    def describe(self) -> dict[str, object]:
        return {
            "type": "box",
            "kmesh": list(self.counts),
            "lower": list(self.lower),
            "upper": list(self.upper),
        }


Mesh = UniformMesh | DiskMesh | BoxMesh


def make_mesh(model: Model, kmesh: object, shift: bool = False) -> Mesh:
    """The integration mesh of a model: uniform BZ mesh (lattice) or its domain rule (continuum)."""
    if kmesh is None:
        raise QgmagError(
            "kmesh is required: (n1, n2[, n3]) points per reciprocal vector for lattice models, "
            "(n_radial, n_angle) for continuum disk models."
        )
    if isinstance(model, ContinuumModel):
        domain = model.domain
        if isinstance(domain, Disk):
            return DiskMesh(domain.radius, _check_counts(kmesh, 2, "n_radial, n_angle"))  # type: ignore[arg-type]
        if isinstance(domain, Box):
            return BoxMesh(
                tuple(domain.lower),
                tuple(domain.upper),
                _check_counts(kmesh, domain.dim, "points per direction"),
            )
        raise QgmagError(f"unsupported continuum domain {domain!r}.")
    recip = getattr(model, "reciprocal_lattice", None)
    if recip is None:
        raise QgmagError(
            "the model has neither a lattice nor a continuum domain to integrate over."
        )
    counts = _check_counts(kmesh, model.dim, "points along each reciprocal vector")
    return UniformMesh(np.asarray(recip), counts, float(model.cell_volume), bool(shift))  # type: ignore[arg-type]


def chunk_bounds(n_points: int, chunk_size: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering range(n_points) in chunks of at most chunk_size."""
    return [(s, min(s + chunk_size, n_points)) for s in range(0, n_points, chunk_size)]


def iter_chunks(mesh: Mesh, chunk_size: int) -> Iterator[tuple[FloatArray, FloatArray]]:
    """Stream (k, w) chunks of a mesh."""
    for start, stop in chunk_bounds(mesh.n_points, chunk_size):
        yield mesh.chunk(start, stop)
