"""Built-in tight-binding models (energies in eV, lengths in Å).

Each builder returns an immutable :class:`~qgmag.models.TightBindingModel` whose
docstring states its Hamiltonian. Orbital positions enter the Bloch phases (atomic gauge).
"""

from __future__ import annotations

import numpy as np

from qgmag.errors import ModelError
from qgmag.models.spin import PAULI, SIGMA_X, SIGMA_Y, SIGMA_Z, spin_operators
from qgmag.models.tight_binding import TightBindingModel

#: honeycomb primitive vectors in units of the lattice constant (rows)
_HONEYCOMB = np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])
#: second-neighbour vectors R (in units of a1, a2) forming a counter-clockwise triangle
_HONEYCOMB_NNN = ((1, 0), (-1, 1), (0, -1))
#: the three A -> B nearest-neighbour cells: B sits at tau_B + R
_HONEYCOMB_NN = ((0, 0), (-1, 0), (0, -1))


def haldane(
    t1: float = 1.0,
    t2: float = 0.1,
    phi: float = np.pi / 2,
    mass: float = 0.0,
    a: float = 2.46,
) -> TightBindingModel:
    """Haldane model on the honeycomb lattice.

    H = t1 Σ_<ij> c†_i c_j + t2 Σ_<<ij>> e^{i ν_ij φ} c†_i c_j + mass Σ_i ξ_i c†_i c_i

    Sublattices A at fractional (1/3, 1/3) and B at (2/3, 2/3) of a1 = a(1, 0),
    a2 = a(1/2, √3/2); ν_ij = +1 for second-neighbour hops A->A along a1, a2 - a1, -a2
    and ν_ij = -1 for the same hops on B; ξ = +1 on A, -1 on B. Chern insulator
    (|C| = 1) for |mass| < 3√3 |t2 sin φ|, trivial beyond. Energies in eV, a in Å.
    """
    if a <= 0:
        raise ModelError(f"lattice constant a must be positive (Å); got {a}.")
    hoppings = [(0, 1, r, t1) for r in _HONEYCOMB_NN]
    for r in _HONEYCOMB_NNN:
        hoppings.append((0, 0, r, t2 * np.exp(1j * phi)))
        hoppings.append((1, 1, r, t2 * np.exp(-1j * phi)))
    return TightBindingModel(
        a * _HONEYCOMB,
        [[1 / 3, 1 / 3], [2 / 3, 2 / 3]],
        hoppings,
        onsite=[mass, -mass],
        name="haldane",
        parameters={"t1": t1, "t2": t2, "phi": phi, "mass": mass, "a": a},
    )


# -- helpers ----------------------------------------------------------------------------------


def _check_positive(**values: float) -> None:
    for label, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ModelError(f"{label} must be a positive length in Å; got {value}.")


def _block_hoppings(
    blocks: dict[tuple[int, ...], np.ndarray],
) -> list[tuple[int, int, tuple[int, ...], complex]]:
    """{R: T(R)} -> (i, j, R, t) list; H(k) then contains T(R) e^{ik·R} + h.c.

    Zero entries are skipped. Each bond must appear once: an entry (i, j, R) and its
    conjugate (j, i, -R) must not both be non-zero (TightBindingModel rejects duplicates).
    """
    hoppings = []
    for r_vec, block in blocks.items():
        for i, j in zip(*np.nonzero(np.abs(block) > 0.0), strict=True):
            hoppings.append((int(i), int(j), r_vec, complex(block[i, j])))
    return hoppings


def _cos_sin_block(cos_coeff: np.ndarray, sin_coeff: np.ndarray) -> np.ndarray:
    """T(R) with T e^{ik·R} + h.c. = cos(k·R) C + sin(k·R) S for Hermitian C, S."""
    return 0.5 * np.asarray(cos_coeff, complex) - 0.5j * np.asarray(sin_coeff, complex)


def _rashba_matrix(bond: np.ndarray) -> np.ndarray:
    """(σ × d̂)_z = σ_x d̂_y - σ_y d̂_x for a bond vector d (any length)."""
    d = np.asarray(bond, float) / np.linalg.norm(bond)
    return SIGMA_X * d[1] - SIGMA_Y * d[0]


# -- spinful honeycomb: Kane–Mele ---------------------------------------------------------------


