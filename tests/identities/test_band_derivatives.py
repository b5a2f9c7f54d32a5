"""Analytic k-derivatives against central finite differences of H(k) and of g(k).

``model.derivatives(k, order=2)`` must return H, ∂_a H and ∂_a ∂_b H consistent with
``model.hamiltonian`` for every built-in model, continuum and lattice, 2D and 3D; the
analytic metric dipole ∂_l g^{ij}_n (built from ∂H and ∂²H) must equal finite differences
of the quantum metric wherever bands are non-degenerate. Central differences with a
Richardson step make the truncation error O(h⁴).
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.models import BUILTIN_MODELS

VARIANTS = {name: {} for name in BUILTIN_MODELS} | {
    "kane_mele_full": {"lambda_r": 0.1, "exchange": 0.05, "mass": 0.1},
    "bhz_bia": {"D": 0.2, "bia": 0.1},
    "pt_antiferromagnet_tilted": {"direction": (0.3, -0.4, 0.8)},
    "massive_dirac_tilted": {"tilt": 0.4, "valley": -1},
    "rashba_magnetic": {"exchange": 0.1},
}


def build(variant: str):
    base = next(
        name for name in sorted(BUILTIN_MODELS, key=len, reverse=True) if variant.startswith(name)
    )
    return qgmag.models.build_model(base, **VARIANTS[variant])


def sample_k(model, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if isinstance(model, qgmag.ContinuumModel):
        return rng.uniform(-0.7, 0.7, size=(n, model.dim))
    return rng.uniform(0, 1, size=(n, model.dim)) @ model.reciprocal_lattice


def central(f, k: np.ndarray, a: int, h: float) -> np.ndarray:
    """Richardson-extrapolated central difference of f along Cartesian a."""
    e = np.zeros(k.shape[1])
    e[a] = 1.0

    def diff(s: float) -> np.ndarray:
        return (f(k + s * e) - f(k - s * e)) / (2 * s)

    return (4 * diff(h / 2) - diff(h)) / 3


def test_every_builtin_model_is_covered() -> None:
    assert set(BUILTIN_MODELS) <= set(VARIANTS)
    assert {build(v).dim for v in VARIANTS} == {2, 3}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_analytic_derivatives_equal_finite_differences(variant: str) -> None:
    model = build(variant)
    d, n = model.dim, model.n_bands
    k = sample_k(model, 6, seed=1)
    h, dh, d2h = model.derivatives(k, order=2)
    assert h.shape == (6, n, n) and dh.shape == (d, 6, n, n) and d2h.shape == (d, d, 6, n, n)
    np.testing.assert_allclose(h, model.hamiltonian(k), rtol=0, atol=1e-13)
    np.testing.assert_allclose(h, np.conj(np.swapaxes(h, -1, -2)), rtol=0, atol=1e-13)
    step = 1e-3
    for a in range(d):
        fd1 = central(model.hamiltonian, k, a, step)
        scale1 = max(np.abs(dh).max(), 1e-12)
        np.testing.assert_allclose(dh[a], fd1, rtol=0, atol=1e-8 * scale1, err_msg=f"dH/dk{a}")
        for b in range(d):
            fd2 = central(lambda q, b=b: model.derivatives(q, order=1)[1][b], k, a, step)
            scale2 = max(np.abs(d2h).max(), 1.0)
            np.testing.assert_allclose(
                d2h[a, b], fd2, rtol=0, atol=1e-8 * scale2, err_msg=f"d2H/dk{a}dk{b}"
            )
    np.testing.assert_allclose(d2h, np.swapaxes(d2h, 0, 1), rtol=0, atol=1e-12)
    # second derivatives also against differences of H alone (no use of dH)
    for a in range(d):
        e = np.eye(d)[a] * step
        fd = (model.hamiltonian(k + e) - 2 * h + model.hamiltonian(k - e)) / step**2
        np.testing.assert_allclose(d2h[a, a], fd, rtol=0, atol=1e-5 * max(np.abs(d2h).max(), 1))


DIPOLE_MODELS = {
    "haldane": lambda: qgmag.models.haldane(t2=0.15, phi=1.0, mass=0.2),
    "qi_wu_zhang": lambda: qgmag.models.qi_wu_zhang(m=0.8, a=1.2),
    "weyl_lattice": lambda: qgmag.models.weyl_lattice(),
    "massive_dirac_tilted": lambda: qgmag.models.massive_dirac(v=1.3, m=0.25, tilt=0.5),
    "kane_mele_magnetic": lambda: qgmag.models.kane_mele(lambda_r=0.1, exchange=0.08, mass=0.1),
}


@pytest.mark.parametrize("name", list(DIPOLE_MODELS))
def test_metric_dipole_equals_finite_difference_of_metric(name: str) -> None:
    model = DIPOLE_MODELS[name]()
    d = model.dim
    k = sample_k(model, 64, seed=6)
    energy = np.linalg.eigvalsh(model.hamiltonian(k))
    k = k[np.diff(energy, axis=1).min(axis=1) > 0.05][:8]  # clearly non-degenerate points
    assert len(k) == 8

    def metric(q: np.ndarray) -> np.ndarray:
        return qgmag.band_geometry(model, q, quantities=["quantum_metric"]).quantum_metric.values

    ds = qgmag.band_geometry(model, k, quantities=["energy", "metric_dipole"])
    dipole = ds.metric_dipole  # (k, band, l, i, j)
    assert dipole.attrs["units"] == "angstrom**3"
    scale = np.abs(dipole.values).max()
    assert scale > 0
    for l in range(d):
        fd = central(metric, k, l, 1e-3)  # (k, band, i, j)
        np.testing.assert_allclose(
            dipole.values[:, :, l], fd, rtol=0, atol=1e-7 * scale, err_msg=f"d/dk{l}"
        )
