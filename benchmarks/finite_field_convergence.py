"""Convergence and timing of the finite-field cross-check (qgmag.validation.finite_field).

Prints, for the anisotropic Haldane model (C = 0; T, P and C3 broken), the relative
deviation of the finite-field values from ``qgmag.compute`` as the supercell size q (flux
step 1/q per cell), the number of flux pairs p_max and the torus grow, with wall times:

- orbital magnetization M_z = -dΩ/dB: μ in the gap at T = 0, μ in the bands at 300 K
  and 1000 K;
- magnetoelectric α_zy = dP_y/dB_z from Berry phases (μ in the gap).

Run: ``python3 benchmarks/finite_field_convergence.py [--quick]`` (about 3 min, 1 core;
``--quick`` skips q = 360).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import qgmag
from qgmag.validation import finite_field as ff


def anisotropic_haldane() -> qgmag.TightBindingModel:
    lattice = 2.46 * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    nn = ((0, 0), (-1, 0), (0, -1))
    hoppings = [(0, 1, r, t) for r, t in zip(nn, (1.0, 1.0, 1.4), strict=True)]
    for r in ((1, 0), (-1, 1), (0, -1)):
        hoppings += [(0, 0, r, 0.1 * np.exp(0.9j)), (1, 1, r, 0.1 * np.exp(-0.9j))]
    return qgmag.TightBindingModel(
        lattice, [[1 / 3, 1 / 3], [2 / 3, 2 / 3]], hoppings, onsite=[0.8, -0.8]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the q = 360 runs")
    args = parser.parse_args()
    model = anisotropic_haldane()
    qs = (60, 120, 240) if args.quick else (60, 120, 240, 360)

    mus, temps = [-1.5, -0.7, -0.2, 0.4, 1.5], [0.0, 300.0, 1000.0]
    ref = qgmag.compute(
        model, "orbital_magnetization", mu=mus, temperature=temps, kmesh=(300, 300)
    ).orbital_magnetization.sel(i="z")
    print("orbital magnetization: |M_ff/M_geo - 1|  (gap mu=-0.2 at T=0; bands at 300/1000 K)")
    print(
        f"{'q':>4} {'p_max':>5} {'kmesh':>10} {'gap T=0':>9} {'bands 300K':>10} "
        f"{'bands 1000K':>11} {'wall s':>7} {'CPU s':>7}"
    )
    for q in qs:
        for p_max in (2, 3, 4):
            start, cpu0 = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", qgmag.QgmagWarning)
                res = ff.orbital_magnetization(model, mus, temps, q=q, p_max=p_max, kmesh=(q, 2))
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            dev = np.abs(res.value / ref.values - 1)
            bands = [0, 1, 3, 4]
            print(
                f"{q:>4} {p_max:>5} {str((q, 2)):>10} {dev[2, 0]:9.1e} "
                f"{dev[bands, 1].max():10.1e} {dev[bands, 2].max():11.1e} {wall:7.2f} {cpu:7.2f}"
            )

    alpha = (
        qgmag.compute(
            model, "kinetic_orbital_intrinsic", mu=-0.2, temperature=0.0, kmesh=(300, 300)
        )
        .kinetic_orbital_intrinsic.sel(i="z", j="y")
        .item()
    )
    print(f"\nmagnetoelectric: alpha_zy(compute) = {alpha:.6e} A m/V")
    print(
        f"{'q':>4} {'p_max':>5} {'kmesh':>10} {'alpha_zy/ref - 1':>17} {'error est':>10} "
        f"{'wall s':>7} {'CPU s':>7}"
    )
    for q in qs:
        for p_max, kmesh in ((3, (q, 2)), (3, (2 * q, 2)), (4, (2 * q, 2))):
            start, cpu0 = time.perf_counter(), time.process_time()
            res = ff.magnetoelectric(model, -0.2, q=q, p_max=p_max, kmesh=kmesh)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            print(
                f"{q:>4} {p_max:>5} {str(kmesh):>10} {res.value[1] / alpha - 1:17.2e} "
                f"{res.error[1] / abs(alpha):10.1e} {wall:7.2f} {cpu:7.2f}"
            )


if __name__ == "__main__":
    main()
