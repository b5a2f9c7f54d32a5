"""Plots of qgmag results: observables vs μ, coloured band structures, Brillouin-zone maps.

Pure functions of result objects and models. Figures are built on
:class:`matplotlib.figure.Figure` directly (no pyplot, no global state), so they are safe
under any backend and in threads; every file is written atomically (to a temporary name
in the target folder, then ``os.replace``).

* :func:`plot_observables` — one figure per observable of a ``qgmag.compute`` Dataset:
  the value vs μ (eV), one line per temperature and non-zero tensor component, per-cell
  units where available, ±convergence error shaded when ``<name>_error`` exists. The
  orbital magnetization is drawn with its local (m f0) and itinerant (Berry-curvature)
  terms; the Chern number with dotted guides at the integers.
* :func:`plot_bands` — bands along a :class:`~qgmag.kspace.path.KPath` coloured by a band
  quantity of :func:`qgmag.band_geometry`.
* :func:`plot_bz_map` — a band quantity (one band, or summed over bands with f0(ε - μ, T))
  as a heat map on a plane of the Brillouin zone, with the zone boundary.

The ``*_figure`` functions return the :class:`~matplotlib.figure.Figure` for further
editing; :func:`save_figure` writes it.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from qgmag.errors import QgmagError
from qgmag.geometry.dataset import BAND_QUANTITIES
from qgmag.kspace.path import KPath, high_symmetry_points
from qgmag.models.base import FloatArray, Model
from qgmag.models.continuum import Box, ContinuumModel, Disk
from qgmag.observables import OBSERVABLES

#: file formats the plotting functions write
PLOT_FORMATS = ("png", "pdf", "svg")
#: a component is left out of a plot when its largest |value| is below this fraction of
#: the largest |value| of all components of the same observable (round-off zeros)
ZERO_RELATIVE = 1e-9
#: |value| in μ_B per cell (or per Å^d, per V/nm for kinetic responses) below which an
#: observable counts as zero to round-off (symmetry-forbidden responses come out ~1e-16)
ROUND_OFF_PER_CELL = 1e-12
#: SI unit string -> spatial dimension (for converting the round-off floor)
_SI_DIMENSION = {"ampere": 2, "ampere / meter": 3, "ampere * meter / volt": 2, "ampere / volt": 3}
#: round-off floors of observables without a per-cell form (in their own units)
_ABSOLUTE_FLOORS = {
    "elementary_charge**2 / planck_constant": 1e-12,
    "siemens / centimeter": 1e-9,
    "dimensionless": 1e-12,
}
#: resolution of PNG files
DPI = 150
#: k-points per call of band_geometry in a BZ map (bounds the memory)
_MAP_CHUNK = 20000

_CYCLIC_PAIR = {"x": "yz", "y": "zx", "z": "xy"}
_LINESTYLES = ("-", "--", ":", "-.")
_TERM_STYLES = {"total": "-", "local": "--", "itinerant": ":"}

#: pint unit string -> compact axis label
_UNIT_LABELS = {
    "dimensionless": "",
    "eV": "eV",
    "kelvin": "K",
    "m/s": "m/s",
    "angstrom": "Å",
    "angstrom**2": "Å²",
    "angstrom**3": "Å³",
    "bohr_magneton": r"$\mu_B$",
    "hbar * angstrom / eV": "ħ Å/eV",
    "elementary_charge * angstrom**3 / hbar": "e Å³/ħ",
    "ampere": "A",
    "ampere / meter": "A/m",
    "ampere / volt": "A/V",
    "ampere * meter / volt": "A·m/V",
    "siemens / centimeter": "S/cm",
    "elementary_charge**2 / planck_constant": r"$e^2/h$",
    "bohr_magneton / (volt / nanometer)": r"$\mu_B$ per V/nm",
}
_PER_CELL_LABELS = {
    "bohr_magneton": r"$\mu_B$ / cell",
    "bohr_magneton / (volt / nanometer)": r"$\mu_B$ / cell per V/nm",
}

#: observable -> (symbol with a {c} placeholder for the component, short description)
_OBSERVABLE_SYMBOLS = {
    "spin_magnetization": (r"$M^S_{{{c}}}$", "spin magnetization"),
    "orbital_magnetization": (r"$M^O_{{{c}}}$", "orbital magnetization"),
    "anomalous_hall_conductivity": (r"$\sigma_{{{c}}}$", "anomalous Hall conductivity"),
    "chern_number": ("$C$", "Chern number"),
    "kinetic_spin_extrinsic": (
        r"$\alpha^{{S,\mathrm{{ex}}}}_{{{c}}}$",
        "extrinsic kinetic spin magnetization",
    ),
    "kinetic_spin_intrinsic": (
        r"$\alpha^{{S,\mathrm{{in}}}}_{{{c}}}$",
        "intrinsic kinetic spin magnetization",
    ),
    "kinetic_orbital_extrinsic": (
        r"$\alpha^{{O,\mathrm{{ex}}}}_{{{c}}}$",
        "extrinsic kinetic orbital magnetization",
    ),
    "kinetic_orbital_intrinsic": (
        r"$\alpha^{{O,\mathrm{{in}}}}_{{{c}}}$",
        "intrinsic kinetic orbital magnetization",
    ),
}
#: band quantity -> symbol with a {c} placeholder
_BAND_SYMBOLS = {
    "energy": r"$\varepsilon_n$",
    "band_velocity": r"$v_{{{c}}}$",
    "berry_curvature": r"$\Omega^{{{c}}}$",
    "quantum_metric": r"$g_{{{c}}}$",
    "orbital_moment": r"$m^{{{c}}}$",
    "spin": r"$\langle S_{{{c}}}\rangle/\hbar$",
    "spin_berry_curvature": r"$\Phi^{{{c}}}$",
    "metric_dipole": r"$\partial_{{{c0}}} g_{{{c1}}}$",
    "magnetoelectric_tensor": r"$F^{{{c}}}$",
}


# -- files ---------------------------------------------------------------------------------


def save_figure(
    fig: Figure,
    outfile: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "pdf"),
    *,
    dpi: int = DPI,
) -> list[Path]:
    """Write ``fig`` to ``<outfile>.<fmt>`` for every format; return the paths.

    ``outfile`` is the name without extension (a known extension is dropped). Each file is
    written to a temporary name in the same folder and renamed into place, so a reader
    never sees a half-written plot and a failure leaves no partial file behind. The
    folder is created if needed.
    """
    fmts = list(formats)
    bad = [f for f in fmts if f not in PLOT_FORMATS]
    if bad or not fmts:
        raise QgmagError(f"plot formats must be a non-empty list from {PLOT_FORMATS}; got {fmts}.")
    stem = Path(outfile)
    if stem.suffix.lstrip(".") in PLOT_FORMATS:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in dict.fromkeys(fmts):
        target = stem.with_name(f"{stem.name}.{fmt}")
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        try:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(target)
    return written


# -- labels --------------------------------------------------------------------------------


def unit_label(units: str, per_cell: bool = False) -> str:
    """A compact axis label for a pint unit string ("angstrom**2" -> "Å²")."""
    units = units.strip()
    if per_cell and units in _PER_CELL_LABELS:
        return _PER_CELL_LABELS[units]
    if units in _UNIT_LABELS:
        return _UNIT_LABELS[units] + (" / cell" if per_cell else "")
    try:
        import pint

        text = f"{pint.UnitRegistry().Unit(units):~P}"
    except Exception:  # noqa: BLE001 - any pint failure: show the string as is
        text = units
    return text + (" / cell" if per_cell else "")


def _with_units(symbol: str, units: str) -> str:
    return f"{symbol} ({units})" if units else symbol


def _model_name(ds: xr.Dataset) -> str:
    raw = ds.attrs.get("model")
    if isinstance(raw, str):
        try:
            return str(json.loads(raw).get("name", ""))
        except (json.JSONDecodeError, AttributeError):
            return raw
    return ""


def _component_symbol(name: str, comp: str) -> str:
    template = _OBSERVABLE_SYMBOLS.get(name, (name + r"$_{{{c}}}$", name))[0]
    if name == "anomalous_hall_conductivity" and len(comp) == 1:
        comp = _CYCLIC_PAIR[comp]  # σ^c = σ_ab, (a, b, c) cyclic
    return template.format(c=comp)


def _generic_symbol(name: str, ndim: int) -> str:
    if name == "anomalous_hall_conductivity":
        return r"$\sigma_{ab}$"
    return _component_symbol(name, "ij"[:ndim] if ndim else "")


# -- observables vs μ ----------------------------------------------------------------------


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
    if handles:
        ax.legend(handles=handles, fontsize="small", loc="best", framealpha=0.9)
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
        ax.set_title("\n".join(lines), fontsize="medium")
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


# -- band quantities -----------------------------------------------------------------------


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


def _colour_scale(
    values: np.ndarray, percentile: float, diverging: str
) -> tuple[Normalize, Any, bool, float]:
    """(norm, colormap, clipped, limit) of a colour scale that keeps 0 at the neutral colour.

    Signed data get the ``diverging`` colormap, symmetric about 0. Data of one sign (the
    diagonal quantum metric, a band's orbital moment; values of the other sign below 0.1%
    of the range, invisible on the scale, are ignored) get the half of it on their side
    of 0, so the whole colour range resolves them. When a few spikes (Berry curvature near
    small gaps) exceed twice the ``percentile``-th percentile of |value| the scale is
    clipped there, or at three times the 90th percentile if that is lower (a heavy tail,
    as Ω ~ 1/k² near a Weyl node); ``clipped`` is then True and ``limit`` the clip value.
    """
    from matplotlib import colormaps
    from matplotlib.colors import LinearSegmentedColormap

    cmap = colormaps[diverging]
    finite = values[np.isfinite(values)]
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    if top == 0.0:
        return Normalize(-1.0, 1.0), cmap, False, 0.0
    clip = float(np.percentile(np.abs(finite), percentile))
    clipped = bool(clip > 0 and top > 2.0 * clip)
    if clipped:  # resolve the bulk of the values, not only the tail
        clip = min(clip, 3.0 * float(np.percentile(np.abs(finite), 90.0))) or clip
    limit = clip if clipped else top
    tiny = 1e-3 * limit  # below the resolution of the colour scale
    if finite.min() >= -tiny or finite.max() <= tiny:
        upper = bool(finite.min() >= -tiny)
        half = cmap(np.linspace(0.5, 1.0, 128) if upper else np.linspace(0.0, 0.5, 128))
        one_sided = LinearSegmentedColormap.from_list(f"{diverging}_half", half)
        norm = Normalize(0.0, limit) if upper else Normalize(-limit, 0.0)
        return norm, one_sided, clipped, limit
    return Normalize(-limit, limit), cmap, clipped, limit


def _extend(norm: Normalize, clipped: bool) -> str:
    """Colour-bar extension arrows of a clipped scale."""
    if not clipped:
        return "neither"
    if norm.vmin == 0.0:
        return "max"
    if norm.vmax == 0.0:
        return "min"
    return "both"


def _colourbar_label(symbol: str, units: str, clipped: bool, vmax: float, extra: str = "") -> str:
    label = _with_units(symbol + extra, units)
    if clipped:
        label += f"\ncolour saturates beyond ±{vmax:.3g} (spikes)"
    return label


def bands_figure(
    model: Model,
    kpath: KPath,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float | None = None,
    energy_window: Sequence[float] | None = None,
    percentile: float = 99.0,
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
    if quantity == "energy":
        norm = Normalize(lo, hi)
        cmap, clipped, vmax = "viridis", False, 0.0
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
    ax.set_xticks(kpath.ticks + kpath.offset, _tick_labels(kpath))
    if kpath.xlabel:
        ax.set_xlabel(kpath.xlabel)
    ax.set_ylabel("energy (eV)")
    name = str(bands.attrs.get("model", ""))
    ax.set_title((f"{name}: " if name else "") + f"bands coloured by {symbol}", fontsize="medium")
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=ax, extend=_extend(norm, clipped), pad=0.02)
        cbar.set_label(_colourbar_label(symbol, units, clipped, vmax, averaged))
    return fig


def _tick_labels(kpath: KPath) -> list[str]:
    """Vertex labels; of two vertices closer than 2% of the path only the first is named
    (the second is joined to it as "A|B")."""
    labels = list(kpath.labels)
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

    The colour scale keeps 0 at the neutral colour: diverging and symmetric for signed
    values, one-sided for values of one sign (e.g. g_xx). When a few spikes (Berry
    curvature near small gaps or Weyl nodes) exceed twice the 99th percentile of |value|
    of the shown bands the scale is clipped (the colour bar says so; see
    :func:`_colour_scale`). Values inside degenerate sets are replaced by the set mean
    (per-band values there depend on the basis). Each band's coloured line carries the
    gid ``"band:<n>"``; its colour array holds the segment means of the values.
    """
    fig = bands_figure(model, kpath, quantity, component, mu=mu, energy_window=energy_window)
    return save_figure(fig, outfile, formats)


