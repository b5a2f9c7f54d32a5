"""Results in the units a user asks for, and per formula unit as well as per cell.

``qgmag.compute`` returns SI values (and μ_B per cell where a unit cell exists), each
variable with a pint-parsable ``attrs["units"]``. :func:`convert_units` converts chosen
variables with pint, e.g. ``{"anomalous_hall_conductivity": "S/cm",
"orbital_magnetization_per_cell": "J/T"}``, and keeps every attribute true: ``units`` is
the new unit, ``converted_from`` the old one. A variable's companions in the same units
(``<name>_error``, ``<name>_roundoff`` and the terms, e.g. ``<name>_local``) are converted with
it, so that value and error bars stay comparable. ``formula_units=Z`` adds
``<name>_per_formula_unit`` = ``<name>_per_cell`` / Z for every per-cell variable.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from typing import Any

import xarray as xr

from qgmag.errors import QgmagError

_PER = ("_per_cell", "_per_formula_unit")


@functools.lru_cache(maxsize=1)
def unit_registry() -> Any:
    """The pint UnitRegistry of qgmag (created once; creating one takes ~0.3 s)."""
    import pint

    return pint.UnitRegistry()


def _parse(text: str, what: str) -> Any:
    try:
        return unit_registry().Unit(str(text))
    except Exception as exc:  # noqa: BLE001 - pint raises several kinds for a bad string
        raise QgmagError(
            f"{what}: {text!r} is not a unit pint understands ({type(exc).__name__}); "
            "write e.g. 'S/cm', 'A/m', 'bohr_magneton', 'J/T'."
        ) from None


def _companions(ds: xr.Dataset, name: str) -> list[str]:
    """name and its variables in the same units: errors and terms, not per-cell values."""
    units = ds[name].attrs.get("units")
    out = [name]
    for other in ds.data_vars:
        other = str(other)
        if (
            other.startswith(name + "_")
            and not other.endswith(_PER)
            and ds[other].attrs.get("units") == units
        ):
            out.append(other)
    return out


def convert_units(
    ds: xr.Dataset,
    units: Mapping[str, str] | None = None,
    *,
    formula_units: float | None = None,
) -> xr.Dataset:
    """A copy of a ``qgmag.compute`` Dataset with variables in the requested units.

    Parameters
    ----------
    ds : results of :func:`qgmag.compute` (or read back with ``qgmag.results``).
    units : variable name -> pint unit string; the new unit must have the dimensions of the
        old one (``S/m`` for ``S/cm``, ``J/T`` for ``bohr_magneton``).
    formula_units : formula units per unit cell (Z > 0); adds ``<name>_per_formula_unit``
        (per-cell value / Z, same units) for every ``<name>_per_cell``.

    Raises :class:`~qgmag.errors.QgmagError` for an unknown variable, an unknown unit or a
    unit of other dimensions; the input Dataset is not changed.
    """
    out = ds.copy()
    for name, target in (units or {}).items():
        if name not in ds.data_vars:
            raise QgmagError(
                f"cannot convert {name!r}: the results hold {sorted(map(str, ds.data_vars))}."
            )
        old = ds[name].attrs.get("units")
        if old is None:
            raise QgmagError(f"{name!r} has no units attribute to convert from.")
        src = _parse(old, f"units of {name}")
        dst = _parse(target, f"requested units of {name}")
        if src.dimensionality != dst.dimensionality:
            raise QgmagError(
                f"cannot convert {name} from {old!r} to {target!r}: the dimensions differ "
                f"({src.dimensionality} vs {dst.dimensionality})."
            )
        factor = float(unit_registry().Quantity(1.0, src).to(dst).magnitude)
        for var in _companions(ds, name):
            attrs = dict(ds[var].attrs)
            attrs.update(units=str(target), converted_from=str(old))
            out[var] = (ds[var] * factor).assign_attrs(attrs)
    if formula_units is not None:
        if (
            isinstance(formula_units, bool)
            or not (isinstance(formula_units, int | float) and math.isfinite(formula_units))
            or formula_units <= 0
        ):
            raise QgmagError(
                f"formula_units must be a positive number of formula units per cell; "
                f"got {formula_units!r}."
            )
        z = float(formula_units)
        cells = [str(v) for v in out.data_vars if str(v).endswith("_per_cell")]
        if not cells:
            raise QgmagError(
                "formula_units needs per-cell results (magnetizations of a lattice model); "
                "these results have none."
            )
        for var in cells:
            attrs = dict(out[var].attrs)
            desc = str(attrs.get("description", var)).replace("(per unit cell)", "").strip()
            attrs["description"] = f"{desc} (per formula unit, {z:g} per cell)"
            attrs["formula_units_per_cell"] = z
            out[var.removesuffix("_per_cell") + "_per_formula_unit"] = (out[var] / z).assign_attrs(
                attrs
            )
        out.attrs["formula_units_per_cell"] = z
    if units:
        out.attrs["converted_units"] = json.dumps(dict(units))
    return out


def parse_unit_options(items: list[str]) -> dict[str, str]:
    """``["name=unit", ...]`` (the ``--units`` option) -> {name: unit}."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, unit = item.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise QgmagError(
                f"--units {item!r}: expected NAME=UNIT, "
                "e.g. --units anomalous_hall_conductivity=S/m."
            )
        out[name.strip()] = unit.strip()
    return out


__all__ = ["convert_units", "parse_unit_options", "unit_registry"]
