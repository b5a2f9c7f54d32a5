"""The round-off estimates of guarded terms (``<name>_roundoff``) are additive partial sums
like the values: a resumed run, a Dask run and a serial run report the same estimates bit
for bit, and a change of chunk size changes them only by round-off."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag

from .conftest import RUN, assert_identical, serial_reference

#: guarded terms: Φ (linear, broadened integrand) and the E² weights of every power of τ
GUARDED = ["kinetic_spin_intrinsic", "kinetic_spin_second_order"]
pytestmark = pytest.mark.filterwarnings("ignore::qgmag.QgmagWarning")
KW = {**RUN, "temperature": [300.0], "chunk_size": 20}  # 216 points -> 11 chunks


def _interrupt_after(points: int):
    def progress(done: int, total: int) -> None:
        if done >= points:
            raise KeyboardInterrupt

    return progress


@pytest.fixture(scope="module")
def reference(model):
    return serial_reference(model, GUARDED, **KW)


def test_estimates_are_reported_for_every_guarded_part(reference):
    for obs in GUARDED:
        assert f"{obs}_roundoff" in reference.data_vars
        assert f"{obs}_roundoff_per_cell" in reference.data_vars
    for part in ("tau2", "tau1", "tau0", "tau0_sea", "tau0_surface"):
        est = reference[f"kinetic_spin_second_order_{part}_roundoff"]
        assert est.dims == reference[f"kinetic_spin_second_order_{part}"].dims
        assert est.attrs["units"] == reference["kinetic_spin_second_order"].attrs["units"]
        assert np.all(est.values > 0)
    # grouped parts add: tau0 = tau0_sea + tau0_surface, total = all guarded terms
    e = {
        p: reference[f"kinetic_spin_second_order_{p}_roundoff"].values
        for p in ("tau2", "tau1", "tau0", "tau0_sea", "tau0_surface")
    }
    np.testing.assert_allclose(e["tau0"], e["tau0_sea"] + e["tau0_surface"], rtol=1e-14)
    np.testing.assert_allclose(
        reference["kinetic_spin_second_order_roundoff"].values,
        e["tau2"] + e["tau1"] + e["tau0"],
        rtol=1e-14,
    )


def test_interrupted_and_resumed_run_keeps_the_estimates(model, tmp_path, reference):
    ck = tmp_path / "run.qgck"
    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(
            model,
            GUARDED,
            checkpoint=ck,
            checkpoint_interval=0,
            progress=_interrupt_after(4 * 20),
            **KW,
        )
    resumed = serial_reference(model, GUARDED, checkpoint=ck, resume=True, **KW)
    assert resumed.attrs["resumed_chunks"] == 4
    assert_identical(reference, resumed)


def test_dask_run_has_the_serial_estimates(model, dask_client, reference):
    dask = qgmag.compute(model, GUARDED, scheduler=dask_client, **KW)
    assert_identical(reference, dask)


def test_chunk_size_changes_the_estimates_only_by_round_off(model, reference):
    other = serial_reference(model, GUARDED, **{**KW, "chunk_size": 7})
    for name in [v for v in reference.data_vars if "_roundoff" in str(v)]:
        np.testing.assert_allclose(other[name].values, reference[name].values, rtol=1e-12)
