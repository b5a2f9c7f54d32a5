"""Occupations: Fermi–Dirac at temperature T and numerical smearings at T = 0.

Three kernels of the band energy ε enter the observables (μ, T fixed):

* ``f0``    occupation f0(ε)
* ``df0``   its derivative f0'(ε) = df0/dε (negative; 1/eV), for Fermi-surface terms
* ``d2f0``  its second derivative f0''(ε) (1/eV²), for the τ² (Drude) E² response
* ``d3f0``, ``d4f0``, ``d5f0``  f0^(3), f0^(4), f0^(5) (1/eV^r), for the higher-order poles
  of the orbital τ⁰ E² Fermi sea
* ``x_df0``, ``x_d2f0``  (μ - ε) f0'(ε) and (μ - ε) f0''(ε) (dimensionless, 1/eV), for the
  itinerant orbital τ² term with the occupation-linear grand density g = (μ - ε) f
* ``grand`` G(ε) = ∫_ε^∞ f0(ε') dε' (eV), so that dG/dε = -f0; for Fermi–Dirac
  G = k_B T ln(1 + e^{-(ε-μ)/k_B T}), the kernel of the itinerant orbital magnetization
  (Eq. 5); at T = 0, G = max(μ - ε, 0).

At T > 0 the physical Fermi–Dirac function is used. At T = 0 Fermi-sea kernels are
exact steps unless a :class:`Smearing` is given, in which case all three kernels come
from the smeared occupation (so that Fermi-sea and Fermi-surface forms stay consistent).
A Fermi-surface kernel at T = 0 without a smearing is an error: the derivative of a
step cannot be sampled on a mesh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc, expit

from qgmag.constants import BOLTZMANN_EV
from qgmag.errors import QgmagError
from qgmag.models.base import FloatArray

SMEARING_KINDS = ("fermi-dirac", "gaussian", "methfessel-paxton")
KERNELS = ("f0", "df0", "grand", "d2f0", "x_df0", "x_d2f0", "d3f0", "d4f0", "d5f0")
#: kernels that are the r-th derivative f0^(r), r >= 3 (closed forms below)
_HIGH_DERIVATIVES = {"d3f0": 3, "d4f0": 4, "d5f0": 5}
_SQRT_PI = np.sqrt(np.pi)


@dataclass(frozen=True)
class Smearing:
    """A numerical broadening of the Fermi surface at T = 0.

    kind: "fermi-dirac" (width = k_B T_eff), "gaussian" (width = σ) or
    "methfessel-paxton" (first order, width = σ); width in eV.
    """

    kind: str
    width: float

    def __post_init__(self) -> None:
        if self.kind not in SMEARING_KINDS:
            raise QgmagError(f"smearing kind must be one of {SMEARING_KINDS}; got {self.kind!r}.")
        if not (np.isfinite(self.width) and self.width > 0):
            raise QgmagError(f"smearing width must be a positive number of eV; got {self.width}.")

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "width_eV": self.width}


def parse_smearing(smearing: object) -> Smearing | None:
    """None | width (eV, Fermi–Dirac) | (kind, width) | Smearing -> Smearing or None."""
    if smearing is None or isinstance(smearing, Smearing):
        return smearing
    if isinstance(smearing, int | float) and not isinstance(smearing, bool):
        return Smearing("fermi-dirac", float(smearing))
    if isinstance(smearing, tuple | list) and len(smearing) == 2:
        return Smearing(str(smearing[0]), float(smearing[1]))
    if isinstance(smearing, dict) and set(smearing) <= {"kind", "width"}:
        return Smearing(str(smearing.get("kind", "gaussian")), float(smearing.get("width", 0)))
    raise QgmagError(
        f"smearing must be None, a width in eV, or (kind, width) with kind in {SMEARING_KINDS}; "
        f"got {smearing!r}."
    )


def _fermi_dirac_polynomial(order: int) -> np.polynomial.Polynomial:
    """p_r(s) with d^r s/dx^r = p_r(s) for s = 1/(1 + e^x): p_0 = s, p_{r+1} = p_r'(s)(s² - s)."""
    p = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(order):
        p = p.deriv() * np.polynomial.Polynomial([0.0, -1.0, 1.0])
    return p


def _hermite_gaussian(order: int, x: FloatArray) -> FloatArray:
    """d^r e^{-x²}/dx^r = (-1)^r H_r(x) e^{-x²} (physicists' Hermite polynomials)."""
    coeffs = np.zeros(order + 1)
    coeffs[order] = 1.0
    return (-1.0) ** order * np.polynomial.hermite.hermval(x, coeffs) * np.exp(-(x**2))


def _fermi_dirac_kernels(x: FloatArray, width: float, kernel: str) -> FloatArray:
    if kernel in _HIGH_DERIVATIVES:
        order = _HIGH_DERIVATIVES[kernel]
        return _fermi_dirac_polynomial(order)(expit(-x)) / width**order
    if kernel == "f0":
        return expit(-x)
    if kernel == "df0":
        f = expit(-x)
        return -f * (1.0 - f) / width
    if kernel == "d2f0":
        f = expit(-x)
        return f * (1.0 - f) * (1.0 - 2.0 * f) / width**2
    return width * np.logaddexp(0.0, -x)


