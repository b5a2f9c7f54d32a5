"""Checkpoints of a Brillouin-zone integration: save partial sums, resume after a stop.

A checkpoint holds, for each pass of :func:`qgmag.compute` (``"full"``, and ``"half"``
with ``convergence_check=True``), the state of its :class:`~qgmag.integrate.reduction.
OrderedSum`: the partial sums of chunks ``[0, folded)``, the results of later chunks that
arrived early, and which chunks those are. Resuming restores exactly that state, so a
resumed run adds the same numbers in the same order as an uninterrupted one and gives a
bit-identical result. Only the chunks not yet done are recomputed.

A checkpoint is bound to its calculation by a fingerprint: a SHA-256 of the model
(:func:`model_fingerprint`) and, per pass, a record of the plan — mesh, quantities (the
integrated terms), μ, T, smearing, chunk size, degeneracy tolerance, gauge seed and the
qgmag version (:func:`plan_record`). ``tau`` and ``g_s`` are not part of it: they scale
the sums after integration, so a checkpoint may be resumed with other values. Resuming
with anything else different raises :class:`~qgmag.errors.CheckpointError` naming what
differs.

File format
-----------
An uncompressed NumPy ``.npz`` archive (a zip file) written with ``allow_pickle=False``
semantics: a JSON header (``meta``), one float array per partial sum, and a SHA-256
``digest`` over the header and every array. Why not NetCDF/HDF5 like ``results.nc``?
The content is a handful of small arrays keyed by (pass, chunk, term) — not labelled
data anybody reads — and the zip container detects truncation and bit rot by itself
(its central directory is at the end of the file; every member carries a CRC-32), with
the digest as a second line of defence, whereas a truncated HDF5 file fails in
library-specific ways. It needs nothing beyond NumPy, cannot execute code on load, and is
written atomically: to a temporary file in the same folder, flushed and fsync'ed, then
``os.replace``'d over the old checkpoint (and the folder fsync'ed), so a crash or a
second Ctrl-C leaves either the previous or the new checkpoint, never a mixture.

When it is written: every ``interval`` seconds (at the first chunk completed after the
interval has elapsed; ``interval=0`` saves after every chunk), when a run stops with an
exception (Ctrl-C included), and never after success — :func:`qgmag.compute` deletes the
file once both passes are done (results are then in the returned Dataset).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qgmag.errors import CheckpointError, QgmagWarning
from qgmag.files import apply_umask
from qgmag.integrate.chunk import IntegrationPlan, PartialSums
from qgmag.integrate.reduction import OrderedSum
from qgmag.models.base import Model

FORMAT = "qgmag-checkpoint"
#: 2: guarded terms carry their round-off estimates (version 1 files lack them)
FORMAT_VERSION = 2
#: plan-record fields in the order they are reported, with their names in messages
FIELD_NAMES = {
    "mesh": "mesh",
    "quantities": "quantities",
    "mu": "mu",
    "temperature": "temperature",
    "smearing": "smearing",
    "chunk_size": "chunk size",
    "degeneracy_tol": "degeneracy tolerance",
    "gauge_seed": "gauge seed",
    "n_chunks": "number of chunks",
    "qgmag_version": "qgmag version",
}
#: k-points of the numerical probe of models without array data (reduced, deterministic)
_PROBE_SEED = 20240611
_PROBE_POINTS = 7


# -- fingerprints ------------------------------------------------------------------------


def _hash_array(h: Any, name: str, value: object) -> None:
    h.update(name.encode())
    if value is None:
        h.update(b"<none>")
        return
    arr = np.ascontiguousarray(value)
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())


def model_fingerprint(model: Model) -> str:
    """SHA-256 (hex) identifying a model's Hamiltonian.

    Tight-binding models (built-in or Wannier90) hash their defining arrays exactly:
    lattice, orbital positions, hopping vectors and matrices, spin matrices, position
    matrices, gauge and Berry-connection level (the name and descriptive ``parameters``
    are left out: renaming a model does not invalidate a checkpoint). Other models
    (continuum models defined by functions) hash their :meth:`summary` (parameters,
    domain) and the values of H, ∂H, ∂²H and the spin matrices at a few fixed k-points,
    rounded to 1e-10 eV (so the same model gives the same fingerprint on another machine
    whose floating-point results differ in the last bits).
    """
    from qgmag.models.tight_binding import TightBindingModel

    h = hashlib.sha256()
    if isinstance(model, TightBindingModel):
        h.update(b"tight-binding")
        h.update(f"{model.gauge}|{getattr(model, 'berry_connection', None)}".encode())
        for name in (
            "lattice",
            "positions",
            "hopping_vectors",
            "hopping_matrices",
            "spin",
            "position_matrices",
        ):
            _hash_array(h, name, getattr(model, name, None))
        return h.hexdigest()
    summary = dict(model.summary())
    summary.pop("name", None)
    h.update(type(model).__qualname__.encode())
    h.update(json.dumps(summary, sort_keys=True, default=str).encode())
    rng = np.random.default_rng(_PROBE_SEED)
    scale = getattr(getattr(model, "domain", None), "radius", 1.0)
    k = rng.uniform(-0.5, 0.5, size=(_PROBE_POINTS, model.dim)) * float(scale)
    for name, value in zip(("h", "dh", "d2h"), model.derivatives(k, order=2), strict=True):
        _hash_array(h, name, None if value is None else np.round(value, 10) + 0.0)
    spin = model.spin
    _hash_array(h, "spin", None if spin is None else np.round(spin, 10) + 0.0)
    return h.hexdigest()


def plan_record(plan: IntegrationPlan) -> dict[str, Any]:
    """What a pass's partial sums depend on besides the model (JSON-compatible)."""
    from qgmag import __version__

    record = {
        "mesh": plan.mesh.describe(),
        "quantities": [f"{obs}:{term.name}" for obs, term in plan.terms],
        "mu": [float(x) for x in plan.mu],
        "temperature": [float(x) for x in plan.temperature],
        "smearing": plan.smearing.as_dict() if plan.smearing is not None else None,
        "chunk_size": int(plan.chunk_size),
        "degeneracy_tol": float(plan.degeneracy_tol),
        "gauge_seed": plan.gauge_seed,
        "n_chunks": len(plan.chunk_bounds),
        "qgmag_version": __version__,
    }
    if plan.integration is not None:  # Fermi-surface weights of a tetrahedron rule
        record["integration"] = plan.integration.describe()
    return json.loads(json.dumps(record))  # tuples -> lists, as read back from a file


