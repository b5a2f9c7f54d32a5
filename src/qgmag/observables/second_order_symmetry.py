"""Allowed forms of the E² kinetic magnetization tensors χ_ijk (Neumann's principle).

Self-contained (Cartesian point operations given explicitly) so that it can later be
replaced by the generic magnetic-symmetry projector of :mod:`qgmag.symmetry`. χ with
δM_i = χ_ijk E_j E_k is an axial rank-3 tensor symmetric in (j, k); under a magnetic point
operation (R, θ) (θ = True: combined with time reversal, a "primed" operation)

    χ_ijk = η^t det(R) R_ia R_jb R_kc χ_abc,   η = -1 if θ else +1,

with t = 1 for the T-odd parts (τ⁰ intrinsic and τ² Drude) and t = 0 for the T-even
part (τ¹, the dipole of the anomalous spin polarizability). :func:`project` is the group
average (the orthogonal projector onto the allowed subspace), :func:`allowed_basis` its
orthonormal basis. Tables (SYMMETRY_NOTES.md, checked there with spintensor/symmetr):

| group | T-odd (τ⁰, τ²) | T-even (τ¹) |
|---|---|---|
| 4/mm'm' (bcc Fe, M ∥ z) | xxz = xzx = yyz = yzy; zxx = zyy; zzz | xyz = xzy = -yxz = -yzx |
| -43m1' (GaAs, grey) | 0 | 0 |
| 321 1' (Te, grey) | 0 | xxx = -xyy = -yxy = -yyx; xyz = xzy = -yxz = -yzx |
"""

from __future__ import annotations

import itertools

import numpy as np

Operation = tuple[np.ndarray, bool]  # (3x3 Cartesian rotation, primed)


def _signed_permutations() -> list[np.ndarray]:
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            r = np.zeros((3, 3))
            r[np.arange(3), perm] = signs
            out.append(r)
    return out


def fe_4mmm_mz() -> list[Operation]:
    """4/mm'm' (bcc Fe with M ∥ z): D4h, primed where the operation reverses M_z."""
    ops = []
    for r in _signed_permutations():
        if abs(r[2, 2]) != 1.0:  # keep z along z: the 16 operations of 4/mmm
            continue
        keeps_m = np.linalg.det(r) * r[2, 2] > 0  # axial M_z -> det(R) R_zz M_z
        ops.append((r, not keeps_m))
    return ops


def td_grey() -> list[Operation]:
    """-43m1' (zinc blende, non-magnetic): the 24 operations of Td, each also with T."""
    td = [r for r in _signed_permutations() if np.prod(r[r != 0]) > 0]
    return [(r, False) for r in td] + [(r, True) for r in td]


def d3_grey() -> list[Operation]:
    """321 1' (trigonal Te, P3₁21, non-magnetic): D3 with C3 ∥ z and a C2 ∥ x, each also with T."""
    c3 = np.array([[-0.5, -np.sqrt(3) / 2, 0], [np.sqrt(3) / 2, -0.5, 0], [0, 0, 1]])
    c2x = np.diag([1.0, -1.0, -1.0])
    rots = [np.linalg.matrix_power(c3, n) @ m for n in range(3) for m in (np.eye(3), c2x)]
    return [(r, False) for r in rots] + [(r, True) for r in rots]


def _transform(chi: np.ndarray, r: np.ndarray, primed: bool, t_odd: bool) -> np.ndarray:
    sign = np.linalg.det(r) * (-1.0 if (primed and t_odd) else 1.0)
    return sign * np.einsum("ia,jb,kc,abc->ijk", r, r, r, chi)


def project(chi: np.ndarray, operations: list[Operation], t_odd: bool) -> np.ndarray:
    """The part of χ (3, 3, 3) allowed by the group: (1/|G|) Σ_g g·χ, (j, k)-symmetrized."""
    chi = 0.5 * (chi + np.swapaxes(chi, 1, 2))
    return sum(_transform(chi, r, p, t_odd) for r, p in operations) / len(operations)


def allowed_basis(operations: list[Operation], t_odd: bool) -> np.ndarray:
    """Orthonormal basis (n_free, 3, 3, 3) of the allowed tensors."""
    units = np.eye(27).reshape(27, 3, 3, 3)
    proj = np.array([project(u, operations, t_odd).ravel() for u in units])
    u, s, _ = np.linalg.svd(proj)
    return u[:, s > 1e-10].T.reshape(-1, 3, 3, 3)


def symmetry_breaking(chi: np.ndarray, operations: list[Operation], t_odd: bool) -> float:
    """|χ - P χ| / |χ| (Frobenius): how far a computed χ is from the allowed form."""
    norm = float(np.linalg.norm(chi))
    if norm == 0:
        return 0.0
    return float(np.linalg.norm(chi - project(chi, operations, t_odd)) / norm)


def time_reversed(model: object) -> object:
    """The time-reversed tight-binding model Θ H(R)* Θ† with Θ = 2i S_y K (= iσ_y K on each
    spinor pair, S_y of the model's spin matrices, which must be purely imaginary as for
    the standard S = σ/2); same lattice, positions and spin.

    For a magnet, T-odd parts of χ change sign exactly and T-even parts are unchanged;
    for a non-magnetic model, ``max |H_T(R) - H(R)|`` measures its own T breaking.
    """
    from qgmag.models.tight_binding import TightBindingModel

    theta = np.real(2j * np.asarray(model.spin)[1])  # type: ignore[attr-defined]
    mats = np.einsum("ij,rjk,lk->ril", theta, np.conj(model.hopping_matrices), theta)  # type: ignore[attr-defined]
    return TightBindingModel.from_arrays(
        model.lattice,  # type: ignore[attr-defined]
        model.positions,  # type: ignore[attr-defined]
        model.hopping_vectors,  # type: ignore[attr-defined]
        mats,
        spin=model.spin,  # type: ignore[attr-defined]
        gauge=model.gauge,  # type: ignore[attr-defined]
        positions_outside_cell=True,
    )
