"""Small file-system helpers shared by results, checkpoints and the command line.

* :func:`apply_umask`: files written through ``tempfile.mkstemp`` (mode 0600) get the mode
  every other file of the user gets (0666 masked by the umask) before they are renamed
  into place.
* :func:`probe_writable`: write and delete a probe file in a folder, so that a run fails
  before computing rather than after it.
* :func:`sha256_file`: provenance hashes of input files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from qgmag.errors import QgmagError

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (read by setting and restoring it, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike[str]) -> None:
    """chmod ``path`` to 0666 & ~umask, the mode of a file created with ``open()``."""
    try:
        os.chmod(path, 0o666 & ~current_umask())
    except OSError:  # pragma: no cover - e.g. a file system without permissions
        pass


def probe_writable(folder: Path, what: str = "the output folder") -> None:
    """Create and delete a small file in ``folder``; QgmagError naming the fix if impossible."""
    try:
        fd, name = tempfile.mkstemp(prefix=".qgmag-probe-", dir=folder)
        try:
            os.write(fd, b"qgmag write probe\n" * 64)
        finally:
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        raise QgmagError(
            f"cannot write into {what} {str(folder)!r} ({exc.strerror or exc}); fix its "
            "permissions or free disk space, or choose another folder (--output)."
        ) from None


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
