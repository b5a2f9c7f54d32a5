"""Shared style of qgmag plots: file formats, atomic file writing, axis and unit labels,
symbols of observables and band quantities, colour scales that keep 0 at the neutral colour."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from qgmag.errors import QgmagError

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


# -- colour scales ------------------------------------------------------------------------


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


#: |value| (in the plotted units: Å², μ_B, ħ·Å/eV, Å³, ...) below which a band quantity on a
#: bands or map plot is zero to round-off: symmetry-forbidden components come out ~1e-15;
#: genuine values of models with lattice constants of Å are many orders larger
BAND_ROUND_OFF = 1e-10


def round_off_zero(values: np.ndarray) -> float | None:
    """The largest |value| if every finite value is zero to round-off, else None."""
    finite = np.asarray(values)[np.isfinite(values)]
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    return top if top < BAND_ROUND_OFF else None


def zero_label(symbol: str, units: str, top: float) -> str:
    """Colour-bar label of a quantity that is zero to round-off everywhere."""
    return _with_units(symbol, units) + f"\nzero to round-off (|value| ≤ {top:.1g})"


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
