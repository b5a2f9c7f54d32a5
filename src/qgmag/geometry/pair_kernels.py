"""Compiled (numba) band-pair sums of the full Wannier level; the numpy forms in
:mod:`qgmag.geometry.full_level` are the reference (tests: both equal to round-off).

Both pair kernels loop over the pairs p = (n < l) with n a row band (a band window
[0, n_w)), reading V, Ā (and G = conj B̄) straight from the band matrices, so no pair
arrays are gathered and every product is formed once, in registers (the numpy forms make
≈ 20 passes over (3, N, n_w·n) arrays: memory-bound). V and Ā are read in the memory
layout ``np.matmul`` gives them, k outermost ((3, N, n_w, n) arrays whose strides are
those of (N, 3, n_w, n): passed as that view, no copy); G in the (N, n_w, 3, n) layout of
:func:`qgmag.geometry.full_level._external_blocks`. With (a, b, c) cyclic,

    T^c_nl = Re[V^a_nl conj(Ā^b_nl) - V^b_nl conj(Ā^a_nl)]          (eV·Å², symmetric in n, l)
    X^c_nl = Re[V^a_nl conj(G^b_nl) - V^b_nl conj(G^a_nl)]          (eV²·Å²)

and, with inv_nl = 1/(ε_n - ε_l) (0 inside degenerate sets),

* :func:`berry_pairs`: Σ_{l>n} 2 inv_nl T_nl - Σ_{l<n} 2 inv_ln T_ln (Å²), the pair part of
  the full-connection Berry curvature (``geometry.quantities.berry_curvature_vector``);
* :func:`moment_pairs`: Σ_{l>n} (T'_nl + M_nl) + Σ_{l<n} (T'_ln - M_ln) (eV·Å²) with
  M_nl = -inv_nl (X_nl - ε_l T_nl) and T' = T outside degenerate sets, the pair part of
  :func:`qgmag.geometry.full_level.external_orbital_moment`;
* :func:`column_dots`: Σ_i conj(U_in) (ZU)_in, the band diagonals of U† Z U from ZU
  (the packed C of the external moment), without the complex temporaries of numpy.

Compiled on first use and cached on disk (``cache=True``): the first full-level run on a
machine pays ≈ 2 s (import of numba + compile), later processes ≈ 1 s (import + load).
``qgmag.geometry.full_level.PAIR_KERNEL = "numpy"`` selects the numpy forms.
"""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np

from qgmag.models.base import ComplexArray, FloatArray

#: numba is a declared dependency; without it the numpy forms are used. It is imported only
#: when a kernel is first needed (≈ 1 s, once per process), not with qgmag.
AVAILABLE = find_spec("numba") is not None


def _kernels() -> tuple[object, object, object]:
    """The jitted kernels (compiled, or loaded from numba's cache, on first call)."""
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = _compile()
    return _KERNELS


_KERNELS = None


def _compile() -> tuple[object, object, object]:
    from numba import njit

    @njit(cache=True, nogil=True, inline="always")
    def cross(x, y, k, p, q):  # type: ignore[no-untyped-def]  # pragma: no cover (jitted)
        """Re[x^a conj(y^b) - x^b conj(y^a)] for (a, b, c) cyclic, c = 0, 1, 2 ((N, 3, ...)
        arrays: the three components of one pair are adjacent in memory)."""
        x0, x1, x2 = x[k, 0, p, q], x[k, 1, p, q], x[k, 2, p, q]
        y0, y1, y2 = y[k, 0, p, q], y[k, 1, p, q], y[k, 2, p, q]
        return (
            x1.real * y2.real + x1.imag * y2.imag - (x2.real * y1.real + x2.imag * y1.imag),
            x2.real * y0.real + x2.imag * y0.imag - (x0.real * y2.real + x0.imag * y2.imag),
            x0.real * y1.real + x0.imag * y1.imag - (x1.real * y0.real + x1.imag * y0.imag),
        )

    @njit(cache=True, nogil=True)
    def berry(v, a, inv, out):  # type: ignore[no-untyped-def]  # pragma: no cover (jitted)
        n_k, n_w, n = inv.shape
        for k in range(n_k):
            for p in range(n_w):
                for q in range(p + 1, n):
                    w = 2.0 * inv[k, p, q]
                    if w == 0.0:
                        continue  # degenerate pair
                    t0, t1, t2 = cross(v, a, k, p, q)
                    out[0, k, p] += w * t0
                    out[1, k, p] += w * t1
                    out[2, k, p] += w * t2
                    if q < n_w:
                        out[0, k, q] -= w * t0
                        out[1, k, q] -= w * t1
                        out[2, k, q] -= w * t2

    @njit(cache=True, nogil=True)
    def moment(v, a, g, inv, energy, out):  # type: ignore[no-untyped-def]  # pragma: no cover
        n_k, n_w, n = inv.shape
        for k in range(n_k):
            for p in range(n_w):
                for q in range(p + 1, n):
                    s = inv[k, p, q]
                    if s == 0.0:
                        continue  # degenerate pair: T' = 0 and M = 0
                    e_l = energy[k, q]
                    t0, t1, t2 = cross(v, a, k, p, q)
                    v0, v1, v2 = v[k, 0, p, q], v[k, 1, p, q], v[k, 2, p, q]
                    g0, g1, g2 = g[k, p, 0, q], g[k, p, 1, q], g[k, p, 2, q]  # (N, n_w, 3, n)
                    x0 = (
                        v1.real * g2.real
                        + v1.imag * g2.imag
                        - (v2.real * g1.real + v2.imag * g1.imag)
                    )
                    x1 = (
                        v2.real * g0.real
                        + v2.imag * g0.imag
                        - (v0.real * g2.real + v0.imag * g2.imag)
                    )
                    x2 = (
                        v0.real * g1.real
                        + v0.imag * g1.imag
                        - (v1.real * g0.real + v1.imag * g0.imag)
                    )
                    m0, m1, m2 = -s * (x0 - e_l * t0), -s * (x1 - e_l * t1), -s * (x2 - e_l * t2)
                    out[0, k, p] += t0 + m0
                    out[1, k, p] += t1 + m1
                    out[2, k, p] += t2 + m2
                    if q < n_w:
                        out[0, k, q] += t0 - m0
                        out[1, k, q] += t1 - m1
                        out[2, k, q] += t2 - m2

    @njit(cache=True, nogil=True)
    def column_dots(u, zu, out):  # type: ignore[no-untyped-def]  # pragma: no cover (jitted)
        n_k, n_c, n, n_w = zu.shape
        for k in range(n_k):
            for c in range(n_c):
                for i in range(n):
                    for p in range(n_w):
                        x, y = u[k, i, p], zu[k, c, i, p]
                        out[k, c, p] += complex(
                            x.real * y.real + x.imag * y.imag, x.real * y.imag - x.imag * y.real
                        )

    return berry, moment, column_dots


