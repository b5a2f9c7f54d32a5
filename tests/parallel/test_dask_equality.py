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
