"""Issue 14 items 5, 8, 10: non-finite models, truncated _tb.dat, QgmagError from the API."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.errors import ModelError, QgmagError, WannierFormatError
from qgmag.models.continuum import ContinuumModel, Disk


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("form", ["vector", "matrix"])
def test_non_finite_onsite_energies_are_rejected(bad, form):
    onsite = np.array([0.0, bad]) if form == "vector" else np.diag([0.0, bad])
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.TightBindingModel(np.eye(2), [[0, 0], [0.5, 0.5]], [(0, 1, (0, 0), 1.0)],
                                onsite=onsite)


def test_non_finite_arrays_are_rejected_by_from_arrays():
    m = qgmag.models.haldane()
    mats = np.array(m.hopping_matrices)
    mats[0, 0, 1] = np.nan
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.TightBindingModel.from_arrays(m.lattice, m.positions, m.hopping_vectors, mats)
    spin = np.zeros((3, 2, 2), complex)
    spin[2, 0, 0] = np.inf
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.TightBindingModel.from_arrays(
            m.lattice, m.positions, m.hopping_vectors, m.hopping_matrices, spin=spin
        )


def _continuum(bad_at_large_k: bool) -> ContinuumModel:
    sz = np.diag([1.0, -1.0]).astype(complex)
    sx = np.array([[0, 1], [1, 0]], complex)

    def h(k):
        out = k[:, 0, None, None] * sx + 0.1 * sz
        if bad_at_large_k:
            out[np.linalg.norm(k, axis=1) > 0.5] = np.nan
        return out

    def dh(k):
        return np.stack([np.broadcast_to(sx, (len(k), 2, 2)), np.zeros((len(k), 2, 2))])

    def d2h(k):
        return np.zeros((2, 2, len(k), 2, 2), complex)

    return ContinuumModel(h, dh, d2h, dim=2, n_bands=2, domain=Disk(1.0), name="bad")


def test_continuum_model_with_nan_at_evaluation_is_an_error_not_nan_results():
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.compute(_continuum(True), "anomalous_hall_conductivity", 0.0, kmesh=(10, 12))
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.band_geometry(_continuum(True), np.array([[0.9, 0.0]]))
    ok = qgmag.compute(_continuum(False), "anomalous_hall_conductivity", 0.0, kmesh=(10, 12))
    assert np.all(np.isfinite(ok.anomalous_hall_conductivity))


def test_compute_refuses_non_finite_results(monkeypatch):
    from qgmag.observables import integrands as ig

    real = ig.berry_curvature

    def poisoned(bands):
        out = real(bands)
        out[0, 0, 2] = np.nan
        return out

    from qgmag.observables import registry

    term = registry.OBSERVABLES["anomalous_hall_conductivity"].terms[0]
    obs = registry.OBSERVABLES["anomalous_hall_conductivity"]
    fake = registry.Observable(
        obs.name, obs.description, obs.equation, obs.shape,
        (registry.Term("total", poisoned, "f0", term.factor),), obs.units,
    )
    monkeypatch.setitem(registry.OBSERVABLES, obs.name, fake)
    monkeypatch.setitem(qgmag.integrate.driver.OBSERVABLES, obs.name, fake)
    with pytest.raises(QgmagError, match="NaN or infinite"):
        qgmag.compute(qgmag.models.haldane(), obs.name, 0.0, kmesh=(6, 6))


# -- item 8 ------------------------------------------------------------------------------


def test_tb_dat_cut_at_the_h_position_boundary_is_truncated(tmp_path):
    from tests.cli.conftest import write_cubic_tb

    full = write_cubic_tb(tmp_path / "cubic_tb.dat")
    text = full.read_text()
    cut = tmp_path / "cut_tb.dat"
    # everything up to the first position block: exactly the H(R) blocks
    lines = text.splitlines()
    first_r = next(i for i, line in enumerate(lines) if line.count(" ") >= 7)
    cut.write_text("\n".join(lines[: first_r - 2]) + "\n")
    with pytest.raises(WannierFormatError, match="truncated"):
        qgmag.read_wannier90(cut)
    qgmag.read_wannier90(full)  # the complete file still reads


def test_auto_spinor_ordering_without_win_says_so_when_spin_is_requested(tmp_path):
    from tests.cli.conftest import write_cubic_tb

    path = write_cubic_tb(tmp_path / "cubic_tb.dat")
    model = qgmag.read_wannier90(path, spinor_ordering="auto")
    with pytest.raises(QgmagError, match="found no cubic.win"):
        qgmag.compute(model, "spin_magnetization", 0.0, kmesh=(4, 4, 4))


# -- item 10 -----------------------------------------------------------------------------


def test_string_hopping_is_a_model_error():
    with pytest.raises(ModelError, match="amplitude"):
        qgmag.TightBindingModel(np.eye(2), [[0, 0]], [(0, 0, (1, 0), "one")])
    with pytest.raises(ModelError, match="lattice"):
        qgmag.TightBindingModel([["a", 0], [0, 1]], [[0, 0]])


def test_unknown_berry_connection_is_a_qgmag_error(tmp_path):
    from tests.cli.conftest import write_cubic_tb

    path = write_cubic_tb(tmp_path / "cubic_tb.dat")
    with pytest.raises(QgmagError, match="berry_connection"):
        qgmag.read_wannier90(path, berry_connection="exact")
    with pytest.raises(QgmagError, match="spinor_ordering"):
        qgmag.read_wannier90(path, spinor_ordering="up-down")


def test_compute_with_a_model_name_string_is_a_qgmag_error():
    with pytest.raises(QgmagError, match="model"):
        qgmag.compute("haldane", "chern_number", 0.0, kmesh=(6, 6))


def test_misspelled_builder_keyword_is_a_qgmag_error():
    with pytest.raises(QgmagError, match="m"):
        qgmag.models.build_model("haldane", m=0.5)
    with pytest.raises(QgmagError, match="haldane"):
        qgmag.models.haldane(m=0.5)


@pytest.mark.parametrize("size", [0, -5, 2.5, "10"])
def test_bad_chunk_size_is_refused_by_the_api(size):
    with pytest.raises(QgmagError, match="chunk_size"):
        qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, kmesh=(6, 6), chunk_size=size)


@pytest.mark.parametrize(
    "kwargs",
    [dict(kmesh="6x6"), dict(kmesh=(6, 0)), dict(tau="10"), dict(g_s="2"), dict(smearing="wide"),
     dict(shift="yes"), dict(convergence_check="no"), dict(temperature="hot")],
)
def test_bad_compute_arguments_are_qgmag_errors(kwargs):
    kwargs = {"kmesh": (6, 6), **kwargs}
    with pytest.raises(QgmagError):
        qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, **kwargs)


def test_overflowing_bloch_sum_is_refused_after_the_solve():
    """Finite hoppings whose Bloch sum overflows: the summed H(k) is checked through its
    eigenvalues (the engine skips the full-matrix check for Bloch-summed models)."""
    t = 1e308
    model = qgmag.TightBindingModel(
        np.eye(2), [[0, 0], [0.5, 0.5]], [(0, 1, (0, 0), t), (0, 1, (1, 0), t), (0, 0, (1, 0), t)]
    )
    with pytest.raises(ModelError, match="NaN or infinite"):
        qgmag.compute(model, "anomalous_hall_conductivity", 0.0, kmesh=(8, 8))
