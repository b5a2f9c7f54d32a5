"""A worker process that dies mid-run: its chunks are recomputed, the answer is unchanged.

The workers are killed with SIGKILL from the progress callback (which runs in this
process after each chunk, so the run is provably in progress): the scheduler reschedules
the chunks the dead worker held, the nanny restarts it, and the ordered reduction gives
the serial result bit for bit. If every worker holding the scattered model dies, the model
is scattered again.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import qgmag
from qgmag.errors import QgmagError

from .conftest import assert_identical, random_spinful_model, serial_reference

pytest.importorskip("distributed")

QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization", "spin_magnetization"]
#: 40 bands, 16 k-points per chunk: tens of ms per chunk, 32 chunks
RUN = {"mu": [-0.2, 0.0, 0.3], "temperature": [0.0, 300.0], "kmesh": (8, 8, 8), "chunk_size": 16}


@pytest.fixture(scope="module")
def big_model():
    return random_spinful_model(n_sites=20, seed=3)


@pytest.fixture(scope="module")
def reference(big_model):
    return serial_reference(big_model, QUANTITIES, **RUN)


def _killer(client, *, after_points: int, everyone: bool):
    """A progress callback that SIGKILLs busy worker processes once, mid-run."""
    record: dict = {}

    def progress(done: int, total: int) -> None:
        if record or done < after_points:
            return
        pids = client.run(os.getpid)  # worker address -> worker process id
        busy = [addr for addr, keys in client.processing().items() if keys]
        targets = list(pids) if everyone else (busy or list(pids))[:1]
        for address in targets:
            os.kill(pids[address], signal.SIGKILL)
        record.update(done=done, total=total, killed={a: pids[a] for a in targets})

    return progress, record


def _removals(client, address: str) -> list[dict]:
    """The scheduler's "remove-worker" events of one worker address."""
    return [
        msg
        for _, msg in client.get_events(address)
        if isinstance(msg, dict) and msg.get("action") == "remove-worker"
    ]


def test_killed_worker_chunks_are_recomputed(big_model, reference, dask_client):
    progress, record = _killer(dask_client, after_points=3 * 16, everyone=False)
    result = qgmag.compute(big_model, QUANTITIES, scheduler=dask_client, progress=progress, **RUN)
    assert record, "the run finished before a worker could be killed"
    assert record["done"] < record["total"]
    assert_identical(reference, result)
    # the scheduler saw the worker die; the nanny restarted it (new process id)
    (address,) = record["killed"]
    removals = _removals(dask_client, address)
    assert removals, "the killed worker was never removed"
    # it died while running a chunk, which another worker then ran
    assert any(
        any("chunk_group_task" in str(key) for key in m.get("processing-tasks", ()))
        for m in removals
    )
    dask_client.wait_for_workers(2, timeout=60)
    assert record["killed"][address] not in dask_client.run(os.getpid).values()


def test_every_worker_killed_model_is_scattered_again(big_model, reference, dask_client):
    progress, record = _killer(dask_client, after_points=3 * 16, everyone=True)
    result = qgmag.compute(big_model, QUANTITIES, scheduler=dask_client, progress=progress, **RUN)
    assert record and record["done"] < record["total"]
    assert len(record["killed"]) == 2
    assert_identical(reference, result)
    lost = [m for a in record["killed"] for m in _removals(dask_client, a)]
    assert any(m.get("lost-scattered-tasks") for m in lost), "the model was never lost"


def test_killed_worker_message_names_the_chunk_and_the_fix():
    from distributed.scheduler import KilledWorker

    from qgmag.parallel import _killed_message

    class Worker:
        address = "tcp://10.0.0.7:4242"

    text = _killed_message(5, (80, 96), KilledWorker("chunk_task-abc", Worker(), 3))
    assert "chunk 5 (k-points 80..95)" in text
    assert "4 workers" in text and "tcp://10.0.0.7:4242" in text
    assert "chunk_size" in text and "memory" in text
    assert "chunk 5" in _killed_message(5, (80, 96), RuntimeError("details lost"))


def test_chunk_whose_workers_keep_dying_raises_a_clear_error(big_model):
    """With distributed.scheduler.allowed-failures = 0 the first death gives up on the chunk."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    client = Client(cluster)
    try:
        progress, record = _killer(client, after_points=16, everyone=False)
        with pytest.raises(
            QgmagError, match=r"chunks? \d+(\.\.\d+)? \(k-points \d+\.\.\d+\).*chunk_size"
        ):
            qgmag.compute(big_model, QUANTITIES, scheduler=client, progress=progress, **RUN)
        assert record
    finally:
        client.close()
        cluster.close()


def test_errors_inside_tasks_reach_the_caller(model, dask_client):
    """A task that raises (here: chunk bounds outside the mesh) re-raises its exception."""
    from qgmag.integrate.driver import build_plan
    from qgmag.integrate.reduction import OrderedSum
    from qgmag.kspace.mesh import make_mesh
    from qgmag.observables import OBSERVABLES
    from qgmag.parallel import DaskRunner

    plan = build_plan(
        model,
        [OBSERVABLES["spin_magnetization"]],
        np.array([0.0]),
        np.array([0.0]),
        make_mesh(model, (2, 2, 2)),
        smearing=None,
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=4,
    )
    state = OrderedSum([(0, 4), (10**6, 10**6 + 4)])
    with pytest.raises(ValueError, match="index"):
        DaskRunner(dask_client)(model, plan, None, state)
    assert state.folded == 1  # the good chunk was summed
