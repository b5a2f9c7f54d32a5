"""An exactly point-group-symmetric copy of a tight-binding model, fitted from its own H.

A point operation g (Cartesian rotation R_g, proper or improper, about the origin) maps a
Wannier function |Rj⟩ centred at R + τ_j onto functions at R_g(R + τ_j): with the centres
mapped onto centres modulo lattice vectors, R_g τ_j = τ_m + L_mj,

    g|Rj⟩ = Σ_m D_mj |R_g R + L_mj, m⟩,       g|kj⟩ = Σ_m D_mj |R_g k, m⟩

in the atomic gauge |kj⟩ = Σ_R e^{ik·(R+τ_j)}|Rj⟩, with a k-independent unitary D_g that
is nonzero only between orbitals at mapped centres. g H g⁻¹ = H means

    H(R_g k) D_g = D_g H(k)         (all k),

linear in D_g. :func:`fit_operation` solves it by least squares over random k (the right
singular vector of the stacked map with the smallest singular value, restricted to the
mapped centres and made unitary), as :func:`qgmag.io.time_reversal.fit_time_reversal` does
for Θ = U K. Spin ½: D_g is fixed up to a phase (the double group's sign among them), which
drops out of every conjugation D X D†. The spin operator is an axial vector,
D_g† S_a D_g = det(R_g) Σ_b (R_g)_ab S_b.

:func:`point_group_symmetric_model` averages the model over the group,

    H_G(k) = (1/|G|) Σ_g D_g† H(R_g k) D_g,   S_G,a = (1/|G|) Σ_g det R_g (R_g)_ab D_g S_b D_g†,

in R-space (t_ij(R) of the result is the average of D† t(R_g R + L_mj − L_li) D blocks, so it
is a :class:`~qgmag.models.tight_binding.TightBindingModel` like any other), with the centres
averaged over the group first. An average is a projector only when the D_g form a
projective representation exactly (D_g D_h ∝ D_gh); fitted ones do so only to the model's
breaking, so they are first made exact by the averaging iteration
D_g ← polar(Σ_h c_h D_h† D_hg) (c_h a phase aligning each term with D_g; the defect
squares at each step). With ``time_reversal=True`` the exactly T-symmetric Θ = U K of the
result is fitted, made to commute with every D_g (U = D_g† U D_g* up to a phase) and to
square to −1, and H and S are then made T-even and T-odd: the result is invariant under
the whole grey group G1'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qgmag.symmetry.operations import MagneticOperation, SymmetryError, lattice_candidates

#: D_g counts as unique when the next singular value is this many times the smallest
UNIQUENESS_RATIO = 10.0
#: Å: two Wannier centres closer than this are one site (Kramers partners: ~1e-5 Å apart)
SITE_TOL = 1e-3
#: Å: an operation is a candidate when it maps every site onto a site to this
CENTRE_TOL = 2e-2
#: stop making the representation exact when the defect max‖D_h D_g − c D_hg‖ is below this
REP_TOL = 1e-13
N_FIT_K = 24


@dataclass(frozen=True)
class OperationFit:
    """D_g fitted to H(R_g k) D = D H(k) on random k (see the module docstring).

    ``operation`` g; ``operator`` D_g (n, n) unitary, restricted to the centre map;
    ``residual`` sqrt(Σ_k ‖H(R_g k) D − D H(k)‖²_F / N_k) (eV) of that D;
    ``singular_values`` (smallest, next, largest) of the stacked map on unit-norm D (eV,
    per √N_k); ``spin_residual`` max_a,ij |D† S_a D − det R Σ_b R_ab S_b| (ħ) or None;
    ``off_centre`` the largest |D_mj| of the unrestricted fit between unmapped centres.
    """

    operation: MagneticOperation
    operator: np.ndarray
    residual: float
    singular_values: tuple[float, float, float]
    spin_residual: float | None
    off_centre: float

    @property
    def unique(self) -> bool:
        """The next singular value exceeds :data:`UNIQUENESS_RATIO` times the smallest."""
        smallest, nxt, _ = self.singular_values
        return nxt > UNIQUENESS_RATIO * smallest


# -- sites and the centre map ----------------------------------------------------------------


def _sites(cart: np.ndarray) -> list[np.ndarray]:
    """Orbital indices grouped by centre (within :data:`SITE_TOL` Å), in first-seen order."""
    sites: list[list[int]] = []
    for i, c in enumerate(cart):
        for s in sites:
            if np.linalg.norm(cart[s[0]] - c) < SITE_TOL:
                s.append(i)
                break
        else:
            sites.append([i])
    return [np.array(s) for s in sites]


def _centre_map(
    lattice: np.ndarray, centres: np.ndarray, rotation: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(π (n_sites,), L (n_sites, d) integers) with R c_s = c_π(s) + L_s·lattice, or None.

    ``centres`` (n_sites, d) Cartesian Å; the map must be a permutation to
    :data:`CENTRE_TOL` Å."""
    inv = np.linalg.inv(lattice)
    d = lattice.shape[0]
    image = centres @ rotation[:d, :d].T
    frac_img, frac = image @ inv, centres @ inv
    perm = np.empty(len(centres), dtype=int)
    shift = np.empty((len(centres), d), dtype=int)
    for s, f in enumerate(frac_img):
        diff = f[None, :] - frac  # (n_sites, d)
        lat = np.rint(diff)
        err = np.linalg.norm((diff - lat) @ lattice, axis=1)
        t = int(np.argmin(err))
        if err[t] > CENTRE_TOL:
            return None
        perm[s], shift[s] = t, lat[t].astype(int)
    if len(set(perm.tolist())) != len(perm):
        return None
    return perm, shift


