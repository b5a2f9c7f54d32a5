"""R-space Wannier matrices from a Wannier90 run, with Wannier-centre phases and MDRS.

From the checkpoint V(k) and the ab-initio matrix elements this builds, on the ab-initio
Monkhorst–Pack mesh q (Wang, Yates, Souza, Vanderbilt, PRB 74, 195118 (2006); Lopez,
Vanderbilt, Thonhauser, Souza, PRB 85, 014435 (2012)):

* H(q) = V† diag(ε) V,  S_s(q) = V† <ψ|σ_s|ψ> V;
* A_a(q) = i Σ_b w_b b_a  M^W(q, b) e^{i b·τ_n}                   (Å),  → <0m|r|Rn> - τ_m δ
* B_a(q) = i Σ_b w_b b_a  [V† diag(ε_q) M V](q, b) e^{i b·τ_n}     (eV·Å), → <0m|H(r - R)|Rn>
* C_c(q) = i Σ_{b1,b2} w1 w2 (b1_a b2_b - b1_b b2_a) [V† uHu V](q, b1, b2)
  e^{-i b1·τ_m} e^{i b2·τ_n}   ((a, b, c) cyclic, eV·Å²),    → <0m|r × H r|Rn> (antisym.)

with M^W(q, b) = V(q)† M(q, b) V(q + b) and τ the Wannier centres of the checkpoint.
The phases e^{i b·τ} are those of WannierBerri's ``System_w90`` default ("convention I"):
the Bloch sums use e^{ik·(R + τ_n - τ_m)}, which is qgmag's atomic gauge with the
Wannier centres as orbital positions. A Wannier function relabelled by a lattice vector
L (V_n(q) → e^{-iq·L} V_n(q), τ_n → τ_n + L) leaves every one of these k-space
matrices, hence every observable, unchanged; the schemes without the b-phases (the
"centre-free" finite differences of postw90 3.1) do not have this property.

X(R) = (1/N) Σ_q e^{-iq·R} X(q) on the N = N1 N2 N3 grid; each pair (m, n) then takes, for
every grid vector R0, the images R0 + (N1 L1, N2 L2, N3 L3) that minimise |R + τ_n - τ_m|
(the minimal-distance-replica rule of Wannier90 3.x, ``use_ws_distance``), each weighted
1/(number of equidistant images). The union of those R is the model's R list, with the
weights folded into the matrices (every degeneracy 1).
"""

from __future__ import annotations

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io.w90_run import Checkpoint, Overlaps

#: images at equal distance within this (Å) share the weight (WannierBerri ws_dist_tol)
WS_DISTANCE_TOL = 1e-5
_CYC = ((1, 2), (2, 0), (0, 1))


