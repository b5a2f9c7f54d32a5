"""Issue 14 item 11: Ctrl-C during a Dask run prints no Dask warnings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("distributed")

SCRIPT = textwrap.dedent(
    """
    import sys
    import qgmag

    calls = [0]

    def progress(done, total):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt

    if __name__ == "__main__":
        try:
            qgmag.compute(qgmag.models.weyl_lattice(), "anomalous_hall_conductivity", 0.0,
                          kmesh=(20, 20, 20), chunk_size=200, scheduler="local", n_workers=2,
                          progress=progress)
        except KeyboardInterrupt:
            print("INTERRUPTED", file=sys.stderr)
    """
)


def test_interrupted_dask_run_is_quiet(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(SCRIPT)
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert "INTERRUPTED" in proc.stderr, proc.stderr
    noise = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert noise == [], proc.stderr


def test_shutdown_filter_drops_only_the_close_time_cancellation_record():
    """The filter installed on workers drops Dask's close-time record and nothing else."""
    import logging

    from qgmag.parallel import _ShutdownCancellationFilter

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord(
            "distributed.worker.state_machine", logging.WARNING, "", 0, msg, None, None
        )

    keep = _ShutdownCancellationFilter()
    assert not keep.filter(
        record("Async instruction for <Task cancelled name='execute(x)'> ended with CancelledError")
    )
    assert keep.filter(record("Async instruction for <Task x> failed"))
    assert keep.filter(record("Could not find data: {'x': ['tcp://127.0.0.1:1']}"))
