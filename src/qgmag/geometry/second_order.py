"""Band quantities of the second-order (E²) response, operator-generic (E2_NOTES §0, §1).

Every function takes a :class:`~qgmag.bands.engine.BandData` chunk and an operator
matrix O (3, N, n, n) in the eigenbasis — the spin S/ħ (dimensionless), the velocity
matrix ∂H (eV·Å) or the non-Abelian orbital moment m/(e/ħ) (eV·Å²) — and returns per-band
arrays that are gauge covariant: summed over a degenerate set D(n) they are invariant
under unitary rotations of the set. Products of operators at the Fermi surface are traces
over degenerate sets, Tr_D[X Y] and Tr_D[X Y Z] (:func:`set_trace`).

Native units: eV, Å. The energy of band n to second order in a static field E (potential
energy +eE·r of the electron, charge -e) is

    ε_n^(2) = e² Σ_ab E_a E_b g3^{ab}_n,  g3^{ab}_n = Re Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m)³

(Å²/eV), i.e. (e/2) E·G_n·E with the Berry-connection polarizability G_n = 2 e g3_n
(Gao, Yang, Niu, PRL 112, 166601 (2014)); in Å²/V, G_n = 2 g3_n numerically.
"""

from __future__ import annotations

import numpy as np

from qgmag.bands.engine import BandData
from qgmag.geometry import quantities as q
from qgmag.models.base import ComplexArray, FloatArray

_SYM_PAIRS = [(a, b) for a in range(3) for b in range(a, 3)]


def _pairs(dim: int) -> list[tuple[int, int]]:
    return [(a, b) for a, b in _SYM_PAIRS if a < dim and b < dim]


def _diag(x: ComplexArray) -> ComplexArray:
    return np.diagonal(x, axis1=-2, axis2=-1)


def block(x: ComplexArray, bands: BandData) -> ComplexArray:
    """x restricted to degenerate sets, P_D x P_D (the mask broadcasts over leading axes)."""
    return x * bands.degenerate


def set_trace(bands: BandData, *matrices: ComplexArray) -> FloatArray:
    """Per band n: Re (X_D Y_D ...)_nn with X_D = P_D X P_D; summed over a degenerate set
    this is Re Tr_D[X Y ...], gauge invariant. Each matrix is (N, n, n); returns (N, n)."""
    out = block(matrices[0], bands)
    for m in matrices[1:]:
        out = np.matmul(out, block(m, bands))
    return np.real(_diag(out))


def operator_matrix(bands: BandData, kind: str) -> ComplexArray:
    """O (3, N, n, n) in the eigenbasis: "spin" (S/ħ), "velocity" (∂H, eV·Å) or
    "orbital" (non-Abelian m/(e/ħ), eV·Å², :func:`quantities.orbital_moment_matrix_native`)."""
    if kind == "spin":
        return bands.spin_matrix
    if kind == "velocity":
        return bands.velocity_matrix
    if kind == "orbital":
        return q.orbital_moment_matrix_native(bands)
    raise ValueError(f"operator kind must be 'spin', 'velocity' or 'orbital'; got {kind!r}.")


def bcp_matrix(bands: BandData, dim: int | None = None) -> ComplexArray:
    """Non-Abelian BCP over 2e: Y^{ab}_np = Σ_{m∉D(n)} ½(V^a_nm V^b_mp + V^b_nm V^a_mp)
    /(ε_n-ε_m)³ (3, 3, N, n, n), Å²/eV; its diagonal real part is g3^{ab}_n."""
    dim = bands.dim if dim is None else dim
    v = bands.velocity_matrix
    inv3 = bands.inverse_gap**3
    out = np.zeros((3, 3, *v.shape[1:]), dtype=complex)
    for a, b in _pairs(dim):
        y = 0.5 * (np.matmul(v[a] * inv3, v[b]) + np.matmul(v[b] * inv3, v[a]))
        out[a, b] = out[b, a] = y
    return out


def bcp_native(bands: BandData) -> FloatArray:
    """g3^{ab}_n = Re Σ_{m∉D(n)} V^a_nm V^b_mn/(ε_n-ε_m)³ (3, 3, N, n), Å²/eV."""
    v = bands.velocity_matrix
    inv3 = bands.inverse_gap**3
    return np.real(np.einsum("aknm,bkmn,knm->abkn", v, v, inv3, optimize=True))


def berry_connection_polarizability(bands: BandData) -> FloatArray:
    """G^{ab}_n = 2e Re Σ_{m∉D(n)} A^a_nm A^b_mn/(ε_n-ε_m) (3, 3, N, n) in Å²/V."""
    return 2.0 * bcp_native(bands)


