"""Allocator discipline: keep the working memory of a run mapped between chunks.

A chunk allocates and frees many multi-MiB temporaries (band matrices, products,
kernels). With glibc's defaults, blocks above the *mmap threshold* (128 KiB, raised
dynamically only up to the first large free) are mapped fresh from the OS by ``mmap``
and returned by ``munmap``, and free memory at the top of the heap beyond the *trim
threshold* is given back at once; every re-use then costs page faults (kernel time:
measured 17-27 % of a Fe run, about 13 faults per k-point). Dask's nanny makes it worse
by starting workers with ``MALLOC_TRIM_THRESHOLD_=65536``.

:func:`tune_allocator` raises both thresholds with ``mallopt`` (glibc, via ctypes) so
that freed blocks stay in the heap and are reused: the process keeps about one chunk's
working set (bounded by the chunk-size target, ``CHUNK_MEMORY_BYTES``) mapped instead of
mapping it afresh for every array. It is called at the start of every
:func:`qgmag.compute` and at the start of every Dask task (so every worker of any
cluster, local or remote, is tuned before its first chunk); not at import, so that
importing qgmag into another program changes nothing. It is idempotent and cheap after
the first call.

Set the environment variable ``QGMAG_MALLOC_TUNING=0`` to leave the allocator alone. On
systems without glibc's ``mallopt`` (macOS, musl, Windows) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

#: glibc mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
#: largest mmap threshold glibc accepts on 64-bit systems (HEAP_MAX_SIZE / 2): 32 MiB
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: free memory kept at the top of the heap before it is returned to the OS
TRIM_THRESHOLD_BYTES = 512 * 2**20
#: extra memory requested with each heap extension (fewer brk calls)
TOP_PAD_BYTES = 16 * 2**20
#: environment variable that disables the tuning ("0", "false", "no", "off")
ENV_VAR = "QGMAG_MALLOC_TUNING"

_STATE: dict[str, Any] = {"applied": False, "pid": None, "reason": "not called yet"}


def _mallopt() -> Any:
    try:
        libc = ctypes.CDLL(None)
        fn = libc.mallopt
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def tune_allocator() -> dict[str, Any]:
    """Raise glibc's mmap/trim thresholds in this process once; returns :func:`state`.

    Safe to call any number of times, in any process (a forked worker re-applies it).
    """
    if _STATE["applied"] and _STATE["pid"] == os.getpid():
        return state()
    _STATE.update(pid=os.getpid(), applied=False)
    if os.environ.get(ENV_VAR, "1").strip().lower() in ("0", "false", "no", "off"):
        _STATE["reason"] = f"disabled by {ENV_VAR}"
        return state()
    mallopt = _mallopt()
    if mallopt is None:
        _STATE["reason"] = "no glibc mallopt on this system"
        return state()
    settings = {
        "mmap_threshold": (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        "trim_threshold": (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        "top_pad": (M_TOP_PAD, TOP_PAD_BYTES),
    }
    ok = {name: bool(mallopt(param, value)) for name, (param, value) in settings.items()}
    _STATE.update(
        applied=all(ok.values()),
        reason="applied" if all(ok.values()) else f"mallopt refused {ok}",
        **{name: value for name, (_, value) in settings.items()},
    )
    return state()


def state() -> dict[str, Any]:
    """What :func:`tune_allocator` did in this process (``applied``: bool, ``reason``)."""
    out = dict(_STATE)
    if out["pid"] != os.getpid():  # inherited through fork but not re-applied here
        out.update(applied=False, reason="not called in this process")
    return out
