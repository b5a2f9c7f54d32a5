"""Eigen-decomposition of a chunk of k-points and the matrices built on it.

:class:`BandData` holds, for N k-points at once (no Python loop over k), the energies and
eigenvectors and, computed only when first asked for (``functools.cached_property``):
velocity matrices V^a = U† ∂_a H U (eV·Å), second-derivative matrices
W^{ab} = U† ∂_a ∂_b H U (eV·Å²), spin matrices U† S U, degenerate-set masks and the
masked inverse energy differences 1/(ε_n - ε_m) for m ∉ D(n).

Cartesian component axes are always 3 long: for a 2D model the z components of
V and W are zero (k_z does not exist), so the same geometry code serves 2D and 3D.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from qgmag.errors import QgmagError
from qgmag.models.base import ComplexArray, FloatArray, Model, as_kpoints

#: default tolerance (eV) below which two energies at the same k count as degenerate
DEFAULT_DEGENERACY_TOL = 1e-6


class BandData:
    """Band data for a chunk of k-points.

    Parameters
    ----------
    model : any :class:`~qgmag.models.Model`.
    kpoints : (N, d) Cartesian k-points in 1/Å.
    degeneracy_tol : energies closer than this (eV) form one degenerate set D(n).
    need_second_derivatives : compute ∂²H too (needed by the analytic metric dipole).
    gauge_rotation : a ``numpy.random.Generator``; if given, the eigenvectors of every
        degenerate set are rotated by a random unitary (a test of gauge invariance:
        observables must not change).
    """

    def __init__(
        self,
        model: Model,
        kpoints: FloatArray,
        *,
        degeneracy_tol: float = DEFAULT_DEGENERACY_TOL,
        need_second_derivatives: bool = False,
        gauge_rotation: np.random.Generator | None = None,
    ) -> None:
        if not degeneracy_tol > 0:
            raise QgmagError(f"degeneracy_tol must be positive (eV); got {degeneracy_tol}.")
        self.model = model
        self.kpoints = as_kpoints(kpoints, model.dim)
        self.degeneracy_tol = float(degeneracy_tol)
        h, dh, d2h = model.derivatives(self.kpoints, order=2 if need_second_derivatives else 1)
        self._dh = dh
        self._d2h = d2h
        self.energy, self.eigenvectors = np.linalg.eigh(h)
        if gauge_rotation is not None:
            self.eigenvectors = _rotate_degenerate_sets(
                self.energy, self.eigenvectors, self.degeneracy_tol, gauge_rotation
            )

    @property
    def n_k(self) -> int:
        return int(self.kpoints.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.energy.shape[1])

    @property
    def dim(self) -> int:
        return self.model.dim

    def _to_eigenbasis(self, op: ComplexArray) -> ComplexArray:
        """U† op U for op (..., N, n, n)."""
        u = self.eigenvectors
        return np.matmul(np.matmul(np.conj(np.swapaxes(u, -1, -2)), op), u)

    @cached_property
    def velocity_matrix(self) -> ComplexArray:
        """V^a_nm = <n|∂_a H|m> (3, N, n, n) in eV·Å (zero z-row for 2D models)."""
        out = np.zeros((3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        out[: self.dim] = self._to_eigenbasis(self._dh)
        return out

    @cached_property
    def second_derivative_matrix(self) -> ComplexArray:
        """W^{ab}_nm = <n|∂_a ∂_b H|m> (3, 3, N, n, n) in eV·Å²."""
        if self._d2h is None:
            raise QgmagError(
                "second derivatives of H were not computed for this chunk; build BandData with "
                "need_second_derivatives=True."
            )
        out = np.zeros((3, 3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        d = self.dim
        out[:d, :d] = self._to_eigenbasis(self._d2h)
        return out

    @cached_property
    def band_velocity(self) -> FloatArray:
        """∂ε_n/∂k_a = V^a_nn (3, N, n) in eV·Å."""
        return np.real(np.diagonal(self.velocity_matrix, axis1=-2, axis2=-1))

    @cached_property
    def spin_matrix(self) -> ComplexArray:
        """<n|S_a/hbar|m> (3, N, n, n); requires a spinful model."""
        spin = self.model.spin
        if spin is None:
            raise QgmagError(
                f"model {getattr(self.model, 'name', '')!r} has no spin matrices; spin quantities "
                "need a spinful model (TightBindingModel(..., spin=...))."
            )
        return self._to_eigenbasis(np.asarray(spin)[:, None])

    @cached_property
    def degenerate(self) -> np.ndarray:
        """(N, n, n) bool: True where |ε_n - ε_m| < degeneracy_tol (diagonal included)."""
        e = self.energy
        return np.abs(e[:, :, None] - e[:, None, :]) < self.degeneracy_tol

    @cached_property
    def inverse_gap(self) -> FloatArray:
        """(N, n, m): 1/(ε_n - ε_m) for m ∉ D(n), 0 inside degenerate sets (1/eV)."""
        e = self.energy
        delta = e[:, :, None] - e[:, None, :]
        with np.errstate(divide="ignore"):
            inv = np.where(self.degenerate, 0.0, 1.0 / np.where(self.degenerate, 1.0, delta))
        return inv

    @cached_property
    def berry_connection(self) -> ComplexArray:
        """Interband Berry connection A^a_mn = i V^a_mn/(ε_n - ε_m), m ∉ D(n) (3, N, n, n), Å."""
        return 1j * self.velocity_matrix * np.swapaxes(self.inverse_gap, -1, -2)[None]

    @cached_property
    def degenerate_block_velocity(self) -> ComplexArray:
        """P_D V P_D: the velocity matrix restricted to degenerate sets (3, N, n, n), eV·Å."""
        return self.velocity_matrix * self.degenerate[None]


def _rotate_degenerate_sets(
    energy: FloatArray, vectors: ComplexArray, tol: float, rng: np.random.Generator
) -> ComplexArray:
    """Multiply the eigenvectors of every degenerate set by a Haar-random unitary."""
    out = vectors.copy()
    n = energy.shape[1]
    for k in range(energy.shape[0]):
        start = 0
        while start < n:
            stop = start + 1
            while stop < n and energy[k, stop] - energy[k, stop - 1] < tol:
                stop += 1
            size = stop - start
            z = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
            q, r = np.linalg.qr(z)
            q = q * (np.diagonal(r) / np.abs(np.diagonal(r)))
            out[k, :, start:stop] = out[k, :, start:stop] @ q
            start = stop
    return out
