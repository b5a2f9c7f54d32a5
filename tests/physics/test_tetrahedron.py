"""Tetrahedron integration of Fermi-surface terms (qgmag.integrate.tetrahedron).

Independent facts: exact moments of the linear delta-function weights of one
tetrahedron / triangle; the density of states of the simple-cubic and square-lattice
cosine bands (elliptic-integral closed forms, Economou's Green's Functions in Quantum
Physics §5.3); O(h^2) convergence of the linear rule; agreement with the point mesh
where the latter converges (high temperature).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ellipk

import qgmag
from qgmag.errors import QgmagError
from qgmag.integrate.tetrahedron import (
    OPTIMIZED_W,
    TetrahedronRule,
    tetra_delta_weights,
    tetrahedra_offsets,
    triangle_delta_weights,
)
from qgmag.kspace.mesh import make_mesh

T_HOP = 1.0  # eV


def cosine_band(dim: int, a: float = 1.0) -> qgmag.TightBindingModel:
    """One band ε = -2t Σ_a cos(k_a a) on a simple cubic / square lattice."""
    vectors = [[0] * dim]
    for axis in range(dim):
        for sign in (1, -1):
            v = [0] * dim
            v[axis] = sign
            vectors.append(v)
    mats = np.array([[[0.0]]] + [[[-T_HOP]]] * (2 * dim), dtype=complex)
    return qgmag.TightBindingModel.from_arrays(
        a * np.eye(dim), np.zeros((1, dim)), np.array(vectors), mats
    )


def dos_square(eps: np.ndarray) -> np.ndarray:
    """Square-lattice DOS per cell: K(1 - (ε/4t)²)/(2π² t) for |ε| < 4t (ellipk takes m = k²)."""
    eps = np.asarray(eps, dtype=float)
    inside = np.abs(eps) < 4 * T_HOP
    m = 1.0 - (np.where(inside, eps, 0.0) / (4 * T_HOP)) ** 2
    return np.where(inside, ellipk(m) / (2 * np.pi**2 * T_HOP), 0.0)


def dos_cubic(energy: float) -> float:
    """Simple-cubic DOS per cell: (1/π) ∫_0^π D_square(E - 2t cos θ) dθ (the z chain's DOS
    is 1/(π√(4t² - ε²)), substituted by ε = 2t cos θ)."""
    points = [  # the square DOS jumps at ±4t and diverges (log) at 0
        np.arccos(x)
        for x in ((energy + 4 * T_HOP) / (2 * T_HOP), (energy - 4 * T_HOP) / (2 * T_HOP))
        + (energy / (2 * T_HOP),)
        if -1 < x < 1
    ]
    val, _ = integrate.quad(
        lambda th: dos_square(energy - 2 * T_HOP * np.cos(th)),
        0,
        np.pi,
        points=points or None,
        epsabs=1e-13,
        epsrel=1e-12,
        limit=400,
    )
    return val / np.pi


def rule_dos(model, n, kind, energy, temperature=0.0, smearing=None):
    mesh = make_mesh(model, (n,) * model.dim)
    rule = TetrahedronRule.build(
        model, mesh, kind, np.array([energy]), np.array([temperature]), smearing, 4096
    )
    return -rule.weights.sum() * model.cell_volume  # f0' weights -> DOS per cell


def _piecewise_nodes(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on each interval between sorted corner energies (the
    weights are polynomials of degree <= 3 in E there, so 6 nodes integrate exactly)."""
    x, c = np.polynomial.legendre.leggauss(6)
    nodes, weights = [], []
    for lo, hi in zip(corners[:-1], corners[1:], strict=True):
        nodes.append(lo + (hi - lo) * (x + 1) / 2)
        weights.append((hi - lo) * c / 2)
    return np.concatenate(nodes), np.concatenate(weights)


def test_tetrahedron_weight_moments():
    rng = np.random.default_rng(1)
    e = np.sort(rng.normal(size=(5, 4)), axis=1)
    e[1, 2] = e[1, 1]  # degenerate corners
    e[2, 1:] = e[2, 0] + 0.3
    for m in range(5):
        grid, c = _piecewise_nodes(e[m])
        w = tetra_delta_weights(e[m : m + 1], grid[None])[0]
        corner = c @ w  # ∫ w_i dE = ∫ λ_i dV / V = 1/4
        first = (c * grid) @ w  # ∫ λ_i ε dV / V = (Σ_j e_j + e_i)/20
        np.testing.assert_allclose(corner, 0.25, atol=1e-13)
        np.testing.assert_allclose(first, (e[m].sum() + e[m]) / 20, atol=1e-13)
        # Σ_i w_i ε_i = E Σ_i w_i (ε is linear: the centroid of the cross-section is at E)
        np.testing.assert_allclose(w @ e[m], grid * w.sum(axis=1), atol=1e-12)