def b_vectors(chk: Checkpoint, mmn: Overlaps) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian b-vectors (nk, nntot, 3) in 1/Å of the ``.mmn`` neighbour list and their
    finite-difference weights w_b (nk, nntot) with Σ_b w_b b_a b_c = δ_ac (one weight per
    shell |b|, solved by least squares; an incomplete set is an error)."""
    recip = 2 * np.pi * np.linalg.inv(chk.lattice).T
    kred = chk.kpt_red
    bred = kred[mmn.neighbours] + mmn.g_vectors - kred[:, None, :]
    bcart = bred @ recip
    lengths = np.linalg.norm(bcart[0], axis=1)
    shells = np.unique(np.round(lengths, 6))
    design = np.zeros((6, shells.size))
    pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]
    for s, length in enumerate(shells):
        sel = np.abs(lengths - length) < 1e-5
        for r, (a, c) in enumerate(pairs):
            design[r, s] = np.sum(bcart[0, sel, a] * bcart[0, sel, c])
    target = np.array([1, 1, 1, 0, 0, 0], dtype=float)
    w_shell, *_ = np.linalg.lstsq(design, target, rcond=None)
    if np.max(np.abs(design @ w_shell - target)) > 1e-5:
        raise WannierFormatError(
            f"{str(chk.path)!r}: the b-vectors of the .mmn file do not satisfy the completeness "
            "relation Σ_b w_b b_a b_c = δ_ac; the .mmn and .chk files do not belong together."
        )
    weights = np.zeros(bcart.shape[:2])
    for k in range(bcart.shape[0]):
        lk = np.linalg.norm(bcart[k], axis=1)
        for s, length in enumerate(shells):
            weights[k, np.abs(lk - length) < 1e-5] = w_shell[s]
        if not np.allclose(np.sort(lk), np.sort(lengths), atol=1e-5):
            raise WannierFormatError(
                f"{str(chk.path)!r}: k-point {k + 1} has a different set of b-vectors in .mmn."
            )
    return bcart, weights


def _grid_index(chk: Checkpoint) -> np.ndarray:
    mp = np.array(chk.mp_grid)
    scaled = chk.kpt_red * mp
    idx = np.round(scaled).astype(int)
    if np.max(np.abs(scaled - idx)) > 1e-5:
        raise WannierFormatError(
            f"{str(chk.path)!r}: the k-points are not a Gamma-centred {tuple(mp)} Monkhorst-Pack "
            "mesh (only Gamma-centred ab-initio meshes are supported)."
        )
    idx %= mp
    if len({tuple(x) for x in idx}) != idx.shape[0]:
        raise WannierFormatError(f"{str(chk.path)!r}: the k-point list has duplicates.")
    return idx


def q_to_grid(chk: Checkpoint, xq: np.ndarray) -> np.ndarray:
    """(nk, ...) on the q list -> X(R0) on the grid (N1, N2, N3, ...), (1/N) Σ e^{-iq·R0}."""
    mp = tuple(chk.mp_grid)
    grid = np.zeros(mp + xq.shape[1:], dtype=complex)
    idx = _grid_index(chk)
    grid[idx[:, 0], idx[:, 1], idx[:, 2]] = xq
    return np.fft.fftn(grid, axes=(0, 1, 2)) / np.prod(mp)


def mdrs_vectors(
    lattice: np.ndarray,
    mp_grid: tuple[int, int, int],
    centres: np.ndarray,
    search: int = 3,
    tolerance: float = WS_DISTANCE_TOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimal-distance replicas: returns (R list (nR, 3), grid index of every R (nR, 3),
    weights (nR, n, n) = 1/degeneracy where R is a minimal image of R0 for pair (m, n),
    else 0). Images within ``tolerance`` (Å) of the minimal distance share the weight."""
    mp = np.array(mp_grid)
    n = centres.shape[0]
    r0 = np.stack(np.meshgrid(*[np.arange(x) for x in mp], indexing="ij"), -1).reshape(-1, 3)
    shifts = (
        np.stack(np.meshgrid(*[np.arange(-search, search + 1)] * 3, indexing="ij"), -1).reshape(
            -1, 3
        )
        * mp
    )
    cand = r0[:, None, :] + shifts[None, :, :]  # (N, S, 3)
    diff = centres[None, :, :] - centres[:, None, :]  # (m, n, 3): τ_n - τ_m
    pos = (cand @ lattice)[:, :, None, None, :] + diff[None, None]  # (N, S, m, n, 3)
    dist = np.linalg.norm(pos, axis=-1)
    dmin = dist.min(axis=1, keepdims=True)
    chosen = dist < dmin + tolerance  # (N, S, m, n)
    ndeg = chosen.sum(axis=1, keepdims=True)
    weight = chosen / ndeg
    used = np.any(chosen, axis=(2, 3))  # (N, S)
    ig, js = np.nonzero(used)
    vectors = cand[ig, js]
    order = np.lexsort(vectors.T[::-1])
    return vectors[order], r0[ig[order]], weight[ig[order], js[order]].reshape(-1, n, n)


