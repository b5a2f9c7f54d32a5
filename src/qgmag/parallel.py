"""Parallel and cluster execution of :func:`qgmag.compute` on Dask distributed.

``qgmag.compute(..., scheduler=...)`` runs the k-chunks of the integration as Dask tasks:

* ``"local"`` — a :class:`distributed.LocalCluster` of ``n_workers`` processes (default:
  the cores this process may use, divided by ``threads_per_worker``) with
  ``threads_per_worker`` threads each, started for the call and closed at its end (its
  dashboard, if bokeh is installed, on a free port);
* ``"tcp://host:port"`` — an existing scheduler (``dask scheduler`` + ``dask worker``, or
  a dask-jobqueue cluster's ``cluster.scheduler_address``); the client is closed at the
  end, the cluster is not touched;
* a :class:`distributed.Client` — used as is and left open.

The model is sent to every worker once (``client.scatter(model, broadcast=True)``); each
task computes a few consecutive chunks one after the other (:func:`chunk_group_task`,
``integrate_chunk(model, plan, start, stop)`` for each) and returns their partial sums
separately. Grouping keeps the scheduler's cost (about 10 ms of client/scheduler CPU per
task, measured on 2 cores, where the scheduler shares the cores with the workers) small
against the work: tasks are about ``TASKS_PER_THREAD`` per worker thread and at most
``MAX_CHUNKS_PER_TASK`` chunks (a few seconds) each, so a mesh of a few hundred chunks on
a laptop runs as a few dozen tasks, and a cluster with more threads than chunks gets one
chunk per task. At most ``window`` tasks (4 per worker thread) are in
flight or waiting to be summed, and a task holds one chunk's working memory at a time, so
memory stays bounded on any mesh. Results are folded in chunk order by
:class:`~qgmag.integrate.reduction.OrderedSum`, so the answer is bit-for-bit the serial
one whatever the number of workers or the order in which chunks finish (BLAS inside a
chunk aside). If a worker dies its
chunks are rerun elsewhere by the scheduler (a LocalCluster's nanny also restarts the
worker); if every copy of the scattered model is lost, it is scattered again.

Every task sets the BLAS/OpenMP thread pools of its worker to one thread (threadpoolctl;
left so, as Dask's nannies also do by default) until one task has finished in that worker
(the libraries a chunk loads are loaded by then; the lookup costs ~3 ms, which per task
was 6 % of a Fe run), and a local cluster's workers are started
with ``OMP/OPENBLAS/MKL_NUM_THREADS=1``: parallelism comes from workers and threads, and
n_workers x threads_per_worker processes each spawning a BLAS thread per core would
oversubscribe the machine.

Dask is imported only here, inside the functions that need it, and this module only when
execution keywords are passed: ``import qgmag`` and serial runs never import Dask.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

from qgmag.allocator import tune_allocator
from qgmag.errors import QgmagError
from qgmag.integrate.chunk import IntegrationPlan, PartialSums, integrate_chunk
from qgmag.integrate.reduction import OrderedSum
from qgmag.models.base import Model

#: environment of local-cluster workers: one BLAS/OpenMP thread per worker thread
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Dask settings of the local clusters qgmag starts. Their scheduler, nannies and workers
#: run periodic callbacks that cost CPU the chunks then lack: measured on 2 cores, an idle
#: LocalCluster of 2 workers used 13 % of one core with Dask's defaults and 2 % with these
#: (``benchmarks/parallel_scaling.py`` prints both). The event-loop watchdog ticks once a
#: second instead of 50 times; the workers' statistical profiler (sampling every thread
#: 100 times a second, only for the dashboard's profile page) is off; the system monitor
#: samples every 5 s; the memory monitor (pause, spill, restart at the memory limits) still
#: runs twice a second. For a cluster you start yourself: ``dask.config.set(
#: qgmag.parallel.LOCAL_CLUSTER_CONFIG)`` before starting it.
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "500ms",
}
#: tasks in flight (or finished but not yet summed) per worker thread
CHUNKS_PER_THREAD = 4
#: tasks per worker thread a run is cut into (chunks are grouped to reach about this
#: many; more means better load balance at the end of a run, fewer less scheduling)
TASKS_PER_THREAD = 8
#: most chunks per task (a few seconds of work at the default chunk size), so progress,
#: checkpoints and the work lost with a dying worker stay fine-grained on large meshes
MAX_CHUNKS_PER_TASK = 16
#: seconds between re-reading the number of worker threads (clusters that scale)
_REFRESH_S = 5.0
#: times the scattered model may be lost and re-sent before giving up
_MAX_RESCATTER = 5


def limit_blas_threads() -> None:
    """Set BLAS/OpenMP thread pools of this process (this thread, for OpenMP) to one thread.

    Called at the start of every Dask task; the limit is not undone afterwards: a worker
    exists to run tasks side by side, and one BLAS thread per worker thread is also what
    Dask's nannies set by default (``OMP_NUM_THREADS=1``, ...). Libraries are looked up
    afresh each time (a fraction of a millisecond), so BLAS libraries loaded after the
    first task, and limits changed by other tasks in between, are covered.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # applied at once and kept (the limiter is not restored)


