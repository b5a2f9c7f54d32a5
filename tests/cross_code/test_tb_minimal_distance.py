"""Wannier90's minimal-distance rule for ``_tb.dat`` / ``_hr.dat`` files in read_wannier90.

Independent facts used: Wannier90's own Wigner–Seitz loop (``hamiltonian_wigner_seitz``,
re-implemented literally here), the R list Wannier90 wrote into GaAs_tb.dat, the Γ gap of
GaAs/scf.out, the exact identity that the rule changes no Bloch sum on the ab-initio mesh
(k·N L ∈ 2πℤ), WannierBerri's own replicas in Fe_tb.dat (the rule applied again changes
nothing), and time reversal (M^S = 0 for a T-symmetric insulator).
"""

from __future__ import annotations

import itertools
import shutil
import warnings

import numpy as np
import pytest

import qgmag
from qgmag.errors import ModelError, QgmagWarning, WannierFormatError
from qgmag.io.tb_ws import is_wigner_seitz_supercell, wigner_seitz_grid, wigner_seitz_supercell
from qgmag.io.w90_files import read_hamiltonian_file
from qgmag.symmetry.detect import symmetry_violations
from qgmag.symmetry.operations import lattice_candidates

VBM, CBM = 7.7209, 8.1237  # eV, GaAs/scf.out (Γ)
MU_GAP = 7.9
GAAS_PAIRS = [(0, 7), (1, 2), (3, 6), (4, 5), (8, 9), (10, 11), (12, 13), (14, 15)]


def _file(shared_data, relative):
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def gaas(shared_data):
    return _file(shared_data, "GaAs/GaAs_tb.dat")


@pytest.fixture(scope="module")
def gaas_alone(gaas, tmp_path_factory):
    """GaAs_tb.dat in a folder without GaAs.win."""
    folder = tmp_path_factory.mktemp("alone")
    shutil.copy(gaas, folder / "GaAs_tb.dat")
    return folder / "GaAs_tb.dat"


def _with_win(gaas, tmp_path, text):
    shutil.copy(gaas, tmp_path / "GaAs_tb.dat")
    (tmp_path / "GaAs.win").write_text(text)
    return tmp_path / "GaAs_tb.dat"


def wannier90_wigner_seitz(lattice, mp_grid, search=2, tol=1e-5):
    """Wannier90 3.x hamiltonian_wigner_seitz, literally: n in ±search·N, images
    i in ±(search+1), squared distances compared to ws_distance_tol²."""
    metric = lattice @ lattice.T
    mp = np.array(mp_grid)
    images = np.array(list(itertools.product(range(-search - 1, search + 2), repeat=3))) * mp
    centre = (len(images) - 1) // 2
    out = {}
    for n in itertools.product(*[range(-search * x, search * x + 1) for x in mp]):
        diff = np.array(n) - images
        dist = np.einsum("si,ij,sj->s", diff, metric, diff)
        if abs(dist[centre] - dist.min()) < tol**2:
            out[n] = int(np.sum(np.abs(dist - dist.min()) < tol**2))
    return out


LATTICES = {
    "fcc": np.array([[-1.0, 0, 1], [0, 1, 1], [-1, 1, 0]]) * 2.827,
    "bcc": np.array([[1.0, 1, 1], [-1, 1, 1], [-1, -1, 1]]) * 1.435,
    "hexagonal": np.array([[4.457, 0, 0], [-2.2285, 3.859875, 0], [0, 0, 5.958]]),
    "triclinic": np.array([[3.1, 0.2, 0.1], [0.7, 2.9, -0.3], [0.4, -0.6, 4.2]]),
}


@pytest.mark.parametrize("name", sorted(LATTICES))
@pytest.mark.parametrize("grid", [(2, 2, 2), (3, 3, 3), (4, 4, 2), (1, 2, 3)])
def test_wigner_seitz_supercell_is_wannier90s(name, grid):
    lattice = LATTICES[name]
    vectors, degeneracies = wigner_seitz_supercell(lattice, grid)
    expected = wannier90_wigner_seitz(lattice, grid)
    assert {tuple(v): int(d) for v, d in zip(vectors.tolist(), degeneracies, strict=True)} == (
        expected
    )
    assert np.sum(1.0 / degeneracies) == pytest.approx(np.prod(grid), abs=1e-12)
    assert wigner_seitz_grid(lattice, vectors, degeneracies) == grid
    # one vector dropped, or one degeneracy changed: no longer a supercell
    assert wigner_seitz_grid(lattice, vectors[1:], degeneracies[1:]) is None
    assert not is_wigner_seitz_supercell(lattice, vectors, degeneracies + 1, grid)


