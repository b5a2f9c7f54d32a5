"""Compiled (numba) row contraction of the magnetoelectric tensor F (one pass per band pair).

In :func:`qgmag.geometry.magnetoelectric._block` the interband moment, the within-set
partner terms and the (v_n - v_m)/(ε_n - ε_m)³ term are collected in one matrix per
(k, n),

    G^i_nm = K^{jr}_nm - K^{rj}_nm + V^r_nm c^j_nm - V^j_nm c^r_nm
             + 2 Σ_{l ∈ D(m), l ≠ m} [D^r_nl V^j_lm - D^j_nl V^r_lm]
             - Σ_{l ∈ D(n), l ≠ n} [V^j_nl D^r_lm - V^r_nl D^j_lm],   (i, j, r) cyclic,

with c^a_nm = (v^a_n - 2 v^a_m)/(ε_n - ε_m) (0 inside degenerate sets; the partner sums
complete v_n and v_m to the velocity blocks of their sets, :mod:`qgmag.geometry.
magnetoelectric`), and contracted with
E^c: out[k, n, i, c] = Σ_m Re[G^i_nm conj(E^c_nm)]. The numpy form builds G as ~20
temporary (N, n, 3, n) arrays (memory-bound passes, gathers of partner columns);
:func:`interband_rows` forms each G^i_nm in registers and accumulates the contraction
directly, so G is never stored. The numpy form in ``_block`` is the reference
(``MAGNETOELECTRIC_KERNEL = "numpy"`` there; tests compare both to round-off).

Compiled on first use and cached on disk (``cache=True``), like
:mod:`qgmag.geometry.pair_kernels`.
"""

from __future__ import annotations

import numpy as np

from qgmag.geometry.pair_kernels import AVAILABLE
from qgmag.models.base import ComplexArray, FloatArray

__all__ = ["AVAILABLE", "commutator_rows", "interband_rows"]

_KERNEL = None


def _compile() -> object:
    from numba import njit

    @njit(cache=True, nogil=True)
    def rows(vp, dp, kk, ep, vel, inv, pidx, pvalid, out):  # type: ignore[no-untyped-def]  # pragma: no cover (jitted)
        n_k, n = inv.shape[0], inv.shape[1]
        n_q = pidx.shape[0]
        for k in range(n_k):
            for p in range(n):
                for m in range(n):
                    s = inv[k, p, m]
                    c0 = (vel[k, p, 0] - 2.0 * vel[k, m, 0]) * s
                    c1 = (vel[k, p, 1] - 2.0 * vel[k, m, 1]) * s
                    c2 = (vel[k, p, 2] - 2.0 * vel[k, m, 2]) * s
                    v0, v1, v2 = vp[k, p, 0, m], vp[k, p, 1, m], vp[k, p, 2, m]
                    # (i, j, r) = (0, 1, 2), (1, 2, 0), (2, 0, 1); K^{ab} at row 3a + b
                    g0 = v2 * c1 - v1 * c2 + kk[k, p, 5, m] - kk[k, p, 7, m]
                    g1 = v0 * c2 - v2 * c0 + kk[k, p, 6, m] - kk[k, p, 2, m]
                    g2 = v1 * c0 - v0 * c1 + kk[k, p, 1, m] - kk[k, p, 3, m]
                    for q in range(n_q):
                        if pvalid[q, k, m]:  # column set: 2 [D^r V^j - D^j V^r]_{p l m}
                            l = pidx[q, k, m]
                            d0, d1, d2 = dp[k, p, 0, l], dp[k, p, 1, l], dp[k, p, 2, l]
                            w0, w1, w2 = vp[k, l, 0, m], vp[k, l, 1, m], vp[k, l, 2, m]
                            g0 += 2.0 * (d2 * w1 - d1 * w2)
                            g1 += 2.0 * (d0 * w2 - d2 * w0)
                            g2 += 2.0 * (d1 * w0 - d0 * w1)
                        if pvalid[q, k, p]:  # row set: -[V^j D^r - V^r D^j]_{p l m}
                            l = pidx[q, k, p]
                            w0, w1, w2 = vp[k, p, 0, l], vp[k, p, 1, l], vp[k, p, 2, l]
                            d0, d1, d2 = dp[k, l, 0, m], dp[k, l, 1, m], dp[k, l, 2, m]
                            g0 -= w1 * d2 - w2 * d1
                            g1 -= w2 * d0 - w0 * d2
                            g2 -= w0 * d1 - w1 * d0
                    for c in range(3):
                        e = ep[k, p, c, m]
                        out[k, p, 0, c] += g0.real * e.real + g0.imag * e.imag
                        out[k, p, 1, c] += g1.real * e.real + g1.imag * e.imag
                        out[k, p, 2, c] += g2.real * e.real + g2.imag * e.imag

    @njit(cache=True, nogil=True)
    def commutators(kk, ep, out):  # type: ignore[no-untyped-def]  # pragma: no cover (jitted)
        n_k, n = kk.shape[0], kk.shape[1]
        for k in range(n_k):
            for p in range(n):
                for m in range(n):
                    e0, e1, e2 = ep[k, p, 0, m], ep[k, p, 1, m], ep[k, p, 2, m]
                    for ab in range(9):
                        x = kk[k, p, ab, m]
                        y = kk[k, m, ab, p]  # S = K + K^†: conj(K_mp)
                        sr = x.real + y.real
                        si = x.imag - y.imag
                        out[k, p, ab, 0] += sr * e0.real + si * e0.imag
                        out[k, p, ab, 1] += sr * e1.real + si * e1.imag
                        out[k, p, ab, 2] += sr * e2.real + si * e2.imag

    return rows, commutators


