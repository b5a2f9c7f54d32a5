"""Neumann's principle: the tensor forms a magnetic point group allows.

For every operation g = (R, θ) an allowed rank-n tensor T satisfies

    T = s^t (det R)^p R^{⊗n} T,    s = -1 for primed g,

with p = 1 for axial and t = 1 for T-odd tensors; index-pair (anti)symmetries are extra
linear constraints. The allowed tensors are the null space of the stacked constraints
(SVD); :func:`allowed_form` returns it as a basis, a mask of the components that can be
non-zero and human-readable linear relations (from the reduced row-echelon form).

The symmetrizer :func:`group_average` (1/|G|) Σ_g ρ(g) is the orthogonal projector onto
the same space (without index symmetries); it is what makes an irreducible-mesh sum
equal to the full-mesh one.

:data:`TENSOR_KINDS` says, per observable and term, how its integrand transforms; an
observable added to :mod:`qgmag.observables.registry` needs an entry here to be used
with ``compute(..., symmetry=...)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from qgmag.symmetry.operations import MagneticGroup, SymmetryError

XYZ = "xyz"
#: components smaller than this (relative) are zero in a basis or relation
ZERO_TOL = 1e-9


@dataclass(frozen=True)
class TensorKind:
    """How a rank-n Cartesian tensor transforms (Neumann's rule).

    rank : number of Cartesian indices.
    axial : True for axial (pseudo-) tensors (det R factor).
    t_odd : True for time-reversal-odd (c-) tensors.
    index_symmetries : (i, j, sign) pairs: T is symmetric (+1) or antisymmetric (-1)
        under exchange of indices i and j (e.g. (1, 2, 1) for E² tensors).
    symbol : letter used in printed relations.
    """

    rank: int
    axial: bool
    t_odd: bool
    index_symmetries: tuple[tuple[int, int, int], ...] = ()
    symbol: str = "T"

    def describe(self) -> str:
        parity = "axial" if self.axial else "polar"
        time = "T-odd" if self.t_odd else "T-even"
        kind = {0: "scalar", 1: "vector", 2: "rank-2 tensor", 3: "rank-3 tensor"}.get(
            self.rank, f"rank-{self.rank} tensor"
        )
        return f"{parity} {kind}, {time}"


def representation(group: MagneticGroup, kind: TensorKind) -> np.ndarray:
    """(|G|, 3^n, 3^n) matrices s^t (det R)^p R^{⊗n} acting on flattened tensors."""
    mats = []
    for op in group:
        m = np.ones((1, 1))
        for _ in range(kind.rank):
            m = np.kron(m, op.rotation)
        mats.append(op.tensor_sign(kind.axial, kind.t_odd) * m)
    return np.array(mats)


def _permutation_matrix(rank: int, i: int, j: int) -> np.ndarray:
    n = 3**rank
    p = np.zeros((n, n))
    for idx in itertools.product(range(3), repeat=rank):
        swapped = list(idx)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        shape = (3,) * rank
        p[np.ravel_multi_index(tuple(swapped), shape), np.ravel_multi_index(idx, shape)] = 1
    return p


@dataclass(frozen=True)
class TensorForm:
    """The allowed form of a tensor under a group.

    basis : (n_free, 3, ..., 3) orthonormal basis of the allowed tensors.
    mask : (3, ..., 3) bool, True where a component can be non-zero.
    relations : readable lines, e.g. ["σ_xy = -σ_yx", "all else 0"].
    """

    kind: TensorKind
    basis: np.ndarray
    mask: np.ndarray
    relations: tuple[str, ...]

    @property
    def n_free(self) -> int:
        return int(self.basis.shape[0])

    def text(self) -> str:
        return "; ".join(self.relations)


def _label(symbol: str, idx: Sequence[int]) -> str:
    return symbol if not idx else f"{symbol}_{''.join(XYZ[i] for i in idx)}"


def _coefficient(x: float) -> str:
    frac = Fraction(x).limit_denominator(12)
    if abs(float(frac) - x) < 1e-9:
        return str(frac)
    for root, name in ((np.sqrt(3.0), "√3"), (np.sqrt(2.0), "√2")):
        f = Fraction(x / root).limit_denominator(12)
        if abs(float(f) * root - x) < 1e-9:
            num = "" if abs(f.numerator) == 1 else str(abs(f.numerator))
            sign = "-" if f < 0 else ""
            den = "" if f.denominator == 1 else f"/{f.denominator}"
            return f"{sign}{num}{name}{den}"
    return f"{x:.6g}"


def _rref(a: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, list[int]]:
    a = np.array(a, dtype=float)
    rows, cols = a.shape
    pivots: list[int] = []
    r = 0
    for col in range(cols):
        if r >= rows:
            break
        p = r + int(np.argmax(np.abs(a[r:, col])))
        if abs(a[p, col]) < tol:
            continue
        a[[r, p]] = a[[p, r]]
        a[r] /= a[r, col]
        for k in range(rows):
            if k != r:
                a[k] -= a[k, col] * a[r]
        pivots.append(col)
        r += 1
    a[np.abs(a) < tol] = 0.0
    return a[:r], pivots


def _relations(kind: TensorKind, basis: np.ndarray, dims: tuple[int, ...]) -> tuple[str, ...]:
    shape = (3,) * kind.rank
    flat = basis.reshape(len(basis), 3**kind.rank)
    if kind.rank == 0:
        return ("allowed",) if len(basis) else ("0 (forbidden)",)
    shown = [
        i
        for i, idx in enumerate(itertools.product(range(3), repeat=kind.rank))
        if all(ix < d for ix, d in zip(idx, dims, strict=True))
    ]
    if len(basis) == 0:
        return ("all components 0",)
    rref, pivots = _rref(flat)
    names = [_label(kind.symbol, np.unravel_index(i, shape)) for i in range(flat.shape[1])]
    lines = []
    zero = []
    for c in shown:
        column = rref[:, c]
        if c in pivots:
            continue
        nz = np.nonzero(np.abs(column) > ZERO_TOL)[0]
        if len(nz) == 0:
            zero.append(names[c])
            continue
        parts = []
        for r in nz:
            coef = _coefficient(float(column[r]))
            target = names[pivots[r]]
            term = target if coef == "1" else ("-" + target if coef == "-1" else f"{coef} {target}")
            parts.append(term)
        rhs = " + ".join(parts).replace("+ -", "- ")
        lines.append(f"{names[c]} = {rhs}")
    free = [names[p] for p in pivots if p in shown]
    head = [f"free: {', '.join(free)}"] if free else []
    if zero and len(zero) > len(shown) // 2:
        tail = ["all else 0"]
    else:
        tail = [f"{z} = 0" for z in zero]
    return tuple(head + lines + tail)


def allowed_form(
    kind: TensorKind | int,
    axial: bool = False,
    t_odd: bool = False,
    index_symmetries: Sequence[tuple[int, int, int]] = (),
    group: MagneticGroup | None = None,
    *,
    dims: Sequence[int] | None = None,
    symbol: str = "T",
) -> TensorForm:
    """The tensors allowed by ``group`` (Neumann's principle), generic in rank.

    Call as ``allowed_form(TensorKind(...), group=G)`` or
    ``allowed_form(rank, axial, t_odd, index_symmetries, G)``. ``dims`` limits the printed
    components per index (e.g. (3, 2) for α_ij of a 2D model, j in-plane).
    """
    if not isinstance(kind, TensorKind):
        kind = TensorKind(int(kind), bool(axial), bool(t_odd), tuple(index_symmetries), symbol)
    if group is None:
        raise SymmetryError("allowed_form needs a group.")
    n = 3**kind.rank
    blocks = [m - np.eye(n) for m in representation(group, kind)]
    for i, j, sign in kind.index_symmetries:
        blocks.append(_permutation_matrix(kind.rank, i, j) - sign * np.eye(n))
    a = np.vstack(blocks)
    _, s, vt = np.linalg.svd(a)
    null = vt[np.sum(s > 1e-8) :]
    null[np.abs(null) < ZERO_TOL] = 0.0
    shape = (3,) * kind.rank
    basis = null.reshape(len(null), *shape)
    mask = np.any(np.abs(basis) > ZERO_TOL, axis=0) if len(null) else np.zeros(shape, bool)
    dims_t = tuple(dims) if dims is not None else (3,) * kind.rank
    return TensorForm(kind, basis, np.asarray(mask), _relations(kind, basis, dims_t))


def group_average(group: MagneticGroup, kind: TensorKind) -> np.ndarray:
    """(3^n, 3^n) projector (1/|G|) Σ_g ρ(g) onto the group-invariant tensors."""
    return representation(group, kind).mean(axis=0)


# -- observables ------------------------------------------------------------------------------

AXIAL_T_ODD_VECTOR = TensorKind(1, True, True, symbol="M")
_AHC = TensorKind(1, True, True, symbol="σ")  # σ^c (c cyclic): the axial vector of σ_ab
_T_EVEN_KINETIC = TensorKind(2, True, False, symbol="α")
_T_ODD_KINETIC = TensorKind(2, True, True, symbol="α")
_T_ODD_E2 = TensorKind(3, True, True, ((1, 2, 1),), symbol="χ")
_T_EVEN_E2 = TensorKind(3, True, False, ((1, 2, 1),), symbol="χ")
_T_ODD_E2_CURRENT = TensorKind(3, False, True, ((1, 2, 1),), symbol="σ")
_T_EVEN_E2_CURRENT = TensorKind(3, False, False, ((1, 2, 1),), symbol="σ")

#: observable name -> {term name or "*": TensorKind of its integrand (the stored components)}
TENSOR_KINDS: dict[str, dict[str, TensorKind]] = {
    "spin_magnetization": {"*": TensorKind(1, True, True, symbol="M^S")},
    "orbital_magnetization": {"*": TensorKind(1, True, True, symbol="M^O")},
    "anomalous_hall_conductivity": {"*": _AHC},
    "chern_number": {"*": TensorKind(1, True, True, symbol="C")},
    "kinetic_spin_extrinsic": {"*": _T_EVEN_KINETIC},
    "kinetic_spin_intrinsic": {"*": _T_ODD_KINETIC},
    "kinetic_orbital_extrinsic": {"*": _T_EVEN_KINETIC},
    "kinetic_orbital_intrinsic": {"*": _T_ODD_KINETIC},
    # E² responses δO_i = χ_ijk E_j E_k (symmetric in j, k): the τ² (Drude) and τ⁰ parts are
    # T-odd like the magnetization (or current) itself, the τ¹ part (dipole of the first-order
    # field-induced moment) is T-even because τ is T-odd
    "kinetic_spin_second_order": {"*": _T_ODD_E2, "tau1": _T_EVEN_E2},
    "kinetic_orbital_second_order": {"*": _T_ODD_E2, "tau1": _T_EVEN_E2},
    "nonlinear_current_second_order": {"*": _T_ODD_E2_CURRENT, "tau1": _T_EVEN_E2_CURRENT},
}


def observable_kinds(observable: str) -> dict[str, TensorKind]:
    """Every distinct transformation of an observable's terms, by term name ("*" = default)."""
    tensor_kind(observable)
    return dict(TENSOR_KINDS[observable])


def variable_kinds(observable: str, variable: str) -> list[TensorKind]:
    """The transformations a result variable mixes: one for a part named after a term
    (``<observable>_tau1``), all of the observable's kinds for its total."""
    kinds = observable_kinds(observable)
    part = variable[len(observable) + 1 :] if variable != observable else ""
    part = part.removesuffix("_per_cell").removesuffix("_error").removesuffix("_roundoff")
    if part:
        return [kinds.get(part, kinds["*"])]
    return list(dict.fromkeys(kinds.values()))


def tensor_kind(observable: str, term: str = "*") -> TensorKind:
    """The transformation of an observable's term (see :data:`TENSOR_KINDS`)."""
    kinds = TENSOR_KINDS.get(observable)
    if kinds is None:
        raise SymmetryError(
            f"no symmetry rule for observable {observable!r}: add its TensorKind to "
            "qgmag.symmetry.tensors.TENSOR_KINDS, or run with symmetry=None."
        )
    return kinds.get(term, kinds["*"])


def _pad(values: np.ndarray, rank: int, dim: int) -> np.ndarray:
    """(..., 3·d^(n-1)) stored components (first index Cartesian, the others over the
    model's d directions) -> (..., 3^n) full tensors with zeros elsewhere."""
    lead = values.shape[:-1]
    if rank <= 1:
        return values
    shape = (3,) + (dim,) * (rank - 1)
    if values.shape[-1] != int(np.prod(shape)):
        raise SymmetryError(
            f"a rank-{rank} tensor of a {dim}D model must have {int(np.prod(shape))} stored "
            f"components; got {values.shape[-1]}."
        )
    full = np.zeros((*lead,) + (3,) * rank)
    full[(...,) + tuple(slice(0, n) for n in shape)] = values.reshape(*lead, *shape)
    return full.reshape(*lead, 3**rank)


def _unpad(full: np.ndarray, rank: int, dim: int) -> np.ndarray:
    if rank <= 1:
        return full
    lead = full.shape[:-1]
    shape = (3,) + (dim,) * (rank - 1)
    t = full.reshape(*lead, *(3,) * rank)[(...,) + tuple(slice(0, n) for n in shape)]
    return t.reshape(*lead, int(np.prod(shape)))


def symmetrize_estimate(
    estimate: np.ndarray, group: MagneticGroup, kind: TensorKind, dim: int
) -> np.ndarray:
    """The group average applied to an absolute error estimate (..., C) of stored
    components: (1/|G|) Σ_g |ρ(g)| E, which bounds the error of the averaged components
    (and of the full-mesh sum the irreducible mesh stands for) where E bounds the errors;
    0 on the components the group forbids (they are set exactly to 0)."""
    full = _pad(np.asarray(estimate, dtype=float), kind.rank, dim)
    out = full @ np.abs(representation(group, kind)).mean(axis=0).T
    out[..., ~allowed_form(kind, group=group).mask.reshape(-1)] = 0.0
    return _unpad(out, kind.rank, dim)


def symmetrize_components(
    values: np.ndarray, group: MagneticGroup, kind: TensorKind, dim: int
) -> np.ndarray:
    """Apply the group average to (..., C) stored components and set the components the
    group forbids exactly to 0. C = 3 for vectors, 3·d^(n-1) for rank n (first index
    Cartesian, the others over the model's d directions, i-major), any rank."""
    values = np.asarray(values, dtype=float)
    full = _pad(values, kind.rank, dim)
    out = full @ group_average(group, kind).T
    mask = allowed_form(kind, group=group).mask.reshape(-1)
    out[..., ~mask] = 0.0
    return _unpad(out, kind.rank, dim)