def test_which_files_are_plain_supercells(shared_data, gaas):
    """GaAs_tb.dat, written by Wannier90 on its 2×2×2 mesh, is that supercell exactly
    (same 19 R vectors and degeneracies); the WannierBerri-written Fe and Te files (replicas
    folded in, every degeneracy 1) are not the supercell of any mesh."""
    raw = read_hamiltonian_file(gaas)
    assert wigner_seitz_grid(raw.lattice, raw.vectors, raw.degeneracies) == (2, 2, 2)
    for relative in ("Fe/Fe_tb.dat", "Te/Te_tb.dat"):
        raw = read_hamiltonian_file(_file(shared_data, relative))
        assert np.all(raw.degeneracies == 1)
        assert wigner_seitz_grid(raw.lattice, raw.vectors, raw.degeneracies) is None


def _mesh(model, nk):
    f = np.stack(np.meshgrid(*[np.arange(nk) / nk] * 3, indexing="ij"), -1).reshape(-1, 3)
    return f @ model.reciprocal_lattice


def test_gaas_default_has_the_scf_gap_and_is_cubic(gaas):
    model = qgmag.read_wannier90(gaas)
    record = model.parameters["minimal_distance"]
    assert record["applied"] and record["mp_grid"] == [2, 2, 2] and record["option"] == "auto"
    assert "GaAs.win" in record["mp_grid_source"] and "use_ws_distance = true" in record["reason"]
    e = np.linalg.eigvalsh(model.hamiltonian(_mesh(model, 8)))
    # scf.out prints 4 decimals; the gap is at Γ (on the mesh)
    assert abs(e[:, 7].max() - VBM) < 1e-4 and abs(e[:, 8].min() - CBM) < 1e-4
    ops = [o for o in lattice_candidates(model.lattice) if not o.time_reversal]
    violation = symmetry_violations(model, ops, quantities=[]).energy_violation
    assert np.max(violation) < 1e-2  # measured 9.3e-3 (as written: > 0.5)


def test_rule_changes_no_bloch_sum_on_the_ab_initio_mesh(gaas):
    """Exact identity: on the 2×2×2 mesh e^{ik·N L} = 1, so H(k) and the Bloch sums of
    r(R) are those of the file as written, to round-off; in between they are not."""
    new = qgmag.read_wannier90(gaas, berry_connection="full")
    old = qgmag.read_wannier90(gaas, berry_connection="full", minimal_distance=False)
    assert new.n_hoppings > old.n_hoppings
    k = _mesh(new, 2)
    assert np.max(np.abs(new.hamiltonian(k) - old.hamiltonian(k))) < 1e-12

    def bloch_r(model, kk):
        phase = np.exp(1j * (model.hopping_vectors @ model.lattice) @ kk)
        return np.einsum("r,rija->ija", phase, model.position_matrices)

    for kk in k:
        assert np.max(np.abs(bloch_r(new, kk) - bloch_r(old, kk))) < 1e-12
    off = new.reciprocal_lattice.T @ np.array([0.13, 0.29, 0.41])
    assert np.max(np.abs(new.hamiltonian(off[None]) - old.hamiltonian(off[None]))) > 1e-2


def test_false_is_the_file_as_written(gaas):
    model = qgmag.read_wannier90(gaas, minimal_distance=False)
    raw = read_hamiltonian_file(gaas)
    assert not model.parameters["minimal_distance"]["applied"]
    assert np.array_equal(model.hopping_vectors, raw.vectors)
    h = raw.hamiltonian / raw.degeneracies[:, None, None]
    assert np.max(np.abs(model.hopping_matrices - h)) < 1e-6  # only the Hermitian average


def test_mesh_without_win(gaas, gaas_alone):
    """Without GaAs.win, "auto" finds the mesh from the R list: the same model; True needs
    mp_grid (one-line error naming the fix and the mesh found); True with mp_grid is the
    same model again."""
    default = qgmag.read_wannier90(gaas)
    alone = qgmag.read_wannier90(gaas_alone)
    assert alone.parameters["minimal_distance"]["mp_grid_source"].startswith("the R list")
    assert np.array_equal(alone.hopping_matrices, default.hopping_matrices)
    with pytest.raises(WannierFormatError, match=r"pass mp_grid=\(N1, N2, N3\).*\(2, 2, 2\)"):
        qgmag.read_wannier90(gaas_alone, minimal_distance=True)
    given = qgmag.read_wannier90(gaas_alone, minimal_distance=True, mp_grid=(2, 2, 2))
    assert np.array_equal(given.hopping_vectors, default.hopping_vectors)
    assert np.array_equal(given.hopping_matrices, default.hopping_matrices)
    assert given.parameters["minimal_distance"]["mp_grid_source"] == "argument mp_grid="