# -- Brillouin-zone maps -------------------------------------------------------------------


def wigner_seitz_2d(basis: FloatArray) -> FloatArray:
    """Corners (counter-clockwise, closed) of the Wigner–Seitz cell of a 2D lattice (rows)."""
    b = np.asarray(basis, dtype=float)
    pts = np.array(
        [i * b[0] + j * b[1] for i in range(-2, 3) for j in range(-2, 3) if (i, j) != (0, 0)]
    )
    half = 0.5 * np.sum(pts**2, axis=1)
    corners = []
    for p, q in itertools.combinations(range(len(pts)), 2):
        mat = np.array([pts[p], pts[q]])
        if abs(np.linalg.det(mat)) < 1e-12 * np.max(half):
            continue
        k = np.linalg.solve(mat, [half[p], half[q]])
        if np.all(pts @ k <= half * (1 + 1e-9) + 1e-12):
            corners.append(k)
    c = np.array(corners)
    c = c[np.argsort(np.arctan2(c[:, 1], c[:, 0]))]
    keep = np.concatenate(
        [[True], np.linalg.norm(np.diff(c, axis=0), axis=1) > 1e-9 * np.max(np.abs(c))]
    )
    c = c[keep]
    if np.linalg.norm(c[0] - c[-1]) <= 1e-9 * np.max(np.abs(c)):
        c = c[:-1]
    return np.vstack([c, c[:1]])