def to_r_space(grid: np.ndarray, grid_index: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """X(R) (nR, n, n, ...) = X(R0 of R) × MDRS weight."""
    x = grid[grid_index[:, 0], grid_index[:, 1], grid_index[:, 2]]
    return x * weights.reshape(weights.shape + (1,) * (x.ndim - 3))


def q_matrices(
    chk: Checkpoint,
    eig: np.ndarray,
    mmn: Overlaps | None,
    spn: np.ndarray | None,
    uhu: np.ndarray | None,
    centres: np.ndarray,
) -> dict[str, np.ndarray]:
    """The q-space Wannier-gauge matrices "H" (nk, n, n), "A", "B", "C", "S" (nk, n, n, 3)."""
    v = chk.v_matrix
    vd = np.conj(np.swapaxes(v, 1, 2))
    out: dict[str, np.ndarray] = {}
    h = np.matmul(vd * eig[:, None, :], v)
    out["H"] = 0.5 * (h + np.conj(np.swapaxes(h, 1, 2)))
    if spn is not None:
        s = np.moveaxis(np.matmul(np.matmul(vd[:, None], spn), v[:, None]), 1, -1)
        out["S"] = 0.5 * (s + np.conj(np.swapaxes(s, 1, 2)))
    if mmn is None:
        return out
    bcart, wb = b_vectors(chk, mmn)
    vnb = v[mmn.neighbours]  # (nk, nnb, nbands, n)
    nk, nnb = wb.shape
    n = v.shape[2]
    mv = np.matmul(mmn.data, vnb)  # M V(k+b)
    phase = np.exp(1j * np.einsum("kba,ja->kbj", bcart, centres))  # e^{i b·τ_n}
    fac = 1j * wb[:, :, None] * bcart  # (nk, nnb, 3)

    def b_sum(x: np.ndarray) -> np.ndarray:  # Σ_b x[k, b, i, j] fac[k, b, a] -> (k, i, j, a)
        x = (x * phase[:, :, None, :]).reshape(nk, nnb, n * n)
        return np.matmul(np.swapaxes(x, 1, 2), fac).reshape(nk, n, n, 3)

    out["A"] = b_sum(np.matmul(vd[:, None], mv))
    out["B"] = b_sum(np.matmul((vd * eig[:, None, :])[:, None], mv))
    if uhu is not None:
        vnbd = np.conj(np.swapaxes(vnb, 2, 3))  # (nk, nnb, n, nbands)
        cw = np.matmul(np.matmul(vnbd[:, :, None], uhu), vnb[:, None, :])  # (k, b1, b2, n, n)
        cw = cw * np.conj(phase)[:, :, None, :, None] * phase[:, None, :, None, :]
        wbv = wb[:, :, None] * bcart
        cross = np.stack(
            [
                wbv[:, :, None, a] * wbv[:, None, :, b] - wbv[:, :, None, b] * wbv[:, None, :, a]
                for a, b in _CYC
            ],
            axis=-1,
        ).reshape(nk, nnb * nnb, 3)
        cw = np.swapaxes(cw.reshape(nk, nnb * nnb, n * n), 1, 2)
        out["C"] = 1j * np.matmul(cw, cross).reshape(nk, n, n, 3)
    return out


def hermitian_part(vectors: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(X(R) + X(-R)^†)/2 (the R list must be closed under R -> -R)."""
    index = {tuple(v): r for r, v in enumerate(vectors.tolist())}
    partner = np.array([index[tuple(-x for x in v)] for v in vectors.tolist()])
    return 0.5 * (x + np.conj(np.swapaxes(x[partner], 1, 2)))


SCHEMES = ("wannierberri", "postw90")


def r_space_matrices(
    chk: Checkpoint,
    eig: np.ndarray,
    mmn: Overlaps | None = None,
    spn: np.ndarray | None = None,
    uhu: np.ndarray | None = None,
    centres: np.ndarray | None = None,
    scheme: str = "wannierberri",
) -> dict[str, np.ndarray]:
    """R list "vectors" (nR, 3), "positions" (n, 3) Å of the Bloch sums, and "H", "A", "B",
    "C", "S" on the R list (those the files allow).

    ``scheme="wannierberri"`` (default): b-phases and Bloch-sum positions are the centres
    τ (``centres``, default the checkpoint's Wannier centres); A(R=0) keeps its small
    diagonal (finite-difference centre minus τ). ``scheme="postw90"``: the finite
    differences without centre phases and Bloch sums e^{ik·R} (positions 0, A(R=0)
    diagonal = the centres), as postw90 3.1 does; MDRS uses the Wannier centres in both.
    """
    if scheme not in SCHEMES:
        raise WannierFormatError(f"scheme must be one of {SCHEMES}; got {scheme!r}.")
    tau = chk.centres if centres is None else np.asarray(centres, dtype=float)
    phase_centres = tau if scheme == "wannierberri" else np.zeros_like(tau)
    q = q_matrices(chk, eig, mmn, spn, uhu, phase_centres)
    vectors, gidx, weights = mdrs_vectors(chk.lattice, chk.mp_grid, tau)
    out = {"vectors": vectors, "positions": phase_centres}
    for key, xq in q.items():
        xr = to_r_space(q_to_grid(chk, xq), gidx, weights)
        out[key] = xr if key == "B" else hermitian_part(vectors, xr)
    return out


def rephase(
    vectors: np.ndarray,
    mats: dict[str, np.ndarray],
    old: np.ndarray,
    new: np.ndarray,
) -> dict[str, np.ndarray]:
    """Re-express A, B, C for Bloch-sum positions ``new`` instead of ``old`` (Å, (n, 3)).

    The R-space operators are unchanged; only the convention "Bloch sums with
    e^{ik·(R + p_n - p_m)}" moves from p = old to p = new. With p-convention matrices
    X_p and the centre-free ones X_0 (p = 0):
    A_p = A_0 - p_n δ_mn δ_R0,  B_p = B_0 - p_n H,
    C^c_p = C^c_0 + i[p^b_m B^a - p^a_m B^b + p^a_n B^{b†} - p^b_n B^{a†}
            + (p^a_m p^b_n - p^b_m p^a_n) H]  with B^†(R)_mn = conj(B_nm(-R)).
    H and S do not change. Observables are exactly unchanged (a diagonal unitary
    e^{ik·(p - p')} of the Bloch basis).
    """
    out = dict(mats)
    h = mats["H"]
    zero = int(np.flatnonzero(~np.any(vectors, axis=1))[0])
    index = {tuple(v): r for r, v in enumerate(vectors.tolist())}
    partner = np.array([index[tuple(-x for x in v)] for v in vectors.tolist()])
    n = h.shape[1]
    diag = np.arange(n)

    def to_zero(x: dict[str, np.ndarray], p: np.ndarray) -> dict[str, np.ndarray]:
        y = dict(x)
        if "A" in x:
            y["A"] = x["A"].copy()
            y["A"][zero, diag, diag] += p
        if "B" in x:
            b0 = x["B"] + h[..., None] * p[None, None, :, :]
            y["B"] = b0
            if "C" in x:
                y["C"] = x["C"] - _c_shift(b0, h, p, partner)
        return y

    def from_zero(x: dict[str, np.ndarray], p: np.ndarray) -> dict[str, np.ndarray]:
        y = dict(x)
        if "A" in x:
            y["A"] = x["A"].copy()
            y["A"][zero, diag, diag] -= p
        if "B" in x:
            y["B"] = x["B"] - h[..., None] * p[None, None, :, :]
            if "C" in x:
                y["C"] = x["C"] + _c_shift(x["B"], h, p, partner)
        return y

    return from_zero(to_zero(out, np.asarray(old, float)), np.asarray(new, float))


def _c_shift(b0: np.ndarray, h: np.ndarray, p: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """C_p - C_0 for centre-free B_0 (see :func:`rephase`), (nR, n, n, 3)."""
    bdag = np.conj(np.swapaxes(b0[partner], 1, 2))
    pm = p[None, :, None, :]  # p_m
    pn = p[None, None, :, :]  # p_n
    out = np.empty(b0.shape, dtype=complex)
    for c, (a, b) in enumerate(_CYC):
        out[..., c] = 1j * (
            pm[..., b] * b0[..., a]
            - pm[..., a] * b0[..., b]
            + pn[..., a] * bdag[..., b]
            - pn[..., b] * bdag[..., a]
            + (pm[..., a] * pn[..., b] - pm[..., b] * pn[..., a]) * h
        )
    return out


def curl_connection(
    lattice: np.ndarray, vectors: np.ndarray, connection: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """(∂×A)(R) (nR, n, n, 3), Å²: the R-space matrices whose Bloch sums
    Σ_R e^{ik·(R + p_n - p_m)} X(R) are ∂_a A_b - ∂_b A_a ((a, b, c) cyclic) of
    A(k) = Σ_R e^{ik·(R + p_n - p_m)} A(R), i.e. X^c = i (d_a A_b - d_b A_a) with
    d = R + p_n - p_m (Cartesian, Å). Hermitian like A. Used for the energy shift of C."""
    d = (vectors @ lattice)[:, None, None, :] + positions[None, None, :, :] - positions[
        None, :, None, :
    ]
    out = np.empty(connection.shape, dtype=complex)
    for c, (a, b) in enumerate(_CYC):
        out[..., c] = 1j * (d[..., a] * connection[..., b] - d[..., b] * connection[..., a])
    return out


def shift_energy(
    lattice: np.ndarray, mats: dict[str, np.ndarray], s: float
) -> dict[str, np.ndarray]:
    """The matrices of the same model with every energy + s (eV), exactly:
    H(0) + s·1, B + s·A and C + s·(∂×A)(R) (:func:`curl_connection`), in the convention
    of ``mats["positions"]``. Then B̄ − εĀ, B̄ − ε_n Ā and ε Ω̄ − C̄ are unchanged, so every
    observable at mu + s equals the unshifted one at mu.

    Shifting the ab-initio energies instead gives B + s·A only before A is made Hermitian,
    and C + s·(finite difference of <u_k+b1|u_k+b2>) — a ``.uIu`` that Wannier90 does not
    write and that equals s·(∂×A) only to O(b²): that route would make M^O depend on the
    zero of energy, which the exact shift here does not.
    """
    out = dict(mats)
    zero = int(np.flatnonzero(~np.any(mats["vectors"], axis=1))[0])
    out["H"] = mats["H"].copy()
    out["H"][zero] += s * np.eye(mats["H"].shape[1])
    if "B" in mats:
        out["B"] = mats["B"] + s * mats["A"]
    if "C" in mats:
        out["C"] = mats["C"] + s * curl_connection(
            lattice, mats["vectors"], mats["A"], mats["positions"]
        )
    return out

