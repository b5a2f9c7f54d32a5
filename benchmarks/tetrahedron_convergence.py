"""k-points needed for 1e-3 relative error of a Fermi-surface response at low T.

Model: cubic Rashba + exchange metal (2 bands, a = 3 Å; ε = -2t(cos kx + cos ky) -
2 t_z cos kz + λ(sin ky σx - sin kx σy) + J σz, t = 1, t_z = 0.5, λ = 0.3, J = 0.2 eV),
μ = -1 eV, T = 10 K, observable kinetic_spin_extrinsic (Edelstein, Eq. 6). Rules:
the point mesh (f0' sampled), the linear and the optimized tetrahedron rule
(``integration=``). Reference: the optimized rule on the densest mesh (``--ref``),
cross-checked against the linear rule there. Error: max|α - α_ref| / max|α_ref| over
components. CPU time of each ``qgmag.compute`` call (process time, one BLAS thread).

Run::

    python benchmarks/tetrahedron_convergence.py            # ~5 min on one core
    python benchmarks/tetrahedron_convergence.py --ref 96 --quick
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag


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
    t0 = time.process_time()
    ds = qgmag.compute(
        model,
        ["kinetic_spin_extrinsic"],
        mu,
        temp,
        (n, n, n),
        integration=rule,
        allow_coarse_mesh=rule == "mesh",  # the point mesh at 10 K is the coarse case shown
    )
    return ds["kinetic_spin_extrinsic"].values.ravel(), time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", type=int, default=128)
    parser.add_argument("--mu", type=float, default=-1.0)
    parser.add_argument("--temperature", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
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
        ref, t_ref = run(model, args.ref, "tetrahedron", args.mu, args.temperature)
        lin, _ = run(model, args.ref, "linear-tetrahedron", args.mu, args.temperature)
        scale = np.max(np.abs(ref))
        print(
            f"reference: optimized tetrahedron {args.ref}^3 ({t_ref:.1f} s CPU); "
            f"linear rule there differs by {np.max(np.abs(lin - ref)) / scale:.1e}"
        )
        print(f"{'rule':20s} {'n':>4s} {'k-points':>9s} {'rel. error':>11s} {'CPU s':>7s}")
        first = {}
        for rule, ns in meshes.items():
            for n in ns:
                val, cpu = run(model, n, rule, args.mu, args.temperature)
                err = np.max(np.abs(val - ref)) / scale
                print(f"{rule:20s} {n:4d} {n**3:9d} {err:11.2e} {cpu:7.2f}", flush=True)
                if err < 1e-3 and rule not in first:
                    first[rule] = (n**3, cpu)
        print("k-points (CPU s) for 1e-3:", {r: v for r, v in first.items()})
        if "tetrahedron" in first:
            for r, (nk, _cpu) in first.items():
                print(f"  {r}: {nk / first['tetrahedron'][0]:.1f}x the optimized rule's k-points")
        missing = [r for r in meshes if r not in first]
        if missing:
            print(f"  not reached on the meshes tried: {missing}")


if __name__ == "__main__":
    main()
