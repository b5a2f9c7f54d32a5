"""Band windows: per-band work only for bands that can contribute gives the same sums.

Reference: the same plan with ``band_window=False`` (every band a row), which is the
unwindowed code path; the kernels dropped by the window are exactly zero
(:func:`qgmag.occupation.occupation_kernel` takes exact step limits beyond TAIL_CUTOFF
widths), so the two must agree to round-off.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData, band_window
from qgmag.errors import QgmagError
from qgmag.integrate.chunk import integrate_chunk
from qgmag.integrate.driver import _select_observables, build_plan
from qgmag.kspace.mesh import make_mesh
from qgmag.models import lattice_models
from qgmag.observables import integrands as ig
from qgmag.occupation import parse_smearing

FE_EF = 17.6255  # eV (Fe/wannier90/scf.out)


def _sums(model, quantities, mu, temperature, smearing, kmesh, window, metric_dipole="analytic"):
    plan = build_plan(
        model,
        _select_observables(quantities, model),
        np.atleast_1d(mu),
        np.atleast_1d(temperature),
        make_mesh(model, kmesh),
        smearing=parse_smearing(smearing),
        degeneracy_tol=1e-6,
        metric_dipole=metric_dipole,
        chunk_size=97,  # several chunks, each with its own window
    )
    plan = dataclasses.replace(plan, band_window=window)
    return plan, sum(integrate_chunk(model, plan, a, b) for a, b in plan.chunk_bounds)


def _assert_same(model, quantities, mu, temperature, smearing, kmesh, **kw):
    plan, windowed = _sums(model, quantities, mu, temperature, smearing, kmesh, True, **kw)
    assert plan.energy_window is not None
    _, full = _sums(model, quantities, mu, temperature, smearing, kmesh, False, **kw)
    assert set(windowed.sums) == set(full.sums)
    for key, ref in full.sums.items():
        scale = max(np.max(np.abs(ref)), 1e-300)
        np.testing.assert_allclose(windowed.sums[key], ref, rtol=0, atol=1e-12 * scale, err_msg=key)
    return plan


SPIN_SET = [
    "anomalous_hall_conductivity",
    "orbital_magnetization",
    "spin_magnetization",
    "kinetic_spin_extrinsic",
    "kinetic_spin_intrinsic",
    "kinetic_orbital_extrinsic",
]


def test_fe_every_window_observable(shared_data):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    mu = FE_EF + np.linspace(-0.5, 0.5, 5)
    plan = _assert_same(model, SPIN_SET, mu, [0.0, 300.0], 0.02, (6, 6, 6))
    # the window really drops bands on Fe (18 bands, E_F in the d bands)
    k, _ = plan.mesh.chunk(0, 97)
    bands = BandData(model, k, energy_window=plan.energy_window)
    assert 0 < bands.n_rows < model.n_bands


def test_fe_full_berry_connection(shared_data):
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest", berry_connection="full")
    _assert_same(
        model,
        ["anomalous_hall_conductivity", "orbital_magnetization"],
        FE_EF,
        100.0,
        None,
        (5,) * 3,
    )


@pytest.mark.parametrize(
    "model, mu",
    [
        (lattice_models.kane_mele(), [-0.5, 0.3]),
        (lattice_models.bhz(), [0.0, 0.8]),
        (lattice_models.pt_antiferromagnet(), [-0.2, 0.4]),
    ],
)
def test_lattice_models(model, mu):
    quantities = [q for q in SPIN_SET if q != "spin_magnetization" or model.spin is not None]
    if model.spin is None:
        quantities = ["anomalous_hall_conductivity", "orbital_magnetization"]
    _assert_same(model, quantities, mu, [0.0, 50.0], ("gaussian", 0.05), (9, 9))


def test_fermi_surface_only_plan_drops_low_bands(shared_data):
    """Only f0' terms: bands far below every μ are dropped too (window bounded below)."""
    path = shared_data / "Fe" / "Fe_tb.dat"
    if not path.is_file():
        pytest.skip("Fe_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    plan = _assert_same(
        model, ["kinetic_spin_extrinsic", "kinetic_orbital_extrinsic"], FE_EF, 30.0, None, (6,) * 3
    )
    lo, hi = plan.energy_window
    assert np.isfinite(lo) and lo < FE_EF < hi
    bands = BandData(model, plan.mesh.chunk(0, 50)[0], energy_window=plan.energy_window)
    assert bands.rows.start > 0


@pytest.mark.parametrize("model", [lattice_models.kane_mele(), lattice_models.pt_antiferromagnet()])
def test_every_marked_integrand_equals_its_rows(model):
    """Each integrand marked row_bands, on a windowed chunk, is the rows of the full one."""
    marked = [f for f in vars(ig).values() if callable(f) and ig.supports_band_window(f)]
    assert ig.magnetoelectric_dipole_by_parts in marked and ig.berry_curvature in marked
    k = make_mesh(model, (7, 7)).chunk(0, 49)[0]
    full = BandData(model, k)
    e = full.energy
    cut = 0.5 * (e[:, 1].max() + e[:, 2].min())
    assert e[:, 1].max() < e[:, 2].min()  # a gap: the window keeps bands 0, 1
    for window, rows in (((-np.inf, cut), slice(0, 2)), ((cut, np.inf), slice(2, e.shape[1]))):
        part = BandData(model, k, energy_window=window)
        assert part.rows == rows
        for fn in marked:
            if fn in (ig.spin_expectation, ig.spin_velocity, ig.spin_berry_curvature):
                if model.spin is None:
                    continue
            np.testing.assert_allclose(fn(part), fn(full)[:, rows], rtol=0, atol=1e-13)


