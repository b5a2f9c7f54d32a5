"""k-points for 1e-3 relative error at 10 K: qgmag's rules against WannierBerri's.

Same model in both codes: the cubic Rashba + exchange metal of
``tetrahedron_convergence.py`` (2 bands, a = 3 Å, t = 1, t_z = 0.5, λ = 0.3, J = 0.2 eV),
handed to WannierBerri as the same H(R) blocks and Pauli matrices
(``System_R.from_sparse``: ``Ham`` and ``SS``, centres at the origin). Observable: the
current-induced (Edelstein) spin magnetization at μ = -1 eV, T = 10 K, τ = 10 fs:

* qgmag ``kinetic_spin_extrinsic`` α_ij = dM^S_i/dE_j (A/V), with ``integration`` =
  ``mesh`` (f0' sampled), ``linear-tetrahedron`` and ``tetrahedron`` (optimized,
  Kawamura et al. 2014), and ``adaptive-tetrahedron`` (linear tetrahedra on the cells the
  Fermi surface crosses, halved ``adaptive_levels`` times; k-points = its point list);
* WannierBerri ``GME_spin_FermiSurf`` K_{j:i} = -μ_B/Å² ∫[dk] v_j σ_i δ(ε - E_F), on a
  uniform grid (``tetra=False``: a histogram in E_F, differentiated), with its tetrahedra
  (``tetra=True``: 12 linear tetrahedra in the cell around each k-point, the integrand
  taken at the centre) and with its adaptive refinement (``adpt_num_iter``: after each
  iteration the ``adpt_fac`` K-blocks with the largest contributions are split into 2³).
  WannierBerri is T = 0; 10 K is its ``FermiDiracSmoother`` over an E_F grid of step
  k_B T / 8 around μ (±8 k_B T, as the smoother's kernel). Conversion (derived from the two
  definitions, checked here by the converged values): α_ij = -(τ/ħ) K_{j:i}.

Reference: the optimized rule on ``--ref``³ and the Richardson extrapolation of the linear
rule (O(h²)) from (ref/2)³ and ref³ must agree (printed); the error of every run is
max_ij |α - α_ref| / max_ij |α_ref|. "k-points for 1e-3": the smallest mesh whose error and
the errors of all finer meshes tried are below 1e-3 (errors are not monotonic).
WannierBerri's adaptive k-points count every evaluated point, the discarded parents
included. CPU time (process time, one BLAS thread) and wall time of each call; the runs
that reach 1e-3 are re-timed ``--repeat`` times (default 3) interleaved across the rules
and the medians reported with the CPU ratio to qgmag's optimized rule
(``benchmarks/timing.py``; the eigh floor is not a meaningful scale for a 2-band model:
the figure of merit here is k-points per accuracy). The machine may be shared.

Run::

    python benchmarks/integration_vs_wannierberri.py           # ~15 min on one core
    python benchmarks/integration_vs_wannierberri.py --quick   # ~2 min, coarser meshes
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import constants as sc
from threadpoolctl import threadpool_limits

import qgmag

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)
from tetrahedron_convergence import rashba_exchange  # noqa: E402

MU = -1.0  # eV
TEMPERATURE = 10.0  # K
TAU_FS = 10.0
HBAR_EV_S = sc.hbar / sc.e


def qgmag_run(
    model, n: int, rule: str, levels: int | None = None
) -> tuple[np.ndarray, float, int, float]:
    """α (3, 3) in A/V, the CPU seconds of one qgmag.compute call, its k-points, wall s."""
    t0, w0 = time.process_time(), time.perf_counter()
    ds = qgmag.compute(
        model,
        ["kinetic_spin_extrinsic"],
        MU,
        TEMPERATURE,
        (n, n, n),
        tau=TAU_FS,
        integration=rule,
        allow_coarse_mesh=rule == "mesh",
        **({"adaptive_levels": levels} if levels is not None else {}),
    )
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    points = json.loads(ds.attrs["mesh"]).get("n_points", n**3)
    return ds["kinetic_spin_extrinsic"].values[0, 0], cpu, int(points), wall


def wb_system(model):
    """The qgmag model as a WannierBerri System_R: the same H(R) blocks, σ at R = 0."""
    from wannierberri.system.system_sparse import get_system_sparse

    vec = np.asarray(model.hopping_vectors)
    mats = np.asarray(model.hopping_matrices)
    n = model.n_bands
    pairs = [(i, j) for i in range(n) for j in range(n)]
    ham = {tuple(int(x) for x in r): {p: mats[i][p] for p in pairs} for i, r in enumerate(vec)}
    sigma = 2.0 * np.asarray(model.spin)  # S/ħ = σ/2
    spin = {(0, 0, 0): {p: sigma[:, p[0], p[1]] for p in pairs}}
    return get_system_sparse(
        np.asarray(model.lattice),
        wannier_centers_red=np.asarray(model.positions),
        matrices={"Ham": ham, "SS": spin},
    )


def wb_energies() -> np.ndarray:
    """E_F grid of WannierBerri's runs: step k_B T / 8 over μ ± 8 k_B T (and 2 steps more)."""
    kt = sc.k * TEMPERATURE / sc.e
    step = kt / 8
    return MU + step * np.arange(-66, 67)


