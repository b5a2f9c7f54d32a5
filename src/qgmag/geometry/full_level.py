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
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.models.base import FloatArray

_CYC = ((1, 2), (2, 0), (0, 1))


def external_orbital_moment(bands: BandData) -> FloatArray:
    """The full-level moment minus the tight-binding one, (3[c], N, n) in eV·Å² over e/ħ.

    With D_nl = -V_nl/(ε_n - ε_l): Z^c_nl = Re[D^a_nl B̄^b_ln - D^b_nl B̄^a_ln] and
    W^c_nl = Re[D^a_nl Ā^b_ln - D^b_nl Ā^a_ln]; the cross term is Σ_l (Z - ε_n W)_nl and
    the pair term P_nl = 2 (Z - ε_l W)_nl (real arithmetic, no complex temporaries).
    """
    e = bands.energy
    inv = bands.inverse_gap  # 1/(ε_n - ε_l), 0 in D(n)
    v = bands.velocity_matrix
    vr, vi = v.real, v.imag
    abar_t = np.swapaxes(bands.position_connection, -1, -2)  # [n, l] = Ā_ln
    bbar_t = np.swapaxes(bands.wannier_matrix("orbital_b"), -1, -2)
    ar, ai, br, bi = abar_t.real, abar_t.imag, bbar_t.real, bbar_t.imag
    cbar = bands.wannier_diagonal("orbital_c")
    obar = bands.position_curvature_diagonal
    below = np.tril(np.ones(e.shape[1:] * 2, dtype=bool), -1)[None]  # l < n
    out = np.empty((3, *e.shape))
    for c, (a, b) in enumerate(_CYC):
        z = -inv * (vr[a] * br[b] - vi[a] * bi[b] - vr[b] * br[a] + vi[b] * bi[a])
        w = -inv * (vr[a] * ar[b] - vi[a] * ai[b] - vr[b] * ar[a] + vi[b] * ai[a])
        cross = z.sum(-1) - e * w.sum(-1)
        pair = z - w * e[:, None, :]  # Z_nl - ε_l W_nl
        pair = (pair + np.swapaxes(pair, -1, -2)) * below
        out[c] = 0.5 * (e * obar[c] - cbar[c]) + cross - pair.sum(-1)
    if getattr(bands.model, "orbital_formula", "lopez") == "projected":
        out += _projected_correction(bands, below)
    return out


def _projected_correction(bands: BandData, below: np.ndarray) -> FloatArray:
    """Ceresoli-type projected form minus Lopez's: the occupied-occupied block of
    <Q∂_a u|H|Q∂_b u> uses B̄ itself where Lopez et al. use ε Ā (equal when the Wannier
    space is invariant under H). With B̃_mn = B̄_mn - ε_m Ā_mn and
    G_nm = 2 Im[conj(B̃^a_mn) Ā^b_mn + Ā^a_nm B̃^b_mn], the moment changes by
    -(1/2)[G_nn + Σ_{m<n} (G_nm + G_mn)]; the result is exactly unchanged when the
    Bloch-phase centres move (an exact change of basis of the Wannier matrices)."""
    e = bands.energy
    abar = bands.position_connection
    btil = bands.wannier_matrix("orbital_b") - e[None, :, :, None] * abar  # [m, n]: ε_m
    a_t, b_t = np.swapaxes(abar, -1, -2), np.swapaxes(btil, -1, -2)  # [n, m] = X_mn
    out = np.empty((3, *e.shape))
    for c, (a, b) in enumerate(_CYC):
        g = 2.0 * np.imag(np.conj(b_t[a]) * a_t[b] + abar[a] * b_t[b])  # G_nm
        pairs = ((g + np.swapaxes(g, -1, -2)) * below).sum(-1)
        out[c] = -0.5 * (np.diagonal(g, axis1=-2, axis2=-1) + pairs)
    return out
