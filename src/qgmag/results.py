"""Result files: atomic NetCDF writing/reading of ``qgmag.compute`` Datasets, and JSON export.

Units travel in every variable's ``attrs["units"]`` (pint-parsable strings, SPEC §4), so a
file written by :func:`save_results` opened with plain ``xarray.open_dataset`` keeps them.
NetCDF attributes can only hold strings, numbers and 1D numeric arrays: on writing, dicts,
nested or mixed lists become JSON strings, booleans become 0/1 and ``None`` becomes
``"null"``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qgmag.errors import QgmagError
from qgmag.files import apply_umask

#: NetCDF engine used for every result file
ENGINE = "h5netcdf"


def _is_flat_numeric(seq: list[Any]) -> bool:
    return bool(seq) and all(
        isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
        for x in seq
    )


def netcdf_attr(value: Any) -> Any:
    """``value`` as an attribute NetCDF can store (str, number or flat numeric list)."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if value is None:
        return "null"
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim <= 1 and value.size and np.issubdtype(value.dtype, np.number):
            if not np.iscomplexobj(value):
                return value
        value = value.tolist()
    if isinstance(value, list | tuple):
        seq = list(value)
        if _is_flat_numeric(seq):
            return seq
        if seq and all(isinstance(x, str) for x in seq):
            return json.dumps(seq)
        return json.dumps(seq, default=_json_default)
    if isinstance(value, Mapping):
        return json.dumps(dict(value), default=_json_default)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, complex | np.complexfloating):
        return [float(value.real), float(value.imag)]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _serializable(ds: xr.Dataset) -> xr.Dataset:
    """A shallow copy of ``ds`` whose attrs (dataset, variables, coords) NetCDF accepts."""
    out = ds.copy(deep=False)
    out.attrs = {str(k): netcdf_attr(v) for k, v in ds.attrs.items()}
    for name in list(out.variables):
        out[name].attrs = {str(k): netcdf_attr(v) for k, v in ds[name].attrs.items()}
    return out


