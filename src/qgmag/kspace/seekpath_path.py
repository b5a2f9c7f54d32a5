"""High-symmetry k-paths of any 3D lattice from seekpath (Hinuma et al., Comput. Mater.
Sci. 128, 140 (2017)), expressed in the model's own Cartesian frame.

seekpath standardizes the cell (possibly rotating it); its points, given in reduced
coordinates of its primitive reciprocal vectors, are mapped back with its rotation
matrix and checked to lie on the model's reciprocal lattice frame (the primitive cells
must describe the same lattice). The path is seekpath's first continuous piece (e.g.
Γ–M–K–Γ–A–L–H–A for a hexagonal lattice; the later jumps such as L–M, H–K are left out,
since a :class:`~qgmag.kspace.path.KPath` is one connected line).
"""

from __future__ import annotations

import warnings

import numpy as np

from qgmag.models.base import FloatArray

GAMMA = "Γ"


def _label(name: str) -> str:
    return GAMMA if name == "GAMMA" else name.replace("_", "")


def seekpath_points(
    recip: FloatArray,
) -> tuple[list[str] | None, FloatArray | None, dict[str, FloatArray]] | None:
    """(path labels, path vertices (Cartesian 1/Å), all named points), or None when
    seekpath is not installed or cannot handle the lattice; labels and vertices are None
    when seekpath's first connected piece has fewer than four points (triclinic)."""
    try:
        import seekpath
    except ImportError:  # optional (qgmag[symmetry])
        return None
    lattice = 2.0 * np.pi * np.linalg.inv(np.asarray(recip, dtype=float)).T
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = seekpath.get_path((lattice, [[0.0, 0.0, 0.0]], [1]), with_time_reversal=True)
    except Exception:  # noqa: BLE001 - seekpath raises several types for odd cells
        return None
    rot = np.asarray(res["rotation_matrix"], dtype=float)
    prim = np.asarray(res["primitive_lattice"], dtype=float) @ rot  # back to the model frame
    ints = np.linalg.solve(lattice.T, prim.T)
    if not np.allclose(ints, np.rint(ints), atol=1e-6) or abs(abs(np.linalg.det(ints)) - 1) > 1e-6:
        return None  # seekpath's primitive cell is not a cell of this lattice
    b_prim = np.asarray(res["reciprocal_primitive_lattice"], dtype=float) @ rot
    named = {
        _label(name): np.asarray(coords, dtype=float) @ b_prim
        for name, coords in res["point_coords"].items()
    }
    labels: list[str] = []
    for start, stop in res["path"]:
        if not labels:
            labels = [_label(start), _label(stop)]
        elif _label(start) == labels[-1]:
            labels.append(_label(stop))
        else:
            break
    if len(labels) < 4:  # e.g. triclinic X–Γ | Y–Γ ...: no useful connected piece
        return None, None, named
    return labels, np.array([named[lab] for lab in labels]), named
