"""Full Wannier level on band-windowed rows (Fe Wannier90 run).

The band-pair forms of the external orbital moment and of the full-connection Berry
curvature (qgmag.geometry.full_level) on a window [0, stop) must give exactly the rows of
the same quantities computed on every band; a window that does not start at band 0 is
refused for the external terms (all bands kept) and handled by the elementwise form for
the Berry curvature. The integrated AHC / M^O / M^S with and without windows agree.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry.full_level import external_orbital_moment
from qgmag.integrate.chunk import integrate_chunk
from qgmag.integrate.driver import _select_observables, build_plan
from qgmag.kspace.mesh import make_mesh
from qgmag.occupation import parse_smearing

E_F = 17.6255


@pytest.fixture(scope="module")
def fe(shared_data):
    path = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return qgmag.read_wannier90(path)


@pytest.mark.parametrize("level", ["full-connection", "full"])
def test_windowed_rows_equal_unwindowed(fe, level):
    model = fe.with_level(level)
    k = np.random.default_rng(3).uniform(-1.0, 1.0, (60, 3))
    whole = BandData(model, k)
    win = BandData(model, k, energy_window=(-np.inf, E_F + 0.2))
    assert win.windowed and win.rows.start == 0 and win.n_rows < whole.n_bands
    rows = win.rows
    omega = q.berry_curvature_vector(whole)
    scale = np.abs(omega).max()
    np.testing.assert_allclose(q.berry_curvature_vector(win), omega[..., rows], atol=1e-13 * scale)
    moment = q.orbital_moment_vector(whole)
    np.testing.assert_allclose(
        q.orbital_moment_vector(win), moment[..., rows], atol=1e-13 * np.abs(moment).max()
    )
    trace = q.orbital_moment_velocity_trace(whole)
    np.testing.assert_allclose(
        q.orbital_moment_velocity_trace(win), trace[..., rows], atol=1e-13 * np.abs(trace).max()
    )
    if level == "full":
        ext = external_orbital_moment(whole)
        np.testing.assert_allclose(
            external_orbital_moment(win), ext[..., rows], atol=1e-13 * np.abs(ext).max()
        )
    above = BandData(model, k, energy_window=(E_F - 1.0, E_F + 0.2))
    if level == "full":
        assert not above.windowed  # the external terms need every lower band as a row
    else:
        assert above.rows.start > 0
        np.testing.assert_allclose(
            q.berry_curvature_vector(above), omega[..., above.rows], atol=1e-13 * scale
        )


def test_integrated_full_level_unchanged_by_windows(fe):
    quantities = [
        "anomalous_hall_conductivity",
        "orbital_magnetization",
        "spin_magnetization",
        "kinetic_orbital_extrinsic",
    ]
    model = fe.with_level("full")
    sums = {}
    for window in (True, False):
        plan = build_plan(
            model,
            _select_observables(quantities, model),
            E_F + np.array([-0.1, 0.0, 0.1]),
            np.array([0.0]),
            make_mesh(model, (5, 5, 5)),
            smearing=parse_smearing(("gaussian", 0.05)),
            degeneracy_tol=1e-6,
            metric_dipole="analytic",
            chunk_size=41,  # several chunks, each with its own window
        )
        plan = dataclasses.replace(plan, band_window=window)
        if window:
            assert plan.energy_window is not None
        sums[window] = sum(integrate_chunk(model, plan, a, b) for a, b in plan.chunk_bounds)
    for key, ref in sums[False].sums.items():
        scale = max(np.max(np.abs(ref)), 1e-300)
        np.testing.assert_allclose(sums[True].sums[key], ref, rtol=0, atol=1e-12 * scale)
