"""``[compute] integration`` and ``qgmag run --integration``: the rule reaches qgmag.compute,
is recorded in results.nc, and impossible combinations are refused at validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import qgmag
from qgmag.cli import app
from qgmag.config import load_config
from qgmag.errors import ConfigError

from .test_cli_errors import _assert_user_error

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def rashba_exchange_blocks(t=1.0, tz=0.5, lam=0.3, exchange=0.2):
    """H(R) of the cubic Rashba + exchange metal (2 spinor bands, spin fastest)."""
    sx, sy, sz = PAULI
    one = np.eye(2, dtype=complex)
    return {
        (0, 0, 0): exchange * sz,
        (1, 0, 0): -t * one + 0.5j * lam * sy,
        (-1, 0, 0): -t * one - 0.5j * lam * sy,
        (0, 1, 0): -t * one - 0.5j * lam * sx,
        (0, -1, 0): -t * one + 0.5j * lam * sx,
        (0, 0, 1): -tz * one,
        (0, 0, -1): -tz * one,
    }


def write_tb(path: Path, blocks: dict, a: float = 3.0) -> Path:
    """A Wannier90 ``_tb.dat`` of the blocks (degeneracy 1, r(R) = 0)."""
    n = next(iter(blocks.values())).shape[0]
    lines = ["Rashba + exchange test model"]
    lines += [" ".join(f"{a * (i == j):.6f}" for j in range(3)) for i in range(3)]
    lines += [str(n), str(len(blocks)), " ".join("1" for _ in blocks)]
    for r, h in blocks.items():
        lines += ["", " ".join(map(str, r))]
        lines += [
            f"{i + 1} {j + 1} {h[i, j].real:.16e} {h[i, j].imag:.16e}"
            for j in range(n)
            for i in range(n)
        ]
    for r in blocks:
        lines += ["", " ".join(map(str, r))]
        lines += [f"{i + 1} {j + 1} 0 0 0 0 0 0" for j in range(n) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


CONFIG = """
[model]
file = "rashba_tb.dat"
spinor_ordering = "spin-fastest"

[compute]
quantities = ["kinetic_spin_extrinsic"]
mu = -1.0
temperature = 10.0
kmesh = [12, 12, 12]
integration = "tetrahedron"

