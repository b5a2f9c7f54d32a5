"""The model protocol every Hamiltonian in qgmag satisfies.

The band engine only needs, for a batch of Cartesian k-points (N, d) in 1/Å,

* ``hamiltonian(k)``            -> (N, n, n) complex, eV
* ``derivatives(k, order)``     -> (H, dH, d2H) with dH (d, N, n, n) in eV·Å and
  d2H (d, d, N, n, n) in eV·Å² (``None`` when ``order < 2``)
* ``spin``                      -> (3, n, n) matrices of S/hbar, or None
* ``dim``, ``n_bands``, ``cell_volume`` (Å^d, None for continuum models)

Models are immutable and hold no per-run state, so they can be pickled once and sent
to Dask workers.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

ComplexArray = NDArray[np.complex128]
FloatArray = NDArray[np.float64]


@runtime_checkable
class Model(Protocol):
    """What qgmag needs from a Hamiltonian."""

    @property
    def dim(self) -> int: ...

    @property
    def n_bands(self) -> int: ...

    @property
    def spin(self) -> ComplexArray | None: ...

    @property
    def cell_volume(self) -> float | None: ...

    def hamiltonian(self, kpoints: FloatArray) -> ComplexArray: ...

    def derivatives(
        self, kpoints: FloatArray, order: int = 1
    ) -> tuple[ComplexArray, ComplexArray, ComplexArray | None]: ...

    def summary(self) -> dict[str, object]: ...


def as_kpoints(kpoints: object, dim: int) -> FloatArray:
    """Validate and return k-points as a (N, dim) float array (1/Å, Cartesian)."""
    k = np.asarray(kpoints, dtype=float)
    if k.ndim == 1 and k.shape[0] == dim:
        k = k[None, :]
    if k.ndim != 2 or k.shape[1] != dim:
        from qgmag.errors import QgmagError

        raise QgmagError(
            f"k-points must have shape (N, {dim}) for this {dim}D model (Cartesian, 1/Å); "
            f"got shape {np.shape(kpoints)}."
        )
    if not np.all(np.isfinite(k)):
        from qgmag.errors import QgmagError

        raise QgmagError("k-points contain NaN or infinite values.")
    return k
