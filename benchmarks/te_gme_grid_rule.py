"""Te extrinsic kinetic term: WannierBerri's E_F-grid rule vs qgmag's exact f0' (numbers).

Reproduces the numbers of docs/real_materials.md ("Why the Te kinetic term differs ...")
with the helpers of ``tests/cross_code/test_wannierberri_te_kinetic.py``: on a Gamma-centred
nk^3 mesh of ``Te_tb.dat`` (300 K, tau = 10 fs, mu = 5.88 eV, E_F grid of ``levels`` points
over ±0.25 eV) it prints

* WB's smoothed GME_orb_FermiSurf (converted to alpha) against WB's rule applied to
  qgmag's per-state Tr_D[m v], Tr_D[Omega v] and energies (and the T = 0 staircase);
* WB's smoothed value against qgmag's exact f0' sum at mu, and the part of it that the
  ±8 kT truncation of WB's kernel accounts for.

Run (needs wannierberri + numba; about 10 s for 6^3, 2 min for 30^3)::

    PYTHONPATH=src python3 benchmarks/te_gme_grid_rule.py --nk 6 --levels 51 501 5001
    PYTHONPATH=src python3 benchmarks/te_gme_grid_rule.py --nk 30 --tol 1e-4 --levels 51
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

import numpy as np
from scipy import constants as sc

import qgmag
from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.geometry.second_order import berry_curvature_matrix

ROOT = Path(__file__).resolve().parents[1]


def helpers():
    path = ROOT / "tests" / "cross_code" / "test_wannierberri_te_kinetic.py"
    spec = importlib.util.spec_from_file_location("te_kinetic_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def states(model, nk: int, tol: float) -> dict:
    grid = np.arange(nk) / nk
    frac = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3)
    parts: dict[str, list] = {"energy": [], "mv": [], "ov": [], "sets": []}
    for lo in range(0, len(frac), 2000):
        bands = BandData(model, frac[lo : lo + 2000] @ model.reciprocal_lattice, degeneracy_tol=tol)
        parts["energy"].append(bands.energy)
        parts["mv"].append(q.orbital_moment_velocity_trace(bands))
        omega = berry_curvature_matrix(bands)
        parts["ov"].append(q.degenerate_trace_product(omega, bands.velocity_matrix, bands))
        parts["sets"].append(bands.degenerate)
    return {
        "energy": np.concatenate(parts["energy"]),
        "mv": np.concatenate(parts["mv"], axis=2),
        "ov": np.concatenate(parts["ov"], axis=2),
        "sets": np.concatenate(parts["sets"]),
        "n_k": len(frac),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nk", type=int, default=6)
    parser.add_argument("--tol", type=float, default=1e-9, help="both codes' degeneracy tol")
    parser.add_argument("--levels", type=int, nargs="+", default=[51, 501])
    args = parser.parse_args()
    h = helpers()
    h.NK = args.nk
    data = Path(os.environ.get("QGMAG_SHARED_DATA", ROOT.parent / "shared" / "data"))
    path = data / "Te" / "Te_tb.dat"
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    st = states(model, args.nk, args.tol)
    volume = abs(np.linalg.det(model.lattice)) * 1e-30
    per_state = sc.e**3 * h.TAU_FS * 1e-15 / sc.hbar**2 * 1e-30 / volume / st["n_k"]
    exact = h._exact(st, per_state, h.MU_TE)
    kt = sc.k * h.T_K / sc.e
    for n in args.levels:
        efermi = h.MU_TE + np.linspace(-0.25, 0.25, n)
        wb_smooth, wb_staircase = h._wb_gme(path, efermi, degen_thresh=args.tol)
        smooth, staircase = h._grid_rule(st, per_state, efermi)
        step = efermi[1] - efermi[0]
        reach = int(8 * kt / step)  # WB's kernel: 2 reach + 1 grid points, renormalized
        kernel = step * 0.25 / kt / np.cosh(np.arange(-reach, reach + 1) * step / (2 * kt)) ** 2
        inside = np.abs(st["energy"] - h.MU_TE) <= (reach + 1) * step
        f0p = -1.0 / (4 * kt * np.cosh((st["energy"] - h.MU_TE) / (2 * kt)) ** 2)
        weights = np.where(inside, f0p, 0.0) / kernel.sum()
        truncated = per_state * np.einsum("ijkn,kn->ij", st["mv"], weights)
        print(
            f"{args.nk}^3, tol {args.tol:g} eV, {n} levels (step {1e3 * step:.3g} meV): "
            f"WB vs its rule on qgmag's states {h._rel(smooth, wb_smooth):.1e} "
            f"(T = 0 staircase {h._rel(staircase, wb_staircase):.1e}); "
            f"WB vs qgmag exact at mu {h._rel(wb_smooth[n // 2], exact):.2e}; "
            f"truncation alone {h._rel(truncated, exact):.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
