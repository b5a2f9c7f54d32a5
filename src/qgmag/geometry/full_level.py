"""Orbital moment at the full Wannier level (external terms of Lopez et al., PRB 85, 014435).

With D^a_nl = V^a_nl/(ε_l - ε_n) (l ∉ D(n)), Ā = U†A U, B̄ = U†B U, C̄ = U†C U and
Ω̄^c = U†(∂_a A_b - ∂_b A_a)U ((a, b, c) cyclic), the per-band moment over e/ħ is (eV·Å²)

    m^c_n = (ε_n Ω̄^c_nn - C̄^c_nn)/2
            + Σ_{l∉D(n)} { (ε_n - ε_l) Re[-i D^a_nl D^b_ln]
                           + Re[D^a_nl (B̄^b_ln - ε_n Ā^b_ln) - D^b_nl (B̄^a_ln - ε_n Ā^a_ln)] }
            - (1/2) Σ_{l < n, l∉D(n)} [P^c_nl + P^c_ln],
    P^c_nl = 2 Re[D^a_nl B̃^b_ln - D^b_nl B̃^a_ln],   B̃_ln = B̄_ln - ε_l Ā_ln.

The first two lines are Im<∂_a u_n|(H - ε_n)|∂_b u_n> with the interpolated derivative
∂u_n = Σ_i |∂u^W_i> U_in + Σ_l |u_l> D_ln; the (ε_n - ε_l) term is the tight-binding
moment. The last line is the occupied-occupied part of Lopez et al.'s trace formula
(their f_n f_l terms): B̃ ≠ 0 only because the Wannier space is not invariant under H
(disentanglement), so Σ_n f_n m_n alone would differ from it. Assigning each pair to the
upper band makes Σ_n θ(μ - ε_n)[m_n + (μ - ε_n)Ω_n] equal to the trace formula of
WannierBerri's ``Morb`` exactly at T = 0; at T > 0 the pair weight is f_upper instead of
f_n f_l (a difference of order (1 - f_lower) f_upper, i.e. only for pairs within a few kT of
μ, and only in the disentanglement term).

That occupied block depends on the Bloch-phase convention it is taken in (B̃ is the same
in every convention, Ā is not); a model re-expressed for other phase centres keeps it in
the convention it was built in (``model.lopez_centres``, the Wannier centres), so the
"lopez" moment, like the "projected" one, is unchanged by moving the phase centres.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.geometry import pair_kernels
from qgmag.models.base import ComplexArray, FloatArray
from qgmag.models.wannier_model import EXTERNAL_KEY

_CYC = ((1, 2), (2, 0), (0, 1))

#: "numba": the band-pair sums by the compiled kernels of :mod:`qgmag.geometry.pair_kernels`
#: (default where numba imports); "numpy": the array forms below (the tested reference)
PAIR_KERNEL = "numba" if pair_kernels.AVAILABLE else "numpy"


def band_pairs(n: int, n_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs p = (n_p, l_p), n_p < l_p, of n bands with n_p < n_rows (default n): (rows n_p,
    cols l_p). With a band window [0, n_rows) every pair that touches a row band is here."""
    rows, cols = np.triu_indices(n, 1)
    if n_rows is not None and n_rows < n:
        keep = rows < n_rows
        rows, cols = rows[keep], cols[keep]
    return rows, cols


def pairs_usable(bands: BandData) -> bool:
    """The pair forms need every band below a row band as a row: no window or [0, stop)."""
    return bands.rows.start == 0


def pair_sums(
    x: FloatArray,
    y: FloatArray,
    rows: np.ndarray,
    cols: np.ndarray,
    n: int,
    n_out: int | None = None,
) -> FloatArray:
    """Σ_{p: n_p = n} x_p + Σ_{p: l_p = n} y_p for (..., N, P) pair arrays -> (..., N, n_out)
    for the bands n < n_out (default n). Segment sums (``np.add.reduceat``) over the pairs
    sorted by band: several times faster here than scattering into (n, n) arrays or a
    GEMM with the incidence matrices."""
    n_out = n if n_out is None else n_out
    out = np.zeros((*x.shape[:-1], n_out))
    for values, band in ((x, rows), (y, cols)):
        keep = np.flatnonzero(band < n_out)
        order = keep[np.argsort(band[keep], kind="stable")]
        if order.size == 0:
            continue
        sorted_band = band[order]
        starts = np.flatnonzero(np.r_[True, sorted_band[1:] != sorted_band[:-1]])
        if order.size == band.size and np.all(order == np.arange(band.size)):
            part = values  # already sorted (the rows of np.triu_indices)
        else:
            part = values[..., order]
        out[..., sorted_band[starts]] += np.add.reduceat(part, starts, axis=-1)
    return out