def _map_plane(
    model: Model, kz: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, tuple[str, str], str]:
    """Plane of the map: origin (d,), in-plane unit vectors u, v (d,), in-plane 2D lattice
    (rows, for the zone outline; None for continuum), axis labels and a plane note."""
    dim = model.dim
    if isinstance(model, ContinuumModel):
        origin = np.zeros(dim)
        note = ""
        if dim == 3:
            origin[2] = kz
            note = f"$k_z$ = {kz:g} 1/Å"
        return origin, np.eye(dim)[0], np.eye(dim)[1], None, ("$k_x$ (1/Å)", "$k_y$ (1/Å)"), note
    recip = np.asarray(model.reciprocal_lattice, dtype=float)
    if dim == 2:
        return np.zeros(2), np.eye(2)[0], np.eye(2)[1], recip, ("$k_x$ (1/Å)", "$k_y$ (1/Å)"), ""
    # 3D: the plane of b1, b2 (normal to a3) through kz·b3, i.e. reduced k3 = kz
    normal = np.cross(recip[0], recip[1])
    normal /= np.linalg.norm(normal)
    u = np.eye(3)[0] - np.dot(np.eye(3)[0], normal) * normal
    if np.linalg.norm(u) < 1e-6:
        u = np.eye(3)[1] - np.dot(np.eye(3)[1], normal) * normal
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    lattice2d = np.array([[np.dot(b, u), np.dot(b, v)] for b in recip[:2]])
    if np.allclose(np.abs(normal), [0, 0, 1], atol=1e-9):
        labels = ("$k_x$ (1/Å)", "$k_y$ (1/Å)")
    else:
        labels = (
            f"k along ({u[0]:.2f}, {u[1]:.2f}, {u[2]:.2f}) (1/Å)",
            f"k along ({v[0]:.2f}, {v[1]:.2f}, {v[2]:.2f}) (1/Å)",
        )
    return kz * recip[2], u, v, lattice2d, labels, f"plane $k_3$ = {kz:g} (reduced)"


