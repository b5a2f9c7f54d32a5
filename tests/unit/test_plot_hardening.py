"""Issue 14 item 12: symmetry zeros on bands/map plots, Cartesian map planes, help text."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.kspace.path import make_path
from qgmag.plotting import bands_figure, bz_map_figure
from qgmag.plotting.bz_maps import bz_section


def _colourbar_label(fig) -> str:
    return fig.axes[-1].get_ylabel()


def test_bands_plot_of_a_symmetry_zero_says_zero_to_round_off():
    """PT symmetry: Ω of every Kramers set is zero; the set mean is ~1e-16 noise."""
    model = qgmag.models.pt_antiferromagnet()
    fig = bands_figure(model, make_path(model, n_points=60), "berry_curvature", "z")
    assert "zero to round-off" in _colourbar_label(fig)
    arrays = [c.get_array() for c in fig.axes[0].collections if c.get_gid()]
    assert arrays and all(np.all(a == 0) for a in arrays)  # neutral colour, no noise
    # a genuinely non-zero quantity keeps its scale
    haldane = qgmag.models.haldane(mass=0.1)
    fig = bands_figure(haldane, make_path(haldane, n_points=60), "berry_curvature", "z")
    assert "zero to round-off" not in _colourbar_label(fig)


def test_map_of_a_symmetry_zero_says_zero_to_round_off():
    model = qgmag.models.pt_antiferromagnet()
    fig = bz_map_figure(model, "berry_curvature", "z", mu=0.3, n=24)
    assert "zero to round-off" in _colourbar_label(fig)
    fig = bz_map_figure(qgmag.models.haldane(mass=0.1), "berry_curvature", "z", n=24)
    assert "zero to round-off" not in _colourbar_label(fig)


def test_bz_section_of_simple_cubic_and_bcc():
    """Independent facts: the kz = 0 section of the simple-cubic zone is the square
    |kx|, |ky| <= π/a; that of bcc (reciprocal fcc) is the square |kx| + |ky| <= 2π/a... a
    square rotated by 45° with vertices at (±2π/a, 0), (0, ±2π/a)."""
    a = 2.0
    sc = 2 * np.pi / a * np.eye(3)
    poly = bz_section(sc, 0.0)
    np.testing.assert_allclose(np.abs(poly).max(axis=0), [np.pi / a, np.pi / a], atol=1e-12)
    lattice = a / 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], float)  # bcc
    recip = 2 * np.pi * np.linalg.inv(lattice).T
    poly = bz_section(recip, 0.0)
    np.testing.assert_allclose(np.abs(poly[:, 0]).max(), 2 * np.pi / a, atol=1e-9)
    np.testing.assert_allclose(np.abs(poly).sum(axis=1).max(), 2 * np.pi / a, atol=1e-9)


def test_cartesian_map_plane_is_labelled():
    model = qgmag.models.weyl_lattice()
    fig = bz_map_figure(model, "berry_curvature", "z", n=20, plane="cartesian", kz=0.3)
    ax = fig.axes[0]
    assert "Cartesian plane $k_z$ = 0.3 1/Å" in ax.get_title()
    assert ax.get_xlabel() == "$k_x$ (1/Å)"
    reduced = bz_map_figure(model, "berry_curvature", "z", n=20)
    assert "(reduced)" in reduced.axes[0].get_title()
    with pytest.raises(qgmag.QgmagError, match="plane"):
        bz_map_figure(model, "berry_curvature", "z", n=20, plane="polar")


def test_help_text_keeps_square_brackets():
    from typer.testing import CliRunner

    from qgmag.cli import app

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "replaces [run] output" in result.output
