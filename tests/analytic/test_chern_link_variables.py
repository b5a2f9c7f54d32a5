"""Chern numbers from integrated Berry curvature against Fukui–Hatsugai–Suzuki link variables.

The link-variable Chern number (J. Phys. Soc. Jpn. 74, 1674 (2005)) is computed here from
scratch: eigenvectors of ``model.hamiltonian`` on an N×N mesh, U(1) links between
neighbouring mesh points, and the plaquette Berry phase -arg(U1 U2 U3* U4*), summed and
divided by 2π. It is an exact integer on any mesh fine enough to resolve the gap, and
independent of qgmag's Berry-curvature formula. In the atomic gauge H(k + G) =
V(G)^† H(k) V(G) with V(G) = diag(exp(i G·τ_j)), so the eigenvector at k + G is V(G)^† u(k)
(used on the links that cross the zone boundary).
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag


def lower_band_vectors(model: qgmag.TightBindingModel, n: int) -> np.ndarray:
    """u(k) of the lowest band on the mesh k = (i b1 + j b2)/n, shape (n, n, n_orb)."""
    frac = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) / n
    k = frac @ model.reciprocal_lattice
    _, vectors = np.linalg.eigh(model.hamiltonian(k))
    return vectors[:, :, 0].reshape(n, n, -1)


def fukui_chern_number(model: qgmag.TightBindingModel, n: int) -> float:
    u = lower_band_vectors(model, n)
    tau = model.positions @ model.lattice
    b = model.reciprocal_lattice
    # eigenvectors one mesh step further along b1 / b2 (wrapped with the boundary twist)
    u1 = np.roll(u, -1, axis=0)
    u1[-1] = u[0] * np.exp(-1j * (tau @ b[0]))[None, :]
    u2 = np.roll(u, -1, axis=1)
    u2[:, -1] = u[:, 0] * np.exp(-1j * (tau @ b[1]))[None, :]
    u12 = np.roll(u1, -1, axis=1)
    u12[:, -1] = u1[:, 0] * np.exp(-1j * (tau @ b[1]))[None, :]

    def link(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = np.sum(x.conj() * y, axis=-1)
        return z / np.abs(z)

    loop = link(u, u1) * link(u1, u12) * link(u12, u2) * link(u2, u)  # k -> k+δ1 -> ... -> k
    orientation = np.sign(np.linalg.det(b))  # +1 when b1 -> b2 turns counter-clockwise
    return float(orientation * np.sum(-np.angle(loop)) / (2 * np.pi))


def integrated_chern_number(model: qgmag.TightBindingModel, n: int) -> float:
    frac = (
        np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) + 0.5
    ) / n
    k = frac @ model.reciprocal_lattice
    omega = qgmag.band_geometry(model, k, quantities=["berry_curvature"]).berry_curvature
    area = abs(np.linalg.det(model.reciprocal_lattice))
    return float(omega.sel(band=0, i="z").sum().item() * area / n**2 / (2 * np.pi))


@pytest.mark.parametrize(
    ("phi", "mass", "topological"),
    [
        (np.pi / 2, 0.1, True),
        (-np.pi / 2, 0.1, True),
        (np.pi / 2, 0.8, False),
        (0.4 * np.pi, -0.2, True),
    ],
)
def test_haldane_integrated_curvature_equals_link_chern_number(
    phi: float, mass: float, topological: bool
) -> None:
    model = qgmag.models.haldane(t1=1.0, t2=0.1, phi=phi, mass=mass)
    links = fukui_chern_number(model, 24)
    assert links == pytest.approx(round(links), abs=1e-9)
    if topological:  # Haldane: |C| = 1 for |mass| < 3√3 |t2 sin φ|, sign follows sin φ
        assert abs(round(links)) == 1
        sign_ref = fukui_chern_number(qgmag.models.haldane(t2=0.1, phi=np.pi / 2, mass=0.1), 24)
        assert round(links) == round(sign_ref) * np.sign(np.sin(phi))
    else:
        assert round(links) == 0
    integral = integrated_chern_number(model, 90)
    assert integral == pytest.approx(round(links), abs=2e-4)


@pytest.mark.parametrize(("m", "expected_abs"), [(1.0, 1), (-1.2, 1), (2.5, 0)])
def test_qi_wu_zhang_integrated_curvature_equals_link_chern_number(
    m: float, expected_abs: int
) -> None:
    model = qgmag.models.qi_wu_zhang(t=1.0, m=m, a=1.3)
    links = fukui_chern_number(model, 24)
    assert round(links) == pytest.approx(links, abs=1e-9)
    assert abs(round(links)) == expected_abs
    if expected_abs:  # the mass sign fixes the chirality: C(-m) = -C(m)
        mirror = fukui_chern_number(qgmag.models.qi_wu_zhang(t=1.0, m=-m, a=1.3), 24)
        assert round(mirror) == -round(links)
    assert integrated_chern_number(model, 90) == pytest.approx(round(links), abs=2e-4)
