"""Regenerate every figure in docs/figures/ and the numbers the docs quote.

    python3 docs/make_figures.py              # all figures (about 30 s of CPU time; about
                                              # 100 s on a shared, loaded 2-core machine)
    python3 docs/make_figures.py bands maps   # only some of them (names below)

Every figure comes from a built-in model through the public API (``qgmag.compute``,
``qgmag.band_geometry``, ``qgmag.plotting``, ``qgmag.kspace.path``); closed forms drawn
for comparison are written here from scipy.constants, independently of qgmag. The
numbers quoted in docs/observables/ are printed and written to docs/figures/numbers.json.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import constants as sc

import qgmag
from qgmag.kspace.path import make_path
from qgmag.plotting import (
    bands_figure,
    bz_map_figure,
    draw_observable,
    observable_figure,
    save_figure,
)

FIGURES = Path(__file__).resolve().parent / "figures"
DPI = 100
MU_B = sc.physical_constants["Bohr magneton"][0]
E2_OVER_H = sc.e**2 / sc.h

#: the README's worked example (Haldane Chern insulator)
HALDANE = {"t1": 1.0, "t2": 0.1, "phi": np.pi / 2, "mass": 0.1}
HALDANE_TITLE = r"Haldane model: $t_1$ = 1 eV, $t_2$ = 0.1 eV, $\phi$ = π/2, mass = 0.1 eV"
#: examples/pt_afm_kinetic.toml
PT_AFM = {"t": 1.0, "t2": 0.2, "lambda_r": 0.1, "exchange": 0.3, "direction": (1.0, 0.0, 1.0)}


def save(fig: Figure, name: str) -> Path:
    (path,) = save_figure(fig, FIGURES / name, ["png"], dpi=DPI)
    print(f"  wrote {path.relative_to(FIGURES.parent.parent)} ({path.stat().st_size // 1024} kB)")
    return path


def legend_with(ax: Any, extra: list[Line2D]) -> None:
    """Redraw the legend of ``ax`` with ``extra`` handles appended."""
    old = ax.get_legend()
    handles = list(old.legend_handles) if old is not None else []
    ax.legend(handles=handles + extra, fontsize="small", loc="best", framealpha=0.9)


def value(da: Any, **sel: Any) -> float:
    return float(da.sel(**sel).item())


def near(da: Any, mu: float, **sel: Any) -> float:
    """The value at the grid μ nearest to ``mu`` (components etc. selected exactly)."""
    return float(da.sel(**sel).sel(mu=mu, method="nearest").item())


def argmax_mu(da: Any) -> float:
    return float(da["mu"].values[int(np.argmax(da.values))])


# -- the Haldane run of the README -----------------------------------------------------------

_HALDANE_RUN: dict[str, Any] = {}


def haldane_run() -> Any:
    """The README's worked example, computed once and shared by three figures."""
    if "ds" not in _HALDANE_RUN:
        model = qgmag.models.haldane(**HALDANE)
        _HALDANE_RUN["model"] = model
        _HALDANE_RUN["ds"] = qgmag.compute(
            model,
            ["orbital_magnetization", "anomalous_hall_conductivity", "chern_number"],
            mu=np.linspace(-1.5, 1.5, 121),
            temperature=[0.0, 300.0],
            kmesh=(300, 300),
        )
    return _HALDANE_RUN["ds"]


def band_edges(model: Any, n: int = 300) -> tuple[float, float]:
    """Top of the valence and bottom of the conduction band of a 2-band lattice model."""
    s = (np.arange(n) + 0.5) / n
    reduced = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1).reshape(-1, 2)
    kpts = reduced @ np.asarray(model.reciprocal_lattice)
    energy = qgmag.band_geometry(model, kpts, ["energy"]).energy.values
    # the band extrema of the Haldane model are at K, K' (include them exactly)
    corners = np.array([[2 / 3, 1 / 3], [1 / 3, 2 / 3]]) @ np.asarray(model.reciprocal_lattice)
    e_corner = qgmag.band_geometry(model, corners, ["energy"]).energy.values
    top = max(energy[:, 0].max(), e_corner[:, 0].max())
    bottom = min(energy[:, 1].min(), e_corner[:, 1].min())
    return float(top), float(bottom)


