"""Issue 14 item 9: requests that cannot fit are refused before computing, with numbers."""

from __future__ import annotations

import numpy as np
import pytest

import qgmag
from qgmag import resources
from qgmag.resources import ResourceError


@pytest.fixture
def one_gib(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 2**30)


def test_huge_kmesh_is_refused_at_once():
    import time

    start = time.perf_counter()
    with pytest.raises(ResourceError, match=r"1e\+12 k-points"):
        qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, kmesh=(10**6, 10**6))
    assert time.perf_counter() - start < 5


def test_too_many_mu_values_are_refused_with_the_memory_numbers(one_gib):
    mu = np.linspace(-1, 1, 10**6)
    with pytest.raises(ResourceError, match=r"needs about .* GiB of memory but 1 GiB"):
        qgmag.compute(qgmag.models.haldane(), "anomalous_hall_conductivity", mu, kmesh=(8, 8))
    # a request that fits still runs under the same limit
    res = qgmag.compute(qgmag.models.haldane(), "anomalous_hall_conductivity", mu[:1000],
                        kmesh=(8, 8))
    assert res.sizes["mu"] == 1000


def test_huge_band_path_is_refused(one_gib):
    model = qgmag.models.haldane()
    k = np.zeros((10**7, 2))
    with pytest.raises(ResourceError, match="band_geometry at 10,000,000 k-points"):
        qgmag.band_geometry(model, k)


def test_huge_map_is_refused(one_gib, tmp_path):
    from qgmag.plotting import plot_bz_map

    with pytest.raises(ResourceError, match=r"20000 x \d+ Brillouin-zone map needs about"):
        plot_bz_map(qgmag.models.haldane(), "berry_curvature", "z", n=20000,
                    outfile=tmp_path / "map", formats=["png"])


def test_cli_huge_request_exits_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from qgmag.cli import app
    from tests.cli.conftest import HALDANE_TINY

    cfg = tmp_path / "h.toml"
    cfg.write_text(HALDANE_TINY)
    result = CliRunner().invoke(
        app,
        ["run", str(cfg), "-o", str(tmp_path / "o"), "--set", "compute.kmesh=[1000000,1000000]"],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "error: kmesh" in result.stderr
    assert not (tmp_path / "o").exists()


def test_long_runs_print_an_estimate(capsys, monkeypatch):
    from qgmag.integrate import driver

    monkeypatch.setattr(driver, "LONG_RUN_SECONDS", 0.0)
    calls = []
    res = qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, kmesh=(90, 90),
                        progress=lambda d, t: calls.append(d))
    assert res.attrs["estimated_time_s"] > 0  # calibrated (8100 points > 50 x 128)
    assert "qgmag: 8,100 k-points, estimated" in capsys.readouterr().err
    small = qgmag.compute(qgmag.models.haldane(), "chern_number", 0.0, kmesh=(8, 8))
    assert "estimated_time_s" not in small.attrs
    assert resources.format_duration(90) == "90 s"
    assert resources.format_duration(3 * 86400) == "3.0 days"
