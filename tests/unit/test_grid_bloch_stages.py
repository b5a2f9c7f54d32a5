"""The stages of the separable Bloch sums (plane table, ±R_l pairing) against the direct sum
Σ_R e^{2πi f(k)·R} Y(R), for R sets and Y with no symmetry at all."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from qgmag.bands import grid_bloch
from qgmag.kspace.mesh import UniformMesh


def _direct(mesh: UniformMesh, start: int, stop: int, rs: np.ndarray, y: np.ndarray):
    s = 0.5 if mesh.shift else 0.0
    idx = np.stack(np.unravel_index(np.arange(start, stop), mesh.counts), axis=-1)
    f = (idx + s) / np.asarray(mesh.counts)
    return np.exp(2j * np.pi * (f @ rs.T)) @ y


def _random_terms(rng, dim: int, n_r: int, n_cols: int):
    """Distinct random integer R in [-3, 3]^dim (no ±R symmetry, R_l groups with absent
    partners -g) and complex Y with no Hermiticity."""
    pool = np.array(np.meshgrid(*[np.arange(-3, 4)] * dim, indexing="ij")).reshape(dim, -1).T
    rs = pool[rng.choice(len(pool), n_r, replace=False)]
    rs = rs[rs[:, -1] != -2]  # the group R_l = -2 absent, +2 present
    y = rng.normal(size=(len(rs), n_cols)) + 1j * rng.normal(size=(len(rs), n_cols))
    return rs, y


@pytest.mark.parametrize("shift", [False, True])
@pytest.mark.parametrize("plane_table", [True, False])
def test_3d_stages_equal_the_direct_sum(monkeypatch, shift, plane_table):
    rng = np.random.default_rng(7)
    rs, y = _random_terms(rng, 3, 150, 12)  # dense enough for the plane table
    if not plane_table:  # the two-stage route (no dense table)
        monkeypatch.setattr(grid_bloch, "PLANE_TABLE_MAX_BYTES", 0)
    monkeypatch.setattr(grid_bloch, "SEPARABLE_MAX_COST_RATIO", np.inf)
    grid_bloch._PLANS.clear()
    mesh = UniformMesh(np.eye(3), (5, 6, 7), 1.0, shift)
    # inside a line, across lines, across planes, the whole mesh
    for start, stop in [(3, 4), (2, 40), (39, 130), (100, 101), (0, 210)]:
        got = grid_bloch.separable_sum(mesh, start, stop, rs, y)
        ref = _direct(mesh, start, stop, rs, y)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    plan = grid_bloch._plan(rs, y)
    assert (plan.plane is not None) == plane_table


def test_unsorted_rows_are_sorted_once_and_give_the_same_sums(monkeypatch):
    rng = np.random.default_rng(3)
    rs, y = _random_terms(rng, 3, 50, 8)
    monkeypatch.setattr(grid_bloch, "SEPARABLE_MAX_COST_RATIO", np.inf)
    mesh = UniformMesh(np.eye(3), (4, 4, 9), 1.0)
    perm = rng.permutation(len(rs))
    ref = _direct(mesh, 5, 100, rs, y)
    sorted_rs, sorted_y = grid_bloch.sorted_by_last(rs, y)
    for r, v in ((rs[perm], y[perm]), (sorted_rs, sorted_y)):
        got = grid_bloch.separable_sum(mesh, 5, 100, r, v)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    assert grid_bloch._plan(sorted_rs, sorted_y).y is None  # in place: no copy
    assert grid_bloch._plan(rs[perm], y[perm]).y is not None  # a sorted copy


def test_cached_plans_go_with_their_arrays(monkeypatch):
    """The plan cache holds no reference to the caller's arrays: a model's plan and plane
    table are freed with it (no growth over a sweep of models)."""
    rng = np.random.default_rng(5)
    monkeypatch.setattr(grid_bloch, "SEPARABLE_MAX_COST_RATIO", np.inf)
    mesh = UniformMesh(np.eye(3), (4, 4, 6), 1.0)
    rs, y = grid_bloch.sorted_by_last(*_random_terms(rng, 3, 150, 4))
    grid_bloch.separable_sum(mesh, 0, 96, rs, y)
    key = id(y)
    assert key in grid_bloch._PLANS
    del y
    gc.collect()
    assert key not in grid_bloch._PLANS


@pytest.mark.parametrize("dim", [1, 2])
def test_lower_dimensions(monkeypatch, dim):
    rng = np.random.default_rng(11)
    rs, y = _random_terms(rng, dim, 5 if dim == 1 else 30, 6)
    monkeypatch.setattr(grid_bloch, "SEPARABLE_MAX_COST_RATIO", np.inf)
    counts = (9,) if dim == 1 else (5, 8)
    mesh = UniformMesh(np.eye(dim), counts, 1.0, True)
    n = int(np.prod(counts))
    for start, stop in [(0, n), (3, 7), (1, n - 2)]:
        got = grid_bloch.separable_sum(mesh, start, stop, rs, y)
        ref = _direct(mesh, start, stop, rs, y)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