def test_win_keys_decide(gaas, tmp_path):
    raw = read_hamiltonian_file(gaas)
    off = qgmag.read_wannier90(
        _with_win(gaas, tmp_path, "use_ws_distance = .false.\nmp_grid 2 2 2\n")
    )
    assert not off.parameters["minimal_distance"]["applied"]
    assert np.array_equal(off.hopping_vectors, raw.vectors)
    absent = qgmag.read_wannier90(_with_win(gaas, tmp_path, "mp_grid : 2 2 2\n"))
    assert absent.parameters["minimal_distance"]["applied"]  # Wannier90 >= 3 default
    assert "absent" in absent.parameters["minimal_distance"]["reason"]
    with pytest.raises(WannierFormatError, match=r"supercell of mp_grid \(2, 2, 2\), not of"):
        qgmag.read_wannier90(_with_win(gaas, tmp_path, "mp_grid = 3 3 3\n"))
    with pytest.raises(WannierFormatError, match="use_ws_distance = 'maybe' is not a logical"):
        qgmag.read_wannier90(_with_win(gaas, tmp_path, "use_ws_distance = maybe\n"))


@pytest.mark.parametrize(
    ("relative", "kwargs"),
    [
        ("Fe/Fe_tb.dat", {"spinor_ordering": "spin-fastest"}),
        ("Te/Te_tb.dat", {"spinor_ordering": "spin-fastest", "berry_connection": "full"}),
        ("Fe/Fe_hr.dat", {"lattice": "Fe/wannier90/Fe.win", "positions": "Fe/Fe_tb.dat"}),
    ],
)
def test_wannierberri_files_unchanged(shared_data, relative, kwargs):
    """Files written with the replicas folded in are read as written by the default:
    R list of the file, H(R) (and r(R)) bit for bit those of minimal_distance=False."""
    path = _file(shared_data, relative)
    kw = dict(kwargs)
    if "lattice" in kw:
        kw["lattice"] = _file(shared_data, kw["lattice"])
        kw["positions"] = qgmag.read_wannier90(_file(shared_data, kw["positions"])).positions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QgmagWarning)  # split spin pairs of Fe (known)
        default = qgmag.read_wannier90(path, **kw)
        plain = qgmag.read_wannier90(path, minimal_distance=False, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QgmagWarning)
        qgmag.read_wannier90(path, spin=False, **{k: v for k, v in kw.items() if "spin" not in k})
    assert not default.parameters["minimal_distance"]["applied"]
    assert np.array_equal(default.hopping_vectors, read_hamiltonian_file(path).vectors)
    for attr in ("hopping_vectors", "hopping_matrices", "positions"):
        assert np.array_equal(getattr(default, attr), getattr(plain, attr)), attr
    if default.position_matrices is not None:
        assert np.array_equal(default.position_matrices, plain.position_matrices)


def test_rule_again_on_wannierberri_fe_changes_nothing(shared_data):
    """Fe_tb.dat holds WannierBerri's replicas for Fe.win's 3×3×3 mesh: applying the rule
    once more (True) folds them back onto the grid and spreads them over the same images,
    so the bands are those of the file to round-off (measured 5e-14 eV): our rule and
    WannierBerri's agree."""
    path = _file(shared_data, "Fe/Fe_tb.dat")
    a = qgmag.read_wannier90(path)
    b = qgmag.read_wannier90(path, minimal_distance=True, mp_grid=(3, 3, 3))
    k = np.random.default_rng(1).random((20, 3)) @ a.reciprocal_lattice
    ea, eb = (np.linalg.eigvalsh(m.hamiltonian(k)) for m in (a, b))
    assert np.max(np.abs(ea - eb)) < 1e-10


