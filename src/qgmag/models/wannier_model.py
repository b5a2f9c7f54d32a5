"""Wannier models read from a Wannier90 run (or a WannierBerri ``System_R`` folder).

:class:`WannierModel` is a :class:`~qgmag.models.TightBindingModel` (atomic gauge with the
Wannier centres as orbital positions, H(R) and A(R) = <0m|r|Rn> - τ_m δ_mn δ_R0 on the
MDRS R list) that also carries B(R) = <0m|H(r - R)|Rn> (eV·Å), C(R) = <0m|r × H r|Rn>
(antisymmetrised pseudovector, eV·Å²) and S(R) = <0m|σ/2|Rn> (spin S/ħ). Its ``level``
says which of them the geometry uses:

* ``"tight-binding"``: orbitals are points at their centres (H(R) only);
* ``"full-connection"``: the Berry connection and curvature include A(R) (Wang et al.,
  PRB 74, 195118 (2006));
* ``"full"``: in addition the orbital moment includes the external terms B, C (Lopez,
  Vanderbilt, Thonhauser, Souza, PRB 85, 014435 (2012)).

Spin uses S(R) whenever the model has it (all levels); ``spin`` holds the on-site block
S(R=0) (a k-independent stand-in used only to say the model is spinful).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qgmag.errors import ModelError
from qgmag.models.base import ComplexArray, FloatArray, as_kpoints
from qgmag.models.tight_binding import TightBindingModel

LEVELS = ("tight-binding", "full-connection", "full")
ORBITAL_FORMULAS = ("lopez", "projected")
#: quantities whose level is capped at the tight-binding (velocity-only) formulas
TIGHT_BINDING_ONLY = (
    "quantum_metric",
    "quantum_geometric_tensor",
    "interband_berry_connection",
    "interband_orbital_moment",
    "metric_dipole",
    "magnetoelectric_tensor",
    "spin_berry_curvature",
    "kinetic_spin_intrinsic",
)


#: keys of the Hermitian matrices that are used only through their band diagonals, packed
#: two components to one complex matrix Z = X_x + i X_y (and X_z): diag(U† Z U) =
#: diag(U† X_x U) + i diag(U† X_y U) with both diagonals real (X Hermitian), so one Fourier
#: sum and one transform give two diagonals (BandData.wannier_diagonal)
PACKED_KEYS = {"spin_packed": "spin", "orbital_c_packed": "orbital_c"}
#: one Fourier sum for the external orbital terms (:mod:`qgmag.geometry.full_level`): the
#: columns of B(k)^† with the Cartesian component between row and column index, (i, a, j),
#: so that B(k)^† is the (n, 3n) matrix [B^†_x B^†_y B^†_z] of one GEMM U_w† [...], then
#: the packed C (C_x + i C_y, C_z); (5, N, n, n) as a (N, n, 3, n) + (N, 2, n, n) buffer
EXTERNAL_KEY = "orbital_external"


def _pack(x: ComplexArray) -> ComplexArray:
    """(..., 3, m) Cartesian components -> (..., 2, m): (x_x + i x_y, x_z)."""
    return np.stack([x[..., 0, :] + 1j * x[..., 1, :], x[..., 2, :]], axis=-2)


def _component_middle(x: ComplexArray, n: int) -> ComplexArray:
    """(rows, 3 n n) columns in (a, i, j) order -> (rows, 3 n n) in (i, a, j) order."""
    return x.reshape(x.shape[0], 3, n, n).transpose(0, 2, 1, 3).reshape(x.shape[0], -1)


def model_level(model: Any) -> str:
    """The level of any model: a WannierModel's ``level``, else from ``berry_connection``."""
    level = getattr(model, "level", None)
    if level is not None:
        return str(level)
    return (
        "full-connection" if getattr(model, "berry_connection", "") == "full" else ("tight-binding")
    )


def quantity_level(model: Any, name: str) -> str:
    """The level at which quantity/observable ``name`` is computed for ``model``.

    Orbital moments and magnetizations use the model's level; Berry curvature, AHC and
    Chern number are at most "full-connection" (the external B, C terms do not enter
    them); the interband connection, metric, metric dipole, interband moment and F (and
    the intrinsic kinetic orbital response built from them) and the spin Berry curvature Φ
    (velocity formula, with S(k) from S(R) where available) are "tight-binding".
    """
    level = model_level(model)
    if any(t in name for t in TIGHT_BINDING_ONLY) or name.startswith("kinetic_orbital_intr"):
        return "tight-binding"
    if "orbital" in name:
        return level
    if level == "full" and ("berry_curvature" in name or "hall" in name or "chern" in name):
        return "full-connection"
    return level


