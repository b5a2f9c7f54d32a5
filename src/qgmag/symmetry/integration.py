"""``compute(..., symmetry=...)``: the irreducible mesh, symmetrized sums, result attrs.

The driver calls :func:`prepare` once (which group, is the model symmetric, which mesh)
and :meth:`SymmetrySetup.finish` on the reduced sums. Everything else (chunks, Dask,
checkpoints) sees an ordinary mesh whose points carry weights.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from qgmag.errors import QgmagWarning
from qgmag.integrate.chunk import IntegrationPlan, PartialSums, roundoff_key
from qgmag.kspace.mesh import Mesh, UniformMesh
from qgmag.models.base import Model
from qgmag.symmetry.detect import (
    DEFAULT_TOLERANCE,
    default_quantities,
    model_group,
    symmetry_violations,
)
from qgmag.symmetry.irreducible import irreducible_mesh
from qgmag.symmetry.operations import MagneticGroup, SymmetryError
from qgmag.symmetry.tensors import (
    allowed_form,
    symmetrize_components,
    symmetrize_estimate,
    tensor_kind,
    variable_kinds,
)

SYMMETRY_MESHES = ("irreducible", "full")


@dataclass
class SymmetrySetup:
    group: MagneticGroup
    mesh: Mesh
    violation: float  # max relative violation of the group's operations by the model
    energy_violation: float  # eV
    full_mesh: bool
    tolerance: float

    def symmetrize(self, sums: PartialSums, plan: IntegrationPlan, dim: int) -> PartialSums:
        out = dict(sums.sums)
        for obs_name, term in plan.terms:
            key = (obs_name, term.name)
            kind = tensor_kind(obs_name, term.name)
            out[key] = symmetrize_components(sums.sums[key], self.group, kind, dim)
            if term.guarded:  # an absolute estimate: averaged with |ρ(g)|, never cancelling
                est = roundoff_key(obs_name, term.name)
                out[est] = symmetrize_estimate(sums.sums[est], self.group, kind, dim)
        return PartialSums(out, sums.n_points)

    def finish(
        self,
        assemble: Callable[[PartialSums, PartialSums | None], xr.Dataset],
        sums: dict[str, PartialSums],
        plan: IntegrationPlan,
        dim: int,
        observables: Sequence[str],
    ) -> xr.Dataset:
        """The symmetrized dataset (plus ``<name>_forbidden`` from a full-mesh run)."""
        sym = {name: self.symmetrize(s, plan, dim) for name, s in sums.items()}
        ds = assemble(sym["full"], sym.get("half"))
        if self.full_mesh:
            raw = assemble(sums["full"], None)
            for name in list(raw.data_vars):
                if "_roundoff" in str(name):
                    continue  # an error estimate, not a tensor the group constrains
                forbidden = raw[name] - ds[name]
                forbidden.attrs = {
                    **raw[name].attrs,
                    "description": f"forbidden part of {name}: unsymmetrized full-mesh result "
                    f"minus its {self.group.name} average",
                }
                ds[f"{name}_forbidden"] = forbidden
                ds[name].attrs["forbidden_max"] = float(np.max(np.abs(forbidden.values)))
        for name in observables:
            for var in [v for v in ds.data_vars if v == name or v.startswith(name + "_")]:
                if var.endswith("_forbidden"):
                    continue
                forms = [allowed_form(k, group=self.group) for k in variable_kinds(name, var)]
                mask = np.logical_or.reduce([f.mask for f in forms])
                ds[var].attrs["allowed_mask"] = json.dumps(mask.astype(int).tolist())
                ds[var].attrs["symmetry_relations"] = "; ".join(
                    f"{f.kind.describe()}: {f.text()}" if len(forms) > 1 else f.text()
                    for f in forms
                )
        mesh = self.mesh
        ds.attrs.update(
            {
                "magnetic_point_group": self.group.name,
                "symmetry_operations": json.dumps([o.label() for o in self.group]),
                "symmetry_source": self.group.source,
                "symmetry_violation": self.violation,
                "symmetry_energy_violation_eV": self.energy_violation,
                "symmetry_mesh": "full" if self.full_mesh else "irreducible",
                "n_kpoints": int(getattr(mesh, "n_full_points", mesh.n_points)),
                "n_kpoints_evaluated": int(sums["full"].n_points),
            }
        )
        return ds


def prepare(
    model: Model,
    symmetry: object,
    observables: Sequence[str],
    mesh: Mesh,
    *,
    symmetry_mesh: str = "irreducible",
    tolerance: float = DEFAULT_TOLERANCE,
) -> SymmetrySetup:
    """Resolve ``symmetry`` ("auto" or a MagneticGroup) and build the mesh to integrate."""
    if symmetry_mesh not in SYMMETRY_MESHES:
        raise SymmetryError(
            f"symmetry_mesh must be one of {SYMMETRY_MESHES}; got {symmetry_mesh!r}."
        )
    if not isinstance(mesh, UniformMesh):
        raise SymmetryError(
            "symmetry needs a uniform Brillouin-zone mesh (lattice models); continuum models "
            "are integrated with symmetry=None."
        )
    for name in observables:
        tensor_kind(name)  # every observable needs a transformation rule
    quantities = default_quantities(model, observables)
    if isinstance(symmetry, str) and symmetry == "auto":
        group, test = model_group(model, quantities, tolerance=tolerance)
        passing = [i for i, o in enumerate(test.operations) if any(o.same(p) for p in group)]
        viol = float(np.max(test.violation[passing], initial=0.0))
        e_viol = float(np.max(test.energy_violation[passing], initial=0.0))
    elif isinstance(symmetry, MagneticGroup):
        group = symmetry
        if group.dim != model.dim:
            raise SymmetryError(f"the group is for {group.dim}D but the model is {model.dim}D.")
        test = symmetry_violations(model, list(group), quantities)
        viol = float(np.max(test.violation, initial=0.0))
        e_viol = float(np.max(test.energy_violation, initial=0.0))
        if max(viol, e_viol) > tolerance:
            worst = int(np.argmax(np.maximum(test.violation, test.energy_violation)))
            what = (
                f"the model breaks {group.name}: operation {test.operations[worst].label()} is "
                f"violated by {viol:.2g} (relative) / {e_viol:.2g} eV on random k"
            )
            if symmetry_mesh == "irreducible":
                raise SymmetryError(
                    f"{what}, so an irreducible-wedge result would depend on which wedge is "
                    "taken: use symmetry_mesh='full' (the symmetrized full-mesh result and its "
                    "forbidden part), symmetry=None, or a symmetry_tolerance above the violation "
                    "to accept the wedge result anyway."
                )
            warnings.warn(
                f"{what}; the result is the {group.name}-symmetrized full-mesh one and the "
                "<name>_forbidden variables hold the part the group forbids.",
                QgmagWarning,
                stacklevel=3,
            )
    else:
        raise SymmetryError(
            "symmetry must be None, 'auto' (the operations the model keeps, tested on random "
            "k) or a qgmag.symmetry.MagneticGroup (e.g. from group_from_structure); got "
            f"{symmetry!r}."
        )
    full = symmetry_mesh == "full"
    reduced = mesh if full else irreducible_mesh(mesh, group)
    if full:
        irreducible_mesh(mesh, group)  # the mesh must still be invariant for a fair average
    return SymmetrySetup(group, reduced, viol, e_viol, full, tolerance)
