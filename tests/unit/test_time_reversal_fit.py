"""fit_time_reversal recovers a known Θ = U K from H(R), and refuses when Θ is not unique."""

from __future__ import annotations

import numpy as np
import pytest

from qgmag.io.time_reversal import TimeReversalError, fit_time_reversal, same_pairs

PAIRS = [(0, 5), (1, 2), (3, 4)]


def _known_u(rng):
    u = np.zeros((6, 6), dtype=complex)
    for i, j in PAIRS:
        z = np.exp(2j * np.pi * rng.random())
        u[i, j], u[j, i] = z, -z  # antisymmetric unitary: Θ² = -1
    return u


def _hoppings(rng, u):
    h = rng.normal(size=(5, 6, 6)) + 1j * rng.normal(size=(5, 6, 6))
    h[0] = h[0] + np.conj(h[0].T)
    h[2], h[4] = np.conj(h[1].T), np.conj(h[3].T)
    return 0.5 * (h + u @ np.conj(h) @ np.conj(u.T))


def test_recovers_a_known_antisymmetric_operator():
    rng = np.random.default_rng(0)
    u0 = _known_u(rng)
    fit = fit_time_reversal(_hoppings(rng, u0))
    assert fit.residual < 1e-12 and fit.spinful
    phase = np.vdot(u0, fit.operator) / 6.0
    assert abs(abs(phase) - 1.0) < 1e-12
    assert np.max(np.abs(fit.operator - phase * u0)) < 1e-12
    assert same_pairs(fit.pairs, PAIRS) and fit.off_pair < 1e-12
    x = rng.normal(size=(3, 6, 6)) + 1j * rng.normal(size=(3, 6, 6))
    odd = fit.odd_part(x)
    assert fit.odd_breaking(odd) < 1e-14
    h = _hoppings(rng, u0) + 1e-3 * rng.normal(size=(5, 6, 6))
    assert 1e-3 < fit_time_reversal(h).residual < 0.1  # measures a small breaking


def test_spinless_and_non_unique():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3, 4, 4))
    real[0] = real[0] + real[0].T
    real[2] = real[1].T
    fit = fit_time_reversal(real)  # U = 1: Θ² = +1
    assert not fit.spinful and fit.residual < 1e-12
    with pytest.raises(TimeReversalError, match="no unique"):
        fit_time_reversal(np.stack([np.eye(4)] * 3))