[run]
plots = false
progress = false
"""


@pytest.fixture
def rashba_config(tmp_path: Path) -> Path:
    write_tb(tmp_path / "rashba_tb.dat", rashba_exchange_blocks())
    path = tmp_path / "rashba.toml"
    path.write_text(CONFIG)
    return path


def _library(path: Path, rule: str) -> np.ndarray:
    model = qgmag.read_wannier90(path, spinor_ordering="spin-fastest")
    ds = qgmag.compute(model, ["kinetic_spin_extrinsic"], -1.0, 10.0, (12, 12, 12),
                       integration=rule)
    return ds["kinetic_spin_extrinsic"].values


def test_file_model_is_the_rashba_exchange_hamiltonian(rashba_config):
    """The _tb.dat written here is H(k) = Σ_R H(R) e^{ik·R} of the blocks (independent sum)."""
    model = qgmag.read_wannier90(rashba_config.parent / "rashba_tb.dat",
                                 spinor_ordering="spin-fastest")
    k = np.random.default_rng(3).uniform(-1, 1, (5, 3))
    expected = sum(
        h[None] * np.exp(1j * 3.0 * (k @ np.array(r)))[:, None, None]
        for r, h in rashba_exchange_blocks().items()
    )
    np.testing.assert_allclose(model.hamiltonian(k), expected, atol=1e-12)
    np.testing.assert_allclose(2 * np.asarray(model.spin), PAULI, atol=1e-15)


def test_config_key_reaches_compute_and_is_recorded(runner, rashba_config, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(rashba_config), "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["integration"] == "tetrahedron"
        value = ds["kinetic_spin_extrinsic"].values
    expected = _library(rashba_config.parent / "rashba_tb.dat", "tetrahedron")
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    assert np.abs(expected).max() > 0  # the Edelstein response of this metal is not zero


def test_command_line_option_replaces_the_key(runner, rashba_config, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(rashba_config), "-o", str(out), "--quiet",
                                 "--integration", "linear-tetrahedron"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["integration"] == "linear-tetrahedron"
        value = ds["kinetic_spin_extrinsic"].values
    linear = _library(rashba_config.parent / "rashba_tb.dat", "linear-tetrahedron")
    optimized = _library(rashba_config.parent / "rashba_tb.dat", "tetrahedron")
    scale = np.abs(linear).max()
    np.testing.assert_allclose(value, linear, rtol=1e-12, atol=1e-12 * scale)
    assert np.abs(linear - optimized).max() > 1e-4 * scale  # the option changed the rule


def test_point_mesh_at_10_kelvin_is_refused_on_this_mesh(runner, rashba_config, tmp_path):
    """Without the key (default: the point mesh) 12³ is far too coarse for k_B T = 0.86 meV:
    the run stops with the coarse-mesh error the tetrahedra do not need."""
    result = runner.invoke(app, ["run", str(rashba_config), "-o", str(tmp_path / "o"),
                                 "--quiet", "--integration", "mesh"])
    _assert_user_error(result, "kmesh")


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        (['compute.integration="simpson"'], ("[compute] integration", "'linear-tetrahedron'")),
        (["compute.integration=1"], ("[compute] integration", "string")),
        (['compute.integration="tetrahedron"', "compute.kmesh=[12, 12]"],
         ("3D kmesh", "linear-tetrahedron")),
        (['compute.integration="tetrahedron"', "compute.kmesh=[2, 12, 12]"],
         ("at least 3 points", "[2, 12, 12]")),
        (['compute.integration="linear-tetrahedron"', "compute.kmesh=[1, 12, 12]"],
         ("at least 2 points",)),
        (['compute.integration="tetrahedron"', "compute.temperature=0",
          'compute.smearing=["methfessel-paxton", 0.01]'],
         ("methfessel-paxton", "none")),
    ],
)
def test_impossible_integration_settings_are_refused(
    runner, rashba_config, tmp_path, overrides, needles
):
    args = ["run", str(rashba_config), "-o", str(tmp_path / "o")]
    for item in overrides:
        args += ["--set", item]
    _assert_user_error(runner.invoke(app, args), *needles)


def test_cli_option_value_is_validated(runner, rashba_config, tmp_path):
    result = runner.invoke(app, ["run", str(rashba_config), "-o", str(tmp_path / "o"),
                                 "--integration", "adaptive-bogus"])
    _assert_user_error(result, "[compute] integration", "'mesh'")


def test_validation_accepts_the_rules(tmp_path):
    raw = {
        "model": {"name": "haldane"},
        "compute": {"quantities": "kinetic_orbital_extrinsic", "mu": 0.0, "kmesh": [8, 8],
                    "temperature": 300.0},
    }
    assert load_config(None, raw=raw).compute.integration == "mesh"
    assert "integration" not in load_config(None, raw=raw).compute.kwargs()
    raw["compute"]["integration"] = "linear-tetrahedron"  # 2D: linear triangles
    cfg = load_config(None, raw=raw)
    assert cfg.compute.kwargs()["integration"] == "linear-tetrahedron"
    # Methfessel–Paxton smearing is only used at T = 0: fine with T > 0 only
    raw["compute"]["smearing"] = ["methfessel-paxton", 0.01]
    assert load_config(None, raw=raw).compute.integration == "linear-tetrahedron"
    raw["compute"]["integration"] = "tetrahedron"
    with pytest.raises(ConfigError, match="3D kmesh"):
        load_config(None, raw=raw)


def test_adaptive_rule_and_levels_reach_compute(runner, rashba_config, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(rashba_config), "-o", str(out), "--quiet",
                                 "--integration", "adaptive-tetrahedron",
                                 "--set", "compute.adaptive_levels=1"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["integration"] == "adaptive-tetrahedron"
        value = ds["kinetic_spin_extrinsic"].values
    # one level on 12^3 = the linear rule on 24^3 for this Fermi-surface response
    model = qgmag.read_wannier90(rashba_config.parent / "rashba_tb.dat",
                                 spinor_ordering="spin-fastest")
    ref = qgmag.compute(model, ["kinetic_spin_extrinsic"], -1.0, 10.0, (24, 24, 24),
                        integration="linear-tetrahedron")["kinetic_spin_extrinsic"].values
    np.testing.assert_allclose(value, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        (["compute.adaptive_levels=2"], ("[compute] adaptive_levels", "adaptive-tetrahedron")),
        (['compute.integration="adaptive-tetrahedron"', "compute.adaptive_levels=-1"],
         ("[compute] adaptive_levels", ">= 0")),
        (['compute.integration="adaptive-tetrahedron"', "compute.adaptive_levels=9"],
         ("at most 8",)),
        (['compute.integration="adaptive-tetrahedron"', "compute.adaptive_levels=1.5"],
         ("[compute] adaptive_levels", "integer")),
    ],
)
def test_adaptive_levels_are_validated(runner, rashba_config, tmp_path, overrides, needles):
    args = ["run", str(rashba_config), "-o", str(tmp_path / "o")]
    for item in overrides:
        args += ["--set", item]
    _assert_user_error(runner.invoke(app, args), *needles)
