"""Where the per-k time of the three Wannier levels goes (Fe run, one chunk, CPU time).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python3 benchmarks/wannier_levels_profile.py [reps]

Integrates one chunk (the first 641 points of the 16^3 mesh, the chunk that
``benchmarks/wannier_levels.py 16`` uses) of AHC + M^O + M^S at 3 μ at each level,
interleaved, ``reps`` times (default 11), with exclusive CPU timers (time.process_time)
around the engine's steps, and prints the fastest round of each step in µs per k-point
(the least load-affected figure on a shared machine), grouped as in docs/real_materials.md
(``_external_block``, exclusive: the GEMMs of G and of the packed C with U_w, counted as
full transforms; the compiled kernels as band-pair arithmetic).
"""

from __future__ import annotations

import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import qgmag
from qgmag.bands import engine, grid_bloch
from qgmag.geometry import full_level, pair_kernels
from qgmag.integrate import chunk as chunk_module
from qgmag.integrate.driver import _select_observables, build_plan
from qgmag.kspace.mesh import make_mesh

FE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "Fe" / "wannier90" / "Fe.chk"
QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
GROUPS = {
    "eigh": ["eigh"],
    "Fourier sums": ["separable_sum", "grid_bloch_blocks", "grid_wannier_blocks", "wannier_blocks"],
    "full transforms U_w† X U": ["_to_eigenbasis", "_external_block"],
    "diagonal transforms": ["_eigen_diagonal", "column_dots"],
    "band-pair arithmetic": [
        "berry_pairs",
        "moment_pairs",
        "_external_blocks",
        "_real_cross",
        "_gather_pairs",
        "pair_sums",
        "external_orbital_moment",
        "connection_pair_terms",
        "pair_inverse_gap",
        "connection_pair_curvature",
        "_moment_pair_sums",
    ],
}

_acc: dict[str, float] = defaultdict(float)
_stack: list[float] = []


def _timed(f, label):  # noqa: ANN001, ANN202
    @functools.wraps(f)
    def g(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        _stack.append(0.0)
        c = time.process_time()
        out = f(*args, **kwargs)
        spent = time.process_time() - c
        _acc[label] += spent - _stack.pop()
        if _stack:
            _stack[-1] += spent
        return out

    return g


def _instrument() -> None:
    np.linalg.eigh = _timed(np.linalg.eigh, "eigh")
    for owner, names in (
        (grid_bloch, ["separable_sum", "grid_bloch_blocks", "grid_wannier_blocks"]),
        (engine.BandData, ["_to_eigenbasis", "_eigen_diagonal", "wannier_blocks"]),
        (full_level, [*GROUPS["band-pair arithmetic"], "_external_block"]),
        (pair_kernels, ["berry_pairs", "moment_pairs", "column_dots"]),
    ):
        for name in names:
            if hasattr(owner, name):
                setattr(owner, name, _timed(getattr(owner, name), name))


def main(reps: int = 11) -> None:
    _instrument()
    run = qgmag.read_wannier90(FE)
    levels = ("tight-binding", "full-connection", "full")
    mu = 17.6255 + np.array([-0.1, 0.0, 0.1])
    jobs = {}
    for level in levels:
        model = run.with_level(level)
        mesh = make_mesh(model, (16, 16, 16))
        plan = build_plan(
            model,
            _select_observables(QUANTITIES, model),
            mu,
            np.array([0.0]),
            mesh,
            smearing=None,
            degeneracy_tol=1e-6,
            metric_dipole="analytic",
            chunk_size=None,
        )
        jobs[level] = (model, plan, *plan.chunk_bounds[0])
        chunk_module.integrate_chunk(*jobs[level])  # untimed: builds the cached R stacks
    best: dict[str, dict[str, float]] = {level: defaultdict(lambda: np.inf) for level in levels}
    for _ in range(reps):
        for level in levels:
            model, plan, start, stop = jobs[level]
            _acc.clear()
            c = time.process_time()
            chunk_module.integrate_chunk(model, plan, start, stop)
            total = time.process_time() - c
            per_k = 1e6 / (stop - start)
            grouped = {g: sum(_acc.get(n, 0.0) for n in names) for g, names in GROUPS.items()}
            grouped["rest"] = total - sum(grouped.values())
            grouped["total"] = total
            for key, value in grouped.items():
                best[level][key] = min(best[level][key], value * per_k)
    print(
        f"{'CPU µs per k (fastest of ' + str(reps) + ' rounds)':40s}"
        + "".join(f"{level:>17s}" for level in levels)
    )
    for key in [*GROUPS, "rest", "total"]:
        print(f"{key:40s}" + "".join(f"{best[level][key]:17.1f}" for level in levels))
    base = best["tight-binding"]["total"]
    print("ratio to tight-binding:", {lv: round(best[lv]["total"] / base, 2) for lv in levels})


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:]])