def test_triangle_weight_moments():
    rng = np.random.default_rng(2)
    e = np.sort(rng.normal(size=(4, 3)), axis=1)
    for m in range(4):
        grid, c = _piecewise_nodes(e[m])
        w = triangle_delta_weights(e[m : m + 1], grid[None])[0]
        np.testing.assert_allclose(c @ w, 1 / 3, atol=1e-13)
        np.testing.assert_allclose((c * grid) @ w, (e[m].sum() + e[m]) / 12, atol=1e-13)


def test_optimized_matrix_is_exact_for_quadratic_means():
    """Kawamura's ε_eff = W ε_20: linear functions unchanged, and the mean of the linear
    interpolant equals the exact tetrahedron mean of any quadratic."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 3))
    a = a + a.T
    b = rng.normal(size=3)

    def f(k):
        return np.einsum("...i,ij,...j->...", k, a, k) + k @ b

    for k in tetrahedra_offsets(np.eye(3), (1, 1, 1), 20).astype(float):
        v = k[:4]
        np.testing.assert_allclose(OPTIMIZED_W @ k, v, atol=1e-14)
        exact = (
            -np.mean(f(v)) / 5
            + sum(f((v[i] + v[j]) / 2) for i in range(4) for j in range(i + 1, 4)) / 5
        )  # exact mean of a quadratic over a tetrahedron
        np.testing.assert_allclose(np.mean(OPTIMIZED_W @ f(k)), exact, atol=1e-13)


def test_simple_cubic_dos_and_convergence_order():
    model = cosine_band(3)
    energy = -4.5
    ref = dos_cubic(energy)
    errors = [abs(rule_dos(model, n, "linear-tetrahedron", energy) / ref - 1) for n in (16, 32)]
    assert errors[1] < 6e-3
    assert 3.0 < errors[0] / errors[1] < 5.0  # O(h^2)
    optimized = abs(rule_dos(model, 32, "tetrahedron", energy) / ref - 1)
    assert optimized < 1e-3 and optimized < errors[1] / 4


def test_square_lattice_dos():
    model = cosine_band(2)
    for energy in (-3.0, -1.2, 0.7):
        ref = float(dos_square(energy))
        coarse, fine = (
            abs(rule_dos(model, n, "linear-tetrahedron", energy) / ref - 1) for n in (96, 192)
        )
        assert fine < 1.5e-3 and fine < coarse / 2.5


def test_temperature_quadrature_matches_convolved_dos():
    """At T > 0 the rule gives ∫ dE (-f0') D(E) of the interpolated bands: compare with the
    exact DOS convolved with -f0' (kT = 86 meV, smooth part of the cubic DOS)."""
    model = cosine_band(3)
    mu, temp = -4.5, 1000.0
    kt = qgmag.constants.BOLTZMANN_EV * temp
    x = np.linspace(-20, 20, 801)  # tails beyond 20 kT: e^-20
    minus_df = 0.25 / np.cosh(x / 2) ** 2 / kt
    ref = np.trapezoid(minus_df * np.array([dos_cubic(mu + kt * xi) for xi in x]), kt * x)
    got = rule_dos(model, 32, "tetrahedron", mu, temperature=temp)
    assert abs(got / ref - 1) < 1e-3


def _rashba_exchange(lam=0.3, exchange=0.2, tz=0.5):
    """Cubic 2-band model: -2t(cos kx + cos ky) - 2 tz cos kz + λ(sin ky σx - sin kx σy)
    + J σz, a = 3 Å; S = σ/2. A metal with a Rashba-split Fermi surface (Edelstein
    response kinetic_spin_extrinsic ≠ 0)."""
    sx = np.array([[0, 1], [1, 0]], dtype=complex)
    sy = np.array([[0, -1j], [1j, 0]])
    sz = np.diag([1.0 + 0j, -1.0])
    one = np.eye(2, dtype=complex)
    vec = [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    mats = [
        exchange * sz,
        -T_HOP * one + 0.5j * lam * sy,
        -T_HOP * one - 0.5j * lam * sy,
        -T_HOP * one - 0.5j * lam * sx,
        -T_HOP * one + 0.5j * lam * sx,
        -tz * one,
        -tz * one,
    ]
    return qgmag.TightBindingModel.from_arrays(
        3.0 * np.eye(3),
        np.zeros((2, 3)),
        np.array(vec),
        np.array(mats),
        spin=np.stack([sx, sy, sz]) / 2,
        name="cubic Rashba + exchange",
    )


def test_compute_tetrahedron_agrees_with_converged_mesh():
    """kinetic_spin_extrinsic at 1500 K: the point mesh converges there; both rules agree."""
    model = _rashba_exchange()
    kw = {"mu": [-1.0], "temperature": 1500.0}
    mesh = qgmag.compute(
        model, ["kinetic_spin_extrinsic"], kmesh=(48,) * 3, allow_coarse_mesh=True, **kw
    )  # the point mesh the rule is compared with, as converged as the test affords
    tetra = qgmag.compute(
        model, ["kinetic_spin_extrinsic"], kmesh=(24,) * 3, integration="tetrahedron", **kw
    )
    ref = mesh["kinetic_spin_extrinsic"].values
    scale = np.max(np.abs(ref))
    assert scale > 0
    np.testing.assert_allclose(tetra["kinetic_spin_extrinsic"].values, ref, atol=2e-3 * scale)
    assert tetra.attrs["integration"] == "tetrahedron"


def test_fermi_sea_terms_unchanged_and_zero_temperature_needs_no_smearing():
    model = _rashba_exchange()
    q = ["kinetic_spin_extrinsic", "anomalous_hall_conductivity"]
    a = qgmag.compute(model, q, mu=-1.0, kmesh=(8,) * 3, smearing=0.05, allow_coarse_mesh=True)
    b = qgmag.compute(model, q, mu=-1.0, kmesh=(8,) * 3, smearing=0.05, integration="tetrahedron")
    np.testing.assert_array_equal(
        a["anomalous_hall_conductivity"].values, b["anomalous_hall_conductivity"].values
    )
    # T = 0 without smearing: the exact delta function, no error; the limit of small T
    zero = qgmag.compute(model, q[:1], mu=-1.0, kmesh=(12,) * 3, integration="tetrahedron")
    cold = qgmag.compute(
        model, q[:1], mu=-1.0, temperature=1.0, kmesh=(12,) * 3, integration="tetrahedron"
    )
    ref = cold["kinetic_spin_extrinsic"].values
    np.testing.assert_allclose(
        zero["kinetic_spin_extrinsic"].values, ref, atol=1e-3 * np.max(np.abs(ref))
    )


def test_refusals():
    model = _rashba_exchange()
    with pytest.raises(QgmagError, match="integration must be one of"):
        qgmag.compute(model, ["kinetic_spin_extrinsic"], 0.0, 100.0, (4, 4, 4), integration="x")
    with pytest.raises(QgmagError, match="not monotonic"):
        qgmag.compute(
            model,
            ["kinetic_spin_extrinsic"],
            0.0,
            kmesh=(4, 4, 4),
            smearing=("methfessel-paxton", 0.1),
            integration="tetrahedron",
        )
    with pytest.raises(QgmagError, match="linear-tetrahedron"):
        qgmag.compute(
            cosine_band(2),
            ["kinetic_orbital_extrinsic"],
            0.0,
            100.0,
            (6, 6),
            integration="tetrahedron",
        )
    continuum = qgmag.models.continuum_models.massive_dirac()
    with pytest.raises(QgmagError, match="full uniform k-mesh"):
        qgmag.compute(
            continuum, ["kinetic_orbital_extrinsic"], 0.0, 100.0, (8, 8), integration="tetrahedron"
        )


def test_checkpoint_records_the_rule(tmp_path):
    """A checkpoint of a point-mesh run does not resume a tetrahedron run."""
    from qgmag.checkpoint import plan_record
    from qgmag.integrate.driver import _select_observables, build_plan, with_tetrahedra

    model = _rashba_exchange()
    plan = build_plan(
        model,
        _select_observables(["kinetic_spin_extrinsic"], model),
        np.array([-1.0]),
        np.array([10.0]),
        make_mesh(model, (4, 4, 4)),
        smearing=None,
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=None,
    )
    tetra = with_tetrahedra(model, plan, "tetrahedron", np.array([-1.0]), np.array([10.0]), None)
    assert plan_record(plan) != plan_record(tetra)
    assert plan_record(tetra)["integration"]["rule"] == "tetrahedron"
