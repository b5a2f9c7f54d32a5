"""k-paths for band plots (qgmag.kspace.path) against textbook facts.

The high-symmetry points are checked against their textbook Cartesian coordinates
(Ashcroft & Mermin; Setyawan & Curtarolo, Comput. Mater. Sci. 49, 299 (2010)) and against
geometric facts that do not use the code's own construction: a zone-boundary point is as
close to a non-zero reciprocal lattice vector G as to Γ, a zone corner to two such G.
"""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

import qgmag
from qgmag.errors import ConfigError, QgmagError
from qgmag.kspace.path import (
    KPath,
    high_symmetry_points,
    lattice_type,
    make_path,
    standard_vertices,
)
from qgmag.models import Box, ContinuumModel

TWO_PI = 2.0 * np.pi


def one_orbital(lattice: np.ndarray) -> qgmag.TightBindingModel:
    """A one-orbital nearest-neighbour model on any lattice (only the lattice matters)."""
    dim = len(lattice)
    hops = [(0, 0, tuple(int(i == a) for i in range(dim)), -1.0) for a in range(dim)]
    return qgmag.TightBindingModel(lattice, [[0.0] * dim], hops)


def reciprocal(lattice: np.ndarray) -> np.ndarray:
    return TWO_PI * np.linalg.inv(np.asarray(lattice, float)).T


def shortest_g(recip: np.ndarray, k: np.ndarray) -> tuple[float, int]:
    """min over G != 0 of |k - G| and how many G attain it (1e-9 relative)."""
    dim = len(recip)
    gs = np.array(
        [np.array(n) @ recip for n in itertools.product(range(-4, 5), repeat=dim) if any(n)]
    )
    dist = np.linalg.norm(k - gs, axis=1)
    best = dist.min()
    return float(best), int(np.sum(dist <= best * (1 + 1e-9) + 1e-12))


def on_zone_boundary(recip: np.ndarray, k: np.ndarray) -> int:
    """Number of non-zero G as close to k as Γ is (0 if k is inside the first zone)."""
    best, count = shortest_g(recip, k)
    assert best >= np.linalg.norm(k) * (1 - 1e-9), "point outside the first Brillouin zone"
    return count if np.isclose(best, np.linalg.norm(k), rtol=1e-9) else 0


def vertex_points(path: KPath) -> dict[str, np.ndarray]:
    return {label: path.kpoints[i] for label, i in zip(path.labels, path.vertex_index, strict=True)}


# -- 2D lattices ---------------------------------------------------------------------------


@pytest.mark.parametrize("a", [2.46, 1.0])
def test_hexagonal_haldane_points(a):
    model = qgmag.models.haldane(mass=0.1, a=a)
    path = make_path(model)
    assert path.labels == ("Γ", "K", "M", "K'", "Γ")
    pts = vertex_points(path)
    recip = np.asarray(model.reciprocal_lattice)
    # K, K' at the zone corners: |K| = 4π/(3a), equidistant from Γ and two G ≠ 0
    for label in ("K", "K'"):
        assert np.linalg.norm(pts[label]) == pytest.approx(4 * np.pi / (3 * a), rel=1e-12)
        assert on_zone_boundary(recip, pts[label]) == 2
    # M at an edge centre: |M| = 2π/(√3 a), on the boundary of exactly one G
    assert np.linalg.norm(pts["M"]) == pytest.approx(TWO_PI / (np.sqrt(3) * a), rel=1e-12)
    assert on_zone_boundary(recip, pts["M"]) == 1
    assert np.allclose(pts["M"], 0.5 * (pts["K"] + pts["K'"]))  # M halfway along the edge
    # K and K' are inequivalent (not related by a G) but K' is equivalent to -K
    red = np.linalg.solve(recip.T, pts["K"] - pts["K'"])
    assert not np.allclose(red, np.round(red))
    red = np.linalg.solve(recip.T, pts["K"] + pts["K'"])
    assert np.allclose(red, np.round(red))


