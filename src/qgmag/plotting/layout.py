"""Layout of the figures: legends that cover no data, titles wrapped to the figure width.

:func:`place_legend` puts the legend inside the axes only where it covers none of the
plotted data (matplotlib's ``loc="best"`` is the least bad place, which can still lie on
a curve); otherwise it goes outside, to the right of the axes, where the constrained
layout of the figure makes room for it. :func:`wrap_title` breaks title lines that are
wider than the axes at spaces outside mathtext (``$...$``).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

#: display pixels of clearance required between the legend box and a data point
_CLEARANCE_PX = 2.0
#: sampling step (display pixels) along each data segment
_STEP_PX = 2.0


def data_points_display(ax: Any) -> np.ndarray:
    """(n, 2) display coordinates of the data lines of ``ax`` (lines with a gid), sampled
    every ~2 px along each segment and restricted to the visible axes area."""
    pts: list[np.ndarray] = []
    for line in ax.lines:
        if line.get_gid() is None or not line.get_visible():
            continue
        xy = np.column_stack(
            [np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)]
        )
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if not len(xy):
            continue
        disp = ax.transData.transform(xy)
        pts.append(disp)
        for a, b in zip(disp[:-1], disp[1:], strict=True):
            n = int(min(np.ceil(np.hypot(*(b - a)) / _STEP_PX), 2000))
            if n > 1:
                t = np.linspace(0.0, 1.0, n + 1)[1:-1, None]
                pts.append(a + t * (b - a))
    if not pts:
        return np.zeros((0, 2))
    allp = np.concatenate(pts)
    box = ax.get_window_extent()
    inside = (
        (allp[:, 0] >= box.x0)
        & (allp[:, 0] <= box.x1)
        & (allp[:, 1] >= box.y0)
        & (allp[:, 1] <= box.y1)
    )
    return allp[inside]


def legend_covers_data(ax: Any, legend: Legend, renderer: Any = None) -> bool:
    """Whether any sampled data point of ``ax`` lies within the legend box (+2 px)."""
    box = legend.get_window_extent(renderer).padded(_CLEARANCE_PX)
    pts = data_points_display(ax)
    if not len(pts):
        return False
    return bool(
        np.any(
            (pts[:, 0] >= box.x0)
            & (pts[:, 0] <= box.x1)
            & (pts[:, 1] >= box.y0)
            & (pts[:, 1] <= box.y1)
        )
    )


def root_figure(ax: Any) -> Any:
    """The top-level Figure of ``ax`` (also when ``ax`` lies in a SubFigure)."""
    fig = ax.figure
    while getattr(fig, "figure", fig) is not fig:
        fig = fig.figure
    return fig


def place_legend(ax: Any, handles: list[Line2D], **kwargs: Any) -> Legend:
    """A legend of ``handles`` inside ``ax`` where it covers no data, else right of it.

    The figure is laid out (``draw_without_rendering``) to find where ``loc="best"``
    puts the legend; if that box still covers a data point, the legend is placed outside
    the axes (upper left corner at the axes' upper right), where a constrained layout
    shrinks the axes to make room.
    """
    legend = ax.legend(handles=handles, loc="best", **kwargs)
    fig = root_figure(ax)
    fig.draw_without_rendering()
    if legend_covers_data(ax, legend, fig._get_renderer()):
        legend.remove()
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            **kwargs,
        )
    return legend


def _split_outside_math(line: str) -> list[str]:
    """Words of ``line`` split at spaces that are not inside ``$...$``."""
    words, current, in_math = [], "", False
    for ch in line:
        if ch == "$":
            in_math = not in_math
        if ch == " " and not in_math:
            words.append(current)
            current = ""
        else:
            current += ch
    words.append(current)
    return [w for w in words if w]


def wrap_title(text: str, width_in: float, fontsize_pt: float) -> str:
    """``text`` with each line broken at spaces (not inside ``$...$``) to fit ``width_in``
    inches at ``fontsize_pt``; a character is taken as 0.6 of the font size wide (an upper
    bound for DejaVu Sans text)."""
    chars = max(int(width_in * 72.0 / (0.6 * fontsize_pt)), 20)
    out: list[str] = []
    for line in text.split("\n"):
        words = _split_outside_math(line)
        if not words:
            out.append(line)
            continue
        placeholder = [w.replace(" ", "\0") for w in words]  # keep math words whole
        wrapped = textwrap.wrap(
            " ".join(placeholder), chars, break_long_words=False, break_on_hyphens=False
        )
        out.extend(w.replace("\0", " ") for w in wrapped)
    return "\n".join(out)