def bcp_field_derivative(
    bands: BandData, op: ComplexArray, op_gradient: ComplexArray | None = None
) -> FloatArray:
    """T^{i,ab}_n = ∂g3^{ab}_n/∂λ_i for H -> H + λ_i O_i (3[i], 3[a], 3[b], N, n), Å²/eV/[λ].

    Three-band formula of first-order perturbation theory in λ (derived; E2_NOTES §0):
    with C_ln = O_ln/(ε_n-ε_l) (l ∉ D(n)), ∂V^a = C†V^a + V^a C (+ ∂_a O for a
    k-dependent O, ``op_gradient[a, i]`` in the eigenbasis), and ∂(ε_n-ε_m)^-3 =
    -3 (ε_n-ε_m)^-4 (∂ε_n - ∂ε_m) with ∂ε -> P_D O P_D (non-Abelian in degenerate sets):

        T = Re Σ_{m∉D(n)} [(∂V^a)_nm V^b_mn + V^a_nm (∂V^b)_mn]/Δ³
            - 3 Re Σ_{m∉D(n)} [(O_D V^a)_nm V^b_mn - V^a_nm (O_D V^b)_mn]/Δ⁴   (sym. a↔b)

    With O = S (H + λS, λ in eV) the E² spin of the filled bands is
    δ<S_i> = e² E_a E_b Σ_occ ∫ T^{i,ab} (Hellmann–Feynman: <O> = ∂Ω/∂λ). With O = ∂_c H
    and ``op_gradient`` = W (∂_a∂_c H), T^{c,ab}_n = ∂_c g3^{ab}_n (the k-derivative).
    """
    dim = bands.dim
    v = bands.velocity_matrix
    inv = bands.inverse_gap
    inv3, inv4 = inv**3, inv**4
    coef = op * np.swapaxes(inv, -1, -2)  # C_ln = O_ln/(ε_n - ε_l)
    coef_h = np.conj(np.swapaxes(coef, -1, -2))
    op_d = block(op, bands)
    out = np.zeros((3, 3, 3, *bands.energy.shape))
    for i in range(op.shape[0]):
        dv = {}
        for a in range(dim):
            dv[a] = np.matmul(coef_h[i], v[a]) + np.matmul(v[a], coef[i])
            if op_gradient is not None:
                dv[a] = dv[a] + op_gradient[a, i]
        ov = {a: np.matmul(op_d[i], v[a]) for a in range(dim)}
        for a, b in _pairs(dim):
            t = 0.0
            for x, y in ((a, b), (b, a)):
                t = t + _diag(np.matmul(dv[x] * inv3, v[y]) + np.matmul(v[x] * inv3, dv[y]))
                t = t - 3.0 * _diag(np.matmul(ov[x] * inv4, v[y]) - np.matmul(v[x] * inv4, ov[y]))
            out[i, a, b] = out[i, b, a] = 0.5 * np.real(t)
    return out


def bcp_operator_trace(bands: BandData, op: ComplexArray) -> FloatArray:
    """Tr_D[O_i Y^{ab}] per band (3[i], 3[a], 3[b], N, n): the Fermi-surface product
    <O_i>_n g3^{ab}_n made gauge covariant (Y from :func:`bcp_matrix`)."""
    y = bcp_matrix(bands)
    out = np.zeros((3, 3, 3, *bands.energy.shape))
    for i in range(op.shape[0]):
        for a, b in _pairs(bands.dim):
            out[i, a, b] = out[i, b, a] = set_trace(bands, op[i], y[a, b])
    return out


def inverse_mass_matrix(bands: BandData) -> ComplexArray:
    """Non-Abelian ∂_a∂_b ε: M^{ab}_np = W^{ab}_np + Σ_{m∉D} (V^a_nm V^b_mp + V^b_nm V^a_mp)
    /(ε_n-ε_m) (3, 3, N, n, n), eV·Å²; the diagonal of a non-degenerate band is ∂a∂b ε_n.
    Needs BandData with ``need_second_derivatives=True``."""
    v = bands.velocity_matrix
    w = bands.second_derivative_matrix
    inv = bands.inverse_gap
    out = np.zeros_like(w)
    for a, b in _pairs(bands.dim):
        m = w[a, b] + np.matmul(v[a] * inv, v[b]) + np.matmul(v[b] * inv, v[a])
        out[a, b] = out[b, a] = m
    return out


def drude_traces(bands: BandData, op: ComplexArray) -> tuple[FloatArray, FloatArray]:
    """(Tr_D[O_i V^a V^b], Tr_D[O_i M^{ab}]) per band, each (3, 3, 3, N, n), symmetrized in
    (a, b): the weights of f0'' and f0' in Σ_n O_n ∂_a∂_b f0(ε_n) (τ² Drude term)."""
    v = bands.velocity_matrix
    mass = inverse_mass_matrix(bands)
    vv = np.zeros((3, 3, 3, *bands.energy.shape))
    om = np.zeros_like(vv)
    for i in range(op.shape[0]):
        for a, b in _pairs(bands.dim):
            x = 0.5 * (set_trace(bands, op[i], v[a], v[b]) + set_trace(bands, op[i], v[b], v[a]))
            vv[i, a, b] = vv[i, b, a] = x
            om[i, a, b] = om[i, b, a] = set_trace(bands, op[i], mass[a, b])
    return vv, om


