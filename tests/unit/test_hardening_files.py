"""Issue 14 items 1 and 4: checkpoints never replace foreign files; file modes follow umask."""

from __future__ import annotations

import os
import stat

import pytest

import qgmag
from qgmag.errors import CheckpointError
from qgmag.files import current_umask
from qgmag.results import save_results

HALDANE = dict(quantities="chern_number", mu=0.0, kmesh=(8, 8))


def _compute(**kw):
    return qgmag.compute(qgmag.models.haldane(), HALDANE["quantities"], HALDANE["mu"],
                         kmesh=HALDANE["kmesh"], **kw)


@pytest.mark.parametrize("content", [b"my precious notes\n", b"PK\x03\x04 not really a zip"])
def test_checkpoint_path_never_replaces_or_deletes_a_foreign_file(tmp_path, content):
    victim = tmp_path / "notes.txt"
    victim.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a qgmag checkpoint"):
        _compute(checkpoint=victim, checkpoint_interval=0)
    assert victim.read_bytes() == content


def test_checkpoint_path_never_replaces_a_foreign_zip(tmp_path):
    import numpy as np

    victim = tmp_path / "data.npz"
    np.savez(victim, x=np.arange(3))
    before = victim.read_bytes()
    with pytest.raises(CheckpointError, match="not a qgmag checkpoint"):
        _compute(checkpoint=victim)
    assert victim.read_bytes() == before


def test_an_own_checkpoint_is_still_replaced_and_removed(tmp_path):
    path = tmp_path / "run.qgck"
    _compute(checkpoint=path, checkpoint_interval=0, keep_checkpoint=True)
    assert path.is_file()
    with pytest.warns(qgmag.QgmagWarning, match="replacing the existing checkpoint"):
        _compute(checkpoint=path, checkpoint_interval=0)
    assert not path.exists()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_results_and_checkpoints_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        ds = _compute()
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # how every other file is created
        out = save_results(ds, tmp_path / "results.nc")
        ck = tmp_path / "ck.qgck"
        _compute(checkpoint=ck, checkpoint_interval=0, keep_checkpoint=True)
        assert _mode(out) == _mode(plain) == 0o666 & ~umask
        assert _mode(ck) == 0o666 & ~umask
    finally:
        os.umask(old)


def test_signal_during_a_checkpoint_write_is_delivered_after_it(tmp_path, monkeypatch):
    """SIGTERM inside np.savez used to leave the zip writer half-closed, and its cleanup
    raised a ValueError instead of the interrupt (a traceback, not exit 130). Now the
    signal waits for the write: the file is complete and the handler's exception follows."""
    import signal

    import numpy as np

    from qgmag import checkpoint

    real_savez = np.savez
    seen = []

    def savez_hit_by_sigterm(fh, **payload):
        signal.raise_signal(signal.SIGTERM)  # arrives mid-write
        seen.append("still writing")
        real_savez(fh, **payload)

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    monkeypatch.setattr(checkpoint.np, "savez", savez_hit_by_sigterm)
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        path = tmp_path / "run.qgck"
        with pytest.raises(KeyboardInterrupt):
            checkpoint.write_atomic(path, {"format": checkpoint.FORMAT}, {"a": np.arange(3.0)})
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == ["still writing"]
    assert checkpoint.is_checkpoint_file(path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert [p.name for p in tmp_path.iterdir()] == ["run.qgck"]  # no temporary left