#: process id in which a task has finished (its BLAS limit and allocator are then set)
_WORKER_READY: dict[str, int | None] = {"pid": None}


class _ShutdownCancellationFilter:
    """Drops the worker state machine's "Async instruction for <Task ...> ended with
    CancelledError" record: Dask logs it (as a warning) only from ``Worker.close`` while a
    task is still running, which is what closing the cluster of an interrupted run does.
    Every other record of that logger passes."""

    def filter(self, record: object) -> bool:
        message = str(getattr(record, "msg", ""))
        return not (
            message.startswith("Async instruction for")
            and message.endswith("ended with CancelledError")
        )


def quiet_worker_shutdown() -> None:
    """Install :class:`_ShutdownCancellationFilter` on this process's
    ``distributed.worker.state_machine`` logger (once)."""
    import logging

    state_machine = logging.getLogger("distributed.worker.state_machine")
    if not any(isinstance(f, _ShutdownCancellationFilter) for f in state_machine.filters):
        state_machine.addFilter(_ShutdownCancellationFilter())  # type: ignore[arg-type]


def _prepare_worker() -> None:
    """Tune the allocator and limit BLAS to one thread, until a task has finished here;
    keep the worker quiet if it is closed while running a task (an interrupted run)."""
    if _WORKER_READY["pid"] == os.getpid():
        return
    quiet_worker_shutdown()
    tune_allocator()
    try:
        limit_blas_threads()
    except Exception:  # pragma: no cover - threadpoolctl failing: run with BLAS as it is
        pass


def chunk_task(model: Model, plan: IntegrationPlan, start: int, stop: int) -> PartialSums:
    """:func:`~qgmag.integrate.chunk.integrate_chunk` with BLAS on one thread (a Dask task),
    in a worker whose allocator is tuned (:func:`qgmag.allocator.tune_allocator`; Dask's
    nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which this overrides)."""
    _prepare_worker()
    result = integrate_chunk(model, plan, start, stop)
    _WORKER_READY["pid"] = os.getpid()
    return result


def chunk_group_task(
    model: Model, plan: IntegrationPlan, bounds: list[tuple[int, int]]
) -> list[PartialSums]:
    """:func:`chunk_task` for consecutive chunks ``bounds`` [(start, stop), ...], one after
    the other (one chunk's memory at a time); their partial sums, in the same order."""
    return [chunk_task(model, plan, start, stop) for start, stop in bounds]


def group_chunks(todo: list[int], size: int) -> list[list[int]]:
    """``todo`` (ascending chunk indices) cut into runs of consecutive indices, each at most
    ``size`` long (a run resumed from a checkpoint may have gaps: groups never span one)."""
    groups: list[list[int]] = []
    for index in todo:
        if groups and len(groups[-1]) < size and groups[-1][-1] == index - 1:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: a batch job's allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def is_client(obj: object) -> bool:
    """Whether ``obj`` is a distributed.Client (without importing Dask for other objects)."""
    if not type(obj).__module__.startswith("distributed"):
        return False
    from distributed import Client

    return isinstance(obj, Client)