def fig_orbital_magnetization() -> dict[str, Any]:
    ds = haldane_run()
    model = _HALDANE_RUN["model"]
    top, bottom = band_edges(model)
    chern = value(ds.chern_number, mu=0.0, temperature=0.0)
    fig = observable_figure(ds, "orbital_magnetization")
    ax = fig.axes[0]
    ax.set_title(HALDANE_TITLE + "\nmesh 300×300; x, y components zero (2D)", fontsize="medium")
    ax.axvspan(top, bottom, color="0.93", zorder=-1)
    ax.text(
        0.5 * (top + bottom),
        0.97,
        "gap",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="top",
        color="0.4",
        fontsize="small",
    )
    # Streda: dM/dμ = C e/h in the gap; per cell and per eV: C (e/h) e A_cell / μ_B
    area = model.cell_volume * 1e-20
    slope = chern * sc.e / sc.h * sc.e * area / MU_B
    m0 = value(ds.orbital_magnetization_per_cell, mu=0.0, temperature=0.0, i="z")
    mu_gap = np.linspace(top, bottom, 2)
    ax.plot(mu_gap, m0 + slope * mu_gap, color="k", linewidth=0.9, linestyle="-.", zorder=5)
    legend_with(
        ax,
        [Line2D([], [], color="k", linewidth=0.9, linestyle="-.", label=r"Streda: slope $C e/h$")],
    )
    save(fig, "orbital_magnetization")
    mz = ds.orbital_magnetization_per_cell.sel(i="z", temperature=0.0)
    mu = ds["mu"].values
    inside = (mu > top + 0.02) & (mu < bottom - 0.02)
    fitted = float(np.polyfit(mu[inside], mz.values[inside], 1)[0])
    si_slope = float(
        np.polyfit(
            mu[inside] * sc.e,
            ds.orbital_magnetization.sel(i="z", temperature=0.0).values[inside],
            1,
        )[0]
    )
    return {
        "haldane_gap_eV": [top, bottom],
        "haldane_chern_mu0": chern,
        "haldane_MO_per_cell_mu0": m0,
        "haldane_MO_local_per_cell_mu0": value(
            ds.orbital_magnetization_local_per_cell, mu=0.0, temperature=0.0, i="z"
        ),
        "haldane_MO_itinerant_per_cell_mu0": value(
            ds.orbital_magnetization_itinerant_per_cell, mu=0.0, temperature=0.0, i="z"
        ),
        "haldane_MO_per_cell_mu_-1.5_0K": value(
            ds.orbital_magnetization_per_cell, mu=-1.5, temperature=0.0, i="z"
        ),
        "haldane_streda_slope_fit_muB_per_cell_per_eV": fitted,
        "haldane_streda_slope_expected_muB_per_cell_per_eV": slope,
        "haldane_streda_slope_fit_over_e_over_h": si_slope / (sc.e / sc.h),
        "haldane_cell_area_A2": model.cell_volume,
    }


