"""Mesh needed for 1e-3 relative convergence of each observable, and the wall time.

Plain script, prints a table:

    python benchmarks/convergence_meshes.py [--tolerance 1e-3]

For every observable of SPEC §3 a representative built-in model and (μ, T) are integrated
on a sequence of meshes n = n0, √2·n0, 2·n0, ... (per direction; continuum disks scale
the radial count) up to a reference mesh twice the largest. The first mesh whose result
is within ``tolerance`` (relative to the largest component of the reference, so zero
components by symmetry do not blow up the ratio) of the reference is reported with its
wall time. Metals use T = 300 K (no smearing), so that the quantity converges to a
well-defined limit; gapped cases use T = 0.

Cases (parameters chosen so that each response is allowed by symmetry):

* Haldane (Chern, μ in the gap and in the conduction band): chern_number,
  anomalous_hall_conductivity, orbital_magnetization;
* Rashba 2DEG with exchange: spin_magnetization, kinetic_spin_extrinsic (continuum disk);
* anisotropic Haldane (one stronger bond, breaks T, P and C3; metal):
  kinetic_orbital_extrinsic; (insulator) kinetic_orbital_intrinsic;
* PT antiferromagnet with an in-plane Néel vector (metal): kinetic_spin_intrinsic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qgmag


def anisotropic_haldane() -> qgmag.TightBindingModel:
    """Haldane model with bonds (1, 1, 1.4) eV, t2 = 0.1 eV, φ = 0.9, mass 0.8 eV."""
    a1, a2 = np.array([1.0, 0.0]), np.array([0.5, np.sqrt(3) / 2])
    nn = ((0, 0), (-1, 0), (0, -1))
    hoppings = [(0, 1, r, t) for r, t in zip(nn, (1.0, 1.0, 1.4), strict=True)]
    for r in ((1, 0), (-1, 1), (0, -1)):
        hoppings += [(0, 0, r, 0.1 * np.exp(0.9j)), (1, 1, r, 0.1 * np.exp(-0.9j))]
    return qgmag.TightBindingModel(
        2.46 * np.array([a1, a2]), [[1 / 3, 1 / 3], [2 / 3, 2 / 3]], hoppings, onsite=[0.8, -0.8]
    )


def cases() -> list[tuple[str, str, object, float, float, list[int], bool]]:
    """(label, quantity, model, μ eV, T K, meshes n, continuum)."""
    haldane = qgmag.models.haldane(t2=0.1, mass=0.1)
    aniso = anisotropic_haldane()
    rashba = qgmag.models.rashba(alpha=0.5, effective_mass=1.0, exchange=0.05, k_max=1.0)
    afm = qgmag.models.pt_antiferromagnet(direction=(1.0, 0.0, 0.0))
    lattice = [24, 34, 48, 68, 96, 136, 192, 272, 384, 544, 768, 1086]
    radial = [50, 70, 100, 140, 200, 280, 400, 560, 800]
    return [
        ("Haldane, μ = 0.1 (gap)", "chern_number", haldane, 0.1, 0.0, lattice, False),
        (
            "Haldane, μ = 0.1 (gap)",
            "anomalous_hall_conductivity",
            haldane,
            0.1,
            0.0,
            lattice,
            False,
        ),
        ("Haldane, μ = 0.1 (gap)", "orbital_magnetization", haldane, 0.1, 0.0, lattice, False),
        ("Haldane, μ = 1.2 eV, T = 0", "orbital_magnetization", haldane, 1.2, 0.0, lattice, False),
        (
            "Haldane, μ = 1.2 eV, T = 0",
            "anomalous_hall_conductivity",
            haldane,
            1.2,
            0.0,
            lattice,
            False,
        ),
        (
            "Haldane, μ = 1.2 eV, 300 K",
            "orbital_magnetization",
            haldane,
            1.2,
            300.0,
            lattice,
            False,
        ),
        (
            "Haldane, μ = 1.2 eV, 300 K",
            "anomalous_hall_conductivity",
            haldane,
            1.2,
            300.0,
            lattice,
            False,
        ),
        ("Rashba+exchange, μ = 0.1, 300 K", "spin_magnetization", rashba, 0.1, 300.0, radial, True),
        (
            "Rashba+exchange, μ = 0.1, 300 K",
            "kinetic_spin_extrinsic",
            rashba,
            0.1,
            300.0,
            radial,
            True,
        ),
        (
            "aniso. Haldane, μ = 1.5, 300 K",
            "kinetic_orbital_extrinsic",
            aniso,
            1.5,
            300.0,
            lattice,
            False,
        ),
        (
            "aniso. Haldane, μ = 0 (gap)",
            "kinetic_orbital_intrinsic",
            aniso,
            0.0,
            0.0,
            lattice,
            False,
        ),
        ("PT AFM n∥x, μ = -1.0, 300 K", "kinetic_spin_intrinsic", afm, -1.0, 300.0, lattice, False),
    ]


def run(model, quantity: str, mu: float, temp: float, n: int, continuum: bool):
    kmesh = (n, 64) if continuum else (n, n)
    start, cpu = time.perf_counter(), time.process_time()
    res = qgmag.compute(model, quantity, mu=mu, temperature=temp, kmesh=kmesh)
    value = np.asarray(res[quantity].values, dtype=float).ravel()
    return value, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()
    print(
        f"{'case':32s} {'quantity':28s} {'mesh':>10s} {'rel.err':>9s} {'wall s':>7s} {'CPU s':>7s}"
    )
    for label, quantity, model, mu, temp, meshes, continuum in cases():
        reference, _, _ = run(model, quantity, mu, temp, 2 * meshes[-1], continuum)
        scale = np.abs(reference).max()
        found = None
        for n in meshes:
            value, seconds, cpu = run(model, quantity, mu, temp, n, continuum)
            error = np.abs(value - reference).max() / scale
            if error < args.tolerance:
                found = (n, error, seconds, cpu)
                break
        mesh = (
            "not reached"
            if found is None
            else (f"{found[0]}x64" if continuum else f"{found[0]}x{found[0]}")
        )
        err = "" if found is None else f"{found[1]:.1e}"
        secs = "" if found is None else f"{found[2]:.2f}"
        cpus = "" if found is None else f"{found[3]:.2f}"
        print(f"{label:32s} {quantity:28s} {mesh:>10s} {err:>9s} {secs:>7s} {cpus:>7s}", flush=True)


if __name__ == "__main__":
    main()
