"""The "full" Berry-connection level: Wannier position matrix elements r(R) in Ω.

Independent checks of BandData's full-level Berry curvature (Wang et al., PRB 74, 195118
(2006), Eq. 27): it reduces to the tight-binding level when r(R) holds only the centres;
it equals the Berry flux through a small plaquette computed from eigenvector overlaps
plus the line integral of the band-diagonal position connection built here from the
definition A^W_ij(k) = Σ_R e^{ik·(R+τ_j-τ_i)} [r_ij(R) - τ_i δ_ij δ_R0]; and BZ integrals
are invariant under random unitary rotations of degenerate sets.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.errors import ModelError
from qgmag.geometry.quantities import berry_curvature_vector

LATTICE = np.array([[3.0, 0.1, 0.0], [0.2, 2.8, 0.1], [0.0, 0.3, 3.3]])
VECTORS = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -1, 1)]


def random_arrays(n: int, seed: int, position_scale: float = 0.3):
    """Vectors closed under -R, Hermitian H(R) and r(R) with diagonal r(0) = centres."""
    rng = np.random.default_rng(seed)
    frac = rng.uniform(0.05, 0.95, size=(n, 3))
    tau = frac @ LATTICE
    vecs, hams, poss = [], [], []
    for v in VECTORS:
        h = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        r = position_scale * (rng.normal(size=(n, n, 3)) + 1j * rng.normal(size=(n, n, 3)))
        if not any(v):
            h = h + h.conj().T + np.diag(rng.normal(size=n) * 3)
            r = 0.5 * (r + np.conj(np.swapaxes(r, 0, 1)))
            r[np.arange(n), np.arange(n)] = tau
            vecs.append(v), hams.append(h), poss.append(r)
            continue
        vecs += [v, tuple(-x for x in v)]
        hams += [0.3 * h, 0.3 * h.conj().T]
        poss += [r, np.conj(np.swapaxes(r, 0, 1))]
    return frac, np.array(vecs), np.array(hams), np.array(poss)


def make_model(n: int = 3, seed: int = 1, level: str = "full", **kw) -> qgmag.TightBindingModel:
    frac, vecs, hams, poss = random_arrays(n, seed, **kw)
    return qgmag.TightBindingModel.from_arrays(
        LATTICE, frac, vecs, hams, position_matrices=poss, berry_connection=level
    )


def wannier_connection(model: qgmag.TightBindingModel, k: np.ndarray) -> np.ndarray:
    """A^W(k) (3, n, n) in the atomic gauge, from the definition (loop over R)."""
    tau = model.positions @ model.lattice
    n = model.n_bands
    out = np.zeros((3, n, n), dtype=complex)
    for vec, r in zip(model.hopping_vectors, model.position_matrices, strict=True):
        rt = r.copy()
        if not np.any(vec):
            rt[np.arange(n), np.arange(n)] -= tau
        delta = (vec @ model.lattice)[None, None, :] + tau[None, :, :] - tau[:, None, :]
        out += np.moveaxis(rt * np.exp(1j * (delta @ k))[..., None], -1, 0)
    return out


def test_centres_only_equals_tight_binding():
    frac, vecs, hams, poss = random_arrays(4, seed=3)
    tau = frac @ LATTICE
    centres_only = np.zeros_like(poss)
    zero = int(np.flatnonzero(~np.any(vecs, axis=1))[0])
    centres_only[zero, np.arange(4), np.arange(4)] = tau
    full = qgmag.TightBindingModel.from_arrays(
        LATTICE, frac, vecs, hams, position_matrices=centres_only, berry_connection="full"
    )
    tb = qgmag.TightBindingModel.from_arrays(LATTICE, frac, vecs, hams)
    k = np.random.default_rng(0).normal(size=(50, 3))
    bf, bt = BandData(full, k), BandData(tb, k)
    assert bf.full_connection and not bt.full_connection
    np.testing.assert_allclose(berry_curvature_vector(bf), berry_curvature_vector(bt), atol=1e-10)
    # and the full connection really changes Ω once r(R) has off-diagonal elements
    other = BandData(make_model(4, seed=3), k)
    assert np.max(np.abs(berry_curvature_vector(other) - berry_curvature_vector(bt))) > 1e-2


@pytest.mark.parametrize("seed", [5, 6])
def test_curvature_equals_plaquette_flux(seed):
    model = make_model(3, seed=seed)
    rng = np.random.default_rng(seed)
    k0 = rng.normal(size=3)
    omega = berry_curvature_vector(BandData(model, k0[None]))[:, 0]  # (3, n)
    h = 1e-3
    for c, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
        ea, eb = np.eye(3)[a] * h, np.eye(3)[b] * h
        corners = [k0 - ea / 2 - eb / 2, k0 + ea / 2 - eb / 2, k0 + ea / 2 + eb / 2]
        corners.append(k0 - ea / 2 + eb / 2)
        _, u = np.linalg.eigh(model.hamiltonian(np.array(corners)))
        prod = np.ones(model.n_bands, dtype=complex)
        position_flux = np.zeros(model.n_bands)
        for i in range(4):
            k1, k2 = corners[i], corners[(i + 1) % 4]
            prod *= np.einsum("in,in->n", u[i].conj(), u[(i + 1) % 4])
            _, um = np.linalg.eigh(model.hamiltonian(((k1 + k2) / 2)[None]))
            abar = np.einsum(
                "in,aij,jn->an", um[0].conj(), wannier_connection(model, (k1 + k2) / 2), um[0]
            )
            position_flux += np.real(abar.T @ (k2 - k1))
        flux = -np.angle(prod) + position_flux
        np.testing.assert_allclose(flux / h**2, omega[c], rtol=1e-4, atol=1e-4)


def test_degenerate_sets_gauge_invariant_and_doubled():
    """A spin-doubled copy (H ⊗ 1, r ⊗ 1): every band doubly degenerate; the AHC is twice
    the spinless one, with and without random rotations of the degenerate pairs."""
    frac, vecs, hams, poss = random_arrays(3, seed=8)
    single = qgmag.TightBindingModel.from_arrays(
        LATTICE, frac, vecs, hams, position_matrices=poss, berry_connection="full"
    )
    eye = np.eye(2)
    doubled = qgmag.TightBindingModel.from_arrays(
        LATTICE,
        np.repeat(frac, 2, axis=0),
        vecs,
        np.kron(hams, eye),
        position_matrices=np.einsum("rija,st->risjta", poss, eye).reshape(len(vecs), 6, 6, 3),
        berry_connection="full",
    )
    mu = np.linspace(-2.0, 2.0, 5)
    kw = {"kmesh": (5, 5, 5), "temperature": 300.0}
    ref = qgmag.compute(single, "anomalous_hall_conductivity", mu, **kw)
    plain = qgmag.compute(doubled, "anomalous_hall_conductivity", mu, **kw)
    rotated = qgmag.compute(doubled, "anomalous_hall_conductivity", mu, gauge_seed=4, **kw)
    ahc = ref["anomalous_hall_conductivity"].values
    assert np.max(np.abs(ahc)) > 1.0
    np.testing.assert_allclose(plain["anomalous_hall_conductivity"].values, 2 * ahc, atol=1e-8)
    np.testing.assert_allclose(
        rotated["anomalous_hall_conductivity"].values, 2 * ahc, rtol=1e-9, atol=1e-8
    )


def test_full_level_needs_position_matrices():
    frac, vecs, hams, _ = random_arrays(2, seed=2)
    with pytest.raises(ModelError, match="position_matrices"):
        qgmag.TightBindingModel.from_arrays(LATTICE, frac, vecs, hams, berry_connection="full")
    with pytest.raises(ModelError, match="berry_connection must be one of"):
        qgmag.TightBindingModel.from_arrays(LATTICE, frac, vecs, hams, berry_connection="exact")
