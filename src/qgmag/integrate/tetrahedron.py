"""Tetrahedron integration of Fermi-surface (f0') terms on a uniform mesh.

A Fermi-surface term is ∫[dk] Σ_n X_n(k) f0'(ε_n(k) - μ). On the point mesh f0' is
sampled, which needs a mesh step far below k_B T (at 10 K, 0.9 meV). The tetrahedron
rule instead interpolates ε_n linearly inside tetrahedra (3D: 6 per mesh cell, sharing
the cell's shortest diagonal; 2D: 2 triangles per cell, split along the shorter
diagonal) and integrates the delta function exactly over the interpolant:

    ∫[dk] X δ(E - ε) ≈ Σ_tetra (1/(n_t N V_cell)) Σ_i w_i(E) X_i,

with w_i(E) the measure of the iso-energy cross-section (triangle or quadrilateral in
3D, segment in 2D) divided by |∇ε|, shared among the corners by the barycentric
coordinates of its centroid (exact for X linear in the tetrahedron). The *optimized*
rule (Kawamura, Gohda and Tsuneyuki, PRB 89, 094515 (2014)) replaces the 4 corner
energies by least-squares effective energies ε_eff = W ε_20 over 20 mesh points around
the tetrahedron and distributes the corner weights back over those 20 points with W^T,
which cancels the leading curvature error of the linear rule (3D only).

Temperature and smearing: ∫ dE f'(E - μ) g(E) = -∫_0^1 g(μ + w x(u)) du with
u = f(x), x = (E - μ)/w, evaluated by Gauss–Legendre nodes in u (:data:`N_NODES`);
Fermi–Dirac at T > 0 (w = k_B T), the run's smearing at T = 0 (Fermi–Dirac or
Gaussian; Methfessel–Paxton's f is not monotonic and is refused), and at T = 0 without
smearing the exact delta function (one node at μ).

The weights depend on the energies at neighbouring mesh points, so they are computed
for the whole mesh before the k-chunks are integrated (:meth:`TetrahedronRule.build`:
eigenvalues on the whole mesh, then the weights of every tetrahedron, in chunks), and
kept in the plan for the bands that have any (memory N × bands × μ × T doubles).
The rule needs the full uniform mesh: it does not combine with a reduced (weighted,
irreducible) point list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erfcinv

from qgmag.constants import BOLTZMANN_EV
from qgmag.errors import QgmagError
from qgmag.kspace.mesh import UniformMesh, chunk_bounds
from qgmag.models.base import FloatArray, Model
from qgmag.occupation import Smearing

#: integration rules of Fermi-surface terms accepted by qgmag.compute(integration=...)
INTEGRATION_RULES = ("mesh", "tetrahedron", "linear-tetrahedron", "adaptive-tetrahedron")
#: Gauss–Legendre nodes of the energy integral over f' at T > 0 or with smearing
N_NODES = 24
#: tetrahedra (or triangles) per chunk when computing the weights
TETRA_CHUNK = 4096

#: Kawamura et al. (2014) least-squares matrix (4 corners x 20 points), times 1260
_KAWAMURA_W = np.array(
    [
        [1440, 0, 30, 0, -38, 7, 17, -28, -56, 9, -46, 9, -38, -28, 17, 7, -18, -18, 12, -18],
        [0, 1440, 0, 30, -28, -38, 7, 17, 9, -56, 9, -46, 7, -38, -28, 17, -18, -18, -18, 12],
        [30, 0, 1440, 0, 17, -28, -38, 7, -46, 9, -56, 9, 17, 7, -38, -28, 12, -18, -18, -18],
        [0, 30, 0, 1440, 7, 17, -28, -38, 9, -46, 9, -56, -28, 17, 7, -38, -18, 12, -18, -18],
    ],
    dtype=float,
)
OPTIMIZED_W = _KAWAMURA_W / 1260.0


def tetrahedra_offsets(reciprocal: FloatArray, counts: tuple[int, ...], points: int) -> np.ndarray:
    """Integer mesh offsets of the corners of the 6 tetrahedra of a cell (6, points, 3).

    The tetrahedra share the cell's shortest main diagonal (Cartesian length with the
    mesh steps b_a/n_a); each is a path k1 -> k2 -> k3 -> k4 along the three axes in
    one of the 6 orders. ``points`` = 20 adds Kawamura's 16 surrounding points.
    """
    steps = np.asarray(reciprocal) / np.asarray(counts)[:, None]
    starts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    signs = np.array([[1, 1, 1], [-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    best = int(np.argmin([np.linalg.norm(s @ steps) for s in signs]))
    start, sign = starts[best], signs[best]
    out = []
    for order in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        k = [start.copy()]
        for axis in order:
            step = np.zeros(3, dtype=int)
            step[axis] = sign[axis]
            k.append(k[-1] + step)
        k1, k2, k3, k4 = k
        if points == 20:
            k += [2 * k1 - k2, 2 * k2 - k3, 2 * k3 - k4, 2 * k4 - k1]
            k += [2 * k1 - k3, 2 * k2 - k4, 2 * k3 - k1, 2 * k4 - k2]
            k += [2 * k1 - k4, 2 * k2 - k1, 2 * k3 - k2, 2 * k4 - k3]
            k += [k4 - k1 + k2, k1 - k2 + k3, k2 - k3 + k4, k3 - k4 + k1]
        out.append(np.array(k))
    return np.array(out)


def triangles_offsets(reciprocal: FloatArray, counts: tuple[int, ...]) -> np.ndarray:
    """Integer offsets of the 2 triangles of a 2D cell (2, 3, 2), split along the shorter
    diagonal."""
    steps = np.asarray(reciprocal) / np.asarray(counts)[:, None]
    if np.linalg.norm(steps[0] + steps[1]) <= np.linalg.norm(steps[0] - steps[1]):
        return np.array([[[0, 0], [1, 0], [1, 1]], [[0, 0], [0, 1], [1, 1]]])
    return np.array([[[1, 0], [0, 0], [0, 1]], [[1, 0], [1, 1], [0, 1]]])


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return num / np.where(den > 0, den, 1.0)


def tetra_delta_weights(e: FloatArray, energy: FloatArray) -> FloatArray:
    """Corner weights w_i(E) of ∫ δ(E - ε) over a tetrahedron of unit volume.

    e: (M, 4) corner energies sorted ascending; energy: (M, Q) or (1, Q). Returns
    (M, Q, 4): the cross-section measure (area / |∇ε|, per unit tetrahedron volume)
    times the barycentric coordinates of its centroid (sum over corners = DOS of the
    tetrahedron at E). On the reference tetrahedron (corners 0, x̂, ŷ, ẑ in sorted order)
    ε = e1 + d·r, d = (e2-e1, e3-e1, e4-e1); the cross-section is the triangle on edges
    (12, 13, 14) for e1 <= E < e2, the quadrilateral (13, 14, 24, 23) split along 13-24
    for e2 <= E < e3, and the triangle (14, 24, 34) for e3 <= E < e4; its vertices lie
    at fractions t_ij = (E - e_i)/(e_j - e_i) along the edges.
    """
    d = e[:, 1:] - e[:, :1]
    grad = np.sqrt(np.sum(d * d, axis=1))[:, None]
    en = np.broadcast_to(energy, (e.shape[0], energy.shape[-1]))
    ei = [e[:, i, None] for i in range(4)]
    out = np.zeros((*en.shape, 4))

    def t(i: int, j: int, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, _ratio(en - ei[i], ei[j] - ei[i]), 0.0)

    def add(mask: np.ndarray, cross: tuple[np.ndarray, ...], edges, ts) -> None:  # noqa: ANN001
        area2 = np.sqrt(cross[0] ** 2 + cross[1] ** 2 + cross[2] ** 2)  # twice the area
        measure = np.where(mask, 3.0 * _ratio(area2, grad), 0.0)  # 6 · area / |∇ε|
        for (i, j), tv in zip(edges, ts, strict=True):
            out[..., i] += measure * (1.0 - tv) / 3.0
            out[..., j] += measure * tv / 3.0

    case = (en >= ei[0]) & (en < ei[1])
    if case.any():
        t12, t13, t14 = t(0, 1, case), t(0, 2, case), t(0, 3, case)
        add(case, (t13 * t14, t12 * t14, t12 * t13), ((0, 1), (0, 2), (0, 3)), (t12, t13, t14))
    case = (en >= ei[1]) & (en < ei[2])
    if case.any():
        t13, t14, t23, t24 = t(0, 2, case), t(0, 3, case), t(1, 2, case), t(1, 3, case)
        # triangle (13, 14, 24): vertices (0, t13, 0), (0, 0, t14), (1 - t24, 0, t24)
        cross = (t13 * (t14 - t24), t14 * (1.0 - t24), t13 * (1.0 - t24))
        add(case, cross, ((0, 2), (0, 3), (1, 3)), (t13, t14, t24))
        # triangle (13, 24, 23): vertices (0, t13, 0), (1 - t24, 0, t24), (1 - t23, t23, 0)
        cross = (
            t24 * (t23 - t13),
            t24 * (1.0 - t23),
            (1.0 - t24) * (t23 - t13) + t13 * (1.0 - t23),
        )
        add(case, cross, ((0, 2), (1, 3), (1, 2)), (t13, t24, t23))
    case = (en >= ei[2]) & (en < ei[3])
    if case.any():
        t14, t24, t34 = t(0, 3, case), t(1, 3, case), t(2, 3, case)
        # vertices (0, 0, t14), (1 - t24, 0, t24), (0, 1 - t34, t34)
        cross = (
            (t24 - t14) * (1.0 - t34),
            (1.0 - t24) * (t34 - t14),
            (1.0 - t24) * (1.0 - t34),
        )
        add(case, cross, ((0, 3), (1, 3), (2, 3)), (t14, t24, t34))
    return out


def triangle_delta_weights(e: FloatArray, energy: FloatArray) -> FloatArray:
    """2D analogue of :func:`tetra_delta_weights`: (M, 3) sorted corner energies of a
    triangle of unit area -> (M, Q, 3) (iso-line length / |∇ε| times the barycentric
    coordinates of its midpoint)."""
    corners = np.array([[0.0, 0], [1, 0], [0, 1]])
    d = e[:, 1:] - e[:, :1]
    grad = np.sqrt(np.sum(d * d, axis=1))[:, None]
    en = np.broadcast_to(energy, (e.shape[0], energy.shape[-1]))
    ei = [e[:, i, None] for i in range(3)]

    def segment(edges: tuple[tuple[int, int], ...], mask: np.ndarray) -> np.ndarray:
        ts = [np.where(mask, _ratio(en - ei[i], ei[j] - ei[i]), 0.0) for i, j in edges]
        pts = [
            (1 - tv)[..., None] * corners[i] + tv[..., None] * corners[j]
            for (i, j), tv in zip(edges, ts, strict=True)
        ]
        length = np.linalg.norm(pts[1] - pts[0], axis=-1)
        measure = np.where(mask, 2.0 * _ratio(length, grad), 0.0)
        w = np.zeros((*en.shape, 3))
        for (i, j), tv in zip(edges, ts, strict=True):
            w[..., i] += (1 - tv) / 2
            w[..., j] += tv / 2
        return measure[..., None] * w

    case_a = (en >= ei[0]) & (en < ei[1])
    case_b = (en >= ei[1]) & (en < ei[2])
    return segment(((0, 1), (0, 2)), case_a) + segment(((0, 2), (1, 2)), case_b)


def energy_nodes(
    mu: FloatArray, temperature: FloatArray, smearing: Smearing | None, n_nodes: int = N_NODES
) -> tuple[FloatArray, FloatArray]:
    """Energies (n_mu, n_T, Q) and weights (n_T, Q) with ∫ dE f'(E-μ) g(E) ≈ -Σ c g(E_q)."""
    mu = np.asarray(mu, dtype=float)
    if smearing is None and not np.any(np.asarray(temperature) > 0):
        n_nodes = 1  # exact delta functions only
    u, c = np.polynomial.legendre.leggauss(n_nodes)
    u, c = 0.5 * (u + 1.0), 0.5 * c
    xs, cs = [], []
    for temp in temperature:
        if temp > 0:
            x = BOLTZMANN_EV * temp * np.log((1.0 - u) / u)
            xs.append(x)
            cs.append(c)
        elif smearing is None:
            xs.append(np.zeros(n_nodes))  # exact delta: all nodes at μ, weights summing to 1
            cs.append(c)
        elif smearing.kind == "fermi-dirac":
            xs.append(smearing.width * np.log((1.0 - u) / u))
            cs.append(c)
        elif smearing.kind == "gaussian":
            xs.append(smearing.width * erfcinv(2.0 * u))
            cs.append(c)
        else:
            raise QgmagError(
                f"tetrahedron integration cannot use {smearing.kind} smearing (its occupation is "
                "not monotonic): use smearing=('gaussian', width), a Fermi–Dirac width, none "
                "(exact delta function at T = 0) or temperatures > 0."
            )
    x = np.array(xs)  # (n_T, Q)
    return mu[:, None, None] + x[None], np.array(cs)


