"""Independent check of the orbital τ⁰ E² magnetization of a 2D insulator (magnetic supercells).

For an insulator at T = 0 the E² free energy per cell is F^(2) = (eE_j)(eE_k) P_jk(B) with
the filled-band polarizability P_jk = Σ_{n occ, m unocc} Re V^j_nm V^k_mn/(ε_n-ε_m)³
(Å²/eV; second-order perturbation theory in +eE·r). The E² orbital magnetization is
δM_z = -∂F^(2)/∂B_z (Maxwell relation), so χ̃_zjk = ∂P_jk/∂B_z is all that is needed.

Here P(B) is computed exactly in Peierls magnetic supercells (q primitive cells, flux p/q
Φ0 per cell, :func:`qgmag.validation.peierls.magnetic_supercell`), and the odd part in B
is extrapolated to B -> 0 (Richardson in B² over fluxes 1/q_max, 2/q_max, 4/q_max). At a
nonzero flux the magnetic translations make the filled-band polarizability of the
supercell the same at every supercell momentum, so one momentum per flux suffices (no
formula of :mod:`qgmag.geometry.second_order_orbital` is used). Units: eV, Å, T.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qgmag import constants as c
from qgmag.constants import BOLTZMANN_EV
from qgmag.errors import QgmagError
from qgmag.models.tight_binding import TightBindingModel
from qgmag.occupation import occupation_kernel
from qgmag.validation.peierls import (
    _check_model,
    _field_tesla,
    _kmesh_cartesian,
    magnetic_supercell,
)

__all__ = [
    "band_polarizability",
    "metal_polarizability_response",
    "orbital_polarizability_response",
    "polarizability",
    "response_per_cell",
]


def polarizability(model: TightBindingModel, n_occupied: int, kpoints: np.ndarray) -> np.ndarray:
    """Filled-band polarizability P_jk (2, 2), Å²/eV per cell of ``model``, mean over k (1/Å)."""
    h, dh, _ = model.derivatives(np.atleast_2d(kpoints), 1)
    out = np.zeros((2, 2))
    for i in range(h.shape[0]):
        w, u = np.linalg.eigh(h[i])
        if w[n_occupied] - w[n_occupied - 1] < 1e-3:
            raise QgmagError(
                "no gap at the chosen filling: the supercell check is for insulators "
                "(Chern number zero, μ in a gap)."
            )
        v = [u[:, :n_occupied].conj().T @ dh[a, i] @ u[:, n_occupied:] for a in range(2)]
        inv3 = 1.0 / (w[:n_occupied, None] - w[None, n_occupied:]) ** 3
        for a in range(2):
            for b in range(2):
                out[a, b] += np.real(np.sum(v[a] * np.conj(v[b]) * inv3))
    return out / h.shape[0]


def orbital_polarizability_response(
    model: TightBindingModel,
    n_occupied: int,
    q_max: int = 800,
    steps: Sequence[int] = (1, 2, 4),
) -> tuple[np.ndarray, np.ndarray]:
    """(∂P_jk/∂B_z at B -> 0 (2, 2) in Å²/eV/T per cell, the per-flux slopes (n, 2, 2)).

    ``n_occupied`` filled bands of the primitive model (the supercell fills n_occupied·q).
    Fluxes p/q_max for p in ``steps`` (powers of two) and their negatives; the slope
    s(B) = [P(B) - P(-B)]/(2B) is Richardson-extrapolated in B² to B = 0.
    """
    model = _check_model(model)
    steps = [int(p) for p in steps]
    if q_max < 4 * max(steps) or any(b != 2 * a for a, b in zip(steps, steps[1:], strict=False)):
        raise QgmagError(
            "steps must double (1, 2, 4, ...) and q_max must be at least 4 × the largest step."
        )
    k0 = np.zeros((1, 2)) + 0.1  # any supercell momentum gives the same filled-band sum
    slopes = []
    for p in steps:
        # flux p/q_max = 1/q in the smaller supercell q = q_max/p when p divides q_max
        num, q = (1, q_max // p) if q_max % p == 0 else (p, q_max)
        vals = []
        for sign in (1, -1):
            sc = magnetic_supercell(model, sign * num, q)
            vals.append(polarizability(sc, n_occupied * q, k0) / q)
        slopes.append((vals[0] - vals[1]) / (2 * _field_tesla(model, p, q_max)))
    table = list(slopes)
    for level in range(1, len(table)):
        table = [
            (4**level * table[i] - table[i + 1]) / (4**level - 1) for i in range(len(table) - 1)
        ]
    return table[0], np.array(slopes)


def response_per_cell(d_pol_d_b: np.ndarray) -> np.ndarray:
    """∂P/∂B (Å²/eV/T per cell) -> χ_zjk = -(0.1)² ∂P/∂B / μ_B in μ_B per cell per (V/nm)²."""
    # δm_z = -∂F/∂B = -(eE)² ∂P/∂B (eV/T per cell); eE in eV/Å = 0.1 × E in V/nm
    return -0.01 * np.asarray(d_pol_d_b) / (c.BOHR_MAGNETON / c.EV)


def _fourth_divided_difference(
    x: np.ndarray, y: np.ndarray, mu: float, temperature: float
) -> np.ndarray:
    """f[x, y, y, y] of the Fermi function (1/eV³): direct formula for |x - y| > 0.02 k_BT,
    Taylor series in x - y (f''' ... f^(5) at y) below (error ~ 1e-7 relative)."""
    width = BOLTZMANN_EV * temperature
    mu_a, t_a = np.array([mu]), np.array([temperature])

    def kern(e: np.ndarray, name: str) -> np.ndarray:
        return occupation_kernel(e.ravel(), mu_a, t_a, name).reshape(e.shape)

    d = x - y
    close = np.abs(d) <= 0.02 * width
    safe = np.where(close, 1.0, d)
    direct = kern(x, "f0") - kern(y, "f0") - kern(y, "df0") * d - kern(y, "d2f0") * d**2 / 2
    direct = direct / safe**3
    taylor = kern(y, "d3f0") / 6 + kern(y, "d4f0") * d / 24 + kern(y, "d5f0") * d**2 / 120
    return np.where(close, taylor, direct)


def band_polarizability(
    model: TightBindingModel, kpoints: np.ndarray, mu: float, temperature: float
) -> np.ndarray:
    """P_jk = ½ Σ_nm Re V^j_nm V^k_mn f[ε_n, ε_m, ε_m, ε_m] (2, 2), Å²/eV per cell of
    ``model``, mean over ``kpoints`` (1/Å): ½∮ f(z) Tr[G V^j G³ V^k] dz/2πi with the Fermi
    function at ``temperature`` (K > 0) and ``mu`` (eV); every band pair, so metals too."""
    h, dh, _ = model.derivatives(np.atleast_2d(kpoints), 1)
    out = np.zeros((2, 2))
    for i in range(h.shape[0]):
        w, u = np.linalg.eigh(h[i])
        v = [u.conj().T @ dh[a, i] @ u for a in range(2)]
        dd = _fourth_divided_difference(w[:, None], w[None, :], mu, temperature)
        for a in range(2):
            for b in range(2):
                out[a, b] += 0.5 * np.real(np.sum(v[a] * v[b].T * dd))
    out = 0.5 * (out + out.T)
    return out / h.shape[0]


def metal_polarizability_response(
    model: TightBindingModel,
    mu: float,
    temperature: float,
    q_max: int = 400,
    steps: Sequence[int] = (1, 2, 4),
    n_k: tuple[int, int] = (1, 4),
) -> tuple[np.ndarray, np.ndarray]:
    """(∂P_jk/∂B_z at B -> 0 (2, 2) in Å²/eV/T per cell, the per-flux slopes (n, 2, 2)) of
    :func:`band_polarizability` at (``mu``, ``temperature``) — a metal at finite T — from
    Peierls supercells at fluxes ±p/q_max, averaged over an ``n_k`` mesh of supercell
    momenta, odd part in B, Richardson in B² (as :func:`orbital_polarizability_response`).
    The Moyal expansion in B is asymptotic; k_BT must exceed the cyclotron energy of the
    largest flux for the O(B) slope to be smooth."""
    model = _check_model(model)
    steps = [int(p) for p in steps]
    if q_max < 4 * max(steps) or any(b != 2 * a for a, b in zip(steps, steps[1:], strict=False)):
        raise QgmagError(
            "steps must double (1, 2, 4, ...) and q_max must be at least 4 × the largest step."
        )
    if not temperature > 0:
        raise QgmagError("the metal supercell check needs a temperature > 0 K.")
    slopes = []
    for p in steps:
        num, q = (1, q_max // p) if q_max % p == 0 else (p, q_max)
        vals = []
        for sign in (1, -1):
            sc = magnetic_supercell(model, sign * num, q)
            kp = _kmesh_cartesian(sc.lattice, *n_k).reshape(-1, 2)
            vals.append(band_polarizability(sc, kp, mu, temperature) / q)
        slopes.append((vals[0] - vals[1]) / (2 * _field_tesla(model, p, q_max)))
    table = list(slopes)
    for level in range(1, len(table)):
        table = [
            (4**level * table[i] - table[i + 1]) / (4**level - 1) for i in range(len(table) - 1)
        ]
    return table[0], np.array(slopes)
