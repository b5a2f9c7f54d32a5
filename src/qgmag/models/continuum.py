"""Continuum (k·p) models: H(k) given analytically, with an integration domain in k.

A continuum model supplies H(k) and its analytic first and second k-derivatives. Most
k·p Hamiltonians are polynomials of degree <= 2 in k, for which
:meth:`ContinuumModel.polynomial` builds all three from coefficient matrices.
Integrated results are per area (2D) or per volume (3D) over the model's ``domain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qgmag.errors import ModelError
from qgmag.models.base import ComplexArray, FloatArray, as_kpoints


@dataclass(frozen=True)
class Disk:
    """2D disk |k| <= radius (1/Å), integrated in polar coordinates."""

    radius: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise ModelError(f"Disk radius must be a positive number in 1/Å; got {self.radius}.")

    @property
    def dim(self) -> int:
        return 2

    @property
    def measure(self) -> float:
        """Area of the domain in 1/Å^2."""
        return float(np.pi * self.radius**2)


@dataclass(frozen=True)
class Box:
    """Box lower <= k <= upper (1/Å per Cartesian direction), in 2D or 3D."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lo.shape != hi.shape or lo.ndim != 1 or lo.size not in (2, 3) or np.any(hi <= lo):
            raise ModelError("Box needs lower < upper, both of length 2 or 3 (1/Å).")

    @property
    def dim(self) -> int:
        return len(self.lower)

    @property
    def measure(self) -> float:
        return float(np.prod(np.asarray(self.upper) - np.asarray(self.lower)))


Domain = Disk | Box
HamiltonianFn = Callable[[FloatArray], ComplexArray]


class ContinuumModel:
    """A Hamiltonian given as analytic functions of k.

    Parameters
    ----------
    hamiltonian : k (N, d) -> H (N, n, n), eV.
    first_derivative : k -> dH/dk_a (d, N, n, n), eV·Å.
    second_derivative : k -> d²H/dk_a dk_b (d, d, N, n, n), eV·Å².
    dim, n_bands : spatial dimension and matrix size.
    domain : :class:`Disk` or :class:`Box` in 1/Å, the region integrated over.
    spin : None or (3, n, n) matrices of S/hbar.
    """

    def __init__(
        self,
        hamiltonian: HamiltonianFn,
        first_derivative: HamiltonianFn,
        second_derivative: HamiltonianFn,
        *,
        dim: int,
        n_bands: int,
        domain: Domain,
        spin: ArrayLike | None = None,
        name: str = "continuum model",
        parameters: dict[str, Any] | None = None,
    ) -> None:
        if dim not in (2, 3):
            raise ModelError(f"dim must be 2 or 3; got {dim}.")
        if domain.dim != dim:
            raise ModelError(f"the domain is {domain.dim}D but the model is {dim}D.")
        s = None
        if spin is not None:
            s = np.asarray(spin, dtype=complex)
            if s.shape != (3, n_bands, n_bands) or not np.all(np.isfinite(s)):
                raise ModelError(
                    f"spin must be finite with shape (3, {n_bands}, {n_bands}); got {s.shape}."
                )
            s.setflags(write=False)
        self._h, self._dh, self._d2h = hamiltonian, first_derivative, second_derivative
        self._dim, self._n = dim, n_bands
        self.domain = domain
        self._spin = s
        self.name = name
        self.parameters = dict(parameters or {})

    @classmethod
    def polynomial(
        cls,
        constant: ArrayLike,
        linear: ArrayLike,
        quadratic: ArrayLike | None = None,
        **kwargs: Any,
    ) -> ContinuumModel:
        """H(k) = H0 + sum_a k_a H_a + sum_ab k_a k_b H_ab.

        ``constant`` (n, n) eV, ``linear`` (d, n, n) eV·Å, ``quadratic`` (d, d, n, n) eV·Å²
        (symmetrized in a, b). All must be Hermitian.
        """
        h0 = np.asarray(constant, dtype=complex)
        h1 = np.asarray(linear, dtype=complex)
        d, n = h1.shape[0], h0.shape[0]
        h2 = (
            np.zeros((d, d, n, n), complex) if quadratic is None else np.asarray(quadratic, complex)
        )
        h2 = 0.5 * (h2 + np.swapaxes(h2, 0, 1))
        for label, m in (("constant", h0), ("linear", h1), ("quadratic", h2)):
            if not np.all(np.isfinite(m)):
                raise ModelError(f"the {label} coefficient matrices contain NaN or infinity.")
            if np.max(np.abs(m - np.conj(np.swapaxes(m, -1, -2))), initial=0.0) > 1e-12:
                raise ModelError(f"the {label} coefficient matrices must be Hermitian.")

        def ham(k: FloatArray) -> ComplexArray:
            return (
                h0[None] + np.einsum("na,aij->nij", k, h1) + np.einsum("na,nb,abij->nij", k, k, h2)
            )

        def dham(k: FloatArray) -> ComplexArray:
            return h1[:, None] + 2.0 * np.einsum("nb,abij->anij", k, h2)

        def d2ham(k: FloatArray) -> ComplexArray:
            return np.broadcast_to(2.0 * h2[:, :, None], (d, d, k.shape[0], n, n)).copy()

        return cls(ham, dham, d2ham, dim=d, n_bands=n, **kwargs)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def n_bands(self) -> int:
        return self._n

    @property
    def spin(self) -> ComplexArray | None:
        return self._spin

    @property
    def cell_volume(self) -> None:
        """Continuum models have no unit cell: results are per area/volume only."""
        return None

    def derivatives(
        self, kpoints: FloatArray, order: int = 1
    ) -> tuple[ComplexArray, ComplexArray, ComplexArray | None]:
        """H (N, n, n), dH (d, N, n, n) and, for order 2, d²H (d, d, N, n, n)."""
        k = as_kpoints(kpoints, self._dim)
        h = np.asarray(self._h(k), dtype=complex)
        dh = (
            np.asarray(self._dh(k), dtype=complex)
            if order >= 1
            else np.zeros((self._dim, *h.shape), complex)
        )
        d2h = np.asarray(self._d2h(k), dtype=complex) if order >= 2 else None
        n, d = self._n, self._dim
        for label, value, shape in (
            ("hamiltonian", h, (k.shape[0], n, n)),
            ("first_derivative", dh, (d, k.shape[0], n, n)),
            ("second_derivative", d2h, (d, d, k.shape[0], n, n)),
        ):
            if value is None:
                continue
            if value.shape != shape:
                raise ModelError(
                    f"continuum model {self.name!r}: {label} returned shape {value.shape} for "
                    f"{k.shape[0]} k-points; expected {shape}."
                )
            if not np.all(np.isfinite(value)):
                raise ModelError(
                    f"continuum model {self.name!r}: {label} returned NaN or infinite values "
                    "at some k-points of the domain; check its parameters and functions."
                )
        return h, dh, d2h

    def hamiltonian(self, kpoints: FloatArray) -> ComplexArray:
        return self.derivatives(kpoints, order=0)[0]

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": "continuum",
            "dim": self._dim,
            "n_bands": self._n,
            "domain": repr(self.domain),
            "spinful": self._spin is not None,
            "parameters": dict(self.parameters),
        }

    def __repr__(self) -> str:
        return (
            f"ContinuumModel(name={self.name!r}, dim={self._dim}, n_bands={self._n}, "
            f"domain={self.domain})"
        )
