"""Tight-binding models: H_ij(k) = sum_R t_ij(R) exp(i k·(R + tau_j - tau_i)).

The phase convention (SPEC §1) uses orbital positions tau ("atomic gauge"): it is the
physical one for position-dependent quantities (quantum metric, interband Berry
connection, orbital moment, magnetoelectric tensor). The "lattice" gauge (phases
exp(i k·R) only) is available as an explicit option for comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qgmag.errors import ModelError
from qgmag.models.base import ComplexArray, FloatArray, as_kpoints

GAUGES = ("atomic", "lattice")
#: Berry-connection levels: orbitals as points at their centres, or with r(R) added
BERRY_CONNECTIONS = ("tight-binding", "full")
_HERMITIAN_TOL = 1e-10


def _numbers(value: object, dtype: type, what: str) -> np.ndarray:
    """np.asarray(value, dtype) or a ModelError naming the argument (strings, ragged lists)."""
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be an array of numbers; got {value!r}.") from None


def _check_lattice(lattice: ArrayLike) -> FloatArray:
    lat = _numbers(lattice, float, "lattice")
    if lat.ndim != 2 or lat.shape[0] != lat.shape[1] or lat.shape[0] not in (2, 3):
        raise ModelError(
            "lattice must be a (d, d) array with d = 2 or 3 whose rows are the primitive "
            f"vectors in Å; got shape {lat.shape}."
        )
    if not np.all(np.isfinite(lat)):
        raise ModelError("lattice contains NaN or infinite entries.")
    vol = abs(np.linalg.det(lat))
    if vol < 1e-8 * np.prod(np.linalg.norm(lat, axis=1)):
        raise ModelError("lattice vectors are linearly dependent (zero cell volume).")
    return lat


def _check_positions(positions: ArrayLike, dim: int, inside_cell: bool = True) -> FloatArray:
    pos = _numbers(positions, float, "positions")
    if pos.ndim != 2 or pos.shape[1] != dim or pos.shape[0] < 1:
        raise ModelError(
            f"positions must be an (n_orb, {dim}) array of fractional coordinates; "
            f"got shape {pos.shape}."
        )
    if not np.all(np.isfinite(pos)):
        raise ModelError("positions contain NaN or infinite values.")
    bad = np.argwhere((pos < 0.0) | (pos >= 1.0))
    if inside_cell and bad.size:
        o = int(bad[0, 0])
        raise ModelError(
            f"orbital {o} has fractional position {pos[o].tolist()} outside the cell [0, 1); "
            "wrap it into the cell (e.g. positions % 1) and shift R of its hoppings to match."
        )
    return pos


def _check_onsite(onsite: ArrayLike | None, n_orb: int) -> ComplexArray:
    if onsite is None:
        return np.zeros((n_orb, n_orb), dtype=complex)
    try:
        arr = np.asarray(onsite, dtype=complex)
    except (TypeError, ValueError):
        raise ModelError(
            f"onsite must be numbers (eV): an ({n_orb},) vector or an ({n_orb}, {n_orb}) "
            f"Hermitian matrix; got {onsite!r}."
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ModelError("on-site energies contain NaN or infinite values.")
    if arr.shape == (n_orb,):
        if np.iscomplexobj(arr) and np.any(np.abs(arr.imag) > _HERMITIAN_TOL):
            raise ModelError(
                "on-site energies must be real (a complex on-site energy makes H non-Hermitian); "
                f"got imaginary parts {arr.imag.tolist()}."
            )
        return np.diag(arr.real.astype(float)).astype(complex)
    if arr.shape == (n_orb, n_orb):
        mat = arr.astype(complex)
        if np.max(np.abs(mat - mat.conj().T)) > _HERMITIAN_TOL:
            raise ModelError(
                "the on-site matrix is not Hermitian; pass a Hermitian (n_orb, n_orb) matrix."
            )
        return mat
    raise ModelError(
        f"onsite must have shape ({n_orb},) (energies in eV) or ({n_orb}, {n_orb}) (a Hermitian "
        f"on-site matrix); got shape {arr.shape}."
    )


def _check_spin(spin: ArrayLike | None, n_orb: int) -> ComplexArray | None:
    if spin is None:
        return None
    s = _numbers(spin, complex, "spin")
    if s.shape != (3, n_orb, n_orb):
        raise ModelError(
            f"spin must have shape (3, {n_orb}, {n_orb}) (matrices of S/hbar); got {s.shape}."
        )
    if np.max(np.abs(s - np.conj(np.swapaxes(s, 1, 2)))) > _HERMITIAN_TOL:
        raise ModelError("spin matrices must be Hermitian.")
    return s


def _parse_hoppings(
    hoppings: Iterable[tuple[int, int, Any, complex]], n_orb: int, dim: int
) -> dict[tuple[int, ...], ComplexArray]:
    """Hopping list -> {R: (n_orb, n_orb) matrix of <i,0|H|j,R>}, Hermitian conjugates added."""
    blocks: dict[tuple[int, ...], ComplexArray] = {}
    seen: dict[tuple[int, int, tuple[int, ...]], int] = {}
    for number, entry in enumerate(hoppings):
        try:
            i, j, r_vec, t = entry
        except (TypeError, ValueError):
            raise ModelError(
                f"hopping #{number} must be a tuple (i, j, R, t); got {entry!r}."
            ) from None
        for name, idx in (("i", i), ("j", j)):
            if not isinstance(idx, int | np.integer) or isinstance(idx, bool):
                raise ModelError(
                    f"hopping #{number}: orbital index {name}={idx!r} is not an integer."
                )
            if not 0 <= idx < n_orb:
                raise ModelError(
                    f"hopping #{number}: orbital index {name}={idx} out of range 0..{n_orb - 1}."
                )
        r_arr = np.asarray(r_vec)
        if r_arr.shape != (dim,) or r_arr.dtype.kind not in "iuf":
            raise ModelError(
                f"hopping #{number}: R={r_vec!r} must be a {dim}-tuple of integers (lattice vector "
                "in units of the primitive vectors)."
            )
        if not np.all(np.equal(np.mod(r_arr.astype(float), 1.0), 0.0)):
            raise ModelError(f"hopping #{number}: R={r_vec!r} has non-integer components.")
        r_key = tuple(int(x) for x in r_arr)
        try:
            t = complex(t)
        except (TypeError, ValueError):
            raise ModelError(
                f"hopping #{number}: amplitude t={t!r} is not a number (eV, complex allowed)."
            ) from None
        if not np.isfinite(t):
            raise ModelError(f"hopping #{number}: amplitude {t} is not finite.")
        if i == j and not any(r_key):
            raise ModelError(
                f"hopping #{number}: (i, i, R=0) is an on-site energy; pass it through `onsite`."
            )
        key = (int(i), int(j), r_key)
        partner = (int(j), int(i), tuple(-x for x in r_key))
        if key in seen or partner in seen:
            first = seen.get(key, seen.get(partner))
            raise ModelError(
                f"hopping #{number} {key} duplicates hopping #{first} (a hopping and its Hermitian "
                "conjugate are added together; give each bond once)."
            )
        seen[key] = number
        minus = tuple(-x for x in r_key)
        blocks.setdefault(r_key, np.zeros((n_orb, n_orb), dtype=complex))[i, j] += t
        blocks.setdefault(minus, np.zeros((n_orb, n_orb), dtype=complex))[j, i] += np.conj(t)
    return blocks


class TightBindingModel:
    """A tight-binding model in 2D or 3D.

    Parameters
    ----------
    lattice : (d, d) array, rows are primitive vectors in Å (d = 2 or 3).
    positions : (n_orb, d) fractional orbital positions in [0, 1).
    hoppings : iterable of (i, j, R, t) setting <i,0|H|j,R> = t (eV, complex allowed);
        the Hermitian conjugate <j,0|H|i,-R> = t* is added. A bond given twice (also as its
        own conjugate) is an error; on-site terms go through ``onsite``.
    onsite : (n_orb,) on-site energies in eV, or a Hermitian (n_orb, n_orb) on-site matrix.
    spin : None or (3, n_orb, n_orb) matrices of S/hbar in the orbital basis.
    gauge : "atomic" (default, SPEC §1: phases exp(i k·(R + tau_j - tau_i))) or "lattice"
        (phases exp(i k·R)); the latter changes position-dependent quantities.
    name : label used in result provenance.

    The Bloch Hamiltonian is H_ij(k) = sum_R t_ij(R) exp(i k·(R + tau_j - tau_i)), k in 1/Å.
    """

    lattice: FloatArray
    positions: FloatArray
    hopping_vectors: np.ndarray  # (nR, d) integer lattice vectors
    hopping_matrices: ComplexArray  # (nR, n, n): <i,0|H|j,R>
    spin: ComplexArray | None
    gauge: str
    name: str
    parameters: dict[str, Any]
    position_matrices: ComplexArray | None  # (nR, n, n, d) <i,0|r|j,R> in Å (Wannier "full")
    berry_connection: str = "tight-binding"  # or "full": r(R) in the Berry connection

    def __init__(
        self,
        lattice: ArrayLike,
        positions: ArrayLike,
        hoppings: Iterable[tuple[int, int, Any, complex]] = (),
        onsite: ArrayLike | None = None,
        spin: ArrayLike | None = None,
        *,
        gauge: str = "atomic",
        name: str = "tight-binding model",
        parameters: dict[str, Any] | None = None,
    ) -> None:
        lat = _check_lattice(lattice)
        dim = lat.shape[0]
        pos = _check_positions(positions, dim)
        n_orb = pos.shape[0]
        if gauge not in GAUGES:
            raise ModelError(f"gauge must be one of {GAUGES}; got {gauge!r}.")
        blocks = _parse_hoppings(hoppings, n_orb, dim)
        zero = (0,) * dim
        blocks.setdefault(zero, np.zeros((n_orb, n_orb), dtype=complex))
        blocks[zero] = blocks[zero] + _check_onsite(onsite, n_orb)
        keys = sorted(blocks)
        self._init_arrays(
            lat,
            pos,
            np.array(keys, dtype=int).reshape(-1, dim),
            np.array([blocks[k] for k in keys]),
            _check_spin(spin, n_orb),
            gauge,
            name,
            dict(parameters or {}),
            None,
        )

    @classmethod
    def from_arrays(
        cls,
        lattice: ArrayLike,
        positions: ArrayLike,
        vectors: ArrayLike,
        matrices: ArrayLike,
        spin: ArrayLike | None = None,
        *,
        gauge: str = "atomic",
        name: str = "tight-binding model",
        parameters: dict[str, Any] | None = None,
        position_matrices: ArrayLike | None = None,
        berry_connection: str = "tight-binding",
        hermitian_tolerance: float = 1e-6,
        positions_outside_cell: bool = False,
    ) -> TightBindingModel:
        """Build from H(R) blocks: ``matrices[r][i, j] = <i,0|H|j,R_r>`` for ``vectors[r]``.

        The set of R must be closed under R -> -R with H(-R) = H(R)^† (checked to
        ``hermitian_tolerance`` eV); this is how Wannier90 files are loaded.
        ``positions_outside_cell=True`` accepts fractional positions outside [0, 1) (Wannier
        centres are physical positions and may lie in a neighbouring cell); the phases
        exp(i k·(R + tau_j - tau_i)) then use them as given, which keeps the R list short.

        ``position_matrices[r, i, j, a] = <i,0|r_a|j,R_r>`` (Å), e.g. the r(R) blocks of a
        Wannier90 ``_tb.dat`` file, and ``berry_connection``: "tight-binding" (default:
        point-like orbitals at ``positions``, r(R) only stored) or "full" (r(R) enters the
        Berry connection and curvature, Wang et al. PRB 74, 195118 (2006); needs
        ``position_matrices`` and the atomic gauge). In the atomic gauge the extra
        connection is A^W_ij(k) = sum_R e^{ik·(R+tau_j-tau_i)} [r_ij(R) - tau_i δ_ij δ_R0].
        """
        lat = _check_lattice(lattice)
        dim = lat.shape[0]
        pos = _check_positions(positions, dim, inside_cell=not positions_outside_cell)
        n_orb = pos.shape[0]
        if gauge not in GAUGES:
            raise ModelError(f"gauge must be one of {GAUGES}; got {gauge!r}.")
        vec = _numbers(vectors, float, "vectors")
        mat = _numbers(matrices, complex, "matrices")
        if vec.ndim != 2 or vec.shape[1] != dim:
            raise ModelError(f"vectors must have shape (nR, {dim}); got {vec.shape}.")
        if mat.shape != (vec.shape[0], n_orb, n_orb):
            raise ModelError(
                f"matrices must have shape ({vec.shape[0]}, {n_orb}, {n_orb}); got {mat.shape}."
            )
        if not np.all(vec == np.round(vec)):
            raise ModelError("lattice vectors R must be integers.")
        vec = np.round(vec).astype(int)
        index = {tuple(v): r for r, v in enumerate(vec)}
        if len(index) != len(vec):
            raise ModelError("a lattice vector R appears twice in the H(R) list.")
        worst = 0.0
        for r, v in enumerate(vec):
            partner = index.get(tuple(-v))
            if partner is None:
                raise ModelError(
                    f"R={tuple(v)} is present but -R is not: H(R) cannot be Hermitian."
                )
            worst = max(worst, float(np.max(np.abs(mat[r] - mat[partner].conj().T))))
        if worst > hermitian_tolerance:
            raise ModelError(
                f"the Hamiltonian is not Hermitian: max |H(R) - H(-R)^†| = {worst:.3g} eV exceeds "
                f"{hermitian_tolerance:g} eV."
            )
        pmat = None
        if position_matrices is not None:
            pmat = _numbers(position_matrices, complex, "position_matrices")
            if pmat.shape != (vec.shape[0], n_orb, n_orb, dim):
                raise ModelError(
                    f"position_matrices must have shape ({vec.shape[0]}, {n_orb}, {n_orb}, {dim})."
                )
        if berry_connection not in BERRY_CONNECTIONS:
            raise ModelError(
                f"berry_connection must be one of {BERRY_CONNECTIONS}; got {berry_connection!r}."
            )
        if berry_connection == "full" and (pmat is None or gauge != "atomic"):
            raise ModelError(
                "berry_connection='full' needs position_matrices (<i,0|r|j,R>, Å) and the "
                "atomic gauge."
            )
        obj = object.__new__(cls)
        obj._init_arrays(
            lat, pos, vec, mat, _check_spin(spin, n_orb), gauge, name, dict(parameters or {}), pmat
        )
        object.__setattr__(obj, "berry_connection", berry_connection)
        return obj

    def _init_arrays(self, lat, pos, vec, mat, spin, gauge, name, parameters, pmat) -> None:  # noqa: ANN001
        for label, value in (("hopping/on-site matrices H(R)", mat), ("spin matrices", spin),
                             ("position matrices r(R)", pmat)):
            if value is not None and not np.all(np.isfinite(value)):
                raise ModelError(f"the {label} contain NaN or infinite values.")
        for key, value in (
            ("lattice", lat),
            ("positions", pos),
            ("hopping_vectors", vec),
            ("hopping_matrices", mat),
            ("spin", spin),
            ("gauge", gauge),
            ("name", name),
            ("parameters", parameters),
            ("position_matrices", pmat),
        ):
            if isinstance(value, np.ndarray):
                value = value.copy()
                value.setflags(write=False)
            object.__setattr__(self, key, value)
        tau = pos @ lat  # Cartesian orbital positions (n, d), Å
        r_cart = vec @ lat  # (nR, d)
        if gauge == "atomic":
            delta = r_cart[:, None, None, :] + tau[None, None, :, :] - tau[None, :, None, :]
        else:
            delta = np.broadcast_to(r_cart[:, None, None, :], (*mat.shape, lat.shape[0]))
        object.__setattr__(self, "_tau", tau if gauge == "atomic" else np.zeros_like(tau))
        object.__setattr__(self, "_r_cart", r_cart)
        object.__setattr__(self, "_delta", np.ascontiguousarray(delta))  # (nR, n, n, d)

    # -- protocol ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Spatial dimension d (2 or 3)."""
        return int(self.lattice.shape[0])

    @property
    def n_bands(self) -> int:
        """Number of orbitals = number of bands."""
        return int(self.positions.shape[0])

    @property
    def cell_volume(self) -> float:
        """Unit-cell volume (Å^3) in 3D, area (Å^2) in 2D."""
        return float(abs(np.linalg.det(self.lattice)))

    @property
    def reciprocal_lattice(self) -> FloatArray:
        """Rows b_i with a_i · b_j = 2 pi delta_ij (1/Å)."""
        return 2.0 * np.pi * np.linalg.inv(self.lattice).T

    @property
    def n_hoppings(self) -> int:
        """Number of lattice vectors R carrying hoppings (including R = 0)."""
        return int(self.hopping_vectors.shape[0])

    def _half_r(self) -> tuple[np.ndarray, FloatArray]:
        """Indices of one R of every ±R pair (R = 0 included) and their weights (1/2 at R = 0)."""
        cached = self.__dict__.get("_stack_half")
        if cached is not None:
            return cached
        vec = self.hopping_vectors
        keep = []
        for r, v in enumerate(vec.tolist()):
            nonzero = [x for x in v if x != 0]
            if not nonzero or nonzero[0] > 0:  # R = 0 or the first nonzero component > 0
                keep.append(r)
        idx = np.array(keep, dtype=int)
        weight = np.where(np.any(vec[idx] != 0, axis=1), 1.0, 0.5)
        object.__setattr__(self, "_stack_half", (idx, weight))
        return idx, weight

    def _stacked_blocks(self, order: int, connection: bool = False) -> ComplexArray:
        """(nR/2, n_terms * n * n) blocks Y(R) over one R per ±R pair, Y(0) halved.

        Terms: t(R); i Δ_a t(R); -Δ_a Δ_b t(R) (a <= b); with ``connection`` also
        r̃_a(R) = r(R) - τ δ_R0 and i(Δ_a r̃_b - Δ_b r̃_a) for (a, b) = (y, z), (z, x), (x, y).
        Every term satisfies Y_ji(-R) = Y_ij(R)*, so Σ_R Y(R) e^{ik·R} = Σ_half [cos(k·R)
        (Y + Y^†) + sin(k·R) i(Y - Y^†)]: returned as a real (2 nR/2, 2 n_terms n²) matrix
        (rows: cos part, then sin part; columns: complex entries as (re, im) pairs) for
        one real GEMM with [cos(k·R), sin(k·R)] whose output, viewed as complex, is the
        Hermitian result.
        """
        cache_name = f"_stack_{order}_{int(connection)}"
        cached = self.__dict__.get(cache_name)
        if cached is not None:
            return cached
        y = self._half_term_blocks(order, connection)
        y_dag = np.conj(np.swapaxes(y, -1, -2))
        stacked = np.concatenate([y + y_dag, 1j * (y - y_dag)])
        if connection:  # the trig rows are real: the packed columns sum to the packed curl
            stacked = pack_curl(stacked)
        stacked = np.ascontiguousarray(stacked.reshape(2 * y.shape[0], -1)).view(float)
        object.__setattr__(self, cache_name, stacked)
        return stacked

    def grid_term_blocks(
        self, order: int, connection: bool = False
    ) -> tuple[np.ndarray, ComplexArray]:
        """(R (nR', d) integers, Y (nR', n_terms * n * n) complex) with
        Σ_R' Y(R') e^{ik·R'} = the Bloch sums of :meth:`bloch_blocks` (terms as in
        :meth:`_stacked_blocks`): one R of every ±R pair with Y, its partner with Y^†
        (R = 0 once with Y + Y^†, Y(0) halved), rows ordered by R_l. For separable sums on
        uniform meshes (:mod:`qgmag.bands.grid_bloch`)."""
        cache_name = f"_stack_grid_{order}_{int(connection)}"
        cached = self.__dict__.get(cache_name)
        if cached is not None:
            return cached
        idx, _ = self._half_r()
        y = self._half_term_blocks(order, connection)
        y_dag = np.conj(np.swapaxes(y, -1, -2))
        vec = np.rint(self.hopping_vectors[idx]).astype(int)
        zero = ~np.any(vec, axis=1)
        rs = np.concatenate([vec, -vec[~zero]])
        blocks = np.concatenate([np.where(zero[:, None, None, None], y + y_dag, y), y_dag[~zero]])
        if connection:
            blocks = pack_curl(blocks)
        from qgmag.bands.grid_bloch import sorted_by_last

        out = sorted_by_last(rs, blocks.reshape(rs.shape[0], -1))  # R_l groups contiguous
        object.__setattr__(self, cache_name, out)
        return out

    def _half_term_blocks(self, order: int, connection: bool) -> ComplexArray:
        """(nR/2, n_terms, n, n) term blocks Y(R) over one R per ±R pair, Y(0) halved."""
        idx, weight = self._half_r()
        t = self.hopping_matrices[idx] * weight[:, None, None]
        delta = self._delta[idx]
        d = self.dim
        terms = [t]
        if order >= 1:
            terms += [1j * delta[..., a] * t for a in range(d)]
        if order >= 2:
            terms += [-delta[..., a] * delta[..., b] * t for a in range(d) for b in range(a, d)]
        if connection:
            rt = np.array(self.position_matrices)  # (nR, n, n, d)
            zero = int(np.flatnonzero(~np.any(self.hopping_vectors, axis=1))[0])
            rt[zero, np.arange(self.n_bands), np.arange(self.n_bands)] -= self._tau
            rt = rt[idx] * weight[:, None, None, None]
            rt3 = np.zeros((*rt.shape[:3], 3), dtype=complex)
            rt3[..., :d] = rt
            d3 = np.zeros((*delta.shape[:3], 3))
            d3[..., :d] = delta
            terms += [rt3[..., a] for a in range(3)]
            terms += [
                1j * (d3[..., a] * rt3[..., b] - d3[..., b] * rt3[..., a])
                for a, b in ((1, 2), (2, 0), (0, 1))
            ]
        return np.stack(terms, axis=1)  # (nR/2, n_terms, n, n)

    def bloch_blocks(
        self, kpoints: FloatArray, order: int = 1, connection: bool = False
    ) -> dict[str, ComplexArray | None]:
        """Bloch matrices without the diagonal orbital-phase factors (the engine's fast path).

        Returns a dict with "h" (N, n, n), "dh" (d, N, n, n), "d2h" (d, d, N, n, n) or None,
        and with ``connection`` "connection" (3, N, n, n) = A^W (Å) and "connection_curl"
        (2, N, n, n) = (Ω_x + i Ω_y, Ω_z) with the Hermitian Ω_c = ∂_a A^W_b - ∂_b A^W_a for
        (a, b, c) cyclic (Å², packed: :func:`pack_curl`), all in eV, Å units
        and in the basis D(k) X D(k)^† of the atomic gauge with D = diag(e^{ik·τ}) given as
        "phase" (N, n); eigenvalues, and U† X U with U the eigenvectors of "h", are the same
        as in the atomic gauge (the atomic-gauge eigenvectors are D^† U).
        """
        if order not in (0, 1, 2):
            raise ValueError(f"order must be 0, 1 or 2; got {order}.")
        if connection and (self.position_matrices is None or self.gauge != "atomic"):
            raise ModelError("the full Berry connection needs position_matrices (atomic gauge).")
        k = as_kpoints(kpoints, self.dim)
        n, d, nk = self.n_bands, self.dim, k.shape[0]
        idx, _ = self._half_r()
        kr = k @ self._r_cart[idx].T  # (N, nR/2)
        trig = np.concatenate([np.cos(kr), np.sin(kr)], axis=1)
        full = (trig @ self._stacked_blocks(order, connection)).view(complex)
        blocks = np.moveaxis(full.reshape(nk, -1, n, n), 1, 0)  # (n_terms, N, n, n)
        out = unpack_bloch_terms(blocks, d, order, connection)
        if self.gauge == "atomic":
            out["phase"] = np.exp(1j * (k @ self._tau.T))  # (N, n)
        return out

    def derivatives(
        self, kpoints: FloatArray, order: int = 1
    ) -> tuple[ComplexArray, ComplexArray, ComplexArray | None]:
        """H(k) (N, n, n), dH/dk_a (d, N, n, n) in eV·Å and, for order 2, d²H/dk_a dk_b
        (d, d, N, n, n) in eV·Å², for Cartesian k-points (N, d) in 1/Å."""
        out = self.bloch_blocks(kpoints, order)
        h, dh, d2h, phase = out["h"], out["dh"], out["d2h"], out["phase"]
        if phase is not None:
            gauge = phase.conj()[:, :, None] * phase[:, None, :]  # (N, n, n)
            h = h * gauge
            dh = dh * gauge
            d2h = None if d2h is None else d2h * gauge
        return h, dh, d2h  # type: ignore[return-value]

    def hamiltonian(self, kpoints: FloatArray) -> ComplexArray:
        """H(k) (N, n, n) in eV for Cartesian k-points (N, d) in 1/Å."""
        return self.derivatives(kpoints, order=0)[0]

    def summary(self) -> dict[str, object]:
        """Short description for result provenance."""
        return {
            "name": self.name,
            "type": "tight-binding",
            "dim": self.dim,
            "n_bands": self.n_bands,
            "n_R": self.n_hoppings,
            "gauge": self.gauge,
            "spinful": self.spin is not None,
            "lattice_angstrom": self.lattice.tolist(),
            "parameters": {k: v for k, v in self.parameters.items()},
        }

    def __repr__(self) -> str:
        return (
            f"TightBindingModel(name={self.name!r}, dim={self.dim}, n_bands={self.n_bands}, "
            f"n_R={self.n_hoppings}, spinful={self.spin is not None}, gauge={self.gauge!r})"
        )

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"TightBindingModel is immutable; cannot set {key!r}.")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_stack_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)


