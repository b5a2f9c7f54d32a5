"""Spinor partners without a .spn file: identified, checked, or refused (never guessed)."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag.io.spinor_pairs import SpinPairsError, identify_pairs, pairs_by_centre

GAAS_PAIRS = [(0, 7), (1, 2), (3, 6), (4, 5), (8, 9), (10, 11), (12, 13), (14, 15)]
MU_GAP = 7.9  # eV, between the VBM 7.7209 and the CBM 8.1237 (GaAs/scf.out, the model)


@pytest.fixture(scope="module")
def gaas(shared_data):
    path = shared_data / "GaAs" / "GaAs_tb.dat"
    if not path.is_file():
        pytest.skip("GaAs_tb.dat not available")
    return path


def test_gaas_spin_refused_without_pairs(gaas):
    for kwargs in (
        {"spinor_ordering": "spin-fastest"},
        {"spinor_ordering": "auto"},
        {"spin_pairs": "auto"},
    ):
        with pytest.raises(SpinPairsError, match=r"spin_pairs=\[\(up, down\)"):
            qgmag.read_wannier90(gaas, **kwargs)
    model = qgmag.read_wannier90(gaas)  # no spin requested: bands still work
    assert model.spin is None
    with pytest.raises(qgmag.QgmagError, match="spin"):
        qgmag.compute(model, "spin_magnetization", MU_GAP, 0.0, (2, 2, 2))


def test_gaas_pairs_by_centre(gaas):
    model = qgmag.read_wannier90(gaas)
    assert pairs_by_centre(np.array(model.parameters["wannier_centres_cart"])) == GAAS_PAIRS


def test_gaas_spin_magnetization_in_the_gap(gaas):
    """Non-magnetic GaAs: with the partners that share a centre M^S is ~0 in the gap; with
    the spin-fastest guess it is not (the error the refusal prevents)."""
    right = qgmag.read_wannier90(gaas, spin_pairs=GAAS_PAIRS)
    wrong = qgmag.read_wannier90(gaas, spin_pairs=[(2 * i, 2 * i + 1) for i in range(8)])
    ms = [
        qgmag.compute(
            m, "spin_magnetization", MU_GAP, 0.0, (6, 6, 6)
        ).spin_magnetization_per_cell.values
        for m in (right, wrong)
    ]
    # the GaAs Wannier functions are not exact Kramers pairs of the ideal operator
    # (measured |M^S| = 1e-5 μB on 8^3), far below the wrong-pair value 0.04 μB
    assert np.max(np.abs(ms[0])) < 1e-4
    assert np.max(np.abs(ms[1])) > 1e-2


def test_explicit_pairs_are_validated(gaas):
    with pytest.raises(SpinPairsError, match="exactly once"):
        qgmag.read_wannier90(gaas, spin_pairs=[(0, 1)] * 8)
    with pytest.raises(SpinPairsError, match="list of"):
        qgmag.read_wannier90(gaas, spin_pairs=[1, 2, 3])


def test_identify_pairs_accepts_shared_centres():
    centres = np.repeat(np.random.default_rng(0).normal(size=(3, 3)), 2, axis=0)
    pairs, how = identify_pairs(centres, "test")
    assert pairs == [(0, 1), (2, 3), (4, 5)] and how.startswith("spin-fastest")
    blocks = np.concatenate([centres[0::2], centres[0::2]])
    assert identify_pairs(blocks, "test")[0] == [(0, 3), (1, 4), (2, 5)]


def test_fe_run_without_spn(shared_data, tmp_path):
    folder = shared_data / "Fe" / "wannier90"
    if not (folder / "Fe.chk").is_file():
        pytest.skip("Fe run not available")
    for name in ("Fe.chk", "Fe.eig", "Fe.win"):
        (tmp_path / name).symlink_to(folder / name)
    assert qgmag.read_wannier90(tmp_path / "Fe.chk").spin is None
    with pytest.raises(SpinPairsError, match="cannot be identified"):
        qgmag.read_wannier90(tmp_path / "Fe.chk", spin_pairs="auto")
    model = qgmag.read_wannier90(
        tmp_path / "Fe.chk", spin_pairs=[(2 * i, 2 * i + 1) for i in range(9)]
    )
    assert model.spin_source.startswith("ideal Pauli matrices on explicit pairs")
