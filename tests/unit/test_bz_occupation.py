"""Occupation kernels: df0 is the derivative of f0, dG/dε = -f0, and the T = 0 limits."""

from __future__ import annotations

import numpy as np
import pytest

from qgmag.errors import QgmagError
from qgmag.occupation import Smearing, occupation_kernel, parse_smearing

E = np.linspace(-1.0, 1.0, 8001)
MU = np.array([-0.05, 0.0, 0.07])


@pytest.mark.parametrize(
    ("temperature", "smearing"),
    [
        (300.0, None),
        (0.0, Smearing("gaussian", 0.03)),
        (0.0, Smearing("fermi-dirac", 0.02)),
        (0.0, Smearing("methfessel-paxton", 0.04)),
    ],
)
def test_kernels_are_consistent_derivatives(temperature: float, smearing: Smearing | None) -> None:
    t = np.array([temperature])
    f0 = occupation_kernel(E, MU, t, "f0", smearing)[:, :, 0]
    df0 = occupation_kernel(E, MU, t, "df0", smearing)[:, :, 0]
    grand = occupation_kernel(E, MU, t, "grand", smearing)[:, :, 0]
    np.testing.assert_allclose(
        np.gradient(f0, E, axis=0)[1:-1], df0[1:-1], atol=2e-3 * np.abs(df0).max()
    )
    np.testing.assert_allclose(np.gradient(grand, E, axis=0)[1:-1], -f0[1:-1], atol=1e-4)
    # deep below μ: full occupation, G = μ - ε; far above: empty
    np.testing.assert_allclose(f0[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(f0[-1], 0.0, atol=1e-6)
    np.testing.assert_allclose(grand[0], MU - E[0], rtol=1e-6)
    # ∫ f0' dε = -1
    np.testing.assert_allclose(np.trapezoid(df0, E, axis=0), -1.0, atol=1e-4)


def test_zero_temperature_steps_and_fermi_surface_error() -> None:
    t = np.array([0.0])
    f0 = occupation_kernel(np.array([-1.0, 0.0, 1.0]), np.array([0.0]), t, "f0")[:, 0, 0]
    np.testing.assert_array_equal(f0, [1.0, 0.5, 0.0])
    g = occupation_kernel(np.array([-1.0, 1.0]), np.array([0.5]), t, "grand")[:, 0, 0]
    np.testing.assert_allclose(g, [1.5, 0.0])
    with pytest.raises(QgmagError, match="smearing"):
        occupation_kernel(np.zeros(2), np.zeros(1), t, "df0")


def test_parse_smearing() -> None:
    assert parse_smearing(None) is None
    assert parse_smearing(0.01) == Smearing("fermi-dirac", 0.01)
    assert parse_smearing(("gaussian", 0.02)) == Smearing("gaussian", 0.02)
    with pytest.raises(QgmagError, match="kind"):
        parse_smearing(("lorentzian", 0.02))
    with pytest.raises(QgmagError, match="positive"):
        parse_smearing(("gaussian", -1.0))


@pytest.mark.parametrize("kind", ["fermi-dirac", "gaussian", "methfessel-paxton"])
@pytest.mark.parametrize("kernel", ["f0", "df0", "grand"])
def test_tail_cutoff_equals_full_evaluation(kind: str, kernel: str) -> None:
    """Kernels evaluated only near μ equal the smeared functions evaluated everywhere."""
    from qgmag import occupation as occ

    functions = {
        "fermi-dirac": occ._fermi_dirac_kernels,
        "gaussian": occ._gaussian_kernels,
        "methfessel-paxton": occ._methfessel_paxton_kernels,
    }
    energy = np.random.default_rng(4).uniform(-30.0, 30.0, 5000)
    width = 0.025
    full = functions[kind]((energy[:, None] - MU) / width, width, kernel)
    cut = occupation_kernel(energy, MU, np.array([0.0]), kernel, Smearing(kind, width))[:, :, 0]
    assert np.mean(np.abs(energy) > 2.0) > 0.9  # most states sit in the tails
    np.testing.assert_allclose(cut, full, rtol=1e-15, atol=1e-15)
