"""A Wannier90 run (Fe.chk, .eig, .mmn, .spn, .uHu, .win) read by qgmag, checked without peers.

Independent facts used:

* WannierBerri's saved ``System_R`` of the same files (``Fe/wberri_npz``, written by
  WannierBerri 26.10, an independent implementation of the q -> R construction): qgmag's
  H, A, B, C, S(R) equal it to round-off.
* WannierBerri 26.10's AHC, M_orb and <σ> on the same files (Γ-centred 12³, T = 0,
  unsymmetrized; run by ``tests/cross_code/test_wannierberri_run.py``, values recorded
  below with 10 digits): qgmag agrees to 1e-6.
* ``Fe_tb.dat`` (H(R) and <0m|r|Rn> written by WannierBerri from the same files, read by
  qgmag's _tb.dat reader): the same AHC at the "full-connection" level.
* At the ab-initio k-points the interpolation is exact: <σ>_n of the bands inside the
  frozen window equals the diagonal of ``Fe.spn``.
* Relabelling a Wannier function by a lattice vector (rewriting the checkpoint's V(k) and
  centres) is an exact gauge change: every full-level observable is unchanged.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import qgmag
from qgmag.errors import QgmagError, WannierFormatError
from qgmag.io import w90_rspace as rs
from qgmag.io import w90_run as run
from qgmag.models.wannier_model import WannierModel

E_F = 17.6255
EFERMI = E_F + np.array([-0.1, 0.0, 0.1])
SEA = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
#: WannierBerri 26.10, WannierData.from_w90_files + System_R.from_wannierdata(berry, morb,
#: spin, symmetrize=False), Grid(NKFFT=12, NKdiv=1), AHC (S/m), Morb (μB/cell), Spin (<σ>/cell)
WB_12 = {
    "ahc": [
        [-8440.088636521, -50697.07579599, 71302.08979922],
        [12511.82031141, -42931.46769341, 38570.51873373],
        [-4734.164654283, -7319.472665621, 67406.82329402],
    ],
    "morb": [
        [-0.001179137737, 0.03378557059, 0.05021256621],
        [-0.002149018070, 0.03299564261, 0.05118764063],
        [-0.008299682398, 0.03258252008, 0.05002480717],
    ],
    "spin": [
        [-0.009174231427, 0.005606739265, -2.432550639],
        [-0.008513128163, 0.004322966627, -2.380858114],
        [-0.007682802452, 0.004008330801, -2.349111783],
    ],
}


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def fe_dir(shared_data):
    path = shared_data / "Fe" / "wannier90"
    if not (path / "Fe.chk").is_file():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def fe_files(fe_dir):
    chk = run.read_chk(fe_dir / "Fe.chk")
    nb, nk = chk.num_bands, chk.num_kpts
    return {
        "chk": chk,
        "eig": run.read_eig(fe_dir / "Fe.eig", nb, nk),
        "mmn": run.read_mmn(fe_dir / "Fe.mmn", nb, nk, chk.nntot),
        "spn": run.read_spn(fe_dir / "Fe.spn", nb, nk),
        "uhu": run.read_uhu(fe_dir / "Fe.uHu", nb, nk, chk.nntot),
    }


@pytest.fixture(scope="module")
def fe(fe_dir):
    return qgmag.read_wannier90(fe_dir / "Fe.chk")


def _model(files, chk=None, phase_centres=None, lopez_at_wannier_centres=True):
    """The model as read_wannier90 builds it; with ``phase_centres`` re-expressed for other
    Bloch-phase centres, keeping (default, as the reader does) or not keeping Lopez's
    occupied-block approximation at the Wannier centres."""
    chk = files["chk"] if chk is None else chk
    m = rs.r_space_matrices(chk, files["eig"], files["mmn"], files["spn"], files["uhu"])
    tau = chk.centres
    if phase_centres is not None:
        m = rs.rephase(m["vectors"], m, tau, phase_centres)
        tau = phase_centres
    return WannierModel.from_wannier(
        chk.lattice,
        tau,
        m["vectors"],
        m["H"],
        m["A"],
        m["B"],
        m["C"],
        0.5 * m["S"],
        lopez_centres=chk.centres if lopez_at_wannier_centres else None,
    )


def test_reads_every_name_and_the_most_complete_level(fe_dir, fe):
    assert fe.level == "full"
    assert fe.n_bands == 18 and fe.n_hoppings == 95
    assert fe.spin_source.startswith("S(R)")
    assert qgmag.read_wannier90(fe_dir / "Fe.win").n_hoppings == 95
    params = fe.parameters
    assert params["exclude_bands"] == list(range(1, 9)) and params["disentangled"]
    assert params["mp_grid"] == [3, 3, 3]


def test_r_space_matrices_equal_wannierberri_system_r(shared_data, fe):
    folder = shared_data / "Fe" / "wberri_npz"
    if not folder.is_dir():
        pytest.skip("wberri_npz not available")
    other = qgmag.read_wannier90(folder)
    assert other.level == "full"
    index = {tuple(v): r for r, v in enumerate(fe.hopping_vectors.tolist())}
    order = [index[tuple(v)] for v in other.hopping_vectors.tolist()]
    assert len(index) == other.n_hoppings
    for attr in (
        "hopping_matrices",
        "position_matrices",
        "orbital_b_matrices",
        "orbital_c_matrices",
        "spin_matrices",
    ):
        a, b = getattr(fe, attr)[order], getattr(other, attr)
        assert np.max(np.abs(a - b)) < 1e-12 * np.max(np.abs(b)), attr


def test_sea_quantities_pinned_to_wannierberri(fe):
    ds = qgmag.compute(fe, SEA, EFERMI, 0.0, (12, 12, 12))
    assert _rel(ds.anomalous_hall_conductivity.values[:, 0] * 100.0, WB_12["ahc"]) < 1e-6
    assert _rel(ds.orbital_magnetization_per_cell.values[:, 0], WB_12["morb"]) < 1e-6
    assert _rel(-ds.spin_magnetization_per_cell.values[:, 0], WB_12["spin"]) < 1e-6
    local = ds.orbital_magnetization_local_per_cell + ds.orbital_magnetization_itinerant_per_cell
    assert _rel(local.values, ds.orbital_magnetization_per_cell.values) < 1e-12
    for name in SEA:
        assert ds[name].attrs["level"] in ("full", "full-connection")
    assert ds.orbital_magnetization.attrs["level"] == "full"


def test_ahc_equals_the_tb_dat_route(shared_data, fe):
    tb = shared_data / "Fe" / "Fe_tb.dat"
    if not tb.is_file():
        pytest.skip("Fe_tb.dat not available")
    from_tb = qgmag.read_wannier90(tb, berry_connection="full")
    a = qgmag.compute(fe.with_level("full-connection"), SEA[0], EFERMI, 0.0, (6, 6, 6))
    b = qgmag.compute(from_tb, SEA[0], EFERMI, 0.0, (6, 6, 6))
    # the text file holds 8 significant digits
    assert _rel(a.anomalous_hall_conductivity, b.anomalous_hall_conductivity) < 1e-6


def test_spin_at_ab_initio_kpoints_equals_spn(fe_files, fe):
    chk, eig, spn = fe_files["chk"], fe_files["eig"], fe_files["spn"]
    recip = 2 * np.pi * np.linalg.inv(chk.lattice).T
    ds = qgmag.band_geometry(fe, chk.kpt_red @ recip, ["energy", "spin"])
    checked = 0
    for k in range(chk.num_kpts):
        for n, e in enumerate(ds.energy.values[k]):
            match = np.flatnonzero(np.abs(eig[k] - e) < 1e-6)
            others = np.abs(ds.energy.values[k] - e)
            if match.size != 1 or np.sum(others < 1e-4) != 1 or e > 30.0:  # frozen window
                continue
            sigma = np.real(spn[k][:, match[0], match[0]])
            assert np.max(np.abs(2 * ds.spin.values[k, n] - sigma)) < 1e-8
            checked += 1
    assert checked > 200


def test_relabelling_a_wannier_function_changes_nothing(fe_files):
    chk = fe_files["chk"]
    shift = np.zeros((chk.num_wann, 3), dtype=int)
    shift[3], shift[0] = (1, -1, 2), (0, 0, -1)
    phase = np.exp(-2j * np.pi * chk.kpt_red @ shift.T)  # V_n(k) -> e^{-ik·L} V_n(k)
    moved = dataclasses.replace(
        chk, v_matrix=chk.v_matrix * phase[:, None, :], centres=chk.centres + shift @ chk.lattice
    )
    a, b = _model(fe_files), _model(fe_files, moved)
    assert b.n_hoppings != a.n_hoppings  # the R list really changed
    k = np.random.default_rng(0).normal(size=(4, 3))
    names = ["energy", "berry_curvature", "orbital_moment", "spin"]
    ga, gb = qgmag.band_geometry(a, k, names), qgmag.band_geometry(b, k, names)
    for name in names:
        assert float(abs(ga[name] - gb[name]).max()) < 1e-9 * float(abs(ga[name]).max()), name
    da = qgmag.compute(a, SEA, [E_F], 0.0, (4, 4, 4))
    db = qgmag.compute(b, SEA, [E_F], 0.0, (4, 4, 4))
    for name in da.data_vars:
        assert _rel(db[name], da[name]) < 1e-10, name


@pytest.mark.parametrize("formula", ["lopez", "projected"])
def test_moving_phase_centres_changes_nothing(fe_files, formula):
    """Re-expressing the model for other Bloch-phase centres (cell origin, random) is an
    exact change of basis: with either orbital formula every full-level quantity (energies,
    Ω, the full orbital moment, spin) per band and every observable (AHC, both M^O terms,
    M^S) are unchanged to round-off. For "lopez" this holds because its occupied-block
    approximation is taken at the Wannier centres whatever the Bloch-phase centres."""
    chk = fe_files["chk"]
    a = _model(fe_files).with_level("full", formula)
    rng = np.random.default_rng(5)
    k = rng.normal(size=(4, 3))
    names = ["energy", "berry_curvature", "orbital_moment", "spin"]
    da = qgmag.compute(a, SEA, [E_F], 0.0, (4, 4, 4))
    ga = qgmag.band_geometry(a, k, names)
    for centres in (np.zeros_like(chk.centres), chk.centres + rng.normal(size=chk.centres.shape)):
        b = _model(fe_files, phase_centres=centres).with_level("full", formula)
        gb = qgmag.band_geometry(b, k, names)
        for name in names:
            assert float(abs(ga[name] - gb[name]).max()) < 1e-9 * float(abs(ga[name]).max())
        db = qgmag.compute(b, SEA, [E_F], 0.0, (4, 4, 4))
        for name in da.data_vars:
            assert _rel(db[name], da[name]) < 1e-10, name


def test_read_wannier90_phase_centres_changes_nothing(fe_dir, fe):
    """The public route: read_wannier90(..., phase_centres=origin) gives the default's
    numbers (AHC, M^O both terms, M^S, extrinsic kinetic responses)."""
    moved = qgmag.read_wannier90(fe_dir / "Fe.chk", phase_centres=np.zeros((fe.n_bands, 3)))
    assert moved.lopez_centres is not None
    names = [*SEA, "kinetic_orbital_extrinsic", "kinetic_spin_extrinsic"]
    da = qgmag.compute(fe, names, [E_F], 300.0, (4, 4, 4), allow_coarse_mesh=True)
    db = qgmag.compute(moved, names, [E_F], 300.0, (4, 4, 4), allow_coarse_mesh=True)
    for name in da.data_vars:
        assert _rel(db[name], da[name]) < 1e-10, name


def test_lopez_approximation_depends_on_its_gauge(fe_files):
    """Why the gauge of the "lopez" formula is fixed: its occupied block uses ε Ā for B̄,
    exact only for an H-invariant Wannier space, so taking it in the origin convention
    (postw90-style bookkeeping) changes M^O of this disentangled model by > 1e-3 μB/cell,
    while the "projected" formula (B̄ itself) does not care."""
    chk = fe_files["chk"]
    origin = np.zeros_like(chk.centres)
    lopez = [
        qgmag.compute(
            _model(fe_files, phase_centres=c, lopez_at_wannier_centres=w),
            SEA[1],
            [E_F],
            0.0,
            (4, 4, 4),
        )
        for c, w in ((None, True), (origin, False))
    ]
    diff = lopez[0].orbital_magnetization_per_cell - lopez[1].orbital_magnetization_per_cell
    assert float(abs(diff).max()) > 1e-3


def test_levels_and_attrs(fe):
    k = np.array([[0.1, 0.2, 0.3]])
    tb = fe.with_level("tight-binding")
    assert tb.level == "tight-binding" and tb.berry_connection == "tight-binding"
    ds = qgmag.band_geometry(fe, k)
    assert ds.orbital_moment.attrs["level"] == "full"
    assert ds.berry_curvature.attrs["level"] == "full-connection"
    assert ds.quantum_metric.attrs["level"] == "tight-binding"
    assert ds.magnetoelectric_tensor.attrs["level"] == "tight-binding"
    d_tb = qgmag.band_geometry(tb, k, ["orbital_moment", "berry_curvature"])
    assert d_tb.orbital_moment.attrs["level"] == "tight-binding"
    assert float(abs(d_tb.orbital_moment - ds.orbital_moment).max()) > 1e-3


def test_chk_fmt_round_trip(fe_files, tmp_path, fe_dir):
    chk = fe_files["chk"]
    run.write_chk_fmt(chk, tmp_path / "Fe.chk.fmt")
    back = run.read_chk(tmp_path / "Fe.chk.fmt")
    assert np.max(np.abs(back.v_matrix - chk.v_matrix)) < 1e-14
    assert np.allclose(back.centres, chk.centres) and back.mp_grid == chk.mp_grid
    shutil.copy(fe_dir / "Fe.eig", tmp_path / "Fe.eig")
    model = qgmag.read_wannier90(tmp_path / "Fe.chk.fmt")
    assert model.level == "tight-binding"  # no .mmn next to it


def _folder(tmp_path, fe_dir, skip=()):
    for name in ("Fe.chk", "Fe.eig", "Fe.mmn", "Fe.spn", "Fe.uHu", "Fe.win"):
        if name not in skip:
            (tmp_path / name).symlink_to(fe_dir / name)
    return tmp_path


def test_inconsistent_files_name_the_file(tmp_path, fe_dir):
    folder = _folder(tmp_path, fe_dir, skip=("Fe.eig", "Fe.win"))
    lines = (fe_dir / "Fe.eig").read_text().splitlines()
    (folder / "Fe.eig").write_text("\n".join(lines[:-20]) + "\n")
    with pytest.raises(WannierFormatError, match=r"Fe\.eig.*num_bands"):
        qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.eig").unlink()
    (folder / "Fe.eig").symlink_to(fe_dir / "Fe.eig")
    win = (fe_dir / "Fe.win").read_text().replace("num_wann     =   18", "num_wann = 16")
    (folder / "Fe.win").write_text(win)
    with pytest.raises(WannierFormatError, match=r"Fe\.win.*num_wann = 16"):
        qgmag.read_wannier90(folder / "Fe")
    (folder / "Fe.win").write_text(
        win.replace("num_wann = 16", "num_wann = 18").replace("spinors = T", "spinors = F")
    )
    with pytest.raises(WannierFormatError, match="spinors"):
        qgmag.read_wannier90(folder / "Fe")


def test_malformed_files(tmp_path, fe_dir):
    folder = _folder(tmp_path, fe_dir, skip=("Fe.mmn", "Fe.spn", "Fe.uHu"))
    text = (fe_dir / "Fe.mmn").read_text().splitlines()
    (folder / "Fe.mmn").write_text("\n".join(text[:1000]) + "\n")
    with pytest.raises(WannierFormatError, match=r"Fe\.mmn.*truncated"):
        qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.mmn").write_text("\n".join([text[0], "20 27 8"] + text[2:]) + "\n")
    with pytest.raises(WannierFormatError, match=r"Fe\.mmn.*nntot = 8"):
        qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.mmn").unlink()
    (folder / "Fe.spn").write_bytes((fe_dir / "Fe.spn").read_bytes()[:5000])
    with pytest.raises(WannierFormatError, match=r"Fe\.spn"):
        qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.chk").unlink()
    with pytest.raises(WannierFormatError, match="checkpoint"):
        qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.chk").write_bytes(b"\x00" * 64)
    with pytest.raises(WannierFormatError, match="unformatted"):
        qgmag.read_wannier90(folder / "Fe.chk")


def test_tb_options_refused_for_a_run(fe_dir, fe):
    with pytest.raises(QgmagError, match="_tb.dat/_hr.dat files only"):
        qgmag.read_wannier90(fe_dir / "Fe.chk", spinor_ordering="spin-fastest")
    centres = np.array(fe.parameters["wannier_centres_cart"])
    with pytest.raises(QgmagError, match="needs B"):
        WannierModel.from_wannier(
            fe.lattice,
            centres,
            fe.hopping_vectors,
            fe.hopping_matrices,
            np.zeros(fe.hopping_matrices.shape + (3,)),
            level="full",
        )


def test_tellurium_legacy_folder_is_time_reversal_symmetric(shared_data):
    folder = shared_data / "Te" / "wberri_npz"
    if not folder.is_dir():
        pytest.skip("Te/wberri_npz not available")
    te = qgmag.read_wannier90(folder)
    assert te.level == "full" and te.n_bands == 24 and te.parameters["format"].endswith("legacy")
    ds = qgmag.compute(te, ["orbital_magnetization", "spin_magnetization"], 5.88, 0.0, (4, 4, 4))
    assert float(abs(ds.orbital_magnetization_per_cell).max()) < 1e-9
    assert float(abs(ds.spin_magnetization_per_cell).max()) < 1e-9
    moment = qgmag.band_geometry(te, np.array([[0.3, 0.1, 0.2]]), ["orbital_moment"])
    assert float(abs(moment.orbital_moment).max()) > 1e-3  # nonzero per k: the zero is TRS


def test_wberri_folder_errors(tmp_path, shared_data):
    folder = shared_data / "Fe" / "wberri_npz"
    if not folder.is_dir():
        pytest.skip("wberri_npz not available")
    for f in folder.iterdir():
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "wannier_centers_cart.npz").unlink()
    with pytest.raises(WannierFormatError, match="wannier_centers_cart.npz' is missing"):
        qgmag.read_wannier90(tmp_path)
    np.savez(tmp_path / "wannier_centers_cart.npz", np.array([None, 1], dtype=object))
    with pytest.raises(WannierFormatError, match="without pickle"):
        qgmag.read_wannier90(tmp_path)


@pytest.mark.parametrize("route", ["run", "npz"])
def test_energy_shift_is_an_exact_relabelling(shared_data, fe_dir, fe, route):
    """energy_shift=s with .uHu (C(R)) gives exactly the unshifted model with every energy
    + s: every full-level observable at mu + s equals the unshifted one at mu (B + sA,
    C + s(∂×A)(R): without the C term M^O_local would not be unchanged)."""
    s = -17.6255
    if route == "run":
        a, b = fe, qgmag.read_wannier90(fe_dir / "Fe.chk", energy_shift=s)
    else:
        folder = shared_data / "Fe" / "wberri_npz"
        if not folder.is_dir():
            pytest.skip("wberri_npz not available")
        a, b = qgmag.read_wannier90(folder), qgmag.read_wannier90(folder, energy_shift=s)
    assert b.orbital_c_matrices is not None and b.level == "full"
    names = [*SEA, "kinetic_orbital_extrinsic"]
    kw = {"temperature": 300.0, "kmesh": (4, 4, 4), "allow_coarse_mesh": True}
    da = qgmag.compute(a, names, EFERMI, **kw)
    db = qgmag.compute(b, names, EFERMI + s, **kw)
    for name in da.data_vars:
        assert _rel(db[name].values, da[name].values) < 1e-10, name
    k = np.random.default_rng(2).normal(size=(3, 3))
    ga, gb = (qgmag.band_geometry(m, k, ["energy", "orbital_moment"]) for m in (a, b))
    assert float(abs(gb.energy - ga.energy - s).max()) < 1e-10
    assert float(abs(gb.orbital_moment - ga.orbital_moment).max()) < 1e-10


def test_corrupt_numbers_are_refused(tmp_path, fe_dir):
    """Found by fuzzing the run files (session 7): an .eig with NaN, an empty one, one with
    a (band, k-point) twice and another missing (read into uninitialised memory before),
    and a .chk whose gauge matrix has a flipped byte (overflow in the R-space sums before)
    are refused, naming the file."""
    folder = _folder(tmp_path, fe_dir, skip=("Fe.eig", "Fe.chk"))
    (folder / "Fe.chk").symlink_to(fe_dir / "Fe.chk")
    lines = (fe_dir / "Fe.eig").read_text().splitlines()
    n, k, _ = lines[5].split()
    cases = {
        "nan": lines[:5] + [f"{n} {k} nan"] + lines[6:],
        "empty": [],
        "twice": lines[:5] + [lines[4]] + lines[6:],
    }
    for text in cases.values():
        (folder / "Fe.eig").write_text("\n".join(text) + "\n")
        with pytest.raises(WannierFormatError, match=r"Fe\.eig"):
            qgmag.read_wannier90(folder / "Fe.chk")
    (folder / "Fe.eig").unlink()
    (folder / "Fe.eig").symlink_to(fe_dir / "Fe.eig")
    from qgmag.io.w90_chk import read_chk

    good = read_chk(fe_dir / "Fe.chk")
    raw = bytearray((fe_dir / "Fe.chk").read_bytes())
    # the exponent byte of one U entry: the first entry of V[0] found in the file
    target = np.complex128(good.v_matrix[0][np.nonzero(good.v_matrix[0])][0])
    pos = bytes(raw).find(np.float64(target.real).tobytes())
    assert pos > 0
    raw[pos + 7] ^= 0x30  # scales it by 2^±768-ish
    (folder / "Fe.chk").unlink()
    (folder / "Fe.chk").write_bytes(bytes(raw))
    with pytest.raises(WannierFormatError, match=r"Fe\.chk.*(not unitary|> 1 entries|non-finite)"):
        qgmag.read_wannier90(folder / "Fe.chk")


def test_corrupt_overlaps_are_refused(tmp_path, fe_dir):
    """.mmn blocks with a neighbour index outside 1..num_kpts, a missing number, or NaN
    (fuzzing: an IndexError or a broadcast ValueError before) are refused naming the file."""
    folder = _folder(tmp_path, fe_dir, skip=("Fe.mmn", "Fe.uHu"))
    lines = (fe_dir / "Fe.mmn").read_text().split("\n")
    head = lines[2].split()
    bad_neighbour = lines[:2] + [" ".join([head[0], "999", *head[2:]])] + lines[3:]
    missing = lines[:3] + [lines[3].split()[0]] + lines[4:]
    nan = lines[:3] + ["nan " + lines[3].split()[1]] + lines[4:]
    for text in (bad_neighbour, missing, nan):
        (folder / "Fe.mmn").write_text("\n".join(text))
        with pytest.raises(WannierFormatError, match=r"Fe\.mmn"):
            qgmag.read_wannier90(folder / "Fe.chk")
