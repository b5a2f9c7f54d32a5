"""Orbital τ⁰ Fermi sea of the E² kinetic magnetization vs exact magnetic supercells.

The independent reference (qgmag.validation.second_order_orbital): the filled-band
polarizability P(B) of Peierls magnetic supercells at fluxes ±p/q, its odd part in B
Richardson-extrapolated to B = 0, and the Maxwell relation δM_z = -∂F^(2)/∂B_z with
F^(2) = (eE)(eE)P. No formula of qgmag.geometry.second_order_orbital is used there.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.validation.second_order_field import centrosymmetric_magnet
from qgmag.validation.second_order_orbital import (
    orbital_polarizability_response,
    response_per_cell,
)

ORB = "kinetic_orbital_second_order"


@pytest.fixture(scope="module")
def magnet():
    return centrosymmetric_magnet()


def _kspace(magnet, n):
    ds = qgmag.compute(magnet, ORB, mu=0.1, kmesh=(n, n), smearing=("gaussian", 0.02))
    return ds, ds[ORB + "_per_cell"].isel(mu=0, temperature=0).values  # (3, 2, 2)


def test_orbital_tau0_sea_of_an_insulator_matches_small_supercells(magnet):
    """q_max = 200 (fluxes 1/200, 1/100, 1/50): the extrapolation is 2.4 % short of the
    limit (q_max = 800 in the slow test agrees to 1e-4); a factor, sign or a missing term
    of the k-space formula above 4 % fails here."""
    ds, chi = _kspace(magnet, 36)
    total = ds[ORB].isel(mu=0, temperature=0).values
    sea = ds[ORB + "_tau0_sea"].isel(mu=0, temperature=0).values
    np.testing.assert_allclose(total, sea, rtol=1e-12)  # the only part in a gap
    ref = response_per_cell(orbital_polarizability_response(magnet, 2, q_max=200)[0])
    assert np.abs(ref).min() > 0
    np.testing.assert_allclose(chi[2], ref, rtol=4e-2)
    assert np.abs(chi[:2]).max() == 0.0  # B in the plane has no Peierls phase in 2D


@pytest.mark.slow
def test_orbital_tau0_sea_of_an_insulator_equals_exact_supercells(magnet):
    """Done-means of issue 13: 2e-3 relative (measured: 5e-5 ... 9e-5 with 60² k-points)."""
    _, chi = _kspace(magnet, 60)
    ref = response_per_cell(orbital_polarizability_response(magnet, 2, q_max=800)[0])
    np.testing.assert_allclose(chi[2], ref, rtol=2e-3)