def _gaussian_kernels(x: FloatArray, width: float, kernel: str) -> FloatArray:
    if kernel in _HIGH_DERIVATIVES:  # f = erfc(x)/2: f^(r) = -d^{r-1} e^{-x²}/dx^{r-1} / √π
        order = _HIGH_DERIVATIVES[kernel]
        return -_hermite_gaussian(order - 1, x) / (_SQRT_PI * width**order)
    if kernel == "f0":
        return 0.5 * erfc(x)
    if kernel == "df0":
        return -np.exp(-(x**2)) / (_SQRT_PI * width)
    if kernel == "d2f0":
        return 2.0 * x * np.exp(-(x**2)) / (_SQRT_PI * width**2)
    return width * 0.5 * (np.exp(-(x**2)) / _SQRT_PI - x * erfc(x))


def _methfessel_paxton_kernels(x: FloatArray, width: float, kernel: str) -> FloatArray:
    """First-order Methfessel–Paxton: f = erfc(x)/2 - x e^{-x²}/(2√π)."""
    if kernel in _HIGH_DERIVATIVES:  # f - erfc(x)/2 = (d e^{-x²}/dx)/(4√π)
        order = _HIGH_DERIVATIVES[kernel]
        extra = _hermite_gaussian(order + 1, x) / (4.0 * _SQRT_PI * width**order)
        return _gaussian_kernels(x, width, kernel) + extra
    g = np.exp(-(x**2)) / _SQRT_PI
    if kernel == "f0":
        return 0.5 * erfc(x) - 0.5 * x * g
    if kernel == "df0":
        return -g * (1.5 - x**2) / width
    if kernel == "d2f0":
        return 2.0 * x * g * (2.5 - x**2) / width**2
    return width * (0.5 * (g - x * erfc(x)) - 0.25 * g)


def _zero_temperature(x_energy: FloatArray, kernel: str) -> FloatArray:
    """Exact T = 0 kernels with x_energy = ε - μ (eV)."""
    if kernel == "f0":  # 1 below μ, 1/2 at μ, 0 above
        out = (x_energy < 0).astype(float)
        at_mu = x_energy == 0
        if at_mu.any():
            out[at_mu] = 0.5
        return out
    if kernel == "grand":
        return np.maximum(-x_energy, 0.0)
    raise QgmagError(
        "a Fermi-surface quantity needs f0' = df0/dε, which is a delta function at temperature 0: "
        "pass a numerical smearing (e.g. smearing=('gaussian', 0.02), width in eV) or a finite "
        "temperature."
    )


#: |ε - μ| / width beyond which a smeared kernel equals its step limit to round-off
#: (Fermi–Dirac: e^{-40} = 4e-18; Gaussian and Methfessel–Paxton: erfc(40) = 0)
TAIL_CUTOFF = 40.0


def _tail_values(x_energy: FloatArray, kernel: str, below: bool) -> FloatArray:
    """Kernel limits far from every μ: far below (fully occupied) or far above (empty)."""
    if kernel == "f0":
        return np.full(x_energy.shape, 1.0 if below else 0.0)
    if kernel == "grand":
        return -x_energy if below else np.zeros(x_energy.shape)
    return np.zeros(x_energy.shape)


def _smeared(
    fn: Callable[[FloatArray, float, str], FloatArray],
    e: FloatArray,
    mu: FloatArray,
    width: float,
    kernel: str,
) -> FloatArray:
    """fn evaluated only for states within TAIL_CUTOFF widths of some μ; limits elsewhere."""
    low = e[:, 0] <= mu.min() - TAIL_CUTOFF * width
    high = e[:, 0] >= mu.max() + TAIL_CUTOFF * width
    active = ~(low | high)
    out = np.empty((e.shape[0], mu.size))
    if active.all():
        return fn((e - mu) / width, width, kernel)
    out[active] = fn((e[active] - mu) / width, width, kernel)
    out[low] = _tail_values(e[low] - mu, kernel, below=True)
    out[high] = _tail_values(e[high] - mu, kernel, below=False)
    return out


def occupation_kernel(
    energy: FloatArray,
    mu: FloatArray,
    temperature: FloatArray,
    kernel: str,
    smearing: Smearing | None = None,
) -> FloatArray:
    """Kernel values for energies (M,) at every (μ, T): returns (M, n_mu, n_T).

    energy and mu in eV, temperature in K. Units: f0 dimensionless, df0 1/eV, d2f0 1/eV², grand eV.
    Smeared kernels are evaluated only within TAIL_CUTOFF widths of the requested μ (most
    states of a many-band model lie far from the Fermi level), their exact limits elsewhere.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}.")
    if kernel.startswith("x_"):  # (μ - ε) times the base kernel
        base = occupation_kernel(energy, mu, temperature, kernel[2:], smearing)
        x = np.asarray(mu, dtype=float)[None, :] - np.asarray(energy, dtype=float)[:, None]
        return base * x[:, :, None]
    e = np.asarray(energy, dtype=float)[:, None]
    mu = np.asarray(mu, dtype=float)
    out = np.empty((e.shape[0], len(mu), len(temperature)))
    for t_index, temp in enumerate(temperature):
        if temp > 0:
            width = BOLTZMANN_EV * temp
            out[:, :, t_index] = _smeared(_fermi_dirac_kernels, e, mu, width, kernel)
        elif smearing is None:
            out[:, :, t_index] = _zero_temperature(e - mu[None, :], kernel)
        else:
            fn = {
                "fermi-dirac": _fermi_dirac_kernels,
                "gaussian": _gaussian_kernels,
                "methfessel-paxton": _methfessel_paxton_kernels,
            }[smearing.kind]
            out[:, :, t_index] = _smeared(fn, e, mu, smearing.width, kernel)
    return out
