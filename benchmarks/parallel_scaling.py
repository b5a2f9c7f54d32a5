"""Dask scaling of qgmag.compute on bcc Fe, and the scheduling overhead per chunk.

Run (reference data from ``../shared/data`` or ``$QGMAG_SHARED_DATA``; needs
``dask[distributed]``)::

    python benchmarks/parallel_scaling.py               # Fe 50^3, 51 Fermi levels
    python benchmarks/parallel_scaling.py --nk 12       # small mesh: a smoke test
    python benchmarks/parallel_scaling.py --quick       # --nk 12, 1 round, fewer chunks

Part 1 (scaling): the Fe run of ``fe_vs_wannierberri.py`` set B (anomalous Hall
conductivity + orbital + spin magnetization, 51 Fermi levels E_F ± 0.25 eV, T = 0,
Gamma-centred nk^3 mesh, ``Fe_tb.dat`` with spin-fastest spinors) timed

* serially in this process, with BLAS as configured and with BLAS on one thread (what
  every Dask task uses, so the like-for-like baseline of the worker timings);
* on a LocalCluster of 1 and of 2 single-threaded workers: the cluster is started and
  warmed up outside the timer (its start-up time is printed separately), then
  ``qgmag.compute(..., scheduler=client)`` is timed (scattering the model included).

Every timed run is preceded by an untimed 2^3 run in the same process or cluster, so
first-call costs (lazy imports) are left out of all of them alike.

The four runs are repeated ``--repeat`` times (default 3) interleaved (serial, serial
1 thread, 1 worker, 2 workers, serial, ...; each Dask run on a fresh cluster); every
row reports the median wall and CPU time (a Dask run's CPU = this process, i.e. client and
in-process scheduler, plus every worker process's ``process_time``), the wall range, k/s,
the CPU time over the eigh floor (bare batched ``numpy.linalg.eigh`` of the same H(k), BLAS
on one thread) and the speed-up over the serial one-thread run of the same round (median
over rounds); the rules are those of ``benchmarks/timing.py``.

Speed-up serial -> 2 workers = t(serial, BLAS 1 thread) / t(2 workers) is the figure
of merit (also printed: t(1 worker) / t(2 workers)); every worker and the serial run
tune the allocator (qgmag.allocator), so a worker is as fast as serial; all results are
checked to agree (bit for bit with the one-thread serial run). On 2 cores the ideal is 2.

Part 2 (overhead): a trivial model (the 2-band Weyl lattice, AHC at one μ) on a mesh cut
into many tiny chunks (``--overhead-chunks``, one k-point each); overhead per chunk =
(Dask wall time with 1 worker - serial compute time) / number of chunks: submitting the
task, the scheduler's bookkeeping, sending the plan and the partial sums back and the
ordered reduction. A chunk should compute for much longer than this (a chunk of the
default size of the Fe run computes for about 0.2 s on one core).

Timings on a busy machine are noisy: run on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import qgmag

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (benchmarks/timing.py: the shared reporting rules)

E_FERMI_FE = 17.6255  # eV, Fe/wannier90/scf.out (shared/data/README.md)
QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
RUNS = (
    "serial (BLAS as configured)",
    "serial (BLAS 1 thread)",
    "dask, 1 worker",
    "dask, 2 workers",
)


def data_dir() -> Path:
    env = os.environ.get("QGMAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def max_rel_diff(a, b) -> float:  # noqa: ANN001
    worst = 0.0
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        scale = float(np.max(np.abs(x))) or 1.0
        worst = max(worst, float(np.max(np.abs(x - y))) / scale)
    return worst


def start_cluster(n_workers: int, tuned: bool = True):  # noqa: ANN201
    """A LocalCluster + Client of single-threaded workers, warmed up; (cluster, client, s).

    ``tuned``: with qgmag's LOCAL_CLUSTER_CONFIG, as ``scheduler="local"`` starts them."""
    import dask
    from distributed import Client, LocalCluster

    from qgmag.parallel import LOCAL_CLUSTER_CONFIG, SINGLE_THREAD_ENV

    start = time.perf_counter()
    with dask.config.set(LOCAL_CLUSTER_CONFIG if tuned else {}):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env=dict(SINGLE_THREAD_ENV),
        )
        client = Client(cluster)
    client.wait_for_workers(n_workers)
    # import qgmag (and numpy, BLAS) on every worker before timing anything
    client.run(lambda: __import__("qgmag.parallel") and None)
    return cluster, client, time.perf_counter() - start


def _cluster_cpu(client) -> float:  # noqa: ANN001
    """Sum of the workers' own CPU seconds so far (each worker process's process_time)."""
    return float(sum(client.run(time.process_time).values()))


