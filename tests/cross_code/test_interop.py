"""Models from PythTB and TBmodels (qgmag.interop): same bands and Berry curvature.

Peer tests (``-m peer``) build the Haldane and Kane–Mele models in PythTB, and a Haldane
model in TBmodels (written to and read from HDF5), and compare with the peer's own
eigenvalues and with the Berry flux through small plaquettes computed from the peer's own
eigenvectors (PythTB's ``wf_array.berry_flux``; for TBmodels, products of overlaps of its
``hamilton(k)`` eigenvectors), and with qgmag's built-in models. The
default-run tests check the TBmodels HDF5 layout and the half-hopping convention
H(k) = Σ_R hop[R] e^{2πik·R} + h.c. on a file written here with h5py.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import qgmag
from qgmag.errors import QgmagError
from qgmag.interop import from_pythtb, from_tbmodels, read_tbmodels_hdf5, structure_cell

A = 2.46
HONEYCOMB = np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])
NNN = ((1, 0), (-1, 1), (0, -1))  # A->A second neighbours (qgmag.models.haldane)
NN = ((0, 0), (-1, 0), (0, -1))  # cells of the B neighbours of A
RNG = np.random.default_rng(16)


def cartesian(model: qgmag.TightBindingModel, frac: np.ndarray) -> np.ndarray:
    return frac @ np.asarray(model.reciprocal_lattice)


def energies(model, frac):
    return qgmag.band_geometry(model, cartesian(model, frac), ["energy"])["energy"].values


def omega_z(model, frac, bands):
    ds = qgmag.band_geometry(model, cartesian(model, frac), ["berry_curvature"])
    return ds["berry_curvature"].sel(i="z").values[:, bands].sum(axis=1)


def plaquette_flux(states: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Berry flux through each plaquette of a periodic (n, n) grid of occupied states.

    states[a, b] is (n_orb, n_occ) from the k-periodic Hamiltonian (TBmodels' convention 2,
    phases e^{2πik·R}); a link from k to k + b carries e^{-2πi b·τ_i} per orbital (the
    cell-periodic parts of the Bloch states). flux = -Im ln of the product of the four link
    determinants around the plaquette, counter-clockwise.
    """
    n = states.shape[0]
    d_x = np.exp(-2j * np.pi * positions[:, 0] / n)
    d_y = np.exp(-2j * np.pi * positions[:, 1] / n)

    def link(u, v, d):
        return np.linalg.det(np.einsum("...ia,i,...ib->...ab", u.conj(), d, v))

    u10 = np.roll(states, -1, axis=0)
    u11 = np.roll(u10, -1, axis=1)
    u01 = np.roll(states, -1, axis=1)
    loop = (
        link(states, u10, d_x)
        * link(u10, u11, d_y)
        * link(u11, u01, d_x.conj())
        * link(u01, states, d_y.conj())
    )
    return -np.angle(loop)


def flux_vs_qgmag(model, flux, n, bands):
    """max |flux/area - Ω(plaquette centre)| / max|Ω| on an n×n grid."""
    g = (np.arange(n) + 0.5) / n
    centres = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    area = abs(np.linalg.det(np.asarray(model.reciprocal_lattice))) / n**2
    om = omega_z(model, centres, bands).reshape(n, n)
    return float(np.max(np.abs(flux / area - om)) / np.max(np.abs(om)))


# -- TBmodels HDF5 layout, without TBmodels --------------------------------------------------


