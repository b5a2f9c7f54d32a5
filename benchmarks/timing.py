"""Shared timing rules of the speed benchmarks (imported by the scripts in this folder).

Every speed benchmark reports, for each code or configuration of one run:

* CPU time (``time.process_time``: this process's user + system time, the least
  load-sensitive measure on a shared machine; for child processes their rusage) and wall
  time (``time.perf_counter``);
* the median of ``repeat`` >= 3 repetitions, run interleaved (A B C A B C ...) so that load
  changes of a shared machine affect every configuration alike; fewer repetitions are
  allowed for smoke runs and then labelled "single run / not a median";
* the ratio to the eigh floor (a bare batched ``numpy.linalg.eigh`` of the same H(k), built
  outside the timer, in the same process) and to every peer measured in the same run.

Run a benchmark with ``OPENBLAS_NUM_THREADS=1`` (or its own thread settings) so that CPU
time is the work of one thread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

MIN_REPEAT = 3


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """(result, wall s, CPU s) of one call."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall0, time.process_time() - cpu0


def interleaved(
    run: Callable[[str], dict], labels: Iterable[str], repeat: int
) -> dict[str, list[dict]]:
    """Call ``run(label)`` for every label, ``repeat`` rounds, in the order A B C A B C ...

    Returns every label's list of records (one dict per round, as ``run`` returned it).
    """
    labels = list(labels)
    records: dict[str, list[dict]] = {label: [] for label in labels}
    for _ in range(max(1, int(repeat))):
        for label in labels:
            records[label].append(run(label))
    return records


def medians(records: list[dict], keys: Iterable[str]) -> dict:
    """The first record with each numeric ``key`` replaced by its median over the records,
    plus ``<key>_range`` = (min, max) and ``repeat`` = the number of records."""
    out = dict(records[0])
    for key in keys:
        if key in out:
            values = [float(r[key]) for r in records]
            out[key] = statistics.median(values)
            out[f"{key}_range"] = (min(values), max(values))
    out["repeat"] = len(records)
    return out


def repeat_note(repeat: int, option: str = "--repeat") -> str:
    """How the timings of a run with ``repeat`` repetitions may be read."""
    if repeat >= MIN_REPEAT:
        return f"median of {repeat} interleaved repetitions"
    return (
        f"{repeat} repetition(s): NOT a median (noisy; use {option} {MIN_REPEAT} or more "
        "for numbers to quote)"
    )


def eigh_floor(model: Any, frac: np.ndarray, chunk: int = 4096) -> tuple[float, float]:
    """(wall s, CPU s) of batched ``numpy.linalg.eigh`` of H(k) at the fractional k-points
    ``frac`` (H(k) built outside the timer, in chunks of ``chunk``)."""
    wall = cpu = 0.0
    for lo in range(0, len(frac), chunk):
        h = model.hamiltonian(frac[lo : lo + chunk] @ model.reciprocal_lattice)
        _, w, c = timed(np.linalg.eigh, h)
        wall += w
        cpu += c
    return wall, cpu


def mesh_fractions(nk: int, dim: int = 3) -> np.ndarray:
    """The Gamma-centred nk^dim mesh in fractional coordinates (N, dim)."""
    grid = np.arange(nk) / nk
    return np.stack(np.meshgrid(*([grid] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
