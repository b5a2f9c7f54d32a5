"""Validation of the configuration sections: TOML types, ranges and allowed values,
each error a :class:`~qgmag.errors.ConfigError` naming the key and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from qgmag.config.schema import (
    BAND_PLOT_QUANTITIES,
    CHECKPOINT_NAME,
    OBSERVABLE_NAMES,
    ORBITAL_FORMULAS,
    PHASE_CENTRES,
    PLOT_FORMATS,
    READER_KEYS,
    RUN_KEYS,
    RUN_LEVELS,
    RUN_SCHEMES,
    SCHEMA,
    SPINOR_ORDERINGS,
    TB_FILE_KEYS,
    TIME_REVERSAL,
    BandsConfig,
    ComputeConfig,
    MapConfig,
    ModelConfig,
    RunConfig,
)
from qgmag.errors import ConfigError
from qgmag.integrate.adaptive import MAX_LEVELS
from qgmag.integrate.driver import METRIC_DIPOLE_FORMS
from qgmag.integrate.tetrahedron import INTEGRATION_RULES
from qgmag.io.wannier90 import BERRY_CONNECTIONS
from qgmag.occupation import SMEARING_KINDS

# -- type checks ---------------------------------------------------------------------------


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any, where: str, *, minimum: float | None = None, strict: bool = False) -> float:
    if not _is_number(value):
        raise ConfigError(f"{where} must be a number; got {_type_name(value)} ({value!r}).")
    x = float(value)
    if not math.isfinite(x):
        raise ConfigError(f"{where} must be finite; got {value!r}.")
    if minimum is not None and (x < minimum or (strict and x == minimum)):
        rel = ">" if strict else ">="
        raise ConfigError(f"{where} must be {rel} {minimum:g}; got {value!r}.")
    return x


def _int(value: Any, where: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer; got {_type_name(value)} ({value!r}).")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where} must be >= {minimum}; got {value}.")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false; got {_type_name(value)} ({value!r}).")
    return value


def _str(value: Any, where: str, allowed: Sequence[str] | None = None) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string; got {_type_name(value)} ({value!r}).")
    if allowed is not None and value not in allowed:
        raise ConfigError(f"{where} = {value!r} is not allowed; choose from {list(allowed)}.")
    return value


def _float_list(value: Any, where: str, *, minimum: float | None = None) -> tuple[float, ...]:
    if not isinstance(value, list):
        return (_float(value, where, minimum=minimum),)
    if not value:
        raise ConfigError(f"{where} must not be empty.")
    return tuple(_float(x, f"{where}[{i}]", minimum=minimum) for i, x in enumerate(value))


def _reduced(value: Any, where: str) -> float:
    """A reduced coordinate: a number or a fraction string such as "1/3"."""
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            raise ConfigError(
                f'{where} = {value!r} is not a number or a fraction such as "1/3".'
            ) from None
    return _float(value, where)


def _resolve(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


# -- sections ------------------------------------------------------------------------------


def _check_keys(section: str, table: Mapping[str, Any]) -> None:
    allowed = SCHEMA[section]
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in [{section}]; allowed keys: {sorted(allowed)}."
        )


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table; got {_type_name(table)}.")
    _check_keys(name, table)
    return table


def _model_config(table: dict[str, Any]) -> ModelConfig:
    has_name, has_file = "name" in table, "file" in table
    if has_name == has_file:
        raise ConfigError(
            "[model] needs exactly one of `name` (a built-in model; `qgmag models` lists them) "
            "or `file` (a Wannier90 _tb.dat/_hr.dat file)"
            + ("; got both." if has_name else "; got neither.")
        )
    if has_name:
        from qgmag.models.registry import BUILTIN_MODELS

        name = _str(table["name"], _where("model", "name"), sorted(BUILTIN_MODELS))
        reader_keys = sorted(set(table) & set(READER_KEYS))
        if reader_keys:
            raise ConfigError(
                f"[model] keys {reader_keys} are Wannier90 reader options and need `file`; "
                f"a built-in model takes its settings in [model.parameters]."
            )
        params = table.get("parameters", {})
        if not isinstance(params, dict):
            raise ConfigError(
                f"[model] parameters must be a table; got {_type_name(params)} ({params!r})."
            )
        from qgmag.models.registry import model_parameters

        allowed = model_parameters(name)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(
                f"model {name!r} has no parameter(s) {unknown}; allowed: {sorted(allowed)}."
            )
        parsed = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        return ModelConfig(name=name, parameters=parsed)

    if "parameters" in table:
        raise ConfigError(
            "[model.parameters] belongs to built-in models (`name`); a Wannier90 `file` takes "
            f"reader options directly in [model]: {list(READER_KEYS)}."
        )
    file = table["file"]
    if not isinstance(file, Path):
        raise ConfigError(f"[model] file must be a path string; got {_type_name(file)}.")
    if not file.is_file():
        raise ConfigError(
            f"[model] file {str(file)!r} does not exist"
            + (" (it is a folder)" if file.is_dir() else "")
            + "; give the path of a Wannier90 seedname_tb.dat or seedname_hr.dat file or of "
            "a run's seedname.chk in [model] file (relative to the config file's folder) or "
            "with --set model.file=PATH."
        )
    from qgmag.io.w90_reader import is_run

    if is_run(file):
        return ModelConfig(file=file, reader=_run_reader(table))
    run_keys = sorted(set(table) & set(RUN_KEYS))
    if run_keys:
        raise ConfigError(
            f"[model] keys {run_keys} apply to Wannier90 runs (file = \"seedname.chk\"); "
            f"{str(file)!r} is a tight-binding file: remove them (for its Berry connection "
            "use berry_connection)."
        )
    reader: dict[str, Any] = {}
    if "spin_pairs" in table:
        reader["spin_pairs"] = _spin_pairs(table["spin_pairs"])
    for key in ("lattice", "centres"):
        if key in table:
            value = table[key]
            if isinstance(value, Path):
                if not value.is_file():
                    raise ConfigError(f"[model] {key} file {str(value)!r} does not exist.")
                reader[key] = value
            else:
                reader[key] = _matrix(value, _where("model", key))
    if "positions" in table:
        reader["positions"] = _matrix(table["positions"], _where("model", "positions"))
    ordering = _str(
        table.get("spinor_ordering", "none"), _where("model", "spinor_ordering"), SPINOR_ORDERINGS
    )
    reader["spinor_ordering"] = None if ordering == "none" else ordering
    if "berry_connection" in table:
        reader["berry_connection"] = _str(
            table["berry_connection"], _where("model", "berry_connection"), BERRY_CONNECTIONS
        )
    if "energy_shift" in table:
        reader["energy_shift"] = _float(table["energy_shift"], _where("model", "energy_shift"))
    if "hermitian_tolerance" in table:
        reader["hermitian_tolerance"] = _float(
            table["hermitian_tolerance"],
            _where("model", "hermitian_tolerance"),
            minimum=0.0,
            strict=True,
        )
    if "minimal_distance" in table:
        value = table["minimal_distance"]
        if not (isinstance(value, bool) or value == "auto"):
            raise ConfigError(
                f"{_where('model', 'minimal_distance')} must be \"auto\", true or false "
                f"(Wannier90's minimal-distance rule); got {value!r}."
            )
        reader["minimal_distance"] = value
    if "mp_grid" in table:
        value = table["mp_grid"]
        where = _where("model", "mp_grid")
        if not isinstance(value, list) or len(value) != 3:
            raise ConfigError(
                f"{where} must be an array of 3 positive integers (the .win mp_grid, e.g. "
                f"[2, 2, 2]); got {value!r}."
            )
        reader["mp_grid"] = tuple(_int(x, f"{where}[{i}]", minimum=1) for i, x in enumerate(value))
    if "time_reversal" in table:
        reader["time_reversal"] = _str(
            table["time_reversal"], _where("model", "time_reversal"), TIME_REVERSAL
        )
    return ModelConfig(file=file, reader=reader)


def _run_reader(table: dict[str, Any]) -> dict[str, Any]:
    """Reader options of a Wannier90 run ([model] file = seedname.chk)."""
    tb_keys = sorted(set(table) & set(TB_FILE_KEYS))
    if tb_keys:
        raise ConfigError(
            f"[model] keys {tb_keys} apply to _tb.dat/_hr.dat files; a Wannier90 run takes "
            f"{['centres', 'energy_shift', 'spin_pairs', *RUN_KEYS]}: remove them (the run's "
            "files give the lattice, centres and spin)."
        )
    reader: dict[str, Any] = {}
    if "centres" in table:
        if isinstance(table["centres"], Path):
            raise ConfigError(
                "[model] centres of a Wannier90 run must be an array (num_wann x 3, Å); the "
                "run's own centres are the default."
            )
        reader["centres"] = _matrix(table["centres"], _where("model", "centres"))
    if "energy_shift" in table:
        reader["energy_shift"] = _float(table["energy_shift"], _where("model", "energy_shift"))
    if "spin_pairs" in table:
        reader["spin_pairs"] = _spin_pairs(table["spin_pairs"])
    if "level" in table:
        reader["level"] = _str(table["level"], _where("model", "level"), RUN_LEVELS)
    if "scheme" in table:
        reader["scheme"] = _str(table["scheme"], _where("model", "scheme"), RUN_SCHEMES)
    if "phase_centres" in table:
        reader["phase_centres"] = _str(
            table["phase_centres"], _where("model", "phase_centres"), PHASE_CENTRES
        )
    if "orbital_formula" in table:
        reader["orbital_formula"] = _str(
            table["orbital_formula"], _where("model", "orbital_formula"), ORBITAL_FORMULAS
        )
    return reader


def _spin_pairs(value: Any) -> Any:
    """`auto`, `time-reversal` or [[up, down], ...] (0-based ints)."""
    where = _where("model", "spin_pairs")
    if isinstance(value, str):
        return _str(value, where, ("auto", "time-reversal"))
    ok = isinstance(value, list) and value and all(
        isinstance(p, list) and len(p) == 2 and all(type(x) is int and x >= 0 for x in p)
        for p in value
    )
    if not ok:
        raise ConfigError(
            f"{where} must be \"auto\", \"time-reversal\" or an array of [up, down] pairs of "
            f"0-based Wannier-function indices, e.g. [[0, 1], [2, 3]]; got {value!r}."
        )
    return [tuple(p) for p in value]


def _matrix(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise ConfigError(f"{where} must be a path or an array of rows of numbers; got {value!r}.")
    rows = [[_float(x, f"{where}[{i}][{j}]") for j, x in enumerate(r)] for i, r in enumerate(value)]
    if len({len(r) for r in rows}) != 1:
        raise ConfigError(f"{where} rows must all have the same length; got {value!r}.")
    return np.array(rows)


def _mu_grid(value: Any) -> tuple[float, ...]:
    where = _where("compute", "mu")
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"start", "stop", "num"})
        missing = sorted({"start", "stop", "num"} - set(value))
        if unknown or missing:
            raise ConfigError(
                f"{where} as a table needs exactly the keys start, stop, num (eV, eV, count); "
                f"unknown {unknown}, missing {missing}."
            )
        start = _float(value["start"], f"{where}.start")
        stop = _float(value["stop"], f"{where}.stop")
        num = _int(value["num"], f"{where}.num", minimum=1)
        return tuple(float(x) for x in np.linspace(start, stop, num))
    if isinstance(value, list | int | float) and not isinstance(value, bool):
        return _float_list(value, where)
    raise ConfigError(
        f"{where} must be a number, an array of numbers or a table {{start, stop, num}} (eV); "
        f"got {_type_name(value)} ({value!r})."
    )


def _smearing(value: Any) -> float | tuple[str, float] | None:
    where = _where("compute", "smearing")
    if _is_number(value):
        return _float(value, where, minimum=0.0, strict=True)
    if isinstance(value, list):
        if len(value) != 2:
            raise ConfigError(f"{where} as an array must be [kind, width]; got {value!r}.")
        kind, width = value
    elif isinstance(value, dict):
        if set(value) != {"kind", "width"}:
            raise ConfigError(
                f"{where} as a table needs exactly the keys kind and width; got {sorted(value)}."
            )
        kind, width = value["kind"], value["width"]
    else:
        raise ConfigError(
            f"{where} must be a width in eV, [kind, width] or {{kind, width}}; got {value!r}."
        )
    kind = _str(kind, f"{where} kind", SMEARING_KINDS)
    return kind, _float(width, f"{where} width", minimum=0.0, strict=True)


def _compute_config(table: dict[str, Any]) -> ComputeConfig:
    for key in ("quantities", "kmesh"):
        if key not in table:
            raise ConfigError(f"[compute] is missing the required key `{key}`.")
    if ("mu" in table) == ("electrons" in table):
        raise ConfigError(
            "[compute] needs exactly one of `mu` (chemical potentials in eV) or `electrons` "
            "(electrons per cell: μ = the Fermi level of that filling)"
            + ("; it has both." if "mu" in table else "; it has neither.")
        )
    q = table["quantities"]
    items = [q] if isinstance(q, str) else q
    if not isinstance(items, list) or not items:
        raise ConfigError(
            f"[compute] quantities must be a name or a non-empty array of names; got {q!r}."
        )
    quantities = tuple(
        _str(x, f"[compute] quantities[{i}]", OBSERVABLE_NAMES) for i, x in enumerate(items)
    )
    kmesh_raw = table["kmesh"]
    if not isinstance(kmesh_raw, list) or not 2 <= len(kmesh_raw) <= 3:
        raise ConfigError(
            f"[compute] kmesh must be an array of 2 or 3 positive integers; got {kmesh_raw!r}."
        )
    kmesh = tuple(_int(n, f"[compute] kmesh[{i}]", minimum=1) for i, n in enumerate(kmesh_raw))
    out: dict[str, Any] = {
        "quantities": quantities,
        "mu": _mu_grid(table["mu"]) if "mu" in table else (),
        "kmesh": kmesh,
    }
    if "electrons" in table:
        out["electrons"] = _float(
            table["electrons"], _where("compute", "electrons"), minimum=0.0, strict=True
        )
    if "temperature" in table:
        out["temperature"] = _float_list(
            table["temperature"], _where("compute", "temperature"), minimum=0.0
        )
    for key in ("shift", "convergence_check", "allow_coarse_mesh"):
        if key in table:
            out[key] = _bool(table[key], _where("compute", key))
    if "tau" in table:
        out["tau"] = _float(table["tau"], _where("compute", "tau"), minimum=0.0, strict=True)
    if "g_s" in table:
        out["g_s"] = _float(table["g_s"], _where("compute", "g_s"))
    if "degeneracy_tol" in table:
        out["degeneracy_tol"] = _float(
            table["degeneracy_tol"], _where("compute", "degeneracy_tol"), minimum=0.0, strict=True
        )
    if "chunk_size" in table:
        out["chunk_size"] = _int(table["chunk_size"], _where("compute", "chunk_size"), minimum=1)
    if "smearing" in table:
        out["smearing"] = _smearing(table["smearing"])
    if "metric_dipole" in table:
        out["metric_dipole"] = _str(
            table["metric_dipole"], _where("compute", "metric_dipole"), METRIC_DIPOLE_FORMS
        )
    if "integration" in table:
        out["integration"] = _integration(table["integration"], out)
    if "adaptive_levels" in table:
        where = _where("compute", "adaptive_levels")
        if out.get("integration") != "adaptive-tetrahedron":
            raise ConfigError(
                f"{where} applies to integration = \"adaptive-tetrahedron\" only; set "
                "[compute] integration = \"adaptive-tetrahedron\" or remove it."
            )
        levels = _int(table["adaptive_levels"], where, minimum=0)
        if levels > MAX_LEVELS:
            raise ConfigError(f"{where} must be at most {MAX_LEVELS}; got {levels}.")
        out["adaptive_levels"] = levels
    return ComputeConfig(**out)


def _integration(value: Any, out: dict[str, Any]) -> str:
    """[compute] integration, checked against the kmesh and smearing of the same table."""
    where = _where("compute", "integration")
    rule = _str(value, where, INTEGRATION_RULES)
    if rule == "mesh":
        return rule
    kmesh = out["kmesh"]
    if rule == "tetrahedron" and len(kmesh) != 3:
        raise ConfigError(
            f"{where} = \"tetrahedron\" (the optimized rule) needs a 3D kmesh; got {list(kmesh)}: "
            "use \"linear-tetrahedron\" (linear triangles) for a 2D model."
        )
    least = 3 if rule == "tetrahedron" else 2
    if min(kmesh) < least:
        raise ConfigError(
            f"{where} = {rule!r} needs at least {least} points along every direction; [compute] "
            f"kmesh is {list(kmesh)}."
        )
    smearing = out.get("smearing")
    at_zero = any(t == 0 for t in out.get("temperature", (0.0,)))
    if at_zero and isinstance(smearing, tuple) and smearing[0] == "methfessel-paxton":
        raise ConfigError(
            f"{where} = {rule!r} cannot use methfessel-paxton smearing (its occupation is not "
            "monotonic): use gaussian or fermi-dirac smearing, or none (the tetrahedra need no "
            "smearing at T = 0)."
        )
    return rule


def _units_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(
            "[run] units must be a table of unit strings, e.g. {anomalous_hall_conductivity = "
            f'"S/m"}}; got {value!r}.'
        )
    return {str(k): v for k, v in value.items()}


def _run_config(table: dict[str, Any], default_output: Path) -> RunConfig:
    output = table.get("output", default_output)
    if not isinstance(output, Path):
        raise ConfigError(f"[run] output must be a folder path; got {output!r}.")
    out: dict[str, Any] = {"output": output}
    for key in ("plots", "progress", "resume"):
        if key in table:
            out[key] = _bool(table[key], _where("run", key))
    if "formats" in table:
        fmts = table["formats"]
        if not isinstance(fmts, list):
            raise ConfigError(f'[run] formats must be an array such as ["png"]; got {fmts!r}.')
        out["formats"] = tuple(
            _str(f, f"[run] formats[{i}]", PLOT_FORMATS) for i, f in enumerate(fmts)
        )
    if "scheduler" in table:
        scheduler = _str(table["scheduler"], _where("run", "scheduler"))
        if scheduler != "local" and "://" not in scheduler:
            raise ConfigError(
                f'[run] scheduler = {scheduler!r} is not allowed; use "local" or a Dask '
                'scheduler address such as "tcp://host:8786".'
            )
        out["scheduler"] = scheduler
    if "workers" in table:
        out["workers"] = _int(table["workers"], _where("run", "workers"), minimum=1)
    if "checkpoint_interval" in table:
        out["checkpoint_interval"] = _float(
            table["checkpoint_interval"], _where("run", "checkpoint_interval"), minimum=0.0
        )
    if "units" in table:
        out["units"] = _units_table(table["units"])
    if "formula_units" in table:
        out["formula_units"] = _float(
            table["formula_units"], _where("run", "formula_units"), minimum=0.0, strict=True
        )
    checkpoint = table.get("checkpoint", False)
    if isinstance(checkpoint, bool):
        wanted = checkpoint or out.get("resume", False)
        out["checkpoint"] = output / CHECKPOINT_NAME if wanted else None
    elif isinstance(checkpoint, Path):
        out["checkpoint"] = checkpoint
    else:
        raise ConfigError(
            f"[run] checkpoint must be true, false or a file path; got {checkpoint!r}."
        )
    return RunConfig(**out)


def _bands_config(table: dict[str, Any]) -> BandsConfig:
    out: dict[str, Any] = {}
    if "path" in table:
        pts = table["path"]
        where = _where("bands", "path")
        if not isinstance(pts, list) or len(pts) < 2:
            raise ConfigError(
                f"{where} must be an array of at least two [label, [k1, k2(, k3)]] points; "
                f"got {pts!r}."
            )
        path = []
        for i, p in enumerate(pts):
            if not (
                isinstance(p, list)
                and len(p) == 2
                and isinstance(p[0], str)
                and isinstance(p[1], list)
            ):
                raise ConfigError(
                    f"{where}[{i}] must be [label, [k1, k2(, k3)]] (reduced coordinates); "
                    f"got {p!r}."
                )
            coords = tuple(_reduced(x, f"{where}[{i}] coordinate {j}") for j, x in enumerate(p[1]))
            path.append((p[0], coords))
        out["path"] = tuple(path)
    if "n_points" in table:
        out["n_points"] = _int(table["n_points"], _where("bands", "n_points"), minimum=2)
    if "quantity" in table:
        out["quantity"] = _str(table["quantity"], _where("bands", "quantity"), BAND_PLOT_QUANTITIES)
    if "component" in table:
        out["component"] = _component(table["component"], _where("bands", "component"))
    if "mu" in table:
        out["mu"] = _float(table["mu"], _where("bands", "mu"))
    if "energy_window" in table:
        win = table["energy_window"]
        where = _where("bands", "energy_window")
        if not isinstance(win, list) or len(win) != 2:
            raise ConfigError(f"{where} must be [e_min, e_max] in eV; got {win!r}.")
        lo, hi = (_float(x, where) for x in win)
        if not lo < hi:
            raise ConfigError(f"{where} must have e_min < e_max; got {win!r}.")
        out["energy_window"] = (lo, hi)
    return BandsConfig(**out)


def _component(value: Any, where: str) -> str:
    comp = _str(value, where)
    if not (1 <= len(comp) <= 3 and set(comp) <= set("xyz")):
        raise ConfigError(
            f"{where} = {comp!r} is not a Cartesian component; use x, y, z, a pair such as xy "
            "(tensors) or a triple such as xxy (metric_dipole)."
        )
    return comp


def _map_config(table: dict[str, Any]) -> MapConfig:
    out: dict[str, Any] = {}
    if "quantity" in table:
        out["quantity"] = _str(table["quantity"], _where("map", "quantity"), BAND_PLOT_QUANTITIES)
    if "component" in table:
        out["component"] = _component(table["component"], _where("map", "component"))
    for key in ("mu", "kz"):
        if key in table:
            out[key] = _float(table[key], _where("map", key))
    if "temperature" in table:
        out["temperature"] = _float(table["temperature"], _where("map", "temperature"), minimum=0.0)
    if "n" in table:
        out["n"] = _int(table["n"], _where("map", "n"), minimum=2)
    if "band" in table:
        out["band"] = _int(table["band"], _where("map", "band"), minimum=0)
    if "plane" in table:
        out["plane"] = _str(table["plane"], _where("map", "plane"), MAP_PLANES)
    return MapConfig(**out)


MAP_PLANES = ("reduced", "cartesian")
