"""Orbital τ⁰ Fermi-sea weight of the E² kinetic magnetization (B-derivative of the BCP sum).

For a filled-band insulator the static E² free energy per cell is
F^(2) = (eE_j)(eE_k) P_jk with the filled-band polarizability (Å²/eV)

    P_jk = Σ_{n occ, m unocc} Re V^j_nm V^k_mn/(ε_n-ε_m)³ = ½ ∮ dz/2πi ∫[dk] Tr[G V^j G³ V^k],

G = (z - H(k))⁻¹, the contour around the occupied spectrum. In a uniform field B the same
operator expression holds with the Weyl symbols of G and V multiplied by the Moyal product
of the kinetic momenta, [K_a, K_b] = iθ_ab, θ_ab = -(e/ħ) ε_abi B_i (electron charge -e,
Peierls substitution along straight lines = Weyl quantization of H(k) in the atomic gauge):
A ⋆ C = AC + (i/2) θ_ab ∂_aA ∂_bC + O(B²), the symbol of V^a is ∂_aH and
G_⋆ = G + (i/2) θ_ab G ∂_aH G ∂_bH G + O(B²) (derived here; the gauge-covariant Wigner
formalism). Expanding Tr[G_⋆ ⋆ V^j ⋆ G_⋆³ ⋆ V^k] to first order in θ gives, per k, a rational
function of z with poles at the band energies; its residue at the degenerate set of band n
is the per-band weight X^{i,jk}_n (Å⁴/eV, :func:`orbital_sea_weight`), such that

    ∂P_jk/∂B_i = -(e/ħ) Σ_occ ∫[dk] X^{i,jk}_n,    δM_i = -∂F^(2)/∂B_i = (e/ħ) e² E_jE_k Σ_occ ∫ X,

exact for an insulator at T = 0 (μ in the gap). Each residue is evaluated by the
trapezoidal rule on a circle around ε_n of radius a quarter of the distance to the nearest
band outside D(n) (error ~ n_points⁶ 4^-n_points). Checked against Peierls magnetic supercells
(:mod:`qgmag.validation.second_order_orbital`). Needs V and W = U†∂_a∂_bH U.
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.constants import BOLTZMANN_EV
from qgmag.models.base import FloatArray

#: points of the trapezoidal rule on each residue circle (error ~ N⁶ 4**-N)
N_CIRCLE_POINTS = 24
_LEVI = np.zeros((3, 3, 3))
for _a, _b, _c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    _LEVI[_a, _b, _c], _LEVI[_b, _a, _c] = 1.0, -1.0


def _circles(
    e: np.ndarray, deg: np.ndarray, n_points: int, max_radius: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circle nodes z (N, n, S), weights dz/2πi (N, n, S) around each band, set sizes (N, n)."""
    dist = np.abs(e[:, :, None] - e[:, None, :])
    dist = np.where(deg, np.inf, dist)
    radius = np.min(dist, axis=-1) / 4.0 if e.shape[-1] > 1 else np.ones_like(e)
    radius = np.where(np.isfinite(radius), radius, 1.0)
    radius = np.minimum(radius, max_radius)
    theta = 2.0 * np.pi * (np.arange(n_points) + 0.5) / n_points
    unit = np.exp(1j * theta)
    z = e[..., None] + radius[..., None] * unit
    weight = radius[..., None] * unit / n_points  # dz/(2πi) = r e^{iθ} dθ/(2π)
    return z, weight, deg.sum(axis=-1)


#: complex entries of one (k, circle, node, n, n) work array (bounded memory, ~32 MiB)
_BLOCK_ENTRIES = 2 * 2**20


