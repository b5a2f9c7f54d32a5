"""Per-k cost of the three Wannier levels on the Fe run (paired, interleaved timings).

    PYTHONPATH=src python3 benchmarks/wannier_levels.py [nk] [repeats]

Reads ../shared/data/Fe/wannier90/Fe.chk (+ .eig/.mmn/.spn/.uHu), times building the
R-space matrices, then (after one untimed round that builds each level's cached R-space
stacks) AHC + M^O + M^S on an nk^3 mesh at each level, interleaved
(tb, full-connection, full, tb, ...) so that machine load affects all alike; prints the
median time per k-point, the ratio of the medians to the tight-binding level and the
median of the per-round ratios (less sensitive to load that changes between rounds) and the
ratio of the fastest rounds (the least load-affected), and each level's time over the eigh
floor (bare batched numpy eigh of the same H(k), built outside the timer), in
wall-clock and in CPU time (run with OPENBLAS_NUM_THREADS=1 so that CPU time is the work
of one thread, the least load-sensitive measure on a shared machine).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import qgmag

FE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "Fe" / "wannier90" / "Fe.chk"
QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]


def main(nk: int = 20, repeats: int = 5) -> None:
    t0 = time.perf_counter()
    full = qgmag.read_wannier90(FE)
    t_read = time.perf_counter() - t0
    print(
        f"read + R-space matrices: {t_read:.2f} s (build {full.parameters['build_seconds']:.2f} s)"
    )
    models = {
        level: full.with_level(level) for level in ("tight-binding", "full-connection", "full")
    }
    mu = 17.6255 + np.array([-0.1, 0.0, 0.1])
    wall: dict[str, list[float]] = {level: [] for level in models}
    cpu: dict[str, list[float]] = {level: [] for level in models}
    for model in models.values():  # untimed: builds each level's cached R-space stacks
        qgmag.compute(model, QUANTITIES, mu, 0.0, (nk, nk, nk), progress=False)
    for _ in range(repeats):
        for level, model in models.items():
            t, c = time.perf_counter(), time.process_time()
            qgmag.compute(model, QUANTITIES, mu, 0.0, (nk, nk, nk), progress=False)
            wall[level].append((time.perf_counter() - t) / nk**3)
            cpu[level].append((time.process_time() - c) / nk**3)
    # the eigh floor: batched eigh of the same H(k) (built outside the timer), per k-point
    grid = np.arange(nk) / nk
    frac = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3)
    floor_wall = floor_cpu = 0.0
    for lo in range(0, len(frac), 4096):
        h = full.hamiltonian(frac[lo : lo + 4096] @ full.reciprocal_lattice)
        t, c = time.perf_counter(), time.process_time()
        np.linalg.eigh(h)
        floor_wall += time.perf_counter() - t
        floor_cpu += time.process_time() - c
    floor = {"wall": floor_wall / nk**3, "CPU": floor_cpu / nk**3}
    print(f"eigh floor: {floor['wall'] * 1e6:.1f} µs/k wall, {floor['CPU'] * 1e6:.1f} µs/k CPU")
    for clock_name, times in (("wall", wall), ("CPU", cpu)):
        base = np.median(times["tight-binding"])
        tb = np.array(times["tight-binding"])
        for level, ts in times.items():
            med = np.median(ts)
            paired = np.median(np.array(ts) / tb)  # ratio within each interleaved round
            fastest = np.min(ts) / np.min(tb)  # the least load-affected round of each
            print(
                f"{clock_name:4s} {level:16s} {med * 1e6:8.1f} µs/k   "
                f"{med / floor[clock_name]:5.2f}x floor   ratio {med / base:.2f}"
                f"   (median of per-round ratios {paired:.2f}, of the fastest rounds"
                f" {fastest:.2f})"
            )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