@dataclass(frozen=True)
class TetrahedronRule:
    """f0' weights of every mesh point and band, from the tetrahedron rule.

    ``weights`` (N, n_b, n_mu, n_T) for bands [band_start, band_start + n_b) in 1/(eV Å^d)
    (they replace f0'(ε) w_k of the point mesh); bands outside carry no weight.
    """

    kind: str
    weights: np.ndarray
    band_start: int

    def df0(self, start: int, stop: int, rows: slice) -> FloatArray:
        """(stop - start, n_rows, n_mu, n_T) weights of mesh points [start, stop) for the
        bands of ``rows`` (a BandData's row slice)."""
        n_rows = rows.stop - rows.start
        out = np.zeros((stop - start, n_rows, *self.weights.shape[2:]))
        lo = max(rows.start, self.band_start)
        hi = min(rows.stop, self.band_start + self.weights.shape[1])
        if hi > lo:
            out[:, lo - rows.start : hi - rows.start] = self.weights[
                start:stop, lo - self.band_start : hi - self.band_start
            ]
        return out

    def describe(self) -> dict[str, object]:
        return {
            "rule": self.kind,
            "bands": [self.band_start, self.band_start + self.weights.shape[1]],
        }

    @classmethod
    def build(
        cls,
        model: Model,
        mesh: object,
        kind: str,
        mu: FloatArray,
        temperature: FloatArray,
        smearing: Smearing | None,
        chunk_size: int,
    ) -> TetrahedronRule:
        """Eigenvalues on the whole mesh, then the f0' weights of every tetrahedron."""
        if not isinstance(mesh, UniformMesh):
            raise QgmagError(
                f"integration={kind!r} needs the full uniform k-mesh of a lattice model (the "
                "tetrahedra join neighbouring mesh points); use integration='mesh' for "
                "continuum models or reduced (irreducible, weighted) point lists."
            )
        dim = len(mesh.counts)
        if kind == "tetrahedron" and dim != 3:
            raise QgmagError(
                "the optimized tetrahedron rule is defined for 3D meshes; for a 2D model use "
                "integration='linear-tetrahedron' (linear triangles)."
            )
        if min(mesh.counts) < (3 if kind == "tetrahedron" else 2):
            raise QgmagError(
                f"integration={kind!r} needs at least {3 if kind == 'tetrahedron' else 2} "
                f"points along every direction; got kmesh {list(mesh.counts)}."
            )
        nodes, coeff = energy_nodes(mu, temperature, smearing)
        energies = _mesh_energies(model, mesh, chunk_size)  # (N, n)
        if dim == 3:
            offsets = tetrahedra_offsets(
                mesh.reciprocal_lattice, mesh.counts, 20 if kind == "tetrahedron" else 4
            )
            w_matrix = OPTIMIZED_W if kind == "tetrahedron" else np.eye(4)
        else:
            offsets = triangles_offsets(mesh.reciprocal_lattice, mesh.counts)
            w_matrix = np.eye(3)
        lo_e, hi_e = float(nodes.min()), float(nodes.max())
        bands = _active_bands(energies, lo_e, hi_e)
        n_t = offsets.shape[0]
        scale = 1.0 / (n_t * mesh.n_points * mesh.cell_volume)
        if bands.stop <= bands.start:
            return cls(kind, np.zeros((mesh.n_points, 0, *nodes.shape[:2])), 0)
        weights = np.zeros((mesh.n_points, bands.stop - bands.start, *nodes.shape[:2]))
        for c0, c1 in chunk_bounds(mesh.n_points, TETRA_CHUNK):
            _add_cell_weights(
                weights,
                energies[:, bands],
                mesh.counts,
                offsets,
                w_matrix,
                c0,
                c1,
                nodes,
                coeff,
                scale,
            )
        return cls(kind, weights, bands.start)