def orbital_sea_weight(
    bands: BandData,
    n_points: int = N_CIRCLE_POINTS,
    mu: float | None = None,
    temperature: float | None = None,
) -> FloatArray:
    """X^{i,jk}_n (3[i], 3[j], 3[k], N, n), Å⁴/eV: residue weight of the orbital τ⁰ sea.

    Without ``mu``: the residue at each band, Σ_n f0(ε_n) X^{i,jk}_n summed over the mesh
    ([dk] average per cell) is the insulator's coefficient Q with ∂P_jk/∂B_i = -(e/ħ) Q
    (module docstring). With ``mu`` (eV) and ``temperature`` (K > 0): ½∮ f(z) T(z) dz/2πi
    around each band with the Fermi function f at complex z (circles of radius below
    πk_BT/2, inside the strip free of Matsubara poles), so that Σ_n X_n is the metal's
    weight at that (μ, T) including every higher-order pole. Degenerate sets share their
    circle equally. Needs ``bands`` built with ``need_second_derivatives=True``.
    Work arrays are processed in k-blocks of bounded size. (Test oracle: slow, n⁴·n_points.)
    """
    dim = bands.dim
    v_all = bands.velocity_matrix[:dim]
    w_all = bands.second_derivative_matrix[:dim, :dim]
    e_all, deg_all = bands.energy, bands.degenerate
    n = e_all.shape[-1]
    size = max(1, _BLOCK_ENTRIES // (n_points * n**3))
    out = np.zeros((3, 3, 3, *e_all.shape))
    for start in range(0, e_all.shape[0], size):
        sl = slice(start, start + size)
        out[..., sl, :] = _weights(
            e_all[sl], deg_all[sl], v_all[:, sl], w_all[:, :, sl], dim, n_points, mu, temperature
        )
    return out


def _weights(
    energy: np.ndarray,
    deg: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    dim: int,
    n_points: int,
    mu: float | None = None,
    temperature: float | None = None,
) -> FloatArray:
    """:func:`orbital_sea_weight` for one k-block."""
    if mu is None:
        z, weight, set_size = _circles(energy, deg, n_points)
    else:
        width = BOLTZMANN_EV * float(temperature)  # type: ignore[arg-type]
        z, weight, set_size = _circles(energy, deg, n_points, np.pi * width / 2)
        weight = weight / (1.0 + np.exp((z - mu) / width))
    g = 1.0 / (z[..., None] - energy[:, None, None, :])  # (N, n_c, S, n)
    # broadcast operators over (circle, node): (N, 1, 1, n, n)
    vv = [x[:, None, None] for x in v]
    ww = [[w[a, b][:, None, None] for b in range(dim)] for a in range(dim)]

    def lg(x: np.ndarray, power: int = 1) -> np.ndarray:  # G^p X
        return (g**power)[..., :, None] * x

    def rg(x: np.ndarray, power: int = 1) -> np.ndarray:  # X G^p
        return x * (g**power)[..., None, :]

    def tr(*mats: np.ndarray) -> np.ndarray:
        out = mats[0]
        for m in mats[1:]:
            out = np.matmul(out, m)
        return np.trace(out, axis1=-2, axis2=-1)

    eye = np.broadcast_to(np.eye(g.shape[-1]), (*g.shape, g.shape[-1]))
    gmat = lg(eye)
    g3mat = lg(eye, 3)
    dg = [rg(lg(vv[a])) for a in range(dim)]  # G V_a G
    dg3 = [rg(dg[a], 2) + rg(lg(dg[a])) + lg(dg[a], 2) for a in range(dim)]
    out = np.zeros((3, 3, 3, *energy.shape))
    for i in range(3):
        pairs = [(a, b, _LEVI[a, b, i]) for a in range(dim) for b in range(dim)]
        pairs = [(a, b, s) for a, b, s in pairs if s != 0.0]
        if not pairs:
            continue
        g1 = sum(0.5j * s * np.matmul(dg[a], rg(vv[b])) for a, b, s in pairs)  # G V_a G V_b G
        c1 = rg(g1, 2) + rg(lg(g1)) + lg(g1, 2)
        c1 = c1 + sum(
            0.5j
            * s
            * (
                rg(np.matmul(dg[a], dg[b]))
                + np.matmul(rg(dg[a]), dg[b])
                + lg(np.matmul(dg[a], dg[b]))
            )
            for a, b, s in pairs
        )
        for j in range(dim):
            for k in range(j, dim):
                x = (gmat, vv[j], g3mat, vv[k])
                dx = (dg, [ww[a][j] for a in range(dim)], dg3, [ww[a][k] for a in range(dim)])
                t = tr(g1, vv[j], g3mat, vv[k]) + tr(gmat, vv[j], c1, vv[k])
                for p in range(4):
                    for r in range(p + 1, 4):
                        for a, b, s in pairs:
                            y = list(x)
                            y[p], y[r] = dx[p][a], dx[r][b]
                            t = t + 0.5j * s * tr(*y)
                # symmetrize in (j, k): the polarizability is real symmetric
                res = 0.5 * np.real(np.sum(t * weight, axis=-1))  # ½ ∮ ... per circle
                if j != k:
                    t2 = tr(g1, vv[k], g3mat, vv[j]) + tr(gmat, vv[k], c1, vv[j])
                    x2 = (gmat, vv[k], g3mat, vv[j])
                    dx2 = (dg, dx[3], dg3, dx[1])
                    for p in range(4):
                        for r in range(p + 1, 4):
                            for a, b, s in pairs:
                                y = list(x2)
                                y[p], y[r] = dx2[p][a], dx2[r][b]
                                t2 = t2 + 0.5j * s * tr(*y)
                    res = 0.5 * (res + 0.5 * np.real(np.sum(t2 * weight, axis=-1)))
                out[i, j, k] = out[i, k, j] = res / set_size
    return out
