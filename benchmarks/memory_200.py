"""Peak memory of a large run: Fe AHC + orbital magnetization on a 200^3 mesh.

Usage (takes long on one core; run in the background)::

    nice python3 benchmarks/memory_200.py [--n 200] [--threads 1] > memory_200.log

Prints progress (k-points done, k/s, peak RSS so far) and, at the end, the peak resident
set size of the process (must stay under 2 GiB: memory is bounded per chunk, not per mesh).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag

DATA = Path(__file__).resolve().parents[1] / "shared" / "data" / "Fe" / "Fe_tb.dat"
E_FERMI = 17.6255  # eV, Fe_tb.dat (data README)


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="k-points per direction")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    data = args.data if args.data.exists() else Path("/work/shared/data/Fe/Fe_tb.dat")
    model = qgmag.read_wannier90(data, spinor_ordering="spin-fastest")
    mu = E_FERMI + np.linspace(-0.5, 0.5, 51)
    start, cpu_start = time.perf_counter(), time.process_time()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10.0 or done == total:
            last[0] = now
            rate = done / (now - start)
            print(
                f"{done}/{total} k ({100 * done / total:.1f}%), {rate:.0f} k/s, "
                f"peak RSS {peak_rss_mib():.0f} MiB",
                flush=True,
            )

    with threadpool_limits(args.threads):
        result = qgmag.compute(
            model,
            ["anomalous_hall_conductivity", "orbital_magnetization"],
            mu,
            kmesh=(args.n,) * 3,
            progress=progress,
        )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    sigma = result["anomalous_hall_conductivity"].sel(mu=E_FERMI, method="nearest").values
    print(f"AHC at E_F (S/cm): {np.round(sigma, 2).tolist()}")
    print(
        f"{args.n**3} k-points in {elapsed:.0f} s wall, {cpu:.0f} s CPU "
        f"({args.n**3 / elapsed:.0f} k/s wall; a memory benchmark, one run: not a speed figure)"
    )
    peak = peak_rss_mib()
    print(f"peak RSS: {peak:.0f} MiB ({'OK' if peak < 2048 else 'OVER'} the 2 GiB bound)")
    sys.exit(0 if peak < 2048 else 1)


if __name__ == "__main__":
    main()
