"""The shared guard of qgmag.geometry.roundoff on every weight with inverse powers of band
gaps: pairs of distinct bands split by a tiny δ are refused part by part (naming
degeneracy_tol); grouped by the tolerance they are accepted."""

from __future__ import annotations

import numpy as np
import pytest

from qgmag.bands.engine import BandData
from qgmag.errors import QgmagError
from qgmag.geometry import roundoff
from qgmag.geometry.second_order_orbital import orbital_sea_weights
from qgmag.observables import integrands as ig
from qgmag.observables import second_order as so2
from qgmag.validation.second_order_field import centrosymmetric_magnet

PARTS = {
    "spin tau0 sea": so2.spin_sea,
    "spin tau0 surface": so2.spin_surface,
    "spin tau1": so2.spin_dipole,
    "spin tau2 mass": so2.spin_drude_mass,
    "orbital tau0 sea": orbital_sea_weights,
    "orbital tau1": so2.orbital_dipole,
    "orbital tau2 local vv": so2.orbital_drude_local_vv,
    "orbital tau2 local mass": so2.orbital_drude_local_mass,
    "orbital tau2 itinerant vv": so2.orbital_drude_itinerant_vv,
    "orbital tau2 itinerant mass": so2.orbital_drude_itinerant_mass,
    "current tau1": so2.velocity_dipole,
    "current tau2 mass": so2.velocity_drude_mass,
    "intrinsic spin (Phi)": ig.spin_berry_curvature,
    "intrinsic orbital (F)": ig.magnetoelectric_analytic,
    "intrinsic orbital (F interband)": ig.magnetoelectric_interband,
}


@pytest.fixture(scope="module")
def gaas_k(shared_data):
    """GaAs_tb.dat as written (pairs split by 1e-6-1e-4 eV at the 4³ mesh points; without
    the minimal-distance rule the reader applies by default) and the mesh."""
    import warnings

    import qgmag

    path = shared_data / "GaAs" / "GaAs_tb.dat"
    if not path.is_file():
        pytest.skip("GaAs_tb.dat not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qgmag.QgmagWarning)
        model = qgmag.read_wannier90(path, spin_pairs="time-reversal", minimal_distance=False)
    f = np.stack(np.meshgrid(*[np.arange(4) / 4] * 3, indexing="ij"), -1).reshape(-1, 3)
    return model, f @ (2 * np.pi * np.linalg.inv(np.asarray(model.lattice)).T)


@pytest.mark.parametrize("part", sorted(PARTS))
def test_every_part_refused_at_the_default_tolerance_and_accepted_when_grouped(part, gaas_k):
    """GaAs_tb.dat on 4³ at the default degeneracy_tol (1e-6): some pair keeps the field
    expansion valid only below E* = 5e2 V/m < 1e3 V/m, and every guarded weight refuses
    (naming degeneracy_tol). At 1e-3 (E* = 2.3e7 V/m) the same weight is returned."""
    model, k = gaas_k
    split = BandData(model, k, need_second_derivatives=True)
    assert roundoff.valid_field(split).min() < roundoff.VALID_FIELD_MIN
    with pytest.raises(QgmagError, match="degeneracy_tol"):
        PARTS[part](split)
    grouped = BandData(model, k, degeneracy_tol=1e-3, need_second_derivatives=True)
    assert roundoff.valid_field(grouped).min() > 1e3 * roundoff.VALID_FIELD_MIN
    assert np.all(np.isfinite(PARTS[part](grouped)))


def test_round_off_rule_refuses_a_large_weight_and_names_the_tolerance():
    """Rule 1 alone: a weight whose round-off ε_mach·κ·max|X| exceeds 1e-2 of the natural
    scale is refused; a weight at the natural scale is not."""
    magnet = centrosymmetric_magnet()
    f = np.random.default_rng(0).random((6, 2))
    bands = BandData(magnet, f @ (2 * np.pi * np.linalg.inv(np.asarray(magnet.lattice)).T))
    natural = roundoff.natural_scale(bands, 2)
    kappa = roundoff.conditioning(bands)
    ok = natural * kappa**-1  # ε·κ·X = ε·natural: far below the limit
    roundoff.check_roundoff(ok, natural, bands, "test")
    bad = 2 * roundoff.ROUNDOFF_LIMIT * natural / (roundoff.EPS * kappa)
    with pytest.raises(QgmagError, match="degeneracy_tol"):
        roundoff.check_roundoff(bad, natural, bands, "test")
