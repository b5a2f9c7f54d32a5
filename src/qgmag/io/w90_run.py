"""Parsers of a Wannier90 run: ``.chk`` (unformatted and ``.chk.fmt``), ``.eig``, ``.mmn``,
``.spn``, ``.uHu`` (formatted and unformatted) and the ``.win`` keys qgmag needs.

Only arrays come out of here (no physics); :mod:`qgmag.io.w90_rspace` builds the R-space
matrices from them. Every malformed file, and every set of files that do not belong
together (num_bands, num_kpts, nntot, num_wann, spinors), raises
:class:`~qgmag.errors.WannierFormatError` with a one-line message naming the file.

Layouts (Wannier90 3.x / pw2wannier90):

* ``.chk`` (``w90_wannierise`` checkpoint, Fortran sequential records): header; num_bands;
  num_exclude_bands; exclude_bands; real_lattice (Å, 3x3); recip_lattice; num_kpts;
  mp_grid; kpt_latt (reduced); nntot; num_wann; checkpoint; have_disentangled; [omega_inv;
  lwindow (num_bands, num_kpts); ndimwin; u_matrix_opt (num_bands, num_wann, num_kpts)];
  u_matrix (num_wann, num_wann, num_kpts); m_matrix; wannier_centres (3, num_wann) Å;
  wannier_spreads. ``.chk.fmt`` (``w90chk2chk.x -export``) has the same items as text.
* ``.eig``: lines ``n k E_nk`` (eV).
* ``.mmn``: comment; ``num_bands num_kpts nntot``; per (k, b): ``k k_b G1 G2 G3`` and
  num_bands² lines ``Re Im`` of M_mn(k, b) = <u_mk|u_n,k+b>, m fastest.
* ``.spn``: <ψ_m|σ_s|ψ_n> for m <= n, component s fastest (unformatted: one record per k).
* ``.uHu``: <u_m,k+b1|H_k|u_n,k+b2> (eV), per k, b2, b1 one num_bands² block, n fastest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io.w90_files import BOHR_ANGSTROM, _win_lines

# -- Fortran sequential records ---------------------------------------------------------


class FortranRecords:
    """Reads a Fortran sequential unformatted file record by record (4-byte markers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.pos = 0
        self.endian = "<"
        if len(self.data) >= 4:
            first = int(np.frombuffer(self.data[:4], "<i4")[0])
            if not 0 < first <= len(self.data) - 8:
                self.endian = ">"

    def _bad(self, problem: str) -> WannierFormatError:
        return WannierFormatError(f"{str(self.path)!r} is not a valid unformatted file: {problem}")

    def record(self) -> bytes:
        """The next record's bytes (sub-records of > 2 GiB records are joined)."""
        out = b""
        while True:
            if self.pos + 4 > len(self.data):
                raise self._bad("the file ends in the middle (truncated or formatted text).")
            size = int(np.frombuffer(self.data[self.pos : self.pos + 4], self.endian + "i4")[0])
            more = size < 0
            size = abs(size)
            start, stop = self.pos + 4, self.pos + 4 + size
            if stop + 4 > len(self.data):
                raise self._bad("a record runs past the end of the file (truncated).")
            tail = abs(int(np.frombuffer(self.data[stop : stop + 4], self.endian + "i4")[0]))
            if tail != size:
                raise self._bad("record markers do not match (not a Fortran unformatted file).")
            out += self.data[start:stop]
            self.pos = stop + 4
            if not more:
                return out

    def read(self, dtype: str, count: int | None = None) -> np.ndarray:
        raw = self.record()
        dt = np.dtype(dtype).newbyteorder(self.endian)
        if len(raw) % dt.itemsize:
            raise self._bad(f"a record of {len(raw)} bytes is not a whole number of {dtype}.")
        arr = np.frombuffer(raw, dt)
        if count is not None and arr.size != count:
            raise self._bad(f"expected a record of {count} {dtype} values, found {arr.size}.")
        return arr.astype(np.dtype(dtype).newbyteorder("="))

    def text(self) -> str:
        return self.record().decode("ascii", errors="replace").strip()

    def skip(self) -> None:
        self.record()

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def _is_unformatted(path: Path) -> bool:
    head = path.read_bytes()[:4]
    if len(head) < 4:
        return False
    for endian in "<>":
        size = int(np.frombuffer(head, endian + "i4")[0])
        if 0 < size < 10_000_000 and path.stat().st_size >= size + 8:
            with open(path, "rb") as fh:
                fh.seek(4 + size)
                tail = fh.read(4)
            if len(tail) == 4 and int(np.frombuffer(tail, endian + "i4")[0]) == size:
                return True
    return False


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise WannierFormatError(f"{what} {str(path)!r} does not exist.")
    return path


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
        end = next(i for i in range(begin + 1, len(lower)) if re.fullmatch(rf"end\s+{name}", lower[i]))
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
        p, lattice, mp, spinors, num_wann, num_bands, exclude,
        tuple(_block(lines, "projections") or ()), tuple(atoms),
    )


