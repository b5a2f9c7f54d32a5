"""``qgmag bands`` / ``qgmag map`` without a configuration file: the quick look.

The target of the commands is a TOML configuration, a Wannier90 file (``_tb.dat`` /
``_hr.dat``) or the name of a built-in model (``qgmag models``). For a file or a model the
configuration is built here: ``[model] file`` or ``[model] name`` and the defaults of
``[bands]``/``[map]``, with the plotted quantity and component from the command line,
output in ``./results/<file stem or model name>``; ``--set`` overrides apply as for a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qgmag.config import Config, load_config
from qgmag.errors import ConfigError


def _is_config(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


def load_target(
    target: str | os.PathLike[str],
    overrides: list[str],
    *,
    section: str,
    quantity: str | None = None,
    component: str | None = None,
    output: str | os.PathLike[str] | None = None,
) -> Config:
    """The validated configuration of a ``bands``/``map`` run on ``target``."""
    from qgmag.models.registry import BUILTIN_MODELS

    path = Path(target).expanduser()
    extra = []
    if quantity is not None:
        extra.append(f"{section}.quantity={_toml_string(quantity)}")
    if component is not None:
        extra.append(f"{section}.component={_toml_string(component)}")
    if _is_config(path):
        return load_config(path, [*extra, *overrides], output=output, require_compute=False)
    raw: dict[str, Any]
    if path.is_file():
        raw = {"model": {"file": str(path.resolve())}}
        stem = path.name.removesuffix("_tb.dat").removesuffix("_hr.dat")
    elif str(target) in BUILTIN_MODELS:
        raw = {"model": {"name": str(target)}}
        stem = str(target)
    elif path.is_dir():
        raise ConfigError(
            f"{str(target)!r} is a folder: give a .toml file, a Wannier90 file "
            "or a built-in model name."
        )
    else:
        raise ConfigError(
            f"{str(target)!r} is neither a .toml configuration, an existing Wannier90 file nor "
            f"a built-in model; built-in models: {sorted(BUILTIN_MODELS)}."
        )
    raw["run"] = {"output": str(Path.cwd() / "results" / stem)}
    return load_config(None, [*extra, *overrides], output=output, raw=raw, require_compute=False)


def _toml_string(text: str) -> str:
    import json

    return json.dumps(str(text))


def plot_bands_of(cfg: Config) -> list[Path]:
    """Run the ``[bands]`` section of a configuration; returns the files written."""
    from qgmag.kspace.path import make_path
    from qgmag.plotting import plot_bands

    model = cfg.model.build()
    b = cfg.bands
    points = None if b.path is None else [(label, list(k)) for label, k in b.path]
    kpath = make_path(model, points, n_points=b.n_points)
    cfg.run.output.mkdir(parents=True, exist_ok=True)
    return plot_bands(
        model,
        kpath,
        b.quantity,
        b.component,
        mu=b.mu,
        energy_window=b.energy_window,
        outfile=cfg.run.output / "bands",
        formats=cfg.run.formats,
    )


def plot_map_of(cfg: Config) -> list[Path]:
    """Run the ``[map]`` section of a configuration; returns the files written."""
    from qgmag.plotting import plot_bz_map

    model = cfg.model.build()
    m = cfg.map
    cfg.run.output.mkdir(parents=True, exist_ok=True)
    return plot_bz_map(
        model,
        m.quantity,
        m.component,
        mu=m.mu,
        temperature=m.temperature,
        kz=m.kz,
        plane=m.plane,
        n=m.n,
        band=m.band,
        outfile=cfg.run.output / "map",
        formats=cfg.run.formats,
    )
