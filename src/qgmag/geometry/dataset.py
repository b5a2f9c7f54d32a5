"""``qgmag.band_geometry``: every band-resolved quantity at given k, as an xarray Dataset."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from qgmag.bands.engine import DEFAULT_DEGENERACY_TOL, BandData
from qgmag.constants import ORBITAL_MOMENT_TO_BOHR, VELOCITY_EV_A_TO_M_S
from qgmag.errors import QgmagError
from qgmag.geometry import quantities as q
from qgmag.geometry import second_order as so
from qgmag.models.base import FloatArray, Model, as_kpoints
from qgmag.models.wannier_model import model_level, quantity_level

CARTESIAN = ("x", "y", "z")
#: units of the magnetoelectric tensor F (e/hbar · Å³), pint-parsable
MAGNETOELECTRIC_UNITS = "elementary_charge * angstrom**3 / hbar"

#: name -> (description, units) of every quantity band_geometry can return
BAND_QUANTITIES: dict[str, tuple[str, str]] = {
    "energy": ("band energy ε_n(k)", "eV"),
    "band_velocity": ("group velocity (1/hbar) ∂ε_n/∂k_j", "m/s"),
    "berry_curvature": ("Berry curvature Ω^i_n (vector form, Eq. 4)", "angstrom**2"),
    "quantum_metric": ("quantum metric g^{ij}_n", "angstrom**2"),
    "quantum_geometric_tensor": ("quantum geometric tensor Q_n = g_n - (i/2) Ω_n", "angstrom**2"),
    "orbital_moment": ("orbital magnetic moment m^i_n (Eqs. 3-4)", "bohr_magneton"),
    "spin": ("spin expectation <S_i/hbar>_n", "dimensionless"),
    "spin_berry_curvature": (
        "spin Berry curvature Φ^{ij}_n (Eq. 7), S in units of hbar",
        "hbar * angstrom / eV",
    ),
    "interband_berry_connection": (
        "interband Berry connection A^j_{nm} (zero within D(n))",
        "angstrom",
    ),
    "interband_orbital_moment": ("interband orbital moment m^i_{nm} of Eq. (10)", "bohr_magneton"),
    "metric_dipole": ("quantum-metric dipole ∂_l g^{ij}_n", "angstrom**3"),
    "magnetoelectric_tensor": (
        "magnetoelectric tensor F^{ij}_n (Eq. 10, physical sign)",
        MAGNETOELECTRIC_UNITS,
    ),
    # E² response (qgmag.geometry.second_order; docs/observables/kinetic_spin_second_order.md)
    "berry_connection_polarizability": (
        "Berry-connection polarizability G^{jl}_n = 2e Re Σ_m A^j_nm A^l_mn/(ε_n-ε_m); "
        "ε^(2)_n = (e/2) E·G_n·E",
        "angstrom**2 / volt",
    ),
    "spin_connection_polarizability": (
        "spin analogue ∂G^{jl}_n/∂h_i for H + h_i S_i/hbar (Zeeman h in eV); "
        "δ<S_i/hbar> = (e/2) E·(Σ_occ ∂G/∂h_i)·E in a filled band",
        "angstrom**2 / volt / eV",
    ),
    "inverse_mass": (
        "band curvature ∂_j∂_l ε_n (inverse effective mass × hbar²)",
        "eV * angstrom**2",
    ),
}
_DEFAULT = (
    "energy",
    "band_velocity",
    "berry_curvature",
    "quantum_metric",
    "orbital_moment",
    "spin",
    "spin_berry_curvature",
    "magnetoelectric_tensor",
)


def band_geometry(
    model: Model,
    kpoints: FloatArray,
    quantities: Iterable[str] | None = None,
    *,
    degeneracy_tol: float = DEFAULT_DEGENERACY_TOL,
    gauge_rotation: np.random.Generator | None = None,
) -> xr.Dataset:
    """Band-resolved quantum geometry at the given k-points.

    Parameters
    ----------
    model : a qgmag model.
    kpoints : (N, d) Cartesian k-points in 1/Å.
    quantities : names from :data:`BAND_QUANTITIES`; default: energy, band_velocity,
        berry_curvature, quantum_metric, orbital_moment, magnetoelectric_tensor, and spin
        and spin_berry_curvature for spinful models.
    degeneracy_tol : eV; bands closer than this form a degenerate set, excluded from the
        intermediate-state sums. Per-band values inside a set depend on the basis chosen
        in it; their sum over the set does not.
    gauge_rotation : a numpy Generator to randomly rotate degenerate sets (testing).

    Returns an ``xarray.Dataset`` with dims ``k`` (coords kx, ky[, kz] in 1/Å), ``band``
    (ascending energy), ``i`` (x, y, z: magnetization / pseudovector / spin component) and
    ``j``, ``l`` (the model's d Cartesian k / field directions); every variable carries
    ``attrs["units"]``. For a 2D model, in-plane components of pseudovectors (Ω, m) are
    identically zero.
    """
    k = as_kpoints(kpoints, model.dim)
    if quantities is None:
        names = [n for n in _DEFAULT if model.spin is not None or "spin" not in n]
    else:
        names = list(quantities)
        unknown = sorted(set(names) - set(BAND_QUANTITIES))
        if unknown:
            raise QgmagError(
                f"unknown band quantity {unknown}; choose from {sorted(BAND_QUANTITIES)}."
            )
    need2 = bool({"metric_dipole", "magnetoelectric_tensor", "inverse_mass"} & set(names))
    from qgmag.resources import check_memory

    n_b = model.n_bands
    check_memory(
        k.shape[0] * (16 * n_b**2 * (90 if need2 else 40) + 8 * n_b * 27 * len(names)),
        f"band_geometry at {k.shape[0]:,} k-points ({n_b} bands)",
        "ask for fewer k-points per call (e.g. bands n_points <= a few thousand), in "
        "several calls.",
    )
    bands = BandData(
        model,
        k,
        degeneracy_tol=degeneracy_tol,
        need_second_derivatives=need2,
        gauge_rotation=gauge_rotation,
    )
    d = model.dim
    field = CARTESIAN[:d]
    data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}

    # tensors (3, 3, N, n) -> (N, n, i, j) with j restricted to the model's d directions
    def tensor(t: np.ndarray) -> np.ndarray:
        return np.moveaxis(t, (0, 1), (2, 3))[:, :, :, :d]

    for name in names:
        if name == "energy":
            data[name] = (("k", "band"), bands.energy)
        elif name == "band_velocity":
            vel = np.moveaxis(bands.band_velocity, 0, -1)[..., :d] * VELOCITY_EV_A_TO_M_S
            data[name] = (("k", "band", "j"), vel)
        elif name == "berry_curvature":
            data[name] = (
                ("k", "band", "i"),
                np.moveaxis(q.to_vector(q.berry_curvature(bands)), 0, -1),
            )
        elif name == "quantum_metric":
            data[name] = (("k", "band", "i", "j"), tensor(q.quantum_metric(bands)))
        elif name == "quantum_geometric_tensor":
            data[name] = (("k", "band", "i", "j"), tensor(q.quantum_geometric_tensor(bands)))
        elif name == "orbital_moment":
            m = q.to_vector(q.orbital_moment_native(bands)) * ORBITAL_MOMENT_TO_BOHR
            data[name] = (("k", "band", "i"), np.moveaxis(m, 0, -1))
        elif name == "spin":
            s = np.real(np.diagonal(bands.spin_matrix, axis1=-2, axis2=-1))
            data[name] = (("k", "band", "i"), np.moveaxis(s, 0, -1))
        elif name == "spin_berry_curvature":
            data[name] = (("k", "band", "i", "j"), tensor(q.spin_berry_curvature(bands)))
        elif name == "interband_berry_connection":
            a = np.moveaxis(bands.berry_connection, 0, -1)[..., :d]
            data[name] = (("k", "band", "band2", "j"), a)
        elif name == "interband_orbital_moment":
            m = q.interband_orbital_moment_native(bands) * ORBITAL_MOMENT_TO_BOHR
            data[name] = (("k", "band", "band2", "i"), np.moveaxis(m, 0, -1))
        elif name == "metric_dipole":
            dip = np.moveaxis(q.metric_dipole(bands), (0, 1, 2), (2, 3, 4))[:, :, :d, :, :d]
            data[name] = (("k", "band", "l", "i", "j"), dip)
        elif name == "magnetoelectric_tensor":
            data[name] = (("k", "band", "i", "j"), tensor(q.magnetoelectric_tensor_native(bands)))
        elif name == "berry_connection_polarizability":
            g = np.moveaxis(so.berry_connection_polarizability(bands), (0, 1), (2, 3))
            data[name] = (("k", "band", "j", "l"), g[:, :, :d, :d])
        elif name == "spin_connection_polarizability":
            t = 2.0 * so.bcp_field_derivative(bands, bands.spin_matrix)  # G = 2 g3 (Å²/V)
            t = np.moveaxis(t, (0, 1, 2), (2, 3, 4))[:, :, :, :d, :d]
            data[name] = (("k", "band", "i", "j", "l"), t)
        elif name == "inverse_mass":
            mass = np.real(np.diagonal(so.inverse_mass_matrix(bands), axis1=-2, axis2=-1))
            data[name] = (("k", "band", "j", "l"), np.moveaxis(mass, (0, 1), (2, 3))[:, :, :d, :d])
    coords: dict[str, object] = {
        "band": np.arange(model.n_bands),
        "i": list(CARTESIAN),
        "j": list(field),
    }
    for a in range(d):
        coords["k" + CARTESIAN[a]] = ("k", k[:, a])
    if any("l" in dims for dims, _ in data.values()):
        coords["l"] = list(field)
    if any(dims[2:3] == ("band2",) for dims, _ in data.values()):
        coords["band2"] = np.arange(model.n_bands)
    ds = xr.Dataset({n: xr.Variable(dims, val) for n, (dims, val) in data.items()}, coords=coords)
    for n in names:
        ds[n].attrs.update(
            description=BAND_QUANTITIES[n][0],
            units=BAND_QUANTITIES[n][1],
            level=quantity_level(model, n),
        )
    for a in range(d):
        ds["k" + CARTESIAN[a]].attrs["units"] = "1/angstrom"
    ds.attrs.update(
        model=str(model.summary()["name"]),
        degeneracy_tol_eV=degeneracy_tol,
        level=model_level(model),
        spin_source=str(getattr(model, "spin_source", "model spin matrices")),
        magnetoelectric_sign="physical (opposite to Eq. 10 as written; see docs)",
    )
    return ds
