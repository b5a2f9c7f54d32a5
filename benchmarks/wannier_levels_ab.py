"""Before/after per-k cost of the Wannier levels in ONE process (load-robust A/B).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python3 benchmarks/wannier_levels_ab.py \
        /path/to/base/src [reps]

On a shared machine the load changes between two runs of ``wannier_levels.py`` by more
than a speed change of 10 %; here the base tree (its ``src/qgmag`` copied to a temporary
folder as the package ``qgmag_base``, every ``qgmag`` import renamed) and this tree run in
the same process, one chunk (the second 641-point chunk of the 16³ Fe mesh, AHC + M^O +
M^S at 3 μ, as ``wannier_levels.py 16``) per call, the four (tree, level) cases interleaved
``reps`` times (default 40). Prints per case the fastest round, the first quartile and the
median in CPU µs per k-point, and the full / tight-binding ratio of each statistic per tree.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

import numpy as np

FE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "Fe" / "wannier90" / "Fe.chk"
QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
LEVELS = ("tight-binding", "full")


def _base_package(src: Path, folder: Path) -> str:
    """Copy ``src/qgmag`` to ``folder/qgmag_base`` with its imports renamed; its name."""
    target = folder / "qgmag_base"
    shutil.copytree(src / "qgmag", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bqgmag\b", "qgmag_base", text))
    sys.path.insert(0, str(folder))
    return "qgmag_base"


def _chunk_call(package: str, level: str):  # noqa: ANN202
    pkg = import_module(package)
    driver = import_module(f"{package}.integrate.driver")
    chunk = import_module(f"{package}.integrate.chunk")
    mesh_mod = import_module(f"{package}.kspace.mesh")
    model = pkg.read_wannier90(FE).with_level(level)
    mesh = mesh_mod.make_mesh(model, (16, 16, 16))
    mu = 17.6255 + np.array([-0.1, 0.0, 0.1])
    plan = driver.build_plan(
        model,
        driver._select_observables(QUANTITIES, model),
        mu,
        np.array([0.0]),
        mesh,
        smearing=None,
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=None,
    )
    start, stop = plan.chunk_bounds[1]
    return (lambda: chunk.integrate_chunk(model, plan, start, stop)), stop - start


def main(base_src: str, reps: int = 40) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = _base_package(Path(base_src), Path(tmp))
        cases = {
            (tree, level): _chunk_call(package, level)
            for tree, package in (("base", base), ("this", "qgmag"))
            for level in LEVELS
        }
        for call, _ in cases.values():  # untimed: numba, cached R-space stacks
            call()
        times: dict[tuple[str, str], list[float]] = {key: [] for key in cases}
        for _ in range(reps):
            for key, (call, n_points) in cases.items():
                c = time.process_time()
                call()
                times[key].append((time.process_time() - c) / n_points * 1e6)
    stats = {"fastest": np.min, "p25": lambda x: np.percentile(x, 25), "median": np.median}
    for (tree, level), ts in times.items():
        row = "  ".join(f"{name} {f(ts):6.1f}" for name, f in stats.items())
        print(f"{tree:5s} {level:14s} CPU µs/k: {row}")
    for tree in ("base", "this"):
        tb, full = times[(tree, "tight-binding")], times[(tree, "full")]
        ratios = "  ".join(f"{name} {f(full) / f(tb):.3f}" for name, f in stats.items())
        print(f"{tree:5s} full / tight-binding: {ratios}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
