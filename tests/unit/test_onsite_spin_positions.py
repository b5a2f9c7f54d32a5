"""A k-independent spin matrix of a tight-binding model is the on-site operator
Σ_R |Rm> S_mn <Rn|: its expectation values cannot depend on the orbital positions τ,
which only re-phase the Bloch basis (atomic gauge), even when S couples orbitals whose
positions differ (Wannier spinor partners that share a centre only to ~1e-5 Å)."""

from __future__ import annotations

import numpy as np

import qgmag
from qgmag.models.spin import PAULI
from qgmag.models.tight_binding import TightBindingModel


def _model(positions, seed=0):
    rng = np.random.default_rng(seed)
    n = 4
    vectors = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1],
                        [0, 0, -1]])
    h = rng.normal(size=(7, n, n)) + 1j * rng.normal(size=(7, n, n))
    h[0] = h[0] + np.conj(h[0].T)
    for a, b in ((1, 2), (3, 4), (5, 6)):
        h[b] = np.conj(h[a].T)
    spin = np.zeros((3, n, n), dtype=complex)
    for up, down in ((0, 3), (1, 2)):  # partners at different positions
        for c in range(3):
            spin[c][np.ix_([up, down], [up, down])] = 0.5 * PAULI[c]
    return TightBindingModel.from_arrays(np.eye(3) * 3.0, positions, vectors, h, spin)


def test_spin_expectation_does_not_depend_on_orbital_positions():
    k = np.random.default_rng(1).normal(size=(5, 3))
    base = np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [0.52, 0.49, 0.5], [0.13, 0.2, 0.31]])
    moved = np.array([[0.7, 0.1, 0.2], [0.3, 0.9, 0.5], [0.0, 0.0, 0.0], [0.4, 0.6, 0.8]])
    names = ["energy", "spin"]
    a = qgmag.band_geometry(_model(base), k, names)
    b = qgmag.band_geometry(_model(moved), k, names)
    for name in names:
        assert float(abs(a[name] - b[name]).max()) < 1e-12, name
    # and the phase-stripped reference: <u|S|u> with u the eigenvectors of Σ_R e^{ik·R} H(R)
    m = _model(base)
    hk = np.einsum("kr,rij->kij", np.exp(1j * k @ (m.hopping_vectors @ m.lattice).T),
                   m.hopping_matrices)
    _, u = np.linalg.eigh(hk)
    ref = np.einsum("kin,aij,kjn->kna", np.conj(u), np.asarray(m.spin), u).real
    assert np.max(np.abs(a.spin.values - ref)) < 1e-12
