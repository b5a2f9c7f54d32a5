"""Loading a configuration: read the TOML file, apply ``--set`` overrides, resolve
relative paths and validate every section (:func:`load_config`)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qgmag.config.schema import (
    DEFAULT_OUTPUT_ROOT,
    PATH_KEYS,
    SCHEMA,
    Config,
)
from qgmag.config.validate import (
    _bands_config,
    _compute_config,
    _map_config,
    _model_config,
    _resolve,
    _run_config,
    _section,
)
from qgmag.errors import ConfigError

# -- loading -------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"section.key=value"`` -> (["section", "key"], value); value parsed as TOML, else string."""
    if "=" not in text:
        raise ConfigError(
            f"--set {text!r}: expected section.key=value, e.g. --set compute.kmesh=[60,60]."
        )
    key, value = text.split("=", 1)
    parts = [p.strip() for p in key.strip().split(".")]
    if len(parts) < 2 or not all(parts):
        raise ConfigError(
            f"--set {text!r}: the key must name the section, e.g. model.file or compute.tau."
        )
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = _lenient_value(text, value.strip())
    return parts, parsed


_BARE_WORD = re.compile(r"^[A-Za-z0-9_.+/:~-]+$")


def _lenient_value(text: str, value: str) -> Any:
    """A value that is not TOML: a plain string, or a list of bare words such as
    ``[anomalous_hall_conductivity,chern_number]`` (the shell ate the quotes); anything else
    that looks like a list or table is an error saying how to quote it."""
    if not value.startswith(("[", "{")):
        return value
    hint = (
        f"--set {text!r}: the value is not a TOML list/table. Quote the whole option for "
        "the shell and strings inside TOML, e.g. --set 'compute.quantities=[\"chern_number\", "
        "\"anomalous_hall_conductivity\"]' or --set 'compute.kmesh=[60, 60]' (no unquoted "
        "spaces)."
    )
    if not (value.startswith("[") and value.endswith("]")) or "[" in value[1:-1]:
        raise ConfigError(hint)
    items = [x.strip() for x in value[1:-1].split(",")]
    if items == [""]:
        return []
    out: list[Any] = []
    for item in items:
        try:
            out.append(tomllib.loads(f"v = {item}")["v"])
        except tomllib.TOMLDecodeError:
            if not _BARE_WORD.match(item):
                raise ConfigError(hint) from None
            out.append(item)
    return out


def _set(raw: dict[str, Any], parts: list[str], value: Any, text: str) -> None:
    node = raw
    for i, p in enumerate(parts[:-1]):
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"--set {text!r}: {'.'.join(parts[: i + 1])} is a value, not a table."
            )
        node = child
    node[parts[-1]] = value


def _resolve_paths(
    raw: dict[str, Any], base: Path, only: set[tuple[str, str]] | None = None
) -> None:
    for section, key in PATH_KEYS:
        if only is not None and (section, key) not in only:
            continue
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            table[key] = _resolve(table[key], base)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw TOML table of a configuration file (ConfigError if missing or invalid)."""
    source = Path(path)
    if not source.is_file():
        raise ConfigError(
            f"configuration file {str(source)!r} "
            + ("is a folder" if source.is_dir() else "does not exist")
            + "; pass the path of a .toml file (see examples/)."
        )
    try:
        with source.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{str(source)!r} is not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{str(source)!r} is not a text (TOML) file.") from None


def load_config(
    path: str | Path | None,
    overrides: Sequence[str] = (),
    *,
    output: str | Path | None = None,
    raw: dict[str, Any] | None = None,
    require_compute: bool = True,
) -> Config:
    """Read, override (``--set section.key=value``) and validate a configuration.

    ``path`` is the TOML file (its folder anchors relative paths); alternatively ``raw``
    gives the table directly (then relative paths resolve against the current directory).
    ``output`` (``--output``) replaces ``[run] output``. ``require_compute`` is False for
    ``qgmag bands``/``map``, which do not need a ``[compute]`` section.
    """
    source = Path(path).resolve() if path is not None else None
    table = read_toml(source) if source is not None else dict(raw or {})
    base = source.parent if source is not None else Path.cwd()
    _resolve_paths(table, base)
    for text in overrides:
        parts, value = parse_override(text)
        _set(table, parts, value, text)
        if parts in (["compute", "mu"], ["compute", "electrons"]):  # the command line wins
            other = "electrons" if parts[1] == "mu" else "mu"
            table["compute"].pop(other, None)
        if len(parts) == 2 and (parts[0], parts[1]) in PATH_KEYS:
            _resolve_paths(table, Path.cwd(), {(parts[0], parts[1])})
    if output is not None:
        _set(table, ["run", "output"], Path(output).expanduser().absolute(), "--output")

    unknown = sorted(set(table) - set(SCHEMA))
    if unknown:
        raise ConfigError(f"unknown section(s) {unknown}; allowed sections: {sorted(SCHEMA)}.")
    sections = {name: _section(table, name) for name in SCHEMA}
    if "model" not in table:
        raise ConfigError(
            "the configuration has no [model] section; add one with `name` or `file`."
        )
    model = _model_config(sections["model"])
    compute = None
    if "compute" in table or require_compute:
        if "compute" not in table:
            raise ConfigError(
                "the configuration has no [compute] section; add quantities, mu and kmesh."
            )
        compute = _compute_config(sections["compute"])
    stem = source.stem if source is not None else "qgmag"
    default_output = Path.cwd() / DEFAULT_OUTPUT_ROOT / stem
    return Config(
        source=source,
        model=model,
        compute=compute,
        run=_run_config(sections["run"], default_output),
        bands=_bands_config(sections["bands"]),
        map=_map_config(sections["map"]),
        raw=table,
    )
