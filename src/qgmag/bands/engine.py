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

from qgmag.errors import ModelError, QgmagError
from qgmag.models.base import ComplexArray, FloatArray, Model, as_kpoints

#: default tolerance (eV) below which two energies at the same k count as degenerate
DEFAULT_DEGENERACY_TOL = 1e-6
#: degeneracy tolerances at or above this (eV) merge distinct bands: refused
MAX_DEGENERACY_TOL = 0.1


def check_degeneracy_tol(degeneracy_tol: object) -> float:
    """The tolerance as a float in (0, MAX_DEGENERACY_TOL) eV, else a QgmagError."""
    try:
        tol = float(degeneracy_tol)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        tol = float("nan")
    if isinstance(degeneracy_tol, bool) or not 0 < tol < MAX_DEGENERACY_TOL:
        raise QgmagError(
            f"degeneracy_tol must be a positive number of eV below {MAX_DEGENERACY_TOL} (bands "
            f"closer than it are merged into one set); got {degeneracy_tol!r}. The default is "
            f"{DEFAULT_DEGENERACY_TOL:g} eV."
        )
    return tol


def quasi_degenerate_switch(gap: FloatArray, broadening: float) -> FloatArray:
    """s(Δ) = 1 - exp(-Δ²/η²): how far a pair of bands split by Δ counts as two bands.

    Used for the interband sums of the spin Berry curvature (docs/degeneracies.md): a pair
    split by much less than the broadening η actually used (k_B T or the smearing width)
    is one set (s ≈ Δ²/η² → 0, continuously), a pair split by much more is two bands
    (s = 1 to round-off for Δ > 6η). η = 0 means no broadening: s = 1.
    """
    if broadening <= 0:
        return np.ones_like(gap)
    return -np.expm1(-((gap / broadening) ** 2))


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
        self.model = model
        self.kpoints = as_kpoints(kpoints, model.dim)
        self.degeneracy_tol = check_degeneracy_tol(degeneracy_tol)
        order = 2 if need_second_derivatives else 1
        self.full_connection = getattr(model, "berry_connection", "tight-binding") == "full"
        blocks_fn = getattr(model, "bloch_blocks", None)
        self._phase = None  # (N, n) e^{ik·τ}: atomic-gauge eigenvectors are conj(phase) * U
        self._connection = self._connection_curl = None
        if blocks_fn is not None:
            out = blocks_fn(self.kpoints, order, connection=self.full_connection)
            h, dh, d2h, self._phase = out["h"], out["dh"], out["d2h"], out["phase"]
            if self.full_connection:
                self._connection, self._connection_curl = out["connection"], out["connection_curl"]
        else:
            h, dh, d2h = model.derivatives(self.kpoints, order=order)
        self._dh = dh
        self._d2h = d2h
        if not np.all(np.isfinite(h)):
            raise ModelError(
                f"the Hamiltonian of model {getattr(model, 'name', '')!r} has NaN or infinite "
                "entries at some k-points; check its parameters and functions."
            )
        self.energy, self._u = np.linalg.eigh(h)
        if gauge_rotation is not None:
            self._u = _rotate_degenerate_sets(
                self.energy, self._u, self.degeneracy_tol, gauge_rotation
            )

    @cached_property
    def eigenvectors(self) -> ComplexArray:
        """(N, n, n) eigenvectors of H(k) in the model's gauge (columns)."""
        if self._phase is None:
            return self._u
        return np.conj(self._phase)[:, :, None] * self._u

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
        """U† op U for op (..., N, n, n) given in the basis of the eigen-solve."""
        u = self._u
        return np.matmul(np.conj(np.swapaxes(u, -1, -2)), np.matmul(op, u))

    @cached_property
    def velocity_matrix(self) -> ComplexArray:
        """V^a_nm = <n|∂_a H|m> (3, N, n, n) in eV·Å (zero z-row for 2D models)."""
        if self.dim == 3:
            return self._to_eigenbasis(self._dh)
        out = np.zeros((3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        out[: self.dim] = self._to_eigenbasis(self._dh)
        return out

    @cached_property
    def velocity_cross(self) -> FloatArray:
        """Im(V^a_nm V^b_mn) for (a, b, c) cyclic (3[c], N, n, m), (eV·Å)²; shared by the
        Berry curvature and the orbital moment (V Hermitian: V^b_mn = conj(V^b_nm))."""
        v = self.velocity_matrix
        vr, vi = v.real, v.imag
        out = np.empty((3, self.n_k, self.n_bands, self.n_bands))
        for c, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
            np.subtract(vi[a] * vr[b], vr[a] * vi[b], out=out[c])
        return out

    @cached_property
    def position_connection(self) -> ComplexArray:
        """Ā^a = U† A^W_a U (3, N, n, m), Å: the Wannier-function position part of the
        Berry connection ("full" level; A^W_ij = Σ_R e^{ik·(R+τ_j-τ_i)} [r_ij(R) - τ_i δ_ij
        δ_R0]). Zero at the "tight-binding" level."""
        if self._connection is None:
            return np.zeros((3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        return self._to_eigenbasis(self._connection)

    @cached_property
    def position_curvature(self) -> ComplexArray:
        """Ω̄^c = U† (∂_a A^W_b - ∂_b A^W_a) U, (a, b, c) cyclic (3, N, n, m), Å²."""
        if self._connection_curl is None:
            return np.zeros((3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        return self._to_eigenbasis(self._connection_curl)

    @cached_property
    def second_derivative_matrix(self) -> ComplexArray:
        """W^{ab}_nm = <n|∂_a ∂_b H|m> (3, 3, N, n, n) in eV·Å²."""
        if self._d2h is None:
            raise QgmagError(
                "second derivatives of H were not computed for this chunk; build BandData with "
                "need_second_derivatives=True."
            )
        out = np.zeros((3, 3, self.n_k, self.n_bands, self.n_bands), dtype=complex)
        pairs = [(a, b) for a in range(self.dim) for b in range(a, self.dim)]
        unique = self._to_eigenbasis(np.stack([self._d2h[a, b] for a, b in pairs]))
        for (a, b), w in zip(pairs, unique, strict=True):  # ∂a∂b H = ∂b∂a H: 6 of 9
            out[a, b] = w
            out[b, a] = w
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
        u = self.eigenvectors
        return np.matmul(np.conj(np.swapaxes(u, -1, -2)), np.matmul(np.asarray(spin)[:, None], u))

    @cached_property
    def spin_expectation(self) -> FloatArray:
        """<n|S_a/hbar|n> (3, N, n): the diagonal of :attr:`spin_matrix` without forming it."""
        if "spin_matrix" in self.__dict__:
            return np.real(np.diagonal(self.spin_matrix, axis1=-2, axis2=-1))
        spin = self.model.spin
        if spin is None:
            self.spin_matrix  # noqa: B018  (raises the explanatory error)
        u = self.eigenvectors
        su = np.matmul(np.asarray(spin)[:, None], u)  # (3, N, n, n)
        return np.einsum("kin,akin->akn", u.real, su.real) + np.einsum(
            "kin,akin->akn", u.imag, su.imag
        )

    @cached_property
    def degenerate_set_index(self) -> np.ndarray:
        """(N, n) int: the degenerate set of each band. Sets are transitive clusters: runs of
        bands (sorted by energy) whose neighbours are closer than degeneracy_tol, so a chain
        of small gaps is one set even if its ends are further apart than the tolerance."""
        e = self.energy
        breaks = np.diff(e, axis=1) >= self.degeneracy_tol
        return np.concatenate(
            [np.zeros((e.shape[0], 1), dtype=int), np.cumsum(breaks, axis=1)], axis=1
        )

    @cached_property
    def degenerate(self) -> np.ndarray:
        """(N, n, n) bool: True where bands n and m are in one degenerate set (diagonal
        included); see :attr:`degenerate_set_index`."""
        idx = self.degenerate_set_index
        return idx[:, :, None] == idx[:, None, :]

    def broadened_inverse_gap_squared(self, broadening: float) -> FloatArray:
        """(N, n, m): s(ε_n - ε_m)/(ε_n - ε_m)² for m ∉ D(n), 0 inside sets (1/eV²), with
        the switch s of :func:`quasi_degenerate_switch` (broadening η in eV; 0: s = 1)."""
        inv = self.inverse_gap
        if broadening <= 0:
            return inv * inv
        gap = self.energy[:, :, None] - self.energy[:, None, :]
        return inv * inv * quasi_degenerate_switch(gap, broadening)

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
