"""Every Dask worker that runs a chunk has its allocator tuned (qgmag.allocator)."""

from __future__ import annotations

import platform

import pytest

import qgmag
from qgmag import allocator

from .conftest import RUN

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def test_workers_tuned_after_a_run(model, dask_client):
    qgmag.compute(
        model, ["anomalous_hall_conductivity"], scheduler=dask_client, chunk_size=20, **RUN
    )
    states = dask_client.run(allocator.state)
    assert len(states) == 2
    # both workers ran chunks (small chunks, many tasks) and are tuned
    for address, st in states.items():
        assert st["applied"], (address, st)