def test_hexagonal_any_primitive_cell():
    """Another primitive cell of the same lattice (vectors at 120°, rotated) gives the same
    points up to the rotation."""
    a = 3.0
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lat = a * np.array([[1.0, 0.0], [-0.5, np.sqrt(3) / 2]]) @ rot.T
    lat = np.array([lat[0], lat[0] + lat[1]]) + 0.0  # still primitive
    model = one_orbital(lat)
    assert lattice_type(lat) == "hexagonal"
    pts = vertex_points(make_path(model))
    assert np.linalg.norm(pts["K"]) == pytest.approx(4 * np.pi / (3 * a), rel=1e-12)
    assert np.linalg.norm(pts["M"]) == pytest.approx(TWO_PI / (np.sqrt(3) * a), rel=1e-12)
    assert on_zone_boundary(reciprocal(lat), pts["K"]) == 2


def test_square_points():
    a = 2.0
    model = qgmag.models.qi_wu_zhang(a=a)
    path = make_path(model)
    assert path.labels == ("Γ", "X", "M", "Γ")
    pts = vertex_points(path)
    assert np.allclose(np.sort(np.abs(pts["X"])), [0.0, np.pi / a])  # X = (π/a, 0)
    assert np.allclose(np.abs(pts["M"]), [np.pi / a, np.pi / a])  # M = (π/a, π/a)
    named = high_symmetry_points(model)
    assert set(named) == {"Γ", "X", "Y", "M"}
    assert np.allclose(np.abs(named["X"] - named["Y"]), [np.pi / a, np.pi / a])


def test_rectangular_and_oblique():
    lat = np.array([[2.0, 0.0], [0.0, 3.0]])
    assert lattice_type(lat) == "rectangular"
    path = make_path(one_orbital(lat))
    assert path.labels == ("Γ", "X", "S", "Y", "Γ")
    pts = vertex_points(path)
    assert np.allclose(pts["X"], [np.pi / 2.0, 0.0])  # X = (π/a, 0) along a1
    assert np.allclose(pts["Y"], [0.0, np.pi / 3.0])  # Y = (0, π/b) along a2
    assert np.allclose(pts["S"], [np.pi / 2.0, np.pi / 3.0])
    swapped = vertex_points(make_path(one_orbital(lat[::-1])))
    assert np.allclose(swapped["X"], [0.0, np.pi / 3.0])  # X follows the first vector

    oblique = np.array([[2.0, 0.0], [0.7, 2.9]])
    assert lattice_type(oblique) == "oblique"
    labels, cart = standard_vertices(reciprocal(oblique))
    assert labels[0] == labels[-1] == "Γ"
    assert all(lbl.startswith("(") and "1/2" in lbl for lbl in labels[1:-1])
    assert np.allclose(cart[0], 0)
    assert high_symmetry_points(reciprocal(oblique)).keys() == {"Γ"}


# -- 3D lattices ----------------------------------------------------------------------------


def sc(a):
    return a * np.eye(3)


def bcc(a):
    return 0.5 * a * np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1]])


def fcc(a):
    return 0.5 * a * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]])


#: textbook Cartesian coordinates in units of 2π/a (conventional cubic axes)
TEXTBOOK = {
    "cubic": {"Γ": (0, 0, 0), "X": (0, 0.5, 0), "M": (0.5, 0.5, 0), "R": (0.5, 0.5, 0.5)},
    "bcc": {"Γ": (0, 0, 0), "H": (0, 0, 1), "N": (0.5, 0, 0.5), "P": (0.5, 0.5, 0.5)},
    "fcc": {
        "Γ": (0, 0, 0),
        "X": (0, 1, 0),
        "W": (0.5, 1, 0),
        "K": (0.75, 0.75, 0),
        "L": (0.5, 0.5, 0.5),
        "U": (0.25, 1, 0.25),
    },
}
#: how many G != 0 are as close as Γ (1: face centre, 2: edge, >= 3: corner)
BOUNDARY = {
    "cubic": {"X": 1, "M": 3, "R": 7},
    "bcc": {"H": 5, "N": 1, "P": 3},
    "fcc": {"X": 1, "W": 3, "K": 2, "L": 1, "U": 2},
}


