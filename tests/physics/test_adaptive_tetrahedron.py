"""Adaptive tetrahedron refinement (qgmag.integrate.adaptive).

Independent facts: on the cells it refines the rule is the linear tetrahedron rule of
the uniform mesh 2^L times denser, and f0' vanishes on the others, so its Fermi-surface
results equal those of that uniform mesh (computed separately, without refinement);
with nothing to refine it is the uniform rule; the density of states of the simple-cubic
and square-lattice cosine bands (elliptic-integral closed forms); a pocket inside a
coarse cell (band maximum between mesh points) is found; the trapezoid weights integrate
a constant exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import qgmag
from qgmag.errors import QgmagError
from qgmag.integrate.adaptive import adaptive_mesh
from qgmag.kspace.mesh import make_mesh

from .test_tetrahedron import _rashba_exchange, cosine_band, dos_cubic, dos_square, rule_dos

EDELSTEIN = ["kinetic_spin_extrinsic"]


def adaptive_dos(model, n, levels, energy, temperature=0.0):
    mesh = adaptive_mesh(model, make_mesh(model, (n,) * model.dim), levels,
                         np.array([energy]), np.array([temperature]), None, 4096, 1e-6)
    return -mesh.rule.weights.sum() * model.cell_volume, mesh


def _values(ds, name="kinetic_spin_extrinsic"):
    return ds[name].values


def test_equals_the_uniform_rule_of_the_finest_cells():
    """10 K Edelstein response: adaptive (n, L) = linear tetrahedra on (2^L n)^3, with
    fewer k-points."""
    model = _rashba_exchange()
    kw = {"mu": [-1.0, -0.8], "temperature": 10.0}
    for n, levels in ((8, 2), (12, 1)):
        ada = qgmag.compute(model, EDELSTEIN, kmesh=(n,) * 3, integration="adaptive-tetrahedron",
                            adaptive_levels=levels, **kw)
        fine = n * 2**levels
        uni = qgmag.compute(model, EDELSTEIN, kmesh=(fine,) * 3,
                            integration="linear-tetrahedron", **kw)
        ref = _values(uni)
        assert np.abs(ref).max() > 0
        np.testing.assert_allclose(_values(ada), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
        described = json.loads(ada.attrs["mesh"])
        assert described["type"] == "adaptive" and described["adaptive_levels"] == levels
        assert described["n_points"] < 0.7 * fine**3  # coarse base: most cells crossed
        assert ada.attrs["integration"] == "adaptive-tetrahedron"


def test_nothing_to_refine_is_the_uniform_rule():
    """Haldane insulator at μ in the gap (2D: triangles): no cell is crossed, the point
    list is the mesh and the Fermi-sea results are the point mesh's, exactly; levels = 0
    is the linear rule of the base mesh for both kinds of terms."""
    model = qgmag.models.lattice_models.haldane()
    q = ["anomalous_hall_conductivity", "orbital_magnetization"]
    ada = qgmag.compute(model, q, mu=0.0, kmesh=(18, 18), integration="adaptive-tetrahedron",
                        smearing=0.01)
    uni = qgmag.compute(model, q, mu=0.0, kmesh=(18, 18), smearing=0.01)
    assert json.loads(ada.attrs["mesh"])["final_cells"] == [18 * 18, 0, 0]
    for name in q:
        # round-off scale: the largest term summed into the result (M^O = local + itinerant)
        parts = [v for v in uni.data_vars if v.startswith(name) and not v.endswith("_per_cell")]
        scale = max(np.abs(_values(uni, v)).max() for v in parts)
        np.testing.assert_allclose(_values(ada, name), _values(uni, name), rtol=1e-12,
                                   atol=1e-14 * scale)
    metal = _rashba_exchange()
    both = ["kinetic_spin_extrinsic", "spin_magnetization"]
    kw = {"mu": -1.0, "temperature": 300.0, "kmesh": (10,) * 3}
    zero = qgmag.compute(metal, both, integration="adaptive-tetrahedron", adaptive_levels=0, **kw)
    lin = qgmag.compute(metal, both, integration="linear-tetrahedron", **kw)
    for name in both:
        np.testing.assert_allclose(_values(zero, name), _values(lin, name), rtol=1e-12,
                                   atol=1e-14 * np.abs(_values(lin, name)).max())


def test_simple_cubic_and_square_lattice_dos():
    cubic = cosine_band(3)
    energy = -4.5
    ref = dos_cubic(energy)
    got, mesh = adaptive_dos(cubic, 8, 2, energy)
    uniform = rule_dos(cubic, 32, "linear-tetrahedron", energy)
    assert got == pytest.approx(uniform, rel=1e-12)
    assert abs(got / ref - 1) < 2.5e-2  # the linear rule on 32^3 (O(h^2), cf. test_tetrahedron)
    coarse = abs(rule_dos(cubic, 8, "linear-tetrahedron", energy) / ref - 1)
    assert abs(got / ref - 1) < coarse / 8  # two levels: h^2 / 16
    assert mesh.n_points < 0.5 * 32**3
    square = cosine_band(2)
    for energy in (-3.0, 0.7):
        got, _ = adaptive_dos(square, 24, 3, energy)
        assert abs(got / float(dos_square(energy)) - 1) < 3e-3


def test_pocket_inside_a_coarse_cell_is_found():
    """Band top 6t at (π,π,π), between the points of a 5^3 mesh (corners reach 4.85 eV):
    at μ = 5.5 eV the uniform 5^3 rule sees no Fermi surface; the refinement finds the
    pocket and equals the uniform 20^3 rule; its DOS is near the closed form."""
    model = cosine_band(3)
    energy = 5.5
    assert rule_dos(model, 5, "linear-tetrahedron", energy) == 0.0
    got, _ = adaptive_dos(model, 5, 2, energy)
    assert got == pytest.approx(rule_dos(model, 20, "linear-tetrahedron", energy), rel=1e-12)
    assert got == pytest.approx(dos_cubic(energy), rel=0.1)


def test_weights_sum_to_the_zone_and_chunks_do_not_matter():
    model = _rashba_exchange()
    mesh = adaptive_mesh(model, make_mesh(model, (8, 8, 8)), 2, np.array([-1.0]),
                         np.array([10.0]), None, 4096, 1e-6)
    assert mesh.weight.sum() == pytest.approx(1.0 / model.cell_volume, rel=1e-13)
    assert np.all(mesh.weight > 0)
    kw = {"mu": -1.0, "temperature": 10.0, "kmesh": (8, 8, 8),
          "integration": "adaptive-tetrahedron"}
    a = qgmag.compute(model, EDELSTEIN + ["spin_magnetization"], **kw)
    b = qgmag.compute(model, EDELSTEIN + ["spin_magnetization"], chunk_size=257, **kw)
    for name in EDELSTEIN + ["spin_magnetization"]:
        np.testing.assert_allclose(_values(a, name), _values(b, name), rtol=1e-12,
                                   atol=1e-14 * np.abs(_values(a, name)).max())


def test_error_estimate_is_the_difference_to_one_level_fewer():
    model = _rashba_exchange()
    kw = {"mu": -1.0, "temperature": 10.0}
    ada = qgmag.compute(model, EDELSTEIN, kmesh=(8,) * 3, integration="adaptive-tetrahedron",
                        convergence_check=True, **kw)
    fine, half = (
        _values(qgmag.compute(model, EDELSTEIN, kmesh=(n,) * 3, integration="linear-tetrahedron",
                              **kw))
        for n in (32, 16)
    )
    scale = np.abs(fine).max()
    np.testing.assert_allclose(_values(ada, "kinetic_spin_extrinsic_error"), np.abs(fine - half),
                               rtol=0, atol=1e-12 * scale)


def test_refusals():
    model = _rashba_exchange()
    kw = {"mu": -1.0, "temperature": 10.0, "kmesh": (4, 4, 4)}
    with pytest.raises(QgmagError, match="adaptive_levels must be an integer"):
        qgmag.compute(model, EDELSTEIN, integration="adaptive-tetrahedron", adaptive_levels=-1,
                      **kw)
    with pytest.raises(QgmagError, match="adaptive_levels must be an integer"):
        qgmag.compute(model, EDELSTEIN, integration="adaptive-tetrahedron", adaptive_levels=1.5,
                      **kw)
    with pytest.raises(QgmagError, match="applies to integration='adaptive-tetrahedron'"):
        qgmag.compute(model, EDELSTEIN, integration="tetrahedron", adaptive_levels=2, **kw)
    with pytest.raises(QgmagError, match="symmetry"):
        qgmag.compute(model, EDELSTEIN, integration="adaptive-tetrahedron", symmetry="auto", **kw)
    with pytest.raises(QgmagError, match="adaptive_levels >= 1"):
        qgmag.compute(model, EDELSTEIN, integration="adaptive-tetrahedron", adaptive_levels=0,
                      convergence_check=True, **kw)
    continuum = qgmag.models.continuum_models.massive_dirac()
    with pytest.raises(QgmagError, match="continuum"):
        qgmag.compute(continuum, ["kinetic_orbital_extrinsic"], 0.0, 100.0, (8, 8),
                      integration="adaptive-tetrahedron")