def check_scheduler(scheduler: object, n_workers: object, threads_per_worker: object) -> None:
    """Validate the execution keywords of qgmag.compute (QgmagError naming the fix)."""
    if scheduler is not None and not (
        (isinstance(scheduler, str) and (scheduler == "local" or "://" in scheduler))
        or is_client(scheduler)
    ):
        raise QgmagError(
            f"scheduler must be None (serial), 'local' (all cores of this machine), a Dask "
            f"scheduler address such as 'tcp://host:8786', or a distributed.Client; got "
            f"{scheduler!r}."
        )
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if value is None and name == "n_workers":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise QgmagError(f"{name} must be a positive integer; got {value!r}.")
    if scheduler is None and (n_workers is not None or threads_per_worker != 1):
        name = "n_workers" if n_workers is not None else "threads_per_worker"
        raise QgmagError(
            f"{name} needs a scheduler: pass scheduler='local' to run on local worker "
            "processes (or a scheduler address / Client); without one the run is serial."
        )


def open_client(
    scheduler: object, n_workers: int | None = None, threads_per_worker: int = 1
) -> tuple[Any, Callable[[], None], str]:
    """(client, close, description) for the ``scheduler`` keyword of qgmag.compute.

    ``n_workers`` sizes a local cluster; for a remote scheduler or a Client it is the
    number of workers to wait for before starting (default 1; useful while a batch
    system is still starting them). The wait has no time limit: the model can only be
    sent once a worker exists (an adaptive cluster needs a minimum of one worker).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the installation
        raise QgmagError(
            "parallel execution needs Dask distributed: pip install 'qgmag[dask]' "
            "(or 'dask[distributed]'), or run serially (scheduler=None)."
        ) from None
    if is_client(scheduler):
        client = scheduler
        client.wait_for_workers(n_workers or 1)  # type: ignore[union-attr]
        return client, lambda: None, "dask client " + str(client.scheduler.address)  # type: ignore[union-attr]
    if scheduler == "local":
        import multiprocessing

        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise QgmagError(
                "scheduler='local' was called while a worker process imported the main "
                "script: put the calling code of the script under "
                "`if __name__ == '__main__':` (worker processes re-import it)."
            )
        import dask

        n = n_workers or max(1, available_cores() // threads_per_worker)
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # read by every server as it starts
            try:
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=threads_per_worker,
                    processes=True,
                    dashboard_address=":0",  # any free port: concurrent runs do not clash
                    env=dict(SINGLE_THREAD_ENV),
                )
            except RuntimeError as exc:
                raise QgmagError(
                    f"the local Dask cluster failed to start ({str(exc).rstrip('.')}; the "
                    "workers' errors are printed above). A common cause is a script that "
                    "calls qgmag.compute(scheduler='local') outside "
                    "`if __name__ == '__main__':`."
                ) from exc
            try:
                client = Client(cluster)
            except BaseException:
                cluster.close()
                raise

        def close() -> None:
            client.close()
            cluster.close()

        return client, close, f"dask local cluster ({n} workers x {threads_per_worker} threads)"
    try:  # waits up to distributed.comm.timeouts.connect (Dask config, default 30 s)
        client = Client(str(scheduler))
    except OSError as exc:
        raise QgmagError(
            f"cannot connect to the Dask scheduler {scheduler!r} ({exc}); start it (dask "
            "scheduler) or check the address, or use scheduler='local'."
        ) from None
    try:
        client.wait_for_workers(n_workers or 1)
    except BaseException:
        client.close()
        raise
    return client, client.close, f"dask scheduler {scheduler}"


def _killed_message(index: int | list[int], bounds: tuple[int, int], exc: BaseException) -> str:
    """The message of a task (chunk ``index``, or the chunks of a group) whose every attempt
    died with its worker (KilledWorker)."""
    try:
        last = f" (last on {exc.last_worker.address})"  # type: ignore[attr-defined]
        attempts = f"{exc.allowed_failures + 1} "  # type: ignore[attr-defined]
    except Exception:  # the exception's details did not survive the trip
        last, attempts = "", ""
    start, stop = bounds
    ids = index if isinstance(index, list) else [index]
    what = f"chunk {ids[0]}" if len(ids) == 1 else f"chunks {ids[0]}..{ids[-1]}"
    return (
        f"{what} (k-points {start}..{stop - 1}) was started on {attempts}workers and "
        f"each of them died while running it{last}; a worker probably ran out of memory: use "
        "a smaller chunk_size, fewer threads per worker or workers with more memory (or raise "
        "distributed.scheduler.allowed-failures if workers are killed for other reasons)."
    )


class DaskRunner:
    """A runner of :func:`qgmag.compute` (see its ``runner`` protocol) on a Dask client.

    Parameters
    ----------
    client : a distributed.Client.
    window : most tasks in flight or awaiting summation (default 4 per worker thread,
        re-read every few seconds, so a cluster that scales up gets more).
    group_size : chunks per task (default: enough to cut the run into about
        ``TASKS_PER_THREAD`` tasks per worker thread present at its start, at most
        ``MAX_CHUNKS_PER_TASK``; 1 gives one task per chunk).
    """

    def __init__(
        self, client: Any, window: int | None = None, group_size: int | None = None
    ) -> None:
        self.client = client
        self.window = window
        self.group_size = group_size
        self._model: Model | None = None
        self._model_future: Any = None
        self._generation = 0
        self._threads = 0
        self._threads_read = -float("inf")

    def _scatter(self, model: Model) -> Any:
        self._model_future = self.client.scatter(model, broadcast=True, hash=False)
        self._model = model
        self._generation += 1
        return self._model_future

    def _window(self) -> int:
        if self.window is not None:
            return self.window
        now = time.monotonic()
        if now - self._threads_read > _REFRESH_S:
            self._threads = sum(self.client.nthreads().values())
            self._threads_read = now
        return max(CHUNKS_PER_THREAD * self._threads, 2 * CHUNKS_PER_THREAD)

    def _group_size(self, n_todo: int) -> int:
        if self.group_size is not None:
            return self.group_size
        self._window()  # reads the number of worker threads
        per_thread = n_todo // (TASKS_PER_THREAD * max(self._threads, 1))
        return min(MAX_CHUNKS_PER_TASK, max(1, per_thread))

    def __call__(
        self,
        model: Model,
        plan: IntegrationPlan,
        progress: Callable[[int, int], None] | None = None,
        state: OrderedSum | None = None,
    ) -> PartialSums:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        if state is None:
            state = OrderedSum(plan.chunk_bounds)
        if progress is not None:
            progress(state.points_done, state.n_points)
        if self._model is not model:
            self._scatter(model)
        client = self.client
        groups = group_chunks(list(state.todo()), self._group_size(state.n_chunks))
        position = 0
        in_flight: dict[Any, tuple[int, int]] = {}  # future -> (group index, model generation)
        rescattered = 0
        # results are gathered by the client's event loop as tasks finish (a blocking
        # future.result() per task would cost one round trip each, in sequence)
        done = as_completed(with_results=True, raise_errors=False)

        def submit(group: int) -> None:
            bounds = [state.bounds[index] for index in groups[group]]
            future = client.submit(chunk_group_task, self._model_future, plan, bounds, pure=False)
            in_flight[future] = (group, self._generation)
            done.add(future)

        def fill() -> None:
            nonlocal position
            # tasks of the first unfolded group and the window - 1 after it
            first = next((g for g, ids in enumerate(groups) if ids[-1] >= state.folded), 0)
            while position < len(groups) and position < first + self._window():
                submit(position)
                position += 1

        try:
            fill()
            for future, result in done:
                group, generation = in_flight.pop(future)
                failed = future.status == "error"
                del future
                if isinstance(result, CancelledError):
                    # every worker holding the scattered model died (or the task was
                    # cancelled with it): send the model again, once per lost copy, and
                    # resubmit the tasks that needed it
                    if generation == self._generation:
                        rescattered += 1
                        if rescattered > _MAX_RESCATTER:
                            raise QgmagError(
                                f"the model sent to the Dask workers was lost {rescattered} "
                                "times (every worker holding it died); check the workers' "
                                "logs (memory limits, batch-job time limits)."
                            ) from None
                        self._scatter(model)
                    submit(group)
                    continue
                if failed:  # (type, exception, traceback) of the task's exception
                    _, exc, traceback = result
                    if isinstance(exc, KilledWorker):
                        ids = groups[group]
                        bounds = (state.bounds[ids[0]][0], state.bounds[ids[-1]][1])
                        raise QgmagError(_killed_message(ids, bounds, exc)) from None
                    raise exc.with_traceback(traceback)
                for index, partial in zip(groups[group], result, strict=True):
                    state.add(index, partial)
                if progress is not None:
                    progress(state.points_done, state.n_points)
                fill()
        finally:
            if in_flight:
                client.cancel(list(in_flight))
        return state.total()
