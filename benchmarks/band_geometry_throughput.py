"""Throughput of ``qgmag.band_geometry`` (k-points per second) versus band count.

Plain script, prints a table:

    python benchmarks/band_geometry_throughput.py [--nk 10000] [--bands 2 8 18 36]

Models: the Haldane model (2 bands, 7 lattice vectors R) and random Hermitian 3D
tight-binding models with n bands, R in the cube |R_i| <= 2 (125 vectors), hoppings
decaying with |R|, and spin matrices (n/2 spinor orbitals, spin-fastest) so that the
default quantity set includes spin and spin Berry curvature, as for a Wannier90 spinor
model. For each model three timings on one chunk of ``--nk`` k-points, run interleaved
``--repeat`` times (default 3; CPU and wall time, medians; the rules of
``benchmarks/timing.py``):

* ``H+eigh``   : model.derivatives(k, order=1) and numpy.linalg.eigh (the floor);
* ``Ω only``   : band_geometry(model, k, ["energy", "berry_curvature"]);
* ``default``  : band_geometry(model, k) with its default quantities (energy, velocity,
  Ω, g, m, spin, Φ, F — F needs ∂²H and the metric dipole, the most expensive part).

The last columns are the CPU time over that of ``H+eigh``. Numbers depend on the BLAS and
on the number of threads; the script prints both (run with OPENBLAS_NUM_THREADS=1 for
one-thread CPU time).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

import qgmag
from qgmag.models.spin import spin_operators

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)


def random_model(n_bands: int, seed: int = 0, reach: int = 2) -> qgmag.TightBindingModel:
    """Random Hermitian 3D tight-binding model (spinful when n_bands is even)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(-reach, reach + 1)
    vectors = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    mats = np.zeros((len(vectors), n_bands, n_bands), dtype=complex)
    index = {tuple(v): i for i, v in enumerate(vectors)}
    for i, v in enumerate(vectors):
        j = index[tuple(-v)]
        if j < i:
            continue
        block = rng.normal(size=(n_bands, n_bands)) + 1j * rng.normal(size=(n_bands, n_bands))
        block *= np.exp(-np.linalg.norm(v))
        if i == j:  # R = 0: Hermitian on-site block
            block = 0.5 * (block + block.conj().T)
        mats[i], mats[j] = block, block.conj().T
    lattice = 3.0 * np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    positions = rng.uniform(0, 1, size=(n_bands, 3))
    spin = None
    if n_bands % 2 == 0:
        positions = np.repeat(positions[: n_bands // 2], 2, axis=0)
        spin = spin_operators(n_bands // 2, "spin-fastest")
    return qgmag.TightBindingModel.from_arrays(
        lattice, positions, vectors, mats, spin=spin, name=f"random-{n_bands}"
    )


def measure(model, nk: int, repeat: int, seed: int = 1) -> dict[str, dict]:
    """Median wall and CPU time of each timing over ``repeat`` interleaved rounds."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(0, 1, size=(nk, model.dim)) @ model.reciprocal_lattice
    qgmag.band_geometry(model, k[:64])  # warm-up (imports, caches of stacked H(R) blocks)

    def diag() -> None:
        h, _, _ = model.derivatives(k, order=1)
        np.linalg.eigh(h)

    calls = {
        "H+eigh": diag,
        "Ω only": lambda: qgmag.band_geometry(model, k, ["energy", "berry_curvature"]),
        "default": lambda: qgmag.band_geometry(model, k),
    }

    def run(label: str) -> dict:
        _, wall, cpu = timing.timed(calls[label])
        return {"wall": wall, "cpu": cpu}

    records = timing.interleaved(run, calls, repeat)
    return {label: timing.medians(recs, ["wall", "cpu"]) for label, recs in records.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nk", type=int, default=10_000, help="k-points per chunk")
    parser.add_argument("--bands", type=int, nargs="+", default=[2, 8, 18, 36])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (median)")
    args = parser.parse_args()

    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info()
        )
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        blas = "unknown"
    print(f"qgmag {qgmag.__version__}, numpy {np.__version__}, {platform.processor() or ''}")
    print(f"CPUs: {os.cpu_count()}, BLAS: {blas}")
    print(f"chunk: {args.nk} k-points, {timing.repeat_note(args.repeat)}\n")

    models = [("haldane", qgmag.models.haldane())]
    models += [(f"random 3D, spinful={n % 2 == 0}", random_model(n)) for n in args.bands]
    header = (
        f"{'model':<26}{'bands':>6}{'n_R':>6}"
        f"{'H+eigh k/s':>13}{'Ω-only k/s':>13}{'default k/s':>13}{'default µs/k':>14}"
        f"{'Ω/floor':>9}{'default/floor':>15}"
    )
    print(header)
    print("-" * len(header))
    for label, model in models:
        t = measure(model, args.nk, args.repeat)
        rate = {key: args.nk / value["cpu"] for key, value in t.items()}
        wall = args.nk / t["default"]["wall"]
        print(
            f"{label:<26}{model.n_bands:>6}{model.n_hoppings:>6}"
            f"{rate['H+eigh']:>13.3g}{rate['Ω only']:>13.3g}{rate['default']:>13.3g}"
            f"{1e6 * t['default']['cpu'] / args.nk:>14.3g}"
            f"{t['Ω only']['cpu'] / t['H+eigh']['cpu']:>9.2f}"
            f"{t['default']['cpu'] / t['H+eigh']['cpu']:>15.2f}"
            f"   (default wall {wall:.3g} k/s)",
            flush=True,
        )
    print(
        "\nk/s and µs/k: CPU time (process_time), median over the rounds; /floor: CPU time over "
        "that of H+eigh (H(k), ∂H and numpy eigh of the same chunk), same round order."
    )


if __name__ == "__main__":
    main()
