"""Shared test fixtures: location of the reference data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """../shared/data beside the repository (override with QGMAG_SHARED_DATA)."""
    env = os.environ.get("QGMAG_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set QGMAG_SHARED_DATA)")
    return path