def kane_mele(
    t: float = 1.0,
    lambda_so: float = 0.06,
    lambda_r: float = 0.0,
    exchange: float = 0.0,
    mass: float = 0.0,
    a: float = 2.46,
) -> TightBindingModel:
    """Kane–Mele model of graphene with spin-orbit coupling (optionally magnetized).

    H = t Σ_<ij> c†_i c_j + i λ_so Σ_<<ij>> ν_ij c†_i σ_z c_j
        + i λ_r Σ_<ij> c†_i (σ × d̂_ij)_z c_j + exchange Σ_i c†_i σ_z c_i
        + mass Σ_i ξ_i c†_i c_i

    Geometry as :func:`haldane`: a1 = a(1, 0), a2 = a(1/2, √3/2), sublattice A at fractional
    (1/3, 1/3), B at (2/3, 2/3). σ are the spin Pauli matrices; ν_ij = +1 for the
    second-neighbour hops A -> A along a1, a2 - a1, -a2 (i.e. <A,0|H|A,R> = +i λ_so σ_z for
    R = a1, a2 - a1, -a2) and -1 for the same hops on B, which equals Kane and Mele's
    ν_ij = (2/√3)(d̂_1 × d̂_2)_z; d̂_ij is the unit vector from site j to site i; ξ = +1 on A,
    -1 on B. Each spin sector of the λ_so term is a Haldane term with t2 = λ_so, φ = ±π/2.

    Basis (A↑, A↓, B↑, B↓) ("spin-fastest"), spin S/ħ = σ/2. Time-reversal symmetric when
    ``exchange`` = 0; inversion symmetric when ``lambda_r`` = ``mass`` = 0 (then Kramers
    degenerate at every k, otherwise only at the time-reversal-invariant momenta). Quantum
    spin Hall insulator for |mass| < 3√3 |λ_so| at λ_r = exchange = 0. Energies in eV, a in Å.
    """
    _check_positive(a=a)
    s0 = np.eye(2, dtype=complex)
    tau_a, tau_b = np.array([1 / 3, 1 / 3]), np.array([2 / 3, 2 / 3])
    blocks: dict[tuple[int, ...], np.ndarray] = {}
    for r_vec in _HONEYCOMB_NN:
        # <A,0|H|B,R>: the electron hops from B at tau_B + R to A at tau_A
        bond = (tau_a - tau_b - np.asarray(r_vec)) @ _HONEYCOMB
        block = np.zeros((4, 4), dtype=complex)
        block[0:2, 2:4] = t * s0 + 1j * lambda_r * _rashba_matrix(bond)
        blocks[r_vec] = block
    for r_vec in _HONEYCOMB_NNN:
        block = blocks.setdefault(r_vec, np.zeros((4, 4), dtype=complex))
        block[0:2, 0:2] += 1j * lambda_so * SIGMA_Z
        block[2:4, 2:4] += -1j * lambda_so * SIGMA_Z
    onsite = np.kron(np.diag([mass, -mass]), s0) + np.kron(np.eye(2), exchange * SIGMA_Z)
    return TightBindingModel(
        a * _HONEYCOMB,
        [tau_a, tau_a, tau_b, tau_b],
        _block_hoppings(blocks),
        onsite=onsite,
        spin=spin_operators(2, "spin-fastest"),
        name="kane_mele",
        parameters={
            "t": t,
            "lambda_so": lambda_so,
            "lambda_r": lambda_r,
            "exchange": exchange,
            "mass": mass,
            "a": a,
        },
    )


# -- square-lattice models --------------------------------------------------------------------


def qi_wu_zhang(t: float = 1.0, m: float = 1.0, a: float = 1.0) -> TightBindingModel:
    """Qi–Wu–Zhang two-band Chern insulator on the square lattice.

    H(k) = t sin(k_x a) σ_x + t sin(k_y a) σ_y + (m + t cos(k_x a) + t cos(k_y a)) σ_z

    Both orbitals sit at the origin of the square cell a(1, 0), a(0, 1), so the atomic and
    lattice gauges coincide; σ is an orbital pseudospin (no spin operator). Chern insulator
    for 0 < |m| < 2|t| with lower-band Chern number C = -sign(m) (Ω of SPEC §2), trivial
    (C = 0) for |m| > 2|t|; gapless at m = 0, ±2t. Energies in eV, a in Å.
    """
    _check_positive(a=a)
    blocks = {
        (1, 0): _cos_sin_block(t * SIGMA_Z, t * SIGMA_X),
        (0, 1): _cos_sin_block(t * SIGMA_Z, t * SIGMA_Y),
    }
    return TightBindingModel(
        a * np.eye(2),
        [[0.0, 0.0], [0.0, 0.0]],
        _block_hoppings(blocks),
        onsite=m * SIGMA_Z,
        name="qi_wu_zhang",
        parameters={"t": t, "m": m, "a": a},
    )