def write_haldane_hdf5(path, t1=1.0, t2=0.1, phi=0.7, mass=0.2):
    """The Haldane model of qgmag.models.haldane in TBmodels' HDF5 layout (half hoppings)."""
    hop: dict[tuple[int, int], np.ndarray] = {}

    def add(r, i, j, t):
        hop.setdefault(r, np.zeros((2, 2), complex))[i, j] += t

    add((0, 0), 0, 0, mass / 2)  # H(k) = Σ hop e^{ikR} + h.c.: on-site split in halves
    add((0, 0), 1, 1, -mass / 2)
    for r in NN:
        add(r, 0, 1, t1)
    for r in NNN:
        add(r, 0, 0, t2 * np.exp(1j * phi))
        add(r, 1, 1, t2 * np.exp(-1j * phi))
    with h5py.File(path, "w") as f:
        f["uc"] = A * HONEYCOMB
        f["pos"] = np.array([[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
        f["size"] = 2
        f["dim"] = 2
        f["occ"] = 1
        f["sparse"] = False
        f["type_tag"] = np.bytes_("tbmodels.model")
        for n, (r, mat) in enumerate(hop.items()):
            f[f"hop/{n}/R"] = np.array(r)
            f[f"hop/{n}/mat"] = mat
    return qgmag.models.haldane(t1=t1, t2=t2, phi=phi, mass=mass, a=A)


def test_tbmodels_hdf5_layout_gives_the_builtin_model(tmp_path):
    ref = write_haldane_hdf5(tmp_path / "haldane.hdf5")
    model = read_tbmodels_hdf5(tmp_path / "haldane.hdf5")
    frac = RNG.random((40, 2))
    np.testing.assert_allclose(energies(model, frac), energies(ref, frac), atol=1e-12)
    np.testing.assert_allclose(omega_z(model, frac, [0]), omega_z(ref, frac, [0]), atol=1e-9)


def test_bad_files_and_objects_are_errors(tmp_path):
    with pytest.raises(QgmagError, match="does not exist"):
        read_tbmodels_hdf5(tmp_path / "missing.hdf5")
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(QgmagError, match="not an HDF5 file"):
        read_tbmodels_hdf5(tmp_path / "text.hdf5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(QgmagError, match="not a TBmodels model"):
        read_tbmodels_hdf5(tmp_path / "other.h5")
    with pytest.raises(QgmagError, match="tb_model"):
        from_pythtb(object())
    with pytest.raises(QgmagError, match="tbmodels.Model"):
        from_tbmodels(object())
    with pytest.raises(QgmagError, match="ASE Atoms"):
        structure_cell("Fe")


# -- PythTB (peer) ---------------------------------------------------------------------------


def pythtb_haldane(pythtb, t1=1.0, t2=0.25, phi=1.1, mass=0.3):
    tb = pythtb.tb_model(2, 2, A * HONEYCOMB, [[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
    tb.set_onsite([mass, -mass])
    for r in NN:
        tb.set_hop(t1, 0, 1, list(r))
    for r in NNN:
        tb.set_hop(t2 * np.exp(1j * phi), 0, 0, list(r))
        tb.set_hop(t2 * np.exp(-1j * phi), 1, 1, list(r))
    return tb


def pythtb_kane_mele(pythtb, t=1.0, lso=0.2, lr=0.1, exchange=0.1, mass=0.05):
    sx = np.array([[0, 1], [1, 0]], complex)
    sy = np.array([[0, -1j], [1j, 0]], complex)
    sz = np.diag([1.0, -1.0]).astype(complex)
    tau_a, tau_b = np.array([1 / 3, 1 / 3]), np.array([2 / 3, 2 / 3])
    tb = pythtb.tb_model(2, 2, A * HONEYCOMB, [tau_a, tau_b], nspin=2)
    tb.set_onsite([mass * np.eye(2) + exchange * sz, -mass * np.eye(2) + exchange * sz])
    for r in NN:
        bond = (tau_a - tau_b - np.asarray(r)) @ HONEYCOMB
        d = bond / np.linalg.norm(bond)
        tb.set_hop(t * np.eye(2) + 1j * lr * (sx * d[1] - sy * d[0]), 0, 1, list(r))
    for r in NNN:
        tb.set_hop(1j * lso * sz, 0, 0, list(r))
        tb.set_hop(-1j * lso * sz, 1, 1, list(r))
    ref = qgmag.models.kane_mele(t=t, lambda_so=lso, lambda_r=lr, exchange=exchange, mass=mass)
    return tb, ref


def pythtb_flux(pythtb, tb, n, occ):
    grid = pythtb.wf_array(tb, [n + 1, n + 1])
    grid.solve_on_grid([0.0, 0.0])
    return grid.berry_flux(occ, individual_phases=True)


@pytest.mark.peer
def test_pythtb_haldane_bands_and_berry_curvature():
    pythtb = pytest.importorskip("pythtb")
    tb = pythtb_haldane(pythtb)
    model = from_pythtb(tb)
    ref = qgmag.models.haldane(t2=0.25, phi=1.1, mass=0.3, a=A)
    frac = RNG.random((50, 2))
    peer = np.array([tb.solve_one(k) for k in frac])
    np.testing.assert_allclose(energies(model, frac), peer, atol=1e-12)
    np.testing.assert_allclose(energies(ref, frac), peer, atol=1e-12)
    np.testing.assert_allclose(omega_z(model, frac, [0]), omega_z(ref, frac, [0]), atol=1e-9)
    errors = [flux_vs_qgmag(model, pythtb_flux(pythtb, tb, n, [0]), n, [0]) for n in (24, 48)]
    assert errors[1] < 0.02 and errors[1] < errors[0] / 3  # midpoint rule: O(h²)


@pytest.mark.peer
def test_pythtb_kane_mele_bands_and_berry_curvature():
    pythtb = pytest.importorskip("pythtb")
    tb, ref = pythtb_kane_mele(pythtb)
    model = from_pythtb(tb)
    assert model.spin is not None
    np.testing.assert_allclose(model.spin, ref.spin)
    frac = RNG.random((50, 2))
    peer = np.array([tb.solve_one(k) for k in frac])
    np.testing.assert_allclose(energies(model, frac), peer, atol=1e-12)
    np.testing.assert_allclose(energies(ref, frac), peer, atol=1e-12)
    occ = [0, 1]
    np.testing.assert_allclose(omega_z(model, frac, occ), omega_z(ref, frac, occ), atol=1e-9)
    errors = [flux_vs_qgmag(model, pythtb_flux(pythtb, tb, n, occ), n, occ) for n in (24, 48)]
    assert errors[1] < 0.02 and errors[1] < errors[0] / 3


# -- TBmodels (peer) -------------------------------------------------------------------------


@pytest.mark.peer
def test_tbmodels_model_and_its_hdf5_file(tmp_path):
    tbmodels = pytest.importorskip("tbmodels")
    t1, t2, phi, mass = 1.0, 0.25, 1.1, 0.3
    tbm = tbmodels.Model(
        on_site=[mass, -mass], dim=2, occ=1, pos=[[1 / 3, 1 / 3], [2 / 3, 2 / 3]], uc=A * HONEYCOMB
    )
    for r in NN:
        tbm.add_hop(t1, 0, 1, list(r))
    for r in NNN:
        tbm.add_hop(t2 * np.exp(1j * phi), 0, 0, list(r))
        tbm.add_hop(t2 * np.exp(-1j * phi), 1, 1, list(r))
    tbm.to_hdf5_file(str(tmp_path / "h.hdf5"))
    ref = qgmag.models.haldane(t1=t1, t2=t2, phi=phi, mass=mass, a=A)
    frac = RNG.random((50, 2))
    peer = np.array(tbm.eigenval(frac))
    n = 48
    g = np.arange(n) / n
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    _, vecs = np.linalg.eigh(tbm.hamilton(grid, convention=2))
    flux = plaquette_flux(vecs[:, :, :1].reshape(n, n, 2, 1), np.asarray(tbm.pos))
    for model in (
        from_tbmodels(tbm),
        read_tbmodels_hdf5(tmp_path / "h.hdf5"),
        from_tbmodels(tbmodels.io.load(str(tmp_path / "h.hdf5"))),
    ):
        np.testing.assert_allclose(energies(model, frac), peer, atol=1e-12)
        np.testing.assert_allclose(omega_z(model, frac, [0]), omega_z(ref, frac, [0]), atol=1e-9)
        assert flux_vs_qgmag(model, flux, n, [0]) < 0.02


# -- structures ------------------------------------------------------------------------------


def test_structures_from_ase_and_pymatgen():
    ase_build = pytest.importorskip("ase.build")
    fe = ase_build.bulk("Fe", "bcc", a=2.87, cubic=True)
    fe.set_initial_magnetic_moments([2.2, 2.2])
    lattice, frac, numbers, moments = structure_cell(fe)
    np.testing.assert_allclose(lattice, 2.87 * np.eye(3))
    np.testing.assert_allclose(frac, [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert list(numbers) == [26, 26] and list(moments) == [2.2, 2.2]
    spglib = pytest.importorskip("spglib")
    assert spglib.get_spacegroup((lattice, frac, numbers)) == "Im-3m (229)"
    pymatgen_core = pytest.importorskip("pymatgen.core")
    s = pymatgen_core.Structure(2.87 * np.eye(3), ["Fe", "Fe"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    lattice2, frac2, numbers2 = structure_cell(s)
    np.testing.assert_allclose(lattice2, lattice)
    np.testing.assert_allclose(frac2, frac)
    assert list(numbers2) == [26, 26]
