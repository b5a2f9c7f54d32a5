"""Serial and Dask runs give the same numbers: any number of workers, any chunk order.

Chunks are folded in mesh order (OrderedSum) whatever order they finish in, so a Dask run
performs exactly the additions of a serial one; the serial reference runs with BLAS on one
thread, as Dask tasks do, so the arithmetic inside each chunk is identical too and the
results are compared bit for bit. Different chunk sizes add in a different order: equal to
round-off.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import qgmag

from .conftest import QUANTITIES, RUN, assert_identical, serial_reference

pytest.importorskip("distributed")


def test_local_cluster_two_workers_equals_serial(model):
    serial = serial_reference(model, chunk_size=17, **RUN)
    local = qgmag.compute(model, QUANTITIES, chunk_size=17, scheduler="local", n_workers=2, **RUN)
    assert_identical(serial, local)
    assert local.attrs["execution"] == "dask local cluster (2 workers x 1 threads)"
    assert serial.attrs["execution"] == "serial"
    # the comparison is not vacuous: every observable has non-zero entries
    for name in QUANTITIES:
        assert np.max(np.abs(serial[name].values)) > 0, name


def test_local_cluster_one_worker_equals_serial():
    model = qgmag.models.weyl_lattice()
    kwargs = {
        "mu": [-0.3, 0.0, 0.4],
        "temperature": [0.0, 150.0],
        "kmesh": (8, 8, 8),
        "allow_coarse_mesh": True,
    }
    quantities = ["anomalous_hall_conductivity", "orbital_magnetization"]
    serial = serial_reference(model, quantities, chunk_size=50, **kwargs)
    one = qgmag.compute(model, quantities, chunk_size=50, scheduler="local", n_workers=1, **kwargs)
    assert_identical(serial, one)
    assert "1 workers" in one.attrs["execution"]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 216])
def test_client_equals_serial_for_any_chunk_size(model, dask_client, chunk_size):
    serial = serial_reference(model, chunk_size=chunk_size, **RUN)
    dask = qgmag.compute(model, QUANTITIES, chunk_size=chunk_size, scheduler=dask_client, **RUN)
    assert_identical(serial, dask)
    assert dask.attrs["execution"].startswith("dask client tcp://")
    assert dask_client.status == "running"  # a Client passed in is left open


def test_chunk_size_changes_only_round_off(model):
    runs = [serial_reference(model, chunk_size=size, **RUN) for size in (1, 7, 64, 216)]
    for other in runs[1:]:
        for name in runs[0].data_vars:
            a, b = runs[0][name].values, other[name].values
            scale = max(float(np.max(np.abs(a))), 1e-300)
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-13 * scale, err_msg=name)


def test_scheduler_address_and_convergence_check(model, dask_client):
    kwargs = {**RUN, "kmesh": (8, 8, 8), "chunk_size": 30, "convergence_check": True}
    seen: list[tuple[int, int]] = []
    serial = serial_reference(model, **kwargs)
    address = dask_client.scheduler.address
    dask = qgmag.compute(
        model,
        QUANTITIES,
        scheduler=address,
        n_workers=2,  # for an address: workers to wait for
        progress=lambda done, total: seen.append((done, total)),
        **kwargs,
    )
    assert_identical(serial, dask)
    assert dask.attrs["execution"] == f"dask scheduler {address}"
    assert "orbital_magnetization_error" in dask
    # one progress count over both meshes (8^3 + 4^3 points), never going backwards
    assert {total for _, total in seen} == {8**3 + 4**3}
    assert seen[-1][0] == 8**3 + 4**3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_group_chunks_cuts_consecutive_runs():
    from qgmag.parallel import group_chunks

    assert group_chunks([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    # a resumed run's gaps (chunks already done) are never spanned by a group
    assert group_chunks([2, 3, 5, 6, 7, 9], 3) == [[2, 3], [5, 6, 7], [9]]
    assert group_chunks([4, 5, 6], 1) == [[4], [5], [6]]
    assert group_chunks([], 4) == []


@pytest.mark.parametrize("group_size", [1, 3, 50])
def test_grouped_tasks_with_gaps_fold_as_serial(model, dask_client, group_size):
    """Chunks already done (a resumed run) are skipped; groups of any size fold bit for bit
    as the serial run, and every chunk is summed exactly once."""
    from qgmag.integrate.chunk import integrate_chunk
    from qgmag.integrate.driver import build_plan
    from qgmag.integrate.reduction import OrderedSum
    from qgmag.kspace.mesh import make_mesh
    from qgmag.observables import OBSERVABLES
    from qgmag.parallel import DaskRunner

    plan = build_plan(
        model,
        [OBSERVABLES[name] for name in QUANTITIES],
        np.array(RUN["mu"]),
        np.array([300.0, 900.0]),  # finite T: the f0' terms need no smearing
        make_mesh(model, RUN["kmesh"]),
        smearing=None,
        degeneracy_tol=1e-6,
        metric_dipole="analytic",
        chunk_size=9,
    )
    bounds = plan.chunk_bounds
    with threadpool_limits(limits=1):
        parts = [integrate_chunk(model, plan, a, b) for a, b in bounds]
    expected = OrderedSum(bounds)
    for index, part in enumerate(parts):
        expected.add(index, part)
    # chunks 0-2 folded and 7, 8, 15 received before the "interruption"
    state = OrderedSum(bounds)
    for index in (0, 1, 2, 7, 8, 15):
        state.add(index, parts[index])
    total = DaskRunner(dask_client, group_size=group_size)(model, plan, None, state)
    want = expected.total()
    assert total.n_points == want.n_points == 6**3
    for key in want.sums:
        np.testing.assert_array_equal(total.sums[key], want.sums[key])


def test_default_group_size_follows_worker_threads(dask_client):
    """About TASKS_PER_THREAD tasks per worker thread, at most MAX_CHUNKS_PER_TASK chunks."""
    from qgmag.parallel import MAX_CHUNKS_PER_TASK, TASKS_PER_THREAD, DaskRunner

    runner = DaskRunner(dask_client)
    threads = sum(dask_client.nthreads().values())
    assert threads == 2
    assert runner._group_size(5) == 1
    assert runner._group_size(221) == 221 // (TASKS_PER_THREAD * threads) == 13
    assert runner._group_size(10**6) == MAX_CHUNKS_PER_TASK
    assert DaskRunner(dask_client, group_size=3)._group_size(10**6) == 3
