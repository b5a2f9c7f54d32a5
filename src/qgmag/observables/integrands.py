"""Per-k, per-band integrands of the observables, in native units (eV, Å).

Each integrand maps a :class:`BandData` chunk to an array (N, n, C) whose sum over bands
and k (with the occupation kernel and k-weights) gives the observable up to a constant
factor. C = 3 for vectors (i = x, y, z) and 3·d for tensors (i, j) flattened i-major.
Fermi-surface products are traces over degenerate sets (SPEC §2), so every integrand is
gauge invariant once summed over a degenerate set.

Integrands marked with :func:`row_bands` work on a band-windowed :class:`BandData`
(only the bands that can be occupied, or lie near the Fermi level, as rows; see
:mod:`qgmag.bands.engine`) and return (N, n_w, C) for the row bands; the driver uses a
window only when every integrand of a run is so marked. An integrand that needs whole
square band matrices (products X Y over every band pair) is left unmarked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry.roundoff import guard_weight
from qgmag.models.base import FloatArray

Fn = Callable[[BandData], FloatArray]


def row_bands(fn: Fn) -> Fn:
    """Mark an integrand as correct on a band-windowed BandData (rows n ⊂ bands)."""
    fn.band_window = True  # type: ignore[attr-defined]
    return fn


def supports_band_window(fn: object) -> bool:
    """Whether an integrand was marked with :func:`row_bands`."""
    return bool(getattr(fn, "band_window", False))


def _vector(v: FloatArray) -> FloatArray:
    """(3, N, n) -> (N, n, 3)."""
    return np.moveaxis(v, 0, -1)


def _tensor(t: FloatArray, dim: int) -> FloatArray:
    """(3, 3, N, n) -> (N, n, 3*dim), j restricted to the model's directions."""
    t = t[:, :dim]
    return np.moveaxis(t, (0, 1), (2, 3)).reshape(t.shape[2], t.shape[3], -1)


@row_bands
def spin_expectation(bands: BandData) -> FloatArray:
    """<S_i/hbar>_n (dimensionless)."""
    return _vector(bands.spin_expectation)


@row_bands
def orbital_moment(bands: BandData) -> FloatArray:
    """m^i_n / (e/hbar) in eV·Å² (Eqs. 3-4, vector form)."""
    return _vector(q.orbital_moment_vector(bands))


@row_bands
def berry_curvature(bands: BandData) -> FloatArray:
    """Ω^i_n in Å² (vector form)."""
    return _vector(q.berry_curvature_vector(bands))


@row_bands
def spin_velocity(bands: BandData) -> FloatArray:
    """Tr_D[(S_i/hbar) ∂_j H] per band, eV·Å (Fermi-surface integrand of Eq. 6)."""
    return _tensor(
        q.degenerate_trace_product(bands.spin_matrix, bands.velocity_matrix, bands), bands.dim
    )


@row_bands
def spin_berry_curvature(bands: BandData, broadening: float = 0.0) -> FloatArray:
    """Φ^{ij}_n in hbar·Å/eV (Eq. 7), pairs split by less than ``broadening`` (eV) switched
    off smoothly (:func:`qgmag.geometry.quantities.spin_berry_curvature`)."""
    x = _tensor(q.spin_berry_curvature(bands, broadening), bands.dim)
    # with a broadening the pairs split by less than it are switched off smoothly
    return guard_weight(
        x,
        bands,
        "kinetic_spin_intrinsic (Phi)",
        1,
        bands.spin_matrix,
        1,
        field_check=broadening <= 0,
    )


@row_bands
def orbital_moment_velocity(bands: BandData) -> FloatArray:
    """Tr_D[m_i ∂_j H]/(e/hbar) per band, eV²·Å³ (Fermi-surface integrand of Eq. 8)."""
    return _tensor(q.orbital_moment_velocity_trace(bands), bands.dim)


def magnetoelectric_analytic(bands: BandData) -> FloatArray:
    """F^{ij}_n/(e/hbar) in Å³, physical sign, metric dipole from ∂²H (Eq. 10); its sum
    over a degenerate set does not depend on the basis inside the set (set velocity
    blocks, :func:`qgmag.geometry.quantities.metric_dipole`)."""
    x = _tensor(q.magnetoelectric_tensor_native(bands), bands.dim)
    return guard_weight(x, bands, "kinetic_orbital_intrinsic (F)", 3)


def magnetoelectric_interband(bands: BandData) -> FloatArray:
    """Interband (first) term of F^{ij}_n/(e/hbar), physical sign, Å³ (gauge covariant
    inside degenerate sets, like the whole F)."""
    x = _tensor(q.MAGNETOELECTRIC_SIGN * q.magnetoelectric_interband_native(bands), bands.dim)
    return guard_weight(x, bands, "kinetic_orbital_intrinsic (F)", 3)


@row_bands
def magnetoelectric_dipole_by_parts(bands: BandData) -> FloatArray:
    """Metric-dipole term of F moved onto the occupation, per band, eV·Å³.

    ∫ -(1/2) ε_ilr ∂_l g^{rj}_n f0 = ∫ (1/2) ε_ilr g^{rj}_n (∂_l ε_n) f0', so this integrand
    (times the physical sign) goes with the ``df0`` kernel. Like every Fermi-surface
    product it is a trace over the degenerate set, Tr_D[g^{rj} V^l]
    (:func:`qgmag.geometry.quantities.metric_velocity_trace`), so it is gauge invariant.
    """
    gv = q.metric_velocity_trace(bands)  # (3[r], 3[j], 3[l], N, n)
    x = 0.5 * np.einsum("ilr,rjlkn->ijkn", q.LEVI_CIVITA, gv, optimize=True)
    return _tensor(q.MAGNETOELECTRIC_SIGN * x, bands.dim)
