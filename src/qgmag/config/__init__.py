"""Configuration files (TOML) of the ``qgmag`` command line, validated at the boundary.

A configuration has the sections ``[model]`` (a built-in model with ``[model.parameters]``,
or a Wannier90 file with its reader options), ``[compute]`` (the arguments of
:func:`qgmag.compute`), ``[run]`` (output folder, plots, parallel execution, checkpoints),
``[bands]`` and ``[map]`` (the ``qgmag bands`` / ``qgmag map`` plots). Every key, type,
default and allowed value is listed in :data:`SCHEMA` (and docs/config_reference.md).
Unknown keys, wrong types and out-of-range values raise :class:`~qgmag.errors.ConfigError`
naming the key and what is allowed. Relative paths in a file resolve against the file's
folder; paths given with ``--set`` resolve against the current directory.

Modules: :mod:`qgmag.config.schema` (keys, defaults, the validated objects),
:mod:`qgmag.config.validate` (type and range checks of each section) and
:mod:`qgmag.config.loader` (files, ``--set`` overrides, paths); every public name is
importable from ``qgmag.config``.
"""

from __future__ import annotations

from qgmag.config.loader import load_config, parse_override, read_toml
from qgmag.config.schema import (
    BAND_PLOT_QUANTITIES,
    CHECKPOINT_NAME,
    DEFAULT_OUTPUT_ROOT,
    OBSERVABLE_NAMES,
    PATH_KEYS,
    PLOT_FORMATS,
    READER_KEYS,
    SCHEMA,
    SPINOR_ORDERINGS,
    BandsConfig,
    ComputeConfig,
    Config,
    Key,
    MapConfig,
    ModelConfig,
    RunConfig,
)

__all__ = [
    "BAND_PLOT_QUANTITIES",
    "BandsConfig",
    "CHECKPOINT_NAME",
    "ComputeConfig",
    "Config",
    "DEFAULT_OUTPUT_ROOT",
    "Key",
    "MapConfig",
    "ModelConfig",
    "OBSERVABLE_NAMES",
    "PATH_KEYS",
    "PLOT_FORMATS",
    "READER_KEYS",
    "RunConfig",
    "SCHEMA",
    "SPINOR_ORDERINGS",
    "load_config",
    "parse_override",
    "read_toml",
]