def bhz(
    A: float = 1.0,  # noqa: N803 - the customary BHZ parameter names
    B: float = -1.0,  # noqa: N803
    M: float = -1.0,  # noqa: N803
    D: float = 0.0,  # noqa: N803
    bia: float = 0.0,
    a: float = 1.0,
) -> TightBindingModel:
    """Bernevig–Hughes–Zhang (BHZ) quantum-spin-Hall model on the square lattice, 4 bands.

    H(k) = [[h(k), 0], [0, h*(-k)]] + bia τ_y ⊗ s_y,   with
    h(k) = ε(k) + A sin(k_x a) τ_x + A sin(k_y a) τ_y + [M - 2B(2 - cos k_x a - cos k_y a)] τ_z,
    ε(k) = -2D(2 - cos k_x a - cos k_y a).

    τ acts on the orbital (E: τ_z = +1, H: τ_z = -1), s on the Kramers (spin) label; the
    lower block h*(-k) is the time-reversal partner of h(k) under Θ = i s_y K. Basis
    (E↑, E↓, H↑, H↓) ("spin-fastest"), both orbitals at the cell origin; spin S/ħ = s/2 on
    the Kramers label. Time-reversal symmetric for all parameters. With ``bia`` = 0 the
    model is also inversion symmetric (P = τ_z), hence Kramers degenerate at every k; the
    constant ``bia`` term (T-even, P-odd, a bulk-inversion-asymmetry term) lifts that away
    from the time-reversal-invariant momenta. Quantum spin Hall phase for 0 < M/B < 4
    (defaults: M/B = 1), trivial for M/B < 0 or M/B > 4. A in eV, B, M, D, bia in eV, a in Å.
    """
    _check_positive(a=a)
    s0, tz = np.eye(2, dtype=complex), SIGMA_Z
    # h(k) and h*(-k) share the cos terms; the sin terms of τ_x flip and of τ_y are kept
    # (σ_x* = σ_x, σ_y* = -σ_y, sin(-k) = -sin k). Spin-fastest: kron(orbital, spin).
    up, dn = np.diag([1.0, 0.0]).astype(complex), np.diag([0.0, 1.0]).astype(complex)

    def spinful(orb_up: np.ndarray, orb_dn: np.ndarray) -> np.ndarray:
        return np.kron(orb_up, up) + np.kron(orb_dn, dn)

    cos_part = 2 * D * s0 + 2 * B * tz  # coefficient of cos(k_i a) in h(k) and in h*(-k)
    onsite = spinful(-4 * D * s0 + (M - 4 * B) * tz, -4 * D * s0 + (M - 4 * B) * tz)
    onsite = onsite + bia * np.kron(SIGMA_Y, SIGMA_Y)
    blocks = {
        (1, 0): _cos_sin_block(spinful(cos_part, cos_part), spinful(A * SIGMA_X, -A * SIGMA_X)),
        (0, 1): _cos_sin_block(spinful(cos_part, cos_part), spinful(A * SIGMA_Y, A * SIGMA_Y)),
    }
    return TightBindingModel(
        a * np.eye(2),
        [[0.0, 0.0]] * 4,
        _block_hoppings(blocks),
        onsite=onsite,
        spin=spin_operators(2, "spin-fastest"),
        name="bhz",
        parameters={"A": A, "B": B, "M": M, "D": D, "bia": bia, "a": a},
    )


