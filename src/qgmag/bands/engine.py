"""Eigen-decomposition of a chunk of k-points and the matrices built on it.

:class:`BandData` holds, for N k-points at once (no Python loop over k), the energies and
eigenvectors and, computed only when first asked for (``functools.cached_property``):
velocity matrices V^a = U† ∂_a H U (eV·Å), second-derivative matrices
W^{ab} = U† ∂_a ∂_b H U (eV·Å²), spin matrices U† S U, degenerate-set masks and the
masked inverse energy differences 1/(ε_n - ε_m) for m ∉ D(n).

Band window: with ``energy_window=(lo, hi)`` only the bands n that lie in [lo, hi] at
some k of the chunk (widened so that no degenerate set is split) are *rows* n of the
band matrices X_nm (shape (…, n_w, n)); the columns m keep every band, so every sum
over intermediate bands is complete and the per-band quantities of the kept bands are
the same as without the window. ``eigh`` stays whole; the transforms U_w† X U cost
n_w/n of the full ones. Band matrices are Hermitian, so X_mn = conj(X_nm) gives the
column block (:meth:`BandData.column_block`).

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
    energy_window : (lo, hi) in eV: only the bands in [lo, hi] somewhere in the chunk are
        rows of the band matrices (see the module docstring); None keeps every band.
    mesh_range : (mesh, start, stop) when ``kpoints`` are points [start, stop) of a uniform
        mesh: the Bloch sums may then be done separably along mesh lines
        (:mod:`qgmag.bands.grid_bloch`, chosen where estimated faster; same sums).
    """

    def __init__(
        self,
        model: Model,
        kpoints: FloatArray,
        *,
        degeneracy_tol: float = DEFAULT_DEGENERACY_TOL,
        need_second_derivatives: bool = False,
        gauge_rotation: np.random.Generator | None = None,
        energy_window: tuple[float, float] | None = None,
        mesh_range: tuple[object, int, int] | None = None,
    ) -> None:
        self.model = model
        self.kpoints = as_kpoints(kpoints, model.dim)
        self.degeneracy_tol = check_degeneracy_tol(degeneracy_tol)
        order = 2 if need_second_derivatives else 1
        self.full_connection = getattr(model, "berry_connection", "tight-binding") == "full"
        #: orbital moment with the external terms B, C (a WannierModel at level "full")
        self.external_terms = getattr(model, "level", None) == "full"
        blocks_fn = getattr(model, "bloch_blocks", None)
        self._phase = None  # (N, n) e^{ik·τ}: atomic-gauge eigenvectors are conj(phase) * U
        self._connection = self._connection_curl = None
        out = None
        if mesh_range is not None:
            from qgmag.bands.grid_bloch import grid_bloch_blocks

            out = grid_bloch_blocks(model, *mesh_range, order, self.full_connection)
        self.separable_sums = out is not None
        self._mesh_range = mesh_range if self.separable_sums else None
        if out is None and blocks_fn is not None:
            out = blocks_fn(self.kpoints, order, connection=self.full_connection)
        if out is not None:
            h, dh, d2h, self._phase = out["h"], out["dh"], out["d2h"], out["phase"]
            if self.full_connection:
                self._connection, self._connection_curl = out["connection"], out["connection_curl"]
        else:
            h, dh, d2h = model.derivatives(self.kpoints, order=order)
        self._dh = dh
        self._d2h_full = d2h
        #: the distinct ∂_a∂_b H, a <= b < dim (n_pairs, N, n, n), where the Bloch sums
        #: gave them so (separable sums); else None (then taken from the (d, d) form)
        self._d2h_pairs = out.get("d2h_pairs") if out is not None else None
        # Bloch sums of a tight-binding model's (finite, checked on construction) R-space
        # matrices are Hermitian by construction: their non-finite case (overflow) shows in
        # the eigenvalues, checked after the solve; any other model's H(k) before it
        summed = out is not None
        if not summed and not np.all(np.isfinite(h)):
            raise _non_finite_hamiltonian(model)
        try:
            self.energy, self._u = np.linalg.eigh(h)
        except np.linalg.LinAlgError:
            if np.all(np.isfinite(h)):
                raise
            raise _non_finite_hamiltonian(model) from None
        if summed and not np.all(np.isfinite(self.energy)):
            raise _non_finite_hamiltonian(model)
        if gauge_rotation is not None:
            self._u = _rotate_degenerate_sets(
                self.energy, self._u, self.degeneracy_tol, gauge_rotation
            )
        self.rows = slice(0, self.energy.shape[1])
        if energy_window is not None:
            rows = band_window(self.energy, energy_window, self.degeneracy_tol)
            # the external orbital terms pair every band with every lower one
            # (full_level.py): a window for them only from band 0 on ("lopez" formula)
            if not self.external_terms or (
                rows.start == 0
                and getattr(model, "orbital_formula", "lopez") == "lopez"
                and getattr(model, "lopez_centres", None) is None
            ):
                self.rows = rows
        self.windowed = self.rows != slice(0, self.energy.shape[1])

    #: cached band matrices with the row bands as their axis -2 (rows n, columns m) or,
    #: for per-band arrays, as their last axis: sliced, not recomputed, by :meth:`row_subset`
    _ROW_MATRICES = ("velocity_matrix", "inverse_gap", "degenerate")
    _ROW_VECTORS = ("band_velocity",)
    #: cached arrays that do not depend on the rows
    _ALL_BANDS = ("degenerate_set_index", "eigenvectors")

    def row_subset(self, energy_window: tuple[float, float]) -> BandData:
        """This chunk with only the row bands found in ``energy_window`` (eV, widened so no
        degenerate set is split, :func:`band_window`) as rows: a view sharing energies,
        eigenvectors and Bloch matrices, whose cached band matrices are the row slices of
        this one's (the same numbers). Returns ``self`` where the window keeps every row,
        or where the model's external orbital terms need rows from band 0."""
        rows = band_window(self.row_energy, energy_window, self.degeneracy_tol)
        rows = slice(rows.start + self.rows.start, rows.stop + self.rows.start)
        if rows == self.rows or self.external_terms:
            return self
        sub = object.__new__(BandData)
        keep = {k: v for k, v in self.__dict__.items() if not isinstance(v, np.ndarray)}
        keep.update(
            {
                k: self.__dict__[k]
                for k in (
                    "energy",
                    "_u",
                    "_dh",
                    "_d2h_full",
                    "_d2h_pairs",
                    "_phase",
                    "_connection",
                    "_connection_curl",
                    "kpoints",
                )
                if k in self.__dict__
            }
        )
        keep.pop("_wannier_cache", None)
        keep.pop("degenerate_partners", None)
        sub.__dict__.update(keep)
        sub.rows = rows
        sub.windowed = rows != slice(0, self.n_bands)
        local = slice(rows.start - self.rows.start, rows.stop - self.rows.start)
        for name in self._ROW_MATRICES:
            if name in self.__dict__:
                sub.__dict__[name] = self.__dict__[name][..., local, :]
        for name in self._ROW_VECTORS:
            if name in self.__dict__:
                sub.__dict__[name] = self.__dict__[name][..., local]
        for name in self._ALL_BANDS:
            if name in self.__dict__:
                sub.__dict__[name] = self.__dict__[name]
        return sub

    @property
    def row_energy(self) -> FloatArray:
        """(N, n_w) energies of the row bands (eV): the bands the per-band results are for."""
        return self.energy[:, self.rows]

    @property
    def n_rows(self) -> int:
        """Number of row bands n_w (= n_bands without a window)."""
        return self.rows.stop - self.rows.start

    def diagonal(self, x: np.ndarray) -> np.ndarray:
        """X_nn of a row-band matrix (…, n_w, n) -> (…, n_w)."""
        return np.diagonal(x, offset=self.rows.start, axis1=-2, axis2=-1)

    def column_block(self, x: ComplexArray) -> ComplexArray:
        """X_mn for every band m and row band n, (…, n, n_w), of a Hermitian band matrix
        given by its rows X_nm (…, n_w, n): conj(X_nm) (also without a window, so that a
        window changes no kept number)."""
        return np.conj(np.swapaxes(x, -1, -2))

    def square_block(self, x: np.ndarray) -> np.ndarray:
        """X_nm with n and m both row bands (…, n_w, n_w)."""
        return x[..., self.rows] if self.windowed else x

    def _require_square(self, what: str) -> None:
        if self.windowed:
            raise QgmagError(
                f"{what} needs every band as a row; build BandData without energy_window."
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
        """(U_w† op) U for op (..., N, n, n) given in the basis of the eigen-solve
        (U_w = U without a band window; the same order of products either way, so a
        window changes no kept number, not even by round-off)."""
        return np.matmul(np.matmul(self._uw_dagger, op), self._u)

    @cached_property
    def _uw(self) -> ComplexArray:
        """U_w: the eigenvectors of the row bands (N, n, n_w), contiguous for BLAS."""
        return np.ascontiguousarray(self._u[:, :, self.rows]) if self.windowed else self._u

    @cached_property
    def _uw_dagger(self) -> ComplexArray:
        """U_w† (N, n_w, n), contiguous: formed once per chunk (one pass), shared by every
        transform."""
        out = np.empty((self.n_k, self.n_rows, self.n_bands), dtype=complex)
        return np.conjugate(np.swapaxes(self._u[:, :, self.rows], -1, -2), out=out)

    @cached_property
    def velocity_matrix(self) -> ComplexArray:
        """V^a_nm = <n|∂_a H|m> (3, N, n, n) in eV·Å (zero z-row for 2D models)."""
        if self.dim == 3:
            return self._to_eigenbasis(self._dh)
        out = np.zeros((3, self.n_k, self.n_rows, self.n_bands), dtype=complex)
        out[: self.dim] = self._to_eigenbasis(self._dh)
        return out

    @cached_property
    def velocity_cross(self) -> FloatArray:
        """Im(V^a_nm V^b_mn) for (a, b, c) cyclic (3[c], N, n, m), (eV·Å)²; shared by the
        Berry curvature and the orbital moment (V Hermitian: V^b_mn = conj(V^b_nm))."""
        v = self.velocity_matrix
        vr, vi = v.real, v.imag
        out = np.empty((3, self.n_k, self.n_rows, self.n_bands))
        for c, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
            np.subtract(vi[a] * vr[b], vr[a] * vi[b], out=out[c])
        return out

    @cached_property
    def position_connection(self) -> ComplexArray:
        """Ā^a = U† A^W_a U (3, N, n, m), Å: the Wannier-function position part of the
        Berry connection ("full" level; A^W_ij = Σ_R e^{ik·(R+τ_j-τ_i)} [r_ij(R) - τ_i δ_ij
        δ_R0]). Zero at the "tight-binding" level."""
        if self._connection is None:
            return np.zeros((3, self.n_k, self.n_rows, self.n_bands), dtype=complex)
        return self._to_eigenbasis(self._connection)

    @cached_property
    def position_curvature(self) -> ComplexArray:
        """Ω̄^c = U† (∂_a A^W_b - ∂_b A^W_a) U, (a, b, c) cyclic (3, N, n, m), Å²."""
        if self._connection_curl is None:
            return np.zeros((3, self.n_k, self.n_rows, self.n_bands), dtype=complex)
        from qgmag.models.tight_binding import unpack_curl

        return self._to_eigenbasis(unpack_curl(self._connection_curl))

    @property
    def _d2h(self) -> ComplexArray | None:
        """∂_a∂_b H (d, d, N, n, n) in the basis of the eigen-solve (eV·Å²), or None when
        not computed; built from the distinct pairs on first use where only those exist."""
        if self._d2h_full is None and self._d2h_pairs is not None:
            pairs = self.second_derivative_blocks
            full = np.empty((self.dim, self.dim, *pairs.shape[1:]), dtype=complex)
            for p, (a, b) in enumerate(self._derivative_pairs):
                full[a, b] = full[b, a] = pairs[p]
            self._d2h_full = full
        return self._d2h_full

    @property
    def _derivative_pairs(self) -> list[tuple[int, int]]:
        """(a, b) for a <= b < dim in the order (0, 0), (0, 1), …: the distinct ∂_a∂_b."""
        return [(a, b) for a in range(self.dim) for b in range(a, self.dim)]

    @property
    def second_derivative_blocks(self) -> ComplexArray:
        """The distinct ∂_a∂_b H (a <= b, order of :attr:`second_derivative_pairs`)
        (n_pairs, N, n, n) in the basis of the eigen-solve, eV·Å² (views where the Bloch
        sums gave them so)."""
        if self._d2h_pairs is not None:
            return self._d2h_pairs
        d2h = self._d2h
        if d2h is None:
            self.second_derivative_matrix  # noqa: B018  (raises the explanatory error)
        return np.stack([d2h[a, b] for a, b in self._derivative_pairs])

    @cached_property
    def second_derivative_matrix(self) -> ComplexArray:
        """W^{ab}_nm = <n|∂_a ∂_b H|m> (3, 3, N, n, n) in eV·Å²."""
        if self._d2h_full is None and self._d2h_pairs is None:
            raise QgmagError(
                "second derivatives of H were not computed for this chunk; build BandData with "
                "need_second_derivatives=True."
            )
        out = np.zeros((3, 3, self.n_k, self.n_rows, self.n_bands), dtype=complex)
        pairs = [(a, b) for a in range(self.dim) for b in range(a, self.dim)]
        unique = self.second_derivative_pairs
        for (a, b), w in zip(pairs, unique, strict=True):  # ∂a∂b H = ∂b∂a H: 6 of 9
            out[a, b] = w
            out[b, a] = w
        return out

    @cached_property
    def second_derivative_pairs(self) -> ComplexArray:
        """W^{ab} for a <= b < dim in the order (0,0), (0,1), ... (d(d+1)/2, N, n, n),
        eV·Å²: the distinct components of :attr:`second_derivative_matrix`."""
        return self._to_eigenbasis(self.second_derivative_blocks)

    @cached_property
    def band_velocity(self) -> FloatArray:
        """∂ε_n/∂k_a = V^a_nn (3, N, n) in eV·Å."""
        return np.real(self.diagonal(self.velocity_matrix))

    def _eigen_diagonal(self, op: ComplexArray, hermitian: bool = True) -> FloatArray:
        """Re diag(U† op U) (..., N, n_w) of the row bands without the full transform (op
        Hermitian); the complex diagonal for ``hermitian=False``."""
        u = self._uw
        ou = np.matmul(op, u)
        re = np.einsum("kin,...kin->...kn", u.real, ou.real) + np.einsum(
            "kin,...kin->...kn", u.imag, ou.imag
        )
        if hermitian:
            return re
        im = np.einsum("kin,...kin->...kn", u.real, ou.imag) - np.einsum(
            "kin,...kin->...kn", u.imag, ou.real
        )
        return re + 1j * im

    @cached_property
    def position_curvature_diagonal(self) -> FloatArray:
        """Ω̄^c_nn (3, N, n), Å², the diagonal of :attr:`position_curvature`."""
        if "position_curvature" in self.__dict__ or self._connection_curl is None:
            return np.real(self.diagonal(self.position_curvature))
        zxy, zz = self._connection_curl  # (Ω_x + i Ω_y, Ω_z): tight_binding.pack_curl
        dxy = self._eigen_diagonal(zxy, hermitian=False)
        return np.stack([dxy.real, dxy.imag, self._eigen_diagonal(zz)])

    def wannier_diagonal(self, key: str) -> FloatArray:
        """Re diag(U† X(k) U) (3, N, n) of a WannierModel's Hermitian "orbital_c" or "spin"."""
        cache = self.__dict__.setdefault("_wannier_cache", {})
        if key in cache:
            return np.real(self.diagonal(cache[key]))
        # X_x + i X_y and X_z (models.wannier_model.PACKED_KEYS): Re, Im of one diagonal
        zxy, zz = self.wannier_blocks(f"{key}_packed")
        dxy = self._eigen_diagonal(zxy, hermitian=False)
        return np.stack([dxy.real, dxy.imag, self._eigen_diagonal(zz)])

    def wannier_blocks(self, key: str) -> ComplexArray:
        """Σ_R e^{ik·R} X(R) (3, N, n, n) of a WannierModel's matrices (``key`` as in
        :meth:`~qgmag.models.wannier_model.WannierModel.wannier_blocks`), by separable sums
        where the chunk is on a uniform mesh and that is faster (the same sums)."""
        if self._mesh_range is not None:
            from qgmag.bands.grid_bloch import grid_wannier_blocks

            out = grid_wannier_blocks(self.model, *self._mesh_range, key)
            if out is not None:
                return out
        return self.model.wannier_blocks(self.kpoints, key)

    def wannier_matrix(self, key: str) -> ComplexArray:
        """U† X(k) U (3, N, n, n) for a WannierModel's "orbital_b" (B̄, eV·Å), "orbital_c"
        (C̄, eV·Å²) or "spin" (S/ħ) matrices, computed once per chunk."""
        cache = self.__dict__.setdefault("_wannier_cache", {})
        if key not in cache:
            cache[key] = self._to_eigenbasis(self.wannier_blocks(key))
        return cache[key]

    @property
    def _spin_basis(self) -> ComplexArray:
        """Eigenvectors in the basis Σ_R e^{ik·R}|Rn> (phase-stripped), where the model's
        k-independent spin matrices are the on-site operator Σ_R |Rm> S_mn <Rn| exactly
        (in the atomic gauge it would carry e^{ik·(τ_n - τ_m)} between partners whose
        centres differ); the same as :attr:`eigenvectors` when they share positions."""
        return self._u

    @property
    def _spin_from_r(self) -> bool:
        return getattr(self.model, "spin_matrices", None) is not None and self._phase is not None

    @cached_property
    def spin_matrix(self) -> ComplexArray:
        """<n|S_a/hbar|m> (3, N, n, n); requires a spinful model (k-dependent S(k) for a
        WannierModel with S(R))."""
        if self._spin_from_r:
            return self.wannier_matrix("spin")
        spin = self.model.spin
        if spin is None:
            raise QgmagError(
                f"model {getattr(self.model, 'name', '')!r} has no spin matrices; spin quantities "
                "need a spinful model (TightBindingModel(..., spin=...))."
            )
        u = self._spin_basis
        uw = np.ascontiguousarray(u[:, :, self.rows]) if self.windowed else u
        us = np.matmul(np.conj(np.swapaxes(uw, -1, -2))[None], np.asarray(spin)[:, None])
        return np.matmul(us, u)

    @cached_property
    def spin_expectation(self) -> FloatArray:
        """<n|S_a/hbar|n> (3, N, n): the diagonal of :attr:`spin_matrix` without forming it."""
        if "spin_matrix" in self.__dict__:
            return np.real(self.diagonal(self.spin_matrix))
        if self._spin_from_r:
            return self.wannier_diagonal("spin")
        spin = self.model.spin
        if spin is None:
            self.spin_matrix  # noqa: B018  (raises the explanatory error)
        spin = np.asarray(spin)
        rows, cols = np.nonzero(np.any(spin != 0, axis=0))
        if rows.size <= spin.shape[-1] ** 2 // 4:  # sparse S (e.g. σ/2 per spinor pair)
            # <n|S_a|n> = Re Σ_(i,j) S_a,ij conj(u_in) u_jn over the nonzero entries only
            ue = self._uw  # the phase-stripped basis of _spin_basis
            pairs = np.conj(ue[:, rows, :]) * ue[:, cols, :]  # (N, nnz, n_w)
            return np.moveaxis(np.matmul(spin[:, rows, cols], pairs).real, 1, 0)
        u = self._spin_basis
        if self.windowed:
            uw = u[:, :, self.rows]
            su = np.matmul(np.asarray(spin)[:, None], uw)  # (3, N, n, n_w)
            return np.einsum("kin,akin->akn", uw.real, su.real) + np.einsum(
                "kin,akin->akn", uw.imag, su.imag
            )
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
    def degenerate_partners(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The other members of each row band's degenerate set, one rank at a time: for
        q = 1 … s-1 (s the largest set size in the chunk) a pair (index (N, n_w) int, the
        band p_q(n) ∈ D(n), p_q(n) ≠ n; valid (N, n_w) bool, False where D(n) has fewer
        than q + 1 members and index is then n itself). Sets are runs of the sorted
        energies (:attr:`degenerate_set_index`), so p_q(n) = start + (n - start + q) mod size
        cycles through the set; together the ranks list every partner of n exactly once."""
        idx = self.degenerate_set_index
        n_k, n = idx.shape
        bands = np.broadcast_to(np.arange(n), (n_k, n))
        new = np.ones((n_k, n), dtype=bool)
        new[:, 1:] = idx[:, 1:] != idx[:, :-1]
        start = np.maximum.accumulate(np.where(new, bands, 0), axis=1)
        last = np.ones((n_k, n), dtype=bool)
        last[:, :-1] = new[:, 1:]
        stop = np.minimum.accumulate(np.where(last, bands, n)[:, ::-1], axis=1)[:, ::-1] + 1
        size = (stop - start)[:, self.rows]
        start, own = start[:, self.rows], bands[:, self.rows]
        out = []
        for q in range(1, int(size.max()) if size.size else 1):
            valid = q < size
            out.append((np.where(valid, start + (own - start + q) % size, own), valid))
        return out

    @cached_property
    def degenerate(self) -> np.ndarray:
        """(N, n_w, n) bool: True where row band n and band m are in one degenerate set
        (diagonal included); see :attr:`degenerate_set_index` (a band window never splits
        a set, :func:`band_window`)."""
        idx = self.degenerate_set_index
        return idx[:, self.rows, None] == idx[:, None, :]

    def broadened_inverse_gap_squared(self, broadening: float) -> FloatArray:
        """(N, n_w, m): s(ε_n - ε_m)/(ε_n - ε_m)² for m ∉ D(n), 0 inside sets (1/eV²), with
        the switch s of :func:`quasi_degenerate_switch` (broadening η in eV; 0: s = 1)."""
        inv = self.inverse_gap
        if broadening <= 0:
            return inv * inv
        gap = self.row_energy[:, :, None] - self.energy[:, None, :]
        return inv * inv * quasi_degenerate_switch(gap, broadening)

    @cached_property
    def inverse_gap(self) -> FloatArray:
        """(N, n_w, m): 1/(ε_n - ε_m) for m ∉ D(n), 0 inside degenerate sets (1/eV)."""
        delta = self.row_energy[:, :, None] - self.energy[:, None, :]
        inv = np.zeros_like(delta)
        with np.errstate(divide="ignore"):
            return np.divide(1.0, delta, out=inv, where=~self.degenerate)

    @cached_property
    def berry_connection(self) -> ComplexArray:
        """Interband Berry connection A^a_mn = i V^a_mn/(ε_n - ε_m), m ∉ D(n) (3, N, n, n), Å."""
        self._require_square("the interband Berry connection")
        return 1j * self.velocity_matrix * np.swapaxes(self.inverse_gap, -1, -2)[None]

    @cached_property
    def degenerate_block_velocity(self) -> ComplexArray:
        """P_D V P_D: the velocity matrix restricted to degenerate sets (3, N, n, n), eV·Å."""
        return self.velocity_matrix * self.degenerate[None]


def _non_finite_hamiltonian(model: Model) -> ModelError:
    return ModelError(
        f"the Hamiltonian of model {getattr(model, 'name', '')!r} has NaN or infinite "
        "entries at some k-points; check its parameters and functions."
    )


def band_window(energy: FloatArray, window: tuple[float, float], tol: float) -> slice:
    """Bands [start, stop) that lie in [lo, hi] (eV) at some k, no degenerate set split.

    Every band below ``start`` is below lo and every band from ``stop`` on above hi at
    every k, and consecutive bands at the cut differ by at least ``tol`` everywhere.
    At least one band is kept.
    """
    lo, hi = window
    n = energy.shape[1]
    stop = max(int(np.count_nonzero((energy <= hi).any(axis=0))), 1)  # sorted per k
    while stop < n and np.any(energy[:, stop] - energy[:, stop - 1] < tol):
        stop += 1
    start = min(n - int(np.count_nonzero((energy >= lo).any(axis=0))), stop - 1)
    while start > 0 and np.any(energy[:, start] - energy[:, start - 1] < tol):
        start -= 1
    return slice(start, stop)


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