def save_results(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` to the NetCDF (HDF5) file ``path`` atomically; return the path.

    The data go to a temporary file in the same folder, which replaces ``path`` only once
    complete (``os.replace``), so an interrupted or failed write never leaves a partial
    or corrupt ``path`` behind; the temporary file is removed on any failure, including
    KeyboardInterrupt. The folder must exist.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise QgmagError(
            f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist; create it first."
        )
    data = _serializable(ds)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        data.to_netcdf(tmp, engine=ENGINE)
        apply_umask(tmp)  # mkstemp makes 0600: give it the user's usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load_results(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a result file written by :func:`save_results` into memory (file closed after)."""
    source = Path(path)
    if not source.is_file():
        raise QgmagError(f"result file {str(source)!r} does not exist.")
    try:
        return xr.load_dataset(source, engine=ENGINE)
    except (OSError, ValueError) as exc:
        raise QgmagError(f"{str(source)!r} is not a readable qgmag result file: {exc}") from exc


def _json_values(values: np.ndarray) -> Any:
    """Nested lists with NaN/inf as None (strict JSON); complex as [re, im] pairs."""
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        arr = np.stack([arr.real, arr.imag], axis=-1)
    if arr.dtype.kind in "fc":
        obj = arr.astype(float).tolist()
        return _nan_to_none(obj)
    return arr.tolist()


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_nan_to_none(x) for x in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _json_attr(value: Any) -> Any:
    """Attribute as plain JSON; JSON-encoded strings (from NetCDF) are decoded back."""
    if isinstance(value, str):
        if value[:1] in "[{" or value == "null":
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value
    if isinstance(value, np.ndarray):
        return _json_values(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, list | tuple | Mapping):
        return json.loads(json.dumps(value, default=_json_default))
    return value


def results_to_json(ds: xr.Dataset) -> dict[str, Any]:
    """The Dataset as a JSON-ready dict (strict JSON: NaN becomes null).

    ``{"coords": {name: {"dims", "values", "units"}}, "data_vars": {name: {"dims",
    "values", "units", "attrs"}}, "attrs": {...}}`` with ``values`` nested lists in the
    order of ``dims``.
    """

    def entry(var: xr.DataArray) -> dict[str, Any]:
        attrs = {k: _json_attr(v) for k, v in var.attrs.items()}
        return {
            "dims": list(var.dims),
            "values": _json_values(var.values),
            "units": attrs.pop("units", None),
            "attrs": attrs,
        }

    return {
        "coords": {str(n): entry(ds.coords[n]) for n in ds.coords},
        "data_vars": {str(n): entry(ds[n]) for n in ds.data_vars},
        "attrs": {str(k): _json_attr(v) for k, v in ds.attrs.items()},
    }


#: suffixes of term variables left out of the markdown summary (they stay in results.nc)
_TERM_SUFFIXES = ("_local", "_itinerant", "_local_per_cell", "_itinerant_per_cell")


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def _markdown_table(var: xr.DataArray) -> list[str]:
    row_dims = [d for d in ("mu", "temperature") if d in var.dims]
    col_dims = [d for d in var.dims if d not in row_dims]
    var = var.transpose(*row_dims, *col_dims)
    n_rows = int(np.prod([var.sizes[d] for d in row_dims])) if row_dims else 1
    values = np.asarray(var.values).reshape(n_rows, -1)
    headers = {"mu": "μ (eV)", "temperature": "T (K)"}
    row_labels = [
        [headers[d] for d in row_dims],
        *[
            [_fmt(var.coords[d].values[i]) for d, i in zip(row_dims, idx, strict=True)]
            for idx in np.ndindex(*[var.sizes[d] for d in row_dims])
        ],
    ]
    if col_dims:
        col_labels = [
            "".join(
                str(var.coords[d].values[i]) if d in var.coords else str(i)
                for d, i in zip(col_dims, idx, strict=True)
            )
            for idx in np.ndindex(*[var.sizes[d] for d in col_dims])
        ]
    else:
        col_labels = ["value"]
    lines = ["| " + " | ".join(row_labels[0] + col_labels) + " |"]
    lines.append("|" + "---|" * (len(row_labels[0]) + len(col_labels)))
    for r in range(n_rows):
        cells = row_labels[r + 1] + [_fmt(x) for x in values[r]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _part_roundoff(ds: xr.Dataset, name: str) -> bool:
    """``<observable>_<part>_roundoff[_per_cell]``: the round-off estimate of a term (left
    to the result file; the total's ``<observable>_roundoff`` is shown)."""
    for suffix in ("_roundoff", "_roundoff_per_cell"):
        if name.endswith(suffix):
            stem = name.removesuffix(suffix)
            return stem in ds.data_vars and _is_part(ds, stem)
    return False


def _is_part(ds: xr.Dataset, stem: str) -> bool:
    """``stem`` names a term variable ``<observable>_<part>`` of an observable in ``ds``."""
    return any(stem.startswith(f"{obs}_") for obs in ds.data_vars if f"{obs}_roundoff" in ds)


def results_to_markdown(ds: xr.Dataset, title: str = "qgmag results") -> str:
    """A short markdown summary: one table per result (values with units), then provenance.

    Rows are (μ, T), columns the Cartesian components. The separate terms of the orbital
    magnetization (``*_local``, ``*_itinerant``) and the round-off estimates of the parts
    of an observable (``<name>_<part>_roundoff``) are left to the result file; the estimate
    of the total (``<name>_roundoff``) is shown.
    """
    lines = [f"# {title}", ""]
    skipped = []
    for name, var in ds.data_vars.items():
        if str(name).endswith(_TERM_SUFFIXES) or _part_roundoff(ds, str(name)):
            skipped.append(str(name))
            continue
        units = var.attrs.get("units", "")
        desc = var.attrs.get("description", "")
        eq = var.attrs.get("equation", "")
        lines.append(f"## {name} [{units}]")
        lines.append("")
        if desc:
            lines.append(f"{desc}" + (f" ({eq})" if eq else "") + ".")
            lines.append("")
        lines.extend(_markdown_table(var))
        lines.append("")
    if skipped:
        lines.append(f"Also in the result file: {', '.join(skipped)}.")
        lines.append("")
    lines.append("## Provenance")
    lines.append("")
    for key, value in ds.attrs.items():
        text = value if isinstance(value, str) else json.dumps(_json_attr(value))
        lines.append(f"- **{key}**: `{text}`")
    lines.append("")
    return "\n".join(lines)
