"""Resource guards: estimate memory (and time) before computing; refuse what cannot fit.

A request that cannot fit (``kmesh = [1e6, 1e6]``, ``mu.num = 1e8``, a 10⁷-point band path,
a 20000² Brillouin-zone map) used to end in a ``MemoryError`` traceback after minutes of
work. These functions estimate the peak working memory of the request from the sizes
involved (bytes per k-point of the band matrices, occupation kernels for every (μ, T),
per-chunk bookkeeping) and compare it with the memory available now (``MemAvailable`` of
/proc/meminfo, else the physical memory); a request above it raises
:class:`ResourceError` with the numbers and a hint. :func:`estimate_time` times a small
calibration chunk to predict the run time of long runs (printed by the progress display).
"""

from __future__ import annotations

import os
import time
from typing import Any

from qgmag.errors import QgmagError

#: bookkeeping bytes per chunk (bounds tuple, list slot, reduction state)
BYTES_PER_CHUNK = 256
#: at most this many chunks (the chunk list, checkpoints and progress are per chunk)
MAX_CHUNKS = 5_000_000
#: fraction of the available memory a request may use
MEMORY_FRACTION = 0.8


class ResourceError(QgmagError):
    """A request needs more memory (or bookkeeping) than this machine has."""


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (best effort)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**40


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_memory(needed: float, what: str, hint: str) -> None:
    """Refuse ``needed`` bytes if they exceed MEMORY_FRACTION of the available memory."""
    avail = available_memory()
    if needed > MEMORY_FRACTION * avail:
        raise ResourceError(
            f"{what} needs about {_gib(needed)} of memory but {_gib(avail)} are available; "
            f"{hint}"
        )


def compute_memory(
    *,
    n_bands: int,
    n_mu: int,
    n_t: int,
    n_points: int,
    chunk_size: int,
    work_matrices: int,
    n_kernels: int,
    n_values: int,
) -> float:
    """Peak bytes of a :func:`qgmag.compute` pass: one chunk's band matrices, its occupation
    kernels (n_kernels of (points x bands x μ x T)) and integrand values, the μ/T grids as
    Python floats, and the per-chunk bookkeeping."""
    chunk = min(chunk_size, n_points)
    per_k = 16 * n_bands**2 * work_matrices + 8 * n_bands * n_mu * n_t * (n_kernels + 1)
    per_k += 8 * n_bands * n_values
    sums = 8 * n_mu * n_t * n_values * 4
    grids = 64 * (n_mu + n_t)
    n_chunks = -(-n_points // max(chunk_size, 1))
    return float(chunk * per_k + sums + grids + BYTES_PER_CHUNK * n_chunks)


def check_chunks(n_points: int, chunk_size: int, kmesh: object) -> None:
    n_chunks = -(-n_points // max(chunk_size, 1))
    if n_chunks > MAX_CHUNKS:
        raise ResourceError(
            f"kmesh {kmesh} has {n_points:.3g} k-points ({n_chunks:.3g} chunks of {chunk_size}); "
            f"qgmag handles at most {MAX_CHUNKS:.0e} chunks, and this many points would take "
            "years on one core. Use a coarser kmesh (check convergence with "
            "convergence_check=True)."
        )


def estimate_time(run_chunk: Any, n_points: int, calibration_points: int) -> float:
    """Seconds for ``n_points`` from timing ``run_chunk(calibration_points)`` once."""
    start = time.perf_counter()
    run_chunk(calibration_points)
    elapsed = time.perf_counter() - start
    return elapsed * n_points / max(calibration_points, 1)


def format_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
