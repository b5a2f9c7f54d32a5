"""Issue 14 item 7: results continuous across the degeneracy tolerance (near-degenerate bands).

A PT-symmetric antiferromagnet (Kramers pairs at every k) plus a uniform field δσ_z on every
site splits every pair by ~δ. Before the fix the intrinsic kinetic spin response jumped by a
factor ~4 (and changed sign) when δ crossed degeneracy_tol; now pairs split by less than the
broadening are switched off smoothly, so α(δ) is continuous and tends to the exactly
degenerate (δ = 0) value, which needs no regularization (exact Kramers sets).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.errors import QgmagError
from qgmag.models.tight_binding import TightBindingModel

TEMPERATURE = 100.0  # K: broadening k_B T = 8.6 meV
KMESH = (24, 24)


def _split(delta: float, direction=(0.0, 0.0, 1.0)) -> TightBindingModel:
    m = qgmag.models.pt_antiferromagnet(direction=direction)
    mats = np.array(m.hopping_matrices)
    zero = np.flatnonzero((m.hopping_vectors == 0).all(axis=1))[0]
    mats[zero] += delta * np.kron(np.eye(2), np.diag([1.0, -1.0]))
    return TightBindingModel.from_arrays(
        m.lattice, m.positions, m.hopping_vectors, mats, spin=m.spin
    )


def _alpha(delta: float, **kw) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = qgmag.compute(
            _split(delta), "kinetic_spin_intrinsic", 0.3, TEMPERATURE, kmesh=KMESH, **kw
        )
    return ds.kinetic_spin_intrinsic.values[0, 0]


def test_spin_response_is_continuous_in_the_splitting_and_tends_to_the_degenerate_value():
    deltas = np.concatenate([np.logspace(-9, -2, 15), [0.9e-6, 1.1e-6]])  # tol = 1e-6
    a0 = _alpha(0.0)
    scale = np.abs(a0).max()
    assert scale > 1e-17  # the δ = 0 response is not zero (xx = yy)
    values = {float(d): _alpha(float(d)) for d in deltas}
    # across the tolerance: no jump (before: a factor ~4 and a sign change of xx)
    assert np.abs(values[0.9e-6] - values[1.1e-6]).max() < 1e-6 * scale
    # convergence to δ = 0, quadratically in δ (the switch is 1 - exp(-Δ²/η²))
    for d in deltas[deltas <= 1e-5]:
        assert np.abs(values[float(d)] - a0).max() < 1e-4 * scale, d
    small = [d for d in values if 5e-5 < d < 2e-4]
    large = [d for d in values if 5e-4 < d < 2e-3]
    assert small and large
    d1, d2 = small[0], large[0]
    ratio = np.abs(values[d2] - a0).max() / np.abs(values[d1] - a0).max()
    assert 0.5 * (d2 / d1) ** 2 < ratio < 2.0 * (d2 / d1) ** 2
    # below a tenth of the broadening successive values on the log grid barely change; near
    # δ ~ k_B T the pairs become two bands and the response moves to its split-band value
    ordered = [values[float(d)] for d in np.logspace(-9, -2, 15) if d < 8.6e-4]
    steps = [np.abs(b - a).max() for a, b in zip(ordered, ordered[1:], strict=False)]
    assert max(steps) < 0.05 * scale


def test_large_splitting_recovers_the_unbroadened_formula():
    """For Δ far above the broadening the switch is 1: same as Eq. (7) with η = 0 (T = 0)."""
    model = _split(0.2)
    bands = BandData(model, np.random.default_rng(1).uniform(-1, 1, (50, 2)))
    from qgmag.geometry import quantities as q

    plain = q.spin_berry_curvature(bands)
    broadened = q.spin_berry_curvature(bands, broadening=1e-3)
    # pairs are split by ~0.4 eV >> 6 η except where the exchange bands meet; compare where
    # every gap exceeds 10 η
    gaps = np.abs(np.diff(bands.energy, axis=1)).min(axis=1)
    ok = gaps > 1e-2
    assert ok.sum() > 10
    np.testing.assert_allclose(broadened[..., ok, :], plain[..., ok, :], rtol=1e-12, atol=1e-12)


def test_warns_when_splittings_lie_between_tolerance_and_broadening():
    with pytest.warns(qgmag.QgmagWarning, match="less than the broadening"):
        qgmag.compute(_split(1e-4), "kinetic_spin_intrinsic", 0.3, TEMPERATURE, kmesh=(8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", qgmag.QgmagWarning)
        qgmag.compute(_split(0.0), "kinetic_spin_intrinsic", 0.3, TEMPERATURE, kmesh=(8, 8))


def test_degenerate_sets_are_transitive_clusters():
    """ε = 0, 0.6 tol, 1.2 tol: 0~1 and 1~2 are closer than tol, 0-2 is not; one set."""
    tol = 1e-6
    lattice = np.eye(2)
    onsite = np.array([0.0, 0.6 * tol, 1.2 * tol, 1.0])
    model = TightBindingModel(lattice, [[0, 0]] * 4, [(0, 3, (1, 0), 0.0)], onsite=onsite)
    bands = BandData(model, np.zeros((1, 2)), degeneracy_tol=tol)
    mask = bands.degenerate[0]
    assert mask[0, 2] and mask[2, 0] and mask[0, 1] and mask[1, 2]
    assert not mask[0, 3]
    # the mask is an equivalence relation (transitive)
    m = mask.astype(int)
    assert np.array_equal((m @ m > 0), mask)


@pytest.mark.parametrize("tol", [0.1, 0.5, 0.0, -1e-6, float("nan")])
def test_absurd_degeneracy_tolerance_is_refused(tol):
    with pytest.raises(QgmagError, match="degeneracy_tol"):
        qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, kmesh=(6, 6), degeneracy_tol=tol)


def _crossing_model_and_point():
    """Two decoupled Haldane models (one shifted by 2.5 eV) and a k where a band of each
    meets the other to 1e-12 eV: an accidental degeneracy with different band velocities."""
    from scipy.optimize import brentq

    a, b = qgmag.models.haldane(), qgmag.models.haldane(mass=0.5)
    n = a.n_bands
    mats = np.zeros((len(a.hopping_vectors), 2 * n, 2 * n), complex)
    mats[:, :n, :n] = a.hopping_matrices
    mats[:, n:, n:] = b.hopping_matrices
    zero = np.flatnonzero((a.hopping_vectors == 0).all(axis=1))[0]
    mats[zero, n:, n:] += 2.5 * np.eye(n)
    model = TightBindingModel.from_arrays(
        a.lattice, np.vstack([a.positions, a.positions]), a.hopping_vectors, mats
    )
    g = a.reciprocal_lattice

    def k_of(s):
        return (s * g[0] + 0.31 * g[1])[None]

    def gap(s):
        ea = np.linalg.eigvalsh(a.hamiltonian(k_of(s)))[0]
        eb = np.linalg.eigvalsh(b.hamiltonian(k_of(s)))[0] + 2.5
        return ea[1] - eb[0]

    grid = np.linspace(0, 1, 201)
    values = [gap(x) for x in grid]
    i = next(i for i in range(200) if values[i] * values[i + 1] < 0)
    s0 = brentq(gap, grid[i], grid[i + 1], xtol=1e-15)
    return model, k_of(s0)


def test_by_parts_metric_dipole_is_a_trace_over_the_degenerate_set():
    """At an accidental crossing (two bands with different velocities in one set) the
    by-parts metric-dipole integrand summed over the set must not depend on the basis chosen
    inside the set: Tr_D[g V], not Σ_n g_n v_n (which changes under a unitary rotation)."""
    from qgmag.observables import integrands as ig

    model, k = _crossing_model_and_point()
    plain = BandData(model, k)
    mask = plain.degenerate[0]
    assert mask.sum() == 6  # one pair (2 x 2) + two single bands
    set_bands = np.flatnonzero(mask.sum(axis=1) == 2)
    v = plain.band_velocity[:, 0, set_bands]
    assert np.abs(v[:, 0] - v[:, 1]).max() > 0.1  # really different velocities
    ref = ig.magnetoelectric_dipole_by_parts(plain)[0, set_bands].sum(axis=0)
    assert np.abs(ref).max() > 1e-3
    for seed in range(3):
        rotated = BandData(model, k, gauge_rotation=np.random.default_rng(seed))
        x = ig.magnetoelectric_dipole_by_parts(rotated)[0, set_bands].sum(axis=0)
        np.testing.assert_allclose(x, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_by_parts_metric_dipole_still_agrees_with_the_analytic_form():
    """Integration by parts (an identity on a periodic mesh, converging with the mesh):
    PT antiferromagnet, Kramers pairs at every k."""
    model = qgmag.models.pt_antiferromagnet(direction=(0.3, -0.4, 0.8))
    kw = dict(kmesh=(160, 160), temperature=300.0, shift=True, allow_coarse_mesh=True)
    run = lambda form: qgmag.compute(  # noqa: E731
        model, "kinetic_orbital_intrinsic", 0.2, metric_dipole=form, **kw
    ).kinetic_orbital_intrinsic.values
    by_parts, analytic = run("fermi_surface"), run("analytic")
    np.testing.assert_allclose(by_parts, analytic, rtol=0, atol=1e-5 * np.abs(analytic).max())
