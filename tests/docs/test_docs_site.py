"""The documentation site (mkdocs.yml) builds with --strict: no broken link, anchor or reference.

Needs the docs extra (``pip install -e ".[docs]"``: mkdocs, mkdocs-material,
mkdocstrings[python]); skipped where it is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_site_builds_strict(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["NO_MKDOCS_2_WARNING"] = "1"
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    api = (site / "api" / "compute" / "index.html").read_text(encoding="utf-8")
    assert "mu_from_filling" in api and "band_geometry" in api  # references from docstrings
    cli = (site / "cli_reference" / "index.html").read_text(encoding="utf-8")
    for command in ("run", "models", "info", "bands", "map"):
        assert f"qgmag {command}" in cli  # generated from the typer app
    assert "--electrons" in cli
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "mu_from_filling" in tutorial  # generated from examples/tutorial.ipynb