@pytest.mark.parametrize(
    ("kind", "lattice", "a"), [("cubic", sc, 1.5), ("bcc", bcc, 2.87), ("fcc", fcc, 3.6)]
)
def test_cubic_points_textbook(kind, lattice, a):
    lat = lattice(a)
    assert lattice_type(lat) == kind
    named = high_symmetry_points(one_orbital(lat))
    assert set(named) == set(TEXTBOOK[kind])
    recip = reciprocal(lat)
    for label, coords in TEXTBOOK[kind].items():
        assert np.allclose(named[label], TWO_PI / a * np.array(coords), atol=1e-12), label
        if label != "Γ":
            assert on_zone_boundary(recip, named[label]) == BOUNDARY[kind][label], label
    path = make_path(one_orbital(lat))
    assert path.labels[0] == "Γ"
    assert set(path.labels) == set(TEXTBOOK[kind])


def test_weyl_lattice_default_path():
    model = qgmag.models.weyl_lattice(a=1.5)
    path = make_path(model)
    assert path.labels == ("Γ", "X", "M", "Γ", "R", "X")
    pts = vertex_points(path)
    assert np.allclose(pts["R"], np.full(3, np.pi / 1.5))


def test_cubic_recognized_in_any_primitive_cell():
    """A unimodular change of primitive vectors and a rotation do not change the points
    (up to the rotation and the cubic symmetry): their lengths stay the textbook ones."""
    a = 3.6
    change = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 1]])  # det 1
    angle = 0.4
    rot = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    lat = change @ fcc(a) @ rot.T
    assert lattice_type(lat) == "fcc"
    named = high_symmetry_points(one_orbital(lat))
    for label, coords in TEXTBOOK["fcc"].items():
        expected = TWO_PI / a * np.linalg.norm(coords)
        assert np.linalg.norm(named[label]) == pytest.approx(expected, abs=1e-12), label
    recip = reciprocal(lat)
    assert on_zone_boundary(recip, named["W"]) == 3


def test_other_3d_lattice():
    tetragonal = np.diag([2.0, 2.0, 3.0])
    assert lattice_type(tetragonal) == "other"
    path = make_path(one_orbital(tetragonal))
    if importlib.util.find_spec("seekpath") is None:  # the face-centre fallback
        assert path.labels[0] == path.labels[-1] == "Γ"
        assert "(1/2,0,0)" in path.labels
        assert "(1/2,1/2,1/2)" in path.labels
        return
    # seekpath's tP path; X = (0, 1/2, 0), A = (1/2, 1/2, 1/2) of the reciprocal vectors
    assert path.labels == ("Γ", "X", "M", "Γ", "Z", "R", "A", "Z")
    reduced = dict(zip(path.labels, path.reduced[list(path.vertex_index)], strict=True))
    np.testing.assert_allclose(reduced["X"], [0, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(reduced["A"], [0.5, 0.5, 0.5], atol=1e-12)
    with pytest.raises(ConfigError, match="unknown high-symmetry point 'Q'"):
        make_path(one_orbital(tetragonal), ["Γ", "Q"])


# -- the path itself -------------------------------------------------------------------------


@pytest.mark.parametrize("n_points", [2, 7, 300])
def test_distance_is_cartesian_path_length(n_points):
    model = qgmag.models.haldane()
    vertices = [("Γ", [0, 0]), ("K", [2 / 3, 1 / 3]), ("M", [0.5, 0.0])]
    path = make_path(model, vertices, n_points=max(n_points, 3))
    recip = np.asarray(model.reciprocal_lattice)
    corners = np.array([v for _, v in vertices]) @ recip
    total = np.sum(np.linalg.norm(np.diff(corners, axis=0), axis=1))
    assert path.n_points == max(n_points, 3)
    assert path.distance[0] == 0.0
    assert np.all(np.diff(path.distance) > 0)
    assert path.distance[-1] == pytest.approx(total, rel=1e-12)
    steps = np.linalg.norm(np.diff(path.kpoints, axis=0), axis=1)
    assert np.allclose(np.cumsum(steps), path.distance[1:])
    assert np.allclose(path.kpoints[list(path.vertex_index)], corners)
    assert np.allclose(
        path.ticks,
        np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(corners, axis=0), axis=1))]),
    )
    assert np.array_equal(path.axis, path.distance)  # lattice paths: offset 0


