"""Symmetry-related k-points: the star of a k-point and equivalent path vertices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qgmag.models.base import FloatArray
from qgmag.symmetry.operations import MagneticGroup


def _fold(k: FloatArray, recip: FloatArray) -> FloatArray:
    """The copy of k + G (G from -1..1 shells) closest to Γ (the first zone for the usual
    cells)."""
    d = recip.shape[0]
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * d, indexing="ij")).reshape(d, -1).T
    cands = k[None, :] + shifts @ recip
    return cands[np.argmin(np.linalg.norm(cands, axis=1))]


def star(k: Sequence[float], group: MagneticGroup, recip: FloatArray) -> FloatArray:
    """The distinct images s R k (Cartesian 1/Å, folded towards Γ) of a k-point."""
    recip = np.asarray(recip, dtype=float)
    kk = np.asarray(k, dtype=float)
    inv = np.linalg.inv(recip)
    out: list[FloatArray] = []
    for m in group.k_actions():
        image = _fold(m @ kk, recip)
        if not any(_same_point(image, o, inv) for o in out):
            out.append(image)
    return np.array(out)


def _same_point(a: FloatArray, b: FloatArray, inv: FloatArray) -> bool:
    diff = (a - b) @ inv
    return bool(np.allclose(diff, np.rint(diff), atol=1e-8))


def equivalent(
    a: Sequence[float], b: Sequence[float], group: MagneticGroup, recip: FloatArray
) -> bool:
    """True if k-point b is the image of a under some operation (modulo G)."""
    inv = np.linalg.inv(np.asarray(recip, dtype=float))
    kb = np.asarray(b, dtype=float)
    return any(_same_point(m @ np.asarray(a, float), kb, inv) for m in group.k_actions())


def equivalent_labels(
    labels: Sequence[str], kpoints: FloatArray, group: MagneticGroup, recip: FloatArray
) -> list[str]:
    """Vertex labels with "≡A" appended where a vertex is equivalent to an earlier one of a
    different name A (e.g. K' ≡ K when an operation maps K onto K')."""
    out = []
    for i, (label, k) in enumerate(zip(labels, kpoints, strict=True)):
        partner = next(
            (
                labels[j]
                for j in range(i)
                if labels[j] != label and equivalent(kpoints[j], k, group, recip)
            ),
            None,
        )
        out.append(label if partner is None else f"{label}≡{partner}")
    return out
