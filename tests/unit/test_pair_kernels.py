"""Compiled band-pair kernels (qgmag.geometry.pair_kernels) against the numpy reference.

The numba kernels and the numpy pair forms of qgmag.geometry.full_level must give the same
full-connection Berry curvature pair part and external orbital moment (to round-off), with
and without a band window, at generic k and at high-symmetry points (degenerate sets); the
Berry pair part also equals the elementwise Σ_{l∉D(n)} 2 Re[V^a_nl Ā^b_ln - V^b_nl Ā^a_ln]
/(ε_n - ε_l) written out here on full matrices (an independent form of the same sum). The
integrated AHC / M^O / M^S / kinetic orbital response are equal with either kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.bands.engine import BandData
from qgmag.geometry import full_level as fl
from qgmag.geometry import pair_kernels

E_F = 17.6255
pytestmark = pytest.mark.skipif(not pair_kernels.AVAILABLE, reason="numba not importable")


@pytest.fixture(scope="module")
def fe(shared_data):
    path = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return qgmag.read_wannier90(path)


def _kpoints(model) -> np.ndarray:
    rng = np.random.default_rng(11)
    b = np.asarray(model.reciprocal_lattice)
    special = np.array([[0, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0.5], [0, 0.5, 0.5]]) @ b
    return np.vstack([special, rng.uniform(-1.0, 1.0, (40, 3))])


def _with_kernel(monkeypatch, kernel, fn, *args):
    monkeypatch.setattr(fl, "PAIR_KERNEL", kernel)
    return fn(*args)


@pytest.mark.parametrize("window", [None, (-np.inf, E_F + 0.2)])
def test_kernels_equal_numpy_forms(fe, monkeypatch, window):
    model = fe.with_level("full")
    k = _kpoints(model)
    out = {}
    for kernel in ("numpy", "numba"):
        bands = BandData(model, k, energy_window=window)
        assert fl.pairs_usable(bands)
        if window is not None:
            assert bands.windowed
        out[kernel] = (
            _with_kernel(monkeypatch, kernel, fl.connection_pair_curvature, bands),
            _with_kernel(monkeypatch, kernel, fl.external_orbital_moment, bands),
        )
    for ref, new in zip(out["numpy"], out["numba"], strict=True):
        assert np.abs(new - ref).max() <= 1e-13 * np.abs(ref).max()


def test_berry_kernel_equals_elementwise_sum(fe, monkeypatch):
    model = fe.with_level("full-connection")
    bands = BandData(model, _kpoints(model))
    v, a, inv = bands.velocity_matrix, bands.position_connection, bands.inverse_gap
    expected = np.zeros((3, bands.n_k, bands.n_bands))
    for c, (i, j) in enumerate(((1, 2), (2, 0), (0, 1))):
        # Re[V^i_nl Ā^j_ln - V^j_nl Ā^i_ln] with Ā_ln = conj(Ā_nl), over every l ∉ D(n)
        cross = np.real(v[i] * np.conj(a[j]) - v[j] * np.conj(a[i]))
        expected[c] = 2.0 * (cross * inv).sum(-1)
    got = _with_kernel(monkeypatch, "numba", fl.connection_pair_curvature, bands)
    assert np.abs(got - expected).max() <= 1e-13 * np.abs(expected).max()


@pytest.mark.filterwarnings("ignore:the kmesh")  # a coarse mesh on purpose (kernel equality)
@pytest.mark.parametrize("temperature", [0.0, 300.0])
def test_integrated_results_equal_with_either_kernel(fe, monkeypatch, temperature):
    """Also with the extrinsic kinetic orbital response at 300 K, whose integrand asks for
    the external moment a second time in the chunk (the cached parts must not change)."""
    model = fe.with_level("full")
    mu = E_F + np.array([-0.1, 0.0, 0.1])
    names = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
    if temperature > 0:
        names.append("kinetic_orbital_extrinsic")
    res = {}
    for kernel in ("numpy", "numba"):
        monkeypatch.setattr(fl, "PAIR_KERNEL", kernel)
        res[kernel] = qgmag.compute(
            model, names, mu, temperature, (5, 5, 5), progress=False, allow_coarse_mesh=True
        )
    for name in res["numpy"].data_vars:
        ref, new = res["numpy"][name].values, res["numba"][name].values
        assert np.abs(new - ref).max() <= 1e-13 * np.abs(ref).max(), name


@pytest.mark.parametrize("block", [7, 128])
@pytest.mark.parametrize("on_mesh", [False, True])
def test_external_blocks_equal_separate_sums(fe, monkeypatch, on_mesh, block):
    """One Fourier sum of B^† and packed C, stacked GEMMs and the compiled diagonal
    (full_level._external_block; _external_blocks: the same block by block) equal the
    separate sums and transforms of the engine: G = U_w† B(k)^† U and
    C̄_nn = Re diag(U† C U), on the direct route and on the separable route of a uniform
    mesh, in blocks of points (cut at mesh-line ends)."""
    from qgmag.kspace.mesh import make_mesh

    monkeypatch.setattr(fl, "EXTERNAL_BLOCK_POINTS", block)

    model = fe.with_level("full")
    window = (-np.inf, E_F + 0.1)
    if on_mesh:
        mesh = make_mesh(model, (6, 6, 6))
        k, _ = mesh.chunk(10, 150)
        bands = BandData(model, k, energy_window=window, mesh_range=(mesh, 10, 150))
        assert bands.separable_sums
    else:
        bands = BandData(model, _kpoints(model), energy_window=window)
    assert bands.windowed
    g, packed = fl._external_block(bands, 0, bands.n_k)
    c_diag = np.stack([packed[:, 0].real, packed[:, 0].imag, packed[:, 1].real])
    assert np.abs(fl._external_blocks(bands)[1] - c_diag).max() <= 1e-13 * np.abs(c_diag).max()
    g_ref = bands._to_eigenbasis(bands.model.wannier_blocks(bands.kpoints, "orbital_b_dagger"))
    c_ref = bands.wannier_diagonal("orbital_c")
    assert np.abs(np.moveaxis(g, 2, 0) - g_ref).max() <= 1e-13 * np.abs(g_ref).max()
    assert np.abs(c_diag - c_ref).max() <= 1e-13 * np.abs(c_ref).max()
    # the diagonal is also Re(U† C U)_nn written out on the full matrices
    c_full = bands._to_eigenbasis(bands.model.wannier_blocks(bands.kpoints, "orbital_c"))
    assert np.abs(c_diag - np.real(bands.diagonal(c_full))).max() <= 1e-13 * np.abs(c_ref).max()


def test_external_moment_unchanged_when_asked_twice(fe):
    bands = BandData(fe.with_level("full"), _kpoints(fe), energy_window=(-np.inf, E_F + 0.2))
    first = fl.external_orbital_moment(bands).copy()  # (a returned cached array would alias)
    assert np.array_equal(fl.external_orbital_moment(bands), first)


def test_kernels_refuse_wrong_shapes(fe):
    bands = BandData(fe.with_level("full"), _kpoints(fe)[:5])
    v, a, inv = bands.velocity_matrix, bands.position_connection, bands.inverse_gap
    with pytest.raises(ValueError, match="g has shape"):
        pair_kernels.moment_pairs(v, a, v, inv, bands.energy)  # G must be (N, n_w, 3, n)
    with pytest.raises(ValueError, match="a has shape"):
        pair_kernels.berry_pairs(v, a[:, :2], inv)


@pytest.mark.parametrize("block", [7, 128])
@pytest.mark.parametrize("on_mesh", [False, True])
def test_connection_blocks_fill_the_engine_properties(fe, monkeypatch, on_mesh, block):
    """The compiled Berry pair route forms Ā and Ω̄_nn block by block and stores them as
    the chunk's position_connection / position_curvature_diagonal: equal to BandData's
    own (a fresh chunk), and the pair part equal to the kernel on BandData's Ā."""
    from qgmag.kspace.mesh import make_mesh

    monkeypatch.setattr(fl, "EXTERNAL_BLOCK_POINTS", block)
    model = fe.with_level("full-connection")
    window = (-np.inf, E_F + 0.1)
    if on_mesh:
        mesh = make_mesh(model, (6, 6, 6))
        k, _ = mesh.chunk(10, 150)
        make = lambda: BandData(model, k, energy_window=window, mesh_range=(mesh, 10, 150))  # noqa: E731
    else:
        k = _kpoints(model)
        make = lambda: BandData(model, k, energy_window=window)  # noqa: E731
    filled, fresh = make(), make()
    assert fl._can_fill_connection(filled)
    pairs = _with_kernel(monkeypatch, "numba", fl.connection_pair_curvature, filled)
    assert "position_connection" in filled.__dict__
    a_ref = fresh.position_connection
    omega_ref = fresh.position_curvature_diagonal
    assert np.abs(filled.position_connection - a_ref).max() <= 1e-13 * np.abs(a_ref).max()
    got = filled.position_curvature_diagonal
    assert np.abs(got - omega_ref).max() <= 1e-13 * np.abs(omega_ref).max()
    ref = pair_kernels.berry_pairs(fresh.velocity_matrix, a_ref, fresh.inverse_gap)
    assert np.abs(pairs - ref).max() <= 1e-13 * np.abs(ref).max()
    assert not fl._can_fill_connection(filled)  # computed once per chunk
