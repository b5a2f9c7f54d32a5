"""Dask scaling of qgmag.compute on bcc Fe, and the scheduling overhead per chunk.

Run (reference data from ``../shared/data`` or ``$QGMAG_SHARED_DATA``; needs
``dask[distributed]``)::

    python benchmarks/parallel_scaling.py               # Fe 50^3, 51 Fermi levels
    python benchmarks/parallel_scaling.py --nk 12       # small mesh: a smoke test
    python benchmarks/parallel_scaling.py --quick       # --nk 12, fewer overhead chunks

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

E_FERMI_FE = 17.6255  # eV, Fe/wannier90/scf.out (shared/data/README.md)
QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]


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


def scaling(nk: int, n_mu: int, window: float, chunk_size: int | None) -> dict:
    model = qgmag.read_wannier90(data_dir() / "Fe" / "Fe_tb.dat", spinor_ordering="spin-fastest")
    mu = E_FERMI_FE + np.linspace(-window, window, n_mu)
    kwargs = {"kmesh": (nk, nk, nk), "chunk_size": chunk_size}
    out: dict = {"nk": nk, "n_k": nk**3, "n_mu": n_mu}
    warm_up = {"kmesh": (2, 2, 2), "chunk_size": 4}  # first-call costs (lazy imports) untimed
    qgmag.compute(model, QUANTITIES, mu, 0.0, **warm_up)
    serial, out["serial_blas_default_s"] = timed(
        qgmag.compute, model, QUANTITIES, mu, 0.0, **kwargs
    )
    with threadpool_limits(limits=1):
        serial1, out["serial_blas_1_s"] = timed(qgmag.compute, model, QUANTITIES, mu, 0.0, **kwargs)
    out["chunk_size"] = int(serial.attrs["chunk_size"])
    out["n_chunks"] = -(-(nk**3) // out["chunk_size"])
    out["serial_blas_default_vs_1_max_rel_diff"] = max_rel_diff(serial1, serial)
    for n in (1, 2):
        cluster, client, startup = start_cluster(n)
        try:
            qgmag.compute(model, QUANTITIES, mu, 0.0, scheduler=client, **warm_up)
            result, seconds = timed(
                qgmag.compute, model, QUANTITIES, mu, 0.0, scheduler=client, **kwargs
            )
        finally:
            client.close()
            cluster.close()
        out[f"workers_{n}_s"] = seconds
        out[f"workers_{n}_startup_s"] = startup
        out[f"workers_{n}_max_rel_diff"] = max_rel_diff(serial1, result)
    out["speedup_1_to_2"] = out["workers_1_s"] / out["workers_2_s"]
    out["speedup_serial1_to_2"] = out["serial_blas_1_s"] / out["workers_2_s"]
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
        f"AHC + M_orb + M_spin; chunk size {scale['chunk_size']} ({scale['n_chunks']} chunks)"
    )
    print(f"{'run':32s} {'wall s':>9s} {'k/s':>9s}  max rel. diff")
    rows = [
        (
            "serial (BLAS as configured)",
            "serial_blas_default_s",
            "serial_blas_default_vs_1_max_rel_diff",
        ),
        ("serial (BLAS 1 thread)", "serial_blas_1_s", None),
        ("dask, 1 worker", "workers_1_s", "workers_1_max_rel_diff"),
        ("dask, 2 workers", "workers_2_s", "workers_2_max_rel_diff"),
    ]
    for label, key, diff in rows:
        seconds = scale[key]
        d = "" if diff is None else f"{scale[diff]:.1e}"
        print(f"{label:32s} {seconds:9.2f} {scale['n_k'] / seconds:9.0f}  {d}")
    print(
        f"cluster start-up (not timed above): 1 worker {scale['workers_1_startup_s']:.1f} s, "
        f"2 workers {scale['workers_2_startup_s']:.1f} s"
    )
    print(
        f"speed-up serial (BLAS 1 thread) -> 2 workers: {scale['speedup_serial1_to_2']:.2f}x "
        f"(1 -> 2 workers: {scale['speedup_1_to_2']:.2f}x; the serial run is the baseline: "
        "a worker slower than serial would inflate the 1 -> 2 ratio)"
    )
    print(
        f"idle 2-worker cluster: {100 * idle['dask_defaults']:.1f} % of one core with Dask's "
        f"defaults, {100 * idle['tuned']:.1f} % with qgmag.parallel.LOCAL_CLUSTER_CONFIG"
    )
    print(f"\n# scheduling overhead: {over['n_chunks']} chunks of 1 k-point (Weyl lattice, AHC)")
    print(
        f"serial {over['serial_s']:.2f} s ({over['serial_per_chunk_ms']:.3f} ms/chunk); "
        f"dask 1 worker {over['workers_1_s']:.2f} s, 2 workers {over['workers_2_s']:.2f} s"
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
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    if args.quick:
        args.nk, args.overhead_chunks = 12, 500
    if not (data_dir() / "Fe" / "Fe_tb.dat").is_file():
        sys.exit(f"Fe_tb.dat not found under {data_dir()} (set QGMAG_SHARED_DATA)")
    scale = scaling(args.nk, args.n_mu, args.window, args.chunk_size)
    over = overhead(args.overhead_chunks)
    idle = idle_cpu()
    report(scale, over, idle)
    if args.json:
        args.json.write_text(
            json.dumps({"scaling": scale, "overhead": over, "idle_cpu": idle}, indent=2)
        )


if __name__ == "__main__":
    main()
