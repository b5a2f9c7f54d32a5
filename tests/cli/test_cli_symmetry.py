"""``qgmag symmetry``: group and allowed forms for built-ins, configs and Fe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qgmag.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_symmetry_of_builtin(runner):
    result = runner.invoke(app, ["symmetry", "weyl_lattice"])
    assert result.exit_code == 0, result.output
    assert "magnetic point group: 4/mm'm'" in result.stdout
    assert "σ_xy = -σ_yx; all else 0" in result.stdout


def test_symmetry_of_config_json(runner):
    result = runner.invoke(app, ["symmetry", str(EXAMPLES / "haldane_streda.toml"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["magnetic_point_group"] == "6/mm'm'"
    assert report["forms"]["orbital_magnetization"]["allowed_mask"] == [0, 0, 1]


def test_symmetry_of_fe_with_structure(runner, shared_data):
    tb = shared_data / "Fe" / "Fe_tb.dat"
    win = shared_data / "Fe" / "wannier90" / "Fe.win"
    if not (tb.is_file() and win.is_file()):
        pytest.skip("Fe data not available")
    result = runner.invoke(app, ["symmetry", str(tb), "--win", str(win), "--moment", "0,0,1"])
    assert result.exit_code == 0, result.output
    assert "magnetic point group: 4/mm'm'" in result.stdout
    assert "BROKEN by the model" in result.stdout


def test_symmetry_errors_are_one_line(runner):
    result = runner.invoke(app, ["symmetry", "rashba"])
    assert result.exit_code == 2
    assert "lattice model" in result.output
    result = runner.invoke(app, ["symmetry", "haldane", "--moment", "0,0,1"])
    assert result.exit_code == 2
    assert "--win" in result.output


def test_docs_symmetry_examples_run():
    """The code blocks of docs/symmetry.md that need no data files run as written."""
    import re

    text = (EXAMPLES.parent / "docs" / "symmetry.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "Fe_tb.dat" not in b]
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "docs/symmetry.md", "exec"), {})