def _short(value: object) -> str:
    if isinstance(value, list) and len(value) > 6:
        return f"[{', '.join(map(str, value[:3]))}, ... ({len(value)} values)]"
    return json.dumps(value)


def _differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    out = []
    for key, label in FIELD_NAMES.items():
        if saved.get(key) != wanted.get(key):
            if key == "n_chunks" and out:
                continue  # follows from a difference already named
            out.append(f"{label} (checkpoint {_short(saved.get(key))}, now {_short(wanted[key])})")
    return out


# -- file --------------------------------------------------------------------------------


def _digest(meta_text: str, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(meta_text.encode())
    for name in sorted(arrays):
        _hash_array(h, name, arrays[name])
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then deliver them.

    An exception raised by a signal handler inside ``np.savez`` leaves its zip writer
    half-closed, and its cleanup then fails with a ValueError that hides the interrupt
    (seen as a traceback instead of exit 130 when SIGTERM hit a checkpoint write). The
    write is short; the signal is acted on right after it, with the handler it was meant
    for. Only the main thread can set handlers: elsewhere the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, Any]] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append((signum, frame))

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum, frame in pending[:1]:
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def write_atomic(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write the archive to a temporary file beside ``path``, fsync, rename over ``path``.

    SIGINT/SIGTERM arriving during the write are delivered after it (the file is then
    complete and the interrupt reaches the run as usual)."""
    with _signals_deferred():
        _write_atomic(path, meta, arrays)


def _write_atomic(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    meta_text = json.dumps(meta, sort_keys=True)
    payload = {
        "meta": np.array(meta_text),
        "digest": np.array(_digest(meta_text, arrays)),
        **arrays,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        apply_umask(tmp)  # mkstemp makes 0600: give it the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def is_checkpoint_file(path: Path) -> bool:
    """Whether ``path`` is a file qgmag wrote as a checkpoint (a zip archive whose JSON
    header names the format); reads only the header, never raises."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with np.load(path, allow_pickle=False) as npz:
            if "meta" not in npz.files:
                return False
            meta = json.loads(str(npz["meta"]))
        return isinstance(meta, dict) and meta.get("format") == FORMAT
    except Exception:
        return False


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a checkpoint file; CheckpointError if unreadable or corrupt."""
    fix = f"delete {str(path)!r} (or run without resume) to start over."
    try:
        data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta_text = str(arrays.pop("meta"))
        digest = str(arrays.pop("digest"))
        meta = json.loads(meta_text)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            + fix
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a qgmag checkpoint; " + fix)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {meta.get('format_version')}, this "
            f"qgmag writes version {FORMAT_VERSION}; " + fix
        )
    if _digest(meta_text, arrays) != digest:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt (its SHA-256 digest does not match); " + fix
        )
    return meta, arrays


def _sums_to_arrays(prefix: str, sums: PartialSums, keys: list[list[str]]) -> dict:
    arrays = {}
    for key, value in sums.sums.items():
        entry = list(key)
        if entry not in keys:
            keys.append(entry)
        arrays[f"{prefix}/{keys.index(entry)}"] = np.asarray(value)
    return arrays


def _sums_from_arrays(
    prefix: str, arrays: dict[str, np.ndarray], keys: list[list[str]], n_points: int
) -> PartialSums:
    sums = {}
    for i, key in enumerate(keys):
        value = arrays.get(f"{prefix}/{i}")
        if value is not None:
            sums[(key[0], key[1])] = np.array(value)
    return PartialSums(sums, int(n_points))


class Checkpoint:
    """The checkpoint file of one :func:`qgmag.compute` call (all of its passes).

    Parameters
    ----------
    path : the file (any name; the CLI uses ``<output>/checkpoint.qgck``).
    model : the model being integrated (fingerprinted).
    resume : load and verify an existing file; without it an existing file is replaced.
    interval : seconds between periodic saves (0: after every chunk).
    """

    def __init__(
        self, path: str | os.PathLike[str], model: Model, *, resume: bool, interval: float
    ) -> None:
        if not (interval >= 0 and np.isfinite(interval)):
            raise CheckpointError(
                f"checkpoint_interval must be a number of seconds >= 0; got {interval!r}."
            )
        self.path = Path(path)
        if self.path.is_dir():
            raise CheckpointError(
                f"checkpoint {str(self.path)!r} is a folder; give a file name such as "
                f"{str(self.path / 'checkpoint.qgck')!r}."
            )
        existing = next(p for p in self.path.absolute().parents if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise CheckpointError(
                f"checkpoint {str(self.path)!r} cannot be written: {str(existing)!r} "
                + ("is a file, not a folder" if not existing.is_dir() else "is not writable")
                + "; choose another checkpoint path (checked before the run, so that no work "
                "is lost at the first save; missing folders are created)."
            )
        self.interval = float(interval)
        self.model_fingerprint = model_fingerprint(model)
        self._states: dict[str, tuple[dict[str, Any], OrderedSum]] = {}
        self._saved: dict[str, Any] = {}
        self._written: dict[str, int] = {}  # pass -> chunks done when last written/read
        self._last_save = time.monotonic()
        self.restored_chunks = 0
        if not resume and self.path.exists() and not is_checkpoint_file(self.path):
            raise CheckpointError(
                f"checkpoint path {str(self.path)!r} is an existing file that is not a qgmag "
                "checkpoint; qgmag never replaces or deletes such a file: choose another "
                "checkpoint path (e.g. <output>/checkpoint.qgck)."
            )
        if resume:
            self._load()
        elif self.path.exists():
            warnings.warn(
                f"replacing the existing checkpoint {str(self.path)!r} (pass resume=True / "
                "--resume to continue from it instead).",
                QgmagWarning,
                stacklevel=4,
            )

    @property
    def fix(self) -> str:
        return (
            f"delete {str(self.path)!r} or run without resume (drop --resume) to start over, "
            "or restore the settings of the interrupted run."
        )

    def _load(self) -> None:
        if not self.path.exists():
            warnings.warn(
                f"resume requested but there is no checkpoint {str(self.path)!r}; starting "
                "from the beginning.",
                QgmagWarning,
                stacklevel=5,
            )
            return
        meta, arrays = read_checkpoint(self.path)
        if meta.get("model") != self.model_fingerprint:
            raise CheckpointError(
                f"checkpoint {str(self.path)!r} was written for a different model (its "
                "Hamiltonian, hoppings or spin matrices differ); " + self.fix
            )
        self._saved = {"meta": meta, "arrays": arrays}

    def state(self, name: str, plan: IntegrationPlan) -> OrderedSum:
        """The reduction state of pass ``name``: restored from the file, or fresh."""
        record = plan_record(plan)
        bounds = plan.chunk_bounds
        state = OrderedSum(bounds)
        saved = self._saved.get("meta", {}).get("passes", {}).get(name)
        if saved is not None:
            diff = _differences(saved["plan"], record)
            if diff:
                raise CheckpointError(
                    f"checkpoint {str(self.path)!r} belongs to a different calculation: "
                    + "; ".join(diff)
                    + ". "
                    + self.fix
                )
            state = self._restore(name, saved, bounds)
            self.restored_chunks += state.n_done
            self._written[name] = state.n_done
        self._states[name] = (record, state)
        return state

    def _restore(self, name: str, saved: dict[str, Any], bounds: list) -> OrderedSum:
        arrays = self._saved["arrays"]
        keys = saved["keys"]
        try:
            folded = int(saved["folded"])
            prefix = _sums_from_arrays(f"{name}/prefix", arrays, keys, saved["prefix_points"])
            pending = {
                int(i): _sums_from_arrays(f"{name}/chunk{i}", arrays, keys, n)
                for i, n in saved["later"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"checkpoint {str(self.path)!r} is incomplete ({exc}); " + self.fix
            ) from None
        if not 0 <= folded <= len(bounds) or any(not folded < i < len(bounds) for i in pending):
            raise CheckpointError(
                f"checkpoint {str(self.path)!r} lists chunks outside the mesh; " + self.fix
            )
        return OrderedSum(bounds, prefix=prefix, folded=folded, pending=pending)

    @property
    def dirty(self) -> bool:
        """Whether chunks were added since the file was last written (or read)."""
        return any(
            state.n_done != self._written.get(name, 0) for name, (_, state) in self._states.items()
        )

    def maybe_save(self) -> None:
        """Save if chunks were added and ``interval`` seconds have passed since the last save.

        A failing write (disk full, folder removed) warns and the run goes on.
        """
        if time.monotonic() - self._last_save < self.interval or not self.dirty:
            return
        try:
            self.save()
        except OSError as exc:
            self._last_save = time.monotonic()
            warnings.warn(
                f"could not write the checkpoint {str(self.path)!r} ({exc}); the run goes on "
                "without it.",
                QgmagWarning,
                stacklevel=2,
            )

    def save_after_error(self) -> None:
        """Save while an exception propagates; a failing write only warns."""
        try:
            self.save()
        except Exception as exc:
            warnings.warn(
                f"could not write the checkpoint {str(self.path)!r} ({exc}).",
                QgmagWarning,
                stacklevel=2,
            )

    def save(self) -> None:
        """Write every pass's current state (atomically)."""
        passes: dict[str, Any] = {}
        arrays: dict[str, np.ndarray] = {}
        for name, (record, state) in self._states.items():
            keys: list[list[str]] = []
            prefix, folded = state._fold  # one consistent (sums, count) pair
            later = state.later_results()
            arrays.update(_sums_to_arrays(f"{name}/prefix", prefix, keys))
            for i, result in later.items():
                arrays.update(_sums_to_arrays(f"{name}/chunk{i}", result, keys))
            passes[name] = {
                "plan": record,
                "folded": folded,
                "prefix_points": prefix.n_points,
                "later": {str(i): r.n_points for i, r in later.items()},
                "keys": keys,
            }
        saved = self._saved.get("meta", {}).get("passes", {})
        for name, entry in saved.items():  # passes of a resumed file not reached yet
            if name not in passes:
                passes[name] = entry
                arrays.update(
                    {k: v for k, v in self._saved["arrays"].items() if k.startswith(f"{name}/")}
                )
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.model_fingerprint,
            "passes": passes,
        }
        write_atomic(self.path, meta, arrays)
        self._last_save = time.monotonic()
        self._written = {name: state.n_done for name, (_, state) in self._states.items()}

    def remove(self) -> None:
        """Delete the file (after a successful run)."""
        if not self.path.exists():  # never written (or its folder is gone)
            return
        if not is_checkpoint_file(self.path):  # replaced by something else meanwhile
            return
        try:
            self.path.unlink()
        except OSError as exc:  # e.g. a read-only folder: the results are fine
            warnings.warn(
                f"could not delete the checkpoint {str(self.path)!r} after the run ({exc}).",
                QgmagWarning,
                stacklevel=3,
            )