def test_no_window_where_integrand_needs_every_band():
    model = lattice_models.pt_antiferromagnet()
    plan, _ = _sums(model, ["kinetic_orbital_intrinsic"], 0.1, 100.0, None, (3, 3), True)
    assert plan.energy_window is None  # the analytic F tensor multiplies whole matrices
    bands = BandData(model, plan.mesh.chunk(0, 4)[0], energy_window=(-np.inf, -10.0))
    assert bands.windowed
    with pytest.raises(QgmagError, match="every band as a row"):
        bands.berry_connection  # noqa: B018


def test_band_window_keeps_degenerate_sets_whole():
    # two k-points, 5 bands; bands 1, 2 degenerate at the first k
    e = np.array([[-2.0, 0.0, 0.0, 1.0, 3.0], [-1.5, -0.5, 0.4, 2.0, 2.5]])
    assert band_window(e, (-np.inf, 0.1), 1e-6) == slice(0, 3)
    assert band_window(e, (-np.inf, -0.2), 1e-6) == slice(0, 3)  # band 1 brings its partner
    assert band_window(e, (-np.inf, -5.0), 1e-6) == slice(0, 1)  # at least one band
    assert band_window(e, (0.3, 1.5), 1e-6) == slice(1, 4)  # band 2 brings its partner 1
    assert band_window(e, (0.5, 1.5), 1e-6) == slice(3, 4)
    assert band_window(e, (1.9, 10.0), 1e-6) == slice(3, 5)
    assert band_window(e, (2.1, 10.0), 1e-6) == slice(4, 5)


def _assert_same_sums(windowed, full):
    assert set(windowed.sums) == set(full.sums)
    for key, ref in full.sums.items():
        scale = max(np.max(np.abs(ref)), 1e-300)
        np.testing.assert_allclose(windowed.sums[key], ref, rtol=0, atol=1e-12 * scale, err_msg=key)


@pytest.mark.filterwarnings("ignore::qgmag.errors.QgmagWarning")
def test_fermi_surface_rows_beside_an_every_band_integrand(shared_data):
    """F (every band a row) in the same run: the f0' terms use the rows near μ only."""
    path = shared_data / "Te" / "Te_tb.dat"
    if not path.is_file():
        pytest.skip("Te_tb.dat not available")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    quantities = [
        "kinetic_orbital_extrinsic",
        "kinetic_orbital_intrinsic",
        "kinetic_spin_extrinsic",
    ]
    mu = 5.88 + np.linspace(-0.1, 0.1, 3)
    plan = build_plan(
        model,
        _select_observables(quantities, model),
        mu,
        np.array([100.0, 300.0]),
        make_mesh(model, (4, 4, 4), shift=True),  # no Γ: exact Kramers pairs refuse F
        smearing=None,
        degeneracy_tol=1e-3,
        metric_dipole="analytic",
        chunk_size=37,
    )
    assert plan.energy_window is None and plan.fermi_surface_window is not None
    lo, hi = plan.fermi_surface_window
    bands = BandData(model, make_mesh(model, (5, 5, 5)).chunk(0, 37)[0], degeneracy_tol=1e-3)
    sub = bands.row_subset((lo, hi))
    assert sub.rows.start > 0 and sub.n_rows < bands.n_bands
    np.testing.assert_array_equal(
        ig.orbital_moment_velocity(sub), ig.orbital_moment_velocity(bands)[:, sub.rows]
    )
    windowed = sum(integrate_chunk(model, plan, a, b) for a, b in plan.chunk_bounds)
    full_plan = dataclasses.replace(plan, band_window=False)
    assert full_plan.fermi_surface_window is None
    full = sum(integrate_chunk(model, full_plan, a, b) for a, b in full_plan.chunk_bounds)
    _assert_same_sums(windowed, full)


def test_row_subset_slices_cached_matrices():
    model = lattice_models.pt_antiferromagnet()
    k = make_mesh(model, (7, 7)).chunk(0, 49)[0]
    bands = BandData(model, k)
    v, inv = bands.velocity_matrix, bands.inverse_gap
    assert bands.energy[:, 1].max() < bands.energy[:, 2].min()  # a gap
    cut = 0.5 * (bands.energy[:, 1].max() + bands.energy[:, 2].min())
    sub = bands.row_subset((cut, np.inf))
    assert sub.rows == slice(2, bands.n_bands) and sub.windowed
    assert np.shares_memory(sub.velocity_matrix, v)  # sliced, not recomputed
    np.testing.assert_array_equal(sub.inverse_gap, inv[:, 2:])
    fresh = BandData(model, k, energy_window=(cut, np.inf))
    np.testing.assert_array_equal(sub.velocity_matrix, fresh.velocity_matrix)
    np.testing.assert_array_equal(sub.degenerate, fresh.degenerate)
    assert bands.row_subset((-np.inf, np.inf)) is bands
