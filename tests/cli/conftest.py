"""Fixtures of the command-line tests: a CliRunner, tiny configurations and a tiny _tb.dat."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

HALDANE_TINY = """
[model]
name = "haldane"

[model.parameters]
t2 = 0.1
mass = 0.0

[compute]
quantities = ["orbital_magnetization", "anomalous_hall_conductivity", "chern_number"]
mu = { start = -0.2, stop = 0.2, num = 3 }
temperature = 0.0
kmesh = [12, 12]

[run]
plots = false
progress = false

[bands]
path = [["G", [0, 0]], ["K", ["2/3", "1/3"]], ["M", [0.5, 0]], ["G", [0, 0]]]
n_points = 40
quantity = "berry_curvature"
component = "z"
mu = 0.0
energy_window = [-3.0, 3.0]

[map]
quantity = "berry_curvature"
mu = 0.0
n = 16
"""


def write_cubic_tb(path: Path, t: float = -1.0, a: float = 3.0) -> Path:
    """A one-orbital simple-cubic ``_tb.dat`` (nearest-neighbour hopping t eV, lattice a Å)."""
    vectors = [(0, 0, 0)] + [
        v for v in itertools.product((-1, 0, 1), repeat=3) if sum(abs(x) for x in v) == 1
    ]
    lines = ["tiny cubic test model"]
    lines += [" ".join(f"{a * (i == j):.6f}" for j in range(3)) for i in range(3)]
    lines += ["1", str(len(vectors)), " ".join("1" for _ in vectors)]
    for v in vectors:
        value = 0.0 if v == (0, 0, 0) else t
        lines += ["", " ".join(map(str, v)), f"1 1 {value:.8e} 0.0"]
    for v in vectors:
        lines += ["", " ".join(map(str, v)), "1 1 0.0 0.0 0.0 0.0 0.0 0.0"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def haldane_config(tmp_path: Path) -> Path:
    path = tmp_path / "haldane_tiny.toml"
    path.write_text(HALDANE_TINY)
    return path


@pytest.fixture
def cubic_tb(tmp_path: Path) -> Path:
    return write_cubic_tb(tmp_path / "cubic_tb.dat")


@pytest.fixture(scope="module")
def gaas_tb(shared_data: Path) -> Path:
    """GaAs_tb.dat from ../shared/data (skipped where the data are not beside the repo)."""
    path = shared_data / "GaAs" / "GaAs_tb.dat"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path
