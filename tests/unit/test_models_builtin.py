"""Built-in models: registry, the Hamiltonians stated in their docstrings, symmetries."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import qgmag
from qgmag.models import BUILTIN_MODELS

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.array([[1, 0], [0, -1]], complex)
S0 = np.eye(2, dtype=complex)
EIGHT = {
    "massive_dirac",
    "rashba",
    "haldane",
    "kane_mele",
    "qi_wu_zhang",
    "bhz",
    "pt_antiferromagnet",
    "weyl_lattice",
}


def random_k(model, n: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if isinstance(model, qgmag.ContinuumModel):
        return rng.uniform(-1, 1, size=(n, model.dim))
    return rng.uniform(0, 1, size=(n, model.dim)) @ model.reciprocal_lattice


def time_reversal(h: np.ndarray) -> np.ndarray:
    """Θ H Θ^-1 with Θ = (1 ⊗ i s_y) K in the spin-fastest basis."""
    u = np.kron(np.eye(h.shape[-1] // 2), 1j * SY)
    return u @ h.conj() @ u.conj().T


# -- registry ---------------------------------------------------------------------------------


def test_registry_lists_the_eight_builtin_models() -> None:
    assert set(BUILTIN_MODELS) == EIGHT
    for name in EIGHT:
        assert getattr(qgmag.models, name) is BUILTIN_MODELS[name]
        assert name in qgmag.models.__all__


@pytest.mark.parametrize("name", sorted(EIGHT))
def test_builtin_model_records_name_parameters_and_is_hermitian(name: str) -> None:
    model = qgmag.models.build_model(name)
    signature = inspect.signature(BUILTIN_MODELS[name])
    defaults = {p.name: p.default for p in signature.parameters.values()}
    assert model.name == name
    assert model.parameters == defaults
    assert model.summary()["name"] == name
    assert BUILTIN_MODELS[name].__doc__ and "H" in BUILTIN_MODELS[name].__doc__
    h = model.hamiltonian(random_k(model))
    np.testing.assert_allclose(h, np.conj(np.swapaxes(h, -1, -2)), rtol=0, atol=1e-14)
    if model.spin is not None:  # S/ħ = σ/2: su(2) algebra and S² = 3/4
        sx, sy, sz = model.spin
        np.testing.assert_allclose(sx @ sy - sy @ sx, 1j * sz, atol=1e-15)
        np.testing.assert_allclose(
            sx @ sx + sy @ sy + sz @ sz, 0.75 * np.eye(model.n_bands), atol=1e-15
        )


def test_parameters_are_passed_through() -> None:
    model = qgmag.models.build_model("pt_antiferromagnet", exchange=0.5, direction=(1, 0, 0))
    assert model.parameters["exchange"] == 0.5
    assert model.parameters["direction"] == (1.0, 0.0, 0.0)
    assert qgmag.models.kane_mele(lambda_r=0.2).parameters["lambda_r"] == 0.2


# -- Hamiltonians as written in the docstrings ------------------------------------------------


def test_qi_wu_zhang_hamiltonian() -> None:
    t, m, a = 0.7, -1.3, 1.6
    model = qgmag.models.qi_wu_zhang(t=t, m=m, a=a)
    k = random_k(model)
    expected = [
        t * np.sin(x * a) * SX
        + t * np.sin(y * a) * SY
        + (m + t * np.cos(x * a) + t * np.cos(y * a)) * SZ
        for x, y in k
    ]
    np.testing.assert_allclose(model.hamiltonian(k), expected, atol=1e-14)


def test_weyl_lattice_hamiltonian_and_nodes() -> None:
    t, m, tz, a = 0.9, 0.4, 1.1, 2.0
    model = qgmag.models.weyl_lattice(t=t, m=m, tz=tz, a=a)
    k = random_k(model)
    expected = [
        t * np.sin(x * a) * SX
        + t * np.sin(y * a) * SY
        + (m + t * (2 - np.cos(x * a) - np.cos(y * a)) - tz * np.cos(z * a)) * SZ
        for x, y, z in k
    ]
    np.testing.assert_allclose(model.hamiltonian(k), expected, atol=1e-14)
    # exactly one pair of nodes at (0, 0, ±arccos(m/tz)/a): gap closes there and nowhere
    # else on a mesh that contains them (kz = ±arccos(m/tz)/a is added to the kz grid)
    kz_node = np.arccos(m / tz) / a
    e = np.linalg.eigvalsh(model.hamiltonian([[0, 0, kz_node], [0, 0, -kz_node]]))
    np.testing.assert_allclose(e[:, 1] - e[:, 0], 0, atol=1e-12)
    grid = np.arange(24) * 2 * np.pi / (24 * a)
    kz = np.concatenate([grid, [kz_node, 2 * np.pi / a - kz_node]])
    mesh = np.stack(np.meshgrid(grid, grid, kz, indexing="ij"), -1).reshape(-1, 3)
    gap = np.diff(np.linalg.eigvalsh(model.hamiltonian(mesh)), axis=1)[:, 0]
    assert np.count_nonzero(gap < 1e-9) == 2


def test_bhz_hamiltonian() -> None:
    A, B, M, D, bia, a = 0.9, -1.1, -0.7, 0.2, 0.15, 1.3  # noqa: N806
    model = qgmag.models.bhz(A=A, B=B, M=M, D=D, bia=bia, a=a)
    k = random_k(model)

    def h(x: float, y: float) -> np.ndarray:
        f = 2 - np.cos(x * a) - np.cos(y * a)
        return (
            -2 * D * f * S0 + A * np.sin(x * a) * SX + A * np.sin(y * a) * SY + (M - 2 * B * f) * SZ
        )

    perm = [0, 2, 1, 3]  # block basis (E↑, H↑, E↓, H↓) -> spin-fastest (E↑, E↓, H↑, H↓)
    expected = []
    for x, y in k:
        big = np.zeros((4, 4), complex)
        big[:2, :2], big[2:, 2:] = h(x, y), h(-x, -y).conj()
        expected.append(big[np.ix_(perm, perm)] + bia * np.kron(SY, SY))
    np.testing.assert_allclose(model.hamiltonian(k), expected, atol=1e-14)


def test_pt_antiferromagnet_bloch_hamiltonian() -> None:
    """H_AA = 2t2(cx + cy) + 2λ(σ_x sin k_y a - σ_y sin k_x a) + J n·σ, H_BB with -λ, -J,
    H_AB = 4t cos(k_x a/2) cos(k_y a/2) (atomic gauge): the real-space docstring summed."""
    t, t2, lam, j, a = 0.8, 0.3, 0.15, 0.4, 2.5
    n = np.array([0.2, -0.4, 0.9]) / np.linalg.norm([0.2, -0.4, 0.9])
    model = qgmag.models.pt_antiferromagnet(
        t=t, t2=t2, lambda_r=lam, exchange=j, direction=tuple(n * 3), a=a
    )
    k = random_k(model)
    n_sigma = n[0] * SX + n[1] * SY + n[2] * SZ
    for kk, hk in zip(k, model.hamiltonian(k), strict=True):
        x, y = kk * a
        kinetic = 2 * t2 * (np.cos(x) + np.cos(y)) * S0
        rashba = 2 * lam * (SX * np.sin(y) - SY * np.sin(x))
        np.testing.assert_allclose(hk[:2, :2], kinetic + rashba + j * n_sigma, atol=1e-14)
        np.testing.assert_allclose(hk[2:, 2:], kinetic - rashba - j * n_sigma, atol=1e-14)
        np.testing.assert_allclose(
            hk[:2, 2:], 4 * t * np.cos(x / 2) * np.cos(y / 2) * S0, atol=1e-14
        )


def test_kane_mele_spin_sectors_are_haldane_models() -> None:
    """λ_r = 0: spin ↑ is Haldane(t2 = λ_so, φ = +π/2), spin ↓ Haldane(φ = -π/2); the
    exchange field adds exchange·σ_z on every site."""
    t, lam, mass, ex = 0.9, 0.07, 0.12, 0.05
    km = qgmag.models.kane_mele(t=t, lambda_so=lam, mass=mass, exchange=ex)
    up = qgmag.models.haldane(t1=t, t2=lam, phi=np.pi / 2, mass=mass)
    down = qgmag.models.haldane(t1=t, t2=lam, phi=-np.pi / 2, mass=mass)
    k = random_k(km)
    h = km.hamiltonian(k)
    np.testing.assert_allclose(h[:, 0::2, 0::2], up.hamiltonian(k) + ex * np.eye(2), atol=1e-14)
    np.testing.assert_allclose(h[:, 1::2, 1::2], down.hamiltonian(k) - ex * np.eye(2), atol=1e-14)
    np.testing.assert_allclose(h[:, 0::2, 1::2], 0, atol=1e-14)


def test_kane_mele_rashba_bond_convention() -> None:
    """<A,0|H|B,0> = t + i λ_r (σ × d̂)_z with d̂ the unit vector from B to A: here B - A =
    a(1/2, √3/6), so d̂ = -(√3/2, 1/2) and (σ × d̂)_z = σ_x d̂_y - σ_y d̂_x."""
    t, lam = 1.0, 0.1
    model = qgmag.models.kane_mele(t=t, lambda_so=0.0, lambda_r=lam)
    r0 = np.flatnonzero(~model.hopping_vectors.any(axis=1))[0]
    d_hat = -np.array([np.sqrt(3) / 2, 0.5])
    expected = t * S0 + 1j * lam * (SX * d_hat[1] - SY * d_hat[0])
    np.testing.assert_allclose(model.hopping_matrices[r0][:2, 2:], expected, atol=1e-15)
    h = model.hamiltonian(random_k(model))
    np.testing.assert_allclose(time_reversal(h), model.hamiltonian(-random_k(model)), atol=1e-14)


# -- symmetries and degeneracies --------------------------------------------------------------


def trim(model) -> np.ndarray:
    return np.array([[0, 0], [0.5, 0], [0, 0.5], [0.5, 0.5]]) @ model.reciprocal_lattice


def kramers_splitting(model, k: np.ndarray) -> np.ndarray:
    e = np.linalg.eigvalsh(model.hamiltonian(k))
    return np.abs(e[:, 1::2] - e[:, 0::2]).max(axis=1)


@pytest.mark.parametrize("direction", [(0, 0, 1), (1, 0, 0), (0.3, -0.5, 0.8)])
def test_pt_antiferromagnet_is_kramers_degenerate_at_every_k(direction) -> None:
    model = qgmag.models.pt_antiferromagnet(direction=direction)
    k = random_k(model, 500, seed=4)
    assert kramers_splitting(model, k).max() < 1e-10
    h, h_minus = model.hamiltonian(k), model.hamiltonian(-k)
    swap = [2, 3, 0, 1]  # inversion about the A-B bond centre exchanges the sublattices
    inverted = h[:, swap][:, :, swap]
    np.testing.assert_allclose(time_reversal(inverted), h, atol=1e-14)  # PT holds
    assert np.abs(inverted - h_minus).max() > 0.1  # P broken
    assert np.abs(time_reversal(h) - h_minus).max() > 0.1  # T broken
    # without exchange, P and T hold separately
    nonmagnetic = qgmag.models.pt_antiferromagnet(exchange=0.0, direction=direction)
    h0, h0_minus = nonmagnetic.hamiltonian(k), nonmagnetic.hamiltonian(-k)
    np.testing.assert_allclose(h0[:, swap][:, :, swap], h0_minus, atol=1e-14)
    np.testing.assert_allclose(time_reversal(h0), h0_minus, atol=1e-14)


def test_kane_mele_kramers_degeneracy_only_at_trim() -> None:
    model = qgmag.models.kane_mele(lambda_r=0.05, mass=0.1)
    assert kramers_splitting(model, trim(model)).max() < 1e-10
    assert kramers_splitting(model, random_k(model, 500, seed=5)).min() > 1e-4
    magnetic = qgmag.models.kane_mele(lambda_r=0.05, mass=0.1, exchange=0.05)
    assert kramers_splitting(magnetic, trim(magnetic)).min() > 1e-3
    # with inversion (λ_r = mass = 0) Kramers pairs are degenerate everywhere
    symmetric = qgmag.models.kane_mele()
    assert kramers_splitting(symmetric, random_k(symmetric, 200, seed=6)).max() < 1e-10


def test_bhz_time_reversal_and_degeneracies() -> None:
    model = qgmag.models.bhz(D=0.1)
    k = random_k(model, 200, seed=7)
    np.testing.assert_allclose(
        time_reversal(model.hamiltonian(k)), model.hamiltonian(-k), atol=1e-14
    )
    assert kramers_splitting(model, k).max() < 1e-10  # P = τ_z and T
    bia = qgmag.models.bhz(D=0.1, bia=0.1)
    np.testing.assert_allclose(time_reversal(bia.hamiltonian(k)), bia.hamiltonian(-k), atol=1e-14)
    assert kramers_splitting(bia, trim(bia)).max() < 1e-10
    assert kramers_splitting(bia, k).min() > 1e-4


def sublattice_spin_model(model, sublattice: int):
    """The same Hamiltonian with spin matrices projected on one sublattice (0 = A, 1 = B)."""
    proj = np.zeros(4)
    proj[2 * sublattice : 2 * sublattice + 2] = 1.0
    spin = proj[None, :, None] * np.asarray(model.spin) * proj[None, None, :]
    return qgmag.TightBindingModel.from_arrays(
        model.lattice, model.positions, model.hopping_vectors, model.hopping_matrices, spin=spin
    )


def test_pt_antiferromagnet_kinetic_responses_are_not_trivial() -> None:
    """PT: total τ-linear (extrinsic) spin response vanishes, while each sublattice has a
    staggered one (opposite on A and B) and the total intrinsic response is non-zero; the
    orbital response α_zx needs n off the C4 axis z."""
    kw = {
        "mu": [-1.5, 0.5],
        "temperature": 300.0,
        "kmesh": (32, 32),
        "shift": True,
        "allow_coarse_mesh": True,  # sum rules on one mesh, not converged values
    }
    model = qgmag.models.pt_antiferromagnet()
    total = qgmag.compute(model, ["kinetic_spin_extrinsic", "kinetic_spin_intrinsic"], **kw)
    per_site = [
        qgmag.compute(
            sublattice_spin_model(model, s), "kinetic_spin_extrinsic", **kw
        ).kinetic_spin_extrinsic.values
        for s in (0, 1)
    ]
    staggered = np.abs(per_site[0]).max()
    assert staggered > 0
    np.testing.assert_allclose(per_site[1], -per_site[0], rtol=0, atol=1e-8 * staggered)
    assert np.abs(total.kinetic_spin_extrinsic.values).max() < 1e-8 * staggered
    assert np.abs(total.kinetic_spin_intrinsic.values).max() > 1e-4 * staggered

    orbital = "kinetic_orbital_intrinsic"
    along_z = qgmag.compute(model, orbital, **kw)[orbital]
    in_plane = qgmag.compute(qgmag.models.pt_antiferromagnet(direction=(1, 0, 0)), orbital, **kw)[
        orbital
    ]
    size = np.abs(in_plane.sel(i="z", j="x").values).max()
    assert size > 0
    assert np.abs(along_z.values).max() < 1e-8 * size  # C4z forbids α_zx, α_zy
