"""Wannier90 readers on small synthetic files written by the test (no shared data needed).

Each test writes its files under pytest's tmp_path, in the exact layouts Wannier90 3.x
writes (``hamiltonian_write_hr`` / ``hamiltonian_write_tb``), and checks the model against
the arrays it wrote, with an independent Bloch sum in the lattice gauge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgmag.errors import ModelError, WannierFormatError
from qgmag.io import model_info, read_wannier90
from qgmag.io.w90_files import BOHR_ANGSTROM, read_wout
from qgmag.models.spin import spin_operators

LATTICE = np.array([[3.0, 0.0, 0.0], [0.5, 2.5, 0.0], [0.2, -0.3, 4.0]])


# -- a synthetic model and writers in Wannier90 layout ------------------------------------


def synthetic(n: int = 4, seed: int = 0, centres_frac: np.ndarray | None = None):
    """Random Hermitian t(R) on a -R-closed R set with non-trivial degeneracies.

    Returns vectors (nR, 3), degeneracies (nR,), t(R) (the physical, divided hoppings),
    r(R) (positions, diagonal of R=0 = centres), centres (Cartesian Å).
    """
    rng = np.random.default_rng(seed)
    half = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -1, 0), (2, 0, 1)]
    vectors = []
    for v in half:
        vectors.append(v)
        if any(v):
            vectors.append(tuple(-x for x in v))
    vectors = np.array(vectors)
    deg_half = {v: d for v, d in zip(half, [1, 2, 4, 1, 2, 3, 6], strict=True)}
    deg = np.array([deg_half.get(tuple(v), deg_half.get(tuple(-v))) for v in vectors])
    index = {tuple(v): r for r, v in enumerate(vectors.tolist())}
    t = np.zeros((len(vectors), n, n), dtype=complex)
    pos = np.zeros((len(vectors), n, n, 3), dtype=complex)
    for v in half:
        a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        p = 0.1 * (rng.normal(size=(n, n, 3)) + 1j * rng.normal(size=(n, n, 3)))
        if not any(v):
            a = a + a.conj().T + np.diag(np.arange(n) * 3.0)
            p = 0.5 * (p + np.conj(np.swapaxes(p, 0, 1)))
            t[index[v]] = a
            pos[index[v]] = p
        else:
            t[index[v]] = a
            t[index[tuple(-x for x in v)]] = a.conj().T
            pos[index[v]] = p
            pos[index[tuple(-x for x in v)]] = np.conj(np.swapaxes(p, 0, 1))
    if centres_frac is None:
        centres_frac = rng.random((n, 3))
    centres = np.asarray(centres_frac) @ LATTICE
    zero = index[(0, 0, 0)]
    pos[zero, np.arange(n), np.arange(n)] = centres
    return vectors, deg, t, pos, centres


def _deg_lines(deg: np.ndarray) -> list[str]:
    return ["".join(f"{d:5d}" for d in deg[i : i + 15]) for i in range(0, len(deg), 15)]


def write_hr(path: Path, vectors, deg, t) -> Path:
    n = t.shape[1]
    raw = t * deg[:, None, None]
    lines = [" written on 01Jan2025 at 00:00:00 ", f"{n:12d}", f"{len(vectors):12d}"]
    lines += _deg_lines(deg)
    for r, v in enumerate(vectors):
        for j in range(n):
            for i in range(n):
                h = raw[r, i, j]
                lines.append(
                    f"{v[0]:5d}{v[1]:5d}{v[2]:5d}{i + 1:5d}{j + 1:5d} {h.real:.17e} {h.imag:.17e}"
                )
    path.write_text("\n".join(lines) + "\n")
    return path


def write_tb(path: Path, vectors, deg, t, pos=None, lattice=LATTICE) -> Path:
    n = t.shape[1]
    raw = t * deg[:, None, None]
    lines = [" written on 01Jan2025 at 00:00:00 "]
    lines += ["  ".join(f"{x:.17e}" for x in row) for row in lattice]
    lines += [f"{n:12d}", f"{len(vectors):12d}"] + _deg_lines(deg)
    for r, v in enumerate(vectors):
        lines += ["", f"{v[0]:5d}{v[1]:5d}{v[2]:5d}"]
        for j in range(n):
            for i in range(n):
                h = raw[r, i, j]
                lines.append(f"{i + 1:5d}{j + 1:5d}   {h.real:.17e} {h.imag:.17e}")
    if pos is not None:
        rawp = pos * deg[:, None, None, None]
        for r, v in enumerate(vectors):
            lines += ["", f"{v[0]:5d}{v[1]:5d}{v[2]:5d}"]
            for j in range(n):
                for i in range(n):
                    x = rawp[r, i, j]
                    nums = " ".join(f"{c.real:.17e} {c.imag:.17e}" for c in x)
                    lines.append(f"{i + 1:5d}{j + 1:5d}   {nums}")
    path.write_text("\n".join(lines) + "\n")
    return path


def lattice_gauge_h(vectors, t, lattice, kcart) -> np.ndarray:
    """Independent Bloch sum: H(k) = sum_R t(R) exp(i k·R), plain loop over R."""
    out = np.zeros((len(kcart), t.shape[1], t.shape[1]), dtype=complex)
    for v, block in zip(vectors, t, strict=True):
        r_cart = np.asarray(v, dtype=float) @ lattice
        out += np.exp(1j * (kcart @ r_cart))[:, None, None] * block
    return out


def random_k(n: int = 6, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, 3)) - 0.5) * 2.0


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("outside", [False, True])
def test_tb_round_trip_atomic_gauge(tmp_path, outside):
    frac = np.array([[0.1, 0.2, 0.3], [0.9, 0.5, 0.0], [0.4, 0.4, 0.7], [0.0, 0.99, 0.5]])
    if outside:  # centres outside the home cell are kept where they are (no R shift)
        frac = frac + np.array([[-1, 0, 0], [1, -2, 0], [0, 0, 3], [-1, -1, -1]])
    vectors, deg, t, pos, centres = synthetic(centres_frac=frac)
    model = read_wannier90(write_tb(tmp_path / "syn_tb.dat", vectors, deg, t, pos))
    assert model.n_bands == 4 and model.gauge == "atomic"
    np.testing.assert_allclose(model.lattice, LATTICE, atol=1e-14)
    np.testing.assert_allclose(model.positions, frac, atol=1e-12)
    assert model.n_hoppings == len(vectors)
    np.testing.assert_allclose(model.parameters["wannier_centres_cart"], centres, atol=1e-12)
    assert model.parameters["degeneracies"] == "divided out"
    k = random_k()
    h_lat = lattice_gauge_h(vectors, t, LATTICE, k)
    phase = np.exp(1j * (k @ centres.T))  # D = diag(exp(i k·c_i)), unwrapped centres
    expected = phase.conj()[:, :, None] * h_lat * phase[:, None, :]
    np.testing.assert_allclose(model.hamiltonian(k), expected, atol=1e-11)
    np.testing.assert_allclose(
        np.linalg.eigvalsh(model.hamiltonian(k)), np.linalg.eigvalsh(h_lat), atol=1e-11
    )
    # position matrices are kept as in the file: R=0 diagonal = the (unwrapped) centres
    zero = int(np.flatnonzero(~np.any(model.hopping_vectors, axis=1))[0])
    diag = np.einsum("iia->ia", model.position_matrices[zero]).real
    np.testing.assert_allclose(diag, model.positions @ LATTICE, atol=1e-12)
    np.testing.assert_allclose(model.hopping_vectors, vectors)


def test_hr_with_side_files(tmp_path):
    vectors, deg, t, _, centres = synthetic(n=3, seed=4)
    path = write_hr(tmp_path / "seed_hr.dat", vectors, deg, t)
    lat_bohr = LATTICE / BOHR_ANGSTROM
    (tmp_path / "seed.win").write_text(
        "num_wann = 3\n! comment\nspinors = false\nBegin Unit_Cell_Cart\nBohr\n"
        + "\n".join("  ".join(f"{x:.15f}" for x in row) for row in lat_bohr)
        + "\nEnd Unit_Cell_Cart\n"
    )
    (tmp_path / "seed_centres.xyz").write_text(
        "   5\n Wannier centres, written by Wannier90 on ...\n"
        + "".join(f"X  {c[0]:.12f}  {c[1]:.12f}  {c[2]:.12f}\n" for c in centres)
        + "Fe 0.0 0.0 0.0\nFe 1.0 1.0 1.0\n"
    )
    model = read_wannier90(path)
    np.testing.assert_allclose(model.lattice, LATTICE, atol=1e-12)
    np.testing.assert_allclose(model.parameters["wannier_centres_cart"], centres, atol=1e-11)
    assert model.name == "seed" and model.spin is None
    k = random_k()
    np.testing.assert_allclose(
        np.linalg.eigvalsh(model.hamiltonian(k)),
        np.linalg.eigvalsh(lattice_gauge_h(vectors, t, LATTICE, k)),
        atol=1e-11,
    )
    assert read_wannier90(path, spinor_ordering="auto").spin is None


def test_hr_with_wout(tmp_path):
    vectors, deg, t, _, centres = synthetic(n=2, seed=5)
    path = write_hr(tmp_path / "w_hr.dat", vectors, deg, t)
    initial = centres + 0.3
    lattice_block = "".join(
        f"                    a_{i + 1}  {row[0]:11.6f}{row[1]:11.6f}{row[2]:11.6f}\n"
        for i, row in enumerate(LATTICE)
    )

    def wf_lines(cs):
        return "".join(
            f"  WF centre and spread{i + 1:5d}  ({c[0]:10.6f},{c[1]:10.6f},{c[2]:10.6f} )"
            f"{1.23456789:15.8f}\n"
            for i, c in enumerate(cs)
        )

    (tmp_path / "w.wout").write_text(
        "            Lattice Vectors (Ang)\n"
        + lattice_block
        + "\n Initial State\n"
        + wf_lines(initial)
        + "\n Final State\n"
        + wf_lines(centres)
        + "  Sum of centres and spreads ( 0.0, 0.0, 0.0 )  2.4\n"
    )
    lat, cs = read_wout(tmp_path / "w.wout")
    np.testing.assert_allclose(lat, LATTICE, atol=1e-6)
    np.testing.assert_allclose(cs, centres, atol=1e-6)
    model = read_wannier90(path)
    np.testing.assert_allclose(model.parameters["wannier_centres_cart"], centres, atol=1e-6)


def test_explicit_lattice_positions_and_options(tmp_path):
    vectors, deg, t, pos, centres = synthetic(n=4, seed=2)
    hr = write_hr(tmp_path / "x_hr.dat", vectors, deg, t)
    frac = centres @ np.linalg.inv(LATTICE)
    a = read_wannier90(hr, lattice=LATTICE, positions=frac, name="mine")
    b = read_wannier90(hr, lattice=LATTICE, centres=centres, energy_shift=-1.5)
    assert a.name == "mine"
    k = random_k()
    np.testing.assert_allclose(b.hamiltonian(k), a.hamiltonian(k) - 1.5 * np.eye(4), atol=1e-12)
    spinful = read_wannier90(hr, lattice=LATTICE, centres=centres, spinor_ordering="spin-blocks")
    np.testing.assert_array_equal(spinful.spin, spin_operators(2, "spin-blocks"))
    none = read_wannier90(
        hr, lattice=LATTICE, centres=centres, spinor_ordering="spin-fastest", spin=False
    )
    assert none.spin is None
    custom = 0.5 * np.stack([np.eye(4)] * 3)
    assert np.array_equal(
        read_wannier90(hr, lattice=LATTICE, centres=centres, spin=custom).spin, custom
    )
    # hr and tb of the same model give the same Bloch Hamiltonian
    tb = read_wannier90(write_tb(tmp_path / "x_tb.dat", vectors, deg, t, pos))
    np.testing.assert_allclose(tb.hamiltonian(k), b.hamiltonian(k) + 1.5 * np.eye(4), atol=1e-11)
    # a tb file without position block takes centres like a hr file
    nopos = write_tb(tmp_path / "y_tb.dat", vectors, deg, t)
    assert read_wannier90(nopos, centres=centres).position_matrices is None


def test_fortran_layout_and_d_exponents(tmp_path):
    """Wannier90's own E15.8 / F12.6 formats and Fortran D exponents parse."""
    vectors, deg, t, _, centres = synthetic(n=2, seed=3)
    path = write_hr(tmp_path / "f_hr.dat", vectors, deg, t)
    path.write_text(path.read_text().replace("e", "D"))  # 1.0e+00 -> 1.0D+00
    model = read_wannier90(path, lattice=LATTICE, centres=centres)
    k = random_k()
    np.testing.assert_allclose(
        np.linalg.eigvalsh(model.hamiltonian(k)),
        np.linalg.eigvalsh(lattice_gauge_h(vectors, t, LATTICE, k)),
        atol=1e-11,
    )