def field_induced_response(bands: BandData, op: ComplexArray) -> FloatArray:
    """First-order field-induced <O_i>_n per field over e: α^{ic}_n/e = -2 Im Σ_{m∉D(n)}
    O^i_nm V^c_mn/(ε_n-ε_m)² (3, 3, N, n), [O]·Å/eV... (spin: Φ of Eq. 7; velocity: Ω^{ic})."""
    inv2 = bands.inverse_gap**2
    return -2.0 * np.imag(
        np.einsum("iknm,ckmn,knm->ickn", op, bands.velocity_matrix, inv2, optimize=True)
    )


def dipole_weight(bands: BandData, alpha: FloatArray) -> FloatArray:
    """½(v^b_n α^{ic}_n + v^c_n α^{ib}_n) (3[i], 3[b], 3[c], N, n): the weight of f0' in the
    τ¹ term Σ_n f1_n α_n E (f1 = eτ (E·v) f0')."""
    vel = bands.band_velocity
    x = np.einsum("bkn,ickn->ibckn", vel, alpha)
    return 0.5 * (x + np.swapaxes(x, 1, 2))


def field_induced_matrix(bands: BandData, op: ComplexArray) -> ComplexArray:
    """Set matrix of the first-order field-induced O_i per field over e (3[i], 3[c], N, n, n):
    α^{ic}_np = i Σ_{m∉D} (O^i_nm V^c_mp/(ε_n-ε_m)² − V^c_nm O^i_mp/(ε_p-ε_m)²), Hermitian,
    with diagonal :func:`field_induced_response`; its blocks on degenerate sets transform
    covariantly (needs all bands as rows)."""
    bands._require_square("the field-induced operator matrix")
    inv2 = bands.inverse_gap**2
    v = bands.velocity_matrix
    out = np.empty((op.shape[0], 3, *v.shape[1:]), dtype=complex)
    for i in range(op.shape[0]):
        for c in range(bands.dim):
            x = np.matmul(op[i] * inv2, v[c])
            out[i, c] = 1j * (x - np.conj(np.swapaxes(x, -1, -2)))
        out[i, bands.dim :] = 0.0
    return out


def dipole_weight_covariant(bands: BandData, op: ComplexArray) -> FloatArray:
    """½ Re (V^b_D α^{ic}_D + V^c_D α^{ib}_D)_nn (3, 3, 3, N, n): the τ¹ weight of f0' as a
    trace over degenerate sets, Tr_D[δρ α] with the Boltzmann δρ_D ∝ f0′ V_D. Equal to
    :func:`dipole_weight` of :func:`field_induced_response` for non-degenerate bands;
    unlike that per-band product v_n α_n it is gauge invariant and a tensor inside
    degenerate sets (the spin and current τ¹ weights; docs/real_materials.md §6.4)."""
    return dipole_weight_of_matrix(bands, field_induced_matrix(bands, op))


def dipole_weight_of_matrix(bands: BandData, alpha: ComplexArray) -> FloatArray:
    """½ Re (V^b_D α^{ic}_D + V^c_D α^{ib}_D)_nn (3, 3, 3, N, n) for a set matrix α
    (3[i], 3[c], N, n, n) whose blocks on degenerate sets transform covariantly (such as
    :func:`field_induced_matrix`, or F's :func:`~qgmag.geometry.magnetoelectric.
    magnetoelectric_set_blocks`); summed over a set, gauge invariant."""
    v = bands.velocity_matrix
    out = np.zeros((alpha.shape[0], 3, 3, *bands.energy.shape))
    for i in range(alpha.shape[0]):
        for b in range(bands.dim):
            for c in range(bands.dim):
                x = 0.5 * set_trace(bands, v[b], alpha[i, c])
                out[i, b, c] += x
                out[i, c, b] += x
    return out


def berry_curvature_matrix(bands: BandData) -> ComplexArray:
    """Non-Abelian Berry curvature (vector form) Ω^c_np = i Σ_{m∉D}(A^a_nm A^b_mp -
    A^b_nm A^a_mp), (a, b, c) cyclic (3, N, n, n), Å²; diagonal = Ω^c_n of Eq. (4)."""
    v = bands.velocity_matrix
    # A^a_nm = -i V^a_nm/(ε_n - ε_m): A^a_nm A^b_mp = -x^a_nm x^b_mp with x = V/(ε_n - ε_m)
    x = v * bands.inverse_gap[None]
    out = np.empty_like(v)
    for c, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
        out[c] = -1j * (np.matmul(x[a], x[b]) - np.matmul(x[b], x[a]))
    return out
