"""Checkpoints of another calculation, damaged files and failing writes.

A checkpoint is refused (CheckpointError naming what differs and how to start over) when
the model, mesh, quantities, μ, T, smearing or chunk size differ; a truncated or corrupted
file is refused; a missing one gives a warning and a fresh start. Files are written to a
temporary name and renamed, so a failing write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import qgmag
from qgmag.checkpoint import Checkpoint, read_checkpoint, write_atomic
from qgmag.errors import CheckpointError, QgmagWarning

from .conftest import QUANTITIES, RUN, assert_identical, random_spinful_model

KWARGS = {**RUN, "chunk_size": 50}


@pytest.fixture
def checkpoint(model, tmp_path) -> Path:
    """A checkpoint of a run interrupted after 2 of its 5 chunks."""
    ck = tmp_path / "run.qgck"

    def stop(done: int, total: int) -> None:
        if done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        qgmag.compute(model, QUANTITIES, checkpoint=ck, progress=stop, **KWARGS)
    assert ck.is_file()
    return ck


@pytest.mark.parametrize(
    ("change", "named", "not_named"),
    [
        ({"kmesh": (6, 6, 7)}, "mesh (checkpoint", "quantities"),
        ({"quantities": QUANTITIES[:2]}, "quantities (checkpoint", "mesh"),
        (
            {"mu": [-0.5, 0.0, 0.8]},
            "mu (checkpoint [-0.5, 0.0, 0.7], now [-0.5, 0.0, 0.8])",
            "mesh",
        ),
        ({"temperature": [0.0, 301.0]}, "temperature (checkpoint", "mu ("),
        ({"smearing": ("gaussian", 2.5)}, "smearing (checkpoint", "mu ("),
        ({"chunk_size": 40}, "chunk size (checkpoint 50, now 40)", "mesh"),
        ({"shift": True}, "mesh (checkpoint", "mu ("),
    ],
)
def test_other_calculation_is_refused_naming_the_difference(
    model, checkpoint, change, named, not_named
):
    kwargs = {**KWARGS, **change}
    quantities = kwargs.pop("quantities", QUANTITIES)
    with pytest.raises(CheckpointError, match="belongs to a different calculation") as info:
        qgmag.compute(model, quantities, checkpoint=checkpoint, resume=True, **kwargs)
    text = str(info.value)
    assert named in text and not_named not in text
    assert str(checkpoint) in text and "without resume" in text  # the way out
    assert checkpoint.is_file(), "a refused checkpoint is left alone"


def test_other_model_is_refused(checkpoint):
    other = random_spinful_model(seed=1)
    with pytest.raises(CheckpointError, match="different model"):
        qgmag.compute(other, QUANTITIES, checkpoint=checkpoint, resume=True, **KWARGS)


def test_same_model_rebuilt_or_renamed_is_accepted(model, checkpoint):
    rebuilt = random_spinful_model()  # same arrays, another object
    assert rebuilt is not model
    result = qgmag.compute(rebuilt, QUANTITIES, checkpoint=checkpoint, resume=True, **KWARGS)
    assert result.attrs["resumed_chunks"] == 2
    assert_identical(qgmag.compute(model, QUANTITIES, **KWARGS), result)


def test_truncated_checkpoint_is_refused(model, checkpoint):
    data = checkpoint.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        checkpoint.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match="corrupt or truncated"):
            qgmag.compute(model, QUANTITIES, checkpoint=checkpoint, resume=True, **KWARGS)


def test_corrupted_bytes_are_refused(model, checkpoint):
    data = bytearray(checkpoint.read_bytes())
    # flip one byte inside each stored member (CRC-32 of the zip archive)
    with zipfile.ZipFile(checkpoint) as zf:
        offsets = [info.header_offset + 30 + len(info.filename) + 64 for info in zf.infolist()]
    for offset in offsets[:5]:
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        checkpoint.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError, match="corrupt"):
            qgmag.compute(model, QUANTITIES, checkpoint=checkpoint, resume=True, **KWARGS)


def test_digest_mismatch_is_refused(model, checkpoint):
    """A well-formed archive whose numbers were changed (the zip CRCs are rewritten)."""
    with np.load(checkpoint) as npz:
        arrays = {name: npz[name] for name in npz.files}
    name = next(n for n in arrays if n not in ("meta", "digest"))
    arrays[name] = arrays[name] + 1.0
    with open(checkpoint, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(CheckpointError, match="digest does not match"):
        qgmag.compute(model, QUANTITIES, checkpoint=checkpoint, resume=True, **KWARGS)


def test_other_files_are_refused(model, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        qgmag.compute(model, QUANTITIES, checkpoint=text, resume=True, **KWARGS)
    foreign = tmp_path / "foreign.npz"
    meta = json.dumps({"format": "something-else"})
    np.savez(foreign, meta=np.array(meta), digest=np.array("x"))
    with pytest.raises(CheckpointError, match="not a qgmag checkpoint"):
        qgmag.compute(model, QUANTITIES, checkpoint=foreign, resume=True, **KWARGS)
    with pytest.raises(CheckpointError, match="is a folder"):
        qgmag.compute(model, QUANTITIES, checkpoint=tmp_path, resume=True, **KWARGS)


def test_missing_checkpoint_with_resume_warns_and_starts_fresh(model, tmp_path):
    ck = tmp_path / "none.qgck"
    with pytest.warns(QgmagWarning, match="no checkpoint"):
        result = qgmag.compute(model, QUANTITIES, checkpoint=ck, resume=True, **KWARGS)
    assert result.attrs["resumed_chunks"] == 0
    assert_identical(qgmag.compute(model, QUANTITIES, **KWARGS), result)
    assert not ck.exists()


def test_existing_checkpoint_without_resume_is_replaced_with_a_warning(model, checkpoint):
    with pytest.warns(QgmagWarning, match="replacing the existing checkpoint"):
        result = qgmag.compute(model, QUANTITIES, checkpoint=checkpoint, **KWARGS)
    assert "resumed_chunks" not in result.attrs and not checkpoint.exists()


def test_failed_write_keeps_the_previous_checkpoint(model, checkpoint, monkeypatch):
    before = checkpoint.read_bytes()
    meta, _ = read_checkpoint(checkpoint)

    def broken_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # e.g. a second Ctrl-C while saving

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(checkpoint, meta, {"x": np.zeros(3)})
    assert checkpoint.read_bytes() == before
    assert [p.name for p in checkpoint.parent.iterdir()] == [checkpoint.name]


def test_checkpoint_folder_that_cannot_hold_it_is_refused_before_the_run(model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(CheckpointError, match="is a file, not a folder"):
        qgmag.compute(model, QUANTITIES, checkpoint=blocker / "sub" / "run.qgck", **KWARGS)
    assert blocker.read_text() == "a file where a folder should be"


def test_unwritable_checkpoint_warns_and_the_run_goes_on(model, tmp_path):
    """The folder becomes unusable during the run (here: replaced by a file; a full or
    unmounted disk alike): saves fail with a warning and the run still returns its result."""
    import shutil

    folder = tmp_path / "ckpt"
    folder.mkdir()

    def progress(done, total):
        if folder.is_dir():
            shutil.rmtree(folder)
            folder.write_text("not a folder any more")

    with pytest.warns(QgmagWarning, match="could not write the checkpoint"):
        result = qgmag.compute(
            model,
            QUANTITIES,
            checkpoint=folder / "run.qgck",
            checkpoint_interval=0,
            progress=progress,
            **KWARGS,
        )
    assert_identical(qgmag.compute(model, QUANTITIES, **KWARGS), result)


@pytest.mark.parametrize("interval", [-1.0, float("nan"), float("inf")])
def test_bad_interval_is_refused(model, tmp_path, interval):
    with pytest.raises(CheckpointError, match="checkpoint_interval"):
        Checkpoint(tmp_path / "x.qgck", model, resume=False, interval=interval)
