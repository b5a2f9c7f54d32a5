"""Band structures along a k-path coloured by a band quantity."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from qgmag.errors import QgmagError
from qgmag.geometry.dataset import BAND_QUANTITIES
from qgmag.kspace.path import KPath
from qgmag.models.base import Model
from qgmag.plotting.style import (
    _BAND_SYMBOLS,
    _colour_scale,
    _colourbar_label,
    _extend,
    round_off_zero,
    save_figure,
    unit_label,
    zero_label,
)


def _band_values(bands: xr.Dataset, quantity: str, component: str) -> tuple[np.ndarray, str, str]:
    """(N, n_bands) values of one component, its symbol and unit label."""
    var = bands[quantity]
    comp_dims = [d for d in var.dims if d not in ("k", "band")]
    symbol_tpl = _BAND_SYMBOLS.get(quantity, quantity + "$_{{{c}}}$")
    if not comp_dims:
        return (
            np.asarray(var.values, float),
            symbol_tpl.format(c="", c0="", c1=""),
            unit_label(var.attrs.get("units", "")),
        )
    comp = str(component).strip().lower()
    if len(comp) != len(comp_dims):
        example = "".join(str(var.coords[d].values[-1]) for d in comp_dims)
        raise QgmagError(
            f"{quantity} has {len(comp_dims)} Cartesian index(es) ({', '.join(comp_dims)}): give "
            f"the component as {len(comp_dims)} letter(s), e.g. {example!r}; got {component!r}."
        )
    sel = {}
    for d, c in zip(comp_dims, comp, strict=True):
        allowed = [str(v) for v in var.coords[d].values]
        if c not in allowed:
            raise QgmagError(
                f"component {component!r} of {quantity}: index {d!r} runs over {allowed} for "
                f"this model (a 2D model has in-plane k and field directions x, y only)."
            )
        sel[d] = c
    values = np.asarray(var.sel(sel).values, dtype=float)
    symbol = symbol_tpl.format(c=comp, c0=comp[:1], c1=comp[1:])
    return values, symbol, unit_label(var.attrs.get("units", ""))


def _check_quantity(quantity: str) -> None:
    plottable = [q for q in BAND_QUANTITIES if q in _BAND_SYMBOLS]
    if quantity not in plottable:
        raise QgmagError(f"cannot colour by {quantity!r}; choose a band quantity from {plottable}.")


def degenerate_average(energy: np.ndarray, values: np.ndarray, tol: float) -> np.ndarray:
    """Replace per-band values by their mean over each degenerate set (|Δε| < tol, eV).

    Inside a degenerate set (Kramers pairs, crossings) per-band values depend on the basis
    chosen in the set; the set mean does not. energy (N, n) ascending, values (N, n).
    """
    n_k, n_b = energy.shape
    if n_b < 2:
        return values
    starts = np.diff(energy, axis=1) > tol
    ids = np.concatenate([np.zeros((n_k, 1), int), np.cumsum(starts, axis=1)], axis=1)
    flat = (ids + np.arange(n_k)[:, None] * n_b).ravel()
    sums = np.bincount(flat, weights=values.ravel(), minlength=n_k * n_b)
    counts = np.bincount(flat, minlength=n_k * n_b)
    return (sums / np.maximum(counts, 1))[flat].reshape(values.shape)


def bands_figure(
    model: Model,
    kpath: KPath,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float | None = None,
    energy_window: Sequence[float] | None = None,
    percentile: float = 99.0,
    symmetry: Any = None,
) -> Figure:
    """Band energies along ``kpath`` coloured by a band quantity (see :func:`plot_bands`)."""
    import qgmag

    _check_quantity(quantity)
    names = list(dict.fromkeys(["energy", quantity]))
    bands = qgmag.band_geometry(model, kpath.kpoints, names)
    energy = np.asarray(bands["energy"].values, dtype=float)
    values, symbol, units = _band_values(bands, quantity, component)
    tol = float(bands.attrs.get("degeneracy_tol_eV", 1e-6))
    averaged = ""
    if quantity not in ("energy", "band_velocity"):
        smoothed = degenerate_average(energy, values, tol)
        if not np.array_equal(smoothed, values):
            averaged = ", mean over degenerate bands"
        values = smoothed
    x = np.asarray(kpath.axis, dtype=float)
    if energy_window is not None:
        lo, hi = (float(v) for v in energy_window)
        if not lo < hi:
            raise QgmagError(
                f"energy_window must be (e_min, e_max) with e_min < e_max; got {energy_window}."
            )
    else:
        pad = 0.04 * max(float(np.ptp(energy)), 1e-3)
        lo, hi = float(energy.min()) - pad, float(energy.max()) + pad
    visible = (energy >= lo) & (energy <= hi)
    cmap: Any
    zero = None if quantity == "energy" else round_off_zero(values)
    if quantity == "energy":
        norm = Normalize(lo, hi)
        cmap, clipped, vmax = "viridis", False, 0.0
    elif zero is not None:  # symmetry zero: the neutral colour, not noise at full scale
        values = np.zeros_like(values)
        norm, cmap, clipped, vmax = Normalize(-1.0, 1.0), "coolwarm", False, 0.0
    else:
        norm, cmap, clipped, vmax = _colour_scale(
            values[visible] if visible.any() else values, percentile, "coolwarm"
        )
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = fig.add_subplot()
    mappable = None
    for n in range(energy.shape[1]):
        e = energy[:, n]
        if e.max() < lo or e.min() > hi:
            continue
        points = np.column_stack([x, e])
        segments = np.stack([points[:-1], points[1:]], axis=1)
        # a dark rim under the coloured band keeps pale (near-zero) stretches visible
        ax.plot(x, e, color="0.3", linewidth=3.3, solid_capstyle="round", zorder=1)
        lc = LineCollection(segments, cmap=cmap, norm=norm, linewidths=2.3, zorder=2)
        lc.set_array(0.5 * (values[:-1, n] + values[1:, n]))
        lc.set_capstyle("round")
        lc.set_gid(f"band:{n}")
        ax.add_collection(lc)
        mappable = lc
    for t in kpath.ticks[1:-1] + kpath.offset:
        ax.axvline(t, color="0.55", linewidth=0.7, zorder=0)
    if mu is not None:
        ax.axhline(float(mu), color="0.2", linestyle="--", linewidth=1.0, zorder=3)
        ax.annotate(
            rf"$\mu$ = {float(mu):g} eV",
            xy=(1.0, float(mu)),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize="small",
            color="0.2",
        )
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(lo, hi)
    ax.set_xticks(kpath.ticks + kpath.offset, _tick_labels(kpath, symmetry, model))
    if kpath.xlabel:
        ax.set_xlabel(kpath.xlabel)
    ax.set_ylabel("energy (eV)")
    name = str(bands.attrs.get("model", ""))
    ax.set_title((f"{name}: " if name else "") + f"bands coloured by {symbol}", fontsize="medium")
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=ax, extend=_extend(norm, clipped), pad=0.02)
        if zero is not None:
            cbar.set_label(zero_label(symbol + averaged, units, zero))
        else:
            cbar.set_label(_colourbar_label(symbol, units, clipped, vmax, averaged))
    return fig


def _tick_labels(kpath: KPath, symmetry: Any = None, model: Any = None) -> list[str]:
    """Vertex labels; of two vertices closer than 2% of the path only the first is named
    (the second is joined to it as "A|B"). With a magnetic group ``symmetry``, a vertex
    equivalent to an earlier one of another name is labelled "B≡A"."""
    labels = list(kpath.labels)
    if symmetry is not None and model is not None:
        from qgmag.symmetry.kpoints import equivalent_labels

        vertices = np.asarray(kpath.kpoints)[list(kpath.vertex_index)]
        labels = equivalent_labels(labels, vertices, symmetry, model.reciprocal_lattice)
    ticks = np.asarray(kpath.ticks)
    span = float(ticks[-1] - ticks[0]) or 1.0
    for i in range(1, len(labels)):
        if ticks[i] - ticks[i - 1] < 0.02 * span and labels[i - 1]:
            labels[i - 1] = f"{labels[i - 1]}|{labels[i]}"
            labels[i] = ""
    return labels


def plot_bands(
    model: Model,
    kpath: KPath,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float | None = None,
    energy_window: Sequence[float] | None = None,
    outfile: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "pdf"),
    symmetry: Any = None,
) -> list[Path]:
    """Band structure along a k-path coloured by a band quantity; returns the files written.

    Parameters
    ----------
    model : a qgmag model.
    kpath : from :func:`qgmag.kspace.path.make_path`.
    quantity : a band quantity of :func:`qgmag.band_geometry` (energy, band_velocity,
        berry_curvature, quantum_metric, orbital_moment, spin, spin_berry_curvature,
        metric_dipole, magnetoelectric_tensor).
    component : one letter x/y/z per Cartesian index of the quantity: "z" for Ω^z,
        "xy" for g_xy or Φ^{xy}, "xxy" for ∂_x g_xy; ignored for energy.
    mu : eV; drawn as a dashed line.
    energy_window : (e_min, e_max) in eV shown; default: all bands.
    outfile : file name without extension; ``formats`` the extensions written.
    symmetry : a :class:`qgmag.symmetry.MagneticGroup` (or "auto": the model's): path
        vertices related by it are labelled "K'≡K".

    The colour scale keeps 0 at the neutral colour: diverging and symmetric for signed
    values, one-sided for values of one sign (e.g. g_xx). When a few spikes (Berry
    curvature near small gaps or Weyl nodes) exceed twice the 99th percentile of |value|
    of the shown bands the scale is clipped (the colour bar says so; see
    :func:`_colour_scale`). Values inside degenerate sets are replaced by the set mean
    (per-band values there depend on the basis). Each band's coloured line carries the
    gid ``"band:<n>"``; its colour array holds the segment means of the values.
    """
    if isinstance(symmetry, str) and symmetry == "auto":
        from qgmag.symmetry.detect import model_group

        symmetry = model_group(model)[0]
    fig = bands_figure(
        model, kpath, quantity, component, mu=mu, energy_window=energy_window, symmetry=symmetry
    )
    return save_figure(fig, outfile, formats)
