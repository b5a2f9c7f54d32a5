"""Guard for band weights with inverse powers of band gaps (one module, two rules, all parts).

Many per-band weights X_n(k) of the kinetic responses are sums over partners m of
products of matrix elements divided by (ε_n - ε_m)^r: Φ (r = 2), the BCP g3 (r = 3), F and
<m> g3 (r = 3-4), ∂_λ g3 (r = 4), the orbital τ⁰ sea (r = 5). Two bands that are split by
δ just above ``degeneracy_tol`` are *distinct* bands for these formulas: each carries a
weight of order |M|/δ^r, the two weights cancel in the sum over bands (their partners'
occupations are equal or nearly so), and what survives is finite. In floating point the
surviving sum inherits the absolute error ε_mach × |M|/δ^r of the cancelling terms (the
eigenvectors of the pair are themselves determined only to ε_mach·|H|/δ, which is worse),
so a result computed with such pairs can be wrong by orders of magnitude while looking
like a number.

The rule (applied per k-point, to every such weight, at its call site):

    ε_mach × κ(k) × max_n |X_n(k)|  >  ROUNDOFF_LIMIT × N(k)    ->  QgmagError

with the conditioning κ(k) = max(1, E₀/δ_min(k)), δ_min the smallest splitting between
bands of different degenerate sets at k and E₀ = 1 eV: the eigenvectors of a pair split by
δ are mixed by ε_mach·|H|/δ (the backward error of the eigensolver), and that mixing, not the
last-digit rounding of the sum, is what the cancelling weights amplify (measured: Hermitian
noise of size ε_mach·|H| on GaAs_tb.dat / Te_tb.dat changes the per-k τ⁰ spin sea by 0.2 / 1.5
of its size at degeneracy_tol 1e-6, by < 1e-11 / 3e-3 at 1e-4 / 1e-3). The estimate is an
order-of-magnitude rule, not a bound: against that noise test it is 1e2-1e6 times too
pessimistic for most weights and up to 2e2 times optimistic for the spin τ⁰ surface of
GaAs at 1e-6 (which rule 2 below refuses),

with the natural scale N = |V|^p |O|^q / (1 eV)^r: the size of the same weight for a band
pair 1 eV apart (the energy scale of a Wannier band structure), built from the largest
matrix elements in the k-chunk of the velocity V = U†∂H U (eV·Å) and of the operator O (S/ħ or
m/(e/ħ)), with the powers p, q, r of the weight's own formula (so that N has its units in
eV, Å). A weight whose round-off error may exceed ROUNDOFF_LIMIT of that scale is refused:
with 1e-2, ε_mach·|M|/δ^r < 1e-2·|M| means δ > (ε_mach/1e-2)^{1/r} eV — 3e-7 eV for r = 2,
1e-4 eV for r = 4 without κ — i.e. the guard refuses pairs that are split by less than the splitting
at which round-off reaches a percent of an eV-scale weight. The fix is always the same:
a larger ``degeneracy_tol``, which makes such a pair one degenerate set (projector traces,
exact for a degenerate pair, O(δ²) off for a split one; continuity tests).

A second rule guards the same weights against a number that is exact but useless. A pair
of distinct bands split by δ with interband velocity V_nm carries intra-pair terms that
do *not* cancel when the partners' occupations or operator values differ (at finite T, or
for spin/orbital moments that are opposite in a Kramers pair): the formula's value then
grows as 1/δ^r although nothing is wrong numerically. The perturbation series in the field
behind every kinetic coefficient holds only while e|E||A_nm| ≪ δ with A_nm = V_nm/δ, i.e.
for fields E ≪ E* = δ²/(e|V_nm|). When E* at some k-point is below VALID_FIELD_MIN
(1e3 V/m = 10 V/cm, at the low end of the fields of transport and E² measurements), the
coefficient describes almost no field used in practice, and the response at practical
fields is that of the pair taken as one degenerate set: refused, with the same fix (a
larger degeneracy_tol).
Measured (4³ meshes): GaAs_tb.dat E* = 5e2 V/m at degeneracy_tol 1e-6, 1.1e6 at 1e-4;
Te_tb.dat 2e2 at 1e-6, 8e5 at 1e-3; Fe_tb.dat 3e4 at 1e-3 (4³), its spinor model 5e3
(3³). The floor is a choice, not a derived number: it separates these cases.
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.errors import QgmagError

#: refuse when ε_mach × the largest per-band weight exceeds this fraction of the natural
#: scale (module docstring). The same value the orbital τ⁰ sea was calibrated with on
#: Fe_tb.dat (ratios ≤ 1.5e-3 gave per-k errors ≤ 3e-7, ratios ≥ 8e-2 errors of order one).
ROUNDOFF_LIMIT = 1e-2

EPS = float(np.finfo(float).eps)

#: refuse when a pair of distinct bands keeps the field perturbation series valid only for
#: fields below this (V/m): E* = δ²/(e|V_nm|) (module docstring)
VALID_FIELD_MIN = 1e3


def valid_field(bands: BandData) -> np.ndarray:
    """E* (N,) in V/m: min over pairs of distinct bands of δ²_nm/(e|V_nm|) (|V_nm| the
    largest Cartesian component; ∞ where no pair couples)."""
    e = bands.energy
    gap = np.abs(bands.row_energy[:, :, None] - e[:, None, :])
    v = np.abs(bands.velocity_matrix).max(axis=0)  # eV·Å
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bands.degenerate | (v == 0), np.inf, gap**2 / v)  # eV/Å = V/Å
    return ratio.reshape(ratio.shape[0], -1).min(axis=1) * 1e10


def check_valid_field(bands: BandData, what: str) -> None:
    """QgmagError naming ``degeneracy_tol`` if E* < VALID_FIELD_MIN at some k-point."""
    estar = valid_field(bands)
    bad = estar < VALID_FIELD_MIN
    if not np.any(bad):
        return
    i = int(np.argmax(bad))
    e = bands.energy[i]
    gaps = np.abs(e[:, None] - e[None, :])
    split = gaps[gaps >= bands.degeneracy_tol]
    smallest = float(split.min()) if split.size else float("nan")
    raise QgmagError(
        f"{what}: bands split by {smallest:.1e} eV (degeneracy_tol="
        f"{bands.degeneracy_tol:g} eV treats them as distinct) are so strongly coupled by the "
        f"velocity that the field expansion holds only below {float(estar[i]):.1e} V/m "
        f"(< {VALID_FIELD_MIN:g} V/m): group them with a larger degeneracy_tol (e.g. "
        f"degeneracy_tol={_suggest(smallest, bands.degeneracy_tol):g})."
    )


def natural_scale(
    bands: BandData,
    velocity_power: int,
    op: np.ndarray | None = None,
    op_power: int = 0,
    rows: slice | None = None,
) -> np.ndarray:
    """|V|^p |O|^q (N,) (eV, Å units) from the largest matrix elements in the chunk (the
    model's velocity and operator scales; a per-k maximum would vanish where V does, e.g.
    at band extrema of a two-band model, while F keeps its ∂²H terms there)."""
    sl = slice(None) if rows is None else rows
    v = bands.velocity_matrix[:, sl]
    out = np.full(v.shape[1], float(np.abs(v).max()) ** velocity_power)
    if op is not None and op_power:
        out = out * float(np.abs(op[:, sl]).max()) ** op_power
    return out


def conditioning(bands: BandData, rows: slice | None = None) -> np.ndarray:
    """κ(k) = max(1, 1 eV/δ_min) per k-point (N,): δ_min the smallest gap between bands of
    different degenerate sets (sets are runs of the sorted energies, so neighbours suffice)."""
    e = bands.energy if rows is None else bands.energy[rows]
    d = np.diff(e, axis=1)
    d = np.where(d >= bands.degeneracy_tol, d, np.inf)
    smallest = d.min(axis=1) if d.shape[1] else np.full(e.shape[0], np.inf)
    return np.maximum(1.0, 1.0 / smallest)


def check_roundoff(
    biggest: np.ndarray,
    natural: np.ndarray,
    bands: BandData,
    what: str,
    rows: slice | None = None,
    conditioned: bool = True,
) -> None:
    """QgmagError naming ``degeneracy_tol`` if ε_mach·κ·biggest > ROUNDOFF_LIMIT·natural
    at some k-point. ``biggest`` and ``natural`` are (N,) per k-point (``rows``: the k-points
    of a sub-block of ``bands``); ``conditioned=False`` drops κ (module docstring)."""
    err = EPS * np.asarray(biggest)
    if conditioned:
        err = err * conditioning(bands, rows)
    bad = err > ROUNDOFF_LIMIT * np.asarray(natural)
    if not np.any(bad):
        return
    i = int(np.argmax(bad))
    if rows is not None:
        i += rows.start or 0
    energy = bands.energy[i]
    gaps = np.abs(energy[:, None] - energy[None, :])
    split = gaps[(gaps >= bands.degeneracy_tol)]
    smallest = float(split.min()) if split.size else float("nan")
    suggest = _suggest(smallest, bands.degeneracy_tol)
    raise QgmagError(
        f"{what}: bands split by {smallest:.1e} eV (degeneracy_tol={bands.degeneracy_tol:g} "
        "eV treats them as distinct) make this weight cancel between them beyond round-off "
        f"(terms ~ 1/splitting^r): group them with a larger degeneracy_tol (e.g. "
        f"degeneracy_tol={suggest:g})."
    )


def _suggest(smallest: float, tol: float) -> float:
    """A tolerance one decade above the offending splitting (at least 10× the current)."""
    if not np.isfinite(smallest) or smallest <= 0:
        return min(10 * tol, 1e-2)
    return float(min(max(10 ** np.ceil(np.log10(smallest) + 1e-12), 10 * tol), 1e-2))


def guard_weight(
    weight: np.ndarray,
    bands: BandData,
    what: str,
    velocity_power: int,
    op: np.ndarray | None = None,
    op_power: int = 0,
    field_check: bool = True,
) -> np.ndarray:
    """Check an integrand's weight (N, n, C) (k-points first) with both rules (round-off,
    and the field validity unless ``field_check=False``) and return it unchanged."""
    if weight.size == 0:
        return weight
    if field_check:
        check_valid_field(bands, what)
    biggest = np.abs(weight).reshape(weight.shape[0], -1).max(axis=1)
    check_roundoff(biggest, natural_scale(bands, velocity_power, op, op_power), bands, what)
    return weight