def bz_map_figure(
    model: Model,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float = 0.0,
    temperature: float = 0.0,
    kz: float = 0.0,
    n: int = 200,
    band: int | None = None,
    percentile: float = 99.5,
) -> Figure:
    """Heat map of a band quantity on a Brillouin-zone plane (see :func:`plot_bz_map`)."""
    import qgmag
    from qgmag.occupation import occupation_kernel

    _check_quantity(quantity)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise QgmagError(f"n (grid points per direction) must be an integer >= 2; got {n!r}.")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise QgmagError(f"temperature must be >= 0 K; got {temperature}.")
    if band is not None and not (0 <= int(band) < model.n_bands):
        raise QgmagError(
            f"band {band} does not exist: the model has {model.n_bands} bands "
            f"(0 to {model.n_bands - 1}); or leave band unset for the f0-weighted sum."
        )
    origin, u, v, lattice2d, axis_labels, plane_note = _map_plane(model, float(kz))
    if lattice2d is not None:
        outline = wigner_seitz_2d(lattice2d)
        lo_xy, hi_xy = outline.min(axis=0) * 1.06, outline.max(axis=0) * 1.06
    else:
        domain = model.domain  # type: ignore[attr-defined]
        outline = None
        if isinstance(domain, Disk):
            lo_xy, hi_xy = np.full(2, -domain.radius), np.full(2, domain.radius)
        elif isinstance(domain, Box):
            lo_xy, hi_xy = np.asarray(domain.lower[:2]), np.asarray(domain.upper[:2])
        else:  # pragma: no cover
            raise QgmagError(f"unsupported continuum domain {domain!r}.")
    span = hi_xy - lo_xy
    step = float(span.max()) / (n - 1)
    counts = np.maximum(2, np.round(span / step).astype(int) + 1)
    xs = np.linspace(lo_xy[0], hi_xy[0], counts[0])
    ys = np.linspace(lo_xy[1], hi_xy[1], counts[1])
    gx, gy = np.meshgrid(xs, ys)
    k = origin + gx.ravel()[:, None] * u + gy.ravel()[:, None] * v
    names = list(dict.fromkeys(["energy", quantity]))
    result = np.empty(k.shape[0])
    symbol = units = ""
    for start in range(0, k.shape[0], _MAP_CHUNK):
        chunk = qgmag.band_geometry(model, k[start : start + _MAP_CHUNK], names)
        energy = np.asarray(chunk["energy"].values, dtype=float)
        values, symbol, units = _band_values(chunk, quantity, component)
        if band is not None:
            if quantity not in ("energy", "band_velocity"):
                tol = float(chunk.attrs.get("degeneracy_tol_eV", 1e-6))
                values = degenerate_average(energy, values, tol)
            result[start : start + _MAP_CHUNK] = values[:, int(band)]
        else:
            f0 = occupation_kernel(energy.ravel(), np.array([mu]), np.array([temperature]), "f0")
            weights = f0[:, 0, 0].reshape(energy.shape)
            result[start : start + _MAP_CHUNK] = np.sum(weights * values, axis=1)
    grid = result.reshape(gy.shape)
    if isinstance(model, ContinuumModel) and isinstance(model.domain, Disk):
        grid = np.where(np.hypot(gx, gy) <= model.domain.radius, grid, np.nan)
    cmap: Any
    if quantity == "energy" and band is not None:
        finite = grid[np.isfinite(grid)]
        norm, clipped, vmax, cmap = Normalize(finite.min(), finite.max()), False, 0.0, "viridis"
    else:
        norm, cmap, clipped, vmax = _colour_scale(grid, percentile, "RdBu_r")
    aspect = float((ys[-1] - ys[0]) / (xs[-1] - xs[0]))
    fig = Figure(figsize=(6.4, float(np.clip(4.6 * aspect + 1.1, 3.0, 8.0))), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(gx, gy, grid, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    if outline is not None:
        ax.plot(outline[:, 0], outline[:, 1], color="k", linewidth=1.0)
        if model.dim == 2:
            _mark_points(ax, np.asarray(model.reciprocal_lattice))
    elif isinstance(model, ContinuumModel) and isinstance(model.domain, Disk):
        phi = np.linspace(0, 2 * np.pi, 200)
        r = model.domain.radius
        ax.plot(r * np.cos(phi), r * np.sin(phi), color="k", linewidth=1.0)
    ax.set_aspect("equal")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if band is not None:
        what = f"{symbol} of band {int(band)}"
        cbar_symbol = symbol
    else:
        what = rf"$\Sigma_n\, f_0(\varepsilon_n-\mu)$ {symbol}"
        cbar_symbol = rf"$\Sigma_n\, f_0$ {symbol}"
    name = str(model.summary().get("name", ""))
    details = [rf"$\mu$ = {mu:g} eV, T = {temperature:g} K"]
    if band is not None:
        details = []
    if plane_note:
        details.append(plane_note)
    title = (f"{name}: " if name else "") + what
    if details:
        title += "\n" + ", ".join(details)
    ax.set_title(title, fontsize="medium")
    cbar = fig.colorbar(mesh, ax=ax, extend=_extend(norm, clipped))
    cbar.set_label(_colourbar_label(cbar_symbol, units, clipped, vmax))
    _fit_height(fig, ax)
    return fig


def _fit_height(fig: Figure, ax: Any) -> None:
    """Trim the figure height to an equal-aspect axes, so the colour bar matches it."""
    for _ in range(2):
        fig.draw_without_rendering()
        box = ax.get_position(original=True)
        drawn = ax.get_position(original=False)
        spare = (box.height - drawn.height) * fig.get_figheight()
        if spare < 0.05:
            return
        fig.set_figheight(max(fig.get_figheight() - spare, 2.5))


def _mark_points(ax: Any, recip: FloatArray) -> None:
    """Mark and label the high-symmetry points of a 2D lattice (Γ, K, M, K', ...)."""
    for label, k in high_symmetry_points(recip).items():
        ax.plot(*k, marker="o", color="k", markersize=3)
        ax.annotate(label, xy=k, xytext=(4, 4), textcoords="offset points", fontsize="medium")


def plot_bz_map(
    model: Model,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float = 0.0,
    temperature: float = 0.0,
    kz: float = 0.0,
    n: int = 200,
    band: int | None = None,
    outfile: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "pdf"),
) -> list[Path]:
    """Heat map of a band quantity on a plane of the Brillouin zone; returns the files.

    Parameters
    ----------
    model : a qgmag model.
    quantity, component : as in :func:`plot_bands`.
    mu, temperature : eV and K of the occupations f0(ε_n - μ, T) (Fermi–Dirac; a step at
        T = 0) used when ``band`` is None.
    kz : 3D lattice models: the plane of b1, b2 at reduced coordinate k3 = kz (for a
        lattice with a3 ∥ z the plane k_z = kz·|b3|); 3D continuum models: k_z in 1/Å.
    n : grid points along the longer side of the plotted region (same spacing along both).
    band : a band index (from 0, ascending energy; values averaged over degenerate sets),
        or None for the occupation-weighted sum Σ_n f0(ε_n - μ, T) X_n (what integrates
        to the observables: for Ω^z, ∫[dk] of the map is the AHC / Chern number density).
    outfile, formats : file name without extension and the formats written.

    The region shown covers the first Brillouin zone of a 2D lattice (outlined, with the
    standard high-symmetry points marked); for 3D models the outline is the Wigner–Seitz
    cell of b1, b2 in the plane (the zone section for orthogonal b3); continuum models
    show their integration domain. Axes are Cartesian k in 1/Å with equal aspect.
    """
    fig = bz_map_figure(
        model,
        quantity,
        component,
        mu=mu,
        temperature=temperature,
        kz=kz,
        n=n,
        band=band,
    )
    return save_figure(fig, outfile, formats)
