"""qgmag vs WannierBerri on bcc Fe (``Fe_tb.dat``) with magnetic symmetry on both sides.

Run (reference data from ``../shared/data`` or ``$QGMAG_SHARED_DATA``)::

    python benchmarks/symmetry_vs_wannierberri.py              # 50^3, 51 Fermi levels, 3 pairs
    python benchmarks/symmetry_vs_wannierberri.py --nk 20 --pairs 1

Both codes use the group of bcc Fe with the moment along z (4/mm'm', 16 operations):

* qgmag: ``compute(..., symmetry=group_from_win(Fe.win, [[0, 0, 1]]))`` (irreducible
  points of the Γ-centred nk³ mesh, 8,632 of 125,000 for nk = 50, symmetrized); the Fe
  model breaks 4/mm'm' strongly, so qgmag refuses the wedge unless
  ``symmetry_tolerance`` is raised, which this benchmark does (``--accept``; timing only);
* WannierBerri: ``set_structure`` + ``set_pointgroup_from_structure`` (the same group),
  ``Grid(NKdiv = nk / FFT, NKFFT = FFT)``, ``run(use_irred_kpt=True, symmetrize=True)``,
  FFT grid ``--fft`` (default 5, WB's fastest here), internal (tight-binding) terms.

Sets: A = AHC; B = AHC + orbital magnetization + spin. Each run is a fresh process with
one thread (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS = 1), integration call timed only. Runs are
interleaved in pairs (qgmag, WB, qgmag, WB, ...) so that load changes of a shared machine
affect both. Reported (rules of ``benchmarks/timing.py``): CPU and wall time of each run,
qgmag's CPU time over the eigh floor (bare batched ``numpy.linalg.eigh`` of H(k) at as many
points as qgmag evaluated; WannierBerri's CPU over the same floor), the speed-up per pair
and the medians over the pairs (``--pairs``, default 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)

E_FERMI_FE = 17.6255  # eV, Fe/wannier90/scf.out
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def data_dir() -> Path:
    env = os.environ.get("QGMAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def worker_qgmag(case: str, nk: int, mu: list[float]) -> dict:
    import warnings

    import qgmag
    from qgmag.symmetry.structure import group_from_win

    warnings.simplefilter("ignore")
    model = qgmag.read_wannier90(data_dir() / "Fe/Fe_tb.dat", spinor_ordering="spin-fastest")
    group = group_from_win(data_dir() / "Fe/wannier90/Fe.win", [[0, 0, 1]])
    names = ["anomalous_hall_conductivity"]
    if case == "B":
        names += ["orbital_magnetization", "spin_magnetization"]
    start, cpu_start = time.perf_counter(), time.process_time()
    ds = qgmag.compute(model, names, mu, 0.0, (nk, nk, nk), symmetry=group, symmetry_tolerance=1e3)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # the floor: batched eigh of H(k) at as many mesh points as qgmag evaluated (the cost of
    # one eigh does not depend on k), H(k) built outside the timer
    n_eval = int(ds.attrs["n_kpoints_evaluated"])
    eigh_wall, eigh_cpu = timing.eigh_floor(model, timing.mesh_fractions(nk)[:n_eval])
    out = {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "eigh_cpu_seconds": eigh_cpu,
        "n_evaluated": ds.attrs["n_kpoints_evaluated"],
        "ahc_z_S_per_cm": ds.anomalous_hall_conductivity.values[:, 0, 2].tolist(),
    }
    if case == "B":
        out["morb_z_muB"] = ds.orbital_magnetization_per_cell.values[:, 0, 2].tolist()
    return out


def worker_wannierberri(case: str, nk: int, mu: list[float], fft: int) -> dict:
    import logging

    import wannierberri as wb
    from wannierberri import calculators as calc

    logging.disable(logging.WARNING)
    system = wb.system.System_R.from_tb_dat(tb_file=str(data_dir() / "Fe/Fe_tb.dat"), berry=False)
    system.set_structure([[0.0, 0.0, 0.0]], ["Fe"], magnetic_moments=[[0.0, 0.0, 1.0]])
    system.set_pointgroup_from_structure()
    efermi = np.array(mu)
    internal = {"external_terms": False}
    calcs = {"ahc": calc.static.AHC(Efermi=efermi, kwargs_formula=internal)}
    if case == "B":
        system.set_spin_interlaced()
        calcs["morb"] = calc.static.Morb(Efermi=efermi, kwargs_formula=internal)
        calcs["spin"] = calc.static.Spin(Efermi=efermi)
    grid = wb.Grid(system, NKdiv=nk // fft, NKFFT=fft)
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu_start = time.perf_counter(), time.process_time()
        res = wb.run(
            system,
            grid,
            calculators=calcs,
            use_irred_kpt=True,
            symmetrize=True,
            parallel=False,
            fout_name=str(Path(tmp) / "wb"),
            print_progress_step_time=1e6,
        ).results
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    n_blocks = None
    out = {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "n_order": len(system.pointgroup.symmetries),
        "ahc_z_S_per_cm": (np.asarray(res["ahc"].data)[:, 2] / 100.0).tolist(),
        "n_blocks": n_blocks,
    }
    if case == "B":
        out["morb_z_muB"] = np.asarray(res["morb"].data)[:, 2].tolist()
    return out


def run_worker(argv: list[str]) -> None:
    code, case, nk, fft = argv[0], argv[1], int(argv[2]), int(argv[3])
    mu = json.loads(argv[4])
    if code == "qgmag":
        out = worker_qgmag(case, nk, mu)
    else:
        out = worker_wannierberri(case, nk, mu, fft)
    print("RESULT " + json.dumps(out))


def spawn(code: str, case: str, nk: int, fft: int, mu: np.ndarray) -> dict:
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    cmd = [sys.executable, __file__, "--worker", code, case, str(nk), str(fft)]
    cmd.append(json.dumps([float(x) for x in mu]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"{code} failed: {(proc.stderr or proc.stdout)[-1500:]}")
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nk", type=int, default=50)
    parser.add_argument("--fft", type=int, default=5, help="WannierBerri FFT grid (divides nk)")
    parser.add_argument("--n-mu", type=int, default=51)
    parser.add_argument("--window", type=float, default=0.25)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--sets", nargs="+", default=["A", "B"], choices=["A", "B"])
    args = parser.parse_args()
    if args.nk % args.fft:
        sys.exit(f"--fft {args.fft} must divide --nk {args.nk}")
    mu = E_FERMI_FE + np.linspace(-args.window, args.window, args.n_mu)
    mid = args.n_mu // 2
    print(f"Fe, 4/mm'm', mesh {args.nk}^3, WB FFT grid {args.fft}, {args.n_mu} Fermi levels,")
    print("one thread per process, interleaved pairs (shared machine: compare ratios)\n")
    for case in args.sets:
        ratios, wall_ratios, runs = [], [], {"qgmag": [], "wannierberri": []}
        for i in range(args.pairs):
            ours = spawn("qgmag", case, args.nk, args.fft, mu)
            theirs = spawn("wannierberri", case, args.nk, args.fft, mu)
            runs["qgmag"].append(ours)
            runs["wannierberri"].append(theirs)
            ratio = theirs["cpu_seconds"] / ours["cpu_seconds"]
            ratios.append(ratio)
            wall_ratios.append(theirs["seconds"] / ours["seconds"])
            extra = ""
            if case == "B":
                extra = (
                    f"  M^O_z(E_F) qgmag {ours['morb_z_muB'][mid]:.4f} "
                    f"WB {theirs['morb_z_muB'][mid]:.4f} muB"
                )
            print(
                f"set {case} pair {i + 1}: qgmag CPU {ours['cpu_seconds']:.2f} s "
                f"(wall {ours['seconds']:.2f}, {ours['n_evaluated']} points, "
                f"{ours['cpu_seconds'] / ours['eigh_cpu_seconds']:.2f}x its eigh floor)  "
                f"WB CPU {theirs['cpu_seconds']:.2f} s (wall {theirs['seconds']:.2f}, "
                f"{theirs['cpu_seconds'] / ours['eigh_cpu_seconds']:.2f}x that floor)  "
                f"qgmag speed-up {ratio:.2f}x CPU, {wall_ratios[-1]:.2f}x wall  "
                "sigma_xy(E_F) qgmag "
                f"{ours['ahc_z_S_per_cm'][mid]:.1f} WB {theirs['ahc_z_S_per_cm'][mid]:.1f} S/cm"
                + extra,
                flush=True,
            )
        med = {
            c: timing.medians(r, ["seconds", "cpu_seconds", "eigh_cpu_seconds"])
            for c, r in runs.items()
        }
        q, w = med["qgmag"], med["wannierberri"]
        print(
            f"set {case}: medians qgmag CPU {q['cpu_seconds']:.2f} s, wall {q['seconds']:.2f} s, "
            f"{q['cpu_seconds'] / q['eigh_cpu_seconds']:.2f}x floor; WB CPU "
            f"{w['cpu_seconds']:.2f} s, wall {w['seconds']:.2f} s, "
            f"{w['cpu_seconds'] / q['eigh_cpu_seconds']:.2f}x floor; qgmag speed-up (median of "
            f"the pairs) {statistics.median(ratios):.2f}x CPU, "
            f"{statistics.median(wall_ratios):.2f}x wall; "
            f"{timing.repeat_note(args.pairs, '--pairs')}\n",
            flush=True,
        )


if __name__ == "__main__":
    main()
