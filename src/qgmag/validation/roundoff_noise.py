"""An independent measurement of round-off: the spread of a result under ε_mach noise on H.

A floating-point eigensolver returns the exact eigenpairs of H + η with a Hermitian
backward error ‖η‖ ~ ε_mach·‖H‖ (a different η at every k-point). :class:`NoisyModel`
adds such an η explicitly — random, Hermitian, of Frobenius norm ``scale`` × ε_mach ×
‖H(k)‖_F, independently at every k — so that the spread of a result over a few draws
measures how much the result depends on the round-off of the diagonalization, without
using the code's own round-off estimate (``<name>_roundoff`` of :func:`qgmag.compute`,
which it checks). :func:`roundoff_spread` runs the draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

from qgmag.geometry.roundoff import EPS
from qgmag.models.base import ComplexArray, FloatArray, Model


class NoisyModel:
    """``model`` with Hermitian noise of norm ``scale``·ε_mach·‖H(k)‖_F added to H(k)
    (∂H, ∂²H and the spin matrices unchanged); draws from ``numpy.random.default_rng(seed)``
    in call order (deterministic for a serial run). Lattice models only."""

    def __init__(self, model: Model, seed: int, scale: float = 1.0) -> None:
        self.model = model
        self.scale = float(scale)
        self._rng = np.random.default_rng(seed)
        self.dim = model.dim
        self.n_bands = model.n_bands
        self.spin = model.spin
        self.cell_volume = model.cell_volume
        self.reciprocal_lattice = model.reciprocal_lattice  # type: ignore[attr-defined]
        self.lattice = getattr(model, "lattice", None)
        self.name = f"{model.summary().get('name')} + eps noise (seed {seed})"

    def _noise(self, h: ComplexArray) -> ComplexArray:
        """η (N, n, n) Hermitian with ‖η‖_F = scale·ε_mach·‖H(k)‖_F at every k."""
        a = self._rng.standard_normal(h.shape) + 1j * self._rng.standard_normal(h.shape)
        a = a + np.swapaxes(a, -1, -2).conj()
        ratio = np.linalg.norm(h, axis=(1, 2)) / np.linalg.norm(a, axis=(1, 2))
        return self.scale * EPS * ratio[:, None, None] * a

    def derivatives(
        self, kpoints: FloatArray, order: int = 1
    ) -> tuple[ComplexArray, ComplexArray, ComplexArray | None]:
        h, dh, d2h = self.model.derivatives(kpoints, order=order)
        return h + self._noise(h), dh, d2h

    def hamiltonian(self, kpoints: FloatArray) -> ComplexArray:
        return self.derivatives(kpoints, order=1)[0]

    def summary(self) -> dict[str, object]:
        return {**self.model.summary(), "name": self.name}


def roundoff_spread(
    model: Model,
    quantities: str | Iterable[str],
    draws: int = 4,
    seed: int = 0,
    scale: float = 1.0,
    **compute_kwargs: Any,
) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """(result of ``model``, {variable: max over ``draws`` noisy models of |noisy - result|})
    for every variable of :func:`qgmag.compute` (``compute_kwargs``) that has a
    ``<variable>_roundoff`` estimate; same units as the variable."""
    from qgmag.integrate.driver import compute

    ref = compute(model, quantities, **compute_kwargs)
    names = [str(v) for v in ref.data_vars if f"{v}_roundoff" in ref.data_vars]
    names += [  # per-cell values: "<obs>[_part]_per_cell" with "<obs>[_part]_roundoff_per_cell"
        str(v)
        for v in ref.data_vars
        if str(v).endswith("_per_cell")
        and f"{str(v).removesuffix('_per_cell')}_roundoff_per_cell" in ref.data_vars
    ]
    spread = {n: np.zeros(ref[n].shape) for n in names}
    for draw in range(draws):
        noisy = compute(NoisyModel(model, seed + draw, scale), quantities, **compute_kwargs)
        for n in names:
            spread[n] = np.maximum(spread[n], np.abs(noisy[n].values - ref[n].values))
    return ref, spread
