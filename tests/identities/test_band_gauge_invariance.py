"""Degenerate-set sums are invariant under random unitary rotations inside degenerate sets.

``band_geometry(..., gauge_rotation=rng)`` multiplies the eigenvectors of every degenerate
set by a Haar-random unitary (SPEC §2). Per-band values inside a Kramers pair may change;
their sum over the set must not. A spin-degenerate copy of the Haldane model adds a case
where the set sums are known independently: twice the single-copy values.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag

SET_QUANTITIES = (
    "berry_curvature",
    "quantum_metric",
    "orbital_moment",
    "spin",
    "spin_berry_curvature",
    "magnetoelectric_tensor",
)


def set_sums(ds, quantity: str) -> np.ndarray:
    """Sum of a (k, band, ...) variable over the Kramers pairs (0, 1), (2, 3), ..."""
    values = ds[quantity].values
    return values.reshape(values.shape[0], -1, 2, *values.shape[2:]).sum(axis=2)


def kpoints(model, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, model.dim)) @ model.reciprocal_lattice


@pytest.mark.parametrize("direction", [(0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.2, -0.7, 0.5)])
def test_pt_antiferromagnet_set_sums_are_gauge_invariant(direction) -> None:
    model = qgmag.models.pt_antiferromagnet(direction=direction)
    k = kpoints(model, 40, seed=2)
    plain = qgmag.band_geometry(model, k)
    rotated = qgmag.band_geometry(model, k, gauge_rotation=np.random.default_rng(17))
    energy = plain.energy.values
    assert np.all(np.abs(energy[:, 1::2] - energy[:, 0::2]) < 1e-10)  # Kramers pairs
    assert np.all(energy[:, 2] - energy[:, 1] > 1e-3)  # ... and only pairs
    changed = 0.0
    for name in SET_QUANTITIES:
        reference = set_sums(plain, name)
        scale = max(np.abs(plain[name].values).max(), 1e-300)
        np.testing.assert_allclose(
            set_sums(rotated, name), reference, rtol=0, atol=1e-10 * scale, err_msg=name
        )
        changed = max(changed, np.abs(rotated[name].values - plain[name].values).max() / scale)
    # the rotation acts: per-band values inside the pairs are basis dependent
    assert changed > 1e-3
    # gauge-independent per-band quantities are untouched
    np.testing.assert_array_equal(rotated.energy.values, energy)
    np.testing.assert_allclose(
        rotated.band_velocity.values,
        plain.band_velocity.values,
        rtol=0,
        atol=1e-10 * np.abs(plain.band_velocity.values).max(),
    )


def spin_degenerate(model: qgmag.TightBindingModel) -> qgmag.TightBindingModel:
    """model ⊗ 1_spin: every band doubly degenerate, spin S/ħ = σ/2 (spin-fastest)."""
    return qgmag.TightBindingModel.from_arrays(
        model.lattice,
        np.repeat(model.positions, 2, axis=0),
        model.hopping_vectors,
        np.kron(model.hopping_matrices, np.eye(2)),
        spin=qgmag.models.spin_operators(model.n_bands),
    )


def test_spin_degenerate_haldane_set_sums_are_twice_the_single_band_values() -> None:
    single = qgmag.models.haldane(t2=0.12, phi=0.8, mass=0.15)
    double = spin_degenerate(single)
    k = kpoints(single, 30, seed=4)
    one = qgmag.band_geometry(single, k)
    for rng in (None, np.random.default_rng(3)):
        two = qgmag.band_geometry(double, k, gauge_rotation=rng)
        for name in (
            "berry_curvature",
            "quantum_metric",
            "orbital_moment",
            "magnetoelectric_tensor",
        ):
            expected = 2 * one[name].values
            scale = np.abs(expected).max()
            assert scale > 0
            np.testing.assert_allclose(
                set_sums(two, name), expected, rtol=0, atol=1e-10 * scale, err_msg=name
            )
        # spin is a good quantum number with no interband matrix elements: Φ and <S> vanish
        assert np.abs(set_sums(two, "spin")).max() < 1e-12
        assert np.abs(two.spin_berry_curvature.values).max() < 1e-12


@pytest.mark.parametrize("model_name", ["pt_antiferromagnet", "kane_mele", "haldane"])
def test_trace_of_orbital_moment_times_velocity(model_name) -> None:
    """Tr_D[m v] from set-block elements only equals the full non-Abelian m matrix form.

    The fast form (used by kinetic_orbital_extrinsic) builds m_np only for n, p in one
    degenerate set; the reference forms the whole (3, N, n, n) matrix. Both are gauge
    invariant once summed over a set (random unitaries inside Kramers pairs).
    """
    from qgmag.bands.engine import BandData
    from qgmag.geometry import quantities as q

    model = getattr(qgmag.models, model_name)()
    k = kpoints(model, 30, seed=5)
    k[0] = 0.0  # Γ: extra degeneracies in some models
    plain = BandData(model, k)
    rotated = BandData(model, k, gauge_rotation=np.random.default_rng(11))
    full = q.degenerate_trace_product(
        q.orbital_moment_matrix_native(plain), plain.velocity_matrix, plain
    )
    fast = q.orbital_moment_velocity_trace(plain)
    scale = np.abs(full).max()
    np.testing.assert_allclose(fast, full, atol=1e-12 * scale)
    fast_rotated = q.orbital_moment_velocity_trace(rotated)
    if model_name in ("pt_antiferromagnet", "kane_mele"):  # Kramers pairs: compare set sums
        pair = lambda x: x.reshape(*x.shape[:3], -1, 2).sum(-1)  # noqa: E731
        np.testing.assert_allclose(pair(fast_rotated), pair(full), atol=1e-11 * scale)
    else:
        np.testing.assert_allclose(fast_rotated, full, atol=1e-11 * scale)
