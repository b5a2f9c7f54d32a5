"""Package layout: the split modules keep every public import path of before the split."""

from __future__ import annotations

import importlib

import pytest

#: public names of the former single-file modules (qgmag/plotting.py, qgmag/config.py)
PLOTTING_NAMES = [
    "DPI",
    "PLOT_FORMATS",
    "ROUND_OFF_PER_CELL",
    "ZERO_RELATIVE",
    "bands_figure",
    "bz_map_figure",
    "degenerate_average",
    "draw_observable",
    "observable_figure",
    "plot_bands",
    "plot_bz_map",
    "plot_observables",
    "save_figure",
    "unit_label",
    "wigner_seitz_2d",
]
CONFIG_NAMES = [
    "BAND_PLOT_QUANTITIES",
    "CHECKPOINT_NAME",
    "DEFAULT_OUTPUT_ROOT",
    "OBSERVABLE_NAMES",
    "PATH_KEYS",
    "PLOT_FORMATS",
    "READER_KEYS",
    "SCHEMA",
    "SPINOR_ORDERINGS",
    "BandsConfig",
    "ComputeConfig",
    "Config",
    "Key",
    "MapConfig",
    "ModelConfig",
    "RunConfig",
    "load_config",
    "parse_override",
    "read_toml",
]
FINITE_FIELD_NAMES = [
    "FiniteFieldResult",
    "magnetic_supercell",
    "magnetoelectric",
    "orbital_magnetization",
    "polarization",
    "grand_potential",
]


@pytest.mark.parametrize(
    ("module", "names"), [("qgmag.plotting", PLOTTING_NAMES), ("qgmag.config", CONFIG_NAMES)]
)
def test_split_packages_export_every_former_public_name(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing
    assert set(names) <= set(mod.__all__)


def test_finite_field_old_and_new_paths_are_one_module() -> None:
    import qgmag.finite_field as old

    import qgmag
    from qgmag import finite_field as attr
    from qgmag.validation import finite_field as new

    assert old is new is attr is qgmag.finite_field
    assert all(hasattr(old, n) for n in FINITE_FIELD_NAMES)
