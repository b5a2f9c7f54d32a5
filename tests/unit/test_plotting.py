"""Plots of qgmag results (qgmag.plotting): files, labels with units, plotted data.

The plotted numbers are read back from the returned figures (Line2D data, LineCollection
colour arrays, QuadMesh arrays) and compared with the Dataset they came from, with
``qgmag.band_geometry`` evaluated independently, and with pint unit conversions.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pint
import pytest
import xarray as xr

import qgmag
from qgmag.errors import QgmagError
from qgmag.kspace.path import make_path
from qgmag.plotting import (
    bands_figure,
    bz_map_figure,
    degenerate_average,
    draw_observable,
    observable_figure,
    plot_bands,
    plot_bz_map,
    plot_observables,
    save_figure,
    unit_label,
    wigner_seitz_2d,
)

UREG = pint.UnitRegistry()

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF"


@pytest.fixture(scope="module")
def haldane():
    return qgmag.models.haldane(t1=1.0, t2=0.1, phi=np.pi / 2, mass=0.1)


@pytest.fixture(scope="module")
def haldane_ds(haldane):
    return qgmag.compute(
        haldane,
        ["orbital_magnetization", "anomalous_hall_conductivity", "chern_number"],
        mu=np.linspace(-1.5, 1.5, 31),
        temperature=[0.0, 300.0],
        kmesh=(36, 36),
        allow_coarse_mesh=True,  # plots of the curves, not converged numbers
    )


@pytest.fixture(scope="module")
def kinetic_ds():
    model = qgmag.models.pt_antiferromagnet(direction=[1.0, 0.0, 1.0])
    return qgmag.compute(
        model,
        ["kinetic_spin_intrinsic", "kinetic_spin_extrinsic", "spin_magnetization"],
        mu=np.linspace(-2.0, 2.0, 9),
        temperature=300.0,
        kmesh=(24, 24),
        allow_coarse_mesh=True,  # plots of the curves, not converged numbers
    )


def lines_by_gid(ax) -> dict[str, np.ndarray]:
    return {
        line.get_gid(): np.asarray(line.get_ydata(), float)
        for line in ax.lines
        if line.get_gid() is not None
    }


def label_units(label: str) -> str:
    """The unit text in the trailing parentheses of an axis label."""
    assert label.endswith(")"), label
    return label[label.index(" (") + 2 : -1]


# -- files ----------------------------------------------------------------------------------


def test_plot_observables_writes_every_format(haldane_ds, tmp_path):
    files = plot_observables(haldane_ds, tmp_path / "plots", formats=["png", "pdf", "svg"])
    names = ["orbital_magnetization", "anomalous_hall_conductivity", "chern_number"]
    expected = {tmp_path / "plots" / f"{n}.{fmt}" for n in names for fmt in ("png", "pdf", "svg")}
    assert set(files) == expected
    for f in files:
        head = f.read_bytes()[:8]
        if f.suffix == ".png":
            assert head == PNG_MAGIC
        elif f.suffix == ".pdf":
            assert head.startswith(PDF_MAGIC)
        else:
            assert b"<svg" in f.read_bytes()[:2000]
    assert not [p for p in (tmp_path / "plots").iterdir() if p.name.startswith(".")]


def test_save_figure_extension_and_bad_format(haldane_ds, tmp_path):
    fig = observable_figure(haldane_ds, "chern_number")
    assert save_figure(fig, tmp_path / "c.png", ["png"]) == [tmp_path / "c.png"]
    with pytest.raises(QgmagError, match="plot formats"):
        save_figure(fig, tmp_path / "c", ["jpeg"])
    with pytest.raises(QgmagError, match="plot formats"):
        save_figure(fig, tmp_path / "c", [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]


# -- observables vs μ -----------------------------------------------------------------------


def test_axis_labels_carry_units(haldane_ds, kinetic_ds):
    cases = [
        (haldane_ds, "orbital_magnetization", r"$\mu_B$ / cell", "bohr_magneton"),
        (
            haldane_ds,
            "anomalous_hall_conductivity",
            r"$e^2/h$",
            "elementary_charge**2/planck_constant",
        ),
        (kinetic_ds, "kinetic_spin_intrinsic", r"$\mu_B$ / cell per V/nm", "bohr_magneton*nm/V"),
    ]
    for ds, name, shown, pint_units in cases:
        ax = observable_figure(ds, name).axes[0]
        assert ax.get_xlabel() == r"$\mu$ (eV)"
        assert UREG.Unit(ds["mu"].attrs["units"]) == UREG.eV
        var = f"{name}_per_cell" if f"{name}_per_cell" in ds else name
        units = ds[var].attrs["units"]
        assert UREG.Unit(units) == UREG.Unit(pint_units)  # what the label shows, in pint
        assert label_units(ax.get_ylabel()) == shown
        assert unit_label(units, per_cell=var.endswith("_per_cell")) == shown


def test_si_label_has_power_of_ten_and_pint_units(haldane_ds):
    fig = observable_figure(haldane_ds, "orbital_magnetization", per_cell=False)
    ax = fig.axes[0]
    info_units = haldane_ds["orbital_magnetization"].attrs["units"]
    assert UREG.Unit(info_units) == UREG.ampere  # 2D magnetization: A
    units = label_units(ax.get_ylabel())
    assert units.endswith(" A") and units.startswith("$10^{")
    exponent = int(units[len("$10^{") : units.index("}")])
    line = lines_by_gid(ax)["orbital_magnetization:z:0K"]
    expected = haldane_ds["orbital_magnetization"].sel(i="z", temperature=0.0).values
    assert np.allclose(line * 10.0**exponent, expected, rtol=1e-12, atol=0)


def test_plotted_data_equal_dataset(haldane_ds):
    fig = observable_figure(haldane_ds, "anomalous_hall_conductivity")
    ax = fig.axes[0]
    lines = lines_by_gid(ax)
    assert set(lines) == {"anomalous_hall_conductivity:z:0K", "anomalous_hall_conductivity:z:300K"}
    for temp in (0.0, 300.0):
        y = lines[f"anomalous_hall_conductivity:z:{temp:g}K"]
        expected = haldane_ds.anomalous_hall_conductivity.sel(i="z", temperature=temp).values
        assert np.array_equal(y, expected)
    x = next(line for line in ax.lines if line.get_gid()).get_xdata()
    assert np.array_equal(x, haldane_ds["mu"].values)
    assert "xy" in ax.get_ylabel()  # σ^z is σ_xy
    assert "x, y" in ax.get_title()  # in-plane components are zero and named


def test_orbital_magnetization_terms_sum_to_total(haldane_ds, haldane):
    ax = observable_figure(haldane_ds, "orbital_magnetization").axes[0]
    lines = lines_by_gid(ax)
    for temp in ("0K", "300K"):
        total = lines[f"orbital_magnetization_per_cell:z:{temp}"]
        local = lines[f"orbital_magnetization_local_per_cell:z:{temp}"]
        itinerant = lines[f"orbital_magnetization_itinerant_per_cell:z:{temp}"]
        assert np.allclose(local + itinerant, total, rtol=0, atol=1e-12 * np.abs(total).max())
        assert np.abs(local).max() > 0.05 and np.abs(itinerant).max() > 0.05  # both visible
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("local") for t in legend)
    assert any(t.startswith("itinerant") for t in legend)
    # per cell = SI × cell area / μ_B, checked with pint
    si = haldane_ds.orbital_magnetization.sel(i="z", temperature=0.0).values * UREG.ampere
    area = haldane.cell_volume * UREG.angstrom**2
    per_cell = (si * area / UREG.bohr_magneton).to("dimensionless").magnitude
    assert np.allclose(lines["orbital_magnetization_per_cell:z:0K"], per_cell, rtol=1e-9)


def test_chern_number_and_streda_in_the_plot(haldane_ds):
    ax = observable_figure(haldane_ds, "chern_number").axes[0]
    lines = lines_by_gid(ax)
    chern = lines["chern_number:-:0K"]
    mu = haldane_ds["mu"].values
    gap = np.abs(mu) < 0.3
    assert np.allclose(chern[gap], -1.0, atol=1e-6)  # phi = +π/2: C = -1
    guides = [line for line in ax.lines if line.get_gid() is None and line.get_linestyle() == ":"]
    assert {float(g.get_ydata()[0]) for g in guides} >= {-1.0, 0.0}


def test_tensor_components_and_zero_observables(kinetic_ds):
    fig = observable_figure(kinetic_ds, "kinetic_spin_intrinsic")
    ax = fig.axes[0]
    info = draw_observable(fig.add_subplot(2, 1, 2), kinetic_ds, "kinetic_spin_intrinsic")
    drawn = {gid.split(":")[1] for gid in lines_by_gid(ax)}
    assert drawn == set(info["components"])
    assert set(info["components"]) | set(info["omitted"]) == {i + j for i in "xyz" for j in "xy"}
    var = kinetic_ds.kinetic_spin_intrinsic_per_cell
    for comp in info["omitted"]:  # left out only when zero to round-off
        assert np.abs(var.sel(i=comp[0], j=comp[1]).values).max() <= 1e-12
    for gid, y in lines_by_gid(ax).items():
        comp = gid.split(":")[1]
        assert np.allclose(y, var.sel(i=comp[0], j=comp[1]).values[:, 0], rtol=0, atol=1e-15)
    # PT symmetry forbids the extrinsic total-spin response: drawn as zero and said so
    info = draw_observable(fig.add_subplot(2, 1, 2), kinetic_ds, "kinetic_spin_extrinsic")
    assert info["all_zero"]


def test_observable_errors(haldane_ds):
    with pytest.raises(QgmagError, match="not in the results"):
        observable_figure(haldane_ds, "spin_magnetization")
    no_cell = haldane_ds.drop_vars([v for v in haldane_ds if v.endswith("_per_cell")])
    with pytest.raises(QgmagError, match="no orbital_magnetization_per_cell"):
        observable_figure(no_cell, "orbital_magnetization", per_cell=True)
    # without per-cell variables the SI values are drawn
    ax = observable_figure(no_cell, "orbital_magnetization").axes[0]
    assert label_units(ax.get_ylabel()).endswith(" A")
    flat = xr.Dataset({"chern_number": ("mu", np.zeros(3))}, coords={"mu": [0.0, 1.0, 2.0]})
    with pytest.raises(QgmagError, match="'mu' and 'temperature'"):
        observable_figure(flat, "chern_number")


# -- band structures ---------------------------------------------------------------------------


def test_band_colours_equal_band_geometry(haldane, tmp_path):
    path = make_path(haldane, n_points=120)
    fig = bands_figure(haldane, path, "berry_curvature", "z", mu=0.0)
    ax = fig.axes[0]
    ref = qgmag.band_geometry(haldane, path.kpoints, ["energy", "berry_curvature"])
    omega = ref.berry_curvature.sel(i="z").values
    collections = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    assert set(collections) == {"band:0", "band:1"}
    for n in range(2):
        colour = np.asarray(collections[f"band:{n}"].get_array())
        assert np.allclose(colour, 0.5 * (omega[:-1, n] + omega[1:, n]), rtol=1e-12, atol=0)
        segments = collections[f"band:{n}"].get_segments()
        assert np.allclose([s[0, 1] for s in segments], ref.energy.values[:-1, n])
        assert np.allclose([s[0, 0] for s in segments], path.distance[:-1])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(path.labels)
    assert ax.get_ylabel() == "energy (eV)"
    cbar_label = fig.axes[1].get_ylabel()
    assert label_units(cbar_label) == "Å²"
    assert UREG.Unit(ref.berry_curvature.attrs["units"]) == UREG.angstrom**2
    files = plot_bands(
        haldane, path, "orbital_moment", "z", outfile=tmp_path / "b", formats=["pdf"]
    )
    assert files == [tmp_path / "b.pdf"] and files[0].read_bytes().startswith(PDF_MAGIC)


def test_band_colours_average_degenerate_sets():
    """Kane–Mele without Rashba or exchange is Kramers degenerate at every k: per-band
    <S_z> (±1/2) depend on the basis in each pair; the plot shows the pair mean, 0."""
    model = qgmag.models.kane_mele()
    path = make_path(model, n_points=40)
    fig = bands_figure(model, path, "spin", "z")
    arrays = [np.asarray(c.get_array()) for c in fig.axes[0].collections if c.get_gid()]
    assert len(arrays) == 4
    assert np.abs(np.concatenate(arrays)).max() < 1e-9
    assert "mean over degenerate bands" in fig.axes[1].get_ylabel()


def test_degenerate_average_synthetic():
    energy = np.array([[0.0, 0.0, 1.0, 2.0, 2.0 + 1e-8], [0.0, 0.5, 1.0, 1.5, 2.0]])
    values = np.array([[1.0, 3.0, 5.0, -1.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    out = degenerate_average(energy, values, 1e-6)
    assert np.allclose(out[0], [2.0, 2.0, 5.0, 0.0, 0.0])
    assert np.array_equal(out[1], values[1])  # nothing degenerate: unchanged
    # set sums are preserved (what enters an observable)
    assert np.isclose(out[0, :2].sum(), values[0, :2].sum())
    single = np.array([[0.3], [0.4]])
    assert np.array_equal(degenerate_average(single, single, 1e-6), single)


def test_band_errors(haldane):
    path = make_path(haldane, n_points=10)
    with pytest.raises(QgmagError, match="cannot colour by 'chern'"):
        bands_figure(haldane, path, "chern")
    with pytest.raises(QgmagError, match="give the component as 2 letter"):
        bands_figure(haldane, path, "quantum_metric", "x")
    with pytest.raises(QgmagError, match="runs over"):
        bands_figure(haldane, path, "quantum_metric", "xz")
    with pytest.raises(QgmagError, match="energy_window"):
        bands_figure(haldane, path, "berry_curvature", "z", energy_window=(1.0, -1.0))


# -- Brillouin-zone maps -----------------------------------------------------------------------


def polygon_area(corners: np.ndarray) -> float:
    x, y = corners[:-1, 0], corners[:-1, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_wigner_seitz_triangular_is_regular_hexagon():
    a = 2.46
    lat = a * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    recip = 2 * np.pi * np.linalg.inv(lat).T
    cell = wigner_seitz_2d(recip)
    assert cell.shape == (7, 2) and np.allclose(cell[0], cell[-1])  # closed hexagon
    assert np.allclose(np.linalg.norm(cell[:-1], axis=1), 4 * np.pi / (3 * a))  # corners at K
    sides = np.linalg.norm(np.diff(cell, axis=0), axis=1)
    assert np.allclose(sides, sides[0])
    assert polygon_area(cell) == pytest.approx(abs(np.linalg.det(recip)), rel=1e-12)
    assert polygon_area(cell) == pytest.approx(8 * np.pi**2 / (np.sqrt(3) * a**2), rel=1e-12)


@pytest.mark.parametrize(
    ("basis", "n_corners"), [([[1.0, 0.0], [0.0, 1.0]], 4), ([[2.0, 0.0], [0.7, 2.9]], 6)]
)
def test_wigner_seitz_area_is_cell_area(basis, n_corners):
    cell = wigner_seitz_2d(np.array(basis))
    assert len(cell) == n_corners + 1
    assert polygon_area(cell) == pytest.approx(abs(np.linalg.det(basis)), rel=1e-12)


def test_bz_map_values_equal_band_geometry(haldane, tmp_path):
    fig = bz_map_figure(haldane, "orbital_moment", "z", band=0, n=25)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    ny, nx = np.asarray(mesh.get_array()).shape
    grid = np.asarray(mesh.get_array()).reshape(-1)
    x0, x1 = ax.get_xlim()  # the axes span the grid centres
    y0, y1 = ax.get_ylim()
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))
    k = np.column_stack([gx.ravel(), gy.ravel()])
    ref = qgmag.band_geometry(haldane, k, ["energy", "orbital_moment"])
    assert np.allclose(grid, ref.orbital_moment.sel(i="z").values[:, 0], rtol=1e-10)
    assert ax.get_xlabel() == "$k_x$ (1/Å)" and ax.get_ylabel() == "$k_y$ (1/Å)"
    assert label_units(fig.axes[1].get_ylabel()) == r"$\mu_B$"
    # occupation-weighted sum at μ in the gap: only the valence band, Σ f0 Ω = Ω_0
    fig = bz_map_figure(haldane, "berry_curvature", "z", mu=0.0, n=25)
    summed = np.asarray(fig.axes[0].collections[0].get_array()).reshape(-1)
    ref = qgmag.band_geometry(haldane, k, ["energy", "berry_curvature"])
    assert np.allclose(summed, ref.berry_curvature.sel(i="z").values[:, 0], rtol=1e-10)
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"Γ", "K", "M", "K'"} <= labels
    files = plot_bz_map(haldane, n=20, outfile=tmp_path / "map", formats=["png"])
    assert files[0].read_bytes()[:8] == PNG_MAGIC


def test_bz_map_continuum_and_3d():
    fig = bz_map_figure(qgmag.models.rashba(k_max=0.5), "spin", "y", band=0, n=21)
    grid = np.asarray(fig.axes[0].collections[0].get_array())
    assert np.isnan(grid).any()  # outside the integration disk
    assert np.nanmax(np.abs(grid)) == pytest.approx(0.5, abs=1e-6)  # |<S_y>| <= 1/2
    fig = bz_map_figure(qgmag.models.weyl_lattice(), "berry_curvature", "z", band=0, n=15)
    assert "plane $k_3$ = 0" in fig.axes[0].get_title()


def test_bz_map_errors(haldane):
    with pytest.raises(QgmagError, match="cannot colour by 'curvature'"):
        bz_map_figure(haldane, "curvature")
    with pytest.raises(QgmagError, match="component"):
        bz_map_figure(haldane, "berry_curvature", "w", n=5)
    with pytest.raises(QgmagError, match="integer >= 2"):
        bz_map_figure(haldane, n=1)
    with pytest.raises(QgmagError, match="band 5 does not exist"):
        bz_map_figure(haldane, band=5)
    with pytest.raises(QgmagError, match="temperature"):
        bz_map_figure(haldane, temperature=-1.0)