def fig_anomalous_hall() -> dict[str, Any]:
    ds = haldane_run()
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    draw_observable(left, ds, "anomalous_hall_conductivity", title=False)
    left.set_title("Haldane model (2D), README parameters", fontsize="medium")
    # 3D: the Weyl lattice; nodes at k_z = ±k0, k0 = arccos(m/tz)/a: σ_xy = (e²/h) 2k0/(2π)
    params = {"t": 1.0, "m": 0.5, "tz": 1.0, "a": 1.0}
    weyl = qgmag.models.weyl_lattice(**params)
    wds = qgmag.compute(
        weyl, "anomalous_hall_conductivity", mu=np.linspace(-1.5, 1.5, 61), kmesh=(60, 60, 60)
    )
    info = draw_observable(right, wds, "anomalous_hall_conductivity", title=False)
    k0 = np.arccos(params["m"] / params["tz"]) / (params["a"] * 1e-10)  # 1/m
    closed = E2_OVER_H * 2 * k0 / (2 * np.pi) / 100.0  # S/cm
    right.plot(
        [0.0],
        [closed / 10.0 ** info["scale"]],
        marker="*",
        color="k",
        markersize=11,
        linestyle="none",
        zorder=5,
    )
    legend_with(
        right,
        [
            Line2D(
                [],
                [],
                marker="*",
                color="k",
                linestyle="none",
                markersize=9,
                label=r"$(e^2/h)\,2k_0/2\pi$ at $\mu$ = 0",
            )
        ],
    )
    right.set_title("Weyl lattice (3D), nodes at $k_z$ = ±π/3a, mesh 60³", fontsize="medium")
    save(fig, "anomalous_hall_conductivity")
    return {
        "haldane_ahc_mu0_e2h": value(
            ds.anomalous_hall_conductivity, mu=0.0, temperature=0.0, i="z"
        ),
        "weyl_ahc_mu0_S_per_cm": value(
            wds.anomalous_hall_conductivity, mu=0.0, temperature=0.0, i="z"
        ),
        "weyl_ahc_closed_form_S_per_cm": float(closed),
    }


def fig_chern_number() -> dict[str, Any]:
    ds = haldane_run()
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    draw_observable(left, ds, "chern_number", title=False)
    left.set_title(r"README parameters: $C(\mu)$", fontsize="medium")
    edge = 3 * np.sqrt(3) * 0.1  # the gap closes at |mass| = 3√3 t2 |sin φ|
    masses = np.linspace(-0.9, 0.9, 37)
    # next to the transition the gap is too small for the mesh: leave those points out
    masses = masses[np.abs(np.abs(masses) - edge) > 0.06]
    out: dict[str, Any] = {}
    for phi, colour, label in (
        (np.pi / 2, "C0", r"$\phi$ = +π/2"),
        (-np.pi / 2, "C3", r"$\phi$ = −π/2"),
    ):
        style = (
            {"marker": "o", "markersize": 7, "markerfacecolor": "none"}
            if phi > 0
            else {"marker": "x", "markersize": 5}
        )
        chern = []
        for mass in masses:
            model = qgmag.models.haldane(t1=1.0, t2=0.1, phi=phi, mass=float(mass))
            res = qgmag.compute(model, "chern_number", mu=0.0, kmesh=(120, 120))
            chern.append(float(res.chern_number.item()))
        right.plot(masses, chern, linestyle="none", color=colour, label=label, **style)
        out[f"haldane_chern_vs_mass_phi_{'+' if phi > 0 else '-'}"] = dict(
            zip([f"{m:.2f}" for m in masses[::4]], chern[::4], strict=True)
        )
    for x in (-edge, edge):
        right.axvline(x, color="0.5", linestyle="--", linewidth=0.8)
    right.text(edge, 1.2, r" $3\sqrt{3}\,t_2$", color="0.4", fontsize="small")
    right.text(-edge, 1.2, r"$-3\sqrt{3}\,t_2$ ", color="0.4", fontsize="small", ha="right")
    right.set_xlabel("mass (eV)")
    right.set_ylabel(r"$C$ at $\mu$ = 0")
    right.set_ylim(-1.5, 1.5)
    right.set_yticks([-1, 0, 1])
    right.grid(alpha=0.25)
    right.legend(fontsize="small", loc="lower left")
    right.set_title(r"Phase diagram, $t_2$ = 0.1 eV, mesh 120×120", fontsize="medium")
    save(fig, "chern_number")
    return out


