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
* any other 3D lattice: seekpath's path (e.g. hexagonal Γ–M–K–Γ–A–L–H–A, see
  :mod:`qgmag.kspace.seekpath_path`) when seekpath is installed (``qgmag[symmetry]``);
  otherwise, and for oblique 2D lattices, Γ and the centres of the faces of the
  reciprocal cell, labelled by their reduced coordinates, e.g. ``(1/2,0)``;
* continuum models: along k_x through k = 0 across the integration domain (k_y = 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from qgmag.errors import ConfigError, QgmagError
from qgmag.models.base import FloatArray, Model
from qgmag.models.continuum import Box, ContinuumModel, Disk

GAMMA = "Γ"
_GAMMA_SPELLINGS = {"g", "gamma", "\\gamma", "$\\gamma$", "γ", "gm", "gam"}
#: relative tolerance of the lattice classification (lengths and angles)
_TOL = 1e-4

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
    fcc: Γ, X, W, K, L, U (textbook points of the conventional cubic axes); other 3D
    lattices: seekpath's points (when installed); otherwise and for continuum models: Γ
    only. These are the names :func:`make_path` accepts
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


# -- standard paths -------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOL * max(abs(a), abs(b), 1.0)


def _gauss_reduce(b1: FloatArray, b2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lagrange–Gauss reduction of a 2D basis; leaves a reduced basis unchanged."""
    for _ in range(100):
        if np.dot(b1, b1) > np.dot(b2, b2) * (1 + _TOL):
            b1, b2 = b2, b1
        mu = np.dot(b1, b2) / np.dot(b1, b1)
        r = np.round(mu)
        if abs(mu) <= 0.5 + _TOL or r == 0:
            return b1, b2
        b2 = b2 - r * b1
    return b1, b2  # pragma: no cover


def _classify_2d(recip: FloatArray) -> tuple[str, FloatArray, FloatArray]:
    b1, b2 = _gauss_reduce(recip[0].copy(), recip[1].copy())
    if np.dot(b1, b2) > 0:  # obtuse pair: ½b1, ½b2, ½(b1+b2) are then face centres
        b2 = -b2
    n1, n2 = np.linalg.norm(b1), np.linalg.norm(b2)
    cos = np.dot(b1, b2) / (n1 * n2)
    if _close(n1, n2) and _close(cos, -0.5):
        return "hexagonal", b1, b2
    if _close(cos + 1.0, 1.0):
        return ("square" if _close(n1, n2) else "rectangular"), b1, b2
    return "oblique", b1, b2


_STANDARD_2D = {
    "hexagonal": ("Γ", "K", "M", "K'", "Γ"),
    "square": ("Γ", "X", "M", "Γ"),
    "rectangular": ("Γ", "X", "S", "Y", "Γ"),
}


def _named_2d(recip: FloatArray) -> tuple[str, dict[str, FloatArray]]:
    """Lattice kind and high-symmetry points of a 2D reciprocal lattice (rows b1, b2).

    Square and rectangular lattices: X = (π/a, 0) along the first lattice vector a1 given
    by the model, Y along a2, whatever their lengths (the usual convention for a
    rectangular cell a x b)."""
    kind, b1, b2 = _classify_2d(recip)
    if kind in ("square", "rectangular"):
        first = recip[0] / np.linalg.norm(recip[0])

        def cos_to_first(b: FloatArray) -> float:
            return abs(float(np.dot(b, first))) / float(np.linalg.norm(b))

        if cos_to_first(b2) > cos_to_first(b1):  # the reduced b1 must be the model's b1
            b1, b2 = b2, b1
        b1 = b1 if np.dot(b1, first) >= 0 else -b1
        b2 = b2 if np.dot(b2, recip[1]) >= 0 else -b2
    gamma = np.zeros(2)
    if kind == "hexagonal":
        # b1, b2 at 120°: K = (2b1 + b2)/3 and K' = (b1 - b2)/3 are the two corners of the
        # zone edge whose midpoint is M = b1/2 (inequivalent: they differ by (b1 + 2b2)/3)
        return kind, {"Γ": gamma, "K": (2 * b1 + b2) / 3, "M": b1 / 2, "K'": (b1 - b2) / 3}
    if kind == "square":
        return kind, {"Γ": gamma, "X": b1 / 2, "Y": b2 / 2, "M": (b1 + b2) / 2}
    if kind == "rectangular":
        return kind, {"Γ": gamma, "X": b1 / 2, "Y": b2 / 2, "S": (b1 + b2) / 2}
    return kind, {"Γ": gamma}


def _standard_2d(recip: FloatArray) -> tuple[list[str], FloatArray]:
    kind, named = _named_2d(recip)
    if kind in _STANDARD_2D:
        labels = list(_STANDARD_2D[kind])
        return labels, np.array([named[label] for label in labels])
    _, b1, b2 = _classify_2d(recip)
    gamma = np.zeros(2)
    cart = np.array([gamma, b1 / 2, (b1 + b2) / 2, b2 / 2, gamma])
    return _reduced_labels(cart, recip), cart


def _lattice_kind(recip: FloatArray) -> str:
    if recip.shape == (2, 2):
        return _classify_2d(recip)[0]
    lat = 2.0 * np.pi * np.linalg.inv(recip).T
    return _classify_cubic(lat)[0]


def _named_points(recip: FloatArray) -> dict[str, FloatArray]:
    if recip.shape == (2, 2):
        return _named_2d(recip)[1]
    lat = 2.0 * np.pi * np.linalg.inv(recip).T
    kind, a, axes = _classify_cubic(lat)
    if kind not in _CUBIC_PATHS or axes is None:
        from qgmag.kspace.seekpath_path import seekpath_points

        found = seekpath_points(recip)
        return {"Γ": np.zeros(3)} if found is None else found[2]
    return {
        label: (2.0 * np.pi / a) * np.asarray(c, dtype=float) @ axes
        for label, c in _CUBIC_PATHS[kind]
    }


def _reduced_labels(cart: FloatArray, recip: FloatArray) -> list[str]:
    """Γ, or the reduced coordinates as fractions: "(1/2,0,1/2)"."""
    out = []
    for c in cart @ np.linalg.inv(recip):
        if np.allclose(c, 0, atol=1e-9):
            out.append(GAMMA)
            continue
        parts = [str(Fraction(float(x)).limit_denominator(12)) for x in c]
        out.append("(" + ",".join(parts) + ")")
    return out


def _size_reduce(lat: FloatArray) -> FloatArray:
    """Pairwise size reduction of a 3D basis (enough to enumerate short vectors)."""
    basis = lat.copy()
    for _ in range(50):
        changed = False
        for i, j in itertools.permutations(range(3), 2):
            r = np.round(np.dot(basis[i], basis[j]) / np.dot(basis[j], basis[j]))
            if r != 0:
                basis[i] = basis[i] - r * basis[j]
                changed = True
        if not changed:
            break
    return basis


def _classify_cubic(lat: FloatArray) -> tuple[str, float, FloatArray | None]:
    """("cubic" | "bcc" | "fcc", conventional a, rows e_x, e_y, e_z) or ("other", 0, None)."""
    basis = _size_reduce(lat)
    ints = np.array(list(itertools.product(range(-2, 3), repeat=3)))
    vecs = ints @ basis
    norms = np.linalg.norm(vecs, axis=1)
    vecs, norms = vecs[norms > 0], norms[norms > 0]
    order = np.argsort(norms)
    vecs, norms = vecs[order], norms[order]
    d1 = norms[0]
    shell1 = vecs[np.abs(norms - d1) <= _TOL * d1]
    rest = norms[norms > d1 * (1 + _TOL)]
    d2 = rest[0]
    shell2 = vecs[np.abs(norms - d2) <= _TOL * d2]
    volume = abs(np.linalg.det(lat))
    candidates = {
        6: ("cubic", d1, shell1, 1.0),
        8: ("bcc", d2, shell2, 0.5),
        12: ("fcc", d2, shell2, 0.25),
    }
    if len(shell1) not in candidates:
        return "other", 0.0, None
    kind, a, axes_shell, fraction = candidates[len(shell1)]
    if len(axes_shell) != 6 or not _close(volume, fraction * a**3):
        return "other", 0.0, None
    axes = _pick_axes(axes_shell / a)
    if axes is None:
        return "other", 0.0, None
    # every primitive vector must be a point of the sc/bcc/fcc lattice on these axes
    half = 2.0 * (lat @ axes.T) / a
    if not np.allclose(half, np.round(half), atol=1e-4):
        return "other", 0.0, None
    n = np.round(half).astype(int) % 2
    ok = {
        "cubic": np.all(n == 0),
        "bcc": np.all((n.sum(axis=1) == 0) | (n.sum(axis=1) == 3)),
        "fcc": np.all(n.sum(axis=1) % 2 == 0),
    }[kind]
    return (kind, float(a), axes) if ok else ("other", 0.0, None)


def _pick_axes(units: FloatArray) -> FloatArray | None:
    """Three mutually orthogonal unit vectors from ±pairs, each closest to x, y, z."""
    axes = []
    remaining = list(units)
    for cart in np.eye(3):
        best = max(remaining, key=lambda v: abs(np.dot(v, cart)))
        v = best if np.dot(best, cart) >= 0 else -best
        axes.append(v)
        remaining = [u for u in remaining if abs(abs(np.dot(u, v)) - 1.0) > 1e-6]
        if not remaining and len(axes) < 3:
            return None
    e = np.array(axes)
    if not np.allclose(e @ e.T, np.eye(3), atol=1e-4):
        return None
    return e


_CUBIC_PATHS: dict[str, list[tuple[str, tuple[float, float, float]]]] = {
    # Cartesian coordinates in units of 2π/a along the conventional cubic axes
    "cubic": [
        ("Γ", (0, 0, 0)),
        ("X", (0, 0.5, 0)),
        ("M", (0.5, 0.5, 0)),
        ("Γ", (0, 0, 0)),
        ("R", (0.5, 0.5, 0.5)),
        ("X", (0, 0.5, 0)),
    ],
    "bcc": [
        ("Γ", (0, 0, 0)),
        ("H", (0, 0, 1)),
        ("N", (0.5, 0, 0.5)),
        ("Γ", (0, 0, 0)),
        ("P", (0.5, 0.5, 0.5)),
        ("H", (0, 0, 1)),
    ],
    "fcc": [
        ("Γ", (0, 0, 0)),
        ("X", (0, 1, 0)),
        ("W", (0.5, 1, 0)),
        ("K", (0.75, 0.75, 0)),
        ("Γ", (0, 0, 0)),
        ("L", (0.5, 0.5, 0.5)),
        ("U", (0.25, 1, 0.25)),
        ("W", (0.5, 1, 0)),
        ("L", (0.5, 0.5, 0.5)),
        ("K", (0.75, 0.75, 0)),
    ],
}


def _standard_3d(recip: FloatArray) -> tuple[list[str], FloatArray]:
    lat = 2.0 * np.pi * np.linalg.inv(recip).T
    kind, a, axes = _classify_cubic(lat)
    if kind in _CUBIC_PATHS and axes is not None:
        labels = [label for label, _ in _CUBIC_PATHS[kind]]
        conv = np.array([c for _, c in _CUBIC_PATHS[kind]], dtype=float)
        return labels, (2.0 * np.pi / a) * conv @ axes
    from qgmag.kspace.seekpath_path import seekpath_points

    found = seekpath_points(recip)
    if found is not None and found[0] is not None:
        return found[0], found[1]  # type: ignore[return-value]
    b1, b2, b3 = recip
    gamma = np.zeros(3)
    cart = np.array(
        [gamma, b1 / 2, (b1 + b2) / 2, b2 / 2, gamma, b3 / 2, (b1 + b2 + b3) / 2, gamma]
    )
    return _reduced_labels(cart, recip), cart
