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
included. CPU time of each call (process time, one BLAS thread); the machine may be shared.

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
from tetrahedron_convergence import rashba_exchange  # noqa: E402

MU = -1.0  # eV
TEMPERATURE = 10.0  # K
TAU_FS = 10.0
HBAR_EV_S = sc.hbar / sc.e


def qgmag_run(model, n: int, rule: str, levels: int | None = None) -> tuple[np.ndarray, float, int]:
    """α (3, 3) in A/V, the CPU seconds of one qgmag.compute call and its k-points."""
    t0 = time.process_time()
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
    cpu = time.process_time() - t0
    points = json.loads(ds.attrs["mesh"]).get("n_points", n**3)
    return ds["kinetic_spin_extrinsic"].values[0, 0], cpu, int(points)


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
    """α at μ and CPU seconds; with ``adaptive`` = (iterations, adpt_fac): a list of
    (k-points evaluated so far, α, CPU seconds so far) after every iteration instead."""
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

    snapshots: list[tuple[int, np.ndarray, float]] = []
    original = ResultDict.savedata
    t0 = time.process_time()

    def snapshot(self, prefix, suffix, i_iter):  # WannierBerri saves after every iteration
        value = _to_alpha(self.results["gme"].dataSmooth[centre])
        snapshots.append((counted["k"], value, time.process_time() - t0))

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
            cpu = time.process_time() - t0
    finally:
        ResultDict.savedata = original
    if adaptive is not None:
        return snapshots, cpu
    return snapshots[-1][1], cpu


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
    args = parser.parse_args()
    warnings.simplefilter("ignore", qgmag.errors.QgmagWarning)
    logging.disable(logging.WARNING)
    model = rashba_exchange()
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
    rows: dict[str, list[tuple[int, float, float]]] = {}
    with threadpool_limits(1):
        ref, t_ref, _ = qgmag_run(model, args.ref, "tetrahedron")
        scale = float(np.max(np.abs(ref)))

        def error(a: np.ndarray) -> float:
            return float(np.max(np.abs(a - ref)) / scale)

        print(f"reference: optimized tetrahedron {args.ref}^3 ({t_ref:.1f} s CPU), max|α| = "
              f"{scale:.4e} A/V")
        if not args.no_cross_check:
            fine, _, _ = qgmag_run(model, args.ref, "linear-tetrahedron")
            coarse, _, _ = qgmag_run(model, args.ref // 2, "linear-tetrahedron")
            richardson = (4.0 * fine - coarse) / 3.0
            print(f"  linear rule on {args.ref}^3: {error(fine):.1e}; Richardson of the linear "
                  f"rule ({args.ref // 2}^3, {args.ref}^3): {error(richardson):.1e}")
        print(f"{'rule (adaptive: base mesh, levels)':26s} {'k-points':>10s} {'rel. error':>11s} "
              f"{'CPU s':>8s}")

        def record(label: str, nk: int, value: np.ndarray, cpu: float, note: str = "") -> None:
            err = error(value)
            rows.setdefault(label, []).append((nk, err, cpu))
            print(f"{label:26s} {nk:10d} {err:11.2e} {cpu:8.2f} {note}", flush=True)

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
                    value, cpu, points = qgmag_run(model, base, "adaptive-tetrahedron", levels)
                    record(label, points, value, cpu, f"({base}^3, {levels} levels)")
                elif label.startswith("qgmag"):
                    value, cpu, _ = qgmag_run(model, n, label.split()[1])
                    record(label, n**3, value, cpu)
                else:
                    value, cpu = wb_run(system, n, tetra=label == "WB tetra")
                    record(label, n**3, value, cpu)
        if wanted("WB adaptive"):
            system = wb_system(model)
            for n0, nkfft, iterations, fac in adaptive:
                for tetra in (True,) if args.wb_adaptive_tetra_only else (False, True):
                    label = f"WB adaptive{' tetra' if tetra else ''} from {n0}^3"
                    snaps, cpu = wb_run(system, n0, tetra, nkfft, (iterations, fac))
                    for nk, value, cpu_so_far in snaps:
                        rows.setdefault(label, []).append((nk, error(value), cpu_so_far))
                    first, last = snaps[0], snaps[-1]
                    print(f"{label:26s} {first[0]:10d} {error(first[1]):11.2e}   (start)")
                    print(f"{label:26s} {last[0]:10d} {error(last[1]):11.2e} {cpu:8.2f} "
                          f"(after {iterations} iterations, adpt_fac {fac}, NKFFT {nkfft})",
                          flush=True)
    print("\nk-points for 1e-3 relative error (and the CPU s of that run):")
    best = {}
    for label, data in rows.items():
        nk = needed([(k, e) for k, e, _ in data])
        cpu = next((c for k, _e, c in data if k == nk), None)
        best[label] = nk
        shown = f"{nk:,d} ({cpu:.2f} s)" if nk is not None else "not reached on the meshes tried"
        print(f"  {label:26s} {shown}")
    opt = best.get("qgmag tetrahedron")
    if opt:
        for label, nk in best.items():
            if nk:
                print(f"  {label:26s} {nk / opt:6.1f}x the optimized rule's k-points")


if __name__ == "__main__":
    main()