def fig_spin_magnetization() -> dict[str, Any]:
    params = {"lambda_so": 0.06, "lambda_r": 0.05, "exchange": 0.1}
    model = qgmag.models.kane_mele(**params)
    ds = qgmag.compute(
        model,
        "spin_magnetization",
        mu=np.linspace(-3.5, 3.5, 141),
        temperature=[0.0, 300.0],
        kmesh=(150, 150),
    )
    fig = observable_figure(ds, "spin_magnetization")
    fig.axes[0].set_title(
        r"Kane–Mele model, $\lambda_{so}$ = 0.06, $\lambda_R$ = 0.05, exchange = 0.1 eV"
        "\nmesh 150×150, $g_s$ = 2; x, y components zero",
        fontsize="medium",
    )
    save(fig, "spin_magnetization")
    ms = ds.spin_magnetization_per_cell.sel(i="z", temperature=0.0)
    return {
        "kane_mele_MS_per_cell_mu0": float(ms.sel(mu=0.0).item()),
        "kane_mele_MS_per_cell_max": float(ms.max().item()),
        "kane_mele_MS_per_cell_mu_max": argmax_mu(ms),
        "kane_mele_MS_per_cell_full_filling": float(ms.isel(mu=-1).item()),
        "kane_mele_MS_SI_units": ds.spin_magnetization.attrs["units"],
    }


def fig_kinetic_spin_extrinsic() -> dict[str, Any]:
    alpha, mass, tau = 0.5, 1.0, 10.0
    model = qgmag.models.rashba(alpha=alpha, effective_mass=mass, k_max=0.6)
    ds = qgmag.compute(
        model,
        "kinetic_spin_extrinsic",
        mu=np.linspace(-0.015, 0.5, 104),
        kmesh=(1200, 64),
        tau=tau,
        smearing=("gaussian", 0.01),
    )
    fig = observable_figure(ds, "kinetic_spin_extrinsic")
    ax = fig.axes[0]
    info = draw_observable(Figure().add_subplot(), ds, "kinetic_spin_extrinsic")
    # Edelstein's closed form (both bands occupied, μ > 0): g_s e τ μ_B α m* / (4π ħ³)
    edelstein = (
        2.0
        * sc.e
        * tau
        * 1e-15
        * MU_B
        * alpha
        * sc.eV
        * sc.angstrom
        * mass
        * sc.m_e
        / (4 * np.pi * sc.hbar**3)
    )
    scaled = edelstein / 10.0 ** info["scale"]
    for sign in (1, -1):
        ax.plot([0.0, 0.5], [sign * scaled] * 2, color="k", linestyle="--", linewidth=0.9, zorder=5)
    legend_with(
        ax,
        [Line2D([], [], color="k", linestyle="--", linewidth=0.9, label="Edelstein closed form")],
    )
    ax.set_title(
        r"Rashba 2DEG: $\alpha_R$ = 0.5 eV·Å, $m^*$ = $m_e$, τ = 10 fs"
        "\n"
        "T = 0, smearing 0.01 eV, mesh 1200×64 (|k| ≤ 0.6/Å); zero: " + ", ".join(info["omitted"]),
        fontsize="medium",
    )
    save(fig, "kinetic_spin_extrinsic")
    yx = ds.kinetic_spin_extrinsic.sel(i="y", j="x", temperature=0.0)
    return {
        "rashba_alpha_yx_mu_0.2_SI": near(yx, 0.2),
        "rashba_alpha_yx_closed_form_SI": float(edelstein),
        "rashba_alpha_units": ds.kinetic_spin_extrinsic.attrs["units"],
    }


def _pt_afm_run() -> Any:
    model = qgmag.models.pt_antiferromagnet(**PT_AFM)
    return qgmag.compute(
        model,
        ["kinetic_spin_intrinsic", "kinetic_orbital_intrinsic", "kinetic_spin_extrinsic"],
        mu=np.linspace(-2.0, 2.0, 101),
        temperature=0.0,
        kmesh=(150, 150),
        smearing=("gaussian", 0.05),
    )