def _mesh_energies(model: Model, mesh: UniformMesh, chunk_size: int) -> FloatArray:
    """Band energies (N, n) on the whole mesh (eigenvalues only)."""
    from qgmag.bands.grid_bloch import grid_bloch_blocks

    parts = []
    for start, stop in chunk_bounds(mesh.n_points, max(chunk_size, 1)):
        blocks = grid_bloch_blocks(model, mesh, start, stop, 0)
        if blocks is not None:
            h = blocks["h"]
        else:
            h = model.hamiltonian(mesh.chunk(start, stop)[0])
        parts.append(np.linalg.eigvalsh(h))
    return np.concatenate(parts)


def _cell_points(counts: tuple[int, ...], offsets: np.ndarray, c0: int, c1: int) -> np.ndarray:
    """Linear mesh indices (cells, n_t, points) of the tetrahedra of cells [c0, c1)
    (periodic: indices wrap around the mesh)."""
    base = np.unravel_index(np.arange(c0, c1), counts)
    strides = np.cumprod((1, *counts[::-1]))[-2::-1]  # C order
    out = np.zeros((c1 - c0, *offsets.shape[:2]), dtype=np.int64)
    for axis, n in enumerate(counts):
        shifts = np.arange(offsets[..., axis].min(), offsets[..., axis].max() + 1)
        table = ((np.arange(n)[:, None] + shifts[None]) % n) * strides[axis]  # (n, shifts)
        out += table[base[axis]][:, offsets[..., axis] - shifts[0]]
    return out


