"""Hermann–Mauguin names of the 122 magnetic point groups, from the operations themselves.

The unprimed-and-primed rotation set {R} is one of the 32 crystallographic point groups,
identified by its counts of element types (1, -1, 2, m, 3, -3, 4, -4, 6, -6; unique per
group). The symbol positions of that group (principal axis, secondary and tertiary
directions) are found from the operations' axes; each character of the symbol refers to
one operation (e.g. "m" at a direction d = the mirror ⊥ d) and is primed when that
operation comes with time reversal. Where the symbol's directions can be assigned in
more than one way (the two classes of secondary axes of 4/mmm, 6/mmm, -6m2, ...; the
axes of orthorhombic groups) the one in the standard list :data:`MAGNETIC_POINT_GROUPS`
is taken. A group containing θ itself is grey: "G1'".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qgmag.symmetry.operations import MagneticGroup, MagneticOperation

#: the 122 magnetic point groups (standard Hermann–Mauguin symbols, Litvin/Bilbao order)
# fmt: off
MAGNETIC_POINT_GROUPS: tuple[str, ...] = (
    "1", "11'", "-1", "-11'", "-1'",
    "2", "21'", "2'", "m", "m1'", "m'", "2/m", "2/m1'", "2'/m", "2/m'", "2'/m'",
    "222", "2221'", "2'2'2", "mm2", "mm21'", "m'm2'", "m'm'2",
    "mmm", "mmm1'", "m'mm", "m'm'm", "m'm'm'",
    "4", "41'", "4'", "-4", "-41'", "-4'", "4/m", "4/m1'", "4'/m", "4/m'", "4'/m'",
    "422", "4221'", "4'22'", "42'2'", "4mm", "4mm1'", "4'mm'", "4m'm'",
    "-42m", "-42m1'", "-4'2'm", "-4'2m'", "-42'm'",
    "4/mmm", "4/mmm1'", "4/m'mm", "4'/mmm'", "4'/m'm'm", "4/mm'm'", "4/m'm'm'",
    "3", "31'", "-3", "-31'", "-3'", "32", "321'", "32'", "3m", "3m1'", "3m'",
    "-3m", "-3m1'", "-3'm", "-3m'", "-3'm'",
    "6", "61'", "6'", "-6", "-61'", "-6'", "6/m", "6/m1'", "6'/m", "6/m'", "6'/m'",
    "622", "6221'", "6'22'", "62'2'", "6mm", "6mm1'", "6'mm'", "6m'm'",
    "-6m2", "-6m21'", "-6'm'2", "-6'm2'", "-6m'2'",
    "6/mmm", "6/mmm1'", "6/m'mm", "6'/mmm'", "6'/m'mm'", "6/mm'm'", "6/m'm'm'",
    "23", "231'", "m-3", "m-31'", "m'-3'", "432", "4321'", "4'32'",
    "-43m", "-43m1'", "-4'3m'", "m-3m", "m-3m1'", "m'-3'm", "m-3m'", "m'-3'm'",
)
# fmt: on

_TYPES = ("1", "-1", "2", "m", "3", "-3", "4", "-4", "6", "-6")

# generators of the 32 point groups (axis, order, improper); standard orientation
_Z, _X, _D = (0, 0, 1), (1, 0, 0), (1, 1, 1)
_GENERATORS: dict[str, tuple[tuple[tuple[int, ...], int, bool], ...]] = {
    "1": (),
    "-1": ((_Z, 1, True),),
    "2": ((_Z, 2, False),),
    "m": ((_Z, 2, True),),
    "2/m": ((_Z, 2, False), (_Z, 1, True)),
    "222": ((_Z, 2, False), (_X, 2, False)),
    "mm2": ((_Z, 2, False), (_X, 2, True)),
    "mmm": ((_Z, 2, False), (_X, 2, False), (_Z, 1, True)),
    "4": ((_Z, 4, False),),
    "-4": ((_Z, 4, True),),
    "4/m": ((_Z, 4, False), (_Z, 1, True)),
    "422": ((_Z, 4, False), (_X, 2, False)),
    "4mm": ((_Z, 4, False), (_X, 2, True)),
    "-42m": ((_Z, 4, True), (_X, 2, False)),
    "4/mmm": ((_Z, 4, False), (_X, 2, False), (_Z, 1, True)),
    "3": ((_Z, 3, False),),
    "-3": ((_Z, 3, False), (_Z, 1, True)),
    "32": ((_Z, 3, False), (_X, 2, False)),
    "3m": ((_Z, 3, False), (_X, 2, True)),
    "-3m": ((_Z, 3, False), (_X, 2, False), (_Z, 1, True)),
    "6": ((_Z, 6, False),),
    "-6": ((_Z, 6, True),),
    "6/m": ((_Z, 6, False), (_Z, 1, True)),
    "622": ((_Z, 6, False), (_X, 2, False)),
    "6mm": ((_Z, 6, False), (_X, 2, True)),
    "-6m2": ((_Z, 6, True), (_X, 2, True)),
    "6/mmm": ((_Z, 6, False), (_X, 2, False), (_Z, 1, True)),
    "23": ((_Z, 2, False), (_D, 3, False)),
    "m-3": ((_Z, 2, False), (_D, 3, False), (_Z, 1, True)),
    "432": ((_Z, 4, False), (_D, 3, False)),
    "-43m": ((_Z, 4, True), (_D, 3, False)),
    "m-3m": ((_Z, 4, False), (_D, 3, False), (_Z, 1, True)),
}

# symbol templates: one entry per symbol position, (direction kind, characters)
_TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "1": (("any", ("1",)),),
    "-1": (("any", ("-1",)),),
    "2": (("u", ("2",)),),
    "m": (("u", ("m",)),),
    "2/m": (("u", ("2", "/m")),),
    "222": (("a1", ("2",)), ("a2", ("2",)), ("a3", ("2",))),
    "mm2": (("a1", ("m",)), ("a2", ("m",)), ("a3", ("2",))),
    "mmm": (("a1", ("m",)), ("a2", ("m",)), ("a3", ("m",))),
    "4": (("p", ("4",)),),
    "-4": (("p", ("-4",)),),
    "4/m": (("p", ("4", "/m")),),
    "422": (("p", ("4",)), ("s1", ("2",)), ("s2", ("2",))),
    "4mm": (("p", ("4",)), ("s1", ("m",)), ("s2", ("m",))),
    "-42m": (("p", ("-4",)), ("s1", ("2",)), ("s2", ("m",))),
    "4/mmm": (("p", ("4", "/m")), ("s1", ("m",)), ("s2", ("m",))),
    "3": (("p", ("3",)),),
    "-3": (("p", ("-3",)),),
    "32": (("p", ("3",)), ("s1", ("2",))),
    "3m": (("p", ("3",)), ("s1", ("m",))),
    "-3m": (("p", ("-3",)), ("s1", ("m",))),
    "6": (("p", ("6",)),),
    "-6": (("p", ("-6",)),),
    "6/m": (("p", ("6", "/m")),),
    "622": (("p", ("6",)), ("s1", ("2",)), ("s2", ("2",))),
    "6mm": (("p", ("6",)), ("s1", ("m",)), ("s2", ("m",))),
    "-6m2": (("p", ("-6",)), ("s1", ("m",)), ("s2", ("2",))),
    "6/mmm": (("p", ("6", "/m")), ("s1", ("m",)), ("s2", ("m",))),
    "23": (("c100", ("2",)), ("c111", ("3",))),
    "m-3": (("c100", ("m",)), ("c111", ("-3",))),
    "432": (("c100", ("4",)), ("c111", ("3",)), ("c110", ("2",))),
    "-43m": (("c100", ("-4",)), ("c111", ("3",)), ("c110", ("m",))),
    "m-3m": (("c100", ("m",)), ("c111", ("-3",)), ("c110", ("m",))),
}

# character -> (order, improper) of the operation it names at a direction d
# fmt: off
_CHAR_OPS = {
    "1": (1, False), "-1": (1, True), "2": (2, False), "m": (2, True), "/m": (2, True),
    "3": (3, False), "-3": (3, True), "4": (4, False), "-4": (4, True),
    "6": (6, False), "-6": (6, True),
}
# fmt: on


def _rotation(axis: np.ndarray, order: int, improper: bool) -> np.ndarray:
    ax = np.asarray(axis, dtype=float)
    ax = ax / np.linalg.norm(ax)
    phi = 2.0 * np.pi / order
    k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    r = np.eye(3) + np.sin(phi) * k + (1 - np.cos(phi)) * (k @ k)
    return -r if improper else r


def classify(rotation: np.ndarray) -> tuple[str, np.ndarray | None]:
    """Element type ("1", "-1", "2", "m", "3", "-3", "4", "-4", "6", "-6") and axis."""
    det = 1 if np.linalg.det(rotation) > 0 else -1
    proper = det * np.asarray(rotation, dtype=float)
    cos = np.clip((np.trace(proper) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    if angle < 1e-6:
        return ("1" if det > 0 else "-1"), None
    order = int(round(2 * np.pi / angle))
    w, v = np.linalg.eig(proper)
    axis = np.real(v[:, np.argmin(np.abs(w - 1.0))])
    axis = axis / np.linalg.norm(axis)
    name = {2: "2", 3: "3", 4: "4", 6: "6"}.get(order)
    if name is None:
        raise ValueError(f"rotation of order {order} is not crystallographic")
    if det < 0:
        name = "m" if name == "2" else "-" + name
    return name, axis


def _axis_label(axis: np.ndarray) -> str:
    a = np.asarray(axis, dtype=float)
    a = a * np.sign(a[np.argmax(np.abs(a) > 1e-6)])
    for i, lab in enumerate("xyz"):
        if abs(abs(a[i]) - 1.0) < 1e-6:
            return lab
    return "[" + ",".join(f"{x:.3g}" for x in a) + "]"


def operation_label(op: MagneticOperation) -> str:
    """E.g. ``1``, ``-1'``, ``2_z``, ``m_x'``, ``4_z``, ``3_[0.577,0.577,0.577]``."""
    kind, axis = classify(op.rotation)
    label = kind if axis is None else f"{kind}_{_axis_label(axis)}"
    if kind in ("3", "4", "6", "-3", "-4", "-6") and axis is not None:
        # sense of rotation: + when R rotates counter-clockwise about the axis
        proper = op.det * op.rotation
        perp = np.cross(axis, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(axis, [0.0, 1.0, 0.0])
        sense = np.dot(np.cross(perp, proper @ perp), axis)
        label += "+" if sense > 0 else "-"
    return label + ("'" if op.time_reversal else "")


def _counts(rotations: Sequence[np.ndarray]) -> tuple[int, ...]:
    kinds = [classify(r)[0] for r in rotations]
    return tuple(kinds.count(t) for t in _TYPES)


@lru_cache(maxsize=1)
def point_group_table() -> dict[tuple[int, ...], str]:
    """Element-type counts -> name, for the 32 crystallographic point groups."""
    from qgmag.symmetry.operations import generate_group, operation

    table: dict[tuple[int, ...], str] = {}
    for name, gens in _GENERATORS.items():
        group = generate_group([operation(a, n, improper=i) for a, n, i in gens])
        key = _counts([o.rotation for o in group])
        if key in table:  # pragma: no cover - a defect of the table itself
            raise RuntimeError(f"point groups {table[key]} and {name} have the same counts")
        table[key] = name
    return table


def standard_point_group(name: str) -> MagneticGroup:
    """The crystallographic point group ``name`` (e.g. "4/mmm") in standard orientation."""
    from qgmag.symmetry.operations import SymmetryError, generate_group, operation

    if name not in _GENERATORS:
        raise SymmetryError(f"unknown point group {name!r}; choose from {list(_GENERATORS)}.")
    return generate_group(
        [operation(a, n, improper=i) for a, n, i in _GENERATORS[name]], source=name
    )


def point_group_name(rotations: Sequence[np.ndarray]) -> str:
    """Name of the crystallographic point group formed by ``rotations``."""
    from qgmag.symmetry.operations import SymmetryError

    name = point_group_table().get(_counts(rotations))
    if name is None:
        raise SymmetryError(
            f"the {len(rotations)} rotations do not form a crystallographic point group."
        )
    return name


def _unique_axes(axes: list[np.ndarray]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for a in axes:
        if not any(abs(abs(np.dot(a, b)) - 1.0) < 1e-6 for b in out):
            out.append(a)
    return out


def _directions(pg: str, rotations: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Candidate assignments {direction kind: unit vector} of the symbol positions."""
    typed = [classify(r) for r in rotations]
    axes = _unique_axes([a for _, a in typed if a is not None])
    if pg in ("1", "-1"):
        return [{"any": np.array([0.0, 0.0, 1.0])}]
    if pg in ("2", "m", "2/m"):
        return [{"u": axes[0]}]
    if pg in ("222", "mm2", "mmm"):
        if pg == "mm2":
            two = next(a for k, a in typed if k == "2")
            rest = [a for a in axes if abs(np.dot(a, two)) < 1e-6]
            return [{"a1": p, "a2": q, "a3": two} for p, q in itertools.permutations(rest)]
        return [{"a1": p, "a2": q, "a3": r} for p, q, r in itertools.permutations(axes)]
    if pg[0] in "m2" or pg in ("-43m", "432"):  # cubic
        threes = _unique_axes([a for k, a in typed if k in ("3", "-3")])
        ref = threes[0]
        c100, c110 = [], []
        for other in threes[1:]:
            sign = -1.0 if np.dot(ref, other) > 0 else 1.0  # make the dot product -1/3
            c100.append(ref + sign * other)
            c110.append(ref - sign * other)
        c100 = [v / np.linalg.norm(v) for v in c100]
        c110 = [v / np.linalg.norm(v) for v in c110]
        return [{"c100": c100[0], "c111": ref, "c110": c110[0]}]
    principal_order = {"4": 4, "-4": 4, "3": 3, "-3": 3, "6": 6, "-6": 6}
    principal = next(a for k, a in typed if k in principal_order and pg.lstrip("-")[0] in k)
    secondary = [a for a in axes if abs(np.dot(a, principal)) < 1e-6]
    if not secondary:
        return [{"p": principal}]
    ref = secondary[0]
    step = 45.0 if pg.lstrip("-")[0] == "4" else 30.0
    other = next(
        (
            a
            for a in secondary
            if abs(abs(np.degrees(np.arccos(np.clip(abs(np.dot(a, ref)), 0, 1)))) - step) < 1e-3
        ),
        None,
    )
    out = [{"p": principal, "s1": ref, "s2": other if other is not None else ref}]
    if other is not None:
        out.append({"p": principal, "s1": other, "s2": ref})
    return out