def _k_major(x: np.ndarray) -> np.ndarray:
    """(3, N, ...) -> (N, 3, ...) C-contiguous: a view, no copy, for the band matrices of
    :class:`~qgmag.bands.engine.BandData` (``np.matmul`` of (N, ...) eigenvectors with
    (3, N, ...) blocks stores k outermost); a copy otherwise."""
    return np.ascontiguousarray(np.moveaxis(x, 0, 1))


def berry_pairs(v: ComplexArray, a: ComplexArray, inv: FloatArray) -> FloatArray:
    """Σ_{l>n} 2 inv_nl T_nl - Σ_{l<n} 2 inv_ln T_ln (3, N, n_w), Å², from V, Ā
    (3, N, n_w, n) and inv (N, n_w, n) (module docstring)."""
    berry = _kernels()[0]
    for name, x in (("v", v), ("a", a)):  # the kernel does no bounds checks
        if x.shape != (3, *inv.shape):
            raise ValueError(f"berry_pairs: {name} has shape {x.shape}; {(3, *inv.shape)} needed.")
    out = np.zeros((3, *inv.shape[:2]))
    berry(_k_major(v), _k_major(a), np.ascontiguousarray(inv), out)
    return out


def moment_pairs(
    v: ComplexArray, a: ComplexArray, g: ComplexArray, inv: FloatArray, energy: FloatArray
) -> FloatArray:
    """Σ_{l>n} (T'_nl + M_nl) + Σ_{l<n} (T'_ln - M_ln) (3, N, n_w), eV·Å², from V, Ā
    (3, N, n_w, n), G (N, n_w, 3, n) (the layout of
    :func:`qgmag.geometry.full_level._external_blocks`), inv (N, n_w, n) and the energies
    (N, n) (module docstring)."""
    moment = _kernels()[1]
    n_k, n_w, n = inv.shape
    expected = {"v": (3, n_k, n_w, n), "a": (3, n_k, n_w, n), "g": (n_k, n_w, 3, n)}
    for name, x in (("v", v), ("a", a), ("g", g)):  # the kernel does no bounds checks
        if x.shape != expected[name]:
            raise ValueError(f"moment_pairs: {name} has shape {x.shape}; {expected[name]} needed.")
    if energy.shape != (n_k, n):
        raise ValueError(f"moment_pairs: energy has shape {energy.shape}; {(n_k, n)} needed.")
    out = np.zeros((3, n_k, n_w))
    moment(
        _k_major(v),
        _k_major(a),
        *(np.ascontiguousarray(x) for x in (g, inv, energy)),
        out,
    )
    return out


def column_dots(u: ComplexArray, zu: ComplexArray) -> ComplexArray:
    """Σ_i conj(u_ip) (ZU)_ip (N, n_c, n_w) for u (N, n, n_w) and ZU (N, n_c, n, n_w): the band
    diagonals (U_w† Z U_w)_pp of n_c matrices Z from their products with U_w."""
    n_k, n_c, n, n_w = zu.shape
    if u.shape != (n_k, n, n_w):  # the kernel does no bounds checks
        raise ValueError(f"column_dots: u has shape {u.shape}; {(n_k, n, n_w)} needed.")
    out = np.zeros((n_k, n_c, n_w), dtype=complex)
    _kernels()[2](np.ascontiguousarray(u), np.ascontiguousarray(zu), out)
    return out