def _to_alpha(k_tensor: np.ndarray) -> np.ndarray:
    """WannierBerri K_{j:i} (E_F = μ) -> qgmag α_ij = -(τ/ħ) K_{j:i}."""
    return -(TAU_FS * 1e-15 / HBAR_EV_S) * np.asarray(k_tensor).T


def wb_run(system, n: int, tetra: bool, nkfft: int | None = None, adaptive: tuple | None = None):
    """(α at μ, CPU s, wall s); with ``adaptive`` = (iterations, adpt_fac): a list of
    (k-points evaluated so far, α, CPU s so far, wall s so far) after every iteration
    instead of α."""
    import wannierberri as wb
    from wannierberri import calculators as calc
    from wannierberri.data_K import get_data_k_class_from_system
    from wannierberri.result import ResultDict
    from wannierberri.smoother import FermiDiracSmoother

    efermi = wb_energies()
    centre = len(efermi) // 2
    smoother = FermiDiracSmoother(efermi, TEMPERATURE)
    calcs = {"gme": calc.static.GME_spin_FermiSurf(Efermi=efermi, tetra=tetra, smoother=smoother)}
    if nkfft is None:
        nkfft = next(d for d in range(min(n, 32), 0, -1) if n % d == 0)
    grid = wb.Grid(system, NKdiv=n // nkfft, NKFFT=nkfft, use_symmetry=False)
    base = get_data_k_class_from_system(system)
    counted = {"k": 0}

    class Counted(base):  # counts the k-points WannierBerri evaluates
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            counted["k"] += int(np.prod(self.grid.FFT))

    snapshots: list[tuple[int, np.ndarray, float, float]] = []
    original = ResultDict.savedata
    t0, w0 = time.process_time(), time.perf_counter()

    def snapshot(self, prefix, suffix, i_iter):  # WannierBerri saves after every iteration
        value = _to_alpha(self.results["gme"].dataSmooth[centre])
        snapshots.append(
            (counted["k"], value, time.process_time() - t0, time.perf_counter() - w0)
        )

    iterations, fac = adaptive if adaptive is not None else (0, 1)
    ResultDict.savedata = snapshot
    try:
        with tempfile.TemporaryDirectory() as tmp:
            wb.run(
                system,
                grid,
                calculators=calcs,
                adpt_num_iter=iterations,
                adpt_fac=fac,
                use_irred_kpt=False,
                symmetrize=False,
                parallel=False,
                fout_name=str(Path(tmp) / "wb"),
                file_Klist_path=str(Path(tmp) / "klist"),
                print_progress_step_time=1e6,
                data_k_class=Counted,
            )
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    finally:
        ResultDict.savedata = original
    if adaptive is not None:
        return snapshots, cpu, wall
    return snapshots[-1][1], cpu, wall


def needed(rows: list[tuple[int, float]]) -> int | None:
    """Smallest k-count whose error and all larger ones' errors are below 1e-3."""
    rows = sorted(rows)
    for i, (nk, _err) in enumerate(rows):
        if all(e < 1e-3 for _, e in rows[i:]):
            return nk
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", type=int, default=192, help="reference mesh (even)")
    parser.add_argument("--quick", action="store_true", help="coarser meshes (~2 min)")
    parser.add_argument("--no-wannierberri", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="LABEL",
                        help="run only the rules whose label starts with one of these, e.g. "
                        "'qgmag adaptive' 'WB tetra'")
    parser.add_argument("--wb-adaptive-tetra-only", action="store_true",
                        help="WannierBerri's adaptive refinement with tetra=True only")
    parser.add_argument("--no-cross-check", action="store_true",
                        help="skip the linear-rule Richardson check of the reference")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timings of the 1e-3 rows: median of this many runs, interleaved "
                        "across the rules (default 3; --quick: 1)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", qgmag.errors.QgmagWarning)
    logging.disable(logging.WARNING)
    model = rashba_exchange()
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.quick:
        args.ref = min(args.ref, 96)
        meshes = {
            "qgmag mesh": [32, 64, 96],
            "qgmag linear-tetrahedron": [16, 32, 48],
            "qgmag tetrahedron": [16, 24, 32, 48],
            "qgmag adaptive-tetrahedron": [(8, 1), (8, 2), (8, 3)],
            "WB uniform": [32, 64],
            "WB tetra": [16, 32, 48],
        }
        adaptive = [(16, 4, 10, 8)]  # (start n, NKFFT, iterations, adpt_fac)
    else:
        meshes = {
            "qgmag mesh": [32, 64, 96, 128, 160],
            "qgmag linear-tetrahedron": [16, 24, 32, 48, 64, 96, 128],
            "qgmag tetrahedron": [16, 24, 32, 48, 64, 96],
            "qgmag adaptive-tetrahedron": [(16, 1), (16, 2), (16, 3), (24, 3), (16, 4)],
            "WB uniform": [32, 64, 96],
            "WB tetra": [16, 24, 32, 48, 64, 96, 128, 160],
        }
        adaptive = [(16, 4, 40, 16), (32, 4, 40, 16)]
    rows: dict[str, list[tuple]] = {}  # (k-points, error, CPU s, wall s, rerun)
    with threadpool_limits(1):
        ref, t_ref, _, _ = qgmag_run(model, args.ref, "tetrahedron")
        scale = float(np.max(np.abs(ref)))

        def error(a: np.ndarray) -> float:
            return float(np.max(np.abs(a - ref)) / scale)

        print(f"reference: optimized tetrahedron {args.ref}^3 ({t_ref:.1f} s CPU), max|α| = "
              f"{scale:.4e} A/V")
        if not args.no_cross_check:
            fine, _, _, _ = qgmag_run(model, args.ref, "linear-tetrahedron")
            coarse, _, _, _ = qgmag_run(model, args.ref // 2, "linear-tetrahedron")
            richardson = (4.0 * fine - coarse) / 3.0
            print(f"  linear rule on {args.ref}^3: {error(fine):.1e}; Richardson of the linear "
                  f"rule ({args.ref // 2}^3, {args.ref}^3): {error(richardson):.1e}")
        print(f"{'rule (adaptive: base mesh, levels)':26s} {'k-points':>10s} {'rel. error':>11s} "
              f"{'CPU s':>8s} {'wall s':>8s}")

        def record(label: str, nk: int, value: np.ndarray, cpu: float, wall: float,
                   rerun, note: str = "") -> None:  # noqa: ANN001
            err = error(value)
            rows.setdefault(label, []).append((nk, err, cpu, wall, rerun))
            print(f"{label:26s} {nk:10d} {err:11.2e} {cpu:8.2f} {wall:8.2f} {note}", flush=True)

        def wanted(label: str) -> bool:
            if label.startswith("WB") and args.no_wannierberri:
                return False
            return not args.only or any(label.startswith(x) for x in args.only)

        for label, ns in meshes.items():
            if not wanted(label):
                continue
            if label.startswith("WB"):
                system = wb_system(model)
            for n in ns:
                if label.startswith("qgmag adaptive"):
                    base, levels = n
                    args_q = (model, base, "adaptive-tetrahedron", levels)
                    value, cpu, points, wall = qgmag_run(*args_q)
                    record(label, points, value, cpu, wall,
                           lambda a=args_q: qgmag_run(*a)[1::2],  # (CPU, wall)
                           f"({base}^3, {levels} levels)")
                elif label.startswith("qgmag"):
                    args_q = (model, n, label.split()[1])
                    value, cpu, _, wall = qgmag_run(*args_q)
                    record(label, n**3, value, cpu, wall, lambda a=args_q: qgmag_run(*a)[1::2])
                else:
                    args_w = (system, n, label == "WB tetra")
                    value, cpu, wall = wb_run(*args_w)
                    record(label, n**3, value, cpu, wall, lambda a=args_w: wb_run(*a)[1:])
        if wanted("WB adaptive"):
            system = wb_system(model)
            for n0, nkfft, iterations, fac in adaptive:
                for tetra in (True,) if args.wb_adaptive_tetra_only else (False, True):
                    label = f"WB adaptive{' tetra' if tetra else ''} from {n0}^3"
                    args_w = (system, n0, tetra, nkfft, (iterations, fac))
                    snaps, cpu, wall = wb_run(*args_w)
                    for i, (nk, value, cpu_so_far, wall_so_far) in enumerate(snaps):

                        def rerun(a=args_w, i=i):  # noqa: ANN001, ANN202
                            return wb_run(*a)[0][i][2:]  # the same iteration: (CPU, wall)

                        rows.setdefault(label, []).append(
                            (nk, error(value), cpu_so_far, wall_so_far, rerun)
                        )
                    first, last = snaps[0], snaps[-1]
                    print(f"{label:26s} {first[0]:10d} {error(first[1]):11.2e}   (start)")
                    print(f"{label:26s} {last[0]:10d} {error(last[1]):11.2e} {cpu:8.2f} "
                          f"{wall:8.2f} (after {iterations} iterations, adpt_fac {fac}, "
                          f"NKFFT {nkfft})", flush=True)
        # the runs that reach 1e-3, re-timed: median of --repeat runs, interleaved over rules
        best: dict[str, int | None] = {}
        first: dict[str, dict] = {}
        for label, data in rows.items():
            best[label] = needed([(k, e) for k, e, *_ in data])
            hit = next((r for r in data if r[0] == best[label]), None)
            if hit is not None:
                first[label] = {"cpu": hit[2], "wall": hit[3], "rerun": hit[4]}

        def again(label: str) -> dict:
            cpu, wall = first[label]["rerun"]()
            return {"cpu": cpu, "wall": wall}

        extra = timing.interleaved(again, first, args.repeat - 1) if args.repeat > 1 else {}
        timed = {
            label: timing.medians([{"cpu": f["cpu"], "wall": f["wall"]}, *extra.get(label, [])],
                                  ["cpu", "wall"])
            for label, f in first.items()
        }
    print(f"\nk-points for 1e-3 relative error; CPU and wall s of that run, "
          f"{timing.repeat_note(args.repeat)}; CPU ratio to qgmag's optimized rule:")
    opt = best.get("qgmag tetrahedron")
    opt_cpu = timed["qgmag tetrahedron"]["cpu"] if "qgmag tetrahedron" in timed else None
    for label, nk in best.items():
        if nk is None:
            print(f"  {label:26s} not reached on the meshes tried")
            continue
        t = timed[label]
        ratio = f", {t['cpu'] / opt_cpu:6.2f}x its CPU" if opt_cpu else ""
        kratio = f"; {nk / opt:6.1f}x its k-points" if opt else ""
        print(f"  {label:26s} {nk:>10,d}  CPU {t['cpu']:8.2f} s  wall {t['wall']:8.2f} s"
              f"{ratio}{kratio}")


if __name__ == "__main__":
    main()