def _find(group: MagneticGroup, rotation: np.ndarray) -> list[bool]:
    return [o.time_reversal for o in group if np.allclose(o.rotation, rotation, atol=1e-6)]


def mpg_name(group: MagneticGroup) -> str:
    """The Hermann–Mauguin symbol of a magnetic point group (one of the 122)."""
    from qgmag.symmetry.operations import SymmetryError

    rotations = _unique_axes_free([o.rotation for o in group])
    pg = point_group_name(rotations)
    grey = any(o.time_reversal and np.allclose(o.rotation, np.eye(3)) for o in group)
    if grey:
        return pg + "1'"
    if group.n_primed == 0:
        return pg
    candidates = []
    for dirs in _directions(pg, rotations):
        symbol = ""
        ok = True
        for kind, chars in _TEMPLATES[pg]:
            for ch in chars:
                order, improper = _CHAR_OPS[ch]
                primes = _find(group, _rotation(dirs[kind], order, improper))
                if len(primes) != 1:
                    ok = False
                    break
                symbol += ch + ("'" if primes[0] else "")
            if not ok:
                break
        if ok:
            candidates.append(symbol)
    for symbol in candidates:
        if symbol in MAGNETIC_POINT_GROUPS:
            return symbol
    raise SymmetryError(
        f"could not name the magnetic point group (point group {pg}, candidates {candidates}); "
        "please report this with the operations."
    )