def _rows_pairs(bands: BandData) -> tuple[np.ndarray, np.ndarray]:
    return band_pairs(bands.n_bands, bands.n_rows)


def connection_pair_terms(bands: BandData) -> FloatArray:
    """T^c_p = Re[V^a_nl Ā^b_ln - V^b_nl Ā^a_ln] over pairs p = (n < l) (3[c], N, P), eV·Å².

    T is symmetric in (n, l) (V, Ā Hermitian), so the upper pairs carry all of it; shared
    by the full-connection Berry curvature and the external orbital moment (cached)."""
    cache = bands.__dict__.setdefault("_pair_cache", {})
    if "t" not in cache:
        rows, cols = _rows_pairs(bands)
        v = _gather_pairs(bands.velocity_matrix, rows, cols)
        a = _gather_pairs(bands.position_connection, rows, cols)  # Ā_nl = conj(Ā_ln)
        cache.update(t=_real_cross(v, a), v=v, a=a)
    return cache["t"]


def connection_pair_curvature(bands: BandData) -> FloatArray:
    """Σ_{l>n} 2 T_nl/(ε_n - ε_l) - Σ_{l<n} 2 T_ln/(ε_l - ε_n) (3, N, n_w), Å²: the
    pair part of the full-connection Berry curvature (T of :func:`connection_pair_terms`;
    requires :func:`pairs_usable`)."""
    if PAIR_KERNEL == "numba":
        if _can_fill_connection(bands):
            return _connection_blocks(bands)
        return pair_kernels.berry_pairs(
            bands.velocity_matrix, bands.position_connection, bands.inverse_gap
        )
    rows, cols = _rows_pairs(bands)  # T_nl symmetric, 1/(ε_n - ε_l) antisymmetric
    weighted = 2.0 * pair_inverse_gap(bands) * connection_pair_terms(bands)
    return pair_sums(weighted, -weighted, rows, cols, bands.n_bands, bands.n_rows)


#: the cached properties of BandData that :func:`_connection_blocks` fills
_FILLED = ("position_connection", "position_curvature_diagonal")


def _can_fill_connection(bands: BandData) -> bool:
    """Whether :func:`_connection_blocks` applies: a full-connection chunk whose Ā and
    Ω̄_nn are not computed yet (and are ``functools.cached_property`` of BandData)."""
    return (
        getattr(bands, "_connection", None) is not None
        and getattr(bands, "_connection_curl", None) is not None
        and "position_curvature" not in bands.__dict__
        and all(
            name not in bands.__dict__
            and isinstance(getattr(type(bands), name, None), cached_property)
            for name in _FILLED
        )
    )


def _connection_blocks(bands: BandData) -> FloatArray:
    """The Berry pair part (:func:`connection_pair_curvature`, compiled kernel), with
    Ā = U_w† A U and Ω̄^c_nn formed on the way, block by block of about
    :data:`EXTERNAL_BLOCK_POINTS` k-points so that each block's transforms feed the kernel
    from cache. Ā and Ω̄_nn are stored as the chunk's ``position_connection`` and
    ``position_curvature_diagonal`` (the same products as BandData's, in blocks; the
    diagonals as column dots, :func:`~qgmag.geometry.pair_kernels.column_dots`)."""
    n_k, n_w, n = bands.n_k, bands.n_rows, bands.n_bands
    v, inv = bands.velocity_matrix, bands.inverse_gap
    conn, curl = bands._connection, bands._connection_curl  # (3 | 2, N, n, n)
    uw_dagger, u, uw = bands._uw_dagger, bands._u, bands._uw
    # (3, N, n_w, n) with k outermost in memory, as np.matmul gives BandData's
    a_bar = np.moveaxis(np.empty((n_k, 3, n_w, n), dtype=complex), 1, 0)
    diag = np.empty((n_k, 2, n_w), dtype=complex)
    out = np.empty((3, n_k, n_w))
    for lo, hi in _point_blocks(bands):
        block = a_bar[:, lo:hi]
        np.matmul(np.matmul(uw_dagger[lo:hi], conn[:, lo:hi]), u[lo:hi], out=block)
        zu = np.matmul(np.moveaxis(curl[:, lo:hi], 0, 1), uw[lo:hi, None])  # (m, 2, n, n_w)
        diag[lo:hi] = pair_kernels.column_dots(uw[lo:hi], zu)
        out[:, lo:hi] = pair_kernels.berry_pairs(v[:, lo:hi], block, inv[lo:hi])
    bands.__dict__["position_connection"] = a_bar
    bands.__dict__["position_curvature_diagonal"] = np.stack(
        [diag[:, 0].real, diag[:, 0].imag, diag[:, 1].real]
    )
    return out


