"""k-points needed for 1e-3 relative error of a Fermi-surface response at low T.

Model: cubic Rashba + exchange metal (2 bands, a = 3 Å; ε = -2t(cos kx + cos ky) -
2 t_z cos kz + λ(sin ky σx - sin kx σy) + J σz, t = 1, t_z = 0.5, λ = 0.3, J = 0.2 eV),
μ = -1 eV, T = 10 K, observable kinetic_spin_extrinsic (Edelstein, Eq. 6). Rules:
the point mesh (f0' sampled), the linear and the optimized tetrahedron rule
(``integration=``). Reference: the optimized rule on the densest mesh (``--ref``),
cross-checked against the linear rule there. Error: max|α - α_ref| / max|α_ref| over
components. CPU time (process time, one BLAS thread) and wall time of each
``qgmag.compute`` call; each rule's first run below 1e-3 is re-timed ``--repeat`` times
(default 3, interleaved across the rules; ``benchmarks/timing.py``) and the medians are
reported with the ratios to the optimized rule.

Run::

    python benchmarks/tetrahedron_convergence.py            # ~5 min on one core
    python benchmarks/tetrahedron_convergence.py --ref 96 --quick
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)


def rashba_exchange(t=1.0, tz=0.5, lam=0.3, exchange=0.2) -> qgmag.TightBindingModel:
    sx = np.array([[0, 1], [1, 0]], dtype=complex)
    sy = np.array([[0, -1j], [1j, 0]])
    sz = np.diag([1.0 + 0j, -1.0])
    one = np.eye(2, dtype=complex)
    vec = [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    mats = [
        exchange * sz,
        -t * one + 0.5j * lam * sy,
        -t * one - 0.5j * lam * sy,
        -t * one - 0.5j * lam * sx,
        -t * one + 0.5j * lam * sx,
        -tz * one,
        -tz * one,
    ]
    return qgmag.TightBindingModel.from_arrays(
        3.0 * np.eye(3),
        np.zeros((2, 3)),
        np.array(vec),
        np.array(mats),
        spin=np.stack([sx, sy, sz]) / 2,
        name="cubic Rashba + exchange",
    )


def run(model, n, rule, mu, temp):
    """(α flattened, CPU s, wall s) of one qgmag.compute call."""
    t0, w0 = time.process_time(), time.perf_counter()
    ds = qgmag.compute(
        model,
        ["kinetic_spin_extrinsic"],
        mu,
        temp,
        (n, n, n),
        integration=rule,
        allow_coarse_mesh=rule == "mesh",  # the point mesh at 10 K is the coarse case shown
    )
    return (
        ds["kinetic_spin_extrinsic"].values.ravel(),
        time.process_time() - t0,
        time.perf_counter() - w0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", type=int, default=128)
    parser.add_argument("--mu", type=float, default=-1.0)
    parser.add_argument("--temperature", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timings of the 1e-3 rows: median of this many interleaved runs",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", qgmag.errors.QgmagWarning)
    model = rashba_exchange()
    meshes = {
        "mesh": [16, 24, 32, 48, 64, 96, 128],
        "linear-tetrahedron": [8, 12, 16, 24, 32, 48, 64],
        "tetrahedron": [8, 12, 16, 24, 32, 48, 64],
    }
    if args.quick:
        meshes = {k: v[:-1] for k, v in meshes.items()}
    with threadpool_limits(1):
        ref, t_ref, _ = run(model, args.ref, "tetrahedron", args.mu, args.temperature)
        lin, _, _ = run(model, args.ref, "linear-tetrahedron", args.mu, args.temperature)
        scale = np.max(np.abs(ref))
        print(
            f"reference: optimized tetrahedron {args.ref}^3 ({t_ref:.1f} s CPU); "
            f"linear rule there differs by {np.max(np.abs(lin - ref)) / scale:.1e}"
        )
        print(
            f"{'rule':20s} {'n':>4s} {'k-points':>9s} {'rel. error':>11s} {'CPU s':>7s} "
            f"{'wall s':>7s}"
        )
        first = {}
        for rule, ns in meshes.items():
            for n in ns:
                val, cpu, wall = run(model, n, rule, args.mu, args.temperature)
                err = np.max(np.abs(val - ref)) / scale
                print(f"{rule:20s} {n:4d} {n**3:9d} {err:11.2e} {cpu:7.2f} {wall:7.2f}", flush=True)
                if err < 1e-3 and rule not in first:
                    first[rule] = {"n": n, "cpu": cpu, "wall": wall}

        def again(rule: str) -> dict:  # the 1e-3 run of a rule, re-timed
            _, cpu, wall = run(model, first[rule]["n"], rule, args.mu, args.temperature)
            return {"cpu": cpu, "wall": wall}

        extra = timing.interleaved(again, first, args.repeat - 1) if args.repeat > 1 else {}
        print(f"k-points for 1e-3 (CPU and wall s: {timing.repeat_note(args.repeat)}):")
        opt = first.get("tetrahedron")
        for r, f in first.items():
            t = timing.medians([f, *extra.get(r, [])], ["cpu", "wall"])
            rel = ""
            if opt:
                t_opt = timing.medians([opt, *extra.get("tetrahedron", [])], ["cpu", "wall"])
                rel = (
                    f"; {f['n'] ** 3 / opt['n'] ** 3:.1f}x the optimized rule's k-points, "
                    f"{t['cpu'] / t_opt['cpu']:.2f}x its CPU"
                )
            print(
                f"  {r}: {f['n'] ** 3} k-points, CPU {t['cpu']:.2f} s, wall {t['wall']:.2f} s{rel}"
            )
        missing = [r for r in meshes if r not in first]
        if missing:
            print(f"  not reached on the meshes tried: {missing}")


if __name__ == "__main__":
    main()
