"""Fermi level from the electron count (qgmag.filling) against closed forms and DFT data.

* A chain of s orbitals (square lattice with hopping along x only, ε = -2t cos k_x):
  N(μ) = arccos(-μ/2t)/π at T = 0, so μ(n) = -2t cos(π n); at T > 0 the count is an
  independent 1D quadrature of the Fermi–Dirac function.
* Gapped Haldane model (t2 = 0, mass M): bands ±sqrt(M² + |f|²), gap [-M, M] on a mesh
  containing K; one electron: mid-gap 0 with a warning.
* bcc Fe Wannier model (18 WFs, bands 1–8 = 3s/3p excluded: 16 - 8 = 8 electrons in the
  model): on the ab-initio 3×3×3 mesh the model reproduces the DFT eigenvalues of the
  frozen window, so its E_F equals the one solved independently from Fe.eig; on QE's 16³
  mesh with QE's smearing width it gives scf.out's E_F to the model's interpolation error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import constants as sc
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erfc

import qgmag
from qgmag.errors import QgmagError, QgmagWarning
from qgmag.filling import electron_count, mesh_energies, mu_from_filling

K_B_EV = sc.k / sc.e


def chain(t: float = 1.0) -> qgmag.TightBindingModel:
    return qgmag.TightBindingModel(np.eye(2), [[0.0, 0.0]], [(0, 0, (1, 0), -t)])


@pytest.mark.parametrize("n", [0.2, 0.5, 0.73])
def test_chain_at_zero_temperature_is_minus_2t_cos_pi_n(n: float) -> None:
    t, nk = 1.3, 4000
    mu = mu_from_filling(chain(t), n, 0.0, (nk, 1))
    exact = -2 * t * np.cos(np.pi * n)
    # the staircase resolves μ to the level spacing of the mesh
    spacing = 2 * t * np.sin(np.pi * n) * 2 * np.pi / nk
    assert abs(mu - exact) <= spacing


def test_chain_at_finite_temperature_matches_a_quadrature() -> None:
    t, n, temp = 1.0, 0.3, 2000.0
    kt = K_B_EV * temp

    def count(mu: float) -> float:
        f = lambda k: 1.0 / (1.0 + np.exp((-2 * t * np.cos(k) - mu) / kt))  # noqa: E731
        return quad(f, -np.pi, np.pi, epsabs=1e-13)[0] / (2 * np.pi)

    exact = brentq(lambda mu: count(mu) - n, -3, 3, xtol=1e-12)
    mu = mu_from_filling(chain(t), n, temp, (400, 1), tol=1e-10)
    assert mu == pytest.approx(exact, abs=1e-8)
    assert electron_count(chain(t), mu, temp, (400, 1))[0] == pytest.approx(n, abs=1e-9)


def test_half_filling_of_a_particle_hole_symmetric_band_is_zero() -> None:
    square = qgmag.TightBindingModel(
        np.eye(2), [[0.0, 0.0]], [(0, 0, (1, 0), -1.0), (0, 0, (0, 1), -1.0)]
    )
    for temp, smearing in ((0.0, None), (300.0, None), (0.0, ("gaussian", 0.05))):
        mu = mu_from_filling(square, 0.5, temp, (40, 40), smearing=smearing, tol=1e-12)
        assert abs(mu) < 1e-9


@pytest.mark.parametrize("temperature", [0.0, 300.0])
def test_insulator_gives_mid_gap_with_a_warning(temperature: float) -> None:
    mass = 0.4
    model = qgmag.models.haldane(t2=0.0, mass=mass)
    with pytest.warns(QgmagWarning, match="band gap"):
        mu = mu_from_filling(model, 1, temperature, (30, 30))
    assert mu == pytest.approx(0.0, abs=1e-12)  # gap [-M, M] on a mesh containing K
    e = mesh_energies(model, (30, 30))
    assert e[:, 0].max() == pytest.approx(-mass, abs=1e-12)


def test_hot_insulator_without_particle_hole_symmetry_gets_the_root_not_mid_gap() -> None:
    # real second-neighbour hopping (φ = 0) breaks particle-hole symmetry: at 4000 K the
    # thermally excited carriers move μ away from mid-gap (mid-gap misses by ~0.02 electrons)
    model = qgmag.models.haldane(t2=0.15, phi=0.0, mass=0.6)
    e = mesh_energies(model, (30, 30))
    mid = 0.5 * (e[:, 0].max() + e[:, 1].min())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap warning: the count fixes μ
        mu = mu_from_filling(model, 1, 4000.0, (30, 30), tol=1e-12)
    kt = K_B_EV * 4000.0
    independent = np.sum(1.0 / (1.0 + np.exp((e - mu) / kt))) / e.shape[0]
    assert independent == pytest.approx(1.0, abs=1e-9)
    assert abs(mu - mid) > 0.1


@pytest.mark.parametrize(
    ("n", "match"), [(0, "strictly between"), (2, "strictly between"), (np.nan, "between")]
)
def test_bad_counts_are_errors(n: float, match: str) -> None:
    with pytest.raises(QgmagError, match=match):
        mu_from_filling(qgmag.models.haldane(), n, 0.0, (6, 6))


def test_continuum_models_and_missing_mesh_are_errors() -> None:
    with pytest.raises(QgmagError, match="lattice model"):
        mu_from_filling(qgmag.models.build_model("rashba"), 1.0, 0.0, (10, 10))
    with pytest.raises(QgmagError, match="kmesh is required"):
        mu_from_filling(qgmag.models.haldane(), 1.0, 0.0)


# -- bcc Fe ------------------------------------------------------------------------------------

FE_SCF_FERMI_EV = 17.6255  # wannier90/scf.out: "the Fermi energy is 17.6255 ev"
FE_ELECTRONS = 16 - 8  # scf.out: 16 electrons; Fe.win: exclude_bands = 1-8 (3s, 3p spinors)
QE_WIDTH_EV = 0.02 * sc.physical_constants["Rydberg constant times hc in eV"][0]


def _mp1(x: np.ndarray) -> np.ndarray:
    """First-order Methfessel–Paxton occupation (written out here, independent of qgmag)."""
    return 0.5 * erfc(x) - x * np.exp(-x * x) / (2 * np.sqrt(np.pi))


@pytest.fixture(scope="module")
def fe(shared_data):
    return qgmag.read_wannier90(shared_data / "Fe" / "Fe_tb.dat", spinor_ordering="auto")


def test_fe_fermi_level_on_the_ab_initio_mesh_equals_the_dft_eigenvalues_one(fe, shared_data):
    raw = np.loadtxt(shared_data / "Fe" / "wannier90" / "Fe.eig")
    eig = raw[:, 2].reshape(27, 20)  # 3×3×3 mesh, bands 9-28 of the DFT run
    ef_dft = brentq(
        lambda mu: _mp1((eig - mu) / QE_WIDTH_EV).sum() / 27 - FE_ELECTRONS, 5, 40, xtol=1e-12
    )
    ef = mu_from_filling(
        fe, FE_ELECTRONS, 0.0, (3, 3, 3), smearing=("methfessel-paxton", QE_WIDTH_EV), tol=1e-10
    )
    # the frozen window (<= 30 eV) holds the DFT eigenvalues exactly at these k-points
    assert ef == pytest.approx(ef_dft, abs=1e-6)


def test_fe_fermi_level_on_the_scf_mesh_is_scf_out_within_the_interpolation_error(fe):
    ef = mu_from_filling(
        fe, FE_ELECTRONS, 0.0, (16, 16, 16), smearing=("methfessel-paxton", QE_WIDTH_EV)
    )
    # A 3×3×3 Wannierisation interpolates between 27 ab-initio points: on the ab-initio
    # mesh alone E_F is 17.27 eV (0.36 eV off); the model on QE's own 16³ mesh recovers
    # scf.out's E_F to 0.09 eV (measured), the size of its band interpolation error.
    assert abs(ef - FE_SCF_FERMI_EV) < 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ef0 = mu_from_filling(fe, FE_ELECTRONS, 0.0, (16, 16, 16))  # a metal: no gap warning
    assert abs(ef0 - ef) < 0.05
