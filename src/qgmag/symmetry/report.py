"""``qgmag symmetry``: the magnetic point group of a model and the allowed form of every
observable, as data and as a readable table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qgmag.models.base import Model
from qgmag.symmetry.detect import DEFAULT_TOLERANCE, model_group, symmetry_violations
from qgmag.symmetry.operations import MagneticGroup, SymmetryError
from qgmag.symmetry.tensors import TENSOR_KINDS, TensorKind, allowed_form

#: how each observable is printed: (symbol, component labels or None for the Cartesian ones)
_LABELS = {
    "anomalous_hall_conductivity": ("σ", ("yz", "zx", "xy")),
}


def _load_target(source: str, set_: Sequence[str] = ()) -> Model:
    """A model from a built-in name, a TOML configuration or a Wannier90 file."""
    from qgmag.models.registry import BUILTIN_MODELS, build_model

    if source in BUILTIN_MODELS:
        return build_model(source)
    path = Path(source)
    if path.suffix == ".toml":
        from qgmag.config import load_config

        return load_config(path, list(set_), require_compute=False).model.build()
    if path.is_file():
        from qgmag.io import read_wannier90

        return read_wannier90(path)
    raise SymmetryError(
        f"{source!r} is neither a built-in model ({sorted(BUILTIN_MODELS)}), a .toml "
        "configuration nor a Wannier90 file."
    )


def symmetry_report(
    model: Model,
    group: MagneticGroup | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Group, operations (with the model's violation of each) and allowed forms.

    group : None — the operations the model keeps (tested on random k); or a group (e.g.
        from a structure), whose violation by the model is reported.
    """
    if group is None:
        group, test = model_group(model, tolerance=tolerance)
        keep = [i for i, o in enumerate(test.operations) if any(o.same(g) for g in group)]
        violations = {test.operations[i].label(): float(test.violation[i]) for i in keep}
        energy = {test.operations[i].label(): float(test.energy_violation[i]) for i in keep}
    else:
        test = symmetry_violations(model, list(group))
        violations = {
            o.label(): float(v) for o, v in zip(test.operations, test.violation, strict=True)
        }
        energy = {
            o.label(): float(v) for o, v in zip(test.operations, test.energy_violation, strict=True)
        }
    from qgmag.observables.registry import OBSERVABLES

    forms = {}
    for name, kinds in TENSOR_KINDS.items():
        obs = OBSERVABLES.get(name)
        if obs is not None and (
            (obs.only_2d and model.dim != 2) or (obs.needs_spin and model.spin is None)
        ):
            continue
        for part, kind in kinds.items():
            if len(kinds) == 1:
                key = name
            else:  # parts of different time parity (E²: τ² and τ⁰ T-odd, τ¹ T-even)
                key = f"{name} ({'tau2, tau0' if part == '*' else part} parts)"
            forms[key] = _form_entry(name, kind, group, model.dim)
    return {
        "magnetic_point_group": group.name,
        "n_operations": len(group),
        "source": group.source,
        "operations": [o.label() for o in group],
        "violation": violations,
        "energy_violation_eV": energy,
        "max_violation": float(max([*violations.values(), *energy.values()], default=0.0)),
        "tolerance": tolerance,
        "forms": forms,
    }


def _form_entry(name: str, kind: TensorKind, group: MagneticGroup, dim: int) -> dict[str, Any]:
    """Allowed form of one observable (or part) for the report: first index Cartesian, the
    others over the model's field directions."""
    dims = (3,) + (dim,) * (kind.rank - 1) if kind.rank else None
    form = allowed_form(kind, group=group, dims=dims)
    relations = list(form.relations)
    if name in _LABELS:
        symbol, labels = _LABELS[name]
        relations = _vector_as_pairs(form.mask, form.basis, symbol, labels)
    if name == "chern_number":
        relations = ["allowed" if form.mask[2] else "0 (forbidden)"]
    shown = form.basis
    if kind.rank >= 2:
        shown = form.basis[(slice(None), slice(None)) + (slice(0, dim),) * (kind.rank - 1)]
    n_free = int(np.linalg.matrix_rank(shown.reshape(len(shown), -1))) if len(shown) else 0
    return {
        "kind": kind.describe() + (" (σ^c of σ_ab)" if name in _LABELS else ""),
        "n_free": n_free,
        "relations": relations,
        "allowed_mask": form.mask.astype(int).tolist(),
    }


def _vector_as_pairs(
    mask: np.ndarray, basis: np.ndarray, symbol: str, labels: Sequence[str]
) -> list[str]:
    """σ^c as σ_ab = -σ_ba (the antisymmetric tensor of the Hall vector)."""
    if not mask.any():
        return ["all components 0"]
    lines = []
    for c, lab in enumerate(labels):
        if mask[c]:
            lines.append(f"{symbol}_{lab} = -{symbol}_{lab[::-1]}")
    if len(basis) < int(mask.sum()):
        lines.append(f"({len(basis)} independent)")
    lines.append("all else 0")
    return lines


def format_report(report: dict[str, Any]) -> str:
    """The readable table printed by ``qgmag symmetry``."""
    lines = [
        f"magnetic point group: {report['magnetic_point_group']} "
        f"({report['n_operations']} operations; {report['source']})",
        "operations: " + ", ".join(report["operations"]),
    ]
    worst = report["max_violation"]
    verdict = "kept by the model" if worst <= report["tolerance"] else "BROKEN by the model"
    lines.append(f"largest violation on random k: {worst:.2g} ({verdict})")
    if worst > report["tolerance"]:
        bad = sorted(report["violation"].items(), key=lambda kv: -kv[1])[:4]
        lines.append("  worst: " + ", ".join(f"{k} {v:.2g}" for k, v in bad))
    lines.append("")
    width = max(len(n) for n in report["forms"])
    for name, form in report["forms"].items():
        lines.append(
            f"{name:<{width}}  [{form['kind']}, {form['n_free']} free]  "
            + "; ".join(form["relations"])
        )
    return "\n".join(lines)


def symmetry_command(
    source: str,
    *,
    win: str | None = None,
    moments: Sequence[Sequence[float]] | None = None,
    set_: Sequence[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """What ``qgmag symmetry SOURCE [--win FILE --moment mx,my,mz ...]`` computes."""
    model = _load_target(source, set_)
    group = None
    if win is not None:
        from qgmag.symmetry.structure import group_from_win

        group = group_from_win(win, moments)
    elif moments:
        raise SymmetryError("--moment needs --win (the structure the moments belong to).")
    return symmetry_report(model, group, tolerance=tolerance)


def parse_moments(values: Sequence[str] | None) -> list[list[float]] | None:
    """``["0,0,1", ...]`` -> [[0, 0, 1], ...] (one per atom)."""
    if not values:
        return None
    out = []
    for text in values:
        try:
            vec = [float(x) for x in text.replace(" ", "").split(",")]
        except ValueError:
            vec = []
        if len(vec) != 3:
            raise SymmetryError(f"--moment must be three numbers mx,my,mz; got {text!r}.")
        out.append(vec)
    return out
