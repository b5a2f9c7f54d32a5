"""bcc Fe (Fe_tb.dat, structure from Fe.win, moment along z): 4/mm'm', its wedge, and the
symmetrized σ_xy and M^O_z with the forbidden part of the unsymmetrized run.

Independent facts: the group of bcc Fe with M ∥ z (spglib; textbook 4/mm'm'); the wedge of
a 50³ Γ-centred mesh under the 16 k-actions of 4/mmm holds 8,632 points (the issue's
count, also WannierBerri's irreducible set of the same mesh); the symmetrized full-mesh
result plus its forbidden part is the unsymmetrized result (an identity), and the
forbidden AHC components are those the 4/mm'm' table forbids (σ_yz, σ_zx).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from qgmag import compute
from qgmag.io import read_wannier90
from qgmag.kspace.mesh import make_mesh
from qgmag.symmetry import SymmetryError
from qgmag.symmetry.irreducible import irreducible_mesh
from qgmag.symmetry.structure import group_from_win

E_FERMI_FE = 17.6255  # eV, Fe/wannier90/scf.out


def data_file(shared_data: Path, relative: str) -> Path:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"reference data {path} not available (set QGMAG_SHARED_DATA)")
    return path


@pytest.fixture(scope="module")
def fe(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = read_wannier90(
            data_file(shared_data, "Fe/Fe_tb.dat"), spinor_ordering="spin-fastest"
        )
    group = group_from_win(data_file(shared_data, "Fe/wannier90/Fe.win"), [[0, 0, 1]])
    return model, group


def test_fe_group_and_wedge(fe):
    model, group = fe
    assert group.name == "4/mm'm'"
    wedge = irreducible_mesh(make_mesh(model, (50, 50, 50)), group)
    assert wedge.n_points == 8632  # ≈ 125000 / 16 (points on symmetry planes count once)
    assert wedge.multiplicity.sum() == 125000


def test_fe_model_breaks_its_group_and_the_wedge_is_refused(fe):
    model, group = fe
    with pytest.raises(SymmetryError, match="breaks 4/mm'm'"):
        compute(
            model, "anomalous_hall_conductivity", mu=E_FERMI_FE, kmesh=(10, 10, 10), symmetry=group
        )


def test_fe_symmetrized_with_forbidden_part(fe):
    model, group = fe
    q = ["anomalous_hall_conductivity", "orbital_magnetization"]
    kw = dict(mu=E_FERMI_FE, kmesh=(12, 12, 12))
    raw = compute(model, q, **kw)
    with pytest.warns(Warning, match="breaks 4/mm'm'"):
        ds = compute(model, q, symmetry=group, symmetry_mesh="full", **kw)
    assert ds.attrs["magnetic_point_group"] == "4/mm'm'"
    assert ds.attrs["n_kpoints_evaluated"] == ds.attrs["n_kpoints"] == 1728
    for name in ("anomalous_hall_conductivity", "orbital_magnetization_per_cell"):
        sym, forb = ds[name].values, ds[f"{name}_forbidden"].values
        np.testing.assert_allclose(
            sym + forb, raw[name].values, rtol=1e-12, atol=1e-12 * np.abs(raw[name].values).max()
        )
        assert np.all(sym[..., :2] == 0.0)  # 4/mm'm': only the z components
        assert np.all(forb[..., 2] == pytest.approx(0.0, abs=1e-9 * abs(sym[..., 2]).max()))
        # this Wannier model breaks the cubic symmetry strongly (shared/data/README.md)
        assert np.abs(forb[..., :2]).max() > 0.05 * np.abs(sym[..., 2]).max()
