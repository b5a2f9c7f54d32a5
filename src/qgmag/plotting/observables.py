"""Observables of a ``qgmag.compute`` Dataset vs μ: one figure per observable."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from qgmag.errors import QgmagError
from qgmag.observables import OBSERVABLES
from qgmag.plotting.layout import place_legend, root_figure, wrap_title
from qgmag.plotting.style import (
    _ABSOLUTE_FLOORS,
    _LINESTYLES,
    _OBSERVABLE_SYMBOLS,
    _SI_DIMENSION,
    _TERM_STYLES,
    ROUND_OFF_PER_CELL,
    ZERO_RELATIVE,
    _component_symbol,
    _generic_symbol,
    _model_name,
    _with_units,
    save_figure,
    unit_label,
)


def _observable_names(ds: xr.Dataset) -> list[str]:
    return [name for name in OBSERVABLES if name in ds.data_vars]


def _pick(ds: xr.Dataset, name: str, per_cell: bool | None) -> tuple[xr.DataArray, bool]:
    cell = f"{name}_per_cell"
    if per_cell is None:
        per_cell = cell in ds.data_vars
    if per_cell and cell not in ds.data_vars:
        raise QgmagError(f"the results have no {cell} (continuum models have no unit cell).")
    return ds[cell if per_cell else name], per_cell


def _ordered(var: xr.DataArray) -> tuple[xr.DataArray, list[str]]:
    """(mu, temperature, components...) with the component dims listed."""
    for d in ("mu", "temperature"):
        if d not in var.dims:
            raise QgmagError(
                f"{var.name} has dims {var.dims}: observables need 'mu' and 'temperature' "
                "(a Dataset from qgmag.compute)."
            )
    comp_dims = [d for d in var.dims if d not in ("mu", "temperature")]
    return var.transpose("mu", "temperature", *comp_dims), comp_dims


def _components(var: xr.DataArray, comp_dims: list[str]) -> list[tuple[str, dict[str, str]]]:
    if not comp_dims:
        return [("", {})]
    values = [[str(v) for v in var.coords[d].values] for d in comp_dims]
    return [
        ("".join(combo), dict(zip(comp_dims, combo, strict=True)))
        for combo in itertools.product(*values)
    ]


def _round_off_floor(name: str, units: str, per_cell: bool) -> float:
    """|value| below which an observable is zero to round-off, in the units of ``units``.

    Per-cell values (μ_B / cell, μ_B / cell per V/nm): :data:`ROUND_OFF_PER_CELL`. SI
    values are converted with a reference cell of 1 Å^d, so that the floor is the same
    number of μ_B per Å^d; AHC and Chern number have absolute floors.
    """
    if per_cell:
        return ROUND_OFF_PER_CELL
    obs = OBSERVABLES.get(name)
    dim = _SI_DIMENSION.get(units.strip())
    if obs is not None and obs.per_cell is not None and dim is not None:
        factor = obs.per_cell[0](1e-10**dim)  # SI -> μ_B per Å^d (per V/nm)
        return ROUND_OFF_PER_CELL / factor
    return _ABSOLUTE_FLOORS.get(units.strip(), 0.0)


def _nonzero_components(
    var: xr.DataArray, comps: list[tuple[str, dict[str, str]]], floor: float
) -> tuple[list[tuple[str, dict[str, str]]], list[str], bool]:
    """Components to draw, those left out as zero, and whether everything is zero."""
    amp = [float(np.nanmax(np.abs(var.sel(sel).values))) for _, sel in comps]
    top = max(amp) if amp else 0.0
    cut = max(ZERO_RELATIVE * top, floor)
    if top <= cut:  # everything is zero (to round-off): one line at the largest component
        return [comps[int(np.argmax(amp))]], [], True
    keep = [c for c, a in zip(comps, amp, strict=True) if a > cut]
    dropped = [c[0] for c, a in zip(comps, amp, strict=True) if a <= cut]
    return keep, dropped, False


def _subtitle(ds: xr.Dataset, name: str) -> str:
    notes = []
    if name.endswith("_extrinsic") and "tau_fs" in ds.attrs:
        notes.append(f"τ = {float(ds.attrs['tau_fs']):g} fs")
    smear = ds.attrs.get("smearing")
    if isinstance(smear, str) and smear not in ("null", "None"):
        try:
            info = json.loads(smear)
        except json.JSONDecodeError:
            info = None
        if info and 0.0 in np.asarray(ds["temperature"].values):
            notes.append(f"T = 0: {info.get('kind')} smearing {info.get('width_eV'):g} eV")
    mesh = ds.attrs.get("kmesh")
    if mesh is not None:
        notes.append("mesh " + "×".join(str(int(x)) for x in np.atleast_1d(mesh)))
    return ", ".join(notes)


def _power_of_ten(values: list[np.ndarray], per_cell: bool) -> int:
    """Exponent p such that values / 10^p are of order 1 (0 when already readable)."""
    finite = np.concatenate([np.abs(v[np.isfinite(v)]).ravel() for v in values])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0.0:
        return 0
    p = int(np.floor(np.log10(top)))
    return 0 if -3 <= p <= 3 else p


def draw_observable(
    ax: Any, ds: xr.Dataset, name: str, *, per_cell: bool | None = None, title: bool = True
) -> dict[str, Any]:
    """Draw observable ``name`` of a ``qgmag.compute`` Dataset vs μ on ``ax``.

    One line per temperature and non-zero component. Components whose largest |value| is
    below :data:`ZERO_RELATIVE` of the largest component, or below the round-off floor
    (:data:`ROUND_OFF_PER_CELL` μ_B per cell, or per Å^d for SI values), are left out and
    named in the title. Colours distinguish components (or temperatures when there is one
    component), line styles temperatures. For ``orbital_magnetization`` the local and
    itinerant terms are drawn dashed and dotted in the colour of their total; lines of
    later temperatures are thinner so that coinciding curves stay visible. Very large or
    small SI values are scaled by a power of ten shown in the axis label. Every data line
    carries the gid ``"<variable>:<component>:<T>K"`` (e.g.
    ``"orbital_magnetization_local_per_cell:z:0K"``; component "-" for scalars), so the
    plotted values can be read back. Returns ``{"components", "omitted", "all_zero",
    "per_cell", "scale"}``; ``scale`` is the exponent p of the axis factor 10^p (the
    plotted numbers are value / 10^p).
    """
    if name not in ds.data_vars:
        raise QgmagError(f"{name!r} is not in the results; they hold {sorted(ds.data_vars)}.")
    var, per_cell = _pick(ds, name, per_cell)
    var, comp_dims = _ordered(var)
    raw_units = str(var.attrs.get("units", ""))
    floor = _round_off_floor(name, raw_units, per_cell)
    comps, omitted, all_zero = _nonzero_components(var, _components(var, comp_dims), floor)
    mu = np.asarray(var["mu"].values, dtype=float)
    temps = np.asarray(var["temperature"].values, dtype=float)
    suffix = "_per_cell" if per_cell else ""
    terms = {"total": var}
    var_names = {"total": str(var.name)}
    if name == "orbital_magnetization":
        for part in ("local", "itinerant"):
            key = f"{name}_{part}{suffix}"
            if key in ds.data_vars:
                terms[part] = _ordered(ds[key])[0]
                var_names[part] = key
    error = None
    if f"{name}_error" in ds.data_vars:
        error = _ordered(ds[f"{name}_error"])[0]
        if per_cell:  # the error is stored in SI units: same factor as the value
            si = np.asarray(ds[name].values, dtype=float)
            pc = np.asarray(ds[f"{name}_per_cell"].values, dtype=float)
            norm = float(np.sum(si * si))
            error = error * (float(np.sum(pc * si)) / norm if norm > 0 else 0.0)
    integer_valued = name == "chern_number"
    exponent = (
        0
        if (all_zero or integer_valued)
        else _power_of_ten(
            [
                np.asarray(t.sel(sel).values, dtype=float)
                for t in terms.values()
                for _, sel in comps
            ],
            per_cell,
        )
    )
    scale = 10.0**-exponent
    many_comps = len(comps) > 1
    many_temps = len(temps) > 1
    many_terms = len(terms) > 1
    colour_by_combo = many_comps and many_terms and many_temps
    handles: list[Line2D] = []
    for c_index, t_index in itertools.product(range(len(comps)), range(len(temps))):
        comp, sel = comps[c_index]
        temp = temps[t_index]
        if colour_by_combo:
            colour, tstyle = f"C{(c_index * len(temps) + t_index) % 10}", "-"
        elif many_comps:
            colour, tstyle = f"C{c_index % 10}", _LINESTYLES[t_index % len(_LINESTYLES)]
        else:
            colour, tstyle = f"C{t_index % 10}", "-"
        # lines of later temperatures are drawn thinner, on top: where the curves coincide
        # (a temperature too low to matter) every one stays visible
        width = 1.0 - 0.4 * t_index / max(len(temps) - 1, 1) if tstyle == "-" else 1.0
        for part, source in terms.items():
            y = scale * np.asarray(source.isel(temperature=t_index).sel(sel).values, dtype=float)
            kwargs: dict[str, Any] = {
                "color": colour,
                "linestyle": _TERM_STYLES[part] if many_terms else tstyle,
                "linewidth": width * (2.2 if part == "total" else 1.5),
                "gid": f"{var_names[part]}:{comp or '-'}:{temp:g}K",
            }
            if mu.size == 1 or (mu.size <= 15 and part == "total"):
                kwargs.update(marker="o", markersize=3.5)
            ax.plot(mu, y, **kwargs)
            if part == "total" and error is not None:
                err = scale * np.asarray(
                    error.isel(temperature=t_index).sel(sel).values, dtype=float
                )
                ax.fill_between(mu, y - err, y + err, color=colour, alpha=0.25, linewidth=0)
        if colour_by_combo:
            label = f"{_component_symbol(name, comp)}, {temp:g} K"
            handles.append(Line2D([], [], color=colour, linewidth=2, label=label))
        elif many_comps and t_index == 0:
            label = _component_symbol(name, comp)
            handles.append(Line2D([], [], color=colour, linewidth=2, label=label))
    if many_temps and not colour_by_combo:
        for t_index, temp in enumerate(temps):
            style = "-" if many_terms or not many_comps else _LINESTYLES[t_index % 4]
            colour = "0.3" if many_comps else f"C{t_index % 10}"
            handles.append(
                Line2D([], [], color=colour, linestyle=style, linewidth=2, label=f"{temp:g} K")
            )
    if many_terms:
        labels = {
            "total": "total",
            "local": r"local, $m_n f_0$",
            "itinerant": r"itinerant, $\Omega_n$ term",
        }
        handles.extend(
            Line2D([], [], color="0.3", linestyle=_TERM_STYLES[p], label=labels[p]) for p in terms
        )
    units = unit_label(raw_units, per_cell)
    if exponent:
        units = f"$10^{{{exponent}}}$ {units}".strip()
    if len(comps) == 1 and comps[0][0] and not all_zero:
        symbol = _component_symbol(name, comps[0][0])
    else:
        symbol = _generic_symbol(name, len(comp_dims))
    ax.set_xlabel(r"$\mu$ (eV)")
    ax.set_ylabel(_with_units(symbol, units))
    ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)
    if integer_valued:  # dotted guides at the integers (the values in a gap at T = 0)
        lo, hi = ax.get_ylim()
        if hi - lo >= 2.5:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for c in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
            ax.axhline(c, color="0.45", linewidth=0.6, linestyle=":", zorder=0)
    if all_zero:
        ax.set_ylim(-1.0, 1.0)
        ax.text(
            0.5,
            0.6,
            f"all components zero to round-off\n(|value| ≤ {max(floor, 0.0):.1g} "
            f"{unit_label(raw_units, per_cell)})",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="0.3",
        )
    if mu.size > 1:
        ax.set_xlim(mu.min(), mu.max())
    ax.grid(alpha=0.25)
    if title:
        desc = _OBSERVABLE_SYMBOLS.get(name, ("", name.replace("_", " ")))[1]
        model = _model_name(ds)
        lines = [f"{model}: {desc}" if model else desc]
        sub = _subtitle(ds, name)
        if len(temps) == 1:
            sub = f"T = {temps[0]:g} K" + (", " + sub if sub else "")
        if sub:
            lines.append(sub)
        if omitted:
            lines.append("zero, not shown: " + ", ".join(omitted))
        width_in = ax.get_window_extent().width / root_figure(ax).dpi
        points = FontProperties(size="medium").get_size_in_points()
        ax.set_title(wrap_title("\n".join(lines), width_in, points), fontsize="medium")
    if handles:  # after the title: the layout it changes decides where the legend fits
        place_legend(ax, handles, fontsize="small", framealpha=0.9)
    return {
        "components": [c for c, _ in comps],
        "omitted": omitted,
        "all_zero": all_zero,
        "per_cell": per_cell,
        "scale": exponent,
    }


def observable_figure(ds: xr.Dataset, name: str, *, per_cell: bool | None = None) -> Figure:
    """A figure of one observable vs μ (see :func:`draw_observable`)."""
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    draw_observable(fig.add_subplot(), ds, name, per_cell=per_cell)
    return fig


def plot_observables(
    ds: xr.Dataset, outdir: str | os.PathLike[str], formats: Iterable[str] = ("png", "pdf")
) -> list[Path]:
    """One figure per observable of a ``qgmag.compute`` Dataset; returns the files written.

    Files are ``<outdir>/<name>.<fmt>`` for every observable present (``<name>_per_cell``,
    ``<name>_error`` and the orbital-magnetization terms are drawn inside the figure of
    their observable). Per-cell units (μ_B / cell, μ_B / cell per V/nm) are used where the
    Dataset has them; SI otherwise.
    """
    fmts = list(formats)
    out = Path(outdir)
    written: list[Path] = []
    for name in _observable_names(ds):
        fig = observable_figure(ds, name)
        written.extend(save_figure(fig, out / name, fmts))
    return written