_PT_RUN: dict[str, Any] = {}


def pt_run() -> Any:
    if "ds" not in _PT_RUN:
        _PT_RUN["ds"] = _pt_afm_run()
    return _PT_RUN["ds"]


PT_TITLE = (
    r"PT antiferromagnet: $t$ = 1, $t_2$ = 0.2, $\lambda_R$ = 0.1, $J$ = 0.3 eV, "
    r"$\hat n \propto$ (1, 0, 1)"
)


def _pt_figure(name: str) -> None:
    ds = pt_run()
    fig = observable_figure(ds, name)
    omitted = draw_observable(Figure().add_subplot(), ds, name)["omitted"]
    fig.axes[0].set_title(
        PT_TITLE + "\nT = 0 (gaussian smearing 0.05 eV), mesh 150×150; zero: " + ", ".join(omitted),
        fontsize="medium",
    )
    save(fig, name)


def fig_kinetic_spin_intrinsic() -> dict[str, Any]:
    _pt_figure("kinetic_spin_intrinsic")
    ds = pt_run()
    a = ds.kinetic_spin_intrinsic_per_cell.sel(temperature=0.0)
    ext = ds.kinetic_spin_extrinsic_per_cell
    return {
        "pt_afm_alphaS_in_xx_mu_-0.6_per_cell": near(a, -0.6, i="x", j="x"),
        "pt_afm_alphaS_in_zx_mu_-0.6_per_cell": near(a, -0.6, i="z", j="x"),
        "pt_afm_alphaS_ex_max_abs_per_cell": float(np.abs(ext).max().item()),
    }


def fig_kinetic_orbital_intrinsic() -> dict[str, Any]:
    _pt_figure("kinetic_orbital_intrinsic")
    ds = pt_run()
    zx = ds.kinetic_orbital_intrinsic_per_cell.sel(temperature=0.0, i="z", j="x")
    return {
        "pt_afm_alphaO_in_zx_max_per_cell": float(zx.max().item()),
        "pt_afm_alphaO_in_zx_mu_at_max": argmax_mu(zx),
        "pt_afm_alphaO_in_units_SI": ds.kinetic_orbital_intrinsic.attrs["units"],
    }


def fig_kinetic_orbital_extrinsic() -> dict[str, Any]:
    params = {"v": 3.5, "m": 0.1, "tilt": 0.5, "k_max": 0.5}
    common = {
        "mu": np.linspace(-0.5, 0.5, 101),
        "kmesh": (800, 64),
        "tau": 10.0,
        "smearing": ("gaussian", 0.01),
    }
    model = qgmag.models.massive_dirac(**params, valley=1)
    ds = qgmag.compute(model, "kinetic_orbital_extrinsic", **common)
    partner = qgmag.models.massive_dirac(**{**params, "tilt": -params["tilt"]}, valley=-1)
    ds_partner = qgmag.compute(partner, "kinetic_orbital_extrinsic", **common)
    fig = observable_figure(ds, "kinetic_orbital_extrinsic")
    fig.axes[0].set_title(
        "Tilted massive Dirac valley: v = 3.5 eV·Å, m = 0.1 eV, tilt = 0.5 eV·Å, τ = 10 fs\n"
        "T = 0, gaussian smearing 0.01 eV, mesh 800×64 (disk |k| ≤ 0.5/Å)",
        fontsize="medium",
    )
    save(fig, "kinetic_orbital_extrinsic")
    zx = ds.kinetic_orbital_extrinsic.sel(i="z", j="x", temperature=0.0)
    zx_partner = ds_partner.kinetic_orbital_extrinsic.sel(i="z", j="x", temperature=0.0)
    return {
        "dirac_alphaO_ex_zx_mu_0.3_SI": near(zx, 0.3),
        "dirac_alphaO_ex_zx_mu_-0.3_SI": near(zx, -0.3),
        "dirac_alphaO_ex_zx_in_gap_mu_0_SI": near(zx, 0.0),
        "dirac_partner_valley_max_rel_diff": float(
            np.abs(zx_partner - zx).max().item() / np.abs(zx).max().item()
        ),
        "dirac_alphaO_ex_units": ds.kinetic_orbital_extrinsic.attrs["units"],
    }


