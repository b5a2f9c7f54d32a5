"""compute(..., symmetry=...) through checkpoints (interrupt, resume) and Dask: the
irreducible point list is an ordinary weighted mesh for every backend."""

from __future__ import annotations

import pytest

import qgmag
from qgmag.errors import CheckpointError

from .conftest import assert_identical, serial_reference

QUANTITIES = ["anomalous_hall_conductivity", "orbital_magnetization"]
KW = {"mu": [-0.2, 0.3], "temperature": [0.0, 300.0], "kmesh": (8, 8, 8), "symmetry": "auto"}
CHUNK = 16  # 8^3 = 512 points, 4/mm'm' wedge of 59 points -> 4 chunks


@pytest.fixture(scope="module")
def weyl():
    return qgmag.models.weyl_lattice()


def test_symmetric_run_interrupted_and_resumed(weyl, tmp_path):
    ck = tmp_path / "sym.qgck"
    reference = qgmag.compute(weyl, QUANTITIES, chunk_size=CHUNK, **KW)
    assert reference.attrs["n_kpoints_evaluated"] < reference.attrs["n_kpoints"] / 4

    def interrupt(done: int, total: int) -> None:
        if done >= 2 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(
            weyl,
            QUANTITIES,
            chunk_size=CHUNK,
            checkpoint=ck,
            checkpoint_interval=0.0,
            progress=interrupt,
            **KW,
        )
    assert ck.is_file()
    # the checkpoint belongs to the symmetric run: a full-mesh resume is refused
    no_sym = {**KW, "symmetry": None}
    with pytest.raises(CheckpointError):
        qgmag.compute(weyl, QUANTITIES, chunk_size=CHUNK, checkpoint=ck, resume=True, **no_sym)
    resumed = qgmag.compute(weyl, QUANTITIES, chunk_size=CHUNK, checkpoint=ck, resume=True, **KW)
    assert_identical(reference, resumed)
    assert resumed.attrs["resumed_chunks"] == 2


def test_symmetric_run_on_dask_equals_serial(weyl, dask_client):
    serial = serial_reference(weyl, QUANTITIES, chunk_size=CHUNK, **KW)
    dask = qgmag.compute(weyl, QUANTITIES, chunk_size=CHUNK, scheduler=dask_client, **KW)
    assert_identical(serial, dask)
    assert dask.attrs["magnetic_point_group"] == "4/mm'm'"
