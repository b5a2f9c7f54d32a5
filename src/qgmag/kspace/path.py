"""k-point paths through the Brillouin zone, for band-structure plots.

:func:`make_path` turns a list of labelled vertices into a :class:`KPath`: Cartesian
k-points (1/Å, what :func:`qgmag.band_geometry` takes) spread over the segments in
proportion to their lengths, the cumulative distance along the path and the tick
positions of the vertices.

Vertices are given in reduced coordinates of the model's reciprocal lattice vectors
(k = Σ_a c_a b_a, as in ``[bands] path``) for lattice models and in Cartesian 1/Å for
continuum models, or by the name of a high-symmetry point of the lattice
(:func:`high_symmetry_points`). Without vertices a standard path is chosen from the
lattice:

* 2D hexagonal: Γ–K–M–K'–Γ (both valleys: K and K' differ when time reversal and
  inversion are broken, as in the Haldane model with a mass); square: Γ–X–M–Γ;
  rectangular: Γ–X–S–Y–Γ (X = (π/a, 0) along the model's first lattice vector);
* 3D simple cubic: Γ–X–M–Γ–R–X; bcc: Γ–H–N–Γ–P–H; fcc: Γ–X–W–K–Γ–L–U–W–L–K
  (recognized from the lattice metric, whatever primitive cell is used);
* any other lattice: Γ and the centres of the faces of the reciprocal cell, labelled by
  their reduced coordinates, e.g. ``(1/2,0)``;
* continuum models: along k_x through k = 0 across the integration domain (k_y = 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from qgmag.errors import ConfigError, QgmagError
from qgmag.kspace.standard_paths import (
    GAMMA,
    _classify_2d,
    _classify_cubic,
    _lattice_kind,
    _named_points,
    _standard_2d,
    _standard_3d,
)
from qgmag.models.base import FloatArray, Model
from qgmag.models.continuum import Box, ContinuumModel, Disk

_GAMMA_SPELLINGS = {"g", "gamma", "\\gamma", "$\\gamma$", "γ", "gm", "gam"}
#: relative tolerance of the lattice classification (lengths and angles)

Vertex = tuple[str, Sequence[float | str]] | str


@dataclass(frozen=True, eq=False)
class KPath:
    """A path of k-points through the Brillouin zone.

    kpoints : (N, d) Cartesian k-points in 1/Å (the input of ``qgmag.band_geometry``).
    distance : (N,) cumulative Cartesian distance along the path in 1/Å, from 0.
    ticks : distance of each vertex (1/Å), increasing; ``ticks[0] = 0``.
    labels : the vertex labels ("Γ", "K", ...), one per tick.
    vertex_index : index into ``kpoints`` of each vertex.
    reduced : (N, d) reduced coordinates of the reciprocal lattice vectors (lattice
        models), None for continuum models.
    xlabel : label of the horizontal axis of a band plot ("" when the vertex labels
        say it all).
    offset : value of the horizontal axis at distance 0 (continuum paths are drawn
        against k_x itself: offset = the k_x of the first point).
    """

    kpoints: FloatArray
    distance: FloatArray
    ticks: FloatArray
    labels: tuple[str, ...]
    vertex_index: tuple[int, ...]
    reduced: FloatArray | None = None
    xlabel: str = ""
    offset: float = 0.0

    @property
    def n_points(self) -> int:
        return int(self.kpoints.shape[0])

    @property
    def axis(self) -> FloatArray:
        """Horizontal coordinate of every k-point in a band plot (distance + offset)."""
        return self.distance + self.offset


# -- public entry point ---------------------------------------------------------------------


def make_path(model: Model, points: Sequence[Vertex] | None = None, n_points: int = 300) -> KPath:
    """A k-path through ``points`` (or the standard path of the model's lattice).

    Parameters
    ----------
    model : a qgmag model (lattice or continuum).
    points : sequence of vertices, each ``(label, coords)`` or a bare label. coords are
        reduced coordinates of the reciprocal lattice vectors (lattice models; numbers or
        fraction strings such as "1/3") or Cartesian 1/Å (continuum models). A bare label
        names a high-symmetry point of the lattice (:func:`high_symmetry_points`, e.g.
        ``["Γ", "K", "M", "K'", "Γ"]``). "G", "Gamma" are written Γ. None: a standard
        path (see the module docstring).
    n_points : total number of k-points, vertices included; each segment gets a share
        proportional to its length (at least one step).

    Raises :class:`~qgmag.errors.ConfigError` for fewer than two points, coordinates of
    the wrong dimension, an unknown point name, coinciding consecutive points or
    ``n_points`` < 2.
    """
    n_total = _check_n_points(n_points)
    dim = int(model.dim)
    if dim not in (2, 3):
        raise QgmagError(f"k-paths need a 2D or 3D model; this model is {dim}D.")
    recip = getattr(model, "reciprocal_lattice", None)
    if isinstance(model, ContinuumModel) or recip is None:
        if not isinstance(model, ContinuumModel):
            raise QgmagError(
                "the model has neither a reciprocal lattice nor a continuum domain; "
                "cannot build a k-path."
            )
        if points is None:
            return _continuum_default(model, n_total)
        named = {GAMMA: np.zeros(dim)}
        labels, cart = _parse_points(
            points, dim, "Cartesian k in 1/Å (continuum model)", named, "continuum model"
        )
        return _build(labels, cart, None, n_total)
    recip = np.asarray(recip, dtype=float)
    if points is None:
        labels, cart = standard_vertices(recip)
    else:
        kind = _lattice_kind(recip)
        lattice = f"{kind} lattice" if kind != "other" else "lattice that is not sc, bcc or fcc"
        named = {label: k @ np.linalg.inv(recip) for label, k in _named_points(recip).items()}
        labels, reduced = _parse_points(
            points, dim, "reduced coordinates of b1, b2(, b3)", named, lattice
        )
        cart = reduced @ recip
    return _build(labels, cart, recip, n_total)


def standard_vertices(reciprocal_lattice: FloatArray) -> tuple[list[str], FloatArray]:
    """Labels and Cartesian coordinates (1/Å) of the standard path of a lattice.

    ``reciprocal_lattice`` holds the reciprocal vectors b_a (1/Å) as rows.
    """
    recip = np.asarray(reciprocal_lattice, dtype=float)
    if recip.shape == (2, 2):
        return _standard_2d(recip)
    if recip.shape == (3, 3):
        return _standard_3d(recip)
    raise QgmagError(f"reciprocal lattice must be 2x2 or 3x3; got shape {recip.shape}.")


def high_symmetry_points(model_or_reciprocal: Model | FloatArray) -> dict[str, FloatArray]:
    """Named high-symmetry points (Cartesian 1/Å) of a model's lattice.

    Accepts a model or its reciprocal lattice (rows b_a in 1/Å). 2D hexagonal: Γ, K, K',
    M; square: Γ, X, Y, M; rectangular: Γ, X, Y, S; cubic: Γ, X, M, R; bcc: Γ, H, N, P;
    fcc: Γ, X, W, K, L, U (textbook points of the conventional cubic axes); any other
    lattice and continuum models: Γ only. These are the names :func:`make_path` accepts
    as bare labels.
    """
    if isinstance(model_or_reciprocal, Model):
        recip = getattr(model_or_reciprocal, "reciprocal_lattice", None)
        if recip is None or isinstance(model_or_reciprocal, ContinuumModel):
            return {GAMMA: np.zeros(int(model_or_reciprocal.dim))}
    else:
        recip = model_or_reciprocal
    recip = np.asarray(recip, dtype=float)
    if recip.shape not in ((2, 2), (3, 3)):
        raise QgmagError(f"reciprocal lattice must be 2x2 or 3x3; got shape {recip.shape}.")
    return _named_points(recip)


def lattice_type(lattice: FloatArray) -> str:
    """Bravais type used for the default path: "hexagonal", "square", "rectangular",
    "oblique" (2D) or "cubic", "bcc", "fcc", "other" (3D) of direct lattice rows (Å)."""
    lat = np.asarray(lattice, dtype=float)
    recip = 2.0 * np.pi * np.linalg.inv(lat).T
    if lat.shape == (2, 2):
        return _classify_2d(recip)[0]
    return _classify_cubic(lat)[0]


# -- validation -----------------------------------------------------------------------------


def _check_n_points(n_points: object) -> int:
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer):
        raise ConfigError(f"n_points must be an integer >= 2; got {n_points!r}.")
    if n_points < 2:
        raise ConfigError(f"n_points must be at least 2 (k-points along the path); got {n_points}.")
    return int(n_points)


def _label(text: object) -> str:
    label = str(text).strip()
    return GAMMA if label.lower() in _GAMMA_SPELLINGS else label


def _coordinate(value: object) -> float:
    """A number or a fraction string such as "1/3"."""
    if isinstance(value, str):
        return float(Fraction(value.strip()))
    if isinstance(value, bool):
        raise TypeError("a coordinate must be a number")
    return float(value)  # type: ignore[arg-type]


def _parse_points(
    points: Sequence[Vertex],
    dim: int,
    meaning: str,
    named: dict[str, FloatArray],
    lattice: str,
) -> tuple[list[str], FloatArray]:
    """Labels and coordinates (in the units of ``meaning``) of the path vertices."""
    if isinstance(points, str | bytes):
        raise ConfigError(
            f"path points must be a list of points, not the string {points!r}: e.g. "
            "['Γ', 'K', 'M'] or [('Γ', [0, 0]), ('X', [0.5, 0])]."
        )
    try:
        items = list(points)
    except TypeError:
        raise ConfigError(
            f"path points must be a list of (label, coords) pairs or point names; got {points!r}."
        ) from None
    if len(items) < 2:
        raise ConfigError(
            f"a k-path needs at least two points (label, [k1, k2(, k3)]); got {len(items)}: "
            "add the end point, e.g. [['Γ', [0, 0]], ['X', [0.5, 0]]]."
        )
    labels, coords = [], []
    for i, item in enumerate(items):
        if isinstance(item, str):
            label = _label(item)
            if label not in named:
                raise ConfigError(
                    f"unknown high-symmetry point {item!r} (path point {i}) for a {lattice}; "
                    f"known points: {', '.join(named)}. Give other points as (label, "
                    f"[k1, k2(, k3)]) ({meaning})."
                )
            labels.append(label)
            coords.append(np.asarray(named[label], dtype=float))
            continue
        try:
            label, k = item
            vec = np.array([_coordinate(x) for x in k], dtype=float)
        except (TypeError, ValueError, ZeroDivisionError):
            raise ConfigError(
                f"path point {i} must be (label, [k1, k2(, k3)]) with numbers ({meaning}) or "
                f"the name of a high-symmetry point ({', '.join(named)}); got {item!r}."
            ) from None
        if vec.shape != (dim,):
            raise ConfigError(
                f"path point {i} ({label!r}) has {vec.size} coordinates but the model is "
                f"{dim}D: give {dim} numbers ({meaning})."
            )
        if not np.all(np.isfinite(vec)):
            raise ConfigError(f"path point {i} ({label!r}) has NaN or infinite coordinates.")
        labels.append(_label(label))
        coords.append(vec)
    return labels, np.array(coords)


# -- building the path ----------------------------------------------------------------------


def _split(lengths: FloatArray, n_steps: int) -> list[int]:
    """Steps per segment ∝ length, at least 1 each, summing to n_steps (largest remainder)."""
    n_seg = len(lengths)
    share = lengths / lengths.sum() * (n_steps - n_seg)
    steps = np.floor(share).astype(int) + 1
    rest = n_steps - int(steps.sum())
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    steps[order[:rest]] += 1
    return steps.tolist()


def _build(
    labels: list[str],
    cart: FloatArray,
    recip: FloatArray | None,
    n_points: int,
    *,
    xlabel: str = "",
    offset: float = 0.0,
) -> KPath:
    seg = np.diff(cart, axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    scale = max(float(np.max(np.linalg.norm(cart, axis=1))), float(lengths.max()), 1e-300)
    zero = np.flatnonzero(lengths <= 1e-12 * scale)
    if lengths.max() <= 0:
        raise ConfigError("all path points coincide: the k-path has zero length.")
    if zero.size:
        i = int(zero[0])
        raise ConfigError(
            f"path points {i} ({labels[i]!r}) and {i + 1} ({labels[i + 1]!r}) coincide: "
            "remove one of them."
        )
    n_seg = len(lengths)
    if n_points - 1 < n_seg:
        raise ConfigError(
            f"n_points = {n_points} is too few for a path of {n_seg + 1} points: use at least "
            f"{n_seg + 1}."
        )
    steps = _split(lengths, n_points - 1)
    pieces, vertex_index, start = [], [0], 0
    for a, b, n in zip(cart[:-1], cart[1:], steps, strict=True):
        t = np.arange(n)[:, None] / n
        pieces.append(a + t * (b - a))
        start += n
        vertex_index.append(start)
    pieces.append(cart[-1:])
    k = np.concatenate(pieces)
    dist = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(k, axis=0), axis=1))])
    ticks = dist[vertex_index]
    reduced = None if recip is None else k @ np.linalg.inv(recip)
    for arr in (k, dist, ticks) + (() if reduced is None else (reduced,)):
        arr.setflags(write=False)
    return KPath(
        kpoints=k,
        distance=dist,
        ticks=ticks,
        labels=tuple(labels),
        vertex_index=tuple(vertex_index),
        reduced=reduced,
        xlabel=xlabel,
        offset=offset,
    )


def _continuum_default(model: ContinuumModel, n_points: int) -> KPath:
    domain = model.domain
    dim = model.dim
    if isinstance(domain, Disk):
        lo, hi = -domain.radius, domain.radius
        centre = np.zeros(dim)
    elif isinstance(domain, Box):
        lower, upper = np.asarray(domain.lower, float), np.asarray(domain.upper, float)
        lo, hi = float(lower[0]), float(upper[0])
        centre = np.where((lower <= 0) & (upper >= 0), 0.0, 0.5 * (lower + upper))
    else:  # pragma: no cover - domains are Disk or Box
        raise QgmagError(f"unsupported continuum domain {domain!r}.")
    xs = [lo, 0.0, hi] if lo < 0 < hi else [lo, hi]
    cart = np.tile(centre, (len(xs), 1))
    cart[:, 0] = xs
    labels = [
        GAMMA if x == 0 and np.all(centre[1:] == 0) else f"{x:g}".replace("-", "\u2212") for x in xs
    ]
    rest = ", ".join(f"$k_{c}$ = {v:g}" for c, v in zip("yz", centre[1:], strict=False))
    return _build(labels, cart, None, n_points, xlabel=f"$k_x$ (1/Å) at {rest}", offset=float(lo))
