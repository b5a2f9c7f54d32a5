"""qgmag vs WannierBerri vs postw90 on bcc Fe (``Fe_tb.dat``): speed, memory, agreement.

Run (reference data from ``../shared/data`` or ``$QGMAG_SHARED_DATA``; peers optional)::

    python benchmarks/fe_vs_wannierberri.py                 # 50^3 mesh, 51 Fermi levels
    python benchmarks/fe_vs_wannierberri.py --nk 12         # quick run
    python benchmarks/fe_vs_wannierberri.py --sets A --no-postw90

Every code runs in its own child process (peak memory = that process's max RSS, from
``os.wait4``), serial, one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1; WannierBerri with
``parallel=False``, no ray). Same Gamma-centred mesh in all codes (qgmag ``shift=False``,
WannierBerri ``Grid(NKdiv*NKFFT = nk)``, postw90 ``berry_kmesh = nk nk nk``), same Fermi
levels (``--n-mu`` levels, E_F ± ``--window`` eV), unsymmetrized. Observable sets:

* A: anomalous Hall conductivity (WB ``AHC``, internal terms = tight-binding level);
* B: AHC + orbital magnetization (WB ``Morb`` internal terms) + spin (WB ``Spin`` with
  ``set_spin_interlaced()``; only <sigma_z> is compared: for the x, y components WB's
  spin operator carries the centre phases of pairs whose partners sit at different
  centres, see ``tests/cross_code/test_wannierberri.py``);
* C: kinetic_orbital_extrinsic + kinetic_orbital_intrinsic (qgmag, 300 K, tau = 10 fs)
  vs WB ``GME_orb_FermiSurf`` (orbital kinetic magnetoelectric / GME tensor, converted by
  alpha_ij = -(tau/hbar) K_{j:i}) with WB's FermiDiracSmoother on the same E_F grid
  (WB has no intrinsic (F-tensor) counterpart: qgmag only). Default material for C is Te
  (``--c-material te``): Fe is centrosymmetric, so alpha ~ 0 there and a relative
  difference would be meaningless. Only the extrinsic part is compared, and the printed
  difference is WB's E_F-grid quadrature, not a disagreement of the two codes' states:
  WB bins each state into the grid points within ±dE, evaluates its moment at the grid
  energy (m_n + (E_i - eps_n) Omega_n) and convolves with -f0' truncated at ±8 kT, so on
  the 10 meV grid of 51 levels over ±0.25 eV it is off qgmag's exact f0' by O(dE):
  2.7e-2 at mu = 5.88 eV and 4.8e-2 over the interior levels on 30^3. That rule applied
  to qgmag's per-state Tr_D[m v], Tr_D[Omega v] and energies reproduces WB's number to
  5e-14 on every level (``tests/cross_code/test_wannierberri_te_kinetic.py``).
  Both codes run sets C, Cx at ``--c-degeneracy-tol`` (default 1e-3 eV; qgmag
  ``degeneracy_tol``, WB ``degen_thresh``): Te_tb.dat's spin-split pairs (1e-6-1e-4 eV)
  are refused as distinct bands by qgmag's round-off / field guard for F below ~3e-4 eV.
* Cx: as C with qgmag computing the extrinsic part only (the like-for-like rate against
  WB's ``GME_orb_FermiSurf``).
* postw90 (Wannier90 3.x ``berry_task = ahc``, inputs copied from
  ``Fe/wannier90/`` to a temporary folder with ``berry_kmesh`` set) vs qgmag set A: rate
  ratio and a loose AHC comparison (postw90 includes the Wannier position matrix elements
  and its own minimal-distance replicas; qgmag set A is the tight-binding level, so expect
  percent-level differences).

Columns: k-points per CPU second of the integration call, wall in parentheses (setup and
file reading excluded; the process's total wall time is printed too), the median of
``--repeat`` (default 3) interleaved repetitions and the CPU range over them, the ratio
qgmag/peer (CPU), peak RSS per process (qgmag: up to the end of its run, before the
eigh-floor probe), max relative difference max|a - b| / max|b| over all Fermi levels and
components, and for every code its CPU time divided by that of a bare batched
``numpy.linalg.eigh`` of the same H(k) (the floor, measured in qgmag's process). The rules
are those of ``benchmarks/timing.py``. Timings on a busy machine are noisy: rerun on a
quiet one. ``--baseline-src DIR`` adds "qgmag-base", qgmag imported from ``DIR`` (the
``src`` of another checkout), interleaved with this one: a before/after comparison of a
code change in one run, with the max relative difference of every result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)

E_FERMI_FE = 17.6255  # eV, Fe/wannier90/scf.out
MU_TE = 5.88  # eV, Te valence band (shared/data/README.md)
TAU_FS = 10.0
T_KINETIC = 300.0
#: degeneracy_tol (eV) of the kinetic sets C, Cx: Te_tb.dat's bands come in pairs split by
#: 1e-6-1e-4 eV, which kinetic_orbital_intrinsic's round-off / field-validity guard
#: (qgmag.geometry.roundoff) refuses as distinct bands below ~3e-4 eV on 30^3 (measured:
#: 1e-5, 3e-5, 1e-4 refused, 3e-4 and 1e-3 accepted); 1e-3 groups them as sets with a margin
C_DEGENERACY_TOL = 1e-3
#: qgmag's default degeneracy_tol (sets A, B)
DEFAULT_TOL = 1e-6
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


#: an untimed first call of the same calculation on a small mesh in every worker (qgmag and
#: WannierBerri), so that the timed call measures the per-k rate, not one-time costs
#: (imports on first use, numba compilation); its CPU time is printed apart. Off: --cold
WARM_UP = os.environ.get("QGMAG_BENCH_WARM_UP", "1") != "0"
WARM_UP_MESH = (4, 4, 4)


def data_dir() -> Path:
    env = os.environ.get("QGMAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def fermi_levels(centre: float, n_mu: int, window: float) -> np.ndarray:
    return centre + np.linspace(-window, window, n_mu) if n_mu > 1 else np.array([centre])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- workers (run in child processes) ----------------------------------------------------


def worker_qgmag(case: str, nk: int, mu: list[float], material: str, tol: float) -> dict:
    import qgmag

    path = data_dir() / ("Fe/Fe_tb.dat" if material == "fe" else "Te/Te_tb.dat")
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    out: dict = {}

    def run(mesh: tuple[int, int, int], coarse: bool = False) -> object:
        if case in ("C", "Cx"):
            return qgmag.compute(
                model,
                ["kinetic_orbital_extrinsic"]
                + (["kinetic_orbital_intrinsic"] if case == "C" else []),
                mu,
                T_KINETIC,
                mesh,
                tau=TAU_FS,
                allow_coarse_mesh=True,  # a speed benchmark: 30^3 is below the 300 K guard
                degeneracy_tol=tol,  # Te's spin-split pairs: see --c-degeneracy-tol
            )
        names = ["anomalous_hall_conductivity"]
        if case == "B":
            names += ["orbital_magnetization", "spin_magnetization"]
        return qgmag.compute(model, names, mu, 0.0, mesh, allow_coarse_mesh=coarse)

    if WARM_UP:  # untimed: one-time costs (imports on first use, caches), reported apart
        cpu_start = time.process_time()
        run(WARM_UP_MESH, coarse=True)
        out["first_call_cpu_seconds"] = time.process_time() - cpu_start
    start, cpu_start = time.perf_counter(), time.process_time()
    ds = run((nk, nk, nk))
    if case in ("C", "Cx"):
        out["kinetic_orbital_extrinsic"] = ds.kinetic_orbital_extrinsic.values[:, 0].tolist()
        if case == "C":
            out["kinetic_orbital_intrinsic"] = ds.kinetic_orbital_intrinsic.values[:, 0].tolist()
    else:
        out["ahc_S_per_m"] = (ds.anomalous_hall_conductivity.values[:, 0] * 100.0).tolist()
        if case == "B":
            out["morb_muB"] = ds.orbital_magnetization_per_cell.values[:, 0].tolist()
            # <sigma_z> per cell = -M^S_z / mu_B at g_s = 2
            out["sigma_z"] = (-ds.spin_magnetization_per_cell.values[:, 0, 2]).tolist()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # peak memory of the qgmag run itself (the floor measurement below is a diagnostic)
    out["peak_rss_mib_run"] = peak_rss_mib()
    # the floor: batched eigh of the same H(k), H(k) built outside the timer
    grid = np.arange(nk) / nk
    frac = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3)
    eigh_time = eigh_cpu = 0.0
    for lo in range(0, len(frac), 4096):
        h = model.hamiltonian(frac[lo : lo + 4096] @ model.reciprocal_lattice)
        t0, c0 = time.perf_counter(), time.process_time()
        np.linalg.eigh(h)
        eigh_time += time.perf_counter() - t0
        eigh_cpu += time.process_time() - c0
    out.update(seconds=elapsed, cpu_seconds=cpu, eigh_seconds=eigh_time, eigh_cpu_seconds=eigh_cpu)
    out["n_k"] = nk**3
    return out


def worker_wannierberri(case: str, nk: int, mu: list[float], material: str, tol: float) -> dict:
    import logging

    import wannierberri as wb
    from wannierberri import calculators as calc
    from wannierberri.smoother import FermiDiracSmoother

    logging.disable(logging.WARNING)
    path = data_dir() / ("Fe/Fe_tb.dat" if material == "fe" else "Te/Te_tb.dat")
    system = wb.system.System_R.from_tb_dat(tb_file=str(path), berry=False)
    efermi = np.array(mu)
    internal = {"external_terms": False}
    if case in ("C", "Cx"):
        smoother = FermiDiracSmoother(efermi, T_KINETIC) if len(efermi) > 2 else None
        calcs = {
            "gme": calc.static.GME_orb_FermiSurf(
                Efermi=efermi, kwargs_formula=internal, smoother=smoother, degen_thresh=tol
            )
        }
    else:
        calcs = {"ahc": calc.static.AHC(Efermi=efermi, kwargs_formula=internal)}
        if case == "B":
            system.set_spin_interlaced()
            calcs["morb"] = calc.static.Morb(Efermi=efermi, kwargs_formula=internal)
            calcs["spin"] = calc.static.Spin(Efermi=efermi)
    def run(n: int, folder: str) -> dict:
        nkfft = next((d for d in range(8, n + 1) if n % d == 0), n)
        grid = wb.Grid(system, NKdiv=n // nkfft, NKFFT=nkfft, use_symmetry=False)
        return wb.run(
            system,
            grid,
            calculators=calcs,
            use_irred_kpt=False,
            symmetrize=False,
            parallel=False,
            fout_name=str(Path(folder) / "wb"),
            print_progress_step_time=1e6,
        ).results

    first = None
    with tempfile.TemporaryDirectory() as tmp:
        if WARM_UP:  # untimed, as qgmag's: one-time costs (numba compilation, imports)
            cpu_start = time.process_time()
            run(WARM_UP_MESH[0], tmp)
            first = time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        res = run(nk, tmp)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out: dict = {"seconds": elapsed, "cpu_seconds": cpu, "n_k": nk**3}
    if first is not None:
        out["first_call_cpu_seconds"] = first
    if case in ("C", "Cx"):
        k = res["gme"].dataSmooth
        conv = -(TAU_FS * 1e-15) / 6.582119569509066e-16  # -tau/hbar, hbar in eV s
        out["kinetic_orbital_extrinsic"] = (conv * np.swapaxes(k, 1, 2)).tolist()
    else:
        out["ahc_S_per_m"] = res["ahc"].data.tolist()
        if case == "B":
            out["morb_muB"] = res["morb"].data.tolist()
            out["sigma_z"] = res["spin"].data[:, 2].tolist()
    return out


def worker_postw90(nk: int, mu: list[float]) -> dict:
    exe = shutil.which("postw90.x")
    if exe is None:
        raise RuntimeError("postw90.x not found (apt-get install wannier90)")
    src = data_dir() / "Fe" / "wannier90"
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in ("win", "chk", "eig", "mmn", "nnkp"):
            shutil.copy(src / f"Fe.{suffix}", Path(tmp) / f"Fe.{suffix}")
            os.chmod(Path(tmp) / f"Fe.{suffix}", 0o644)
        lines = [
            "berry = true",
            "berry_task = ahc",
            f"berry_kmesh = {nk} {nk} {nk}",
        ]
        if len(mu) > 1:
            step = (mu[-1] - mu[0]) / (len(mu) - 1)
            lines += [
                f"fermi_energy_min = {mu[0]:.10f}",
                f"fermi_energy_max = {mu[-1]:.10f}",
                f"fermi_energy_step = {step:.10f}",
            ]
        else:
            lines.append(f"fermi_energy = {mu[0]:.10f}")
        with open(Path(tmp) / "Fe.win", "a") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")
        start = time.perf_counter()
        proc = subprocess.run([exe, "Fe"], cwd=tmp, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        wpout = (Path(tmp) / "Fe.wpout").read_text() if (Path(tmp) / "Fe.wpout").exists() else ""
        if proc.returncode != 0 or "AHC (S/cm)" not in wpout and len(mu) == 1:
            raise RuntimeError(f"postw90 failed: {proc.stderr[-2000:]}\n{wpout[-2000:]}")
        if len(mu) > 1:
            table = np.loadtxt(Path(tmp) / "Fe-ahc-fermiscan.dat")
            ahc = table[:, 1:4] * 100.0
        else:
            line = next(ln for ln in wpout.splitlines() if ln.strip().startswith("=========="))
            ahc = np.array([[float(x) for x in line.split()[1:4]]]) * 100.0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"seconds": elapsed, "cpu_seconds": cpu.ru_utime + cpu.ru_stime, "n_k": nk**3}
    return {**out, "ahc_S_per_m": ahc.tolist()}


def run_worker(argv: list[str]) -> None:
    code, case, nk, material = argv[0], argv[1], int(argv[2]), argv[3]
    mu, tol = json.loads(argv[4]), float(argv[5])
    if code.startswith("qgmag"):
        out = worker_qgmag(case, nk, mu, material, tol)
    elif code == "wannierberri":
        out = worker_wannierberri(case, nk, mu, material, tol)
    else:
        out = worker_postw90(nk, mu)
    out["peak_rss_mib_self"] = peak_rss_mib()
    print("RESULT " + json.dumps(out))


# -- driver -------------------------------------------------------------------------------


def spawn(
    code: str, case: str, nk: int, material: str, mu: np.ndarray, tol: float, src: dict
) -> dict | str:
    """Run one worker in a fresh single-threaded process; returns its result or an error.
    ``src`` maps a code name to the ``src`` folder its qgmag is imported from (PYTHONPATH;
    ``--baseline-src``)."""
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    env["QGMAG_BENCH_WARM_UP"] = "1" if WARM_UP else "0"
    if code in src:
        env["PYTHONPATH"] = os.pathsep.join([src[code], env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    cmd = [sys.executable, __file__, "--worker", code, case, str(nk), material]
    cmd += [json.dumps([float(x) for x in mu]), repr(float(tol))]
    with tempfile.TemporaryFile("w+") as fout:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fout, stderr=subprocess.STDOUT, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        total = time.perf_counter() - start
        fout.seek(0)
        text = fout.read()
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        return f"{code} failed (rc={proc.returncode}): {text.strip().splitlines()[-1:]}"
    out = json.loads(line[len("RESULT ") :])
    out["peak_rss_mib"] = usage.ru_maxrss / 1024.0  # includes the child's own children
    if "peak_rss_mib_run" in out:  # qgmag: up to the end of the run, before the floor probe
        out["peak_rss_mib"] = out["peak_rss_mib_run"]
    out["process_seconds"] = total
    return out


def max_rel(a: object, b: object) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))


def compare(ours: dict, theirs: dict, keys: list[str], rows: slice = slice(None)) -> str:
    """max relative difference per key over the Fermi levels ``rows``."""
    return ", ".join(
        f"{k} {max_rel(np.asarray(ours[k])[rows], np.asarray(theirs[k])[rows]):.1e}"
        for k in keys
        if k in theirs
    )


def interior(mu: np.ndarray, centre: float, window: float) -> slice:
    """Fermi levels at least 8 kT(300 K) inside the grid (WB's smoother kernel fits)."""
    inside = np.flatnonzero(np.abs(mu - centre) <= window - 8 * 8.617333e-5 * T_KINETIC + 1e-12)
    if inside.size == 0:
        mid = len(mu) // 2
        return slice(mid, mid + 1)
    return slice(int(inside[0]), int(inside[-1]) + 1)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nk", type=int, default=50, help="mesh nk^3 (default 50)")
    parser.add_argument("--n-mu", type=int, default=51, help="number of Fermi levels")
    parser.add_argument("--window", type=float, default=0.25, help="E_F ± window (eV)")
    parser.add_argument(
        "--sets", nargs="+", default=["A", "B", "C", "Cx"], choices=["A", "B", "C", "Cx"]
    )
    parser.add_argument("--c-material", default="te", choices=["te", "fe"])
    parser.add_argument("--no-wannierberri", action="store_true")
    parser.add_argument("--no-postw90", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no untimed warm-up call: the timed call includes one-time costs (imports on "
        "first use, numba compilation)",
    )
    parser.add_argument(
        "--c-degeneracy-tol",
        type=float,
        default=C_DEGENERACY_TOL,
        help="degeneracy_tol (eV) of sets C, Cx in both codes (default %(default)g: the "
        "smallest decade Te's round-off/field guard accepts on 30^3-50^3)",
    )
    parser.add_argument(
        "--baseline-src",
        metavar="DIR",
        help="also run qgmag imported from DIR (e.g. the src/ of a checkout of the previous "
        "commit), interleaved with this one: the before/after comparison of a speed change",
    )
    args = parser.parse_args()
    global WARM_UP
    WARM_UP = not args.cold
    if not (data_dir() / "Fe" / "Fe_tb.dat").is_file():
        sys.exit(f"reference data not found under {data_dir()} (set QGMAG_SHARED_DATA)")

    print(f"mesh {args.nk}^3 = {args.nk**3} k-points, Gamma-centred; {args.n_mu} Fermi levels")
    print("serial, 1 thread per process; timings are noisy on a shared machine\n")
    header = (
        f"{'set':<7}{'code':<13}{'k/s CPU (wall)':>18}{'ratio':>9}{'peak MiB':>10}"
        f"{'proc s':>8}{'CPU range':>14}{'t/t_eigh':>9}  max rel. difference to qgmag"
    )
    print(header)
    print("-" * len(header))
    keys = {"A": ["ahc_S_per_m"], "B": ["ahc_S_per_m", "morb_muB", "sigma_z"]}
    keys["C"] = keys["Cx"] = ["kinetic_orbital_extrinsic"]
    base_keys = dict(keys, C=["kinetic_orbital_extrinsic", "kinetic_orbital_intrinsic"])
    src = {"qgmag": str(Path(__file__).resolve().parents[1] / "src")}
    if args.baseline_src:
        src["qgmag-base"] = str(Path(args.baseline_src).resolve())
    codes = ["qgmag"] + (["qgmag-base"] if args.baseline_src else [])
    codes += [] if args.no_wannierberri else ["wannierberri"]
    for case in args.sets:
        kinetic = case in ("C", "Cx")
        material = args.c_material if kinetic else "fe"
        centre = MU_TE if material == "te" else E_FERMI_FE
        mu = fermi_levels(centre, args.n_mu, args.window)
        rows = interior(mu, centre, args.window) if kinetic else slice(None)
        extra = ["postw90"] if case == "A" and not args.no_postw90 else []
        tol = args.c_degeneracy_tol if kinetic else DEFAULT_TOL
        runs = interleaved(codes + extra, case, args.nk, material, mu, args.repeat, tol, src)
        ours = runs.get("qgmag")
        if isinstance(ours, str) or ours is None:
            print(f"{case:<4}{ours}")
            continue
        label = f"{case}({material})"
        floor = ours["cpu_seconds"] / ours["eigh_cpu_seconds"]
        print(row(label, "qgmag", ours, None) + f"{floor:>9.2f}")
        for code in codes[1:] + extra:
            theirs = runs[code]
            if isinstance(theirs, str):
                print(f"{'':<7}{theirs}")
                continue
            note = (
                " (levels >= 8 kT inside the grid; WB's E_F-grid quadrature, O(step): docstring)"
                if kinetic
                else ""
            )
            if code == "postw90":
                note = " (loose: postw90 = full Berry connection + own MDRS)"
            peer_floor = theirs["cpu_seconds"] / ours["eigh_cpu_seconds"]
            agree = compare(ours, theirs, keys[case], rows)
            if code == "qgmag-base":  # same code family: its own floor, every level and key
                peer_floor = theirs["cpu_seconds"] / theirs["eigh_cpu_seconds"]
                agree, note = compare(ours, theirs, base_keys[case]), " (--baseline-src)"
            print(row("", code, theirs, ours) + f"{peer_floor:>9.2f}  " + agree + note)
        first = {
            code: runs[code]["first_call_cpu_seconds"]
            for code in codes
            if isinstance(runs.get(code), dict) and "first_call_cpu_seconds" in runs[code]
        }
        if first:
            print(
                f"{'':<7}first calls (untimed warm-up, {WARM_UP_MESH[0]}^3 mesh, CPU s): "
                + ", ".join(f"{code} {t:.2f}" for code, t in first.items())
            )
    print(
        "\nk/s: k-points per second of the integration call (CPU time of the call; wall in "
        "parentheses; after an untimed warm-up call unless --cold), codes run interleaved; "
        "ratio: qgmag's k/s over the peer's (CPU); "
        "proc s: whole process (wall); CPU range: over the repetitions; t/t_eigh: each "
        "code's CPU time over a bare batched numpy eigh of the same H(k) (measured in "
        f"qgmag's process). {timing.repeat_note(args.repeat)}."
    )


def interleaved(
    codes: list[str],
    case: str,
    nk: int,
    material: str,
    mu: np.ndarray,
    repeat: int,
    tol: float,
    src: dict,
) -> dict:
    """Run every code ``repeat`` times, alternating (A B A B ...); median of each timing."""
    results: dict[str, list] = {c: [] for c in codes}
    for _ in range(repeat):
        for code in codes:
            results[code].append(spawn(code, case, nk, material, mu, tol, src))
    out: dict = {}
    for code, rs in results.items():
        good = [r for r in rs if isinstance(r, dict)]
        if not good:
            out[code] = rs[0]
            continue
        merged = dict(good[0])
        for key in (
            "seconds",
            "cpu_seconds",
            "eigh_seconds",
            "eigh_cpu_seconds",
            "process_seconds",
            "peak_rss_mib",
            "first_call_cpu_seconds",
        ):
            if key in merged:
                merged[key] = float(np.median([r[key] for r in good]))
        merged["cpu_range"] = (
            min(r["cpu_seconds"] for r in good),
            max(r["cpu_seconds"] for r in good),
        )
        out[code] = merged
    return out


def row(label: str, code: str, res: dict, ours: dict | None) -> str:
    rate = res["n_k"] / res["cpu_seconds"]
    wall = res["n_k"] / res["seconds"]
    ratio = "" if ours is None else f"{ours['n_k'] / ours['cpu_seconds'] / rate:.2f}"
    lo, hi = res.get("cpu_range", (res["cpu_seconds"], res["cpu_seconds"]))
    return (
        f"{label:<7}{code:<13}{rate:>9.0f} ({wall:>6.0f}){ratio:>9}"
        f"{res['peak_rss_mib']:>10.0f}{res['process_seconds']:>8.1f}"
        f"{f'{lo:.2f}-{hi:.2f} s':>14}"
    )


if __name__ == "__main__":
    main()
