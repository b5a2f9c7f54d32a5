"""k-resolved geometry of the 2D massive Dirac model against its closed forms (SPEC §2).

H = v(ξ k_x σ_x + k_y σ_y) + m σ_z + w k_x σ_0, d = sqrt(v²k² + m²). With d̂ = (ξ v k_x, v k_y,
m)/d, the two-band formulas Ω_c = -(1/2) d̂·(∂_x d̂ × ∂_y d̂) = -ξ m v²/(2d³),
Ω_v = -Ω_c, m_c = m_v = (e/ħ) d Ω_c and g_ab = (1/4) ∂_a d̂·∂_b d̂
= v²(d² δ_ab - v² k_a k_b)/(4 d⁴) (the same in both valleys) are derived by hand; the tilt w
changes neither the eigenvectors nor the interband velocity matrix elements, so none of
these depends on it. Constants come from scipy.constants.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants as sc

import qgmag

MU_B = sc.physical_constants["Bohr magneton"][0]


@pytest.mark.parametrize(
    ("v", "m", "tilt", "valley"),
    [(1.0, 0.1, 0.0, 1), (2.3, -0.4, 0.0, 1), (1.7, 0.25, 0.8, 1), (1.2, 0.3, -0.5, -1)],
)
def test_berry_curvature_orbital_moment_and_metric_equal_closed_forms(
    v: float, m: float, tilt: float, valley: int
) -> None:
    rng = np.random.default_rng(11)
    k = rng.uniform(-0.8, 0.8, size=(64, 2))
    k[0] = 0.0  # the band edge, d = |m|
    model = qgmag.models.massive_dirac(v=v, m=m, tilt=tilt, valley=valley, k_max=2.0)
    ds = qgmag.band_geometry(model, k)

    d = np.hypot(v * np.hypot(k[:, 0], k[:, 1]), m)
    omega_c = -valley * m * v**2 / (2 * d**3)  # Å²
    moment = sc.e / sc.hbar * (d * sc.eV) * (omega_c * sc.angstrom**2) / MU_B  # μ_B

    np.testing.assert_allclose(
        ds.energy.values, np.stack([-d, d], axis=1) + tilt * k[:, :1], rtol=1e-12, atol=0
    )
    omega = ds.berry_curvature.sel(i="z").values
    np.testing.assert_allclose(omega[:, 1], omega_c, rtol=1e-10, atol=0)
    np.testing.assert_allclose(omega[:, 0], -omega_c, rtol=1e-10, atol=0)
    mz = ds.orbital_moment.sel(i="z").values
    np.testing.assert_allclose(mz[:, 1], moment, rtol=1e-10, atol=0)
    np.testing.assert_allclose(mz[:, 0], moment, rtol=1e-10, atol=0)
    # in-plane pseudovector components of a 2D model vanish identically
    assert np.all(ds.berry_curvature.sel(i=["x", "y"]).values == 0)
    assert np.all(ds.orbital_moment.sel(i=["x", "y"]).values == 0)

    metric = v**2 * (d[:, None, None] ** 2 * np.eye(2) - v**2 * k[:, :, None] * k[:, None, :])
    metric /= 4 * d[:, None, None] ** 4
    g = ds.quantum_metric.sel(i=["x", "y"]).values  # (k, band, 2, 2)
    for band in (0, 1):
        np.testing.assert_allclose(g[:, band], metric, rtol=1e-10, atol=1e-12 * metric.max())


def test_orbital_moment_units_and_sign_at_band_edge() -> None:
    """At the band edge k = 0 both bands carry m^z = -e m v²/(2ħ d²) = -e v²/(2ħ m), written
    here in SI from scipy.constants and converted to Bohr magnetons."""
    v, m = 1.0, 0.1
    ds = qgmag.band_geometry(qgmag.models.massive_dirac(v=v, m=m), np.zeros((1, 2)))
    expected = (
        -sc.e * (m * sc.eV) * (v * sc.eV * sc.angstrom) ** 2 / (2 * sc.hbar * (m * sc.eV) ** 2)
    )  # A m², = -e m v²/(2ħ d²) at d = m
    assert ds.orbital_moment.attrs["units"] == "bohr_magneton"
    assert ds.berry_curvature.attrs["units"] == "angstrom**2"
    np.testing.assert_allclose(ds.orbital_moment.sel(i="z").values[0], expected / MU_B, rtol=1e-12)