def _unique_axes_free(rotations: list[np.ndarray]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for r in rotations:
        if not any(np.allclose(r, s, atol=1e-6) for s in out):
            out.append(r)
    return out


def all_magnetic_point_groups() -> list[MagneticGroup]:
    """See :func:`_all_groups` (a fresh list of the cached groups)."""
    return list(_all_groups())


@lru_cache(maxsize=1)
def _all_groups() -> tuple[MagneticGroup, ...]:
    """Every magnetic point group built from the 32 point groups in standard orientation:
    type I (G), grey (G1') and black-white G(H) for every index-2 subgroup H (conjugate
    subgroups give the same group type, so some types appear more than once)."""
    from qgmag.symmetry.operations import MagneticGroup, MagneticOperation

    out: list[MagneticGroup] = []
    for pg in _GENERATORS:
        base = standard_point_group(pg)
        ops = list(base.operations)
        out.append(base)
        out.append(
            MagneticGroup(ops + [MagneticOperation(o.rotation, True) for o in ops], source=pg)
        )
        n = len(ops)
        for subset in _index_two_subgroups(ops):
            out.append(
                MagneticGroup(
                    [MagneticOperation(o.rotation, i not in subset) for i, o in enumerate(ops)],
                    source=pg,
                )
            )
        del n
    return tuple(out)


def _index_two_subgroups(ops: Sequence[MagneticOperation]) -> list[set[int]]:
    """Index sets of the subgroups of index 2 (each is the kernel of a ±1 character)."""
    n = len(ops)
    if n % 2:
        return []
    table = np.zeros((n, n), dtype=int)
    index = {o.key: k for k, o in enumerate(ops)}
    for i, a in enumerate(ops):
        for j, b in enumerate(ops):
            ab = a.compose(b)
            table[i, j] = index[ab.key]
    found: list[set[int]] = []
    # a ±1 character is fixed by its values on generators; brute force over sign vectors of
    # a generating set is small: try every subset of half the elements containing the identity
    # via characters built from squares (elements that are squares must map to +1).
    identity = next(i for i, o in enumerate(ops) if np.allclose(o.rotation, np.eye(3)))
    gens = _generating_set(ops, table, identity)
    for signs in itertools.product((1, -1), repeat=len(gens)):
        if all(s == 1 for s in signs):
            continue
        char = {identity: 1}
        frontier = [identity]
        consistent = True
        while frontier and consistent:
            i = frontier.pop()
            for g, s in zip(gens, signs, strict=True):
                j = table[g, i]
                v = s * char[i]
                if j in char:
                    if char[j] != v:
                        consistent = False
                        break
                else:
                    char[j] = v
                    frontier.append(j)
        if consistent and len(char) == n:
            # check it is a homomorphism
            if all(char[table[a, b]] == char[a] * char[b] for a in range(n) for b in range(n)):
                sub = {i for i, v in char.items() if v == 1}
                if sub not in found:
                    found.append(sub)
    return found


def _generating_set(
    ops: Sequence[MagneticOperation], table: np.ndarray, identity: int
) -> list[int]:
    n = len(ops)
    gens: list[int] = []
    reached = {identity}
    while len(reached) < n:
        g = next(i for i in range(n) if i not in reached)
        gens.append(g)
        reached = {identity}
        frontier = [identity]
        while frontier:
            i = frontier.pop()
            for h in gens:
                j = int(table[h, i])
                if j not in reached:
                    reached.add(j)
                    frontier.append(j)
    return gens
