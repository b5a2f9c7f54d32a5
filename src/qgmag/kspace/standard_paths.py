"""Standard k-paths and named high-symmetry points of 2D and 3D Bravais lattices.

Lattices are recognized from their metric (2D: hexagonal, square, rectangular, oblique
after Gauss reduction; 3D: simple cubic, bcc, fcc whatever primitive cell is used);
see :mod:`qgmag.kspace.path` for the paths chosen.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from qgmag.models.base import FloatArray

GAMMA = "Γ"
_TOL = 1e-4


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
        return {"Γ": np.zeros(3)}
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
    b1, b2, b3 = recip
    gamma = np.zeros(3)
    cart = np.array(
        [gamma, b1 / 2, (b1 + b2) / 2, b2 / 2, gamma, b3 / 2, (b1 + b2 + b3) / 2, gamma]
    )
    return _reduced_labels(cart, recip), cart
