"""Tetrahedron and adaptive-tetrahedron runs on a Dask cluster equal the serial runs bit for
bit: their f0' weights travel with the plan, the chunks are the usual point ranges."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag

from .conftest import RUN, assert_identical, serial_reference

pytest.importorskip("distributed")

SURFACE = ["kinetic_spin_extrinsic", "kinetic_orbital_extrinsic", "spin_magnetization"]


@pytest.mark.parametrize("rule", ["tetrahedron", "adaptive-tetrahedron"])
def test_dask_equals_serial(model, dask_client, rule):
    kw = {**RUN, "integration": rule, "chunk_size": 97}
    serial = serial_reference(model, SURFACE, **kw)
    dask = qgmag.compute(model, SURFACE, scheduler=dask_client, **kw)
    assert_identical(serial, dask)
    assert dask.attrs["integration"] == rule
    assert np.max(np.abs(serial["kinetic_spin_extrinsic"].values)) > 0