def scaling(nk: int, n_mu: int, window: float, chunk_size: int | None, repeat: int) -> dict:
    """Serial and Dask runs, interleaved ``repeat`` rounds; medians of wall and CPU time.

    CPU of a Dask run = this process (client + in-process scheduler) + every worker process;
    the serial runs' CPU is this process's. The eigh floor is measured with BLAS on one
    thread, like every worker's task.
    """
    model = qgmag.read_wannier90(data_dir() / "Fe" / "Fe_tb.dat", spinor_ordering="spin-fastest")
    mu = E_FERMI_FE + np.linspace(-window, window, n_mu)
    kwargs = {"kmesh": (nk, nk, nk), "chunk_size": chunk_size}
    out: dict = {"nk": nk, "n_k": nk**3, "n_mu": n_mu}
    warm_up = {"kmesh": (2, 2, 2), "chunk_size": 4}  # first-call costs (lazy imports) untimed
    qgmag.compute(model, QUANTITIES, mu, 0.0, **warm_up)
    startup: dict[int, list[float]] = {1: [], 2: []}

    def run(label: str) -> dict:
        if label == RUNS[0]:
            res, wall, cpu = timing.timed(qgmag.compute, model, QUANTITIES, mu, 0.0, **kwargs)
        elif label == RUNS[1]:
            with threadpool_limits(limits=1):
                res, wall, cpu = timing.timed(qgmag.compute, model, QUANTITIES, mu, 0.0, **kwargs)
        else:  # a fresh cluster per round (one Client at a time), started outside the timer
            n = 1 if label == RUNS[2] else 2
            cluster, client, seconds = start_cluster(n)
            startup[n].append(seconds)
            try:
                qgmag.compute(model, QUANTITIES, mu, 0.0, scheduler=client, **warm_up)
                before = _cluster_cpu(client)
                res, wall, cpu = timing.timed(
                    qgmag.compute, model, QUANTITIES, mu, 0.0, scheduler=client, **kwargs
                )
                workers = _cluster_cpu(client) - before
            finally:
                client.close()
                cluster.close()
            return {"wall_s": wall, "cpu_s": cpu + workers, "cpu_workers_s": workers, "result": res}
        return {"wall_s": wall, "cpu_s": cpu, "cpu_workers_s": 0.0, "result": res}

    records = timing.interleaved(run, RUNS, repeat)
    for n in (1, 2):
        out[f"workers_{n}_startup_s"] = float(np.median(startup[n]))
    reference = records[RUNS[1]][0]["result"]
    out["runs"] = {}
    for label, recs in records.items():
        row = timing.medians(recs, ["wall_s", "cpu_s", "cpu_workers_s"])
        row["max_rel_diff"] = max(max_rel_diff(reference, r["result"]) for r in recs)
        # speed-up over the serial one-thread run of the same round, then the median
        row["speedup_vs_serial"] = float(
            np.median(
                [s["wall_s"] / r["wall_s"] for s, r in zip(records[RUNS[1]], recs, strict=True)]
            )
        )
        del row["result"]
        out["runs"][label] = row
    out["repeat"] = max(1, int(repeat))
    out["chunk_size"] = int(reference.attrs["chunk_size"])
    out["n_chunks"] = -(-(nk**3) // out["chunk_size"])
    with threadpool_limits(limits=1):
        out["eigh_wall_s"], out["eigh_cpu_s"] = timing.eigh_floor(model, timing.mesh_fractions(nk))
    return out


def idle_cpu(seconds: float = 5.0) -> dict:
    """CPU time an idle 2-worker LocalCluster uses (main process + workers, per second of
    wall time), with Dask's defaults and with qgmag's LOCAL_CLUSTER_CONFIG."""
    out: dict = {}
    for tuned in (False, True):
        cluster, client, _ = start_cluster(2, tuned=tuned)
        try:
            time.sleep(1.0)
            main0, workers0 = time.process_time(), client.run(time.process_time)
            time.sleep(seconds)
            main1, workers1 = time.process_time(), client.run(time.process_time)
        finally:
            client.close()
            cluster.close()
        used = main1 - main0 + sum(workers1[a] - workers0[a] for a in workers0)
        out["tuned" if tuned else "dask_defaults"] = used / seconds
    return out


def overhead(n_chunks: int) -> dict:
    model = qgmag.models.weyl_lattice()
    side = max(2, round(n_chunks ** (1 / 3)))
    kwargs = {"kmesh": (side, side, side), "chunk_size": 1}
    n = side**3
    with threadpool_limits(limits=1):
        serial, t_serial = timed(
            qgmag.compute, model, ["anomalous_hall_conductivity"], 0.0, **kwargs
        )
    out: dict = {"n_chunks": n, "serial_s": t_serial}
    for workers in (1, 2):
        cluster, client, _ = start_cluster(workers)
        try:
            result, seconds = timed(
                qgmag.compute,
                model,
                ["anomalous_hall_conductivity"],
                0.0,
                scheduler=client,
                **kwargs,
            )
        finally:
            client.close()
            cluster.close()
        assert max_rel_diff(serial, result) == 0.0
        out[f"workers_{workers}_s"] = seconds
        out[f"overhead_per_chunk_{workers}_workers_ms"] = 1e3 * (seconds - t_serial) / n
    out["serial_per_chunk_ms"] = 1e3 * t_serial / n
    return out


def report(scale: dict, over: dict, idle: dict) -> None:
    print(
        f"\n# Fe {scale['nk']}^3 = {scale['n_k']} k-points, {scale['n_mu']} Fermi levels, "
        f"AHC + M_orb + M_spin; chunk size {scale['chunk_size']} ({scale['n_chunks']} chunks); "
        + timing.repeat_note(scale["repeat"])
    )
    print(
        f"{'run':30s} {'wall s':>7s} {'(range)':>13s} {'CPU s':>7s} {'workers':>8s} "
        f"{'k/s wall':>9s} {'CPU/eigh':>9s} {'vs serial':>10s}  max rel. diff"
    )
    for label, row in scale["runs"].items():
        lo, hi = row["wall_s_range"]
        print(
            f"{label:30s} {row['wall_s']:7.2f} {f'({lo:.2f}-{hi:.2f})':>13s} "
            f"{row['cpu_s']:7.2f} {row['cpu_workers_s']:8.2f} {scale['n_k'] / row['wall_s']:9.0f} "
            f"{row['cpu_s'] / scale['eigh_cpu_s']:9.2f} {row['speedup_vs_serial']:9.2f}x"
            f"  {row['max_rel_diff']:.1e}"
        )
    print(
        f"eigh floor (BLAS 1 thread, same H(k)): {scale['eigh_wall_s']:.2f} s wall, "
        f"{scale['eigh_cpu_s']:.2f} s CPU"
    )
    print(
        f"cluster start-up (not timed above): 1 worker {scale['workers_1_startup_s']:.1f} s, "
        f"2 workers {scale['workers_2_startup_s']:.1f} s"
    )
    two = scale["runs"][RUNS[3]]
    one = scale["runs"][RUNS[2]]
    print(
        f"speed-up serial (BLAS 1 thread) -> 2 workers: {two['speedup_vs_serial']:.2f}x wall "
        "(median over rounds of t(serial)/t(2 workers), same round); against one worker "
        f"{one['wall_s'] / two['wall_s']:.2f}x (not the figure of merit: a worker slower than "
        "serial inflates it). CPU: a Dask run's is this process (client, scheduler) plus the "
        "workers' processes (the workers' part in the next column); CPU/eigh is CPU time over "
        "the eigh floor's CPU time."
    )
    print(
        f"idle 2-worker cluster: {100 * idle['dask_defaults']:.1f} % of one core with Dask's "
        f"defaults, {100 * idle['tuned']:.1f} % with qgmag.parallel.LOCAL_CLUSTER_CONFIG"
    )
    print(f"\n# scheduling overhead: {over['n_chunks']} chunks of 1 k-point (Weyl lattice, AHC)")
    print(
        f"serial {over['serial_s']:.2f} s ({over['serial_per_chunk_ms']:.3f} ms/chunk); "
        f"dask 1 worker {over['workers_1_s']:.2f} s, 2 workers {over['workers_2_s']:.2f} s "
        "(wall, one run each)"
    )
    print(
        f"overhead per chunk: {over['overhead_per_chunk_1_workers_ms']:.2f} ms (1 worker), "
        f"{over['overhead_per_chunk_2_workers_ms']:.2f} ms (2 workers; wall time over "
        "serial, so parallel gains offset part of it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nk", type=int, default=50, help="Fe mesh nk^3 (default 50)")
    parser.add_argument("--n-mu", type=int, default=51, help="number of Fermi levels")
    parser.add_argument("--window", type=float, default=0.25, help="E_F ± window (eV)")
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="k-points per chunk (default: automatic)"
    )
    parser.add_argument(
        "--overhead-chunks", type=int, default=4000, help="tiny chunks of the overhead test"
    )
    parser.add_argument("--quick", action="store_true", help="--nk 12, 500 overhead chunks")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds (median; default 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    if args.quick:
        args.nk, args.overhead_chunks, args.repeat = 12, 500, 1
    if not (data_dir() / "Fe" / "Fe_tb.dat").is_file():
        sys.exit(f"Fe_tb.dat not found under {data_dir()} (set QGMAG_SHARED_DATA)")
    scale = scaling(args.nk, args.n_mu, args.window, args.chunk_size, args.repeat)
    over = overhead(args.overhead_chunks)
    idle = idle_cpu()
    report(scale, over, idle)
    if args.json:
        args.json.write_text(
            json.dumps({"scaling": scale, "overhead": over, "idle_cpu": idle}, indent=2)
        )


if __name__ == "__main__":
    main()
