"""Layout of the observable-vs-μ figures: no text overlaps other text, the legend covers no
data, everything lies inside the figure (issue 14, item 12: Fe M^O and PT-AFM plots).

The checks use the window extents matplotlib reports after drawing, and the plotted data
lines sampled in display coordinates here (independently of qgmag.plotting.layout).
"""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import qgmag
from qgmag.plotting import observable_figure
from qgmag.plotting.layout import wrap_title


def _texts(fig):
    """(name, bbox) of the legend, title, axis labels and visible tick labels."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    items = []
    if ax.get_legend() is not None:
        items.append(("legend", ax.get_legend().get_window_extent(renderer)))
    for name, artist in (
        ("title", ax.title),
        ("xlabel", ax.xaxis.label),
        ("ylabel", ax.yaxis.label),
        ("offset", ax.yaxis.get_offset_text()),
    ):
        if artist.get_visible() and artist.get_text():
            items.append((name, artist.get_window_extent(renderer)))
    lo_x, hi_x = ax.get_xlim()
    lo_y, hi_y = ax.get_ylim()
    for axis, (lo, hi) in (("x", (lo_x, hi_x)), ("y", (lo_y, hi_y))):
        getter = ax.get_xticklabels if axis == "x" else ax.get_yticklabels
        ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
        span = hi - lo
        for tick, label in zip(ticks, getter(), strict=False):
            inside = lo - 1e-9 * span <= tick <= hi + 1e-9 * span
            if label.get_visible() and label.get_text() and inside:
                items.append((f"{axis}tick {label.get_text()}", label.get_window_extent(renderer)))
    return items, renderer


def _data_points(ax, per_segment=200):
    pts = []
    for line in ax.lines:
        if line.get_gid() is None:
            continue
        xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
        t = np.linspace(0, 1, per_segment)[:, None]
        for a, b in itertools.pairwise(xy):
            pts.append(a + t * (b - a))
        pts.append(xy)
    return np.concatenate(pts)


def assert_no_collisions(fig):
    items, _ = _texts(fig)
    fig_box = fig.bbox
    for name, box in items:
        assert fig_box.x0 - 0.5 <= box.x0 and box.x1 <= fig_box.x1 + 0.5, (name, box, fig_box)
        assert fig_box.y0 - 0.5 <= box.y0 and box.y1 <= fig_box.y1 + 0.5, (name, box, fig_box)
    for (n1, b1), (n2, b2) in itertools.combinations(items, 2):
        overlap_x = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        overlap_y = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        assert not (overlap_x > 0.5 and overlap_y > 0.5), f"{n1} overlaps {n2}: {b1} {b2}"
    legend = dict(items).get("legend")
    if legend is not None:
        ax = fig.axes[0]
        pts = _data_points(ax)
        box = ax.get_window_extent()
        visible = (
            (pts[:, 0] >= box.x0)
            & (pts[:, 0] <= box.x1)
            & (pts[:, 1] >= box.y0)
            & (pts[:, 1] <= box.y1)
        )
        pts = pts[visible]
        covered = (
            (pts[:, 0] >= legend.x0)
            & (pts[:, 0] <= legend.x1)
            & (pts[:, 1] >= legend.y0)
            & (pts[:, 1] <= legend.y1)
        )
        assert not covered.any(), f"the legend covers {int(covered.sum())} data points"


@pytest.fixture(scope="module")
def fe_ds(shared_data):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with pytest.warns(qgmag.errors.QgmagWarning):  # spinor centres apart (documented)
        model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    return qgmag.compute(
        model,
        ["orbital_magnetization"],
        mu=17.6255 + np.linspace(-0.3, 0.3, 7),
        temperature=0.0,
        kmesh=(8, 8, 8),
        shift=True,
        allow_coarse_mesh=True,  # a figure's layout, not converged numbers
    )


@pytest.fixture(scope="module")
def pt_ds():
    model = qgmag.models.pt_antiferromagnet(direction=[1.0, 0.0, 1.0])
    return qgmag.compute(
        model,
        ["kinetic_spin_intrinsic", "kinetic_orbital_intrinsic", "kinetic_spin_extrinsic"],
        mu=np.linspace(-2.0, 2.0, 41),
        temperature=[0.0, 300.0],
        kmesh=(40, 40),
        smearing=("gaussian", 0.05),
        tau=10.0,
        allow_coarse_mesh=True,  # a figure's layout, not converged numbers
    )


def test_fe_orbital_magnetization_figure_has_no_collisions(fe_ds):
    fig = observable_figure(fe_ds, "orbital_magnetization")
    assert fig.axes[0].get_legend() is not None
    assert_no_collisions(fig)


@pytest.mark.parametrize(
    "name", ["kinetic_spin_intrinsic", "kinetic_orbital_intrinsic", "kinetic_spin_extrinsic"]
)
def test_pt_afm_figures_have_no_collisions(pt_ds, name):
    assert_no_collisions(observable_figure(pt_ds, name))


def test_a_long_title_is_wrapped_inside_the_figure(pt_ds):
    ds = pt_ds.copy()
    ds.attrs["model"] = '{"name": "' + "a model with a very long descriptive name " * 3 + '"}'
    fig = observable_figure(ds, "kinetic_spin_intrinsic")
    assert fig.axes[0].get_title().count("\n") >= 3
    assert_no_collisions(fig)


def test_wrap_title_keeps_mathtext_whole():
    text = r"word " * 10 + r"$\alpha^{S, in}_{xx} + \beta$ " + "word " * 10
    wrapped = wrap_title(text.strip(), 2.0, 10.0)
    for line in wrapped.split("\n"):
        assert line.count("$") % 2 == 0, line
        assert len(line) <= 24 or "$" in line
    assert wrapped.replace("\n", " ") == text.strip()
