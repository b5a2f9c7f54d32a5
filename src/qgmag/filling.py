"""The chemical potential of a given electron count (the Fermi level of a filling).

The electron count per unit cell at chemical potential μ is

    N(μ) = (1/N_k) Σ_k Σ_n f0(ε_n(k) - μ; T)

on a Monkhorst–Pack mesh of N_k points (one electron per band and k: a spinor model holds
both spins in its bands; a spinless model describes one spin species, so give the count
per spin). :func:`mu_from_filling` solves N(μ) = n_electrons:

* T > 0, or T = 0 with a smearing: N(μ) is continuous; bracketed root finding
  (:func:`scipy.optimize.brentq`) to ``tol`` eV.
* T = 0 without smearing: N(μ) is a staircase of the mesh's eigenvalues. With n·N_k an
  integer m, every μ between the m-th and (m+1)-th lowest eigenvalue fits and the midpoint
  is returned (the resolution is the level spacing of the mesh); otherwise μ is the
  eigenvalue of the partly filled state.
* Band insulators (n an integer and band n below band n + 1 at every mesh point): any μ
  in the gap fits at T = 0. The mid-gap value is returned with a :class:`QgmagWarning`
  naming the gap; at T > 0 the thermally excited carriers fix μ, and the root is returned
  when mid-gap misses the count by more than ``electron_tol``.

Energies are computed once (one batched eigvalsh per chunk of k) and kept: memory
8·N_k·n_bands bytes. Energies eV, temperature K.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qgmag.constants import BOLTZMANN_EV
from qgmag.errors import QgmagError, QgmagWarning
from qgmag.kspace.mesh import UniformMesh, chunk_bounds, make_mesh
from qgmag.models.base import FloatArray, Model
from qgmag.occupation import Smearing, occupation_kernel, parse_smearing

#: bytes of Hamiltonian matrices per eigvalsh call
_CHUNK_BYTES = 64 * 2**20


def mesh_energies(
    model: Model, kmesh: Sequence[int], *, shift: bool = False, chunk_size: int | None = None
) -> FloatArray:
    """Band energies (N_k, n_bands) in eV, ascending at each k, on the model's uniform mesh."""
    if getattr(model, "reciprocal_lattice", None) is None:
        raise QgmagError(
            "the electron count needs a lattice model (electrons per unit cell); a continuum "
            "model has no cell and an open-ended band bottom: give mu directly."
        )
    mesh = make_mesh(model, kmesh, shift)
    assert isinstance(mesh, UniformMesh)
    n = model.n_bands
    size = chunk_size or max(1, _CHUNK_BYTES // (16 * n * n))
    out = np.empty((mesh.n_points, n))
    for start, stop in chunk_bounds(mesh.n_points, size):
        k, _ = mesh.chunk(start, stop)
        out[start:stop] = np.linalg.eigvalsh(model.hamiltonian(k))
    return out


def _check(n_electrons: float, n_bands: int, temperature: float) -> tuple[float, float]:
    if isinstance(n_electrons, bool) or not isinstance(n_electrons, int | float | np.number):
        raise QgmagError(f"n_electrons must be a number (electrons per cell); got {n_electrons!r}.")
    n = float(n_electrons)
    if not (math.isfinite(n) and 0.0 < n < n_bands):
        raise QgmagError(
            f"n_electrons = {n_electrons} per cell is not inside the model's bands: it must lie "
            f"strictly between 0 and {n_bands} (one electron per band; electrons in bands "
            "excluded from the Wannier model, e.g. semicore states, do not count)."
        )
    t = float(temperature)
    if not (math.isfinite(t) and t >= 0.0):
        raise QgmagError(f"temperature must be >= 0 K; got {temperature}.")
    return n, t


def _count(
    energies: FloatArray, mu: FloatArray, temperature: float, smearing: Smearing | None
) -> FloatArray:
    """N(μ) per cell for each μ (one electron per band and k)."""
    flat = energies.ravel()
    occ = occupation_kernel(flat, np.atleast_1d(mu), np.array([temperature]), "f0", smearing)
    return occ[:, :, 0].sum(axis=0) / energies.shape[0]


def electron_count(
    model: Model,
    mu: float | Sequence[float],
    temperature: float = 0.0,
    kmesh: Sequence[int] | None = None,
    *,
    shift: bool = False,
    smearing: object = None,
) -> FloatArray:
    """Electrons per unit cell N(μ) in the model's bands, for each μ (eV) at T (K)."""
    if kmesh is None:
        raise QgmagError("kmesh is required: (n1, n2[, n3]) points per reciprocal vector.")
    energies = mesh_energies(model, kmesh, shift=shift)
    mu_arr = np.atleast_1d(np.asarray(mu, dtype=float))
    return _count(energies, mu_arr, float(temperature), parse_smearing(smearing))


def mu_from_filling(
    model: Model,
    n_electrons: float,
    temperature: float = 0.0,
    kmesh: Sequence[int] | None = None,
    *,
    shift: bool = False,
    smearing: object = None,
    tol: float = 1e-6,
    electron_tol: float = 1e-6,
    energies: FloatArray | None = None,
) -> float:
    """Chemical potential μ (eV) at which the model holds ``n_electrons`` per unit cell.

    Parameters
    ----------
    model : a lattice model (tight-binding or Wannier90).
    n_electrons : electrons per cell in the model's bands (one per band; for a Wannier
        model: the DFT count minus the electrons of the excluded bands).
    temperature : K (Fermi–Dirac); at 0 K ``smearing`` as in :func:`qgmag.compute`.
    kmesh, shift : the Monkhorst–Pack mesh (use the one of the observables).
    tol : eV, bracketing tolerance of the root.
    electron_tol : electrons per cell; in a gap at T > 0, mid-gap is kept when its count is
        within this of ``n_electrons``.
    energies : optional precomputed (N_k, n_bands) mesh energies (:func:`mesh_energies`).

    See the module docstring for the T = 0 staircase and the gap rules.
    """
    n, temp = _check(n_electrons, model.n_bands, temperature)
    if not (math.isfinite(tol) and tol > 0):
        raise QgmagError(f"tol must be a positive number of eV; got {tol}.")
    smear = parse_smearing(smearing)
    if energies is None:
        if kmesh is None:
            raise QgmagError("kmesh is required: (n1, n2[, n3]) points per reciprocal vector.")
        energies = mesh_energies(model, kmesh, shift=shift)
    e = np.asarray(energies, dtype=float)
    smooth = temp > 0 or smear is not None
    n_int = round(n)
    if abs(n - n_int) < 1e-9 and 0 < n_int < e.shape[1]:
        vbm, cbm = float(e[:, n_int - 1].max()), float(e[:, n_int].min())
        if cbm > vbm:
            mid = 0.5 * (vbm + cbm)
            if not smooth or abs(float(_count(e, np.array([mid]), temp, smear)[0]) - n) <= (
                electron_tol
            ):
                warnings.warn(
                    f"μ lies in a band gap: {n_int} electrons per cell fill the bands below "
                    f"[{vbm:.6g}, {cbm:.6g}] eV (gap {cbm - vbm:.4g} eV) and any μ in it fits; "
                    f"returning mid-gap {mid:.6g} eV.",
                    QgmagWarning,
                    stacklevel=2,
                )
                return mid
    if not smooth:
        flat = np.sort(e.ravel())
        m = n * e.shape[0]
        m_int = round(m)
        if abs(m - m_int) < 1e-9 * max(m, 1.0):
            return float(0.5 * (flat[m_int - 1] + flat[m_int]))
        return float(flat[int(math.floor(m))])
    width = BOLTZMANN_EV * temp if temp > 0 else smear.width  # type: ignore[union-attr]
    lo, hi = float(e.min()) - 60.0 * width, float(e.max()) + 60.0 * width

    def excess(mu: float) -> float:
        return float(_count(e, np.array([mu]), temp, smear)[0]) - n

    f_lo, f_hi = excess(lo), excess(hi)
    if not (f_lo < 0 < f_hi):  # pragma: no cover - n is inside (0, n_bands)
        raise QgmagError(f"could not bracket μ for {n} electrons in [{lo:.4g}, {hi:.4g}] eV.")
    from scipy.optimize import brentq  # here, not at import: scipy.optimize is ~28 MiB

    return float(brentq(excess, lo, hi, xtol=tol, rtol=4 * np.finfo(float).eps))


def run_fermi_level(
    model: Model, compute_cfg: Any, log: Callable[[str], None] | None = None
) -> tuple[list[float], dict[str, Any]]:
    """The μ grid of ``qgmag run``: ``[compute] mu``, or the Fermi level of ``electrons``.

    Returns (mu list, attributes for the results: electrons, fermi_level_eV and the
    temperature it was solved at, the lowest of the run).
    """
    if compute_cfg.electrons is None:
        return list(compute_cfg.mu), {}
    temperature = min(compute_cfg.temperature)
    fermi = mu_from_filling(
        model,
        compute_cfg.electrons,
        temperature,
        compute_cfg.kmesh,
        shift=compute_cfg.shift,
        smearing=compute_cfg.smearing,
    )
    if log is not None:
        log(f"Fermi level for {compute_cfg.electrons:g} electrons per cell: {fermi:.6f} eV")
    return [fermi], {
        "electrons": float(compute_cfg.electrons),
        "fermi_level_eV": fermi,
        "fermi_level_temperature_K": float(temperature),
    }