def test_points_spread_in_proportion_to_length():
    model = qgmag.models.qi_wu_zhang(a=1.0)
    path = make_path(model, [("Γ", [0, 0]), ("X", [0.5, 0]), ("M", [0.5, 0.5])], n_points=201)
    steps = np.diff(path.distance)
    assert np.allclose(steps, steps[0])  # equal segments, equal spacing
    assert path.vertex_index == (0, 100, 200)


def test_user_points_reduced_coordinates_and_fractions():
    model = qgmag.models.haldane(a=2.46)
    recip = np.asarray(model.reciprocal_lattice)
    path = make_path(model, [("G", [0, 0]), ("K", ["2/3", "1/3"]), ("gamma", [1.0, 0.0])], 50)
    assert path.labels == ("Γ", "K", "Γ")
    assert np.allclose(path.kpoints, path.reduced @ recip)
    assert np.allclose(path.reduced[path.vertex_index[1]], [2 / 3, 1 / 3])
    assert np.allclose(path.kpoints[-1], recip[0])
    # the reduced point (2/3, 1/3) of the Haldane reciprocal basis is a zone corner
    assert np.linalg.norm(path.kpoints[path.vertex_index[1]]) == pytest.approx(
        4 * np.pi / (3 * 2.46)
    )


def test_named_points_equal_the_standard_path():
    model = qgmag.models.haldane(mass=0.2)
    named = make_path(model, ["Γ", "K", "M", "K'", "Γ"])
    default = make_path(model)
    assert named.labels == default.labels
    assert np.allclose(named.kpoints, default.kpoints)
    mixed = make_path(model, ["gamma", ("half b1", [0.5, 0.0]), "K"], n_points=20)
    assert mixed.labels == ("Γ", "half b1", "K")


def test_arrays_are_read_only():
    path = make_path(qgmag.models.haldane())
    with pytest.raises(ValueError):
        path.kpoints[0, 0] = 1.0
    with pytest.raises(ValueError):
        path.distance[0] = 1.0


# -- continuum models ------------------------------------------------------------------------


def test_continuum_default_path_disk():
    model = qgmag.models.rashba(k_max=0.6)
    path = make_path(model, n_points=121)
    assert path.labels == ("−0.6", "Γ", "0.6")
    assert path.reduced is None
    assert np.allclose(path.kpoints[:, 1], 0.0)
    assert path.kpoints[0, 0] == pytest.approx(-0.6)
    assert path.kpoints[-1, 0] == pytest.approx(0.6)
    assert path.offset == pytest.approx(-0.6)
    assert np.allclose(path.axis, path.kpoints[:, 0])  # drawn against k_x itself
    assert "k_x" in path.xlabel and "1/Å" in path.xlabel


def test_continuum_user_path_cartesian():
    model = qgmag.models.massive_dirac(k_max=1.0)
    path = make_path(model, ["Γ", ("A", [0.3, 0.4])], n_points=11)
    assert np.allclose(path.kpoints[-1], [0.3, 0.4])  # Cartesian 1/Å, not reduced
    assert path.distance[-1] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="unknown high-symmetry point 'K'.*continuum"):
        make_path(model, ["Γ", "K"])


