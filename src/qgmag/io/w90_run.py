"""Parsers of a Wannier90 run: ``.chk`` (unformatted and ``.chk.fmt``), ``.eig``, ``.mmn``,
``.spn``, ``.uHu`` (formatted and unformatted) and the ``.win`` keys qgmag needs.

Only arrays come out of here (no physics); :mod:`qgmag.io.w90_rspace` builds the R-space
matrices from them. Every malformed file, and every set of files that do not belong
together (num_bands, num_kpts, nntot, num_wann, spinors), raises
:class:`~qgmag.errors.WannierFormatError` with a one-line message naming the file.

Layouts (Wannier90 3.x / pw2wannier90):

* ``.chk`` / ``.chk.fmt``: :mod:`qgmag.io.w90_chk` (re-exported here).
* ``.eig``: lines ``n k E_nk`` (eV).
* ``.mmn``: comment; ``num_bands num_kpts nntot``; per (k, b): ``k k_b G1 G2 G3`` and
  num_bands² lines ``Re Im`` of M_mn(k, b) = <u_mk|u_n,k+b>, m fastest.
* ``.spn``: <ψ_m|σ_s|ψ_n> for m <= n, component s fastest (unformatted: one record per k).
* ``.uHu``: <u_m,k+b1|H_k|u_n,k+b2> (eV), per k, b2, b1 one num_bands² block, n fastest.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io.fortran_records import FortranRecords, _complex, _is_unformatted, _need
from qgmag.io.w90_files import BOHR_ANGSTROM, _win_lines

# -- .win -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinData:
    """The ``.win`` keys qgmag uses (values None where absent)."""

    path: Path
    lattice: np.ndarray | None  # rows, Å
    mp_grid: tuple[int, int, int] | None
    spinors: bool
    num_wann: int | None
    num_bands: int | None
    exclude_bands: tuple[int, ...]  # 1-based, as written
    projections: tuple[str, ...]
    atoms: tuple[tuple[str, tuple[float, float, float]], ...]  # (label, fractional)


def _ranges(text: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return tuple(out)


def _block(lines: list[str], name: str) -> list[str] | None:
    lower = [ln.lower() for ln in lines]
    try:
        begin = next(i for i, ln in enumerate(lower) if re.fullmatch(rf"begin\s+{name}", ln))
        end = next(
            i for i in range(begin + 1, len(lower)) if re.fullmatch(rf"end\s+{name}", lower[i])
        )
    except StopIteration:
        return None
    return lines[begin + 1 : end]


def read_win(path: Path) -> WinData:
    """Read the subset of a ``.win`` file used for a run (lattice, mp_grid, spinors, ...)."""
    p = _need(Path(path), ".win file")
    try:
        text = p.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise WannierFormatError(f"{str(p)!r} is not a text .win file.") from None
    lines = _win_lines(text)
    keys: dict[str, str] = {}
    for ln in lines:
        m = re.fullmatch(r"([A-Za-z_]+)\s*[=:]?\s*(.*)", ln)
        if m and not ln.lower().startswith(("begin", "end")):
            keys.setdefault(m.group(1).lower(), m.group(2).strip())
    try:
        lattice = None
        cell = _block(lines, "unit_cell_cart")
        if cell is not None:
            scale = 1.0
            if cell and cell[0].lower() in ("bohr", "ang"):
                scale = BOHR_ANGSTROM if cell[0].lower() == "bohr" else 1.0
                cell = cell[1:]
            lattice = np.array([[float(x) for x in c.split()] for c in cell]) * scale
            if lattice.shape != (3, 3):
                raise ValueError("unit_cell_cart")
        mp = None
        if "mp_grid" in keys:
            vals = [int(x) for x in keys["mp_grid"].replace(",", " ").split()]
            if len(vals) != 3:
                raise ValueError("mp_grid")
            mp = (vals[0], vals[1], vals[2])
        spinors = keys.get("spinors", "f").lower().strip(".") in ("t", "true")
        num_wann = int(keys["num_wann"]) if "num_wann" in keys else None
        num_bands = int(keys["num_bands"]) if "num_bands" in keys else None
        exclude = _ranges(keys["exclude_bands"]) if "exclude_bands" in keys else ()
        atoms = []
        for ln in _block(lines, "atoms_frac") or []:
            parts = ln.split()
            atoms.append((parts[0], (float(parts[1]), float(parts[2]), float(parts[3]))))
    except (ValueError, IndexError) as exc:
        raise WannierFormatError(f"{str(p)!r}: cannot read the .win key/block {exc}.") from None
    return WinData(
        p,
        lattice,
        mp,
        spinors,
        num_wann,
        num_bands,
        exclude,
        tuple(_block(lines, "projections") or ()),
        tuple(atoms),
    )


# -- .eig, .mmn -------------------------------------------------------------------------


#: |band energy| above this (eV) in a .eig file is taken as corruption, not physics
MAX_ABS_ENERGY = 1e5


def read_eig(path: Path, num_bands: int, num_kpts: int) -> np.ndarray:
    """Band energies (num_kpts, num_bands) in eV."""
    p = _need(Path(path), ".eig file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            data = np.loadtxt(p, ndmin=2)
    except ValueError:
        raise WannierFormatError(f"{str(p)!r} is not a valid .eig file (lines 'n k E').") from None
    if data.size == 0 or data.shape[1] != 3:
        raise WannierFormatError(
            f"{str(p)!r}: .eig lines must be 'n k E'; found "
            + ("no data." if data.size == 0 else f"{data.shape[1]} columns.")
        )
    if not np.all(np.isfinite(data)) or np.abs(data[:, 2]).max() > MAX_ABS_ENERGY:
        raise WannierFormatError(
            f"{str(p)!r}: non-finite or absurd entries (|E| > {MAX_ABS_ENERGY:g} eV) in the "
            ".eig file."
        )
    index = data[:, :2]
    if np.any(index != np.round(index)) or index.min() < 1 or index.max() > 1e7:
        raise WannierFormatError(
            f"{str(p)!r}: the band and k-point indices of a .eig file are integers from 1."
        )
    nb, nk = int(data[:, 0].max()), int(data[:, 1].max())
    if (nb, nk) != (num_bands, num_kpts) or data.shape[0] != nb * nk:
        raise WannierFormatError(
            f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk} ({data.shape[0]} lines) but the "
            f"checkpoint has num_bands = {num_bands}, num_kpts = {num_kpts}."
        )
    kk, nn = data[:, 1].astype(int) - 1, data[:, 0].astype(int) - 1
    seen = np.zeros((nk, nb), dtype=int)
    np.add.at(seen, (kk, nn), 1)
    if np.any(seen != 1):
        k, n = np.argwhere(seen != 1)[0]
        raise WannierFormatError(
            f"{str(p)!r}: band {n + 1} at k-point {k + 1} appears {seen[k, n]} times in the "
            ".eig file (each (band, k-point) must appear once)."
        )
    eig = np.empty((nk, nb))
    eig[kk, nn] = data[:, 2]
    return eig


@dataclass(frozen=True)
class Overlaps:
    """``.mmn`` content: M[k, b] (num_bands, num_bands), neighbour index and G vector."""

    data: np.ndarray  # (nk, nntot, nb, nb)
    neighbours: np.ndarray  # (nk, nntot) 0-based
    g_vectors: np.ndarray  # (nk, nntot, 3) int


def read_mmn(path: Path, num_bands: int, num_kpts: int, nntot: int) -> Overlaps:
    """Read ``seedname.mmn``; checks its header against the checkpoint."""
    p = _need(Path(path), ".mmn file")
    with open(p, encoding="ascii", errors="replace") as fh:
        fh.readline()
        try:
            nb, nk, nnb = (int(x) for x in fh.readline().split())
        except ValueError:
            raise WannierFormatError(
                f"{str(p)!r}: line 2 must be 'num_bands num_kpts nntot'."
            ) from None
        if (nb, nk, nnb) != (num_bands, num_kpts, nntot):
            raise WannierFormatError(
                f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk}, nntot = {nnb} but the "
                f"checkpoint has {num_bands}, {num_kpts}, {nntot}."
            )
        text = fh.read()
    rows = text.split("\n")
    block = 1 + nb * nb
    rows = [r for r in rows if r.strip()]
    if len(rows) != nk * nnb * block:
        raise WannierFormatError(
            f"{str(p)!r} has {len(rows)} data lines; {nk * nnb * block} expected (truncated?)."
        )
    try:
        heads = np.array([rows[i].split() for i in range(0, len(rows), block)], dtype=int)
        body = np.array(
            [rows[i + 1 : i + block] for i in range(0, len(rows), block)], dtype=object
        ).ravel()
        values = np.array(" ".join(body).split(), dtype=float)
    except ValueError:
        raise WannierFormatError(f"{str(p)!r}: malformed overlap block.") from None
    if heads.shape != (nk * nnb, 5):
        raise WannierFormatError(
            f"{str(p)!r}: each overlap block must start with 'k k+b G1 G2 G3' (5 integers)."
        )
    if values.size != 2 * nk * nnb * nb * nb or not np.all(np.isfinite(values)):
        raise WannierFormatError(
            f"{str(p)!r}: the overlap blocks must hold {nb * nb} finite 'Re Im' pairs each "
            f"({values.size} numbers found in {nk * nnb} blocks)."
        )
    heads = heads.reshape(nk, nnb, 5)
    if not np.all(heads[:, :, 0] - 1 == np.arange(nk)[:, None]):
        raise WannierFormatError(f"{str(p)!r}: the blocks are not in k-point order.")
    if heads[:, :, 1].min() < 1 or heads[:, :, 1].max() > nk:
        raise WannierFormatError(f"{str(p)!r}: a neighbour k-point index is outside 1..{nk}.")
    m = (values[0::2] + 1j * values[1::2]).reshape(nk, nnb, nb, nb).transpose(0, 1, 3, 2)
    return Overlaps(m, heads[:, :, 1] - 1, heads[:, :, 2:])


# -- .spn, .uHu -------------------------------------------------------------------------


def read_spn(path: Path, num_bands: int, num_kpts: int) -> np.ndarray:
    """<ψ_mk|σ_s|ψ_nk> as (num_kpts, 3, num_bands, num_bands) (Pauli, dimensionless)."""
    p = _need(Path(path), ".spn file")
    npair = num_bands * (num_bands + 1) // 2
    if _is_unformatted(p):
        f = FortranRecords(p)
        f.text()
        nb, nk = (int(x) for x in f.read("i4", 2))
        _check_nb_nk(p, nb, nk, num_bands, num_kpts)
        rec = [_complex(f.read("f8", 6 * npair)) for _ in range(nk)]
    else:
        lines = p.read_text(encoding="ascii", errors="replace").split("\n")
        try:
            nb, nk = (int(x) for x in lines[1].split())
        except (ValueError, IndexError):
            raise WannierFormatError(f"{str(p)!r}: line 2 must be 'num_bands num_kpts'.") from None
        _check_nb_nk(p, nb, nk, num_bands, num_kpts)
        try:
            vals = np.array(" ".join(lines[2:]).split(), dtype=float)
        except ValueError:
            raise WannierFormatError(f"{str(p)!r} is not a valid .spn file.") from None
        if vals.size != 6 * npair * nk:
            raise WannierFormatError(
                f"{str(p)!r}: {vals.size // 2} values; {3 * npair * nk} expected."
            )
        vals = _complex(vals).reshape(nk, 3 * npair)
        rec = list(vals)
    upper_m, upper_n = np.triu_indices(num_bands)  # (m <= n), ordered n outer, m inner below
    order = np.lexsort((upper_m, upper_n))
    rows, cols = upper_m[order], upper_n[order]
    out = np.zeros((num_kpts, 3, num_bands, num_bands), dtype=complex)
    for k, r in enumerate(rec):
        a = r.reshape(npair, 3).T
        out[k][:, rows, cols] = a
        out[k][:, cols, rows] = np.conj(a)
        diag_imag = np.abs(np.imag(a[:, rows == cols])).max()
        if diag_imag > 1e-8:
            raise WannierFormatError(
                f"{str(p)!r}: k-point {k + 1} has complex diagonal spin elements (max |Im| = "
                f"{diag_imag:.2g}); the file is corrupt or not a .spn file."
            )
    # <m|σ|n> of normalised states is at most 1 in modulus (Cauchy-Schwarz)
    if not np.all(np.isfinite(out)) or np.abs(out).max() > 1.0 + 1e-6:
        raise WannierFormatError(
            f"{str(p)!r}: non-finite or > 1 spin matrix elements (corrupt .spn file)."
        )
    return out


def _check_nb_nk(p: Path, nb: int, nk: int, num_bands: int, num_kpts: int) -> None:
    if (nb, nk) != (num_bands, num_kpts):
        raise WannierFormatError(
            f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk} but the checkpoint has "
            f"num_bands = {num_bands}, num_kpts = {num_kpts}."
        )


def read_uhu(path: Path, num_bands: int, num_kpts: int, nntot: int) -> np.ndarray:
    """<u_m,k+b1|H_k|u_n,k+b2> as (num_kpts, nntot[b1], nntot[b2], nb, nb) in eV."""
    p = _need(Path(path), ".uHu file")
    nb2 = num_bands * num_bands
    if _is_unformatted(p):
        f = FortranRecords(p)
        f.text()
        nb, nk, nnb = (int(x) for x in f.read("i4", 3))
        _check_uhu(p, nb, nk, nnb, num_bands, num_kpts, nntot)
        flat = np.stack([_complex(f.read("f8", 2 * nb2)) for _ in range(nk * nnb * nnb)])
    else:
        with open(p, encoding="ascii", errors="replace") as fh:
            fh.readline()
            try:
                nb, nk, nnb = (int(x) for x in fh.readline().split())
            except ValueError:
                raise WannierFormatError(
                    f"{str(p)!r}: line 2 must be 'num_bands num_kpts nntot'."
                ) from None
            _check_uhu(p, nb, nk, nnb, num_bands, num_kpts, nntot)
            try:
                vals = np.array(fh.read().split(), dtype=float)
            except ValueError:
                raise WannierFormatError(f"{str(p)!r} is not a valid .uHu file.") from None
        if vals.size != 2 * nb2 * nk * nnb * nnb:
            raise WannierFormatError(f"{str(p)!r}: wrong number of values (truncated?).")
        flat = _complex(vals)
    if not np.all(np.isfinite(flat)):
        raise WannierFormatError(f"{str(p)!r}: non-finite matrix elements (corrupt .uHu file).")
    # file order: k, b2, b1, m, n (n fastest)
    return flat.reshape(nk, nnb, nnb, nb, nb).transpose(0, 2, 1, 3, 4)


def _check_uhu(p, nb, nk, nnb, num_bands, num_kpts, nntot) -> None:  # noqa: ANN001
    if (nb, nk, nnb) != (num_bands, num_kpts, nntot):
        raise WannierFormatError(
            f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk}, nntot = {nnb} but the checkpoint "
            f"has {num_bands}, {num_kpts}, {nntot}."
        )


from qgmag.io.w90_chk import (  # noqa: E402  (re-exported: one import for a run's readers)
    Checkpoint,
    read_chk,
    read_chk_fmt,
    write_chk_fmt,
)

__all__ = [
    "Checkpoint",
    "FortranRecords",
    "Overlaps",
    "WinData",
    "read_chk",
    "read_chk_fmt",
    "read_eig",
    "read_mmn",
    "read_spn",
    "read_uhu",
    "read_win",
    "write_chk_fmt",
]
