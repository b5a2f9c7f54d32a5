"""compute(..., symmetry=...): irreducible-mesh results equal full-mesh ones for models
that have the symmetry; forbidden components are exactly zero.

The full-mesh run (symmetry=None) is the independent reference: it knows nothing of the
group. Agreement to 1e-12 needs the orbit weights, the k-action of primed operations
(k -> -Rk) and the axial/T signs of every tensor all right at once.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from qgmag import compute as _compute
from qgmag.errors import QgmagError
from qgmag.models import lattice_models as lm
from qgmag.symmetry import MagneticGroup, SymmetryError, generate_group, operation
from qgmag.symmetry.detect import model_group
from qgmag.symmetry.tensors import allowed_form, tensor_kind

# the identities tested here (equal routes, τ scaling, gauge, symmetry zeros) hold on any
# mesh; the coarse-mesh guard (SPEC §5) protects converged values
compute = functools.partial(_compute, allow_coarse_mesh=True)

MU = [-0.4, 0.15]
TEMPERATURE = [0.0, 400.0]

CASES = {
    "haldane": (
        lm.haldane(mass=0.1),
        [
            "orbital_magnetization",
            "anomalous_hall_conductivity",
            "chern_number",
            "kinetic_orbital_extrinsic",
            "kinetic_orbital_intrinsic",
        ],
        (18, 18),
        "-6m'2'",
    ),
    "kane_mele_exchange": (
        lm.kane_mele(exchange=0.1, lambda_r=0.05),
        [
            "spin_magnetization",
            "orbital_magnetization",
            "anomalous_hall_conductivity",
            "kinetic_spin_extrinsic",
            "kinetic_spin_intrinsic",
            "kinetic_orbital_extrinsic",
        ],
        (12, 12),
        "6m'm'",
    ),
    "pt_antiferromagnet": (
        lm.pt_antiferromagnet(),
        [
            "spin_magnetization",
            "kinetic_spin_intrinsic",
            "kinetic_spin_extrinsic",
            "kinetic_orbital_intrinsic",
        ],
        (12, 12),
        "4/m'm'm'",
    ),
    "pt_antiferromagnet_inplane": (
        lm.pt_antiferromagnet(direction=(1.0, 0.0, 0.0)),
        ["spin_magnetization", "kinetic_spin_intrinsic", "kinetic_orbital_intrinsic"],
        (12, 12),
        "m'mm",
    ),
    "weyl_lattice": (
        lm.weyl_lattice(),
        [
            "orbital_magnetization",
            "anomalous_hall_conductivity",
            "kinetic_orbital_intrinsic",
            "kinetic_orbital_extrinsic",
        ],
        (8, 8, 8),
        "4/mm'm'",
    ),
}

#: natural size of each result (its units) below which a full-mesh value is round-off
NATURAL = {"per_cell": 1e-2, "anomalous_hall_conductivity": 1e-2, "chern_number": 1e-2}


def _natural(var: str, values: np.ndarray) -> float:
    scale = float(np.max(np.abs(values)))
    for key, size in NATURAL.items():
        if key in var:
            return max(scale, size)
    return scale


@pytest.fixture(scope="module", params=list(CASES))
def pair(request):
    model, quantities, kmesh, name = CASES[request.param]
    kwargs = dict(mu=MU, temperature=TEMPERATURE, kmesh=kmesh, smearing=("gaussian", 0.6))
    full = compute(model, quantities, **kwargs)
    reduced = compute(model, quantities, symmetry="auto", **kwargs)
    return request.param, full, reduced, quantities, name


def test_group_found_and_points_reduced(pair):
    case, full, reduced, _, name = pair
    assert reduced.attrs["magnetic_point_group"] == name
    group, _ = model_group(CASES[case][0])
    assert group.name == name
    # distinct actions on k (a primed inversion acts as the identity on k)
    n_ops = len({tuple(np.rint(m.ravel() * 1e6).astype(int)) for m in group.k_actions()})
    assert reduced.attrs["n_kpoints"] == full.attrs["n_kpoints"]
    evaluated = reduced.attrs["n_kpoints_evaluated"]
    # orbits have at most |G| points (fewer on symmetry planes/lines)
    n_full = full.attrs["n_kpoints"]
    assert n_full / n_ops <= evaluated < 2.5 * n_full / n_ops
    assert reduced.attrs["symmetry_violation"] < 1e-10


def test_irreducible_equals_full_mesh(pair):
    case, full, reduced, _, _ = pair
    for var in full.data_vars:
        a, b = full[var].values, reduced[var].values
        scale = _natural(var, a)
        if "per_cell" not in var and var not in NATURAL:
            # SI values: compare against the per-cell twin's natural scale where there is one
            twin = f"{var}_per_cell"
            if twin in full:
                ratio = np.max(np.abs(full[twin].values)) / max(np.max(np.abs(a)), 1e-300)
                scale = _natural(twin, full[twin].values) / max(ratio, 1e-300)
        assert np.max(np.abs(a - b)) <= 1e-12 * scale, var


def test_forbidden_components_exactly_zero(pair):
    case, full, reduced, quantities, _ = pair
    group_ops = json.loads(reduced.attrs["symmetry_operations"])
    assert group_ops
    for name in quantities:
        mask = np.array(json.loads(reduced[name].attrs["allowed_mask"]), bool)
        values = reduced[name].values
        if name == "chern_number":
            assert mask[2]
            continue
        if values.ndim == 4:  # (mu, T, i, j): j runs over the model's directions
            mask = mask[:, : values.shape[-1]]
        assert np.all(values[..., ~mask] == 0.0), name
        assert reduced[name].attrs["symmetry_relations"]


def test_dask_and_checkpoint_compose(tmp_path):
    """The weighted point list goes through the runner protocol and checkpoints unchanged."""
    from qgmag.integrate.driver import run_serial

    model = lm.weyl_lattice()
    calls = []

    def runner(model, plan, progress, state):
        calls.append(plan.mesh.n_points)
        return run_serial(model, plan, progress, state)

    kwargs = dict(mu=0.1, kmesh=(8, 8, 8), symmetry="auto", chunk_size=16)
    ref = compute(model, "anomalous_hall_conductivity", **kwargs)
    ck = tmp_path / "run.ckpt"
    out = compute(
        model,
        "anomalous_hall_conductivity",
        runner=runner,
        checkpoint=ck,
        checkpoint_interval=0.0,
        **kwargs,
    )
    assert calls == [ref.attrs["n_kpoints_evaluated"]]
    np.testing.assert_array_equal(
        out["anomalous_hall_conductivity"].values, ref["anomalous_hall_conductivity"].values
    )
    assert not ck.exists()


def test_convergence_check_uses_reduced_half_mesh():
    ds = compute(
        lm.weyl_lattice(),
        "anomalous_hall_conductivity",
        mu=0.1,
        kmesh=(8, 8, 8),
        symmetry="auto",
        convergence_check=True,
    )
    err = ds["anomalous_hall_conductivity_error"].values
    assert np.all(err[..., :2] == 0.0) and err[..., 2].max() > 0


def test_mesh_not_invariant_is_refused():
    with pytest.raises(SymmetryError, match="not invariant"):
        compute(
            lm.weyl_lattice(),
            "anomalous_hall_conductivity",
            mu=0.1,
            kmesh=(6, 5, 4),
            symmetry="auto",
        )


def test_broken_symmetry_is_refused_on_the_wedge_and_reported_on_the_full_mesh():
    """A group the model does not have: the wedge is refused, the full mesh reports the
    forbidden part (here: the model is Weyl with M along z, the group claims M along x)."""
    model = lm.weyl_lattice()
    wrong = generate_group([operation((1, 0, 0), 4), operation((0, 0, 1), 1, improper=True)])
    kw = dict(mu=0.1, kmesh=(6, 6, 6))
    with pytest.raises(SymmetryError, match="breaks"):
        compute(model, "anomalous_hall_conductivity", symmetry=wrong, **kw)
    with pytest.warns(Warning, match="breaks"):
        ds = compute(
            model, "anomalous_hall_conductivity", symmetry=wrong, symmetry_mesh="full", **kw
        )
    raw = compute(model, "anomalous_hall_conductivity", **kw)["anomalous_hall_conductivity"]
    sym = ds["anomalous_hall_conductivity"]
    forbidden = ds["anomalous_hall_conductivity_forbidden"]
    np.testing.assert_allclose((sym + forbidden).values, raw.values, rtol=1e-13, atol=1e-12)
    # 4_x allows only σ along x; the model's σ is along z: all of it is forbidden
    assert np.all(sym.values[..., 1:] == 0.0)
    assert abs(forbidden.values[..., 2]).max() == pytest.approx(abs(raw.values[..., 2]).max())
    assert sym.attrs["forbidden_max"] > 0


def test_bad_symmetry_argument():
    with pytest.raises(QgmagError, match="symmetry must be"):
        compute(
            lm.weyl_lattice(),
            "anomalous_hall_conductivity",
            mu=0.1,
            kmesh=(4, 4, 4),
            symmetry="4/mmm",
        )
    with pytest.raises(QgmagError, match="symmetry_mesh"):
        compute(
            lm.weyl_lattice(),
            "anomalous_hall_conductivity",
            mu=0.1,
            kmesh=(4, 4, 4),
            symmetry="auto",
            symmetry_mesh="half",
        )


def test_default_unchanged_and_kind_table_complete():
    from qgmag.observables.registry import OBSERVABLES

    for name in OBSERVABLES:
        tensor_kind(name)
    ds = compute(lm.weyl_lattice(), "anomalous_hall_conductivity", mu=0.1, kmesh=(4, 4, 4))
    assert "magnetic_point_group" not in ds.attrs
    assert ds.attrs["n_kpoints_evaluated"] == ds.attrs["n_kpoints"] == 64
    assert isinstance(
        allowed_form(
            tensor_kind("spin_magnetization"), group=MagneticGroup([operation((0, 0, 1), 1)])
        ).text(),
        str,
    )
