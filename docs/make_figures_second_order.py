"""Figures and quoted numbers of docs/observables/kinetic_{spin,orbital}_second_order.md.

    PYTHONPATH=src python3 docs/make_figures_second_order.py

The centrosymmetric ferromagnetic insulator of qgmag.validation.second_order_field
(defaults), 300 × 300 mesh, T = 600 K, τ = 10 fs: every part
of χ vs μ, per cell in μ_B/(V/nm)² (the orbital τ⁰ sea included). Also prints the Fe
numbers and cost per k-point (CPU time; pass --no-fe to skip them).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

import qgmag
from qgmag.validation.second_order_field import centrosymmetric_magnet

FIGURES = Path(__file__).resolve().parent / "figures"
PARTS = {
    "tau2": "τ² Drude",
    "tau1": "τ¹ dipole",
    "tau0_sea": "τ⁰ Fermi sea",
    "tau0_surface": "τ⁰ Fermi surface",
}


def _mesh(model: object, n: int) -> np.ndarray:
    frac = (np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2) + 0.5) / n
    return frac @ np.asarray(model.reciprocal_lattice)  # type: ignore[attr-defined]


def main() -> None:
    model = centrosymmetric_magnet()
    mu = np.linspace(-1.4, 2.2, 145)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qgmag.QgmagWarning)
        ds = qgmag.compute(
            model,
            ["kinetic_spin_second_order", "kinetic_orbital_second_order"],
            mu=mu,
            temperature=600.0,
            kmesh=(300, 300),
            tau=10.0,
        )
    energy = qgmag.band_geometry(model, _mesh(model, 200), ["energy"])["energy"].values
    top, bottom = energy[:, 1].max(), energy[:, 2].min()
    print(f"  gap of the magnet: {top:.4f} .. {bottom:.4f} eV")
    for name, comp in (("kinetic_spin_second_order", "x"), ("kinetic_orbital_second_order", "z")):
        fig = Figure(figsize=(9, 3.6))
        axes = fig.subplots(1, 2)
        sel = dict(temperature=600.0, i=comp, j="x", k="x")
        for ax, parts in ((axes[0], ("tau1", "tau0_sea", "tau0_surface")), (axes[1], ("tau2",))):
            for part in parts:
                var = f"{name}_{part}_per_cell"
                if var in ds:
                    ax.plot(mu, ds[var].sel(**sel), label=PARTS[part])
            if parts == ("tau2",):
                ax.plot(mu, ds[f"{name}_per_cell"].sel(**sel), "k--", lw=0.8, label="total")
            ax.axvspan(top, bottom, color="0.9", zorder=0)
            ax.set_xlabel("μ (eV)")
            ax.set_ylabel(f"χ_{comp}xx (μ_B per cell per (V/nm)²)")
            ax.legend(fontsize=8)
        fig.suptitle(f"{name}, centrosymmetric magnet, T = 600 K, τ = 10 fs (grey: gap)")
        fig.tight_layout()
        path = FIGURES / f"{name}.png"
        fig.savefig(path, dpi=100)
        print("wrote", path)
        gap = ds[f"{name}_per_cell"].sel(mu=0.1, method="nearest").sel(**sel).item()
        print(f"  {name} {comp}xx at μ = 0.1 eV (gap): {gap:.6g} μ_B/cell/(V/nm)²")
        for part in PARTS:
            var = f"{name}_{part}_per_cell"
            if var in ds:
                val = ds[var].sel(mu=1.3, method="nearest").sel(**sel).item()
                print(f"    {part} at μ = 1.3 eV: {val:.4g}")
    fe = Path(__file__).resolve().parents[2] / "shared/data/Fe/Fe_tb.dat"
    if fe.is_file() and "--no-fe" not in sys.argv:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", qgmag.QgmagWarning)
            m = qgmag.read_wannier90(fe, spinor_ordering="spin-fastest")
            for quantities in (
                ["kinetic_spin_second_order"],
                ["kinetic_orbital_second_order"],
                ["anomalous_hall_conductivity"],
            ):
                t = time.process_time()
                r = qgmag.compute(
                    m,
                    quantities,
                    mu=17.6255,
                    temperature=1000.0,
                    kmesh=(12, 12, 12),
                    tau=10.0,
                    degeneracy_tol=1e-3,  # the orbital τ⁰ sea refuses pairs split by 1e-4
                    allow_coarse_mesh=True,
                )
                dt = time.process_time() - t
                print(f"  Fe {quantities[0]}: {dt / 12**3 * 1e3:.2f} ms CPU per k (12³, 18 bands)")
                if quantities[0] != "anomalous_hall_conductivity":
                    v = r[quantities[0] + "_per_cell"].isel(mu=0, temperature=0)
                    for part in ("", "_tau2", "_tau1", "_tau0", "_tau0_sea", "_tau0_surface"):
                        vv = r[quantities[0] + part + "_per_cell"].isel(mu=0, temperature=0)
                        print(
                            f"    {part or 'total'}: "
                            f"zzz = {vv.sel(i='z', j='z', k='z').item():.4g}, "
                            f"zxx = {vv.sel(i='z', j='x', k='x').item():.4g}, "
                            f"xxz = {vv.sel(i='x', j='x', k='z').item():.4g}, "
                            f"xyz = {vv.sel(i='x', j='y', k='z').item():.4g}"
                        )
                    del v


if __name__ == "__main__":
    main()
