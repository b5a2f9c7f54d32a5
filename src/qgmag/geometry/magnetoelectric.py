"""The magnetoelectric tensor F^{ij}_n of Eq. (10) from nine matrix products per k.

Same quantity as the composition in :mod:`qgmag.geometry.quantities`
(``magnetoelectric_interband_native + magnetoelectric_dipole_native(metric_dipole)``,
kept there as the reference), reorganised so that every band-pair product is formed once:

* D^c_nm = V^c_nm/(ε_m - ε_n) (m ∉ D(n); D^c = -i A^c, anti-Hermitian) and the nine
  products K^{ab} = V^a D^b are the only O(n³) work besides the transforms of ∂H, ∂²H.
  D^c V^a = -(K^{ac})^†, so ∂_c V^a = W^{ac} + K^{ac} + (K^{ac})^†.
* the orbital moment matrix of Eq. (10) is m^i = (i/2)[K^{jr} - K^{rj}
  + D^r (P_D V^j P_D) - D^j (P_D V^r P_D)], (i, j, r) cyclic.
* with E^b_nm = V^b_nm/(ε_n - ε_m)² (Hermitian), every term is a row contraction
  Σ_m Re[X_nm conj(E_nm)]: the interband term 2 Im Σ_m m^i_nm conj(E^j_nm); the metric
  dipole -(1/2) ε_ilr ∂_l g^{rj} with ∂_l g^{rj}_n = Re Σ_m [(∂_l V^r)_nm conj(E^j_nm)
  + (∂_l V^j)_nm conj(E^r_nm)] - 2 Σ_m Re(V^r_nm V^j_mn)(v^l_n - v^l_m)/(ε_n - ε_m)³; in
  ε_ilr ∂_l V^r the symmetric W^{rl} cancels exactly.

Units: Å³ (F over e/ħ), the physical sign (MAGNETOELECTRIC_SIGN), like
:func:`qgmag.geometry.quantities.magnetoelectric_tensor_native`. Needs every band as a
row (no band window) and BandData built with ``need_second_derivatives=True``.
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.models.base import ComplexArray, FloatArray

_CYCLIC = ((0, 1, 2), (1, 2, 0), (2, 0, 1))  # (i, j, r)


def _row_contract(x: ComplexArray, e: ComplexArray) -> FloatArray:
    """Σ_m Re[x^i_nm conj(e^j_nm)] for x (I, N, n, m), e (J, N, n, m) -> (I, J, N, n)
    (both C-contiguous)."""
    xf = x.view(float).reshape(*x.shape, 2)
    ef = e.view(float).reshape(*e.shape, 2)
    return np.einsum("iknmz,jknmz->ijkn", xf, ef)


def _partner_offsets(mask: np.ndarray) -> list[int]:
    """Nonzero band-index offsets d with some n, n + d in one degenerate set."""
    n = mask.shape[-1]
    return [d for d in range(-(n - 1), n) if d != 0 and np.diagonal(mask, d, 1, 2).any()]


def _times_partners(
    x: ComplexArray, y: ComplexArray, mask: np.ndarray, offsets: list[int]
) -> ComplexArray:
    """Σ_{l ∈ D(n), l ≠ n} x_ml y_ln (N, n, n): x (P_D y P_D) without its diagonal l = n."""
    out = np.zeros_like(x)
    n_b = mask.shape[-1]
    for d in offsets:  # l = n + d
        cols = slice(max(0, -d), n_b - max(0, d))  # the n that have such an l
        src = slice(cols.start + d, cols.stop + d)
        w = np.diagonal(y, -d, -2, -1) * np.diagonal(mask, -d, -2, -1)  # y_{n+d, n}
        out[..., cols] += x[..., src] * w[..., None, :]
    return out


def _row_sums(k: FloatArray, e: FloatArray) -> FloatArray:
    """Σ_m Re[K^{ab}_nm conj(E^c_nm)] -> (3[a], 3[b], 3[c], N, n) from the float views
    k (N, 3[a], n, 3[b], m, 2) and e (3[c], N, n, m, 2)."""
    return np.einsum("kanbmz,cknmz->abckn", k, e)


def magnetoelectric_tensor(bands: BandData) -> FloatArray:
    """F^{ij}_n over e/ħ (3[i], 3[j], N, n), Å³, physical sign (see the module docstring)."""
    from qgmag.geometry.quantities import MAGNETOELECTRIC_SIGN

    bands._require_square("the magnetoelectric tensor")
    v = bands.velocity_matrix  # (3, N, n, n)
    inv = bands.inverse_gap  # (N, n, m): 1/(ε_n - ε_m), 0 in sets
    n_k, n = inv.shape[:2]
    d = v * np.swapaxes(inv, -1, -2)[None]  # D^c_nm = V^c_nm/(ε_m - ε_n)
    # K^{ab} = V^a D^b, all nine from one GEMM per k: (3n x n) @ (n x 3n)
    vs = np.ascontiguousarray(np.moveaxis(v, 0, 1)).reshape(n_k, 3 * n, n)
    ds = np.ascontiguousarray(np.moveaxis(d, 0, 2)).reshape(n_k, n, 3 * n)
    k = np.matmul(vs, ds)  # (N, 3n, 3n) = K[k, (a, n), (b, m)]
    kf = k.view(float).reshape(n_k, 3, n, 3, n, 2)
    e = v * (inv * inv)[None]  # E^b, Hermitian
    ef = e.view(float).reshape(3, n_k, n, n, 2)
    row = _row_sums(kf, ef)  # contraction of K^{ab} with E^c
    # K^T[k, (b, n), (a, m)] = K^{ab}_mn (a transposed copy): with E
    # Hermitian, Σ_m Re[K^{ab}_mn conj(E^c_mn)] = Σ_m Re[K^{ab}_mn E^c_nm]
    kt = np.ascontiguousarray(np.swapaxes(k, -1, -2))
    ktf = kt.view(float).reshape(n_k, 3, n, 3, n, 2)
    econj = np.conj(e).view(float).reshape(3, n_k, n, n, 2)
    both = row + np.swapaxes(_row_sums(ktf, econj), 0, 1)  # of K^{ab} + (K^{ab})^†
    # Re Σ_m W^{jl}_nm conj(E^r_nm) = Re Σ_i (U† ∂_j∂_l H)_ni (U E^r)_in for the distinct
    # j <= l: half of each transform (U, ∂²H in the basis of the eigen-solve)
    pairs = [(a, b) for a in range(bands.dim) for b in range(a, bands.dim)]
    if "second_derivative_pairs" in bands.__dict__:
        w = bands.second_derivative_pairs
        wp = np.einsum("pknmz,rknmz->prkn", w.view(float).reshape(*w.shape, 2), ef)
    else:
        u = bands._u
        d2h = bands._d2h
        if d2h is None:
            bands.second_derivative_matrix  # noqa: B018  (raises the explanatory error)
        uh = np.conj(np.swapaxes(u, -1, -2))
        half = np.empty((len(pairs), n_k, n, n), dtype=complex)  # (U† ∂_j∂_l H)_ni
        for p, (a, b) in enumerate(pairs):
            np.matmul(uh, d2h[a, b], out=half[p])
        ue_t = np.conj(np.matmul(np.conj(e), np.swapaxes(u, -1, -2)))  # conj((U E^r)^T)
        wp = np.einsum(
            "pknmz,rknmz->prkn",
            half.view(float).reshape(*half.shape, 2),
            ue_t.view(float).reshape(*ue_t.shape, 2),
        )
    wc = np.zeros((3, 3, 3, n_k, n))
    for (a, b), x in zip(pairs, wp, strict=True):
        wc[a, b] = wc[b, a] = x
    # the rest, contracted with conj(E^j): the interband moment's (P_D V P_D) blocks,
    # D^r_nm v^j_m - D^j_nm v^r_m for l = m, and the (v_n - v_m)/(ε_n-ε_m)³ term,
    # ε_ilr (v^l_n - v^l_m) V^r_nm/Δ; with D = -V/Δ they add up to
    # [V^r (v^j_n - 2 v^j_m) - V^j (v^r_n - 2 v^r_m)]/Δ, contracted with E/Δ
    vel = bands.band_velocity  # (3, N, n)
    c = vel[:, :, :, None] - 2.0 * vel[:, :, None, :]
    g = np.empty_like(v)
    for i, j, r in _CYCLIC:
        np.subtract(v[r] * c[j], v[j] * c[r], out=g[i])
    out = _row_contract(g, e * inv[None])
    mask = bands.degenerate
    offsets = _partner_offsets(mask)
    ks = np.flatnonzero(np.any(mask & ~np.eye(n, dtype=bool), axis=(1, 2)))
    if offsets and ks.size:  # partners l ≠ m in D(m): only where sets exist
        dk, vk, mk = d[:, ks], v[:, ks], mask[ks]
        gb = np.empty_like(vk)
        for i, j, r in _CYCLIC:
            gb[i] = _times_partners(dk[r], vk[j], mk, offsets)
            gb[i] -= _times_partners(dk[j], vk[r], mk, offsets)
        out[:, :, ks] += _row_contract(gb, np.ascontiguousarray(e[:, ks]))
    # t[j, l, r] = Re Σ_m (∂_l V^j)_nm conj(E^r_nm), ∂_l V^j = W^{jl} + K^{jl} + K^{jl}†
    t = wc + both
    for i, j, r in _CYCLIC:
        # interband -2i m^i ⊃ K^{jr} - K^{rj}; dipole -(1/2) ε_ilr [V^r, D^l]
        # = -(1/2)[(K + K†)^{rj} - (K + K†)^{jr}]; -(1/2) ε_ilr t[:, l, r]
        out[i] += row[j, r] - row[r, j] - 0.5 * (both[r, j] - both[j, r])
        out[i] -= 0.5 * (t[:, j, r] - t[:, r, j])
    return MAGNETOELECTRIC_SIGN * out
