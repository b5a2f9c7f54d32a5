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

Modules by figure kind: :mod:`qgmag.plotting.observables` (vs μ), :mod:`qgmag.plotting.bands`,
:mod:`qgmag.plotting.bz_maps`, :mod:`qgmag.plotting.style` (formats, files, labels,
colour scales) and :mod:`qgmag.plotting.layout` (a legend goes inside the axes only where it
covers no plotted data, otherwise to the right of them; long titles are wrapped); every public
name is importable from ``qgmag.plotting``.
"""

from __future__ import annotations

from qgmag.plotting.bands import bands_figure, degenerate_average, plot_bands
from qgmag.plotting.bz_maps import bz_map_figure, plot_bz_map, wigner_seitz_2d
from qgmag.plotting.observables import draw_observable, observable_figure, plot_observables
from qgmag.plotting.style import (
    DPI,
    PLOT_FORMATS,
    ROUND_OFF_PER_CELL,
    ZERO_RELATIVE,
    save_figure,
    unit_label,
)

__all__ = [
    "DPI",
    "PLOT_FORMATS",
    "ROUND_OFF_PER_CELL",
    "ZERO_RELATIVE",
    "bands_figure",
    "bz_map_figure",
    "degenerate_average",
    "draw_observable",
    "observable_figure",
    "plot_bands",
    "plot_bz_map",
    "plot_observables",
    "save_figure",
    "unit_label",
    "wigner_seitz_2d",
]
