"""The output folder of ``qgmag run``: refuse to mix runs, probe before computing, swap whole.

* A folder holding the files of an earlier run (its manifest ``.qgmag-outputs.json``, or
  ``results.nc`` / ``summary.md`` / standard plots of a run without one) is refused unless
  ``--overwrite``.
* Writability is checked before computing (a probe file is written and deleted).
* The new files are written into a temporary folder inside the output folder; only when
  all of them are complete are the earlier run's qgmag files removed and the new ones
  renamed into place (same file system: each rename is atomic), with a new manifest. Files
  that qgmag did not write are never touched.
* On a failed write the checkpoint (kept complete until then) is named with the command
  that finishes the run without recomputing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from qgmag.errors import ConfigError, QgmagError
from qgmag.files import apply_umask, probe_writable

MANIFEST = ".qgmag-outputs.json"
_FIXED_NAMES = ("results.nc", "summary.md")


def _standard_names() -> set[str]:
    from qgmag.observables.registry import OBSERVABLES

    formats = ("png", "pdf", "svg")
    return {*_FIXED_NAMES, *(f"{n}.{f}" for n in OBSERVABLES for f in formats)}


class OutputFolder:
    """The folder a ``qgmag run`` writes to."""

    def __init__(self, path: Path, *, overwrite: bool, resume: bool) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.resume = resume
        self.created = False
        self._prepared = False

    def previous_outputs(self) -> list[Path]:
        """Files of an earlier qgmag run in the folder (its manifest first)."""
        if not self.path.is_dir():
            return []
        names = set()
        manifest = self.path / MANIFEST
        if manifest.is_file():
            try:
                listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
                names |= {str(n) for n in listed if isinstance(n, str) and "/" not in n}
            except (OSError, ValueError, KeyError, TypeError):
                pass
            names.add(MANIFEST)
        if names or any((self.path / n).is_file() for n in _FIXED_NAMES):
            names |= _standard_names()
        return sorted(self.path / n for n in names if (self.path / n).is_file())

    def prepare(self) -> None:
        """Refuse an earlier run's folder without --overwrite; create and probe the folder."""
        if self._prepared:
            return
        previous = [p for p in self.previous_outputs() if p.name != MANIFEST]
        if previous and not self.overwrite:
            shown = ", ".join(p.name for p in previous[:3]) + (", ..." if len(previous) > 3 else "")
            raise ConfigError(
                f"the output folder {str(self.path)!r} already holds the results of an earlier "
                f"run ({shown}); pass --overwrite to replace them, or choose another --output."
            )
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"the output path {str(self.path)!r} exists and is not a folder.")
        if not self.path.exists():
            try:
                self.path.mkdir(parents=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the output folder {str(self.path)!r}: {exc}"
                ) from None
            self.created = True
        probe_writable(self.path)
        self._prepared = True

    def remove_if_empty(self) -> None:
        """Remove the folder if this run created it and left nothing in it."""
        if self.created and self.path.is_dir() and not any(self.path.iterdir()):
            try:
                self.path.rmdir()
            except OSError:
                pass

    def write(
        self, writer: Callable[[Path], list[Path]], checkpoint: object = None
    ) -> list[Path]:
        """Run ``writer(staging)`` then swap its files into the folder; return their paths."""
        previous = self.previous_outputs()
        staging: Path | None = None
        try:
            staging = Path(tempfile.mkdtemp(prefix=".qgmag-new-", dir=self.path))
            written = writer(staging)
            for old in previous:
                old.unlink(missing_ok=True)
            final = []
            for f in written:
                target = self.path / f.name
                os.replace(f, target)
                final.append(target)
            self._write_manifest([p.name for p in final])
        except OSError as exc:
            raise QgmagError(self._late_failure(exc, checkpoint)) from None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        return final

    def _write_manifest(self, names: list[str]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".qgmag-manifest-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"files": names}, fh)
        apply_umask(tmp)
        os.replace(tmp, self.path / MANIFEST)

    def _late_failure(self, exc: OSError, checkpoint: object) -> str:
        where = f"could not write the results into {str(self.path)!r} ({exc.strerror or exc})"
        if checkpoint is not None and Path(str(checkpoint)).is_file():
            return (
                f"{where}; the finished integration is kept in {str(checkpoint)!r}: free disk "
                "space or fix the folder's permissions, then rerun the same command with "
                "--resume (nothing is recomputed)."
            )
        return f"{where}; free disk space or fix the folder's permissions and rerun."
