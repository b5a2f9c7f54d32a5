"""Quantum metric and Berry curvature against finite overlaps of Bloch eigenvectors.

Independent definitions, evaluated with our own diagonalisation of ``model.hamiltonian``
(atomic gauge, cell-periodic eigenvectors u(k)):

* metric: for a band set D (one band, or a whole degenerate set),
  Tr_D g_ab dk_a dk_b = Σ_{n∈D} Σ_{m∉D} |<u_m(k)|u_n(k+dk)>|² + O(dk³)
  (= Tr P_D(k+dk)[1 - P_D(k)], the fidelity distance); averaging ±dk removes the odd orders
  and a Richardson step over two sizes of dk the O(dk⁴) one.
* curvature: the Berry phase around a small counter-clockwise square of side h in the (a, b)
  plane, γ = -arg Π det<u_D(k_i)|u_D(k_{i+1})>, equals Tr_D Ω^{ab} h² + O(h⁴); two sizes
  and a Richardson step remove the h⁴ term.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag

MODELS = {
    "haldane": lambda: qgmag.models.haldane(t2=0.15, phi=1.1, mass=0.2),
    "qi_wu_zhang": lambda: qgmag.models.qi_wu_zhang(m=0.7, a=1.4),
    "kane_mele_magnetic": lambda: qgmag.models.kane_mele(lambda_r=0.1, exchange=0.07, mass=0.1),
    "bhz_bia": lambda: qgmag.models.bhz(bia=0.15, D=0.1),
    "bhz_low_symmetry": lambda: t_symmetric_perturbation(qgmag.models.bhz(bia=0.15), seed=4),
    "pt_antiferromagnet": lambda: qgmag.models.pt_antiferromagnet(direction=(0.3, 0.5, 1.0)),
    "weyl_lattice": lambda: qgmag.models.weyl_lattice(),
    "massive_dirac_tilted": lambda: qgmag.models.massive_dirac(v=1.5, m=0.3, tilt=0.4),
    "rashba_magnetic": lambda: qgmag.models.rashba(alpha=0.5, exchange=0.2),
}


def t_symmetric_perturbation(model: qgmag.TightBindingModel, seed: int, size: float = 0.2):
    """model + X + Θ X Θ^-1 on site (X random Hermitian, Θ = i s_y K, spin-fastest basis):
    keeps time reversal, breaks every crystal symmetry (BHZ's C2z·T forces Ω ≡ 0)."""
    rng = np.random.default_rng(seed)
    n = model.n_bands
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    x = size * (x + x.conj().T) / 4
    theta = np.kron(np.eye(n // 2), [[0, 1], [-1, 0]])
    extra = x + theta @ x.conj() @ theta.T
    mats = np.array(model.hopping_matrices)
    mats[np.flatnonzero(~model.hopping_vectors.any(axis=1))[0]] += extra
    return qgmag.TightBindingModel.from_arrays(
        model.lattice, model.positions, model.hopping_vectors, mats, spin=model.spin
    )


def band_sets(energy: np.ndarray, tol: float = 1e-6) -> list[list[int]]:
    sets, start = [], 0
    for n in range(1, len(energy) + 1):
        if n == len(energy) or energy[n] - energy[n - 1] > tol:
            sets.append(list(range(start, n)))
            start = n
    return sets


def eigvecs(model, k: np.ndarray) -> np.ndarray:
    return np.linalg.eigh(model.hamiltonian(np.atleast_2d(k)))[1]


def fidelity(u0: np.ndarray, u1: np.ndarray, group: list[int]) -> float:
    """Σ_{n∈D} Σ_{m∉D} |<u_m(k)|u_n(k+dk)>|²."""
    others = [m for m in range(u0.shape[1]) if m not in group]
    c = u0[:, others].conj().T @ u1[:, group]
    return float(np.sum(np.abs(c) ** 2))


def plaquette_phase(model, k: np.ndarray, a: int, b: int, h: float, group: list[int]) -> float:
    ea, eb = np.eye(model.dim)[a] * h / 2, np.eye(model.dim)[b] * h / 2
    corners = np.array([k - ea - eb, k + ea - eb, k + ea + eb, k - ea + eb])
    u = np.linalg.eigh(model.hamiltonian(corners))[1][:, :, group]
    loop = 1.0 + 0j
    for i in range(4):
        z = np.linalg.det(u[i].conj().T @ u[(i + 1) % 4])
        loop *= z / abs(z)
    return float(-np.angle(loop))


def generic_kpoints(model, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if isinstance(model, qgmag.ContinuumModel):
        return rng.uniform(-0.6, 0.6, size=(n, model.dim))
    return rng.uniform(0, 1, size=(n, model.dim)) @ model.reciprocal_lattice


@pytest.mark.parametrize("name", list(MODELS))
def test_quantum_metric_equals_overlap_metric(name: str) -> None:
    model = MODELS[name]()
    d, h = model.dim, 2e-4
    k = generic_kpoints(model, 4, seed=3)
    ds = qgmag.band_geometry(model, k, quantities=["energy", "quantum_metric"])
    g = ds.quantum_metric.values[:, :, :d, :]  # (k, band, d, d)
    rng = np.random.default_rng(5)
    checked = 0
    for ik, kp in enumerate(k):
        u0 = eigvecs(model, kp)[0]
        sets = band_sets(ds.energy.values[ik])
        for _ in range(3):
            e = rng.normal(size=d)
            e /= np.linalg.norm(e)
            shifted = {s: eigvecs(model, kp + s * e)[0] for s in (h, -h, h / 2, -h / 2)}
            for group in sets:
                coarse, fine = (
                    0.5
                    * (fidelity(u0, shifted[s], group) + fidelity(u0, shifted[-s], group))
                    / s**2
                    for s in (h, h / 2)
                )
                overlap = (4 * fine - coarse) / 3  # Richardson: removes the O(dk²) error
                expected = sum(e @ g[ik, n] @ e for n in group)
                assert overlap == pytest.approx(expected, rel=1e-6, abs=1e-9), (ik, group)
                checked += 1
    assert checked >= 12


@pytest.mark.parametrize("name", list(MODELS))
def test_berry_curvature_equals_small_plaquette_berry_phase(name: str) -> None:
    model = MODELS[name]()
    d = model.dim
    k = generic_kpoints(model, 3, seed=8)
    ds = qgmag.band_geometry(model, k, quantities=["energy", "berry_curvature"])
    omega = ds.berry_curvature.values  # (k, band, i) vector form: Ω^z = Ω^{xy}, ...
    planes = [(0, 1, 2)] if d == 2 else [(1, 2, 0), (2, 0, 1), (0, 1, 2)]
    # Ω ≡ 0 by symmetry for some models (C2z·T in BHZ, PT for set sums): floor of 1 Å²
    scale = max(np.abs(omega).max(), 1.0)
    h = 2e-3
    for ik, kp in enumerate(k):
        for group in band_sets(ds.energy.values[ik]):
            for a, b, c in planes:
                coarse = plaquette_phase(model, kp, a, b, h, group) / h**2
                fine = plaquette_phase(model, kp, a, b, h / 2, group) / (h / 2) ** 2
                richardson = (4 * fine - coarse) / 3
                expected = sum(omega[ik, n, c] for n in group)
                assert richardson == pytest.approx(expected, rel=1e-6, abs=1e-8 * scale), (
                    ik,
                    group,
                    c,
                )
