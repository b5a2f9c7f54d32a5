"""Spinor partners of Wannier functions when no ``.spn`` file gives the spin matrices.

Ideal spin matrices (σ/2 on each (up, down) pair, on-site) are only right when the pairs
are right. A pair is *identified* when its two Wannier functions share a centre
(within :data:`PAIR_CENTRE_TOL`): the Wannier90 orderings "spin-fastest" (projections
give up and down consecutively) and "spin-blocks" are tried, and a pairing by centres
(every centre holding exactly two Wannier functions, lower index = up) is reported as a
suggestion. When no ordering passes, spin quantities are refused with
:class:`SpinPairsError`, whose message says how to pass ``spin_pairs=`` explicitly.
Never a silent wrong spin: a guessed ordering whose partners sit at different centres while
the centres themselves pair up differently (GaAs_tb.dat) is an error, not a warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qgmag.errors import ModelError
from qgmag.models.spin import PAULI

#: Å; the two partners of a spinor pair share a centre to this accuracy
PAIR_CENTRE_TOL = 0.01


class SpinPairsError(ModelError):
    """The spinor partners of the Wannier functions cannot be identified or are wrong."""


def ordering_pairs(n: int, ordering: str) -> list[tuple[int, int]]:
    """(up, down) pairs of the Wannier90 orderings "spin-fastest" and "spin-blocks"."""
    if n % 2:
        raise SpinPairsError(f"{n} Wannier functions cannot form spinor pairs (odd number).")
    if ordering == "spin-fastest":
        return [(2 * i, 2 * i + 1) for i in range(n // 2)]
    if ordering == "spin-blocks":
        return [(i, i + n // 2) for i in range(n // 2)]
    raise ValueError(f"unknown spinor ordering {ordering!r}.")


def separations(centres: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """|τ_up - τ_down| (Å) of every pair."""
    c = np.asarray(centres, dtype=float)
    return np.array([np.linalg.norm(c[i] - c[j]) for i, j in pairs])


def pairs_by_centre(centres: np.ndarray) -> list[tuple[int, int]] | None:
    """Pairs of Wannier functions sharing a centre, if every centre holds exactly two."""
    c = np.asarray(centres, dtype=float)
    left = list(range(c.shape[0]))
    pairs = []
    while left:
        i = left.pop(0)
        mates = [j for j in left if np.linalg.norm(c[i] - c[j]) < PAIR_CENTRE_TOL]
        if len(mates) != 1:
            return None
        left.remove(mates[0])
        pairs.append((i, mates[0]))
    return pairs


def check_pairs(pairs: Any, n: int) -> list[tuple[int, int]]:
    """Validate explicit (up, down) pairs: every index 0..n-1 exactly once."""
    try:
        out = [(int(a), int(b)) for a, b in pairs]
    except (TypeError, ValueError):
        raise SpinPairsError(
            f"spin_pairs must be a list of (up, down) index pairs; got {pairs!r}."
        ) from None
    flat = sorted(x for p in out for x in p)
    if flat != list(range(n)):
        raise SpinPairsError(
            f"spin_pairs must use every Wannier-function index 0..{n - 1} exactly once; got {out}."
        )
    return out


def identify_pairs(centres: np.ndarray, source: str) -> tuple[list[tuple[int, int]], str]:
    """The first Wannier90 ordering whose partners share centres, else SpinPairsError."""
    n = np.asarray(centres).shape[0]
    worst = {}
    for ordering in ("spin-fastest", "spin-blocks"):
        pairs = ordering_pairs(n, ordering)
        sep = separations(centres, pairs)
        if np.all(sep < PAIR_CENTRE_TOL):
            return pairs, f"{ordering} (partners share their centres)"
        worst[ordering] = float(sep.max())
    raise SpinPairsError(_refusal(centres, source, worst))


def _refusal(centres: np.ndarray, source: str, worst: dict[str, float]) -> str:
    hint = pairs_by_centre(centres)
    tried = ", ".join(f"{k}: partners up to {v:.2g} Å apart" for k, v in worst.items())
    suggestion = (
        f" The centres pair up as {hint} (check the up/down order against your projections)."
        if hint
        else ""
    )
    return (
        f"{source}: the spinor partners of the Wannier functions cannot be identified "
        f"({tried}), so spin quantities are refused. Give seedname.spn, or pass the pairs "
        f"explicitly: read_wannier90(..., spin_pairs=[(up, down), ...]).{suggestion}"
    )


def check_ordering(centres: np.ndarray, ordering: str, source: str) -> None:
    """Refuse an explicit ordering whose pairs are split while the centres pair differently."""
    pairs = ordering_pairs(np.asarray(centres).shape[0], ordering)
    sep = separations(centres, pairs)
    by_centre = pairs_by_centre(centres)
    if np.any(sep > PAIR_CENTRE_TOL) and by_centre is not None and by_centre != pairs:
        raise SpinPairsError(_refusal(centres, source, {ordering: float(sep.max())}))


def pair_spin_operators(pairs: list[tuple[int, int]], n: int) -> np.ndarray:
    """(3, n, n) S/ħ = σ/2 on each (up, down) pair."""
    spin = np.zeros((3, n, n), dtype=complex)
    for up, down in pairs:
        idx = np.array([up, down])
        for a in range(3):
            spin[a][np.ix_(idx, idx)] = 0.5 * PAULI[a]
    return spin


def pair_spin_matrices(pairs: list[tuple[int, int]], vectors: np.ndarray, n: int) -> np.ndarray:
    """S(R) (nR, n, n, 3) = σ/2 on the pairs at R = 0 (on-site), zero elsewhere."""
    out = np.zeros((vectors.shape[0], n, n, 3), dtype=complex)
    zero = int(np.flatnonzero(~np.any(vectors, axis=1))[0])
    out[zero] = np.moveaxis(pair_spin_operators(pairs, n), 0, -1)
    return out


def resolve_pairs(spin_pairs: Any, centres: np.ndarray, source: str) -> tuple[list, str]:
    """``spin_pairs`` = "auto" (identified) or explicit pairs -> (pairs, description)."""
    n = np.asarray(centres).shape[0]
    if isinstance(spin_pairs, str):
        if spin_pairs != "auto":
            raise SpinPairsError(
                f"spin_pairs must be 'auto', 'time-reversal' or a list of pairs; got "
                f"{spin_pairs!r}."
            )
        return identify_pairs(centres, source)
    return check_pairs(spin_pairs, n), "explicit pairs"


#: eV; a fitted Θ with a larger residual sqrt(Σ_R |H(R)U - U H(R)*|²) is not used for spin
TIME_REVERSAL_TOL = 0.05


def resolve_spin(
    spin_pairs: Any, centres: np.ndarray, source: str, hoppings: np.ndarray
) -> tuple[list[tuple[int, int]], np.ndarray, str]:
    """(pairs, on-site S/ħ (3, n, n), description) for ``spin_pairs``.

    "time-reversal": the Kramers pairs of the time-reversal operator Θ = U K fitted to
    H(R) (:func:`qgmag.io.time_reversal.fit_time_reversal`), which must be spinful
    (U U* = -1), pair every Wannier function and pair only partners that share a centre;
    S is then the exactly T-odd part (S - U S* U†)/2 of σ/2 on those pairs (lower index =
    up), so that an exactly time-reversal-symmetric model gets exactly zero spin
    magnetization. "auto" or explicit pairs: σ/2 on the pairs (:func:`resolve_pairs`).
    """
    n = np.asarray(centres).shape[0]
    if not (isinstance(spin_pairs, str) and spin_pairs == "time-reversal"):
        pairs, how = resolve_pairs(spin_pairs, centres, source)
        return pairs, pair_spin_operators(pairs, n), how
    from qgmag.io.time_reversal import TimeReversalError, fit_time_reversal

    try:
        fit = fit_time_reversal(hoppings, source)
    except TimeReversalError as exc:
        raise SpinPairsError(str(exc)) from None
    problem = None
    if fit.residual > TIME_REVERSAL_TOL:
        problem = f"the model is not time-reversal symmetric (residual {fit.residual:.3g} eV)"
    elif not fit.spinful:
        problem = f"the fitted Θ has Θ² = +1 (|UU* + 1| = {fit.antisymmetry:.2g}): spinless"
    elif fit.pairs is None:
        problem = "the fitted Θ does not pair the Wannier functions one to one"
    elif np.max(separations(centres, fit.pairs)) > PAIR_CENTRE_TOL:
        problem = "the Kramers partners of the fitted Θ do not share centres"
    if problem is not None:
        raise SpinPairsError(
            f"{source}: spin_pairs='time-reversal' cannot be used: {problem}; pass the pairs "
            "explicitly: spin_pairs=[(up, down), ...]."
        )
    spin = fit.odd_part(pair_spin_operators(fit.pairs, n))
    how = (
        f"Kramers pairs of the fitted time reversal (residual {fit.residual:.2g} eV, "
        f"T-odd part of σ/2)"
    )
    return fit.pairs, spin, how