def centre_operations(model: Any) -> list[MagneticOperation]:
    """The lattice's point operations (no θ) that map the model's Wannier centres onto
    centres modulo lattice vectors (to :data:`CENTRE_TOL` Å): the candidates for D_g.
    For GaAs_tb.dat (Ga at the origin) they are the 24 operations of −43m."""
    lattice = np.asarray(model.lattice, dtype=float)
    cart = np.asarray(model.positions) @ lattice
    centres = np.array([cart[s[0]] for s in _sites(cart)])
    return [
        o
        for o in lattice_candidates(lattice)
        if not o.time_reversal and _centre_map(lattice, centres, o.rotation) is not None
    ]


# -- the fit -----------------------------------------------------------------------------------


def _smallest(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values (descending) and the smallest right singular vector of a stacked map
    M from its Gram matrix M†M (eigh of an n² × n² matrix instead of an SVD of the tall M;
    the smallest singular value keeps ~1e-16·s_max²/s_min relative accuracy, ample here)."""
    w, v = np.linalg.eigh(gram)
    return np.sqrt(np.clip(w[::-1], 0.0, None)), v[:, 0]


def _polar(x: np.ndarray) -> np.ndarray:
    w, _, v = np.linalg.svd(x)
    return w @ v


def _block_mask(sites: list[np.ndarray], perm: np.ndarray, n: int) -> np.ndarray:
    """(n, n) bool: D_mj allowed (orbital m at the image of the site of j)."""
    mask = np.zeros((n, n), dtype=bool)
    for s, orbs in enumerate(sites):
        mask[np.ix_(sites[perm[s]], orbs)] = True
    return mask


def _spin_residual(d: np.ndarray, spin: np.ndarray | None, rot: np.ndarray) -> float | None:
    if spin is None:
        return None
    lhs = np.einsum("mi,amn,nj->aij", np.conj(d), spin, d)
    rhs = np.linalg.det(rot) * np.einsum("ab,bij->aij", rot, spin)
    return float(np.max(np.abs(lhs - rhs)))


def fit_operation(
    model: Any,
    op: MagneticOperation,
    *,
    n_k: int = N_FIT_K,
    seed: int = 0,
    centres: np.ndarray | None = None,
) -> OperationFit:
    """Fit D_g for the unitary point operation ``op`` to ``model``'s H(k) (atomic gauge).

    ``centres`` (n, d) Cartesian Å replaces the model's Wannier centres in the atomic-gauge
    phases (the group-averaged centres of :func:`point_group_symmetric_model`). Raises
    :class:`SymmetryError` when ``op`` does not map the centres onto centres, or when D_g
    is not unique (next singular value below :data:`UNIQUENESS_RATIO` times the smallest).
    """
    if op.time_reversal:
        raise SymmetryError(f"{op.label()} is antiunitary: fit Θ with fit_time_reversal.")
    lattice = np.asarray(model.lattice, dtype=float)
    cart = np.asarray(model.positions) @ lattice if centres is None else np.asarray(centres)
    sites = _sites(cart)
    cmap = _centre_map(lattice, np.array([cart[s[0]] for s in sites]), op.rotation)
    if cmap is None:
        raise SymmetryError(
            f"{op.label()} does not map the Wannier centres onto centres (to {CENTRE_TOL} Å): "
            "it is no symmetry of this model's orbitals; use centre_operations(model)."
        )
    model_c = _with_centres(model, cart)
    d = model.dim
    rng = np.random.default_rng(seed)
    k = rng.random((n_k, d)) @ (2 * np.pi * np.linalg.inv(lattice).T)
    hk = model_c.hamiltonian(k)
    hg = model_c.hamiltonian(k @ op.rotation[:d, :d].T)
    n = hk.shape[-1]
    # row-major vec: vec(A D B) = (A ⊗ Bᵀ) vec(D), so the map is M_k = A ⊗ 1 − 1 ⊗ C with
    # A = H(R_g k), C = H(k)ᵀ (both Hermitian) and M_k† M_k = A² ⊗ 1 + 1 ⊗ C² − 2 A ⊗ C
    c = np.swapaxes(hk, 1, 2)
    eye = np.eye(n)
    cross = 2.0 * np.einsum("kij,kab->iajb", hg, c).reshape(n * n, n * n)
    gram = np.kron(np.einsum("kij,kjl->il", hg, hg), eye) + np.kron(
        eye, np.einsum("kij,kjl->il", c, c)
    )
    s, vecs = _smallest((gram - cross) / n_k)
    raw = vecs.reshape(n, n)
    mask = _block_mask(sites, cmap[0], n)
    off = float(np.max(np.abs(raw[~mask]), initial=0.0) / np.max(np.abs(raw)))
    dg = _polar(np.where(mask, raw, 0.0))
    res = np.sqrt(sum(np.linalg.norm(a @ dg - dg @ b) ** 2 for a, b in zip(hg, hk, strict=True)))
    fit = OperationFit(
        op,
        dg,
        float(res / np.sqrt(n_k)),
        (float(s[-1]), float(s[-2]), float(s[0])),
        _spin_residual(dg, model.spin, op.rotation),
        off,
    )
    if not fit.unique:
        raise SymmetryError(
            f"{op.label()}: no unique D_g (smallest singular values {s[-1]:.3g}, {s[-2]:.3g} "
            "eV of H(R_g k) D - D H(k)): the model is far from this symmetry or has extra "
            "unitary symmetries; pass a subgroup of operations that fit uniquely."
        )
    return fit


def _with_centres(model: Any, cart: np.ndarray) -> Any:
    """``model`` with its Wannier centres replaced (same H(R), spin): energies unchanged."""
    from qgmag.models.tight_binding import TightBindingModel

    lattice = np.asarray(model.lattice, dtype=float)
    if np.array_equal(cart, np.asarray(model.positions) @ lattice):
        return model
    return TightBindingModel.from_arrays(
        lattice,
        cart @ np.linalg.inv(lattice),
        model.hopping_vectors,
        model.hopping_matrices,
        model.spin,
        gauge=model.gauge,
        name=model.name,
        parameters=dict(model.parameters),
        hermitian_tolerance=1e-6,
        positions_outside_cell=True,
    )


# -- exact representation ----------------------------------------------------------------


def _compose_table(ops: Sequence[MagneticOperation]) -> np.ndarray:
    """(G, G) index of R_g R_h; raises if the operations are not closed."""
    keys = {o.key: i for i, o in enumerate(ops)}
    table = np.empty((len(ops), len(ops)), dtype=int)
    for g, a in enumerate(ops):
        for h, b in enumerate(ops):
            key = MagneticOperation(np.round(a.rotation @ b.rotation, 12)).key
            if key not in keys:
                raise SymmetryError(
                    f"the operations are not a group ({a.label()} · {b.label()} is missing)."
                )
            table[g, h] = keys[key]
    return table


def _aligned(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """x times the phase that makes tr(ref† x) real and positive."""
    t = np.trace(np.conj(ref.T) @ x)
    return x * (np.conj(t) / abs(t))


def representation_defect(ds: np.ndarray, table: np.ndarray) -> float:
    """max_{g,h} min_c ‖D_g D_h − c D_{gh}‖_max: 0 for a projective representation."""
    worst = 0.0
    for g in range(len(ds)):
        for h in range(len(ds)):
            prod = ds[g] @ ds[h]
            worst = max(worst, float(np.max(np.abs(prod - _aligned(ds[table[g, h]], prod)))))
    return worst


def exact_representation(
    ds: np.ndarray, table: np.ndarray, max_iter: int = 30
) -> tuple[np.ndarray, list[float]]:
    """Nearby unitaries forming a projective representation exactly (to :data:`REP_TOL`):
    D_g ← polar(Σ_h c_h D_h† D_hg), c_h aligning each term with D_g. Returns them and the
    defect before each step. Keeps the centre-block structure (products of blocks)."""
    ds = np.array(ds, dtype=complex)
    history = [representation_defect(ds, table)]
    for _ in range(max_iter):
        if history[-1] < REP_TOL:
            break
        new = np.empty_like(ds)
        for g in range(len(ds)):
            acc = sum(_aligned(np.conj(ds[h].T) @ ds[table[h, g]], ds[g]) for h in range(len(ds)))
            new[g] = _polar(acc)
        ds = new
        history.append(representation_defect(ds, table))
    if history[-1] > 1e3 * REP_TOL:
        raise SymmetryError(
            f"the fitted D_g do not converge to a representation (defect {history[-1]:.2g}): "
            "the model is too far from the group."
        )
    return ds, history


def _commuting_time_reversal(
    u: np.ndarray, ds: np.ndarray, max_iter: int = 30
) -> tuple[np.ndarray, list[float]]:
    """U' near U with U' = D_g† U' D_g* (up to a phase) for every g and U' = −U'ᵀ (unitary,
    Θ² = −1): alternate the phase-aligned group average and the antisymmetrization."""
    history = []
    for _ in range(max_iter):
        defect = max(
            float(np.max(np.abs(_aligned(np.conj(d.T) @ u @ np.conj(d), u) - u))) for d in ds
        )
        defect = max(defect, float(np.max(np.abs(u + u.T))))
        history.append(defect)
        if defect < REP_TOL:
            break
        acc = sum(_aligned(np.conj(d.T) @ u @ np.conj(d), u) for d in ds)
        u = _polar(acc)
        u = _polar(0.5 * (u - u.T))
    if history[-1] > 1e3 * REP_TOL:
        raise SymmetryError(
            f"the fitted Θ does not commute with the point group (defect {history[-1]:.2g})."
        )
    return u, history


# -- the R-space group average -------------------------------------------------------------


def _average_hoppings(
    vectors: np.ndarray,
    hoppings: np.ndarray,
    lattice: np.ndarray,
    sites: list[np.ndarray],
    ops: Sequence[MagneticOperation],
    ds: np.ndarray,
    cmaps: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """(R list, t_G(R)) with t_G(R)_ij = avg_g Σ_lm D*_li D_mj t_lm(R_g R + L_mj − L_li)."""
    d = lattice.shape[0]
    inv = np.linalg.inv(lattice)
    n = hoppings.shape[1]
    out: dict[tuple[int, ...], np.ndarray] = {}
    for op, dg, (perm, shift) in zip(ops, ds, cmaps, strict=True):
        w = lattice @ op.rotation[:d, :d].T @ inv  # fractional rows: R_frac -> (R_g R)_frac
        w_inv = np.rint(np.linalg.inv(w)).astype(int)
        for a, orb_a in enumerate(sites):
            da = dg[np.ix_(sites[perm[a]], orb_a)]
            for b, orb_b in enumerate(sites):
                db = dg[np.ix_(sites[perm[b]], orb_b)]
                blocks = hoppings[:, sites[perm[a]]][:, :, sites[perm[b]]]
                contrib = np.einsum("li,rlm,mj->rij", np.conj(da), blocks, db)
                # R_g R + L_b − L_a = R'  ->  R = W⁻¹ (R' − L_b + L_a) (row vectors)
                targets = (vectors - shift[b] + shift[a]) @ w_inv
                for r, x in zip(targets.tolist(), contrib, strict=True):
                    key = tuple(r)
                    if key not in out:
                        out[key] = np.zeros((n, n), dtype=complex)
                    out[key][np.ix_(orb_a, orb_b)] += x
    keys = sorted(out)
    return np.array(keys, dtype=int).reshape(-1, d), np.array([out[k] for k in keys]) / len(ops)


def _on_union(vec_a, mat_a, vec_b, mat_b):  # noqa: ANN001, ANN202
    """(R list, A(R), B(R)) on the union of two R lists (missing blocks are zero)."""
    keys = sorted({tuple(v) for v in vec_a} | {tuple(v) for v in vec_b})
    where = {k: i for i, k in enumerate(keys)}
    a = np.zeros((len(keys), *mat_a.shape[1:]), dtype=complex)
    b = np.zeros_like(a)
    for v, x in zip(vec_a, mat_a, strict=True):
        a[where[tuple(v)]] += x
    for v, x in zip(vec_b, mat_b, strict=True):
        b[where[tuple(v)]] += x
    return np.array(keys, dtype=int), a, b


@dataclass(frozen=True)
class PointGroupSymmetrization:
    """What :func:`point_group_symmetric_model` did: the fits, the exact operators and the
    removed breaking (also in the result's ``parameters["point_group"]``)."""

    operations: tuple[MagneticOperation, ...]
    fits: tuple[OperationFit, ...]
    operators: np.ndarray  # (G, n, n) exact projective representation D_g
    representation_defect: tuple[float, ...]  # before each step of exact_representation
    time_reversal: np.ndarray | None  # U of Θ = U K, commuting with every D_g
    centres: np.ndarray  # (n, d) Cartesian group-averaged centres, Å


def point_group_symmetric_model(
    model: Any,
    operations: Sequence[MagneticOperation] | None = None,
    *,
    time_reversal: bool = True,
    return_details: bool = False,
) -> Any:
    """An exactly point-group-symmetric copy of a tight-binding ``model`` (module docstring).

    ``model``: a :class:`~qgmag.models.tight_binding.TightBindingModel` with on-site spin
    (e.g. ``read_wannier90(_tb.dat, spin_pairs="time-reversal")``), atomic gauge.
    ``operations``: unitary point operations forming a group (default
    :func:`centre_operations`: every lattice operation that maps the centres onto centres).
    ``time_reversal``: also make the result exactly T-symmetric (grey group G1'), with Θ
    fitted to the spatially averaged model and made to commute with the D_g.

    Returns the model (``parameters["point_group"]``: operations, fit residuals (eV),
    singular values, spin residuals (ħ), centre shift (Å), ``removed_breaking_eV`` =
    max |t − t_sym|, ``band_shift_bound_eV`` = Σ_R ‖t(R) − t_sym(R)‖₂, which bounds the move
    of every band energy at every k (Weyl)), and with ``return_details`` also the
    :class:`PointGroupSymmetrization`. The r(R) matrices of a ``_tb.dat`` file are not
    carried (they enter only ``berry_connection="full"``, which is refused).
    """
    from qgmag.io.time_reversal import TimeReversalFit, pair_operator
    from qgmag.models.tight_binding import TightBindingModel
    from qgmag.models.wannier_model import WannierModel

    if isinstance(model, WannierModel) or not isinstance(model, TightBindingModel):
        raise SymmetryError(
            "point_group_symmetric_model needs a tight-binding model read from a _tb.dat/"
            f"_hr.dat file or built by hand; got {type(model).__name__}."
        )
    if model.gauge != "atomic" or model.berry_connection == "full":
        raise SymmetryError(
            "point_group_symmetric_model needs the atomic gauge and berry_connection="
            "'tight-binding' (r(R) is not symmetrized)."
        )
    lattice = np.asarray(model.lattice, dtype=float)
    d = model.dim
    ops = list(operations) if operations is not None else centre_operations(model)
    if any(o.time_reversal for o in ops):
        raise SymmetryError("pass unitary operations only; time reversal is time_reversal=True.")
    table = _compose_table(ops)
    cart = np.asarray(model.positions) @ lattice
    sites = _sites(cart)
    site_c = np.array([cart[s].mean(axis=0) for s in sites])
    cmaps = []
    for o in ops:
        cm = _centre_map(lattice, site_c, o.rotation)
        if cm is None:
            raise SymmetryError(f"{o.label()} does not map the Wannier centres onto centres.")
        cmaps.append(cm)
    # centres: c_s = avg_g R_g⁻¹ (c_π(s) + L_s), exactly mapped by every g
    avg = np.zeros_like(site_c)
    for o, (perm, shift) in zip(ops, cmaps, strict=True):
        avg += (site_c[perm] + shift @ lattice) @ o.rotation[:d, :d]  # rows: R⁻¹ = Rᵀ
    avg /= len(ops)
    new_cart = np.empty_like(cart)
    for s, orbs in enumerate(sites):
        new_cart[orbs] = avg[s]
    fits = tuple(fit_operation(model, o, centres=new_cart) for o in ops)
    ds, history = exact_representation(np.array([f.operator for f in fits]), table)
    vectors = np.asarray(model.hopping_vectors)
    hoppings = np.asarray(model.hopping_matrices)
    sym_vec, sym_h = _average_hoppings(vectors, hoppings, lattice, sites, ops, ds, cmaps)
    spin = None if model.spin is None else np.asarray(model.spin)
    sym_spin = None
    if spin is not None:
        sym_spin = sum(
            np.linalg.det(o.rotation)
            * np.einsum("ab,mi,bij,nj->amn", o.rotation, dg, spin, np.conj(dg))
            for o, dg in zip(ops, ds, strict=True)
        ) / len(ops)
    u = None
    if time_reversal:
        fit = _fit_theta(sym_h)
        theta = pair_operator(fit)
        u, _ = _commuting_time_reversal(theta.operator, ds)
        exact = TimeReversalFit(u, fit.residual, fit.singular_values, 0.0, None, None, None)
        sym_h = exact.symmetrize(sym_h)
        if sym_spin is not None:
            sym_spin = exact.odd_part(sym_spin)
    sym_h = 0.5 * (sym_h + np.conj(np.swapaxes(sym_h[_minus(sym_vec)], 1, 2)))
    if sym_spin is not None:
        sym_spin = 0.5 * (sym_spin + np.conj(np.swapaxes(sym_spin, 1, 2)))
    _, t_in, t_sym = _on_union(vectors, hoppings, sym_vec, sym_h)
    diff = t_in - t_sym
    record = {
        "operations": [o.label() for o in ops],
        "time_reversal": bool(time_reversal),
        "fit_residual_eV": [f.residual for f in fits],
        "singular_values_eV": [list(f.singular_values) for f in fits],
        "spin_residual": [f.spin_residual for f in fits],
        "off_centre": max(f.off_centre for f in fits),
        "representation_defect": history,
        "centre_shift_angstrom": float(np.max(np.linalg.norm(new_cart - cart, axis=1))),
        "removed_breaking_eV": float(np.max(np.abs(diff))),
        "band_shift_bound_eV": float(sum(np.linalg.norm(x, 2) for x in diff)),
        "spin_change": None if spin is None else float(np.max(np.abs(sym_spin - spin))),
    }
    out = TightBindingModel.from_arrays(
        lattice,
        new_cart @ np.linalg.inv(lattice),
        sym_vec,
        sym_h,
        sym_spin,
        gauge="atomic",
        name=model.name,
        parameters={**model.parameters, "point_group": record},
        hermitian_tolerance=1e-10,
        positions_outside_cell=True,
    )
    if return_details:
        details = PointGroupSymmetrization(tuple(ops), fits, ds, tuple(history), u, new_cart)
        return out, details
    return out


def _fit_theta(hoppings: np.ndarray) -> Any:
    """:func:`qgmag.io.time_reversal.fit_time_reversal` through the Gram matrix (same
    operator and singular values; ~10× faster on 80 R blocks of 16 × 16)."""
    from qgmag.io.time_reversal import (
        UNIQUENESS_RATIO as THETA_RATIO,
    )
    from qgmag.io.time_reversal import (
        TimeReversalError,
        TimeReversalFit,
        _kramers_pairs,
    )

    n = hoppings.shape[1]
    eye = np.eye(n)
    # M_R = H ⊗ 1 − 1 ⊗ H†, M_R† M_R = H†H ⊗ 1 + 1 ⊗ H H† − H† ⊗ H† − H ⊗ H
    h_dag = np.conj(np.swapaxes(hoppings, 1, 2))
    gram = np.kron(np.einsum("rij,rjl->il", h_dag, hoppings), eye) + np.kron(
        eye, np.einsum("rij,rjl->il", hoppings, h_dag)
    )
    gram -= np.einsum("rij,rab->iajb", h_dag, h_dag).reshape(n * n, n * n)
    gram -= np.einsum("rij,rab->iajb", hoppings, hoppings).reshape(n * n, n * n)
    s, vec = _smallest(gram)
    if not s[-2] > THETA_RATIO * s[-1]:
        raise TimeReversalError(
            f"no unique time reversal of the symmetrized model (singular values {s[-1]:.3g}, "
            f"{s[-2]:.3g} eV): a magnetic model; pass time_reversal=False."
        )
    u = _polar(vec.reshape(n, n))
    residual = float(np.sqrt(sum(np.linalg.norm(x @ u - u @ np.conj(x)) ** 2 for x in hoppings)))
    anti = float(np.max(np.abs(u @ np.conj(u) + eye)))
    pairs, phases, off = _kramers_pairs(u)
    if pairs is None:
        raise TimeReversalError(
            "the fitted Θ of the symmetrized model has no Kramers pairs (a spinless model): "
            "pass time_reversal=False."
        )
    return TimeReversalFit(u, residual, (s[-1], s[-2], s[0]), anti, pairs, phases, off)


def _minus(vectors: np.ndarray) -> np.ndarray:
    index = {tuple(v): r for r, v in enumerate(vectors.tolist())}
    return np.array([index[tuple(-x for x in v)] for v in vectors.tolist()])


def breaking_path(model: Any, symmetric: Any, lam: float) -> Any:
    """H_λ = H_sym + λ (H − H_sym): hoppings (on the union of R lists), Wannier centres and
    spin interpolated linearly, so λ = 0 is ``symmetric`` and λ = 1 is ``model`` (same
    energies, same geometry). For the first-order effect of a model's symmetry breaking."""
    from qgmag.models.tight_binding import TightBindingModel

    lattice = np.asarray(model.lattice, dtype=float)
    vec, t_in, t_sym = _on_union(
        np.asarray(model.hopping_vectors),
        np.asarray(model.hopping_matrices),
        np.asarray(symmetric.hopping_vectors),
        np.asarray(symmetric.hopping_matrices),
    )
    pos = np.asarray(symmetric.positions) + lam * (
        np.asarray(model.positions) - np.asarray(symmetric.positions)
    )
    spin = None
    if model.spin is not None and symmetric.spin is not None:
        spin = np.asarray(symmetric.spin) + lam * (np.asarray(model.spin) - symmetric.spin)
    return TightBindingModel.from_arrays(
        lattice,
        pos,
        vec,
        t_sym + lam * (t_in - t_sym),
        spin,
        gauge="atomic",
        name=f"{model.name} (symmetry breaking x {lam:g})",
        parameters={**symmetric.parameters, "breaking_scale": float(lam)},
        hermitian_tolerance=1e-6,
        positions_outside_cell=True,
    )