def test_continuum_box_default_path():
    h0 = np.diag([1.0, -1.0]).astype(complex)
    lin = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]]], dtype=complex)
    model = ContinuumModel.polynomial(h0, lin, None, domain=Box((0.1, -0.2), (0.5, 0.3)))
    path = make_path(model, n_points=11)
    assert np.allclose(path.kpoints[[0, -1], 0], [0.1, 0.5])
    assert np.allclose(path.kpoints[:, 1], 0.0)  # k_y = 0 lies inside the box


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "n_points", "match"),
    [
        (["Γ", "Q"], 10, r"unknown high-symmetry point 'Q'.*known points: Γ, K, M, K'"),
        ([("Γ", [0, 0, 0]), ("K", [0.5, 0, 0])], 10, "has 3 coordinates but the model is 2D"),
        ([("Γ", [0, 0]), ("X", [0.5, 0])], 1, "at least 2"),
        ([("Γ", [0, 0]), ("X", [0.5, 0])], 2.5, "must be an integer"),
        ([("Γ", [0, 0]), ("X", [0.5, 0])], True, "must be an integer"),
        ([("Γ", [0, 0])], 10, "at least two points"),
        ([("Γ", [0, 0]), ("Γ2", [0.0, 0.0]), ("X", [0.5, 0])], 10, "coincide"),
        ([("Γ", [0, 0]), ("X", [np.nan, 0])], 10, "NaN"),
        ([("Γ", [0, 0]), ("X", ["half", 0])], 10, "with numbers"),
        ([("Γ", [0, 0]), ("X", [0.5, 0]), ("M", [0.5, 0.5])], 2, "too few"),
        ("ΓKM", 10, "not the string"),
        (5, 10, "must be a list"),
    ],
)
def test_bad_input(points, n_points, match):
    model = qgmag.models.haldane()
    with pytest.raises(ConfigError, match=match):
        make_path(model, points, n_points=n_points)


def test_errors_are_qgmag_errors():
    assert issubclass(ConfigError, QgmagError)
    with pytest.raises(QgmagError, match="2x2 or 3x3"):
        standard_vertices(np.eye(4))
    with pytest.raises(QgmagError, match="2x2 or 3x3"):
        high_symmetry_points(np.eye(1))


def test_seekpath_path_for_hexagonal_3d_any_orientation():
    """Te-like hexagonal lattice (no hand table): seekpath's Γ–M–K–Γ–A–L–H–A, with the
    textbook reduced coordinates M = (1/2, 0, 0), K = (1/3, 1/3, 0), A = (0, 0, 1/2),
    whatever the Cartesian orientation of the cell."""
    pytest.importorskip("seekpath")
    from qgmag.kspace.path import high_symmetry_points, make_path
    from qgmag.models import TightBindingModel

    lat = np.array([[4.457, 0, 0], [-2.2285, 3.85987522, 0], [0, 0, 5.9581176]])
    expected = {"Γ": (0, 0, 0), "M": (0.5, 0, 0), "K": (1 / 3, 1 / 3, 0), "A": (0, 0, 0.5),
                "L": (0.5, 0, 0.5), "H": (1 / 3, 1 / 3, 0.5)}
    for angle in (0.0, 0.7):
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        model = TightBindingModel(lat @ rot.T, [[0, 0, 0]], [(0, 0, (1, 0, 0), 1.0)])
        path = make_path(model, n_points=80)
        assert path.labels == ("Γ", "M", "K", "Γ", "A", "L", "H", "A")
        recip = model.reciprocal_lattice
        vertices = path.kpoints[list(path.vertex_index)]
        for label, k in zip(path.labels, vertices, strict=True):
            want = np.asarray(expected[label]) @ recip
            if angle == 0.0:
                np.testing.assert_allclose(k @ np.linalg.inv(recip), expected[label], atol=1e-9)
            # rotated cell: seekpath may pick another point of the same star
            assert np.linalg.norm(k) == pytest.approx(np.linalg.norm(want), rel=1e-9)
            assert abs(k[2]) == pytest.approx(abs(want[2]), abs=1e-9)
        named = high_symmetry_points(model)
        assert np.linalg.norm(named["K"]) == pytest.approx(
            np.linalg.norm(np.asarray(expected["K"]) @ recip), rel=1e-9
        )
        # by name
        by_name = make_path(model, ["Γ", "K", "H"], n_points=20)
        assert by_name.labels == ("Γ", "K", "H")


def test_seekpath_orthorhombic_path():
    pytest.importorskip("seekpath")
    from qgmag.kspace.path import make_path
    from qgmag.models import TightBindingModel

    model = TightBindingModel(np.diag([3.0, 4.0, 5.0]), [[0, 0, 0]], [(0, 0, (1, 0, 0), 1.0)])
    path = make_path(model, n_points=60)
    assert path.labels[:5] == ("Γ", "X", "S", "Y", "Γ")
