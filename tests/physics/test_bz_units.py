"""Every result carries pint-parsable units; each observable equals a by-hand SI sum.

The by-hand side takes the band-resolved quantities of ``qgmag.band_geometry`` on the
same mesh and applies the SPEC §3 formulas with scipy.constants in SI, independently of
qgmag's prefactor code.
"""

from __future__ import annotations

import numpy as np
import pint
import pytest
from scipy import constants as sc

import qgmag

UREG = pint.UnitRegistry()
MU_B = sc.physical_constants["Bohr magneton"][0]
KB = sc.k


def rashba_ferromagnet_square(t=1.0, lam=0.3, jz=0.4, jx=0.15, a=3.0):
    """Single-site spin-1/2 square lattice with Rashba hopping and a tilted exchange field."""
    sx = np.array([[0, 1], [1, 0]], complex)
    sy = np.array([[0, -1j], [1j, 0]], complex)
    sz = np.array([[1, 0], [0, -1]], complex)
    lattice = a * np.eye(2)
    hop = []
    # bond d along x: -t + i lam (sigma x d)_z = -t + i lam (sigma_x d_y - sigma_y d_x)
    for r, (dx, dy) in (((1, 0), (1, 0)), ((0, 1), (0, 1))):
        block = -t * np.eye(2) + 1j * lam * (sx * dy - sy * dx)
        for i in range(2):
            for j in range(2):
                if abs(block[i, j]) > 0:
                    hop.append((i, j, r, block[i, j]))
    # both spin orbitals sit on the same site (positions must be distinct? no: allowed)
    return qgmag.TightBindingModel(
        lattice, [[0, 0], [0, 0]], hop, onsite=jz * sz + jx * sx, spin=0.5 * np.stack([sx, sy, sz])
    )


def fermi(e_j: np.ndarray, mu_j: float, temp: float) -> tuple[np.ndarray, np.ndarray]:
    x = (e_j - mu_j) / (KB * temp)
    f = 1.0 / (np.exp(x) + 1.0)
    return f, -f * (1 - f) / (KB * temp)


def test_units_and_by_hand_si_values() -> None:
    model = rashba_ferromagnet_square()
    n, mu, temp, tau, g_s = 12, -0.5, 300.0, 25.0, 2.0
    quantities = [
        "spin_magnetization",
        "orbital_magnetization",
        "anomalous_hall_conductivity",
        "chern_number",
        "kinetic_spin_extrinsic",
        "kinetic_spin_intrinsic",
        "kinetic_orbital_extrinsic",
        "kinetic_orbital_intrinsic",
    ]
    res = qgmag.compute(  # by-hand sums on the same 12 x 12 mesh: convergence is not the point
        model, quantities, mu=mu, temperature=temp, kmesh=(n, n), tau=tau, g_s=g_s,
        allow_coarse_mesh=True,
    )
    frac = (np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)) / n
    k = frac @ model.reciprocal_lattice
    bg = qgmag.band_geometry(model, k)
    area = model.cell_volume * 1e-20  # m²
    norm = 1.0 / (n * n * area)  # ∫[dk] -> (1/(N A)) Σ_k, SI
    e_j = bg.energy.values * sc.eV
    f, df = fermi(e_j, mu * sc.eV, temp)  # df in 1/J
    spin = bg.spin.values  # <S/ħ>
    omega = bg.berry_curvature.values * 1e-20  # m²
    moment = bg.orbital_moment.values * MU_B  # A m²
    vel = bg.band_velocity.values  # m/s
    phi = bg.spin_berry_curvature.values * sc.hbar * 1e-10 / sc.eV  # ħ Å/eV -> J s m / J
    big_f = bg.magnetoelectric_tensor.values * sc.e * 1e-30 / sc.hbar
    grand = KB * temp * np.log1p(np.exp(-(e_j - mu * sc.eV) / (KB * temp)))

    expected = {
        "spin_magnetization": -g_s * MU_B * norm * np.einsum("kni,kn->i", spin, f),
        "orbital_magnetization": norm
        * (
            np.einsum("kni,kn->i", moment, f)
            + sc.e / sc.hbar * np.einsum("kni,kn->i", omega, grand)
        ),
        "anomalous_hall_conductivity": -(sc.e**2)
        / sc.hbar
        * norm
        * np.einsum("kni,kn->i", omega, f),
        "chern_number": 2 * np.pi / (n * n * area) * np.einsum("kn,kn->", omega[..., 2], f),
        "kinetic_spin_extrinsic": -g_s
        * sc.e
        * tau
        * 1e-15
        * MU_B
        * norm
        * np.einsum("kni,knj,kn->ij", spin, vel, df),
        "kinetic_spin_intrinsic": -g_s
        * sc.e
        * MU_B
        / sc.hbar
        * norm
        * np.einsum("knij,kn->ij", phi, f),
        "kinetic_orbital_extrinsic": sc.e
        * tau
        * 1e-15
        * norm
        * np.einsum("kni,knj,kn->ij", moment, vel, df),
        "kinetic_orbital_intrinsic": sc.e * norm * np.einsum("knij,kn->ij", big_f, f),
    }
    si_units = {
        "spin_magnetization": "A",
        "orbital_magnetization": "A",
        "anomalous_hall_conductivity": "S",
        "chern_number": "dimensionless",
        "kinetic_spin_extrinsic": "A*m/V",
        "kinetic_spin_intrinsic": "A*m/V",
        "kinetic_orbital_extrinsic": "A*m/V",
        "kinetic_orbital_intrinsic": "A*m/V",
    }
    for name in quantities:
        da = res[name].isel(mu=0, temperature=0)
        value = UREG.Quantity(da.values, da.attrs["units"]).to(si_units[name]).magnitude
        exp = expected[name]
        scale = np.abs(exp).max()
        assert scale > 0, name
        np.testing.assert_allclose(value, exp, rtol=1e-9, atol=1e-9 * scale, err_msg=name)
        per_cell = f"{name}_per_cell"
        if per_cell in res:
            pc = res[per_cell].isel(mu=0, temperature=0)
            back = UREG.Quantity(pc.values, pc.attrs["units"]) / UREG.Quantity(area, "m**2")
            np.testing.assert_allclose(
                back.to(si_units[name]).magnitude,
                exp,
                rtol=1e-9,
                atol=1e-9 * scale,
                err_msg=per_cell,
            )


def test_three_dimensional_units_are_per_volume() -> None:
    model = qgmag.models.weyl_lattice()
    res = qgmag.compute(
        model, ["anomalous_hall_conductivity", "orbital_magnetization"], mu=0.1, kmesh=(6, 6, 6)
    )
    assert res.anomalous_hall_conductivity.attrs["units"] == "siemens / centimeter"
    assert res.orbital_magnetization.attrs["units"] == "ampere / meter"
    for var in res.data_vars.values():
        UREG.Quantity(1.0, var.attrs["units"])  # parses


@pytest.mark.parametrize("name", list(qgmag.geometry.BAND_QUANTITIES))
def test_band_quantity_units_parse(name: str) -> None:
    UREG.Quantity(1.0, qgmag.geometry.BAND_QUANTITIES[name][1])