def _kernels() -> tuple[object, object]:
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _compile()
    return _KERNEL  # type: ignore[return-value]


def commutator_rows(kk: ComplexArray, ep: ComplexArray) -> FloatArray:
    """C(S^{ab}, E^c) = Σ_m Re[S^{ab}_nm conj(E^c_nm)] (N, n, 9[ab], 3[c]) with
    S^{ab} = K^{ab} + (K^{ab})^† from K (N, n, 9, n) and E (N, n, 3, n), S never stored."""
    n_k, n = kk.shape[:2]
    if kk.shape != (n_k, n, 9, n) or ep.shape != (n_k, n, 3, n):  # no bounds checks
        raise ValueError(
            f"commutator_rows: kk {kk.shape}, ep {ep.shape}; "
            f"{(n_k, n, 9, n)}, {(n_k, n, 3, n)} needed."
        )
    out = np.zeros((n_k, n, 9, 3))
    _kernels()[1](np.ascontiguousarray(kk), np.ascontiguousarray(ep), out)
    return out


def interband_rows(
    vp: ComplexArray,
    dp: ComplexArray,
    kk: ComplexArray,
    ep: ComplexArray,
    vel: FloatArray,
    inv: FloatArray,
    partners: list[tuple[np.ndarray, np.ndarray]],
) -> FloatArray:
    """Σ_m Re[G^i_nm conj(E^c_nm)] (N, n, 3[i], 3[c]) (module docstring) from V, D, E
    (N, n, 3, n), K (N, n, 9, n), band velocities (N, n, 3), inv (N, n, n) and the partner
    ranks of :attr:`~qgmag.bands.engine.BandData.degenerate_partners`."""
    n_k, n = inv.shape[:2]
    expected = {"vp": (n_k, n, 3, n), "dp": (n_k, n, 3, n), "kk": (n_k, n, 9, n)}
    expected.update({"ep": (n_k, n, 3, n), "vel": (n_k, n, 3), "inv": (n_k, n, n)})
    arrays = {"vp": vp, "dp": dp, "kk": kk, "ep": ep, "vel": vel, "inv": inv}
    for name, x in arrays.items():  # the kernel does no bounds checks
        if x.shape != expected[name]:
            raise ValueError(
                f"interband_rows: {name} has shape {x.shape}; {expected[name]} needed."
            )
    if partners:
        pidx = np.stack([np.asarray(i, dtype=np.int64) for i, _ in partners])
        pvalid = np.stack([np.asarray(ok, dtype=np.bool_) for _, ok in partners])
    else:
        pidx = np.zeros((0, n_k, n), dtype=np.int64)
        pvalid = np.zeros((0, n_k, n), dtype=np.bool_)
    if pidx.shape[1:] != (n_k, n) or pvalid.shape != pidx.shape:
        raise ValueError(
            f"interband_rows: partner ranks of shape {pidx.shape[1:]}; {(n_k, n)} needed."
        )
    if pidx.size and (pidx.min() < 0 or pidx.max() >= n):
        raise ValueError("interband_rows: partner index out of range.")
    out = np.zeros((n_k, n, 3, 3))
    _kernels()[0](*(np.ascontiguousarray(x) for x in (vp, dp, kk, ep, vel, inv, pidx, pvalid)), out)
    return out
