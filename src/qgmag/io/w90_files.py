"""Parsers for the Wannier90 text files qgmag reads: ``_hr.dat``, ``_tb.dat``, ``.win``,
``.wout`` and ``_centres.xyz``.

These functions turn text into arrays and check the layout; they know nothing about
models (that is :mod:`qgmag.io.wannier90`). Every malformed input raises
:class:`~qgmag.errors.WannierFormatError` naming the file and the problem.

File layouts (Wannier90 3.x, ``hamiltonian_write_hr`` / ``hamiltonian_write_tb``):

``seedname_hr.dat``::

    comment
    num_wann
    nrpts
    ndegen(1..nrpts)                     15 per line
    R1 R2 R3 m n Re(H) Im(H)              nrpts * num_wann**2 lines, R outermost

``seedname_tb.dat``::

    comment
    a1 (Å)  a2 (Å)  a3 (Å)               three lines, rows = lattice vectors
    num_wann
    nrpts
    ndegen(1..nrpts)
    per R: blank, R1 R2 R3, num_wann**2 lines  m n Re(H) Im(H)
    per R: blank, R1 R2 R3, num_wann**2 lines  m n Re(x) Im(x) Re(y) Im(y) Re(z) Im(z)

with ``H_mn(R) = <m,0|H|n,R>`` (eV) and ``r_mn(R) = <m,0|r|n,R>`` (Å), both *not yet
divided* by the Wigner–Seitz degeneracy ``ndegen(R)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.constants import physical_constants

from qgmag.errors import WannierFormatError

#: Bohr radius in Å (CODATA via scipy.constants), for ``bohr`` units in .win/.wout files.
BOHR_ANGSTROM = physical_constants["Bohr radius"][0] * 1e10

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class RawWannierData:
    """The content of one ``_hr.dat`` / ``_tb.dat`` file, degeneracies not yet applied.

    Attributes
    ----------
    path : the file read.
    kind : "hr" or "tb".
    comment : first line of the file.
    num_wann : number of Wannier functions.
    vectors : (nR, 3) int lattice vectors R (fractional, i.e. in units of the lattice rows).
    degeneracies : (nR,) int Wigner–Seitz degeneracies as written in the file.
    hamiltonian : (nR, n, n) complex, ``<m,0|H|n,R>`` in eV as written (not divided).
    position : (nR, n, n, 3) complex ``<m,0|r|n,R>`` in Å as written, or None
        (``_hr.dat``, or a ``_tb.dat`` without position block).
    lattice : (3, 3) rows in Å (``_tb.dat``), or None (``_hr.dat``).
    """

    path: Path
    kind: str
    comment: str
    num_wann: int
    vectors: np.ndarray
    degeneracies: np.ndarray
    hamiltonian: np.ndarray
    position: np.ndarray | None
    lattice: np.ndarray | None

    @property
    def seedname(self) -> str:
        """File name without the ``_hr.dat`` / ``_tb.dat`` suffix."""
        return seedname_of(self.path)


def seedname_of(path: PathLike) -> str:
    """``.../Fe_tb.dat`` -> ``Fe``; other names lose only their extension."""
    name = Path(path).name
    for suffix in ("_hr.dat", "_tb.dat"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _read_text(path: PathLike, what: str) -> tuple[Path, str]:
    p = Path(path).expanduser()
    if not p.exists():
        raise WannierFormatError(f"{what} {str(p)!r} does not exist.")
    if not p.is_file():
        raise WannierFormatError(f"{what} {str(p)!r} is not a file.")
    try:
        with open(p, encoding="ascii", errors="strict") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise WannierFormatError(
            f"{str(p)!r} is not a Wannier90 text file (it contains non-ASCII/binary data)."
        ) from None
    return p, text


def _bad(path: Path, problem: str) -> WannierFormatError:
    return WannierFormatError(f"{str(path)!r} is not a valid Wannier90 file: {problem}")


def _to_floats(text: str, path: Path, first_line: int, what: str) -> np.ndarray:
    """All whitespace-separated numbers of ``text`` as one float array (fast path), or an
    error that names the first non-numeric entry and its line number."""
    if "D" in text or "d" in text:  # Fortran double-precision exponents, 1.0D+00
        text = text.replace("D", "E").replace("d", "e")
    tokens = text.split()
    try:
        values = np.array(tokens, dtype=float)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for offset, line in enumerate(text.splitlines()):
        for token in line.split():
            try:
                if not np.isfinite(float(token)):
                    raise ValueError(token)
            except ValueError:
                raise _bad(
                    path,
                    f"non-numeric entry {token!r} on line {first_line + offset} in {what}.",
                ) from None
    raise _bad(path, f"unreadable numbers in {what}.")  # pragma: no cover


def _as_int(values: np.ndarray, path: Path, what: str) -> np.ndarray:
    if values.size and not np.all(values == np.round(values)):
        bad = values[values != np.round(values)][0]
        raise _bad(path, f"{what} must be integers; found {bad!r}.")
    if values.size and np.abs(values).max() >= 2.0**53:  # beyond exact integers (int64 cast)
        big = float(np.abs(values).max())
        raise _bad(path, f"{what} must be integers of a sensible size; found {big:.6g}.")
    return np.round(values).astype(np.int64)


def _header_int(lines: list[str], index: int, path: Path, what: str) -> int:
    if index >= len(lines):
        raise _bad(path, f"the file ends before line {index + 1} ({what}).")
    tokens = lines[index].split()
    if len(tokens) != 1:
        raise _bad(
            path, f"line {index + 1} should hold {what} (one integer); found {lines[index]!r}."
        )
    try:
        value = int(tokens[0])
    except ValueError:
        raise _bad(path, f"line {index + 1} should hold {what}; found {tokens[0]!r}.") from None
    if value < 1:
        raise _bad(path, f"{what} on line {index + 1} must be positive; found {value}.")
    return value


def _degeneracies(lines: list[str], start: int, nrpts: int, path: Path) -> tuple[np.ndarray, int]:
    """Read ``nrpts`` integers from lines[start:]; return them and the next line index."""
    values: list[str] = []
    index = start
    while len(values) < nrpts:
        if index >= len(lines):
            raise _bad(path, f"the file ends inside the list of {nrpts} R-vector degeneracies.")
        values.extend(lines[index].split())
        index += 1
    if len(values) != nrpts:
        raise _bad(
            path,
            f"the degeneracy list (lines {start + 1}-{index}) holds {len(values)} numbers but "
            f"nrpts = {nrpts}.",
        )
    try:
        deg = np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        raise _bad(path, f"non-integer R-vector degeneracy in lines {start + 1}-{index}.") from None
    if np.any(deg < 1):
        raise _bad(path, "R-vector degeneracies must be positive integers.")
    return deg, index


def _scatter_blocks(
    index_m: np.ndarray,
    index_n: np.ndarray,
    values: np.ndarray,
    num_wann: int,
    path: Path,
    what: str,
) -> np.ndarray:
    """(nR, n*n) orbital indices (1-based) + (nR, n*n, c) values -> (nR, n, n, c)."""
    m = _as_int(index_m, path, f"orbital indices m in {what}")
    n = _as_int(index_n, path, f"orbital indices n in {what}")
    n_r = m.shape[0]
    out_of_range = (m < 1) | (m > num_wann) | (n < 1) | (n > num_wann)
    if np.any(out_of_range):
        r, line = np.argwhere(out_of_range)[0]
        raise _bad(
            path,
            f"orbital index pair ({m[r, line]}, {n[r, line]}) in {what} (R block {r + 1}) is "
            f"outside 1..num_wann = {num_wann}.",
        )
    flat = (m - 1) * num_wann + (n - 1)  # (nR, n*n)
    expected = np.arange(num_wann * num_wann)
    # Wannier90 order: m fastest, i.e. flat index = (line % n) * n + line // n
    w90_order = (expected % num_wann) * num_wann + expected // num_wann
    if np.array_equal(flat, np.broadcast_to(w90_order, flat.shape)):
        order = np.argsort(w90_order)
        return values[:, order].reshape(n_r, num_wann, num_wann, -1)
    sorted_flat = np.sort(flat, axis=1)
    if not np.array_equal(sorted_flat, np.broadcast_to(expected, flat.shape)):
        r = int(np.argwhere(np.any(sorted_flat != expected, axis=1))[0, 0])
        raise _bad(
            path,
            f"R block {r + 1} of {what} does not list every orbital pair (m, n) exactly once.",
        )
    out = np.empty_like(values)
    np.put_along_axis(out, flat[..., None], values, axis=1)
    return out.reshape(n_r, num_wann, num_wann, -1)


def _check_vectors(vectors: np.ndarray, path: Path) -> None:
    rows = {tuple(v) for v in vectors.tolist()}
    if len(rows) != vectors.shape[0]:
        raise _bad(path, "an R vector appears twice.")


def read_hr(path: PathLike) -> RawWannierData:
    """Parse a Wannier90 ``seedname_hr.dat`` file (see the module docstring)."""
    p, text = _read_text(path, "Wannier90 file")
    lines = text.splitlines()
    if len(lines) < 4:
        raise _bad(
            p, f"only {len(lines)} lines; a _hr.dat file has a comment, num_wann, nrpts, ..."
        )
    num_wann = _header_int(lines, 1, p, "num_wann")
    nrpts = _header_int(lines, 2, p, "nrpts (number of R vectors)")
    deg, start = _degeneracies(lines, 3, nrpts, p)
    data = _to_floats("\n".join(lines[start:]), p, start + 1, "the H(R) lines")
    n2 = num_wann * num_wann
    expected = nrpts * n2 * 7
    if data.size != expected:
        raise _bad(
            p,
            f"expected nrpts * num_wann^2 = {nrpts} * {n2} lines of 7 numbers "
            f"({expected} numbers) after the header, found {data.size} numbers: the file is "
            "truncated, has extra data, or num_wann/nrpts are wrong.",
        )
    rows = data.reshape(nrpts, n2, 7)
    r_all = _as_int(rows[:, :, :3], p, "R vector components")
    vectors = r_all[:, 0, :]
    changing = np.any(r_all != vectors[:, None, :], axis=(1, 2))
    if np.any(changing):
        r = int(np.argmax(changing))
        raise _bad(
            p,
            f"R changes inside block {r + 1} (lines {start + 1 + r * n2}-{start + (r + 1) * n2}); "
            "each R must list its num_wann^2 elements consecutively.",
        )
    _check_vectors(vectors, p)
    values = rows[:, :, 5] + 1j * rows[:, :, 6]
    ham = _scatter_blocks(rows[:, :, 3], rows[:, :, 4], values[..., None], num_wann, p, "H(R)")
    return RawWannierData(
        path=p,
        kind="hr",
        comment=lines[0].strip(),
        num_wann=num_wann,
        vectors=vectors,
        degeneracies=deg,
        hamiltonian=ham[..., 0],
        position=None,
        lattice=None,
    )


def read_tb(path: PathLike, *, positions_optional: bool = False) -> RawWannierData:
    """Parse a Wannier90 ``seedname_tb.dat`` file (see the module docstring).

    Wannier90 always writes the r(R) blocks after H(R), so a file whose body ends exactly
    after the H(R) blocks is truncated and refused, unless ``positions_optional`` (the
    caller supplies the Wannier centres itself, so the file may lack r(R) on purpose).
    """
    p, text = _read_text(path, "Wannier90 file")
    lines = text.splitlines()
    if len(lines) < 7:
        raise _bad(
            p,
            f"only {len(lines)} lines; a _tb.dat file has a comment, 3 lattice lines, "
            "num_wann, nrpts, ...",
        )
    lattice = _to_floats("\n".join(lines[1:4]), p, 2, "the lattice vectors (lines 2-4)")
    if lattice.size != 9 or any(len(line.split()) != 3 for line in lines[1:4]):
        raise _bad(p, "lines 2-4 must hold the three lattice vectors (3 numbers each, Å).")
    lattice = lattice.reshape(3, 3)
    num_wann = _header_int(lines, 4, p, "num_wann")
    nrpts = _header_int(lines, 5, p, "nrpts (number of R vectors)")
    deg, start = _degeneracies(lines, 6, nrpts, p)
    data = _to_floats("\n".join(lines[start:]), p, start + 1, "the H(R) and r(R) blocks")
    n2 = num_wann * num_wann
    size_h = nrpts * (3 + 4 * n2)
    size_r = nrpts * (3 + 8 * n2)
    if data.size == size_h and not positions_optional:
        raise _bad(
            p,
            f"with num_wann = {num_wann} and nrpts = {nrpts} the body holds the {size_h} numbers "
            f"of the H(R) blocks but none of the {size_r} of the position blocks r(R) that "
            "Wannier90 writes after them: the file is truncated (cut after H(R)); a file "
            "written without positions on purpose needs explicit centres= or positions=.",
        )
    if data.size not in (size_h, size_h + size_r):
        raise _bad(
            p,
            f"with num_wann = {num_wann} and nrpts = {nrpts} the body should hold {size_h} "
            f"numbers (H(R) blocks) plus {size_r} (position blocks), found {data.size}: the "
            "file is truncated, has extra data, or num_wann/nrpts are wrong.",
        )
    h_rows = data[:size_h].reshape(nrpts, 3 + 4 * n2)
    vectors = _as_int(h_rows[:, :3], p, "R vector components")
    _check_vectors(vectors, p)
    body = h_rows[:, 3:].reshape(nrpts, n2, 4)
    values = (body[:, :, 2] + 1j * body[:, :, 3])[..., None]
    ham = _scatter_blocks(body[:, :, 0], body[:, :, 1], values, num_wann, p, "H(R)")[..., 0]
    position = None
    if data.size > size_h:
        r_rows = data[size_h:].reshape(nrpts, 3 + 8 * n2)
        r_vectors = _as_int(r_rows[:, :3], p, "R vector components")
        if not np.array_equal(r_vectors, vectors):
            r = int(np.argmax(np.any(r_vectors != vectors, axis=1)))
            raise _bad(
                p,
                f"position block {r + 1} is for R = {tuple(r_vectors[r])} but the Hamiltonian "
                f"block {r + 1} is for R = {tuple(vectors[r])}; both must list R in one order.",
            )
        rb = r_rows[:, 3:].reshape(nrpts, n2, 8)
        rvals = rb[:, :, 2::2] + 1j * rb[:, :, 3::2]  # (nR, n*n, 3)
        position = _scatter_blocks(rb[:, :, 0], rb[:, :, 1], rvals, num_wann, p, "r(R)")
    return RawWannierData(
        path=p,
        kind="tb",
        comment=lines[0].strip(),
        num_wann=num_wann,
        vectors=vectors,
        degeneracies=deg,
        hamiltonian=ham,
        position=position,
        lattice=lattice,
    )


def detect_kind(path: PathLike) -> str:
    """ "hr" or "tb" from the file name, else from line 2 (one integer vs three numbers)."""
    name = Path(path).name
    if name.endswith("_hr.dat"):
        return "hr"
    if name.endswith("_tb.dat"):
        return "tb"
    p, text = _read_text(path, "Wannier90 file")
    lines = text.splitlines()
    second = lines[1].split() if len(lines) > 1 else []
    if len(second) == 1:
        return "hr"
    if len(second) == 3:
        return "tb"
    raise _bad(
        p,
        "cannot tell whether it is a seedname_hr.dat or seedname_tb.dat file (line 2 should "
        "hold num_wann, or the first lattice vector).",
    )


def read_hamiltonian_file(path: PathLike, *, positions_optional: bool = False) -> RawWannierData:
    """Parse ``_hr.dat`` or ``_tb.dat``, chosen by :func:`detect_kind`."""
    if detect_kind(path) == "hr":
        return read_hr(path)
    return read_tb(path, positions_optional=positions_optional)


# -- .win / .wout / _centres.xyz ------------------------------------------------------------

_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"


def _win_lines(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = re.split(r"[!#]", line, maxsplit=1)[0].strip()
        if line:
            out.append(line)
    return out


def _floats_of(line: str) -> list[float]:
    return [float(x.replace("d", "e").replace("D", "e")) for x in line.split()]


def read_win_lattice(path: PathLike) -> np.ndarray:
    """Lattice rows (Å) from the ``unit_cell_cart`` block of a ``.win`` file (units ``ang``
    (default) or ``bohr``)."""
    p, text = _read_text(path, ".win file")
    lines = _win_lines(text)
    lower = [line.lower() for line in lines]
    try:
        begin = next(i for i, ln in enumerate(lower) if re.fullmatch(r"begin\s+unit_cell_cart", ln))
        end = next(
            i
            for i, ln in enumerate(lower)
            if i > begin and re.fullmatch(r"end\s+unit_cell_cart", ln)
        )
    except StopIteration:
        raise WannierFormatError(
            f"{str(p)!r} has no 'begin unit_cell_cart ... end unit_cell_cart' block, so the "
            "lattice cannot be taken from it; pass lattice=(3, 3) rows in Å."
        ) from None
    block = lines[begin + 1 : end]
    scale = 1.0
    if block and block[0].lower() in ("bohr", "ang"):
        scale = BOHR_ANGSTROM if block[0].lower() == "bohr" else 1.0
        block = block[1:]
    try:
        rows = [_floats_of(line) for line in block]
    except ValueError:
        rows = []
    if len(rows) != 3 or any(len(r) != 3 for r in rows):
        raise WannierFormatError(
            f"the unit_cell_cart block of {str(p)!r} must hold an optional unit line (bohr/ang) "
            f"and three lines of three numbers; found {block!r}."
        )
    return np.array(rows, dtype=float) * scale


def read_win_spinors(path: PathLike) -> bool | None:
    """The ``spinors`` flag of a ``.win`` file: True/False, or None if absent."""
    _, text = _read_text(path, ".win file")
    for line in _win_lines(text):
        match = re.fullmatch(r"spinors\s*[=:\s]\s*(\S+)", line, flags=re.IGNORECASE)
        if match:
            return match.group(1).lower().strip(".") in ("t", "true")
    return None


def read_win_value(path: PathLike, key: str) -> str | None:
    """The value of ``key`` (case-insensitive; ``key = v``, ``key : v`` or ``key v``) in a
    ``.win`` file as written, or None if absent (the first occurrence counts, as in
    Wannier90)."""
    _, text = _read_text(path, ".win file")
    for line in _win_lines(text):
        match = re.fullmatch(rf"{key}\s*(?:[=:]|\s)\s*(.*)", line, flags=re.IGNORECASE)
        if match:
            return match.group(1).strip()
    return None


def read_win_minimal_distance(
    path: PathLike,
) -> tuple[bool | None, tuple[int, int, int] | None]:
    """``use_ws_distance`` (True/False, None if absent) and ``mp_grid`` (None if absent) of
    a ``.win`` file: the two keys that decide Wannier90's minimal-distance rule."""
    p = Path(path)
    flag = read_win_value(p, "use_ws_distance")
    use = None
    if flag is not None:
        word = flag.lower().strip(".")
        if word not in ("t", "true", "f", "false"):
            raise WannierFormatError(
                f"{str(p)!r}: use_ws_distance = {flag!r} is not a logical; write true or false."
            )
        use = word in ("t", "true")
    grid = read_win_value(p, "mp_grid")
    mp = None
    if grid is not None:
        try:
            vals = [int(x) for x in grid.replace(",", " ").split()]
        except ValueError:
            vals = []
        if len(vals) != 3 or min(vals) < 1:
            raise WannierFormatError(
                f"{str(p)!r}: mp_grid = {grid!r} must be three positive integers."
            )
        mp = (vals[0], vals[1], vals[2])
    return use, mp


