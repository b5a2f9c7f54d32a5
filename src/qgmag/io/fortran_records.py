"""Fortran sequential unformatted records (4-byte markers), as Wannier90 and pw2wannier90
write ``.chk``, ``.spn`` and ``.uHu``; every problem is a one-line WannierFormatError."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qgmag.errors import WannierFormatError

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


def _complex(a: np.ndarray) -> np.ndarray:
    return a[0::2] + 1j * a[1::2]
