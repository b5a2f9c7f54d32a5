"""Figure and numbers of docs/real_materials.md: the three Wannier levels on the Fe run.

    PYTHONPATH=src python3 docs/make_real_materials_figure.py     # about 30 s on 2 cores

Reads ../shared/data/Fe/wannier90/Fe.chk (with .eig, .mmn, .spn, .uHu), computes AHC,
M^O and M^S on a Γ-centred 20³ mesh at T = 0 for 41 Fermi levels at each level
(tight-binding, full-connection, full) and for the "postw90" finite-difference scheme,
writes docs/figures/fe_levels.png and docs/figures/fe_levels.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

import qgmag

ROOT = Path(__file__).resolve().parents[1]
FE = ROOT.parent / "shared" / "data" / "Fe" / "wannier90" / "Fe.chk"
E_F = 17.6255
NK = 20


def main() -> None:
    full = qgmag.read_wannier90(FE)
    models = {
        level: full.with_level(level) for level in ("tight-binding", "full-connection", "full")
    }
    models["full, postw90 scheme"] = qgmag.read_wannier90(FE, scheme="postw90")
    mu = E_F + np.linspace(-0.4, 0.4, 41)
    q = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
    res = {name: qgmag.compute(m, q, mu, 0.0, (NK, NK, NK)) for name, m in models.items()}
    fig = Figure(figsize=(10, 3.4), constrained_layout=True)
    axes = fig.subplots(1, 3)
    styles = {
        "tight-binding": "C0-",
        "full-connection": "C1--",
        "full": "C3-",
        "full, postw90 scheme": "k:",
    }
    for name, ds in res.items():
        x = mu - E_F
        axes[0].plot(
            x, ds.anomalous_hall_conductivity.sel(i="z").values[:, 0], styles[name], label=name
        )
        axes[1].plot(x, ds.orbital_magnetization_per_cell.sel(i="z").values[:, 0], styles[name])
        axes[2].plot(x, -ds.spin_magnetization_per_cell.sel(i="z").values[:, 0], styles[name])
    axes[0].set_ylabel("σ_xy (S/cm)")
    axes[1].set_ylabel("M^O_z (μB/cell)")
    axes[2].set_ylabel("<σ_z> per cell (= −M^S_z/μB)")
    for ax in axes:
        ax.set_xlabel("μ − E_F (eV)")
        ax.axvline(0.0, color="0.7", lw=0.8)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"bcc Fe (3×3×3 ab-initio mesh, 18 WFs), Γ-centred {NK}³, T = 0, unsymmetrized")
    fig.savefig(ROOT / "docs" / "figures" / "fe_levels.png", dpi=110)
    at = int(np.argmin(np.abs(mu - E_F)))
    numbers = {
        name: {
            "ahc_S_per_cm": ds.anomalous_hall_conductivity.values[at, 0].round(2).tolist(),
            "morb_muB": ds.orbital_magnetization_per_cell.values[at, 0].round(5).tolist(),
            "morb_local_muB": ds.orbital_magnetization_local_per_cell.values[at, 0]
            .round(5)
            .tolist(),
            "morb_itinerant_muB": ds.orbital_magnetization_itinerant_per_cell.values[at, 0]
            .round(5)
            .tolist(),
            "sigma_per_cell": (-ds.spin_magnetization_per_cell.values[at, 0]).round(5).tolist(),
        }
        for name, ds in res.items()
    }
    (ROOT / "docs" / "figures" / "fe_levels.json").write_text(json.dumps(numbers, indent=1))
    print(json.dumps(numbers, indent=1))


if __name__ == "__main__":
    main()