def _active_bands(energies: FloatArray, lo: float, hi: float) -> slice:
    """Contiguous band range that can carry weight for node energies in [lo, hi].

    Effective corner energies are combinations Σ_j W_ij ε_j with Σ_j W_ij = 1 and
    Σ_j |W_ij| < 1.46, so they lie within a quarter of a band's width beyond its range.
    """
    e_min, e_max = energies.min(axis=0), energies.max(axis=0)
    pad = 0.25 * (e_max - e_min)
    which = np.flatnonzero((e_min - pad <= hi) & (e_max + pad >= lo))
    return slice(int(which[0]), int(which[-1]) + 1) if which.size else slice(0, 0)


def _add_cell_weights(
    out: np.ndarray,
    energies: FloatArray,
    counts: tuple[int, ...],
    offsets: np.ndarray,
    w_matrix: np.ndarray,
    c0: int,
    c1: int,
    nodes: FloatArray,
    coeff: FloatArray,
    scale: float,
) -> None:
    """Add the f0' weights of the tetrahedra of cells [c0, c1) to ``out`` (N, n_b, n_mu, n_T)."""
    points = _cell_points(counts, offsets, c0, c1)  # (C, n_t, P)
    add_tetra_weights(out, energies, points, w_matrix, nodes, coeff, scale)