def pt_antiferromagnet(
    t: float = 1.0,
    t2: float = 0.2,
    lambda_r: float = 0.1,
    exchange: float = 0.3,
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0),
    a: float = 3.0,
) -> TightBindingModel:
    """Two-dimensional PT-symmetric collinear antiferromagnet (checkerboard, 4 bands).

    H = t Σ_<AB> c†_i c_j + t2 Σ_<<ij>> c†_i c_j
        + i λ_r Σ_<<ij>> η_i c†_i (σ × d̂_ij)_z c_j + J Σ_i η_i c†_i (n·σ) c_i

    Square cell a(1, 0), a(0, 1) with sublattice A at fractional (0, 0) and B at (1/2, 1/2);
    t couples each site to its four nearest neighbours on the other sublattice (bond length
    a/√2), t2 to its four second neighbours on its own sublattice (bond length a, where the
    local Rashba term acts); η = +1 on A and -1 on B (staggered Rashba λ_r and staggered
    exchange J = ``exchange`` along the unit Néel vector n = ``direction``/|direction|);
    d̂_ij is the unit vector from site j to site i, σ the spin Pauli matrices. Basis
    (A↑, A↓, B↑, B↓) ("spin-fastest"), spin S/ħ = σ/2.

    Symmetry: inversion about the bond centre (1/4, 1/4) exchanges A and B and maps the
    staggered Rashba term onto itself, but reverses the staggered exchange, so P and time
    reversal T are both broken (for J ≠ 0) while PT holds: every band is Kramers
    degenerate at every k, and the total spin response allowed by PT is the T-odd
    (intrinsic) one while each sublattice also has a T-even (τ-linear) staggered one.
    For n ∥ z a C4 rotation about a site is a symmetry, which forbids the in-plane-field
    orbital response α_zx, α_zy of this 2D model; an in-plane or tilted n removes it.
    Energies in eV, a in Å.
    """
    _check_positive(a=a)
    n_vec = np.asarray(direction, dtype=float)
    if n_vec.shape != (3,) or not np.all(np.isfinite(n_vec)) or not np.linalg.norm(n_vec) > 0:
        raise ModelError(
            f"direction must be a non-zero 3-vector (the Néel vector n); got {direction!r}."
        )
    n_vec = n_vec / np.linalg.norm(n_vec)
    s0 = np.eye(2, dtype=complex)
    tau_a, tau_b = np.array([0.0, 0.0]), np.array([0.5, 0.5])
    blocks: dict[tuple[int, ...], np.ndarray] = {}
    for r_vec in ((0, 0), (-1, 0), (0, -1), (-1, -1)):  # B at tau_B + R around A
        block = np.zeros((4, 4), dtype=complex)
        block[0:2, 2:4] = t * s0
        blocks[r_vec] = block
    for r_vec in ((1, 0), (0, 1)):  # second neighbours; -R comes with the conjugate
        bond = -np.asarray(r_vec, float)  # from the site at R to the site at 0
        rashba = 1j * lambda_r * _rashba_matrix(bond)
        block = blocks.setdefault(r_vec, np.zeros((4, 4), dtype=complex))
        block[0:2, 0:2] += t2 * s0 + rashba
        block[2:4, 2:4] += t2 * s0 - rashba
    n_sigma = np.einsum("a,aij->ij", n_vec, PAULI)
    onsite = np.kron(np.diag([exchange, -exchange]), n_sigma)
    return TightBindingModel(
        a * np.eye(2),
        [tau_a, tau_a, tau_b, tau_b],
        _block_hoppings(blocks),
        onsite=onsite,
        spin=spin_operators(2, "spin-fastest"),
        name="pt_antiferromagnet",
        parameters={
            "t": t,
            "t2": t2,
            "lambda_r": lambda_r,
            "exchange": exchange,
            "direction": tuple(float(x) for x in direction),
            "a": a,
        },
    )


# -- three dimensions -------------------------------------------------------------------------


def weyl_lattice(
    t: float = 1.0, m: float = 0.5, tz: float = 1.0, a: float = 1.0
) -> TightBindingModel:
    """Time-reversal-broken two-band Weyl semimetal on the simple cubic lattice.

    H(k) = t sin(k_x a) σ_x + t sin(k_y a) σ_y
           + [m + t (2 - cos k_x a - cos k_y a) - tz cos(k_z a)] σ_z

    Both orbitals at the origin of the cubic cell a·1 (σ is an orbital pseudospin, no spin
    operator). For |m| < |tz| < |m + 2t| (defaults: m = 0.5, tz = 1, t = 1) there is
    exactly one pair of Weyl nodes, at k = (0, 0, ±arccos(m/tz)/a), of opposite chirality;
    the k_z planes between them carry Chern number ±1. Energies in eV, a in Å.
    """
    _check_positive(a=a)
    blocks = {
        (1, 0, 0): _cos_sin_block(-t * SIGMA_Z, t * SIGMA_X),
        (0, 1, 0): _cos_sin_block(-t * SIGMA_Z, t * SIGMA_Y),
        (0, 0, 1): _cos_sin_block(-tz * SIGMA_Z, np.zeros((2, 2))),
    }
    return TightBindingModel(
        a * np.eye(3),
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        _block_hoppings(blocks),
        onsite=(m + 2 * t) * SIGMA_Z,
        name="weyl_lattice",
        parameters={"t": t, "m": m, "tz": tz, "a": a},
    )