def test_small_non_hermiticity_is_symmetrized(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=3, seed=6)
    t = t.copy()
    t[1, 0, 1] += 3e-8
    model = read_wannier90(write_tb(tmp_path / "s_tb.dat", vectors, deg, t, pos))
    assert 1e-8 < model.parameters["hermiticity_deviation_eV"] < 1e-7
    h = model.hopping_matrices
    index = {tuple(v): r for r, v in enumerate(model.hopping_vectors.tolist())}
    partner = [index[tuple(-v)] for v in model.hopping_vectors]
    np.testing.assert_allclose(h, np.conj(np.swapaxes(h[partner], 1, 2)), atol=1e-15)


def test_model_info(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=4, seed=7)
    path = write_tb(tmp_path / "i_tb.dat", vectors, deg, t, pos)
    info = model_info(path)
    assert info["num_wann"] == 4 and info["n_R"] == len(vectors)
    assert info["cell_volume_angstrom3"] == pytest.approx(abs(np.linalg.det(LATTICE)))
    h0 = t.sum(axis=0)
    eig = np.linalg.eigvalsh(h0)
    assert info["energy_window_k0_eV"] == pytest.approx([eig[0], eig[-1]], abs=1e-10)
    assert info["max_hermiticity_deviation_eV"] < 1e-12
    assert info["degeneracies"] == "divided out" and info["has_position_matrices"]
    from_model = model_info(read_wannier90(path, spinor_ordering="spin-fastest"))
    assert from_model["spinor"] and from_model["spinor_ordering"] == "spin-fastest"
    assert from_model["energy_window_k0_eV"] == pytest.approx(info["energy_window_k0_eV"])
    # a hr file without lattice still gets a summary, saying the lattice is missing
    hr_info = model_info(write_hr(tmp_path / "i_hr.dat", vectors, deg, t))
    assert hr_info["lattice_angstrom"] is None and "lattice=" in hr_info["lattice_source"]


