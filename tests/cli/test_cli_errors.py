"""User errors: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from qgmag.cli import app

from .conftest import HALDANE_TINY


def _assert_user_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.output
    assert "Traceback" not in text
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    for needle in needles:
        assert needle in lines[0], text
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("compute.temperature=-5.0", ("[compute] temperature", ">= 0")),
        ("model.name=graphene", ("[model] name", "'haldane'")),
        ("compute.kmesh=[10.5, 10]", ("[compute] kmesh[0]", "integer")),
        ("compute.tau=true", ("[compute] tau", "number")),
        ('compute.quantities=["magic"]', ("'magic'", "orbital_magnetization")),
        ("compute.bogus=1", ("unknown key", "'bogus'", "kmesh")),
        ("model.parameters.t3=1.0", ("'t3'", "t2")),
        ('compute.smearing=["lorentz", 0.1]', ("smearing kind", "gaussian")),
        ("compute.mu={start=0, stop=1}", ("[compute] mu", "num")),
        ("bands.quantity=colour", ("[bands] quantity", "berry_curvature")),
        ("run.scheduler=slurm", ("[run] scheduler", "local")),
        ("nonsense", ("--set", "section.key=value")),
        ("bogus.key=1", ("unknown section", "compute")),
    ],
)
def test_config_errors(runner, haldane_config, tmp_path, override, needles):
    result = runner.invoke(
        app, ["run", str(haldane_config), "-o", str(tmp_path / "o"), "--set", override]
    )
    _assert_user_error(result, *needles)


def test_negative_temperature_in_file(runner, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(HALDANE_TINY.replace("temperature = 0.0", "temperature = [10.0, -1.0]"))
    _assert_user_error(runner.invoke(app, ["run", str(config)]), "temperature[1]", ">= 0")


def test_missing_config_and_bad_toml(runner, tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    _assert_user_error(result, "does not exist")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nname = 'haldane'\n")
    _assert_user_error(runner.invoke(app, ["run", str(bad)]), "not valid TOML")


def test_missing_wannier_file(runner, haldane_config, tmp_path):
    config = tmp_path / "w.toml"
    config.write_text(
        '[model]\nfile = "missing_tb.dat"\n[compute]\nquantities = "chern_number"\n'
        "mu = 0.0\nkmesh = [4, 4, 4]\n"
    )
    _assert_user_error(runner.invoke(app, ["run", str(config)]), "missing_tb.dat", "does not exist")


def test_file_that_is_not_wannier90(runner, tmp_path):
    not_w90 = tmp_path / "notes_tb.dat"
    not_w90.write_text("hello\nthis is not\na wannier file\n")
    config = tmp_path / "w.toml"
    config.write_text(
        f'[model]\nfile = "{not_w90.name}"\n[compute]\nquantities = "anomalous_hall_conductivity"\n'
        "mu = 0.0\nkmesh = [4, 4, 4]\n"
    )
    _assert_user_error(runner.invoke(app, ["run", str(config)]), "not a valid Wannier90 file")
    _assert_user_error(runner.invoke(app, ["info", str(not_w90)]), "not a valid Wannier90 file")
    _assert_user_error(runner.invoke(app, ["info", str(tmp_path / "none_tb.dat")]), "not exist")


def test_library_errors_are_one_line(runner, haldane_config, tmp_path):
    # spin quantity on a spinless model: raised by qgmag.compute, not by the config checks
    result = runner.invoke(
        app,
        [
            "run",
            str(haldane_config),
            "-o",
            str(tmp_path / "o"),
            "--set",
            "compute.quantities=spin_magnetization",
        ],
    )
    _assert_user_error(result, "spin")
    assert not (tmp_path / "o" / "results.nc").exists()


def test_model_and_file_are_exclusive(runner, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(HALDANE_TINY.replace('name = "haldane"', 'name = "haldane"\nfile = "x"'))
    _assert_user_error(runner.invoke(app, ["run", str(config)]), "exactly one of")


def test_usage_errors_exit_2(runner):
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_info_rejects_unknown_spinor_ordering(runner, cubic_tb: Path):
    result = runner.invoke(app, ["info", str(cubic_tb), "--spinor-ordering", "sideways"])
    _assert_user_error(result, "spin-fastest")