# -- .chk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """Content of a Wannier90 checkpoint (``.chk`` or ``.chk.fmt``).

    ``v_matrix[k]`` (num_bands, num_wann) maps Bloch states to Wannier-gauge states:
    V = U_opt U on the disentanglement window (zero outside it), or U without
    disentanglement; Wannier-gauge X^W(k) = V(k)^† X(k) V(k).
    """

    path: Path
    num_bands: int
    exclude_bands: np.ndarray  # 1-based
    lattice: np.ndarray  # rows, Å
    mp_grid: tuple[int, int, int]
    kpt_red: np.ndarray  # (num_kpts, 3)
    nntot: int
    num_wann: int
    disentangled: bool
    v_matrix: np.ndarray  # (num_kpts, num_bands, num_wann)
    centres: np.ndarray  # (num_wann, 3) Å
    spreads: np.ndarray

    @property
    def num_kpts(self) -> int:
        return int(self.kpt_red.shape[0])


def _snap_kpoints(kpt: np.ndarray, mp: tuple[int, int, int]) -> np.ndarray:
    """k-points written with 8 digits (0.33333333) snapped onto the exact mesh fractions, so
    that phases e^{2πi k·L} of a lattice-vector relabelling are exact."""
    grid = np.asarray(mp, dtype=float)
    snapped = np.round(kpt * grid) / grid
    return np.where(np.abs(kpt - snapped) < 1e-6, snapped, kpt)


def _assemble_v(path, nk, nb, nw, dis, lwindow, ndimwin, u_opt, u) -> np.ndarray:  # noqa: ANN001
    if not dis:
        if nb != nw:
            raise WannierFormatError(
                f"{str(path)!r}: num_bands = {nb} differs from num_wann = {nw} but the "
                "checkpoint has no disentanglement data."
            )
        return u
    v = np.zeros((nk, nb, nw), dtype=complex)
    for k in range(nk):
        inside = np.flatnonzero(lwindow[k])
        if inside.size != ndimwin[k]:
            raise WannierFormatError(
                f"{str(path)!r}: k-point {k + 1}: lwindow has {inside.size} bands but ndimwin = "
                f"{ndimwin[k]} (corrupt checkpoint)."
            )
        v[k, inside] = u_opt[k, : inside.size] @ u[k]
    return v


def read_chk(path: Path) -> Checkpoint:
    """Read a Fortran-unformatted ``seedname.chk``."""
    p = _need(Path(path), "checkpoint")
    if p.name.endswith(".fmt"):
        return read_chk_fmt(p)
    if not _is_unformatted(p):
        raise WannierFormatError(
            f"{str(p)!r} is not a Fortran unformatted checkpoint (a formatted one must be named "
            "seedname.chk.fmt)."
        )
    f = FortranRecords(p)
    try:
        f.text()
        nb = int(f.read("i4", 1)[0])
        nex = int(f.read("i4", 1)[0])
        exclude = f.read("i4")
        if exclude.size != max(nex, 1) and exclude.size != nex:
            raise WannierFormatError(
                f"{str(p)!r}: num_exclude_bands = {nex} but {exclude.size} band indices follow."
            )
        exclude = exclude[:nex]
        lattice = f.read("f8", 9).reshape(3, 3, order="F")
        f.read("f8", 9)
        nk = int(f.read("i4", 1)[0])
        mp = tuple(int(x) for x in f.read("i4", 3))
        kpt = f.read("f8", 3 * nk).reshape(nk, 3)
        nntot = int(f.read("i4", 1)[0])
        nw = int(f.read("i4", 1)[0])
        f.text()
        dis = bool(f.read("i4", 1)[0])
        lwindow = ndimwin = u_opt = None
        if dis:
            f.read("f8", 1)
            lwindow = f.read("i4", nb * nk).reshape(nk, nb).astype(bool)
            ndimwin = f.read("i4", nk)
            u_opt = _complex(f.read("f8", 2 * nb * nw * nk)).reshape(nk, nw, nb).swapaxes(1, 2)
        u = _complex(f.read("f8", 2 * nw * nw * nk)).reshape(nk, nw, nw).swapaxes(1, 2)
        f.skip()  # m_matrix
        centres = f.read("f8", 3 * nw).reshape(nw, 3)
        spreads = f.read("f8", nw)
    except WannierFormatError as exc:
        msg = str(exc)
        raise WannierFormatError(msg if "chk" in msg else f"{str(p)!r}: {msg}") from None
    if int(np.prod(mp)) != nk:
        raise WannierFormatError(f"{str(p)!r}: num_kpts = {nk} but mp_grid = {mp}.")
    v = _assemble_v(p, nk, nb, nw, dis, lwindow, ndimwin, u_opt, u)
    kpt = _snap_kpoints(kpt, mp)
    return Checkpoint(p, nb, exclude, lattice, mp, kpt, nntot, nw, dis, v, centres, spreads)


def _complex(a: np.ndarray) -> np.ndarray:
    return a[0::2] + 1j * a[1::2]


class _Tokens:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.items = text.replace("D", "E").replace("d", "e").split()
        self.i = 0

    def take(self, n: int, kind: type = float) -> np.ndarray:
        if self.i + n > len(self.items):
            raise WannierFormatError(f"{str(self.path)!r} ends too early (truncated checkpoint).")
        chunk = self.items[self.i : self.i + n]
        self.i += n
        if kind is str:
            return np.array(chunk)
        try:
            if kind is bool:
                return np.array([c.upper().strip(".") in ("T", "TRUE", "1") for c in chunk])
            return np.array(chunk, dtype=float).astype(kind)
        except ValueError:
            raise WannierFormatError(
                f"{str(self.path)!r}: unexpected entry {chunk[0]!r} (corrupt .chk.fmt)."
            ) from None

    def one(self, kind: type = int):  # noqa: ANN202
        return self.take(1, kind)[0]


def read_chk_fmt(path: Path) -> Checkpoint:
    """Read a formatted checkpoint ``seedname.chk.fmt`` (``w90chk2chk.x -export`` layout)."""
    p = _need(Path(path), "checkpoint")
    text = p.read_text(encoding="ascii", errors="replace")
    header, _, rest = text.partition("\n")
    t = _Tokens(p, rest)
    nb = t.one()
    nex = t.one()
    exclude = t.take(nex, int)
    lattice = t.take(9).reshape(3, 3, order="F")
    t.take(9)
    nk = t.one()
    mp = tuple(int(x) for x in t.take(3, int))
    kpt = t.take(3 * nk).reshape(nk, 3)
    nntot = t.one()
    nw = t.one()
    t.take(1, str)  # checkpoint label
    dis = bool(t.one(bool))
    lwindow = ndimwin = u_opt = None
    if dis:
        t.take(1)
        lwindow = t.take(nb * nk, bool).reshape(nk, nb)
        ndimwin = t.take(nk, int)
        u_opt = _complex(t.take(2 * nb * nw * nk)).reshape(nk, nw, nb).swapaxes(1, 2)
    u = _complex(t.take(2 * nw * nw * nk)).reshape(nk, nw, nw).swapaxes(1, 2)
    t.take(2 * nw * nw * nntot * nk)  # m_matrix
    centres = t.take(3 * nw).reshape(nw, 3)
    spreads = t.take(nw)
    if int(np.prod(mp)) != nk:
        raise WannierFormatError(f"{str(p)!r}: num_kpts = {nk} but mp_grid = {mp}.")
    v = _assemble_v(p, nk, nb, nw, dis, lwindow, ndimwin, u_opt, u)
    kpt = _snap_kpoints(kpt, mp)
    return Checkpoint(p, nb, exclude, lattice, mp, kpt, nntot, nw, dis, v, centres, spreads)


def write_chk_fmt(chk: Checkpoint, path: Path) -> None:
    """Write ``chk`` as a ``.chk.fmt`` text file (U_opt = V, U = 1: the same V matrices)."""
    nk, nb, nw = chk.num_kpts, chk.num_bands, chk.num_wann
    out = ["written by qgmag", str(nb), str(len(chk.exclude_bands))]
    out += [str(int(x)) for x in chk.exclude_bands]
    out += [f"{x:.16e}" for x in chk.lattice.ravel(order="F")]
    recip = 2 * np.pi * np.linalg.inv(chk.lattice).T
    out += [f"{x:.16e}" for x in recip.ravel(order="F")]
    out += [str(nk), " ".join(str(x) for x in chk.mp_grid)]
    out += [" ".join(f"{x:.16e}" for x in k) for k in chk.kpt_red]
    out += [str(chk.nntot), str(nw), "postwann", "T", "0.0"]
    inside = np.any(np.abs(chk.v_matrix) > 0, axis=2)
    out += ["T" if x else "F" for x in inside.ravel()]
    out += [str(int(x)) for x in inside.sum(axis=1)]
    for k in range(nk):  # u_opt rows: the window bands first
        rows = np.zeros((nb, nw), dtype=complex)
        sel = np.flatnonzero(inside[k])
        rows[: sel.size] = chk.v_matrix[k, sel]
        out += [f"{z.real:.16e} {z.imag:.16e}" for z in rows.T.ravel()]
    eye = np.eye(nw, dtype=complex)
    out += [f"{z.real:.16e} {z.imag:.16e}" for _ in range(nk) for z in eye.T.ravel()]
    out += ["0.0 0.0"] * (nw * nw * chk.nntot * nk)
    out += [" ".join(f"{x:.16e}" for x in c) for c in chk.centres]
    out += [f"{x:.16e}" for x in chk.spreads]
    Path(path).write_text("\n".join(out) + "\n", encoding="ascii")


# -- .eig, .mmn -------------------------------------------------------------------------


def read_eig(path: Path, num_bands: int, num_kpts: int) -> np.ndarray:
    """Band energies (num_kpts, num_bands) in eV."""
    p = _need(Path(path), ".eig file")
    try:
        data = np.loadtxt(p, ndmin=2)
    except ValueError:
        raise WannierFormatError(f"{str(p)!r} is not a valid .eig file (lines 'n k E').") from None
    if data.shape[1] != 3:
        raise WannierFormatError(f"{str(p)!r}: .eig lines must be 'n k E'; found {data.shape[1]} columns.")
    nb, nk = int(data[:, 0].max()), int(data[:, 1].max())
    if (nb, nk) != (num_bands, num_kpts) or data.shape[0] != nb * nk:
        raise WannierFormatError(
            f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk} ({data.shape[0]} lines) but the "
            f"checkpoint has num_bands = {num_bands}, num_kpts = {num_kpts}."
        )
    eig = np.empty((nk, nb))
    eig[data[:, 1].astype(int) - 1, data[:, 0].astype(int) - 1] = data[:, 2]
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
            raise WannierFormatError(f"{str(p)!r}: line 2 must be 'num_bands num_kpts nntot'.") from None
        if (nb, nk, nnb) != (num_bands, num_kpts, nntot):
            raise WannierFormatError(
                f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk}, nntot = {nnb} but the checkpoint "
                f"has {num_bands}, {num_kpts}, {nntot}."
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
    heads = heads.reshape(nk, nnb, 5)
    if not np.all(heads[:, :, 0] - 1 == np.arange(nk)[:, None]):
        raise WannierFormatError(f"{str(p)!r}: the blocks are not in k-point order.")
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
            _check_nb_nk(p, nb, nk, num_bands, num_kpts)
            vals = np.array(" ".join(lines[2:]).split(), dtype=float)
        except ValueError:
            raise WannierFormatError(f"{str(p)!r} is not a valid .spn file.") from None
        if vals.size != 6 * npair * nk:
            raise WannierFormatError(f"{str(p)!r}: {vals.size // 2} values; {3 * npair * nk} expected.")
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
                _check_uhu(p, nb, nk, nnb, num_bands, num_kpts, nntot)
                vals = np.array(fh.read().split(), dtype=float)
            except ValueError:
                raise WannierFormatError(f"{str(p)!r} is not a valid .uHu file.") from None
        if vals.size != 2 * nb2 * nk * nnb * nnb:
            raise WannierFormatError(f"{str(p)!r}: wrong number of values (truncated?).")
        flat = _complex(vals)
    # file order: k, b2, b1, m, n (n fastest)
    return flat.reshape(nk, nnb, nnb, nb, nb).transpose(0, 2, 1, 3, 4)


def _check_uhu(p, nb, nk, nnb, num_bands, num_kpts, nntot) -> None:  # noqa: ANN001
    if (nb, nk, nnb) != (num_bands, num_kpts, nntot):
        raise WannierFormatError(
            f"{str(p)!r} has num_bands = {nb}, num_kpts = {nk}, nntot = {nnb} but the checkpoint "
            f"has {num_bands}, {num_kpts}, {nntot}."
        )
