"""docs/config_reference.md documents every configuration key of qgmag.config.SCHEMA."""

from __future__ import annotations

from pathlib import Path

import pytest

from qgmag.config import SCHEMA, load_config
from qgmag.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_key_is_documented():
    text = (DOCS / "config_reference.md").read_text()
    for section, keys in SCHEMA.items():
        part = text.split(f"## [{section}]", 1)
        assert len(part) == 2, f"section [{section}] missing"
        body = part[1].split("\n## ", 1)[0]
        for key in keys:
            assert f"| `{key}` |" in body, f"[{section}] {key} undocumented"


def test_every_command_is_documented():
    text = (DOCS / "cli.md").read_text()
    for command in ("qgmag run", "qgmag models", "qgmag info", "qgmag bands", "qgmag map"):
        assert command in text


def test_parsing_forms(tmp_path):
    raw = {
        "model": {"name": "pt_antiferromagnet", "parameters": {"direction": [1, 0, 1]}},
        "compute": {
            "quantities": "kinetic_spin_intrinsic",
            "mu": {"start": 0.0, "stop": 1.0, "num": 3},
            "temperature": [0, 300],
            "kmesh": [4, 4],
            "smearing": {"kind": "gaussian", "width": 0.05},
        },
        "run": {"output": "out", "resume": True},
        "bands": {"path": [["G", [0, 0]], ["X", ["1/2", 0]]]},
    }
    cfg = load_config(None, raw=raw)
    assert cfg.compute.mu == (0.0, 0.5, 1.0)
    assert cfg.compute.temperature == (0.0, 300.0)
    assert cfg.compute.smearing == ("gaussian", 0.05)
    assert cfg.model.parameters["direction"] == (1, 0, 1)
    assert cfg.bands.path[1] == ("X", (0.5, 0.0))
    assert cfg.run.checkpoint == Path.cwd() / "out" / "checkpoint.qgck"
    assert cfg.run.execution_kwargs() == {"checkpoint": cfg.run.checkpoint, "resume": True}
    raw["compute"]["smearing"] = 0.01
    assert load_config(None, raw=raw).compute.smearing == 0.01
    raw["bands"]["path"][1][1][0] = "1/0"
    with pytest.raises(ConfigError, match="fraction"):
        load_config(None, raw=raw)
