"""Band-resolved quantum geometry (SPEC §2), as pure functions of :class:`BandData`.

Index conventions: tensors are returned as (3, 3, N, n) arrays T[a, b, k, n] with
Cartesian a, b in (x, y, z); antisymmetric tensors map to vectors by
X^c = X^{ab}, (a, b, c) cyclic (:func:`to_vector`). All sums over intermediate bands
m exclude the whole degenerate set D(n). Values are in "native" units (eV, Å); the unit
factors to report them live in :mod:`qgmag.constants`.
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.models.base import ComplexArray, FloatArray

#: Levi-Civita symbol ε_ijk
LEVI_CIVITA = np.zeros((3, 3, 3))
for _i, _j, _k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    LEVI_CIVITA[_i, _j, _k] = 1.0
    LEVI_CIVITA[_i, _k, _j] = -1.0

#: sign of the magnetoelectric tensor relative to Eq. (10) taken literally. The
#: finite-field check (qgmag.finite_field, tests/physics/test_finite_field.py:
#: dM_z/dE_j = dP_j/dB_z from Berry-phase polarization in Peierls supercells, agreeing to
#: 2e-4 with this sign) fixes the physical sign to the opposite of Eq. (10) as written
#: (SPEC §2; docs/finite_field.md); qgmag's F is the physical one,
#: F = MAGNETOELECTRIC_SIGN * (Eq. 10), so that alpha = e ∫[dk] F f0.
MAGNETOELECTRIC_SIGN = -1.0


def to_vector(tensor: np.ndarray) -> np.ndarray:
    """Antisymmetric (3, 3, ...) tensor -> (3, ...) vector X^c = X^{ab}, (a, b, c) cyclic."""
    return np.stack([tensor[1, 2], tensor[2, 0], tensor[0, 1]])


def _pair_sum(x: ComplexArray, y: ComplexArray, weight: FloatArray) -> ComplexArray:
    """S^{ab}_n = Σ_m x^a_nm y^b_mn w_nm for x, y (3, N, n, n), w (N, n, n) -> (3, 3, N, n)."""
    return np.einsum("aknm,bkmn->abkn", x * weight[None], y, optimize=True)


_CYCLIC = ((1, 2), (2, 0), (0, 1))  # (a, b) for c = x, y, z


def from_vector(vector: np.ndarray) -> np.ndarray:
    """(3, ...) vector -> antisymmetric (3, 3, ...) tensor X^{ab} = ε_abc X^c."""
    out = np.zeros((3, *vector.shape), dtype=vector.dtype)
    for c, (a, b) in enumerate(_CYCLIC):
        out[a, b] = vector[c]
        out[b, a] = -vector[c]
    return out


def _cross_im(bands: BandData, weight: FloatArray) -> FloatArray:
    """Σ_m w_nm Im(V^a_nm V^b_mn) for (a, b, c) cyclic -> (3[c], N, n).

    Elementwise real arithmetic on the cached :attr:`BandData.velocity_cross`; no
    (3, 3, N, n, n) product is formed.
    """
    return np.einsum("cknm,knm->ckn", bands.velocity_cross, weight)


def berry_curvature_vector(bands: BandData) -> FloatArray:
    """Ω^c_n (3, N, n), Å², (a, b, c) cyclic: -2 Im Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m)² (Eq. 4).

    At the "full" Berry-connection level (model with Wannier position matrices r(R)) the
    terms of Wang et al., PRB 74, 195118 (2006), Eq. (27), are added:
    Ω^c_n += Ω̄^c_nn + 2 Σ_{m∉D(n)} Re[V^a_nm Ā^b_mn - V^b_nm Ā^a_mn]/(ε_n - ε_m), i.e.
    Ω̄_nn - [D^a, Ā^b]_nn + [D^b, Ā^a]_nn with D^a_nm = V^a_nm/(ε_m - ε_n).
    """
    inv = bands.inverse_gap
    omega = -2.0 * _cross_im(bands, inv * inv)
    from qgmag.geometry import full_level as fl

    if bands.full_connection and fl.pairs_usable(bands):
        omega += fl.connection_pair_curvature(bands)
        omega += bands.position_curvature_diagonal
    elif bands.full_connection:  # window above band 0: rectangular (rows, all bands) matrices
        v = bands.velocity_matrix
        abar = bands.position_connection
        omega += bands.position_curvature_diagonal
        vr, vi, ar, ai = v.real, v.imag, abar.real, abar.imag
        for c, (a, b) in enumerate(_CYCLIC):
            cross = vr[a] * ar[b] + vi[a] * ai[b] - vr[b] * ar[a] - vi[b] * ai[a]
            omega[c] += 2.0 * np.einsum("knm,knm->kn", cross, inv)
    return omega


def berry_curvature(bands: BandData) -> FloatArray:
    """Ω^{ab}_n (3, 3, N, n), Å² (Eq. 4; see :func:`berry_curvature_vector`)."""
    return from_vector(berry_curvature_vector(bands))


def orbital_moment_vector(bands: BandData) -> FloatArray:
    """-Im Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m), (a, b, c) cyclic (3[c], N, n), eV·Å²; at the
    "full" level of a WannierModel plus the external terms (:mod:`qgmag.geometry.full_level`)."""
    out = -_cross_im(bands, bands.inverse_gap)
    if bands.external_terms:
        from qgmag.geometry.full_level import external_orbital_moment

        out += external_orbital_moment(bands)
    return out


def quantum_metric(bands: BandData) -> FloatArray:
    """g^{ab}_n = Re Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m)² (3, 3, N, n), Å²."""
    inv = bands.inverse_gap
    v = bands.velocity_matrix
    return np.real(_pair_sum(v, bands.column_block(v), inv**2))


def quantum_geometric_tensor(bands: BandData) -> ComplexArray:
    """Q_n = g_n - (i/2) Ω_n = Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m)² (3, 3, N, n), Å²."""
    inv = bands.inverse_gap
    v = bands.velocity_matrix
    return _pair_sum(v, bands.column_block(v), inv**2)


def orbital_moment_native(bands: BandData) -> FloatArray:
    """-Im Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m) (3, 3, N, n) in eV·Å².

    The orbital moment (Eqs. 3-4) is m^{ab}_n = (e/hbar) times this; in Bohr magnetons
    multiply by :data:`qgmag.constants.ORBITAL_MOMENT_TO_BOHR`.
    """
    if bands.external_terms:
        return from_vector(orbital_moment_vector(bands))
    inv = bands.inverse_gap
    v = bands.velocity_matrix
    return -np.imag(_pair_sum(v, bands.column_block(v), inv))


def spin_berry_curvature(bands: BandData, broadening: float = 0.0) -> FloatArray:
    """Φ^{ab}_n = -2 Im Σ_{m∉D(n)} (S_a/hbar)_nm V^b_mn s(ε_n-ε_m)/(ε_n-ε_m)² (3, 3, N, n)
    (Eq. 7).

    a = spin component, b = field direction; units hbar·Å/eV (S measured in hbar).
    ``broadening`` η (eV, the k_B T or smearing the result is weighted with) switches off
    pairs split by less than η smoothly, s(Δ) = 1 - exp(-Δ²/η²), so that the integrated
    response is continuous in a small splitting Δ and tends to its Δ = 0 value
    (docs/degeneracies.md); η = 0 gives Eq. (7) as written.
    """
    weight = bands.broadened_inverse_gap_squared(broadening)
    vcol = bands.column_block(bands.velocity_matrix)
    return -2.0 * np.imag(_pair_sum(bands.spin_matrix, vcol, weight))


def interband_orbital_moment_native(bands: BandData) -> ComplexArray:
    """m_mn of Eq. (10) divided by e/hbar: (1/2) Σ_{l∉D(n)} (V_ml + δ_lm P_D V P_D) × A_ln.

    Returns (3, N, n, n) in eV·Å². The δ_lm v_n term uses the velocity restricted to the
    degenerate set of n (P_D V P_D), which equals diag(v_n) for non-degenerate bands and
    keeps m_mn gauge covariant inside degenerate sets.
    """
    v = bands.velocity_matrix
    a = bands.berry_connection
    mask = bands.degenerate
    offsets = _partner_offsets(mask)
    out = np.empty_like(a)
    for i, (j, r) in enumerate(((1, 2), (2, 0), (0, 1))):  # (X × Y)_i = X_j Y_r - X_r Y_j
        out[i] = np.matmul(v[j], a[r]) - np.matmul(v[r], a[j])
        out[i] += _times_block(a[r], v[j], mask, offsets)
        out[i] -= _times_block(a[j], v[r], mask, offsets)
    return 0.5 * out


def _times_block(
    x: ComplexArray, y: ComplexArray, mask: np.ndarray, offsets: list[int]
) -> ComplexArray:
    """x (P_D y P_D): (x Y_D)_mn = Σ_{l∈D(n)} x_ml y_ln (N, n, n), in O(N n² s) for degenerate
    sets of size <= s (sets are contiguous in band index; ``offsets`` from _partner_offsets)."""
    n_b = mask.shape[-1]
    out = np.zeros_like(x)
    for d in offsets:  # l = n + d
        cols = slice(max(0, -d), n_b - max(0, d))  # the n that have such an l
        src = slice(cols.start + d, cols.stop + d)
        w = np.diagonal(y, -d, -2, -1) * np.diagonal(mask, -d, -2, -1)  # y_{n+d, n}
        out[..., cols] += x[..., src] * w[..., None, :]
    return out


def metric_dipole(bands: BandData, set_velocity: bool = False) -> FloatArray:
    """∂_c g^{ab}_n (3[c], 3[a], 3[b], N, n) in Å³, analytically from ∂H and ∂²H.

    Uses ∂_c V^a = W^{ac} - D^c V^a + V^a D^c with D^c = <l|∂_c n> = -i A^c (the
    within-set part of D drops out of set-summed quantities) and
    ∂_c (ε_n-ε_m)^-2 = -2 (ε_n-ε_m)^-3 (v^c_n - v^c_m). Exact where bands are
    non-degenerate and for sets degenerate at every k; needs BandData built with
    ``need_second_derivatives=True``.

    ``set_velocity=True`` gives the set form used by F: the band velocities v^c_n, v^c_m
    of the last term become the velocity blocks of their degenerate sets,
    -2 Re Σ_{l∈D(n)} V^c_nl Σ_m V^a_lm V^b_mn/((ε_l-ε_m)(ε_n-ε_m)²) and
    +2 Re Σ_m Σ_{l∈D(m)} V^a_nl V^c_lm V^b_mn/((ε_n-ε_l)(ε_n-ε_m)²), so that its sum over a
    set, Re Tr_D[...], does not depend on the basis inside exactly degenerate sets (the
    per-band form does, where P_D V P_D is not v̄ 1; docs/observables/
    kinetic_orbital_intrinsic.md). The same for non-degenerate bands.
    """
    v = bands.velocity_matrix
    w = bands.second_derivative_matrix
    d = -1j * bands.berry_connection
    inv = bands.inverse_gap
    vel = bands.band_velocity  # (3, N, n)
    dv = (
        np.moveaxis(w, 0, 1) - np.matmul(d[:, None], v[None, :]) + np.matmul(v[None, :], d[:, None])
    )
    # dv[c, a] = ∂_c V^a (Hermitian)
    inv2 = inv**2
    vt = np.swapaxes(v, -1, -2)  # V^b_mn at [n, m]
    term1 = np.real(np.einsum("caknm,bknm->cabkn", dv, vt * inv2[None], optimize=True))
    # the second product Σ_m V^a_nm ∂_c V^b_mn /Δ² is the complex conjugate of term1 with
    # a <-> b (both matrices Hermitian): only its real part enters
    dgap = vel[:, :, :, None] - vel[:, :, None, :]  # (3, N, n, m): v_n - v_m
    term3 = -2.0 * np.einsum("aknm,bkmn,knm,cknm->cabkn", v, v, inv2 * inv, dgap, optimize=True)
    if set_velocity:  # the off-diagonal parts of the row and column sets' velocity blocks
        offdiag = bands.degenerate & ~np.eye(inv.shape[-1], dtype=bool)[None]
        vblk = v * offdiag[None]
        vi, vi2 = v * inv[None], v * inv2[None]
        y = np.matmul(vi[:, None], vi2[None, :])  # Σ_m V^a_lm V^b_mn/((ε_l-ε_m)(ε_n-ε_m)²)
        term3 -= 2.0 * np.einsum("cknl,abkln->cabkn", vblk, y, optimize=True)
        z = np.matmul(vi[:, None], vblk[None, :])  # Σ_{l∈D(m)} V^a_nl V^c_lm/(ε_n-ε_l)
        term3 += 2.0 * np.einsum("acknm,bkmn->cabkn", z, vi2, optimize=True)
    return term1 + np.swapaxes(term1, 1, 2) + np.real(term3)


def magnetoelectric_interband_native(bands: BandData) -> FloatArray:
    """First term of Eq. (10), -2 Re Σ_{m∉D(n)} m^i_nm A^j_mn/(ε_n-ε_m), over e/hbar.

    (3[i], 3[j], N, n) in Å³, with the sign of Eq. (10) as written.
    """
    m = interband_orbital_moment_native(bands)
    a = bands.berry_connection
    return -2.0 * np.real(np.einsum("iknm,jkmn,knm->ijkn", m, a, bands.inverse_gap, optimize=True))


def magnetoelectric_dipole_native(dipole: FloatArray) -> FloatArray:
    """Second term of Eq. (10) over e/hbar: -(1/2) ε_{ilr} ∂_l g^{rj} (3, 3, N, n), Å³."""
    return -0.5 * np.einsum("ilr,lrjkn->ijkn", LEVI_CIVITA, dipole, optimize=True)


def magnetoelectric_tensor_native(bands: BandData) -> FloatArray:
    """F^{ij}_n over e/hbar with the physical sign (see MAGNETOELECTRIC_SIGN), Å³.

    i = magnetization component, j = electric-field direction; alpha_ij = e ∫[dk] F f0.
    Computed by :func:`qgmag.geometry.magnetoelectric.magnetoelectric_tensor` (nine
    matrix products per k); :func:`magnetoelectric_tensor_reference` is the term-by-term
    composition it is tested equal to.
    """
    from qgmag.geometry.magnetoelectric import magnetoelectric_tensor

    return magnetoelectric_tensor(bands)


def magnetoelectric_tensor_reference(bands: BandData) -> FloatArray:
    """F^{ij}_n as the interband term plus the metric dipole of :func:`metric_dipole`
    (Eq. 10 term by term; the reference of :func:`magnetoelectric_tensor_native`), Å³."""
    return MAGNETOELECTRIC_SIGN * (
        magnetoelectric_interband_native(bands)
        + magnetoelectric_dipole_native(metric_dipole(bands, set_velocity=True))
    )


def degenerate_trace_product(x: ComplexArray, y: ComplexArray, bands: BandData) -> FloatArray:
    """Per-band Σ_{n'∈D(n)} x^i_nn' y^j_n'n (3, 3, N, n), real part.

    Summed over a degenerate set this is Tr_D[P x P y P], gauge invariant (SPEC §2); for a
    non-degenerate band it is x_nn y_nn. Used for Fermi-surface products <S>_n v_n.
    """
    mask = bands.degenerate[None]
    xs, ys = bands.square_block(x * mask), bands.square_block(y * mask)  # D(n) ⊂ rows
    return np.real(np.einsum("iknp,jkpn->ijkn", xs, ys, optimize=True))


def orbital_moment_matrix_native(bands: BandData) -> ComplexArray:
    """Non-Abelian orbital moment over e/hbar, vector form (3, N, n, n) in eV·Å².

    m^{ab}_{nn'} = -(1/2i) Σ_{m∉D} [V^a_nm V^b_mn' - V^b_nm V^a_mn']/(ε_n - ε_m); its
    diagonal is :func:`orbital_moment_native` and its degenerate-set blocks transform
    covariantly, so Tr_D[m v] is gauge invariant.
    """
    bands._require_square("the orbital-moment matrix")
    v = bands.velocity_matrix
    vi = v * bands.inverse_gap[None]
    prod = np.einsum("aknm,bkml->abknl", vi, v, optimize=True)
    tensor = -(prod - np.swapaxes(prod, 0, 1)) / 2j
    return to_vector(tensor)


def _partner_offsets(mask: np.ndarray) -> list[int]:
    """Band-index offsets d with some n, n+d in one degenerate set (sets are contiguous)."""
    n = mask.shape[-1]
    return [d for d in range(-(n - 1), n) if np.diagonal(mask, d, 1, 2).any()]


def orbital_moment_velocity_trace(bands: BandData) -> FloatArray:
    """Re Σ_{p∈D(n)} m^i_np V^j_pn / (e/hbar) per band (3[i], 3[j], N, n), eV²·Å³.

    Equals ``degenerate_trace_product(orbital_moment_matrix_native(bands), V)`` but only
    forms the elements of m inside degenerate sets: with Y^{ab}_np = Σ_m V^a_nm V^b_mp
    /(ε_n - ε_m) (m ∉ D(n)), m^c_np = -(Y^{ab} - Y^{ba})/(2i) for (a, b, c) cyclic, one
    (3 x n) @ (n x 3) product per (k, n) and partner p (p = n first, then the partners of
    :attr:`BandData.degenerate_partners`): O(N n² s) for sets of size <= s instead of
    O(N n³). Blocks of 32 k-points keep the work in cache.
    """
    v = bands.velocity_matrix  # (3, N, n_w, n)
    inv = bands.inverse_gap
    n_k, n_w, n = inv.shape
    start = bands.rows.start
    partners = bands.degenerate_partners
    out = np.empty((3, 3, n_k, n_w))
    for lo in range(0, n_k, 32):
        k = slice(lo, lo + 32)
        vp = np.ascontiguousarray(np.moveaxis(v[:, k], 0, 2))  # V^a_nm at [k, n, a, m]
        nk = vp.shape[0]
        xc = np.conj(vp) * inv[k][:, :, None, :]  # conj(V^a_nm)/(ε_n - ε_m)
        rows = np.arange(n_w)
        diag = vp[:, rows, :, rows + start]  # V^j_nn (n_w, N, 3)
        block = _trace_rank(xc, vp, np.moveaxis(diag, 0, 1), None)
        k_index = np.arange(nk)[:, None]
        for partner, valid in partners:
            p = partner[k] - start  # row index of the partner band
            vg = vp[k_index, p]  # V^b_{p(n), m} at [k, n, b, m]
            v_pn = vp[k_index, p, :, rows + start]  # V^j_{p(n), n} (N, n_w, 3)
            block += _trace_rank(xc, vg, v_pn, valid[k])
        out[:, :, k] = np.moveaxis(block, (0, 1), (2, 3))
    if bands.external_terms:  # band-diagonal external part (exact where P_D V P_D = v_n 1)
        from qgmag.geometry.full_level import external_orbital_moment

        out += external_orbital_moment(bands)[:, None] * bands.band_velocity[None]
    return out


def _trace_rank(
    xc: ComplexArray, vg: ComplexArray, v_pn: ComplexArray, valid: np.ndarray | None
) -> FloatArray:
    """Re m^i_np V^j_pn (N, n, 3[i], 3[j]) for one partner p = p(n) per row band, from
    conj(V^a_nm)/(ε_n - ε_m) ``xc`` and V^b_{p, m} ``vg`` (both (N, n, 3, m)) and V^j_pn
    (N, n, 3); ``valid`` (N, n) zeroes bands without such a partner."""
    # conj(Y^{ab}_np) = Σ_m conj(V^a_nm) V^b_pm/(ε_n - ε_m) (V Hermitian: V^b_mp = conj(V^b_pm))
    yc = np.matmul(xc, np.swapaxes(vg, -1, -2))  # (N, n, 3[a], 3[b])
    m = np.empty(yc.shape[:-1], dtype=complex)  # m^c_np = -(Y^{ab} - Y^{ba})/(2i)
    for c, (a, b) in enumerate(_CYCLIC):
        m[..., c] = np.conj(yc[..., a, b] - yc[..., b, a]) * 0.5j
    if valid is not None:
        m *= valid[:, :, None]
    return np.real(m[..., :, None] * v_pn[..., None, :])


def metric_velocity_trace(bands: BandData) -> FloatArray:
    """Re Σ_{p∈D(n)} g^{rj}_np V^l_pn per band (3[r], 3[j], 3[l], N, n), Å²·eV·Å.

    g^{rj}_np = (1/2) Σ_{m∉D(n)} [V^r_nm V^j_mp + V^j_nm V^r_mp]/(ε_n - ε_m)² is the
    non-Abelian quantum metric of the degenerate set (its diagonal is
    :func:`quantum_metric`); summed over a set this is Tr_D[g^{rj} V^l], gauge invariant,
    and for a non-degenerate band it is g^{rj}_n v^l_n. O(N n² s) for sets of size <= s.
    """
    v = bands.velocity_matrix
    vi2 = v * (bands.inverse_gap**2)[None]
    vcol = bands.column_block(v)  # V_mp, every m, row bands p
    vsq = bands.square_block(v)
    mask = bands.square_block(bands.degenerate)  # degenerate sets lie inside the rows
    n_b = mask.shape[-1]
    out = np.zeros((3, 3, 3, *mask.shape[:2]))
    for d in _partner_offsets(mask):
        rows = slice(0, n_b - d) if d >= 0 else slice(-d, n_b)
        cols = slice(d, n_b) if d >= 0 else slice(0, n_b + d)
        prod = np.einsum("aknm,bkmn->abkn", vi2[:, :, rows, :], vcol[:, :, :, cols], optimize=True)
        g_np = 0.5 * (prod + np.swapaxes(prod, 0, 1))  # (3, 3, N, len)
        v_pn = np.diagonal(vsq, -d, 2, 3)  # V^l_{n+d, n}
        partners = np.diagonal(mask, d, 1, 2)
        out[:, :, :, :, rows] += np.real(g_np[:, :, None] * v_pn[None, None]) * partners
    return out
