"""Wannier90 checkpoints: ``seedname.chk`` (Fortran unformatted) and ``seedname.chk.fmt``.

Layout (``w90_wannierise`` checkpoint, Fortran sequential records): header; num_bands;
num_exclude_bands; exclude_bands; real_lattice (Å, 3x3); recip_lattice; num_kpts; mp_grid;
kpt_latt (reduced); nntot; num_wann; checkpoint; have_disentangled; [omega_inv; lwindow
(num_bands, num_kpts); ndimwin; u_matrix_opt (num_bands, num_wann, num_kpts)]; u_matrix
(num_wann, num_wann, num_kpts); m_matrix; wannier_centres (3, num_wann) Å; wannier_spreads.
``.chk.fmt`` (``w90chk2chk.x -export``) has the same items as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io.fortran_records import FortranRecords, _complex, _is_unformatted, _need

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


#: largest |V†V - 1| of a checkpoint's gauge matrices V = U_opt U (Wannier90 writes them
#: in double precision: 1.7e-13 on the Fe run); more means a corrupt file
UNITARITY_TOL = 1e-6


def _checked(chk: Checkpoint) -> Checkpoint:
    """``chk`` after checks that no corrupt number got through: finite lattice (spanning a
    cell), k-points, centres and spreads, and semi-unitary gauge matrices V(k)."""
    p = str(chk.path)
    for name, x in (
        ("lattice", chk.lattice),
        ("k-points", chk.kpt_red),
        ("Wannier centres", chk.centres),
        ("spreads", chk.spreads),
    ):
        if not np.all(np.isfinite(x)):
            raise WannierFormatError(f"{p!r}: non-finite {name} (corrupt checkpoint).")
    lengths = np.linalg.norm(chk.lattice, axis=1)
    if not abs(np.linalg.det(chk.lattice)) > 1e-8 * float(np.prod(lengths)):
        raise WannierFormatError(f"{p!r}: the lattice vectors span no cell (corrupt checkpoint).")
    v = chk.v_matrix
    if not np.all(np.isfinite(v)) or np.abs(v).max() > 1.0 + UNITARITY_TOL:
        raise WannierFormatError(
            f"{p!r}: gauge matrices with non-finite or > 1 entries (corrupt checkpoint)."
        )
    gram = np.matmul(np.conj(np.swapaxes(v, 1, 2)), v)
    dev = np.abs(gram - np.eye(chk.num_wann)).max(axis=(1, 2))
    if dev.max() > UNITARITY_TOL:
        k = int(np.argmax(dev))
        raise WannierFormatError(
            f"{p!r}: the gauge matrix U_opt U at k-point {k + 1} is not unitary "
            f"(max |V†V - 1| = {dev[k]:.2g} > {UNITARITY_TOL:g}): corrupt checkpoint."
        )
    return chk


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
    return _checked(
        Checkpoint(p, nb, exclude, lattice, mp, kpt, nntot, nw, dis, v, centres, spreads)
    )


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
    return _checked(
        Checkpoint(p, nb, exclude, lattice, mp, kpt, nntot, nw, dis, v, centres, spreads)
    )


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
