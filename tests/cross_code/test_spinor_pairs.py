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
    # the default model (Wannier90's minimal-distance rule, an insulator at MU_GAP) breaks
    # time reversal by itself (fitted residual 1.3e-3 eV): |M^S| = 1.1e-5 μB on 6^3 and 8^3,
    # far below the wrong-pair value 0.04 μB (exact zero: test_tb_minimal_distance.py)
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


def _gaas_models(gaas, lam=(1.0,)):
    """GaAs_tb.dat with the spin of spin_pairs="time-reversal", and the models
    H_sym + λ (H - H_sym) that interpolate from the exactly time-reversal-symmetric
    H_sym(R) = (H(R) + U H(R)* U†)/2 (λ = 0) to the file (λ = 1)."""
    from qgmag.io.time_reversal import fit_time_reversal
    from qgmag.models.tight_binding import TightBindingModel

    model = qgmag.read_wannier90(gaas, spin_pairs="time-reversal")
    fit = fit_time_reversal(model.hopping_matrices)
    h = np.asarray(model.hopping_matrices)
    h_sym = fit.symmetrize(h)
    return model, fit, [
        TightBindingModel.from_arrays(
            model.lattice, model.positions, model.hopping_vectors, h_sym + x * (h - h_sym),
            model.spin, gauge="atomic", positions_outside_cell=True,
        )
        for x in lam
    ]


def _ms_gap(model, nk=6):
    ds = qgmag.compute(model, "spin_magnetization", MU_GAP, 0.0, (nk, nk, nk))
    return ds.spin_magnetization_per_cell.values.ravel()


def test_gaas_fitted_time_reversal(gaas):
    """Θ = U K fitted to GaAs_tb.dat: spinful (U U* = -1), unique (next singular value
    ~650x the smallest), pairing exactly the partners that share a centre; the residual
    (9e-4 eV) says the file is time-reversal symmetric only approximately."""
    model, fit, _ = _gaas_models(gaas, ())
    assert fit.spinful and fit.antisymmetry < 1e-12
    assert fit.singular_values[1] > 100 * fit.singular_values[0]
    assert 1e-4 < fit.residual < 1e-2  # not exact: the reason M^S is not zero in the gap
    assert fit.pairs == GAAS_PAIRS and fit.off_pair < 1e-4
    assert np.allclose(np.abs(fit.phases), 1.0, atol=1e-8)
    assert model.parameters["spinor_ordering"].startswith("Kramers pairs of the fitted")
    # the T-odd spin differs from σ/2 on the centre pairs only at the off-pair level of U
    ideal = np.asarray(qgmag.read_wannier90(gaas, spin_pairs=GAAS_PAIRS).spin)
    assert 0 < np.max(np.abs(np.asarray(model.spin) - ideal)) < 1e-4
    assert fit.odd_breaking(model.spin) < 1e-14


def test_gaas_spin_magnetization_zero_for_the_symmetrized_model(gaas):
    """Exact identity: H_sym is Θ-symmetric and S is Θ-odd, so the filled bands of the
    insulator carry exactly opposite spin at k and -k: M^S = 0 to round-off in the gap.
    M^S is odd in the breaking (M(-λ) = -M(λ), Θ maps λ to -λ) and, the breaking being
    small, linear in it; at λ = 1 (the file) it is bounded by the first-order estimate
    g·2·max_k(|δH(k)|_F/Δ(k))·|S_a|_F."""
    model, fit, (sym, raw, neg, half) = _gaas_models(gaas, (0.0, 1.0, -1.0, 0.5))
    assert np.max(np.abs(_ms_gap(sym))) < 1e-13  # measured 9e-16 (minimal-distance model)
    m_raw, m_neg, m_half = _ms_gap(raw), _ms_gap(neg), _ms_gap(half)
    assert np.max(np.abs(m_raw)) > 1e-7  # the file does break Θ
    assert np.max(np.abs(m_raw + m_neg)) < 1e-12
    assert np.max(np.abs(2 * m_half - m_raw)) < 1e-6 * np.max(np.abs(m_raw))
    h = np.asarray(model.hopping_matrices)
    rc = model.hopping_vectors @ model.lattice
    recip = 2 * np.pi * np.linalg.inv(model.lattice).T
    k = np.stack(np.meshgrid(*[np.arange(6) / 6] * 3, indexing="ij"), -1).reshape(-1, 3) @ recip
    phase = np.exp(1j * k @ rc.T)
    delta = np.einsum("kr,rij->kij", phase, h - fit.symmetrize(h))
    e = np.linalg.eigvalsh(np.einsum("kr,rij->kij", phase, fit.symmetrize(h)))
    n_occ = int(np.sum(e[0] < MU_GAP))
    ratio = np.max(np.linalg.norm(delta, axis=(1, 2)) / (e[:, n_occ] - e[:, n_occ - 1]))
    bound = 2.0023 * 2 * ratio * np.max(np.linalg.norm(np.asarray(model.spin), axis=(1, 2)))
    assert np.max(np.abs(m_raw)) < bound


def test_time_reversal_pairs_refused_for_a_magnet(shared_data, tmp_path):
    """Fe (a ferromagnet) has no time-reversal symmetry: spin_pairs="time-reversal" on the
    run route is refused with the residual and the fix (explicit pairs)."""
    folder = shared_data / "Fe" / "wannier90"
    if not (folder / "Fe.chk").is_file():
        pytest.skip("Fe run not available")
    for name in ("Fe.chk", "Fe.eig", "Fe.win"):
        (tmp_path / name).symlink_to(folder / name)
    match = r"not time-reversal symmetric.*spin_pairs=\[\(up, down\)"
    with pytest.raises(SpinPairsError, match=match):
        qgmag.read_wannier90(tmp_path / "Fe.chk", spin_pairs="time-reversal")
