"""examples/tutorial.ipynb runs from top to bottom, and prints what its text says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "tutorial.ipynb"


def test_tutorial_notebook_executes(shared_data, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("QGMAG_SHARED_DATA", str(shared_data))
    src = str(ROOT / "src")  # the kernel imports qgmag from this tree
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "qgmag/__init__" not in text  # no tracebacks
    fermi = float(re.search(r"E_F = ([0-9.]+) eV", text).group(1))
    assert abs(fermi - 17.6255) < 0.1  # the notebook's claim (tests/physics/test_filling.py)
    assert "band gap" in text  # the warning of section 3
    try:  # section 2 runs only where PythTB is installed
        import pythtb  # noqa: F401
    except ImportError:
        return
    assert "True True" in text  # the PythTB model reproduces the built-in one