def pack_curl(blocks: ComplexArray) -> ComplexArray:
    """(rows, n_terms, n, n) term blocks whose last three are Ω_x, Ω_y, Ω_z -> (rows,
    n_terms - 1, n, n) with them as (Ω_x + i Ω_y, Ω_z): the curl of A^W enters only through
    its band diagonals, and diag(U† (Ω_x + i Ω_y) U) = Ω̄_x,nn + i Ω̄_y,nn with both real
    (Ω Hermitian), so one Fourier sum and one transform give two of them."""
    packed = blocks[:, :-1].copy()
    packed[:, -2] += 1j * blocks[:, -2]
    packed[:, -1] = blocks[:, -1]
    return packed


def unpack_curl(packed: ComplexArray) -> ComplexArray:
    """(2, ..., n, n) (Ω_x + i Ω_y, Ω_z) of Hermitian Ω -> (3, ..., n, n) Ω_x, Ω_y, Ω_z."""
    z_dag = np.conj(np.swapaxes(packed[0], -1, -2))
    return np.stack([(packed[0] + z_dag) / 2, (packed[0] - z_dag) / 2j, packed[1]])


def unpack_bloch_terms(
    blocks: ComplexArray, d: int, order: int, connection: bool, d2h_pairs: bool = False
) -> dict[str, ComplexArray | None]:
    """The stacked Bloch sums (n_terms, N, n, n) in the order of ``_stacked_blocks`` (H,
    ∂_a H, the distinct ∂_a∂_b H with a <= b, then A^W and its curl) as the dict of
    :meth:`TightBindingModel.bloch_blocks` ("phase" left None). ``d2h_pairs``: the
    distinct ∂_a∂_b H as "d2h_pairs" (n_pairs, N, n, n), a view of ``blocks``, instead of
    the symmetric (d, d, N, n, n) copy "d2h" (which is then None)."""
    nk, n = blocks.shape[1], blocks.shape[-1]
    out: dict[str, ComplexArray | None] = {"h": blocks[0], "d2h": None, "phase": None}
    out["dh"] = blocks[1 : 1 + d] if order >= 1 else np.zeros((d, nk, n, n), dtype=complex)
    pos = 1 + d if order >= 1 else 1
    if order >= 2 and d2h_pairs:
        out["d2h_pairs"] = blocks[pos : pos + d * (d + 1) // 2]
        pos += d * (d + 1) // 2
    elif order >= 2:
        d2h = np.empty((d, d, nk, n, n), dtype=complex)
        for a in range(d):
            for b in range(a, d):
                d2h[a, b] = blocks[pos]
                d2h[b, a] = blocks[pos]
                pos += 1
        out["d2h"] = d2h
    if connection:
        out["connection"] = blocks[pos : pos + 3]
        out["connection_curl"] = blocks[pos + 3 : pos + 5]  # packed (pack_curl)
    return out