# -- errors --------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(WannierFormatError, match="does not exist"):
        read_wannier90(tmp_path / "nothing_tb.dat")


def test_not_a_wannier_file(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("Dear diary,\ntoday I computed\nno Berry curvature at all.\n")
    with pytest.raises(WannierFormatError, match="not a valid Wannier90 file"):
        read_wannier90(junk)
    binary = tmp_path / "blob_tb.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(WannierFormatError, match="binary"):
        read_wannier90(binary)
    empty = tmp_path / "empty_hr.dat"
    empty.write_text("")
    with pytest.raises(WannierFormatError, match="only 0 lines"):
        read_wannier90(empty)


def test_truncated_and_wrong_counts(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=3, seed=8)
    good = write_tb(tmp_path / "g_tb.dat", vectors, deg, t, pos).read_text().splitlines()
    cut = tmp_path / "cut_tb.dat"
    cut.write_text("\n".join(good[: len(good) // 2]) + "\n")
    with pytest.raises(WannierFormatError, match="truncated"):
        read_wannier90(cut)
    wrong = tmp_path / "wrong_tb.dat"
    wrong.write_text("\n".join([*good[:4], "4", *good[5:]]) + "\n")  # num_wann 3 -> 4
    with pytest.raises(WannierFormatError, match="num_wann = 4"):
        read_wannier90(wrong)
    hr_lines = write_hr(tmp_path / "g_hr.dat", vectors, deg, t).read_text().splitlines()
    bad_nrpts = tmp_path / "n_hr.dat"
    bad_nrpts.write_text("\n".join([hr_lines[0], hr_lines[1], "abc", *hr_lines[3:]]) + "\n")
    with pytest.raises(WannierFormatError, match="nrpts"):
        read_wannier90(bad_nrpts)
    bad_index = tmp_path / "idx_hr.dat"
    hr_lines[4] = hr_lines[4].replace("    1    1 ", "    9    1 ", 1)
    bad_index.write_text("\n".join(hr_lines) + "\n")
    with pytest.raises(WannierFormatError, match="outside 1..num_wann"):
        read_wannier90(bad_index, lattice=LATTICE, positions=np.zeros((3, 3)))


def test_non_numeric_entry(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=2, seed=9)
    lines = write_tb(tmp_path / "nn_tb.dat", vectors, deg, t, pos).read_text().splitlines()
    lines[12] = lines[12][:12] + "NaNaN" + lines[12][17:]
    bad = tmp_path / "bad_tb.dat"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(WannierFormatError, match=r"non-numeric entry .* line 13"):
        read_wannier90(bad)


def test_non_hermitian(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=3, seed=10)
    t = t.copy()
    t[1, 0, 2] += 0.01
    path = write_tb(tmp_path / "nh_tb.dat", vectors, deg, t, pos)
    with pytest.raises(WannierFormatError, match=r"not Hermitian.*= 0\.01 eV"):
        read_wannier90(path)
    assert read_wannier90(path, hermitian_tolerance=0.1).parameters[
        "hermiticity_deviation_eV"
    ] == pytest.approx(0.01)


def test_missing_minus_r_partner(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=2, seed=11)
    keep = [r for r, v in enumerate(vectors.tolist()) if v != [-1, 0, 0]]
    path = write_tb(tmp_path / "p_tb.dat", vectors[keep], deg[keep], t[keep], pos[keep])
    with pytest.raises(WannierFormatError, match=r"R = \(1, 0, 0\) is listed but -R"):
        read_wannier90(path)


def test_duplicate_r(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=2, seed=12)
    vectors = vectors.copy()
    vectors[2] = vectors[1]
    with pytest.raises(WannierFormatError, match="appears twice"):
        read_wannier90(write_tb(tmp_path / "d_tb.dat", vectors, deg, t, pos))


def test_hr_without_lattice_or_centres(tmp_path):
    vectors, deg, t, _, centres = synthetic(n=2, seed=13)
    path = write_hr(tmp_path / "alone_hr.dat", vectors, deg, t)
    with pytest.raises(WannierFormatError, match=r"no lattice vectors.*alone\.win.*lattice="):
        read_wannier90(path)
    with pytest.raises(WannierFormatError, match=r"no Wannier centres.*positions=.*centres="):
        read_wannier90(path, lattice=LATTICE)
    with pytest.raises(ModelError, match=r"\(2, 3\)"):
        read_wannier90(path, lattice=LATTICE, centres=np.zeros((3, 3)))
    with pytest.raises(ModelError, match="not both"):
        read_wannier90(path, lattice=LATTICE, centres=centres, positions=np.zeros((2, 3)))
    (tmp_path / "alone.win").write_text("num_wann = 2\n")
    with pytest.raises(WannierFormatError, match="unit_cell_cart"):
        read_wannier90(path)


def test_option_errors(tmp_path):
    vectors, deg, t, pos, _ = synthetic(n=3, seed=14)
    path = write_tb(tmp_path / "o_tb.dat", vectors, deg, t, pos)
    assert read_wannier90(path, berry_connection="full").berry_connection == "full"
    with pytest.raises(ValueError, match="berry_connection must be one of"):
        read_wannier90(path, berry_connection="exact")
    with pytest.raises(ValueError, match="spinor_ordering must be"):
        read_wannier90(path, spinor_ordering="up-down")
    with pytest.raises(ModelError, match="even number"):
        read_wannier90(path, spinor_ordering="spin-fastest")  # num_wann = 3


@pytest.mark.parametrize("ordering", ["spin-fastest", "spin-blocks"])
def test_split_spin_pairs_warn_and_pair_mean_centres_do_not(tmp_path, ordering):
    """Spinor partners at different centres: the k-independent spin operator is not on-site."""
    import warnings

    from qgmag.errors import QgmagWarning
    from qgmag.io.wannier90 import spin_pair_separation

    vectors, deg, t, pos, centres = synthetic(n=4, seed=3)
    hr = write_hr(tmp_path / "s_hr.dat", vectors, deg, t)
    up, down = ([0, 2], [1, 3]) if ordering == "spin-fastest" else ([0, 1], [2, 3])
    expected = np.linalg.norm(centres[up] - centres[down], axis=1)
    np.testing.assert_allclose(spin_pair_separation(centres, ordering), expected)
    with pytest.warns(QgmagWarning, match="2 of 2 spinor pairs"):
        read_wannier90(hr, lattice=LATTICE, centres=centres, spinor_ordering=ordering)
    paired = centres.copy()
    mean = 0.5 * (centres[up] + centres[down])
    paired[up], paired[down] = mean, mean
    with warnings.catch_warnings():
        warnings.simplefilter("error", QgmagWarning)
        read_wannier90(hr, lattice=LATTICE, centres=paired, spinor_ordering=ordering)
        read_wannier90(hr, lattice=LATTICE, centres=centres)  # spinless: nothing to warn
