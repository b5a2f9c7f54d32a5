"""Fast paths equal their references: the product-sharing F tensor, the Fermi-surface
trace Tr_D[m v] and the sparse spin expectation.

References (the earlier code paths, kept in qgmag.geometry.quantities):
``magnetoelectric_tensor_reference`` (interband term + metric dipole of Eq. 10 formed
separately) and ``degenerate_trace_product(orbital_moment_matrix_native, V)`` for
Tr_D[m v]. The fast paths reorder the same sums, so they must agree to round-off, also
with degenerate sets (PT-symmetric antiferromagnet: every band doubly degenerate) and
with random unitaries inside the sets. The spin expectation over the nonzero entries of a
sparse S equals the diagonal of the dense U† S U.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry.magnetoelectric import magnetoelectric_tensor
from qgmag.models import lattice_models


def _kpoints(model, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frac = rng.uniform(-0.5, 0.5, size=(n, model.dim))
    frac[:4] = 0.0  # high-symmetry points: degeneracies where the model has them
    frac[4:8, 0] = 0.5
    return frac @ model.reciprocal_lattice[: model.dim, : model.dim]


MODELS = {
    "pt_antiferromagnet": lattice_models.pt_antiferromagnet,
    "kane_mele": lattice_models.kane_mele,
    "bhz": lattice_models.bhz,
}


def _pair(model, k):
    return [BandData(model, k, need_second_derivatives=True) for _ in range(2)]


def _assert_equal(fast, ref, rtol=1e-12):
    scale = np.max(np.abs(ref))
    assert scale > 0
    np.testing.assert_allclose(fast, ref, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_f_tensor_equals_reference_on_lattice_models(name) -> None:
    model = MODELS[name]()
    k = _kpoints(model, 60, 3)
    a, b = _pair(model, k)
    _assert_equal(magnetoelectric_tensor(a), q.magnetoelectric_tensor_reference(b))


def test_f_tensor_equals_reference_with_rotated_degenerate_sets() -> None:
    model = lattice_models.pt_antiferromagnet()
    k = _kpoints(model, 40, 5)
    a = BandData(model, k, need_second_derivatives=True, gauge_rotation=np.random.default_rng(1))
    b = BandData(model, k, need_second_derivatives=True, gauge_rotation=np.random.default_rng(1))
    assert (a.degenerate.sum(-1) > 1).any()
    _assert_equal(magnetoelectric_tensor(a), q.magnetoelectric_tensor_reference(b))


def test_f_tensor_uses_cached_second_derivatives_the_same_way() -> None:
    model = lattice_models.kane_mele()
    k = _kpoints(model, 30, 7)
    a, b = _pair(model, k)
    a.second_derivative_matrix  # noqa: B018  (the other branch: W already transformed)
    _assert_equal(magnetoelectric_tensor(a), magnetoelectric_tensor(b))


def _per_k_scale(bands: BandData, ref: np.ndarray) -> np.ndarray:
    """Round-off scale of F per k-point (N,): its largest entry, and where the k-point has
    exactly degenerate sets (split < 1e-6 meV; per-band F there is a basis-dependent part
    of a set sum that may cancel, e.g. to zero at Te's Γ by time reversal) the largest
    entry of the two terms of Eq. (10) it is the sum of."""
    scale = np.max(np.abs(ref), axis=(0, 1, 3))
    exact = (np.abs(np.diff(bands.energy, axis=1)) < 1e-9).any(axis=1)
    if exact.any():
        terms = [q.magnetoelectric_interband_native(bands),
                 q.magnetoelectric_dipole_native(q.metric_dipole(bands, set_velocity=True))]
        biggest = np.max([np.max(np.abs(t), axis=(0, 1, 3)) for t in terms], axis=0)
        scale = np.where(exact, np.maximum(scale, biggest), scale)
    return scale


def _wannier(shared_data, name: str):
    return qgmag.read_wannier90(shared_data / name, spinor_ordering="spin-fastest")


@pytest.mark.filterwarnings("ignore::qgmag.errors.QgmagWarning")
@pytest.mark.parametrize(("path", "tol"), [("Te/Te_tb.dat", 1e-3), ("Fe/Fe_tb.dat", 1e-6)])
def test_f_tensor_and_trace_equal_reference_on_wannier_models(shared_data, path, tol) -> None:
    """Per-k values to 1e-12 of each k-point's largest entry, and an occupied sum to 1e-12.

    Te_tb.dat's bands come in pairs split by only 1e-6-1e-5 eV at generic k (a
    spin-doubled fit): with the default 1e-6 eV tolerance F ~ 1/Δ³ of those pairs is
    round-off dominated in any arrangement of the sums, so the pairs are taken as
    degenerate sets (degeneracy_tol = 1e-3 eV) here.
    """
    model = _wannier(shared_data, path)
    k = _kpoints(model, 48, 11)
    a, b = (BandData(model, k, need_second_derivatives=True, degeneracy_tol=tol) for _ in "ab")
    fast, ref = magnetoelectric_tensor(a), q.magnetoelectric_tensor_reference(b)
    per_k = _per_k_scale(b, ref)
    assert np.all(np.abs(fast - ref) <= 1e-12 * per_k[None, None, :, None])
    occ = (a.energy < np.median(a.energy)).astype(float)
    _assert_equal(np.einsum("ijkn,kn->ij", fast, occ), np.einsum("ijkn,kn->ij", ref, occ))
    trace = q.orbital_moment_velocity_trace(a)
    want = q.degenerate_trace_product(q.orbital_moment_matrix_native(b), b.velocity_matrix, b)
    _assert_equal(trace, want)


@pytest.mark.filterwarnings("ignore::qgmag.errors.QgmagWarning")
@pytest.mark.parametrize("window", [None, (-np.inf, 18.0), (16.0, 19.0)])
def test_sparse_spin_expectation_equals_dense_diagonal(shared_data, window) -> None:
    model = _wannier(shared_data, "Fe/Fe_tb.dat")
    spin = np.asarray(model.spin)
    assert np.count_nonzero(np.any(spin != 0, axis=0)) <= spin.shape[-1] ** 2 // 4
    k = _kpoints(model, 40, 13)
    a, b = (BandData(model, k, energy_window=window) for _ in "ab")
    dense = np.real(b.diagonal(b.spin_matrix))  # U_w† S U, the full products
    np.testing.assert_allclose(a.spin_expectation, dense, rtol=0, atol=1e-14)


def test_sparse_spin_expectation_on_a_lattice_model() -> None:
    model = lattice_models.kane_mele()
    k = _kpoints(model, 40, 17)
    a, b = (BandData(model, k) for _ in "ab")
    dense = np.real(b.diagonal(b.spin_matrix))
    np.testing.assert_allclose(a.spin_expectation, dense, rtol=0, atol=1e-14)


@pytest.mark.filterwarnings("ignore::qgmag.errors.QgmagWarning")
def test_f_tensor_from_separable_pairs_equals_direct_sums(shared_data, monkeypatch):
    """On a uniform mesh ∂²H comes as its distinct pairs (no symmetric copy): the rebuilt
    (3, 3) ∂²H and W equal those of the direct Bloch sums, and F from the pairs equals the
    term-by-term reference on the same H (the direct sums differ from the separable ones by
    round-off, which F's 1/Δ³ amplifies at the mesh's near-degenerate points). F's numpy
    row pass here: the compiled one sums in another order (its own test below)."""
    from qgmag.geometry import magnetoelectric as me
    from qgmag.kspace.mesh import make_mesh

    monkeypatch.setattr(me, "MAGNETOELECTRIC_KERNEL", "numpy")

    model = _wannier(shared_data, "Te/Te_tb.dat")
    mesh = make_mesh(model, (6, 6, 6))
    start, stop = 30, 150
    k, _ = mesh.chunk(start, stop)
    grid = BandData(
        model,
        k,
        need_second_derivatives=True,
        degeneracy_tol=1e-3,
        mesh_range=(mesh, start, stop),
    )
    twin = BandData(
        model,
        k,
        need_second_derivatives=True,
        degeneracy_tol=1e-3,
        mesh_range=(mesh, start, stop),
    )
    direct = BandData(model, k, need_second_derivatives=True, degeneracy_tol=1e-3)
    assert grid.separable_sums and grid._d2h_pairs is not None and grid._d2h_full is None
    fast, ref = magnetoelectric_tensor(grid), q.magnetoelectric_tensor_reference(twin)
    per_k = np.max(np.abs(ref), axis=(0, 1, 3))
    assert np.all(np.abs(fast - ref) <= 1e-12 * per_k[None, None, :, None])
    _assert_equal(grid._d2h, direct._d2h, 1e-12)
    u = grid._u  # W = U† ∂∂H U in the grid chunk's own eigenbasis, from the direct ∂²H
    w = np.conj(np.swapaxes(u, -1, -2)) @ direct._d2h @ u
    _assert_equal(grid.second_derivative_matrix, w, 1e-12)


@pytest.mark.filterwarnings("ignore::qgmag.errors.QgmagWarning")
@pytest.mark.parametrize("path", ["Te/Te_tb.dat", "pt_antiferromagnet"])
def test_f_tensor_compiled_row_pass_equals_its_numpy_form(shared_data, path, monkeypatch) -> None:
    """The compiled row pass of F (geometry.magnetoelectric_kernel) and the numpy form it
    replaces, on the same chunk: equal to round-off, with degenerate partners (Te's
    spin-split pairs grouped at 1e-3 eV; every band of the PT antiferromagnet doubly
    degenerate, rotated by random unitaries)."""
    from qgmag.geometry import magnetoelectric as me

    if not me.AVAILABLE:
        pytest.skip("numba not installed")
    if path == "pt_antiferromagnet":
        model, tol, rot = lattice_models.pt_antiferromagnet(), 1e-6, 2
    else:
        model, tol, rot = _wannier(shared_data, path), 1e-3, None
    k = _kpoints(model, 70, 13)  # more than one block of BLOCK_K points
    bands = BandData(
        model,
        k,
        need_second_derivatives=True,
        degeneracy_tol=tol,
        gauge_rotation=None if rot is None else np.random.default_rng(rot),
    )
    assert bands.degenerate_partners
    results = {}
    for kernel in ("numpy", "numba"):
        monkeypatch.setattr(me, "MAGNETOELECTRIC_KERNEL", kernel)
        results[kernel] = me.magnetoelectric_tensor(bands)
    # 1e-13 of each k-point's largest entry; at exactly degenerate k-points (Te's Γ, where
    # the per-band values partly cancel) 1e-12 of the largest Eq. (10) term: measured 2.7e-13
    # (the two forms add the row and column partners of the sets in another order)
    per_k = _per_k_scale(bands, results["numpy"])
    exact = (np.abs(np.diff(bands.energy, axis=1)) < 1e-9).any(axis=1)
    tol = np.where(exact, 1e-12, 1e-13) * per_k
    assert np.all(np.abs(results["numba"] - results["numpy"]) <= tol[None, None, :, None])


def test_f_row_pass_refuses_wrong_shapes() -> None:
    from qgmag.geometry.magnetoelectric_kernel import AVAILABLE, interband_rows

    if not AVAILABLE:
        pytest.skip("numba not installed")
    n_k, n = 2, 4
    z = np.zeros((n_k, n, 3, n), dtype=complex)
    with pytest.raises(ValueError, match="kk has shape"):
        interband_rows(z, z, z, z, np.zeros((n_k, n, 3)), np.zeros((n_k, n, n)), [])
    bad = (np.full((n_k, n), n), np.ones((n_k, n), dtype=bool))
    kk = np.zeros((n_k, n, 9, n), dtype=complex)
    with pytest.raises(ValueError, match="out of range"):
        interband_rows(z, z, kk, z, np.zeros((n_k, n, 3)), np.zeros((n_k, n, n)), [bad])