def fig_bands() -> dict[str, Any]:
    haldane = qgmag.models.haldane(**HALDANE)
    fig = bands_figure(haldane, make_path(haldane), "berry_curvature", "z", mu=0.0)
    fig.axes[0].set_title(HALDANE_TITLE, fontsize="medium")
    save(fig, "bands_haldane_berry_curvature")
    km = qgmag.models.kane_mele(lambda_so=0.06, lambda_r=0.05, exchange=0.1)
    fig = bands_figure(km, make_path(km), "spin", "z", mu=0.0)
    fig.axes[0].set_title(
        r"Kane–Mele, $\lambda_{so}$ = 0.06, $\lambda_R$ = 0.05, exchange = 0.1 eV: "
        r"$\langle S_z\rangle/\hbar$",
        fontsize="medium",
    )
    save(fig, "bands_kane_mele_spin")
    weyl = qgmag.models.weyl_lattice()
    path = make_path(
        weyl, [("Z'", [0, 0, -0.5]), "Γ", ("Z", [0, 0, 0.5]), "R", "M", "Γ"], n_points=400
    )
    fig = bands_figure(weyl, path, "berry_curvature", "z", mu=0.0)
    fig.axes[0].set_title(
        r"Weyl lattice: nodes on Z'–Γ–Z at $k_z$ = ±π/3a, coloured by "
        r"$\Omega^z$",
        fontsize="medium",
    )
    save(fig, "bands_weyl_berry_curvature")
    return {}


def fig_maps() -> dict[str, Any]:
    haldane = qgmag.models.haldane(**HALDANE)
    fig = bz_map_figure(haldane, "berry_curvature", "z", mu=0.0, n=160)
    save(fig, "bz_map_haldane_berry_curvature")
    rashba = qgmag.models.rashba(alpha=0.5, k_max=0.6)
    fig = bz_map_figure(rashba, "spin", "y", band=0, n=160)
    save(fig, "bz_map_rashba_spin")
    return {}


FIGURE_FUNCTIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "orbital_magnetization": fig_orbital_magnetization,
    "anomalous_hall_conductivity": fig_anomalous_hall,
    "chern_number": fig_chern_number,
    "spin_magnetization": fig_spin_magnetization,
    "kinetic_spin_extrinsic": fig_kinetic_spin_extrinsic,
    "kinetic_spin_intrinsic": fig_kinetic_spin_intrinsic,
    "kinetic_orbital_intrinsic": fig_kinetic_orbital_intrinsic,
    "kinetic_orbital_extrinsic": fig_kinetic_orbital_extrinsic,
    "bands": fig_bands,
    "maps": fig_maps,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"figures to make (default: all): {', '.join(FIGURE_FUNCTIONS)}"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURE_FUNCTIONS))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {list(FIGURE_FUNCTIONS)}")
    names = args.names or list(FIGURE_FUNCTIONS)
    FIGURES.mkdir(exist_ok=True)
    numbers_file = FIGURES / "numbers.json"
    numbers = json.loads(numbers_file.read_text()) if numbers_file.is_file() else {}
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"{name}:")
        with warnings.catch_warnings():
            warnings.simplefilter("error", qgmag.QgmagWarning)
            numbers.update(FIGURE_FUNCTIONS[name]())
        print(f"  {time.perf_counter() - t0:.1f} s")
    numbers_file.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    for key in sorted(numbers):
        print(f"  {key} = {numbers[key]}")
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
