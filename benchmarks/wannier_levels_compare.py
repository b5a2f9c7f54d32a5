"""Before/after check that a speed change leaves the Wannier-level numbers unchanged.

    PYTHONPATH=<tree>/src python3 benchmarks/wannier_levels_compare.py save ref.pkl
    PYTHONPATH=src python3 benchmarks/wannier_levels_compare.py compare ref.pkl [threshold]

AHC, M^O (both terms), M^S and kinetic_orbital_extrinsic on the Fe run
(../shared/data/Fe/wannier90) at every level and both orbital formulas, T = 0 and 300 K
on 10^3 (coarse mesh allowed), plus AHC / M^O / M^S on 16^3 at every level; ``compare``
prints every array whose largest difference over its largest entry exceeds ``threshold``
(default 1e-13) and the worst such relative difference over all arrays.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

import qgmag

FE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "Fe" / "wannier90" / "Fe.chk"
Q = [
    "anomalous_hall_conductivity",
    "orbital_magnetization",
    "spin_magnetization",
    "kinetic_orbital_extrinsic",
]
LEVELS = ("tight-binding", "full-connection", "full")


def values() -> dict[tuple, np.ndarray]:
    run = qgmag.read_wannier90(FE)
    mu = 17.6255 + np.array([-0.1, 0.0, 0.1])
    out = {}
    for level in LEVELS:
        for formula in ("lopez", "projected") if level == "full" else ("lopez",):
            model = run.with_level(level, orbital_formula=formula)
            for temp, names in ((0.0, Q[:3]), (300.0, Q)):
                res = qgmag.compute(
                    model, names, mu, temp, (10, 10, 10), progress=False, allow_coarse_mesh=True
                )
                for name in res.data_vars:
                    out[(level, formula, temp, name)] = np.asarray(res[name].values)
    for level in LEVELS:
        res = qgmag.compute(run.with_level(level), Q[:3], mu, 0.0, (16, 16, 16), progress=False)
        for name in res.data_vars:
            out[(level, "lopez", "16", name)] = np.asarray(res[name].values)
    return out


def main(mode: str, path: str, threshold: float = 1e-13) -> None:
    new = values()
    if mode == "save":
        Path(path).write_bytes(pickle.dumps(new))
        print(len(new), "arrays saved to", path)
        return
    ref = pickle.loads(Path(path).read_bytes())
    worst = 0.0
    for key, old in ref.items():
        diff = float(np.abs(new[key] - old).max() / max(np.abs(old).max(), 1e-300))
        worst = max(worst, diff)
        if diff > threshold:
            print("DIFF", key, f"{diff:.2e}")
    print(f"{len(ref)} arrays, worst relative difference {worst:.2e}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:]))
