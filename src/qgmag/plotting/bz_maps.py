"""Heat maps of a band quantity on a plane of the Brillouin zone, with the zone outline."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from qgmag.errors import QgmagError
from qgmag.kspace.path import high_symmetry_points
from qgmag.models.base import FloatArray, Model
from qgmag.models.continuum import Box, ContinuumModel, Disk
from qgmag.plotting.bands import _band_values, _check_quantity, degenerate_average
from qgmag.plotting.style import (
    _colour_scale,
    _colourbar_label,
    _extend,
    round_off_zero,
    save_figure,
    zero_label,
)

#: k-points per call of band_geometry in a BZ map (bounds the memory)
_MAP_CHUNK = 20000


def wigner_seitz_2d(basis: FloatArray) -> FloatArray:
    """Corners (counter-clockwise, closed) of the Wigner–Seitz cell of a 2D lattice (rows)."""
    b = np.asarray(basis, dtype=float)
    pts = np.array(
        [i * b[0] + j * b[1] for i in range(-2, 3) for j in range(-2, 3) if (i, j) != (0, 0)]
    )
    half = 0.5 * np.sum(pts**2, axis=1)
    corners = []
    for p, q in itertools.combinations(range(len(pts)), 2):
        mat = np.array([pts[p], pts[q]])
        if abs(np.linalg.det(mat)) < 1e-12 * np.max(half):
            continue
        k = np.linalg.solve(mat, [half[p], half[q]])
        if np.all(pts @ k <= half * (1 + 1e-9) + 1e-12):
            corners.append(k)
    c = np.array(corners)
    c = c[np.argsort(np.arctan2(c[:, 1], c[:, 0]))]
    keep = np.concatenate(
        [[True], np.linalg.norm(np.diff(c, axis=0), axis=1) > 1e-9 * np.max(np.abs(c))]
    )
    c = c[keep]
    if np.linalg.norm(c[0] - c[-1]) <= 1e-9 * np.max(np.abs(c)):
        c = c[:-1]
    return np.vstack([c, c[:1]])


MAP_PLANES = ("reduced", "cartesian")


def bz_section(recip: FloatArray, kz: float) -> FloatArray:
    """Closed polygon (m, 2) of the first Brillouin zone cut by the plane k_z = kz (1/Å):
    the points (x, y, kz) closer to Γ than to every G = n·b (|n_i| <= 2), by clipping a
    square with the bisector half-planes x G_x + y G_y <= |G|²/2 - kz G_z."""
    import itertools

    size = 2.0 * float(np.max(np.linalg.norm(recip, axis=1)))
    poly = [np.array(p) for p in ((-size, -size), (size, -size), (size, size), (-size, size))]
    for n_vec in itertools.product(range(-2, 3), repeat=3):
        if not any(n_vec):
            continue
        g = np.asarray(n_vec, float) @ recip
        a, b, c = g[0], g[1], 0.5 * float(g @ g) - kz * g[2]

        def inside(p: np.ndarray, a: float = a, b: float = b, c: float = c) -> bool:
            return a * p[0] + b * p[1] <= c + 1e-12

        clipped = []
        for i, p in enumerate(poly):
            q = poly[(i + 1) % len(poly)]
            if inside(p):
                clipped.append(p)
            if inside(p) != inside(q):
                t = (c - a * p[0] - b * p[1]) / (a * (q[0] - p[0]) + b * (q[1] - p[1]))
                clipped.append(p + t * (q - p))
        poly = clipped
        if not poly:
            raise QgmagError(f"the plane k_z = {kz:g} 1/Å does not cut the Brillouin zone.")
    return np.array([*poly, poly[0]])


def _map_plane(
    model: Model, kz: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, tuple[str, str], str]:
    """Plane of the map: origin (d,), in-plane unit vectors u, v (d,), in-plane 2D lattice
    (rows, for the zone outline; None for continuum), axis labels and a plane note."""
    dim = model.dim
    if isinstance(model, ContinuumModel):
        origin = np.zeros(dim)
        note = ""
        if dim == 3:
            origin[2] = kz
            note = f"$k_z$ = {kz:g} 1/Å"
        return origin, np.eye(dim)[0], np.eye(dim)[1], None, ("$k_x$ (1/Å)", "$k_y$ (1/Å)"), note
    recip = np.asarray(model.reciprocal_lattice, dtype=float)
    if dim == 2:
        return np.zeros(2), np.eye(2)[0], np.eye(2)[1], recip, ("$k_x$ (1/Å)", "$k_y$ (1/Å)"), ""
    # 3D: the plane of b1, b2 (normal to a3) through kz·b3, i.e. reduced k3 = kz
    normal = np.cross(recip[0], recip[1])
    normal /= np.linalg.norm(normal)
    u = np.eye(3)[0] - np.dot(np.eye(3)[0], normal) * normal
    if np.linalg.norm(u) < 1e-6:
        u = np.eye(3)[1] - np.dot(np.eye(3)[1], normal) * normal
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    lattice2d = np.array([[np.dot(b, u), np.dot(b, v)] for b in recip[:2]])
    if np.allclose(np.abs(normal), [0, 0, 1], atol=1e-9):
        labels = ("$k_x$ (1/Å)", "$k_y$ (1/Å)")
    else:
        labels = (
            f"k along ({u[0]:.2f}, {u[1]:.2f}, {u[2]:.2f}) (1/Å)",
            f"k along ({v[0]:.2f}, {v[1]:.2f}, {v[2]:.2f}) (1/Å)",
        )
    return kz * recip[2], u, v, lattice2d, labels, f"plane $k_3$ = {kz:g} (reduced)"


def bz_map_figure(
    model: Model,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float = 0.0,
    temperature: float = 0.0,
    kz: float = 0.0,
    n: int = 200,
    band: int | None = None,
    percentile: float = 99.5,
    symmetry: Any = None,
    mark: Any = None,
    plane: str = "reduced",
) -> Figure:
    """Heat map of a band quantity on a Brillouin-zone plane (see :func:`plot_bz_map`)."""
    import qgmag
    from qgmag.occupation import occupation_kernel

    _check_quantity(quantity)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise QgmagError(f"n (grid points per direction) must be an integer >= 2; got {n!r}.")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise QgmagError(f"temperature must be >= 0 K; got {temperature}.")
    if band is not None and not (0 <= int(band) < model.n_bands):
        raise QgmagError(
            f"band {band} does not exist: the model has {model.n_bands} bands "
            f"(0 to {model.n_bands - 1}); or leave band unset for the f0-weighted sum."
        )
    if plane not in MAP_PLANES:
        raise QgmagError(f"plane must be one of {MAP_PLANES}; got {plane!r}.")
    origin, u, v, lattice2d, axis_labels, plane_note = _map_plane(model, float(kz))
    if plane == "cartesian" and model.dim == 3 and not isinstance(model, ContinuumModel):
        recip = np.asarray(model.reciprocal_lattice, dtype=float)
        origin, u, v = np.array([0.0, 0.0, float(kz)]), np.eye(3)[0], np.eye(3)[1]
        axis_labels = ("$k_x$ (1/Å)", "$k_y$ (1/Å)")
        plane_note = f"Cartesian plane $k_z$ = {float(kz):g} 1/Å"
        outline = bz_section(recip, float(kz))
        lo_xy, hi_xy = outline.min(axis=0) * 1.06, outline.max(axis=0) * 1.06
    elif lattice2d is not None:
        outline = wigner_seitz_2d(lattice2d)
        lo_xy, hi_xy = outline.min(axis=0) * 1.06, outline.max(axis=0) * 1.06
    else:
        domain = model.domain  # type: ignore[attr-defined]
        outline = None
        if isinstance(domain, Disk):
            lo_xy, hi_xy = np.full(2, -domain.radius), np.full(2, domain.radius)
        elif isinstance(domain, Box):
            lo_xy, hi_xy = np.asarray(domain.lower[:2]), np.asarray(domain.upper[:2])
        else:  # pragma: no cover
            raise QgmagError(f"unsupported continuum domain {domain!r}.")
    span = hi_xy - lo_xy
    step = float(span.max()) / (n - 1)
    counts = np.maximum(2, np.round(span / step).astype(int) + 1)
    xs = np.linspace(lo_xy[0], hi_xy[0], counts[0])
    ys = np.linspace(lo_xy[1], hi_xy[1], counts[1])
    from qgmag.resources import check_memory

    n_grid = int(counts[0]) * int(counts[1])
    check_memory(
        n_grid * 8 * 12.0 + min(n_grid, _MAP_CHUNK) * 16 * model.n_bands**2 * 90,
        f"a {counts[0]} x {counts[1]} Brillouin-zone map",
        "use a smaller map n (a few hundred points per direction resolve any plot).",
    )
    gx, gy = np.meshgrid(xs, ys)
    k = origin + gx.ravel()[:, None] * u + gy.ravel()[:, None] * v
    names = list(dict.fromkeys(["energy", quantity]))
    result = np.empty(k.shape[0])
    symbol = units = ""
    for start in range(0, k.shape[0], _MAP_CHUNK):
        chunk = qgmag.band_geometry(model, k[start : start + _MAP_CHUNK], names)
        energy = np.asarray(chunk["energy"].values, dtype=float)
        values, symbol, units = _band_values(chunk, quantity, component)
        if band is not None:
            if quantity not in ("energy", "band_velocity"):
                tol = float(chunk.attrs.get("degeneracy_tol_eV", 1e-6))
                values = degenerate_average(energy, values, tol)
            result[start : start + _MAP_CHUNK] = values[:, int(band)]
        else:
            f0 = occupation_kernel(energy.ravel(), np.array([mu]), np.array([temperature]), "f0")
            weights = f0[:, 0, 0].reshape(energy.shape)
            result[start : start + _MAP_CHUNK] = np.sum(weights * values, axis=1)
    grid = result.reshape(gy.shape)
    if isinstance(model, ContinuumModel) and isinstance(model.domain, Disk):
        grid = np.where(np.hypot(gx, gy) <= model.domain.radius, grid, np.nan)
    cmap: Any
    zero = None if quantity == "energy" else round_off_zero(grid)
    if zero is not None:  # symmetry zero: the neutral colour, not noise at full scale
        grid = np.where(np.isfinite(grid), 0.0, grid)
        norm, cmap, clipped, vmax = Normalize(-1.0, 1.0), "RdBu_r", False, 0.0
    elif quantity == "energy" and band is not None:
        finite = grid[np.isfinite(grid)]
        norm, clipped, vmax, cmap = Normalize(finite.min(), finite.max()), False, 0.0, "viridis"
    else:
        norm, cmap, clipped, vmax = _colour_scale(grid, percentile, "RdBu_r")
    aspect = float((ys[-1] - ys[0]) / (xs[-1] - xs[0]))
    fig = Figure(figsize=(6.4, float(np.clip(4.6 * aspect + 1.1, 3.0, 8.0))), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(gx, gy, grid, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    if outline is not None:
        ax.plot(outline[:, 0], outline[:, 1], color="k", linewidth=1.0)
        if model.dim == 2:
            _mark_points(ax, np.asarray(model.reciprocal_lattice))
            if symmetry is not None and mark is not None:
                _mark_stars(ax, np.asarray(model.reciprocal_lattice), symmetry, mark)
    elif isinstance(model, ContinuumModel) and isinstance(model.domain, Disk):
        phi = np.linspace(0, 2 * np.pi, 200)
        r = model.domain.radius
        ax.plot(r * np.cos(phi), r * np.sin(phi), color="k", linewidth=1.0)
    ax.set_aspect("equal")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if band is not None:
        what = f"{symbol} of band {int(band)}"
        cbar_symbol = symbol
    else:
        what = rf"$\Sigma_n\, f_0(\varepsilon_n-\mu)$ {symbol}"
        cbar_symbol = rf"$\Sigma_n\, f_0$ {symbol}"
    name = str(model.summary().get("name", ""))
    details = [rf"$\mu$ = {mu:g} eV, T = {temperature:g} K"]
    if band is not None:
        details = []
    if plane_note:
        details.append(plane_note)
    title = (f"{name}: " if name else "") + what
    if details:
        title += "\n" + ", ".join(details)
    ax.set_title(title, fontsize="medium")
    cbar = fig.colorbar(mesh, ax=ax, extend=_extend(norm, clipped))
    if zero is not None:
        cbar.set_label(zero_label(cbar_symbol, units, zero))
    else:
        cbar.set_label(_colourbar_label(cbar_symbol, units, clipped, vmax))
    _fit_height(fig, ax)
    return fig


def _fit_height(fig: Figure, ax: Any) -> None:
    """Trim the figure height to an equal-aspect axes, so the colour bar matches it."""
    for _ in range(2):
        fig.draw_without_rendering()
        box = ax.get_position(original=True)
        drawn = ax.get_position(original=False)
        spare = (box.height - drawn.height) * fig.get_figheight()
        if spare < 0.05:
            return
        fig.set_figheight(max(fig.get_figheight() - spare, 2.5))


def _mark_points(ax: Any, recip: FloatArray) -> None:
    """Mark and label the high-symmetry points of a 2D lattice (Γ, K, M, K', ...)."""
    for label, k in high_symmetry_points(recip).items():
        ax.plot(*k, marker="o", color="k", markersize=3)
        ax.annotate(label, xy=k, xytext=(4, 4), textcoords="offset points", fontsize="medium")


def _mark_stars(ax: Any, recip: FloatArray, symmetry: Any, mark: Any) -> None:
    """Mark each point of ``mark`` (reduced coordinates) and its images under the group,
    one colour per star."""
    from qgmag.symmetry.kpoints import star

    points = np.atleast_2d(np.asarray(mark, dtype=float))
    if points.shape[1] != 2:
        raise QgmagError(f"mark must be reduced 2D k-points (k1, k2); got shape {points.shape}.")
    colours = ["tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink"]
    for i, reduced in enumerate(points):
        images = star(reduced @ recip, symmetry, recip)
        ax.plot(images[:, 0], images[:, 1], linestyle="none", marker="*", markersize=8,
                color=colours[i % len(colours)], markeredgecolor="k", markeredgewidth=0.4,
                gid=f"star:{i}")


def plot_bz_map(
    model: Model,
    quantity: str = "berry_curvature",
    component: str = "z",
    *,
    mu: float = 0.0,
    temperature: float = 0.0,
    kz: float = 0.0,
    n: int = 200,
    band: int | None = None,
    plane: str = "reduced",
    outfile: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "pdf"),
    symmetry: Any = None,
    mark: Any = None,
) -> list[Path]:
    """Heat map of a band quantity on a plane of the Brillouin zone; returns the files.

    Parameters
    ----------
    model : a qgmag model.
    quantity, component : as in :func:`plot_bands`.
    mu, temperature : eV and K of the occupations f0(ε_n - μ, T) (Fermi–Dirac; a step at
        T = 0) used when ``band`` is None.
    kz : 3D lattice models: the plane of b1, b2 at reduced coordinate k3 = kz (for a
        lattice with a3 ∥ z the plane k_z = kz·|b3|); 3D continuum models: k_z in 1/Å.
    plane : 3D lattice models: "reduced" (the b1, b2 plane at k3 = kz, labelled "plane k3 =
        kz (reduced)"; for bcc Fe not a Cartesian plane) or "cartesian" (the k_x, k_y plane
        at k_z = kz in 1/Å, labelled so, with the zone section outlined).
    n : grid points along the longer side of the plotted region (same spacing along both).
    band : a band index (from 0, ascending energy; values averaged over degenerate sets),
        or None for the occupation-weighted sum Σ_n f0(ε_n - μ, T) X_n (what integrates
        to the observables: for Ω^z, ∫[dk] of the map is the AHC / Chern number density).
    outfile, formats : file name without extension and the formats written.
    symmetry, mark : 2D lattice models: a :class:`qgmag.symmetry.MagneticGroup` (or
        "auto") and reduced k-points (k1, k2) whose stars (all symmetry-related points)
        are marked, one colour per star.

    The region shown covers the first Brillouin zone of a 2D lattice (outlined, with the
    standard high-symmetry points marked); for 3D models the outline is the Wigner–Seitz
    cell of b1, b2 in the plane (the zone section for orthogonal b3); continuum models
    show their integration domain. Axes are Cartesian k in 1/Å with equal aspect.
    """
    fig = bz_map_figure(
        model,
        quantity,
        component,
        mu=mu,
        temperature=temperature,
        kz=kz,
        n=n,
        plane=plane,
        band=band,
        symmetry=_resolve_group(model, symmetry),
        mark=mark,
    )
    return save_figure(fig, outfile, formats)


def _resolve_group(model: Model, symmetry: Any) -> Any:
    if isinstance(symmetry, str) and symmetry == "auto":
        from qgmag.symmetry.detect import model_group

        return model_group(model)[0]
    return symmetry