def pair_inverse_gap(bands: BandData) -> FloatArray:
    """1/(ε_n - ε_l) over the pairs p = (n < l) (N, P), 1/eV, 0 inside degenerate sets
    (cached)."""
    cache = bands.__dict__.setdefault("_pair_cache", {})
    if "inv" not in cache:
        rows, cols = _rows_pairs(bands)
        cache["inv"] = _gather_pairs(bands.inverse_gap, rows, cols)
    return cache["inv"]


def _gather_pairs(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """x[..., rows, cols] for a (..., n_w, n) array by one flat take (fancy indexing on two
    axes, or on the strided .real/.imag views, is several times slower)."""
    n = x.shape[-1]
    return np.ascontiguousarray(x).reshape(*x.shape[:-2], -1)[..., rows * n + cols]


def _real_cross(x: ComplexArray, y: ComplexArray) -> FloatArray:
    """Re[x^a conj(y^b) - x^b conj(y^a)] for (a, b, c) cyclic, (3[c], ...) from (3, ...)
    complex arrays (in place on the real and imaginary views: no complex temporaries)."""
    xr, xi, yr, yi = x.real, x.imag, y.real, y.imag
    out = np.empty(xr.shape)
    tmp = np.empty(xr.shape[1:])
    for c, (a, b) in enumerate(_CYC):
        o = out[c]
        np.multiply(xr[a], yr[b], out=o)
        o += np.multiply(xi[a], yi[b], out=tmp)
        o -= np.multiply(xr[b], yr[a], out=tmp)
        o -= np.multiply(xi[b], yi[a], out=tmp)
    return out


def external_orbital_moment(bands: BandData) -> FloatArray:
    """The full-level moment minus the tight-binding one, (3[c], N, n) in eV·Å² over e/ħ.

    With D_nl = -V_nl/(ε_n - ε_l) and B̃_ln = B̄_ln - ε_l Ā_ln, the cross and pair terms of
    the module docstring add up, per band n, to
    Σ_{l>n} M_nl - Σ_{l<n} M_ln + Σ_{l∉D(n)} T_nl with M^c_nl = Re[D^a_nl B̃^b_ln -
    D^b_nl B̃^a_ln] and T of :func:`connection_pair_terms` (using (ε_l - ε_n) D_nl = V_nl),
    so only the n < l pairs are formed (real arithmetic on (3, N, n(n-1)/2) arrays).
    With G_nl = conj(B̄_ln) (:func:`_orbital_b_dagger_rows`), B̃_ln = conj(G_nl - ε_l Ā_nl)
    and M_nl = -(1/(ε_n - ε_l)) (X_nl - ε_l T_nl), X^c = Re[V^a conj(G^b) - V^b conj(G^a)].
    """
    n = bands.n_bands
    local = bands.row_energy * bands.position_curvature_diagonal
    out = 0.5 * (local - _orbital_c_diagonal(bands))  # a new array: the pair sums are cached
    out += _moment_pair_sums(bands)
    formula = getattr(bands.model, "orbital_formula", "lopez")
    lopez_centres = getattr(bands.model, "lopez_centres", None)
    if formula == "projected" or lopez_centres is not None:
        below = np.tril(np.ones((n, n), dtype=bool), -1)[None]  # l < n
        out += _projected_correction(bands, below)
        if formula == "lopez":  # Lopez's approximation taken in the centres' own gauge
            out -= _projected_correction(bands, below, _connection_at(bands, lopez_centres))
    return out


def _moment_pair_sums(bands: BandData) -> FloatArray:
    """Σ_{l>n} M_nl - Σ_{l<n} M_ln + Σ_{l∉D(n)} T_nl (3, N, n_w) of
    :func:`external_orbital_moment` (compiled kernel or the numpy reference,
    :data:`PAIR_KERNEL`)."""
    if PAIR_KERNEL == "numba":
        return _external_blocks(bands)[0]
    n, n_w = bands.n_bands, bands.n_rows  # a band window [0, n_w) keeps rows n < n_w
    rows, cols = _rows_pairs(bands)
    t = connection_pair_terms(bands)
    inv = pair_inverse_gap(bands)  # 1/(ε_n - ε_l), 0 in D(n)
    g = _gather_pairs(_orbital_b_dagger_rows(bands), rows, cols)  # conj(B̄_ln)
    m = _real_cross(bands.__dict__["_pair_cache"]["v"], g)
    m -= bands.energy[:, cols] * t
    m *= -inv
    tm = t * (inv != 0.0)
    return pair_sums(tm + m, tm - m, rows, cols, n, n_w)


def _connection_at(bands: BandData, centres: FloatArray) -> ComplexArray:
    """Ā in the Bloch-phase convention with centres c instead of the model's p (3, N, n, n):
    Ā_c = Ā_p + U†diag(p - c)U (the two bases differ by diag e^{ik·(p - c)}; B̃ = B̄ - εĀ is
    the same in both, so Lopez's occupied block is moved to the centres c exactly)."""
    shift = bands.model._tau - np.asarray(centres, dtype=float)  # (n, 3): p - c
    u = bands._u
    u_dag = np.conj(np.swapaxes(u, -1, -2))
    moved = np.stack([np.matmul(u_dag * shift[:, a], u) for a in range(3)])
    return bands.position_connection + moved


def _orbital_c_diagonal(bands: BandData) -> FloatArray:
    """C̄^c_nn (3, N, n_w), eV·Å²: from :func:`_external_blocks` on the compiled route, from
    the engine's packed diagonals (separate Fourier sums) on the numpy reference route."""
    if PAIR_KERNEL == "numba":
        return _external_blocks(bands)[1]
    return bands.wannier_diagonal("orbital_c")


def _external_blocks(bands: BandData) -> tuple[FloatArray, FloatArray]:
    """(pair sums, C̄_nn) of the compiled route, computed once per chunk (cached): the pair
    part of :func:`_moment_pair_sums` and the band diagonals C̄^c_nn, both (3, N, n_w)
    (eV·Å²), block by block of about :data:`EXTERNAL_BLOCK_POINTS` k-points (whole mesh
    lines on the separable route): per block the Fourier sums of B^† and C, G and the
    diagonals (:func:`_external_block`) and the moment kernel
    (:func:`~qgmag.geometry.pair_kernels.moment_pairs`) on it, so that they stay in
    cache."""
    cache = bands.__dict__.setdefault("_pair_cache", {})
    if "external" not in cache:
        n_k, n_w = bands.n_k, bands.n_rows
        v, a = bands.velocity_matrix, bands.position_connection
        inv, energy = bands.inverse_gap, bands.energy
        pairs = np.empty((3, n_k, n_w))
        d = np.empty((n_k, 2, n_w), dtype=complex)
        for lo, hi in _point_blocks(bands):
            g, d[lo:hi] = _external_block(bands, lo, hi)
            pairs[:, lo:hi] = pair_kernels.moment_pairs(
                v[:, lo:hi], a[:, lo:hi], g, inv[lo:hi], energy[lo:hi]
            )
        cache["external"] = (pairs, np.stack([d[:, 0].real, d[:, 0].imag, d[:, 1].real]))
    return cache["external"]


#: k-points per block of :func:`_external_blocks` (≈ 3 MB of Fourier sums for 18 bands)
EXTERNAL_BLOCK_POINTS = 128


def _point_blocks(bands: BandData) -> list[tuple[int, int]]:
    """[lo, hi) point ranges of the chunk of about EXTERNAL_BLOCK_POINTS each, cut at mesh
    line ends where the chunk is on a uniform mesh (the separable sums work on lines)."""
    n_k = bands.n_k
    if bands._mesh_range is None:
        cuts = list(range(0, n_k, EXTERNAL_BLOCK_POINTS))
    else:
        mesh, start, _ = bands._mesh_range
        line = int(mesh.counts[-1])
        per = max(1, EXTERNAL_BLOCK_POINTS // line) * line
        first = (-start) % line  # points up to the first line end, then whole lines
        cuts = [0, *range(first if first else per, n_k, per)]
    cuts = sorted(set(c for c in cuts if 0 <= c < n_k))
    return list(zip(cuts, [*cuts[1:], n_k], strict=True))


def _external_block(bands: BandData, lo: int, hi: int) -> tuple[ComplexArray, ComplexArray]:
    """G_nl = conj(B̄_ln) = (U_w† B(k)^† U)_nl as (hi - lo, n_w, 3[a], n) (eV·Å) and the
    packed diagonals (C̄_x + i C̄_y, C̄_z)_nn (hi - lo, 2, n_w) (eV·Å²) of the points
    [lo, hi) of the chunk.

    One Fourier sum gives B(k)^† and the packed C (:data:`~qgmag.models.wannier_model.
    EXTERNAL_KEY`). B(k)^† comes as the (n, 3n) matrix [B^†_x B^†_y B^†_z] per k, so the
    three transforms are one GEMM U_w† [...] (n_w, 3n) and, its rows (p, a) stacked, one
    GEMM with U; the diagonals are Σ_i conj(U_in) (Z U)_in for Z = C_x + i C_y and C_z
    (real and imaginary parts: :data:`~qgmag.models.wannier_model.PACKED_KEYS`)."""
    n, n_w, m = bands.n_bands, bands.n_rows, hi - lo
    blocks = None
    if bands._mesh_range is not None:
        from qgmag.bands.grid_bloch import grid_wannier_blocks

        mesh, start, _ = bands._mesh_range
        blocks = grid_wannier_blocks(bands.model, mesh, start + lo, start + hi, EXTERNAL_KEY)
    if blocks is None:
        blocks = bands.model.wannier_blocks(bands.kpoints[lo:hi], EXTERNAL_KEY)
    flat = np.moveaxis(blocks, 0, 1).reshape(m, 5 * n * n)  # a view of (m, 5 n n)
    b_dagger = flat[:, : 3 * n * n].reshape(m, n, 3 * n)  # [i, (a, j)]
    rows = np.matmul(bands._uw_dagger[lo:hi], b_dagger)  # (m, n_w, 3n): [p, (a, j)]
    g = np.matmul(rows.reshape(m, 3 * n_w, n), bands._u[lo:hi]).reshape(m, n_w, 3, n)
    packed = flat[:, 3 * n * n :].reshape(m, 2, n, n)  # (C_x + i C_y, C_z)
    uw = bands._uw[lo:hi]
    return g, pair_kernels.column_dots(uw, np.matmul(packed, uw[:, None]))


def _orbital_b_dagger_rows(bands: BandData) -> ComplexArray:
    """X_nl = conj(B̄_ln) = (U_w† B(k)^† U)_nl for the row bands n (3, N, n_w, n), eV·Å:
    B is not Hermitian, so the columns of B̄ come from the rows of U† B^† U (B(k)^† summed
    directly from B(-R)^†, no conjugate-transpose passes)."""
    return bands._to_eigenbasis(bands.wannier_blocks("orbital_b_dagger"))


def _projected_correction(
    bands: BandData, below: np.ndarray, connection: ComplexArray | None = None
) -> FloatArray:
    """Ceresoli-type projected form minus Lopez's: the occupied-occupied block of
    <Q∂_a u|H|Q∂_b u> uses B̄ itself where Lopez et al. use ε Ā (equal when the Wannier
    space is invariant under H). With B̃_mn = B̄_mn - ε_m Ā_mn and
    G_nm = 2 Im[conj(B̃^a_mn) Ā^b_mn + Ā^a_nm B̃^b_mn], the moment changes by
    -(1/2)[G_nn + Σ_{m<n} (G_nm + G_mn)]; the result is exactly unchanged when the
    Bloch-phase centres move (an exact change of basis of the Wannier matrices).
    ``connection``: Ā in another Bloch-phase convention for the G products (B̃ is the same
    in every convention, :func:`_connection_at`)."""
    e = bands.energy
    btil = bands.wannier_matrix("orbital_b") - e[None, :, :, None] * bands.position_connection
    abar = bands.position_connection if connection is None else connection  # [m, n]: ε_m
    a_t, b_t = np.swapaxes(abar, -1, -2), np.swapaxes(btil, -1, -2)  # [n, m] = X_mn
    out = np.empty((3, *e.shape))
    for c, (a, b) in enumerate(_CYC):
        g = 2.0 * np.imag(np.conj(b_t[a]) * a_t[b] + abar[a] * b_t[b])  # G_nm
        pairs = ((g + np.swapaxes(g, -1, -2)) * below).sum(-1)
        out[c] = -0.5 * (np.diagonal(g, axis1=-2, axis2=-1) + pairs)
    return out