def add_tetra_weights(
    out: np.ndarray,
    energies: FloatArray,
    points: np.ndarray,
    w_matrix: np.ndarray,
    nodes: FloatArray,
    coeff: FloatArray,
    scale: float,
) -> None:
    """Add the f0' weights of tetrahedra (or triangles) to ``out`` (N, n_b, n_mu, n_T).

    points: (C, n_t, P) indices into ``energies`` (N, n_b) and ``out`` of the P points of
    each of the n_t tetrahedra of C cells (P = corners, or Kawamura's 20 with ``w_matrix``
    (corners, P)); scale: measure of one tetrahedron in 1/Å^d ([dk] of the cell / n_t);
    nodes, coeff: :func:`energy_nodes`.
    """
    eff = np.matmul(w_matrix, energies[points])  # (C, n_t, corners, n_b)
    lo, hi = nodes.min(), nodes.max()
    hit = (eff.min(axis=2) <= hi) & (eff.max(axis=2) >= lo)  # (C, n_t, n_b)
    cell, tet, band = np.nonzero(hit)
    if cell.size == 0:
        return
    e = eff[cell, tet, :, band]  # (M, corners)
    order = np.argsort(e, axis=1)
    e_sorted = np.take_along_axis(e, order, axis=1)
    n_mu, n_temp, n_q = nodes.shape
    delta = tetra_delta_weights if e.shape[1] == 4 else triangle_delta_weights
    batch = max(1, 2_000_000 // (n_mu * n_temp * n_q * e.shape[1]))
    for b0 in range(0, cell.size, batch):
        sl = slice(b0, b0 + batch)
        w = delta(e_sorted[sl], nodes.reshape(1, -1))  # (m, n_mu*n_T*Q, corners)
        w = w.reshape(-1, n_mu, n_temp, n_q, e.shape[1])
        w = -np.einsum("mitqc,tq->mitc", w, coeff)  # f0' = -δ: (m, n_mu, n_T, corners)
        unsorted = np.empty_like(w)
        np.put_along_axis(unsorted, order[sl][:, None, None, :], w, axis=3)
        w_points = np.einsum("mitc,cp->mpit", unsorted, w_matrix) * scale  # (m, P, n_mu, n_T)
        target = points[cell[sl], tet[sl]]  # (m, P)
        flat = out.reshape(out.shape[0] * out.shape[1], -1)
        rows = (target * out.shape[1] + band[sl][:, None]).ravel()
        np.add.at(flat, rows, w_points.reshape(rows.size, -1))
