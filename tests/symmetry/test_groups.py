"""Magnetic point groups: names of all 122, groups of real structures, model detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgmag.models import lattice_models as lm
from qgmag.symmetry import MagneticGroup, SymmetryError, generate_group, operation
from qgmag.symmetry.detect import model_group, symmetry_violations
from qgmag.symmetry.naming import MAGNETIC_POINT_GROUPS, all_magnetic_point_groups
from qgmag.symmetry.structure import group_from_win


def data_file(shared_data: Path, relative: str) -> Path:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"reference data {path} not available (set QGMAG_SHARED_DATA)")
    return path


def test_the_122_names_from_generated_groups():
    """Every black-white G(H) (H of index 2), grey and type-I group of the 32 point groups
    gets a name from the list, and the names cover the list: 122 distinct classes (the
    known count, Litvin 2013), so the naming is a bijection on group types."""
    assert len(set(MAGNETIC_POINT_GROUPS)) == 122
    names = {g.name for g in all_magnetic_point_groups()}
    assert names == set(MAGNETIC_POINT_GROUPS)


def test_order_and_primes_of_named_groups():
    counts = {}
    for g in all_magnetic_point_groups():
        counts.setdefault(g.name, set()).add((len(g), g.n_primed))
    # a primed name has half its elements primed; grey groups have all R twice
    for name, sizes in counts.items():
        assert len(sizes) == 1, name
        order, primed = sizes.pop()
        if name.endswith("1'"):
            assert primed == order // 2
        elif "'" in name:
            assert primed == order // 2
        else:
            assert primed == 0


def test_name_independent_of_orientation():
    """A rotated copy of a group has the same name (here 4/mm'm' with the 4-fold along x,
    and 6'/m'mm' rotated by 30 degrees about z)."""
    a = generate_group(
        [
            operation((1, 0, 0), 4),
            operation((0, 0, 1), 1, improper=True),
            operation((0, 1, 0), 2, primed=True),
        ]
    )
    assert a.name == "4/mm'm'"
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    b = generate_group(
        [
            operation((0, 0, 1), 6, primed=True),
            operation((0, 0, 1), 2, improper=True, primed=True),
            operation((c, s, 0), 2, improper=True),
        ]
    )
    assert b.name == "6'/m'mm'"


def test_not_a_group_is_refused():
    with pytest.raises(SymmetryError, match="not closed"):
        MagneticGroup([operation((0, 0, 1), 1), operation((0, 0, 1), 4)])


@pytest.mark.parametrize(
    ("relative", "moments", "name", "order"),
    [
        ("Fe/wannier90/Fe.win", [[0, 0, 1]], "4/mm'm'", 16),
        ("Fe/wannier90/Fe.win", [[1, 1, 0]], "m'm'm", 8),
        ("Fe/wannier90/Fe.win", [[1, 1, 1]], "-3m'", 12),
        ("Fe/wannier90/Fe.win", None, "m-3m1'", 96),
        ("Te/tellurium.win", None, "321'", 12),
        ("GaAs/GaAs.win", None, "-43m1'", 48),
    ],
)
def test_groups_of_real_structures(shared_data, relative, moments, name, order):
    """spglib magnetic symmetry of the .win structures: bcc Fe with the moment along
    [001], [110], [111] (textbook: 4/mm'm', m'm'm, -3m'), trigonal Te (P3_121, 32),
    zinc-blende GaAs (-43m)."""
    g = group_from_win(data_file(shared_data, relative), moments)
    assert g.name == name
    assert len(g) == order


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (lm.haldane(), "6/mm'm'"),
        (lm.haldane(mass=0.2), "-6m'2'"),
        (lm.kane_mele(), "6/mmm1'"),
        (lm.kane_mele(exchange=0.1), "6/mm'm'"),
        (lm.pt_antiferromagnet(), "4/m'm'm'"),
        (lm.weyl_lattice(), "4/mm'm'"),
        (lm.bhz(), "4/mmm1'"),
    ],
    ids=["haldane", "haldane_mass", "kane_mele", "kane_mele_exchange", "pt_afm", "weyl", "bhz"],
)
def test_groups_of_builtin_models(model, name):
    """Textbook groups: Haldane at mass 0 keeps inversion and C6 with T-combined mirrors
    (the flux pattern is odd under mirrors); a sublattice mass removes inversion (-6m'2');
    Kane–Mele is non-magnetic (grey); an exchange field along z leaves 6/mm'm'; the PT
    antiferromagnet keeps PT and C4z (4/m'm'm', inversion primed); the Weyl lattice with
    its T-breaking mass along z is 4/mm'm' like bcc Fe with M along z."""
    group, test = model_group(model)
    assert group.name == name
    kept = [i for i, o in enumerate(test.operations) if any(o.same(p) for p in group)]
    assert len(kept) == len(group)
    assert max(test.violation[i] for i in kept) < 1e-6


def test_violation_is_reported_for_broken_operations():
    model = lm.haldane(mass=0.2)
    inversion = operation((0, 0, 1), 1, improper=True)
    test = symmetry_violations(model, [inversion])
    assert test.violation[0] > 1e-2 or test.energy_violation[0] > 1e-2
    assert "violation" in test.table()[0]


def test_star_and_equivalent_vertices():
    """Haldane with a sublattice mass (-6m'2'): on k the group acts as C3v (m_z is the
    identity on a layer, primed 2-folds act as k -> -Rk), so K and K' are each their own
    star (the two valleys have different gaps), M has 3 images and a generic point 6.
    Without the mass (6/mm'm') the in-plane inversion makes K' ≡ K."""
    from qgmag.kspace.path import high_symmetry_points
    from qgmag.symmetry.kpoints import equivalent_labels, star

    model = lm.haldane(mass=0.2)
    group, _ = model_group(model)
    recip = model.reciprocal_lattice
    pts = high_symmetry_points(model)
    assert len(star(pts["Γ"], group, recip)) == 1
    assert len(star(pts["K"], group, recip)) == 1
    assert len(star(pts["K'"], group, recip)) == 1
    assert len(star(pts["M"], group, recip)) == 3
    assert len(star(np.array([0.13, 0.07]) @ recip, group, recip)) == 6
    names = ["Γ", "K", "M", "K'"]
    vertices = np.array([pts[x] for x in names])
    assert equivalent_labels(names, vertices, group, recip) == names
    symmetric, _ = model_group(lm.haldane())
    assert len(star(pts["K"], symmetric, recip)) == 2
    assert equivalent_labels(names, vertices, symmetric, recip) == ["Γ", "K", "M", "K'≡K"]


def test_plots_mark_symmetry(tmp_path):
    pytest.importorskip("matplotlib")
    from qgmag.kspace.path import make_path
    from qgmag.plotting.bands import bands_figure
    from qgmag.plotting.bz_maps import bz_map_figure

    model = lm.haldane()
    group, _ = model_group(model)
    fig = bands_figure(model, make_path(model, n_points=40), "energy", symmetry=group)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "K'≡K" in labels
    fig = bz_map_figure(model, n=20, symmetry=group, mark=[[0.13, 0.07]])
    stars = [ln for ln in fig.axes[0].lines if ln.get_gid() == "star:0"]
    assert len(stars) == 1 and len(stars[0].get_xdata()) == 12  # C6v on k