class WannierModel(TightBindingModel):
    """A tight-binding model with the Wannier matrices B(R), C(R), S(R) and a ``level``."""

    level: str
    orbital_b_matrices: ComplexArray | None  # (nR, n, n, 3) eV·Å
    orbital_c_matrices: ComplexArray | None  # (nR, n, n, 3) eV·Å²
    spin_matrices: ComplexArray | None  # (nR, n, n, 3) S/ħ
    spin_source: str
    #: Bloch-phase centres (n, 3) Å of the "lopez" occupied-block approximation when they
    #: differ from the model's own (None: the same)
    lopez_centres: FloatArray | None

    @classmethod
    def from_wannier(
        cls,
        lattice: ArrayLike,
        centres: ArrayLike,
        vectors: ArrayLike,
        hamiltonian: ArrayLike,
        connection: ArrayLike | None,
        orbital_b: ArrayLike | None = None,
        orbital_c: ArrayLike | None = None,
        spin: ArrayLike | None = None,
        *,
        level: str | None = None,
        name: str = "wannier model",
        parameters: dict[str, Any] | None = None,
        spin_source: str = "none",
        orbital_formula: str = "lopez",
        lopez_centres: ArrayLike | None = None,
    ) -> WannierModel:
        """Build from R-space matrices (all on ``vectors``, degeneracies folded in).

        ``connection`` is A(R) = <0m|r|Rn> - τ_m δ_mn δ_R0 (Å); ``spin`` is S/ħ = σ/2.
        ``level`` defaults to the most complete one the matrices allow.
        ``orbital_formula`` (level "full"): "lopez" (default; Lopez et al. Eqs., as
        WannierBerri and postw90) or "projected" (the occupied-occupied block with B̄
        itself, invariant under moving the Bloch-phase centres; see
        :mod:`qgmag.geometry.full_level`).
        ``lopez_centres`` (n, 3) Å: the Bloch-phase centres in which the "lopez" formula's
        occupied-block approximation is taken (default ``centres``; a run re-expressed with
        other ``phase_centres`` keeps the centres it was built with, so that every
        observable is unchanged by the re-expression).
        """
        if orbital_formula not in ORBITAL_FORMULAS:
            raise ModelError(
                f"orbital_formula must be one of {ORBITAL_FORMULAS}; got {orbital_formula!r}."
            )
        lat = np.asarray(lattice, dtype=float)
        cart = np.asarray(centres, dtype=float)
        vec = np.asarray(vectors)
        best = "tight-binding"
        if connection is not None:
            best = "full" if orbital_b is not None and orbital_c is not None else "full-connection"
        level = best if level is None else level
        if level not in LEVELS:
            raise ModelError(f"level must be one of {LEVELS}; got {level!r}.")
        if LEVELS.index(level) > LEVELS.index(best):
            need = "A(R) (.mmn)" if best == "tight-binding" else "B(R), C(R) (.mmn and .uHu)"
            raise ModelError(
                f"level={level!r} needs {need}, which this model does not have; the most "
                f"complete level available is {best!r}."
            )
        pos_mat = None
        if connection is not None:
            pos_mat = np.array(connection, dtype=complex)
            zero = int(np.flatnonzero(~np.any(vec, axis=1))[0])
            pos_mat[zero, np.arange(cart.shape[0]), np.arange(cart.shape[0])] += cart
        lopez = None if lopez_centres is None else np.array(lopez_centres, dtype=float)
        if lopez is not None and lopez.shape != cart.shape:
            raise ModelError(f"lopez_centres must have shape {cart.shape}; got {lopez.shape}.")
        if lopez is not None and np.array_equal(lopez, cart):
            lopez = None  # the default: the Bloch-phase centres themselves
        spin_arr = None if spin is None else np.asarray(spin, dtype=complex)
        onsite = None
        if spin_arr is not None:
            zero = int(np.flatnonzero(~np.any(vec, axis=1))[0])
            onsite = np.moveaxis(spin_arr[zero], -1, 0)
            onsite = 0.5 * (onsite + np.conj(np.swapaxes(onsite, 1, 2)))
        obj = cls.from_arrays(
            lat,
            cart @ np.linalg.inv(lat),
            vec,
            hamiltonian,
            onsite,
            gauge="atomic",
            name=name,
            parameters=parameters,
            position_matrices=pos_mat,
            berry_connection="tight-binding" if level == "tight-binding" else "full",
            hermitian_tolerance=1e-6,
            positions_outside_cell=True,
        )
        for key, value in (
            ("level", level),
            ("orbital_b_matrices", None if orbital_b is None else np.asarray(orbital_b, complex)),
            ("orbital_c_matrices", None if orbital_c is None else np.asarray(orbital_c, complex)),
            ("spin_matrices", spin_arr),
            ("spin_source", spin_source if spin_arr is not None else "none"),
            ("orbital_formula", orbital_formula),
            ("lopez_centres", lopez),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(obj, key, value)
        return obj

    def with_level(self, level: str, orbital_formula: str | None = None) -> WannierModel:
        """The same model at another level (e.g. to compare the three levels)."""
        zero = int(np.flatnonzero(~np.any(self.hopping_vectors, axis=1))[0])
        conn = None
        if self.position_matrices is not None:
            conn = np.array(self.position_matrices)
            conn[zero, np.arange(self.n_bands), np.arange(self.n_bands)] -= self._tau
        return WannierModel.from_wannier(
            self.lattice,
            self._tau,
            self.hopping_vectors,
            self.hopping_matrices,
            conn,
            self.orbital_b_matrices,
            self.orbital_c_matrices,
            self.spin_matrices,
            level=level,
            name=self.name,
            parameters=dict(self.parameters),
            spin_source=self.spin_source,
            orbital_formula=orbital_formula or self.orbital_formula,
            lopez_centres=self.lopez_centres,
        )

    # -- k-space blocks of B, C, S (phase-stripped basis of bloch_blocks) ----------------
    def _extra_stack(self, key: str) -> np.ndarray:
        cache = f"_stack_extra_{key}"
        cached = self.__dict__.get(cache)
        if cached is not None:
            return cached
        if key == EXTERNAL_KEY:  # same trig rows for B^† and C: concatenate the columns
            b_dag = self._extra_stack("orbital_b_dagger").view(complex)
            c_packed = self._extra_stack("orbital_c_packed").view(complex)
            stacked = np.concatenate([_component_middle(b_dag, self.n_bands), c_packed], axis=1)
            stacked = np.ascontiguousarray(stacked).view(float)
            object.__setattr__(self, cache, stacked)
            return stacked
        if key in PACKED_KEYS:  # the trig rows are real: pack the complex columns
            base = self._extra_stack(PACKED_KEYS[key]).view(complex)
            n2 = self.n_bands**2
            packed = np.ascontiguousarray(_pack(base.reshape(base.shape[0], 3, n2)))
            stacked = packed.reshape(base.shape[0], -1).view(float)
            object.__setattr__(self, cache, stacked)
            return stacked
        idx, weight = self._half_r()
        if key == "spin":
            src = self.spin_matrices
            terms = [src[..., a] for a in range(3)]
        elif key == "orbital_c":
            src = self.orbital_c_matrices
            terms = [src[..., a] for a in range(3)]
        else:  # B is not Hermitian: rows B(R) + B(-R) (cos) and i(B(R) - B(-R)) (sin)
            src = self.orbital_b_matrices
            terms = []
        if src is None:
            raise ModelError(f"model {self.name!r} has no {key} matrices.")
        if key in ("orbital_b", "orbital_b_dagger"):
            partner = self._minus_r()[idx]
            y = np.moveaxis(src[idx], -1, 1) * weight[:, None, None, None]  # (nR/2, 3, n, n)
            y_minus = np.moveaxis(src[partner], -1, 1) * weight[:, None, None, None]
            if key == "orbital_b_dagger":  # B'(R) = B(-R)^† sums to B(k)^†
                y, y_minus = np.conj(np.swapaxes(y_minus, -1, -2)), np.conj(np.swapaxes(y, -1, -2))
            stacked = np.concatenate([y + y_minus, 1j * (y - y_minus)]).reshape(2 * idx.size, -1)
            stacked = np.ascontiguousarray(stacked).view(float)
            object.__setattr__(self, cache, stacked)
            return stacked
        y = np.stack(terms, axis=1)[idx] * weight[:, None, None, None]
        y_dag = np.conj(np.swapaxes(y, -1, -2))
        stacked = np.concatenate([y + y_dag, 1j * (y - y_dag)]).reshape(2 * idx.size, -1)
        stacked = np.ascontiguousarray(stacked).view(float)
        object.__setattr__(self, cache, stacked)
        return stacked

    def _minus_r(self) -> np.ndarray:
        """(nR,) index of -R for every R of ``hopping_vectors``."""
        index = {tuple(v): r for r, v in enumerate(self.hopping_vectors.tolist())}
        return np.array([index[tuple(-x for x in v)] for v in self.hopping_vectors.tolist()])

    def grid_wannier_terms(self, key: str) -> tuple[np.ndarray, ComplexArray]:
        """(R (nR', d) integers, Y (nR', 3 n n)) with Σ_R' Y(R') e^{ik·R'} =
        :meth:`wannier_blocks` (k, key), for separable sums on uniform meshes
        (:func:`qgmag.bands.grid_bloch.grid_wannier_blocks`). Hermitian S, C: one R of
        every ±R pair with X, its partner with X^† (as :meth:`grid_term_blocks`); B: every
        R with B(R); B^† ("orbital_b_dagger"): every R with B(-R)^†."""
        cache = f"_stack_grid_extra_{key}"
        cached = self.__dict__.get(cache)
        if cached is not None:
            return cached
        if key == EXTERNAL_KEY:  # C's rows (one R per ±R pair, partner X^†) in B's R order
            rs, b_dag = self.grid_wannier_terms("orbital_b_dagger")
            rs_c, c_packed = self.grid_wannier_terms("orbital_c_packed")
            where = {tuple(v): r for r, v in enumerate(rs.tolist())}
            order = np.array([where[tuple(v)] for v in rs_c.tolist()])
            if rs_c.shape[0] != rs.shape[0] or np.unique(order).size != order.size:
                raise ModelError(f"model {self.name!r}: the R list is not closed under -R.")
            c_rows = np.empty_like(c_packed)
            c_rows[order] = c_packed
            y = np.concatenate([_component_middle(b_dag, self.n_bands), c_rows], axis=1)
            out = (rs, np.ascontiguousarray(y))
            object.__setattr__(self, cache, out)
            return out
        if key in PACKED_KEYS:
            rs, base = self.grid_wannier_terms(PACKED_KEYS[key])
            packed = _pack(base.reshape(rs.shape[0], 3, -1))
            out = (rs, np.ascontiguousarray(packed.reshape(rs.shape[0], -1)))
            object.__setattr__(self, cache, out)
            return out
        src = {
            "spin": self.spin_matrices,
            "orbital_c": self.orbital_c_matrices,
            "orbital_b": self.orbital_b_matrices,
            "orbital_b_dagger": self.orbital_b_matrices,
        }.get(key)
        if src is None:
            raise ModelError(f"model {self.name!r} has no {key} matrices.")
        x = np.moveaxis(src, -1, 1)  # (nR, 3, n, n)
        vec = np.rint(self.hopping_vectors).astype(int)
        if key == "orbital_b":
            rs, y = vec, x
        elif key == "orbital_b_dagger":
            rs, y = vec, np.conj(np.swapaxes(x[self._minus_r()], -1, -2))
        else:
            idx, weight = self._half_r()
            y = x[idx] * weight[:, None, None, None]
            y_dag = np.conj(np.swapaxes(y, -1, -2))
            zero = ~np.any(vec[idx], axis=1)
            rs = np.concatenate([vec[idx], -vec[idx][~zero]])
            y = np.concatenate([np.where(zero[:, None, None, None], y + y_dag, y), y_dag[~zero]])
        from qgmag.bands.grid_bloch import sorted_by_last

        out = sorted_by_last(rs, y.reshape(rs.shape[0], -1))  # R_l groups contiguous
        object.__setattr__(self, cache, out)
        return out

    def wannier_blocks(self, kpoints: FloatArray, key: str) -> ComplexArray:
        """Σ_R e^{ik·R} X(R) (3, N, n, n) for key "orbital_b", "orbital_b_dagger" (B(k)^†),
        "orbital_c" or "spin", in the basis of :meth:`bloch_blocks` (eigenvalues/U† X U as
        in the atomic gauge); (2, N, n, n) (X_x + i X_y, X_z) for "orbital_c_packed",
        "spin_packed" (:data:`PACKED_KEYS`); (5, N, n, n) for :data:`EXTERNAL_KEY` (a view
        of one (N, 5 n n) buffer: B(k)^† as (N, n, 3, n), then the packed C)."""
        k = as_kpoints(kpoints, self.dim)
        n = self.n_bands
        idx, _ = self._half_r()
        kr = k @ self._r_cart[idx].T
        trig = np.concatenate([np.cos(kr), np.sin(kr)], axis=1)
        full = (trig @ self._extra_stack(key)).view(complex).reshape(k.shape[0], -1, n, n)
        return np.moveaxis(full, 1, 0)

    def summary(self) -> dict[str, object]:
        out = super().summary()
        out.update(
            type="wannier",
            level=self.level,
            spin_source=self.spin_source,
            orbital_formula=self.orbital_formula,
        )
        return out

    def __repr__(self) -> str:
        return (
            f"WannierModel(name={self.name!r}, n_bands={self.n_bands}, n_R={self.n_hoppings}, "
            f"level={self.level!r}, spin={self.spin_source!r})"
        )
