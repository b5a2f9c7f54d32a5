"""qgmag's Wannier90-run route against WannierBerri 26.10 and postw90 3.1 (peer codes).

Both read the same ``Fe/wannier90`` files (Fe.chk unformatted, .eig, .mmn, .spn, .uHu):

* WannierBerri: ``WannierData.from_w90_files`` + ``System_R.from_wannierdata(berry=True,
  morb=True, spin=True, symmetrize=False)`` (its default "convention I" b-phases with the
  Wannier centres, MDRS), Γ-centred ``Grid(NKFFT=12, NKdiv=1)``, static ``AHC``, ``Morb``
  (full, external terms included) and ``Spin`` at T = 0, no symmetrization. qgmag: the
  same mesh (``kmesh=(12, 12, 12)``, Γ-centred), T = 0. Agreement to 1e-6 relative.
* postw90.x (Debian ``wannier90`` 3.1): ``berry_task = ahc+morb`` on ``berry_kmesh = 12 12
  12``; the default scheme's AHC within 3e-3 at E_F and 5e-3 overall (relative to the
  largest component): postw90 3.1's own b-vector scheme differs from WannierBerri's
  default in how the Wannier centres enter (see docs/real_materials.md). With
  ``scheme="postw90"`` qgmag reproduces postw90's AHC to 1e-6 relative at each of the
  three energies, and M_orb to 1e-6 μB/cell.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

import qgmag

pytestmark = pytest.mark.peer

E_F = 17.6255
EFERMI = E_F + np.array([-0.1, 0.0, 0.1])
SEA = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
FILES = ("Fe.chk", "Fe.eig", "Fe.mmn", "Fe.spn", "Fe.uHu", "Fe.win", "Fe.nnkp")


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
def qgmag_fe(fe_dir):
    model = qgmag.read_wannier90(fe_dir / "Fe.chk")
    return qgmag.compute(model, SEA, EFERMI, 0.0, (12, 12, 12))


def test_fe_run_against_wannierberri(fe_dir, qgmag_fe):
    wb = pytest.importorskip("wannierberri")
    pytest.importorskip("numba")
    pytest.importorskip("fortio")  # WannierBerri's reader of unformatted files
    from wannierberri import calculators as calc

    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            (Path(tmp) / name).symlink_to(fe_dir / name)
        data = wb.w90files.WannierData.from_w90_files(
            seedname=str(Path(tmp) / "Fe"),
            files=("chk", "eig", "mmn", "spn", "uhu", "win"),
            npar=1,
        )
        system = wb.system.System_R.from_wannierdata(
            data, berry=True, morb=True, spin=True, symmetrize=False
        )
        grid = wb.Grid(system, NKdiv=1, NKFFT=12, use_symmetry=False)
        res = wb.run(
            fout_name=str(Path(tmp) / "wb"),
            system=system,
            grid=grid,
            calculators={
                "ahc": calc.static.AHC(Efermi=EFERMI),
                "morb": calc.static.Morb(Efermi=EFERMI),
                "spin": calc.static.Spin(Efermi=EFERMI),
            },
            use_irred_kpt=False,
            symmetrize=False,
            parallel=False,
            print_progress_step_time=1e6,
        ).results
    ds = qgmag_fe
    assert _rel(ds.anomalous_hall_conductivity.values[:, 0] * 100.0, res["ahc"].data) < 1e-6
    assert _rel(ds.orbital_magnetization_per_cell.values[:, 0], res["morb"].data) < 1e-6
    # WannierBerri's Spin is <σ> per cell; qgmag M^S = -(g_s/2) <σ> μB with g_s = 2
    assert _rel(-ds.spin_magnetization_per_cell.values[:, 0], res["spin"].data) < 1e-6


def _postw90(fe_dir) -> tuple[np.ndarray, np.ndarray]:
    exe = shutil.which("postw90.x")
    if exe is None:
        pytest.skip("postw90.x (Debian package wannier90) not installed")
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            if name != "Fe.win":
                (Path(tmp) / name).symlink_to(fe_dir / name)
        win = (fe_dir / "Fe.win").read_text()
        win += (
            "\nberry = true\nberry_task = ahc+morb\nberry_kmesh = 12 12 12\n"
            "fermi_energy_min = 17.5255\nfermi_energy_max = 17.7255\nfermi_energy_step = 0.1\n"
        )
        (Path(tmp) / "Fe.win").write_text(win)
        subprocess.run([exe, "Fe"], cwd=tmp, check=True, capture_output=True, timeout=300)
        ahc = np.loadtxt(Path(tmp) / "Fe-ahc-fermiscan.dat")
        morb = np.loadtxt(Path(tmp) / "Fe-morb-fermiscan.dat")
    assert np.allclose(ahc[:, 0], EFERMI) and np.allclose(morb[:, 0], EFERMI)
    return ahc[:, 1:], morb[:, 1:]


def test_fe_against_postw90(fe_dir, qgmag_fe):
    """postw90 3.1: AHC (S/cm) and M_orb (μB/cell, its default: all terms) on 12³."""
    ahc, morb = _postw90(fe_dir)
    # the default (WannierBerri) scheme: AHC close to postw90's (measured per energy 1.9e-3,
    # 1.7e-3, 4.2e-3; 4.0e-3 of the largest component overall). The 3.6e-3 at E_F + 0.1 eV
    # that remains at 50³ is the difference of the b-vector schemes on the 3³ ab-initio
    # mesh (docs/real_materials.md); M_orb differs by up to 0.07 μB/cell for the same reason
    ours = qgmag_fe.anomalous_hall_conductivity.values[:, 0]
    assert _rel(ours[1], ahc[1]) < 3e-3
    assert _rel(ours, ahc) < 5e-3
    # postw90's own scheme reproduces it at every energy: measured per energy (largest
    # component difference over that energy's largest component) 1.4e-7, 4.5e-7, 2.0e-7,
    # i.e. ≤ 2e-4 S/cm (postw90 prints 1e-6 S/cm); M_orb within 5e-7 μB/cell
    model = qgmag.read_wannier90(fe_dir / "Fe.chk", scheme="postw90")
    ds = qgmag.compute(model, SEA[:2], EFERMI, 0.0, (12, 12, 12))
    same = ds.anomalous_hall_conductivity.values[:, 0]
    for i in range(len(EFERMI)):  # E_F - 0.1, E_F, E_F + 0.1 eV
        assert _rel(same[i], ahc[i]) < 1e-6, EFERMI[i]
    assert np.max(np.abs(ds.orbital_magnetization_per_cell.values[:, 0] - morb)) < 1e-6
