"""Issue 14 item 14: SHA-256 of every input file in the results; --set list values."""

from __future__ import annotations

import hashlib
import json

import pytest

from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError
from qgmag.results import load_results


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_results_store_the_sha256_of_every_input_file(runner, cubic_tb, tmp_path):
    (tmp_path / "cubic.win").write_text("spinors = false\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[model]\nfile = "{cubic_tb}"\n[compute]\nquantities = ["anomalous_hall_conductivity"]\n'
        "mu = 0.0\nkmesh = [4, 4, 4]\n[run]\nplots = false\nprogress = false\n"
    )
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(cfg), "-o", str(out)])
    assert result.exit_code == 0, result.output
    hashes = json.loads(load_results(out / "results.nc").attrs["input_sha256"])
    assert hashes == {
        str(cfg): _sha(cfg),
        str(cubic_tb): _sha(cubic_tb),
        str(tmp_path / "cubic.win"): _sha(tmp_path / "cubic.win"),
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "[anomalous_hall_conductivity,chern_number]",
            ["anomalous_hall_conductivity", "chern_number"],
        ),
        ('["chern_number"]', ["chern_number"]),
        ("[60,60]", [60, 60]),
    ],
)
def test_set_list_values_without_quotes_are_read_as_lists(haldane_config, value, expected):
    key = "compute.kmesh" if expected == [60, 60] else "compute.quantities"
    cfg = load_config(haldane_config, [f"{key}={value}"])
    got = list(cfg.compute.kmesh if key.endswith("kmesh") else cfg.compute.quantities)
    assert got == expected


@pytest.mark.parametrize("value", ["[0.1,", "[[1, 2], x y]", "{a = 1"])
def test_set_malformed_list_says_how_to_quote(haldane_config, value):
    with pytest.raises(ConfigError, match="Quote the whole option"):
        load_config(haldane_config, [f"compute.mu={value}"])


def test_summary_lists_warnings_from_reading_the_model(runner, haldane_config, tmp_path,
                                                        monkeypatch):
    import warnings

    import qgmag
    from qgmag.config.schema import ModelConfig

    real = ModelConfig.build

    def build(self):
        warnings.warn("2 of 2 spinor pairs are split: test", qgmag.QgmagWarning, stacklevel=2)
        return real(self)

    monkeypatch.setattr(ModelConfig, "build", build)
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(haldane_config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "spinor pairs are split: test" in (out / "summary.md").read_text()
    assert "spinor pairs are split" in load_results(out / "results.nc").attrs["warnings"]