def test_bad_options(gaas, shared_data, tmp_path):
    with pytest.raises(WannierFormatError, match="minimal_distance must be 'auto', True or Fa"):
        qgmag.read_wannier90(gaas, minimal_distance="yes")
    with pytest.raises(WannierFormatError, match="mp_grid must be three positive integers"):
        qgmag.read_wannier90(gaas, minimal_distance=True, mp_grid=(2, 2))
    chk = shared_data / "Fe" / "wannier90" / "Fe.chk"
    if chk.is_file():
        with pytest.raises(ModelError, match=r"\['minimal_distance'\] apply to _tb.dat"):
            qgmag.read_wannier90(chk, minimal_distance=False)
    # folds onto 2×2×2 with Wigner-Seitz degeneracies, but R = ±(1, 1, -1) moved to the
    # equivalent ±(1, 1, 1): not the supercell, read as written with a warning
    swap = {(1, 1, -1): (1, 1, 1), (-1, -1, 1): (-1, -1, -1)}
    lines = []
    for line in gaas.read_text().splitlines():
        fields = line.split()
        key = tuple(int(x) for x in fields) if len(fields) == 3 and "." not in line else None
        lines.append("  ".join(map(str, swap[key])) if key in swap else line)
    (tmp_path / "odd_tb.dat").write_text("\n".join(lines) + "\n")
    with pytest.warns(QgmagWarning, match=r"folds onto mp_grid \(2, 2, 2\).*not that mesh"):
        odd = qgmag.read_wannier90(tmp_path / "odd_tb.dat")
    assert not odd.parameters["minimal_distance"]["applied"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", QgmagWarning)
        qgmag.read_wannier90(tmp_path / "odd_tb.dat", minimal_distance=False)


def test_gaas_spin_in_the_gap(gaas):
    """The default model is an insulator at μ = 7.9 eV. Spin is refused without pairs; with
    the right pairs M^S is the file's own time-reversal breaking (residual 1.3e-3 eV of the
    fitted Θ): ~1e-5 μB/cell and the same on 6³ and 8³ (no Fermi surface); made exactly
    time-reversal symmetric (H_sym = (H + Θ H Θ⁻¹)/2, the T-odd spin of the pairs) it is
    zero to round-off (measured 9e-16)."""
    from qgmag.io.spinor_pairs import SpinPairsError
    from qgmag.io.time_reversal import fit_time_reversal
    from qgmag.models.tight_binding import TightBindingModel

    with pytest.raises(SpinPairsError, match=r"spin_pairs=\[\(up, down\)"):
        qgmag.read_wannier90(gaas, spinor_ordering="auto")

    def ms(model, nk):
        ds = qgmag.compute(model, "spin_magnetization", MU_GAP, 0.0, (nk, nk, nk))
        return ds.spin_magnetization_per_cell.values.ravel()

    right = qgmag.read_wannier90(gaas, spin_pairs=GAAS_PAIRS)
    m6, m8 = ms(right, 6), ms(right, 8)
    assert np.max(np.abs(m6)) < 3e-5 and np.max(np.abs(m6 - m8)) < 1e-6
    fitted = qgmag.read_wannier90(gaas, spin_pairs="time-reversal")
    fit = fit_time_reversal(fitted.hopping_matrices)
    sym = TightBindingModel.from_arrays(
        fitted.lattice,
        fitted.positions,
        fitted.hopping_vectors,
        fit.symmetrize(np.asarray(fitted.hopping_matrices)),
        fitted.spin,
        gauge="atomic",
        positions_outside_cell=True,
    )
    e = np.linalg.eigvalsh(sym.hamiltonian(_mesh(sym, 8)))
    assert e[:, 7].max() < MU_GAP - 0.1 and e[:, 8].min() > MU_GAP + 0.1
    assert np.max(np.abs(ms(sym, 6))) < 1e-13


@pytest.mark.parametrize(
    ("relative", "grid"),
    [("GaAs/GaAs_tb.dat", (2, 2, 2)), ("Fe/Fe_tb.dat", (3, 3, 3)), ("Te/Te_tb.dat", (3, 3, 2))],
)
def test_minimal_images_are_those_of_the_run_reader(shared_data, relative, grid):
    """The file route's one-R0-at-a-time images equal w90_rspace.mdrs_vectors (the run
    route) bit for bit, at the file tolerance and at the run tolerance."""
    from qgmag.io.tb_mdrs import TIE_TOLERANCE, minimal_images
    from qgmag.io.w90_rspace import WS_DISTANCE_TOL, mdrs_vectors

    model = qgmag.read_wannier90(_file(shared_data, relative), minimal_distance=False)
    lattice = np.asarray(model.lattice)
    centres = np.asarray(model.positions) @ lattice
    for tol in (TIE_TOLERANCE, WS_DISTANCE_TOL):
        ours = minimal_images(lattice, grid, centres, tolerance=tol)
        theirs = mdrs_vectors(lattice, grid, centres, tolerance=tol)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_minimal_images_synthetic():
    """The same on a triclinic 4×3×5 mesh with 10 random centres spread over two cells."""
    from qgmag.io.tb_mdrs import minimal_images
    from qgmag.io.w90_rspace import mdrs_vectors

    lattice = LATTICES["triclinic"]
    centres = np.random.default_rng(4).random((10, 3)) * 2 @ lattice
    ours = minimal_images(lattice, (4, 3, 5), centres)
    theirs = mdrs_vectors(lattice, (4, 3, 5), centres, tolerance=1e-3)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
