"""Throughput of the core (k-points per second) for Fe, 51 Fermi levels, uniform mesh.

Usage::

    taskset -c 0 python3 benchmarks/profile_engine.py [--n 20] [--chunk 2048] [--profile]

Sets: (1) AHC; (2) AHC + orbital + spin magnetization; (3) kinetic orbital extrinsic +
intrinsic; plus bare batched ``numpy.linalg.eigh`` of the same H(k) (the floor). One
BLAS thread; the sets and the floor run interleaved ``--repeat`` times (default 3), CPU
and wall time, medians and CPU time over the floor's (``benchmarks/timing.py``).
``--profile`` prints the top cProfile entries of each set.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)

E_FERMI = 17.6255  # eV
SETS = {
    "ahc": ["anomalous_hall_conductivity"],
    "ahc+MO+MS": ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"],
    "kinetic_orbital": ["kinetic_orbital_extrinsic", "kinetic_orbital_intrinsic"],
}


def data_dir() -> Path:
    env = os.environ.get("QGMAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="k-points per direction")
    parser.add_argument("--chunk", type=int, default=2048, help="k-points per chunk")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", qgmag.errors.QgmagWarning)
    model = qgmag.read_wannier90(data_dir() / "Fe" / "Fe_tb.dat", spinor_ordering="spin-fastest")
    mu = E_FERMI + np.linspace(-0.5, 0.5, 51)
    n_k = args.n**3
    with threadpool_limits(1):
        frac = timing.mesh_fractions(args.n)

        def run(label: str) -> dict:
            if label == "bare eigh":  # the floor: H(k) of the same mesh built outside the timer
                wall, cpu = timing.eigh_floor(model, frac, args.chunk)
            else:
                _, wall, cpu = timing.timed(
                    qgmag.compute,
                    model,
                    SETS[label],
                    mu,
                    kmesh=(args.n,) * 3,
                    smearing=0.02,
                    allow_coarse_mesh=True,  # a speed benchmark: below the mesh guard
                    chunk_size=args.chunk,
                )
            return {"wall": wall, "cpu": cpu}

        for label in SETS:  # untimed first call of each set (imports, caches)
            qgmag.compute(
                model, SETS[label], mu, kmesh=(2, 2, 2), smearing=0.02, allow_coarse_mesh=True
            )
        records = timing.interleaved(run, ["bare eigh", *SETS], args.repeat)
        med = {label: timing.medians(recs, ["wall", "cpu"]) for label, recs in records.items()}
        floor = med["bare eigh"]["cpu"]
        print(f"Fe {args.n}^3, 51 Fermi levels, one BLAS thread; {timing.repeat_note(args.repeat)}")
        print(f"{'set':<18}{'k/s CPU':>10}{'k/s wall':>10}{'CPU/eigh':>10}")
        for label, row in med.items():
            print(
                f"{label:<18}{n_k / row['cpu']:>10.0f}{n_k / row['wall']:>10.0f}"
                f"{row['cpu'] / floor:>10.2f}",
                flush=True,
            )
        if args.profile:
            for label, quantities in SETS.items():
                prof = cProfile.Profile()
                prof.runcall(
                    qgmag.compute,
                    model,
                    quantities,
                    mu,
                    kmesh=(args.n,) * 3,
                    smearing=0.02,
                    allow_coarse_mesh=True,  # a speed benchmark: below the mesh guard
                    chunk_size=args.chunk,
                )
                print(f"\n# {label}")
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