def read_wout(path: PathLike) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Lattice rows (Å) and the last printed Wannier centres (Cartesian Å) of a ``.wout``.

    Either is None when the file does not contain it. Bohr output (``length_unit = bohr``)
    is converted.
    """
    p, text = _read_text(path, ".wout file")
    lattice = None
    headers = list(re.finditer(r"Lattice Vectors \((Ang|Bohr)\)", text, flags=re.IGNORECASE))
    unit_match = headers[-1] if headers else None
    scale = 1.0
    if unit_match is not None:
        scale = BOHR_ANGSTROM if unit_match.group(1).lower() == "bohr" else 1.0
        after = text[unit_match.end() :]
        rows = re.findall(rf"a_[123]\s+({_FLOAT})\s+({_FLOAT})\s+({_FLOAT})", after[:2000])
        if len(rows) >= 3:
            lattice = np.array([[float(x) for x in r] for r in rows[:3]]) * scale
    centre_re = re.compile(
        rf"WF centre and spread\s+(\d+)\s+\(\s*({_FLOAT})\s*,\s*({_FLOAT})\s*,\s*({_FLOAT})\s*\)"
    )
    final = text.rfind("Final State")
    region = text[final:] if final >= 0 else text
    found = centre_re.findall(region)
    centres = None
    if found:
        # keep the last listing: indices restart at 1 for every printed set
        last: dict[int, list[float]] = {}
        for idx, x, y, z in found:
            if int(idx) == 1:
                last = {}
            last[int(idx)] = [float(x), float(y), float(z)]
        centres = np.array([last[i] for i in sorted(last)]) * scale
    return lattice, centres


def read_centres_xyz(path: PathLike) -> np.ndarray:
    """Wannier centres (Cartesian Å) from ``seedname_centres.xyz`` (the ``X`` lines)."""
    p, text = _read_text(path, "_centres.xyz file")
    rows = []
    for line in text.splitlines()[2:]:
        tokens = line.split()
        if len(tokens) >= 4 and tokens[0].upper() == "X":
            try:
                rows.append([float(t) for t in tokens[1:4]])
            except ValueError:
                raise WannierFormatError(
                    f"{str(p)!r}: cannot read the Wannier centre line {line!r}."
                ) from None
    if not rows:
        raise WannierFormatError(
            f"{str(p)!r} holds no Wannier centre lines ('X  x  y  z', Å) after its two "
            "header lines."
        )
    return np.array(rows, dtype=float)
