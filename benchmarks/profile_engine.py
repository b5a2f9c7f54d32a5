"""Throughput of the core (k-points per second) for Fe, 51 Fermi levels, uniform mesh.

Usage::

    taskset -c 0 python3 benchmarks/profile_engine.py [--n 20] [--chunk 2048] [--profile]

Sets: (1) AHC; (2) AHC + orbital + spin magnetization; (3) kinetic orbital extrinsic +
intrinsic; plus bare batched ``numpy.linalg.eigh`` of the same H(k) for reference. One
BLAS thread. ``--profile`` prints the top cProfile entries of each set.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag

DATA = Path("/work/shared/data/Fe/Fe_tb.dat")
E_FERMI = 17.6255  # eV
SETS = {
    "ahc": ["anomalous_hall_conductivity"],
    "ahc+MO+MS": ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"],
    "kinetic_orbital": ["kinetic_orbital_extrinsic", "kinetic_orbital_intrinsic"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="k-points per direction")
    parser.add_argument("--chunk", type=int, default=2048, help="k-points per chunk")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", qgmag.errors.QgmagWarning)
    model = qgmag.read_wannier90(DATA, spinor_ordering="spin-fastest")
    mu = E_FERMI + np.linspace(-0.5, 0.5, 51)
    n_k = args.n**3
    with threadpool_limits(1):
        mesh = np.random.default_rng(0).uniform(-1, 1, size=(n_k, 3))
        h = model.hamiltonian(mesh)
        best = min(_timed(lambda: np.linalg.eigh(h)) for _ in range(args.repeat))
        print(f"bare eigh: {n_k / best:.0f} k/s")
        for label, quantities in SETS.items():

            def run(quantities: list[str] = quantities, label: str = label) -> None:
                qgmag.compute(
                    model,
                    quantities,
                    mu,
                    kmesh=(args.n,) * 3,
                    smearing=0.02,
                    chunk_size=args.chunk,
                )

            run()
            best = min(_timed(run) for _ in range(args.repeat))
            print(f"{label}: {n_k / best:.0f} k/s", flush=True)
            if args.profile:
                prof = cProfile.Profile()
                prof.runcall(run)
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def _timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
