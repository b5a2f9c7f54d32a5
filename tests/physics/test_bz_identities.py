"""Exact identities of the integrated observables (SPEC §3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants as sc

import qgmag


@pytest.mark.parametrize(
    ("phi", "mass", "chern"), [(np.pi / 2, 0.1, -1), (-np.pi / 2, 0.1, 1), (np.pi / 2, 0.8, 0)]
)
def test_streda_and_integer_chern_number_in_haldane_gap(
    phi: float, mass: float, chern: int
) -> None:
    """In the gap dM^O_z/dμ = C e/h exactly (Streda), C the integer Chern number."""
    model = qgmag.models.haldane(t1=1.0, t2=0.1, phi=phi, mass=mass)
    mus = np.array([-0.02, 0.0, 0.02])
    res = qgmag.compute(model, ["orbital_magnetization", "chern_number"], mu=mus, kmesh=(96, 96))
    c_num = res.chern_number.isel(temperature=0).values
    np.testing.assert_allclose(c_num, chern, atol=1e-6)
    m_z = res.orbital_magnetization.sel(i="z").isel(temperature=0).values  # A
    slope = np.gradient(m_z, mus * sc.eV)  # A per J
    if chern == 0:
        assert np.all(np.abs(slope) < 1e-6 * sc.e / sc.h)
    else:
        np.testing.assert_allclose(slope, chern * sc.e / sc.h, rtol=1e-4)


def test_kane_mele_time_reversal_kills_equilibrium_and_intrinsic_responses() -> None:
    """With T symmetry M^S = M^O = 0 and both intrinsic α vanish; Edelstein does not."""
    model = qgmag.models.kane_mele(lambda_so=0.06, lambda_r=0.05, exchange=0.0, mass=0.1)
    quantities = [
        "spin_magnetization",
        "orbital_magnetization",
        "kinetic_spin_intrinsic",
        "kinetic_orbital_intrinsic",
        "kinetic_spin_extrinsic",
        "kinetic_orbital_extrinsic",
    ]
    res = qgmag.compute(
        model,
        quantities,
        mu=[-1.0, 0.5, 1.2],
        temperature=[0.0, 300.0],
        kmesh=(48, 48),
        smearing=("gaussian", 0.15),
        allow_coarse_mesh=True,  # symmetry zeros hold on any mesh closed under k -> -k
        # without the time-reversal-invariant momenta, where the Rashba term leaves Kramers
        # pairs with a velocity block ≠ v̄ 1 and the per-band F is refused (basis dependent)
        shift=True,
    )
    edelstein = np.abs(res.kinetic_spin_extrinsic).max().item()
    assert edelstein > 0
    for name in quantities[:4]:
        scale = {"spin_magnetization": 1e-3, "orbital_magnetization": 1e-3}.get(name, edelstein)
        assert np.abs(res[name]).max().item() < 1e-12 * scale, name
    # on this shifted mesh too (no k -> -k pairing of mesh points needed beyond the BZ)
    with_exchange = qgmag.models.kane_mele(lambda_so=0.06, lambda_r=0.05, exchange=0.1, mass=0.1)
    broken = qgmag.compute(
        with_exchange,
        ["spin_magnetization", "kinetic_orbital_intrinsic"],
        mu=0.5,
        kmesh=(36, 36),
        shift=True,
    )
    assert np.abs(broken.spin_magnetization).max().item() > 1e-9


def test_pt_antiferromagnet_total_spin_edelstein_vanishes_and_gauge_invariance() -> None:
    """PT: Kramers pairs at every k. The T-even responses odd under PT (total-spin and
    orbital Edelstein, M^S, M^O) vanish; the T-odd intrinsic ones survive. Rotating every
    Kramers pair by a random unitary changes no observable."""
    model = qgmag.models.pt_antiferromagnet(direction=(1.0, 1.0, 1.0))
    quantities = [
        "kinetic_spin_extrinsic",
        "kinetic_spin_intrinsic",
        "kinetic_orbital_intrinsic",
        "kinetic_orbital_extrinsic",
        "spin_magnetization",
        "orbital_magnetization",
    ]
    kw = dict(
        mu=[-1.0, 0.0, 0.7],
        temperature=[0.0, 200.0],
        kmesh=(48, 48),
        shift=True,
        smearing=("gaussian", 0.2),
        allow_coarse_mesh=True,  # symmetry zeros and gauge invariance hold on any mesh
    )
    plain = qgmag.compute(model, quantities, **kw)
    rotated = qgmag.compute(model, quantities, gauge_seed=7, **kw)
    kinetic = max(np.abs(plain[q]).max().item() for q in quantities[:4])
    magnetization = sc.physical_constants["Bohr magneton"][0] / (model.cell_volume * 1e-20)  # A
    for name in ("kinetic_spin_intrinsic", "kinetic_orbital_intrinsic"):
        assert np.abs(plain[name]).max().item() > 0.1 * kinetic, name
    for name in ("kinetic_spin_extrinsic", "kinetic_orbital_extrinsic"):
        assert np.abs(plain[name]).max().item() < 1e-10 * kinetic, name
    for name in ("spin_magnetization", "orbital_magnetization"):
        assert np.abs(plain[name]).max().item() < 1e-12 * magnetization, name
    for name in quantities:
        scale = magnetization if name.endswith("magnetization") else kinetic
        np.testing.assert_allclose(
            rotated[name], plain[name], rtol=0, atol=1e-12 * scale, err_msg=name
        )


def anisotropic_haldane(t1=(1.0, 1.0, 1.4), t2=0.1, phi=0.9, mass=0.8, a=2.46):
    """Haldane model with one stronger nearest-neighbour bond: breaks T, P and C3."""
    a1, a2 = np.array([1.0, 0.0]), np.array([0.5, np.sqrt(3) / 2])
    nn = ((0, 0), (-1, 0), (0, -1))
    hoppings = [(0, 1, r, t) for r, t in zip(nn, t1, strict=True)]
    for r in ((1, 0), (-1, 1), (0, -1)):
        hoppings += [(0, 0, r, t2 * np.exp(1j * phi)), (1, 1, r, t2 * np.exp(-1j * phi))]
    return qgmag.TightBindingModel(
        a * np.array([a1, a2]), [[1 / 3, 1 / 3], [2 / 3, 2 / 3]], hoppings, onsite=[mass, -mass]
    )


def test_orbital_magnetization_is_continuous_as_temperature_goes_to_zero() -> None:
    """M^O(T) -> the T = 0 formula: insulator flat, metal M0 + c T² (Sommerfeld)."""
    model = qgmag.models.haldane(t2=0.1, mass=0.1)
    temps = np.array([0.0, 25.0, 50.0, 100.0, 200.0])
    res = qgmag.compute(
        model,
        "orbital_magnetization",
        mu=[0.0, 1.2],
        temperature=temps,
        kmesh=(800, 800),
        shift=True,
    )
    m = res.orbital_magnetization.sel(i="z").values  # (mu, T)
    metal = m[1]
    # insulator: exponentially flat (its value may be 0: round-off is measured on the metal's scale)
    np.testing.assert_allclose(m[0, 1:], m[0, 0], rtol=1e-9, atol=1e-12 * np.abs(metal).max())
    # fit M0 + c T² + d T⁴ to the finite temperatures, extrapolate to T = 0
    fit = np.polynomial.polynomial.polyfit(temps[2:] ** 2, metal[2:], 2)
    assert fit[0] == pytest.approx(metal[0], rel=1e-4)
    assert abs(metal[1] - metal[0]) < abs(metal[2] - metal[0]) < abs(metal[3] - metal[0])


def test_metric_dipole_forms_agree_and_results_do_not_depend_on_chunking() -> None:
    """∫ ∂g f0 (analytic ∂²H) equals the by-parts −∫ g v f0' for non-degenerate bands."""
    model = anisotropic_haldane()
    kw = dict(mu=[-1.5, -0.2, 1.1], temperature=[300.0], kmesh=(240, 240), shift=True)
    analytic = qgmag.compute(model, "kinetic_orbital_intrinsic", **kw)
    by_parts = qgmag.compute(
        model, "kinetic_orbital_intrinsic", metric_dipole="fermi_surface", **kw
    )
    a = analytic.kinetic_orbital_intrinsic
    scale = np.abs(a).max().item()
    assert scale > 0
    np.testing.assert_allclose(by_parts.kinetic_orbital_intrinsic, a, rtol=0, atol=1e-5 * scale)
    chunked = qgmag.compute(model, "kinetic_orbital_intrinsic", chunk_size=997, **kw)
    np.testing.assert_allclose(chunked.kinetic_orbital_intrinsic, a, rtol=1e-12, atol=1e-12 * scale)


def test_convergence_report_shrinks_with_mesh() -> None:
    model = qgmag.models.haldane(t2=0.1, mass=0.1)
    errs = []
    for n in (24, 48):
        res = qgmag.compute(
            model,
            "orbital_magnetization",
            mu=1.0,
            temperature=300.0,
            kmesh=(n, n),
            convergence_check=True,
        )
        err = res.orbital_magnetization_error.sel(i="z").item()
        assert res.orbital_magnetization_error.attrs["units"] == "ampere"
        errs.append(err)
    assert errs[1] < errs[0]
