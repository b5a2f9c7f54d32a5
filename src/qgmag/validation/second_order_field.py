"""Independent checks of the E² (second-order) kinetic magnetization (next to finite_field).

None of these uses the τ⁰/τ¹/τ² formulas of :mod:`qgmag.geometry.second_order`:

- :func:`ribbon_spin_response`: exact diagonalization of a ribbon (open along one lattice
  direction, Bloch-periodic along the other) with the potential +eE·r of the electron
  (charge -e) for a field E perpendicular to the ribbon axis; the spin per cell in the
  middle of the ribbon, second central difference in E (with Richardson extrapolation).
  Three ribbon orientations give χ_ixx, χ_iyy and χ_ixy of a 2D insulator.
- :func:`zeeman_spin_response`: the Hellmann–Feynman (Maxwell) route of E2_NOTES §0:
  δ<S_i>/E_jE_k = e² ∂/∂λ Σ_occ ∫[dk] g3^{jk}_n of H + λ S_i, by a central difference in
  λ of the (standard, linear-response) filled-band polarizability.
- :func:`boltzmann_second_order`: the τ² Boltzmann response Σ_n O_n f2_n with
  f2 = (eτ/ħ)² (E·∂_k)² f0(ε_n(k)) from finite differences of f0 on shifted meshes.
- :func:`centrosymmetric_magnet`: a 4-band centrosymmetric (P = τ_z) ferromagnetic 2D
  insulator with spin–orbit coupling that does not conserve any spin component, where
  every linear kinetic response vanishes and χ is T-odd.

Units: energies eV, lengths Å; eE (the field times the elementary charge) in eV/Å.
Results in "native" units (spin in ħ per cell per (eV/Å)², or integrals over [dk]);
convert with :func:`spin_per_cell_to_si`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qgmag import constants as c
from qgmag.bands.engine import BandData
from qgmag.errors import QgmagError
from qgmag.geometry.second_order import bcp_native
from qgmag.kspace.mesh import make_mesh
from qgmag.models.spin import spin_operators
from qgmag.models.tight_binding import TightBindingModel
from qgmag.occupation import occupation_kernel

__all__ = [
    "boltzmann_second_order",
    "centrosymmetric_magnet",
    "ribbon_spin_response",
    "spin_per_cell_to_si",
    "spin_response_tensor",
    "zeeman_spin_response",
]

_PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def centrosymmetric_magnet(
    A: float = 1.0,  # noqa: N803
    A2: float = 0.6,  # noqa: N803
    B: float = -1.0,  # noqa: N803
    M: float = 1.0,  # noqa: N803
    exchange: Sequence[float] = (0.25, 0.15, 0.35),
    exchange_h: float = 0.5,
    a: float = 1.0,
) -> TightBindingModel:
    """Centrosymmetric ferromagnetic insulator on the square lattice (4 bands, 2D).

    H(k) = [M - 2B(2 - cos k_x a - cos k_y a)] τ_z + A (sin k_x a τ_x s_z + sin k_y a τ_y)
           + A2 (sin k_x a τ_x s_x + sin k_y a τ_x s_y) + (1 + exchange_h (1 - τ_z)/2) J·s

    τ: orbital (even E and odd H orbitals at the cell origin), s: spin Pauli matrices,
    J = ``exchange`` (eV). Inversion P = τ_z is a symmetry; J breaks time reversal; the A2
    term mixes all spin components (no conserved spin). Basis kron(orbital, spin)
    ("spin-fastest"), S/ħ = s/2. With the defaults: trivial insulator, gap -0.32 ... 0.55 eV at
    half filling (2 of 4 bands). Energies in eV, a in Å.
    """
    s0, tz = np.eye(2, dtype=complex), _PAULI[2]
    jv = np.asarray(exchange, dtype=float)
    if jv.shape != (3,) or not np.all(np.isfinite(jv)):
        raise QgmagError(f"exchange must be a 3-vector in eV; got {exchange!r}.")
    js = np.einsum("a,aij->ij", jv, _PAULI)
    onsite = (M - 4 * B) * np.kron(tz, s0) + np.kron(s0, js)
    onsite = onsite + exchange_h * np.kron(np.diag([0.0, 1.0]), js)
    kx, ky = np.kron, np.kron
    sin_x = A * kx(_PAULI[0], _PAULI[2]) + A2 * kx(_PAULI[0], _PAULI[0])
    sin_y = A * ky(_PAULI[1], s0) + A2 * ky(_PAULI[0], _PAULI[1])
    cos_part = 2 * B * np.kron(tz, s0)
    hoppings = []
    for r_vec, sin_part in (((1, 0), sin_x), ((0, 1), sin_y)):
        t = cos_part / 2 + sin_part / 2j  # t(R) e^{ik·R} + h.c. = cos·C + sin·S
        for i, j in zip(*np.nonzero(np.abs(t) > 0), strict=True):
            hoppings.append((int(i), int(j), r_vec, complex(t[i, j])))
    return TightBindingModel(
        a * np.eye(2),
        [[0.0, 0.0]] * 4,
        hoppings,
        onsite=onsite,
        spin=spin_operators(2, "spin-fastest"),
        name="centrosymmetric_magnet",
        parameters={"A": A, "A2": A2, "B": B, "M": M, "exchange": tuple(jv), "a": a},
    )


def _ribbon_blocks(
    model: TightBindingModel, periodic: Sequence[int]
) -> tuple[np.ndarray, dict[int, list[tuple[int, np.ndarray]]], np.ndarray]:
    """New lattice (b1 open, b2 = ``periodic``) and hoppings grouped by layer offset."""
    b2 = np.asarray(periodic, dtype=int)
    if b2.shape != (2,) or np.gcd(b2[0], b2[1]) != 1:
        raise QgmagError(f"periodic must be a primitive integer 2-vector; got {periodic!r}.")
    # b1 completes b2 to a unimodular basis: det [[b1], [b2]] = 1
    g, x, y = _extended_gcd(int(b2[1]), int(-b2[0]))
    b1 = np.array([x, y]) * g  # b1_0 b2_1 - b1_1 b2_0 = 1
    basis = np.array([b1, b2])  # rows, in units of the old lattice vectors
    inv = np.linalg.inv(basis.T.astype(float))
    groups: dict[int, list[tuple[int, np.ndarray]]] = {}
    for r_vec, t in zip(model.hopping_vectors, model.hopping_matrices, strict=True):
        n1, n2 = np.rint(inv @ r_vec).astype(int)
        groups.setdefault(int(n1), []).append((int(n2), t))
    return basis @ model.lattice, groups, b1


def _extended_gcd(a: int, b: int) -> tuple[int, int, int]:
    """(g, x, y) with a x + b y = g = ±1 normalized to g = 1 (inputs coprime)."""
    old_r, r, old_s, s, old_t, t = a, b, 1, 0, 0, 1
    while r:
        quotient = old_r // r
        old_r, r = r, old_r - quotient * r
        old_s, s = s, old_s - quotient * s
        old_t, t = t, old_t - quotient * t
    return (1, old_s, old_t) if old_r == 1 else (1, -old_s, -old_t)


def ribbon_spin_response(
    model: TightBindingModel,
    periodic: Sequence[int] = (0, 1),
    *,
    n_layers: int = 64,
    n_k: int = 48,
    n_occupied: int | None = None,
    field: float = 2e-3,
    window: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact E² spin of an insulator in a ribbon: (ê, d²<S/ħ>/d(eE)² / 2) per cell.

    The ribbon is open along b1 and periodic along b2 = ``periodic`` (integer
    coordinates of the model's lattice vectors); E = E ê with ê ⊥ b2 in the plane. The
    Hamiltonian of each Bloch momentum along b2 holds ``n_layers`` cells of the model,
    the potential +eE ê·r on every orbital (zero at the ribbon centre), and the lowest
    ``n_occupied`` × n_layers states are filled (default: half the bands). Returns ê and
    the 3-vector χ̃_i = ½ ∂²<S_i/ħ>/∂(eE)² (ħ per cell per (eV/Å)²) averaged over the
    ``window`` central cells on each side and over b2-momenta, from second differences at
    eE = ±``field``, ±2``field`` (eV/Å) with Richardson extrapolation.
    """
    if model.dim != 2 or model.spin is None:
        raise QgmagError("ribbon_spin_response needs a 2D tight-binding model with spin.")
    lattice, groups, _ = _ribbon_blocks(model, periodic)
    b1, b2 = lattice
    e_hat = np.array([b2[1], -b2[0]]) / np.linalg.norm(b2)
    n = model.n_bands
    n_occ = n // 2 if n_occupied is None else int(n_occupied)
    tau = model.positions @ model.lattice  # Cartesian orbital positions in the cell
    layers = np.arange(n_layers)
    pos = (layers[:, None] - (n_layers - 1) / 2) * (e_hat @ b1) + (tau @ e_hat)[None, :]
    potential = pos.ravel()  # ê·r of each ribbon orbital (Å), centre at 0
    centre = np.abs(layers - (n_layers - 1) / 2) < window
    rows = np.concatenate([np.arange(l0 * n, (l0 + 1) * n) for l0 in layers[centre]])
    spin = np.asarray(model.spin)
    k2 = 2 * np.pi * (np.arange(n_k) + 0.5) / n_k
    dim_r = n_layers * n
    h0 = np.zeros((n_k, dim_r, dim_r), dtype=complex)
    for d, items in groups.items():
        block = sum(t[None] * np.exp(1j * k2 * n2)[:, None, None] for n2, t in items)
        for l0 in range(max(0, -d), min(n_layers, n_layers - d)):
            h0[:, l0 * n : (l0 + 1) * n, (l0 + d) * n : (l0 + d + 1) * n] += block
    n_fill = n_occ * n_layers
    values = {}
    for eps in (0.0, field, -field, 2 * field, -2 * field):
        h = h0.copy()
        h[:, np.arange(dim_r), np.arange(dim_r)] += eps * potential
        w, u = np.linalg.eigh(h)
        if np.min(w[:, n_fill] - w[:, n_fill - 1]) < 1e-3:
            raise QgmagError(
                "the ribbon has no gap at the chosen filling (edge states or a metal): "
                "ribbon_spin_response is for insulators with gapped edges."
            )
        uo = u[:, rows, :n_fill]
        rho = np.matmul(uo, np.conj(np.swapaxes(uo, -1, -2)))  # central cells
        cells = len(rows) // n
        diag = np.einsum("klilj->ij", rho.reshape(n_k, cells, n, cells, n))
        values[eps] = np.real(np.einsum("ij,aji->a", diag, spin)) / n_k / centre.sum()
    d1 = (values[field] + values[-field] - 2 * values[0.0]) / field**2
    d2 = (values[2 * field] + values[-2 * field] - 2 * values[0.0]) / (2 * field) ** 2
    return e_hat, 0.5 * (4 * d1 - d2) / 3


def spin_response_tensor(model: TightBindingModel, **kwargs: object) -> np.ndarray:
    """χ̃_ijk (3, 2, 2), ħ per cell per (eV/Å)², from ribbons along b2 = (0,1), (1,0), (1,-1)."""
    out = {}
    for periodic in ((0, 1), (1, 0), (1, -1)):
        e_hat, chi = ribbon_spin_response(model, periodic, **kwargs)  # type: ignore[arg-type]
        out[periodic] = (e_hat, chi)
    # ê^T χ_i ê for three directions -> the symmetric 2x2 χ_i
    mat = np.array([[e[0] ** 2, 2 * e[0] * e[1], e[1] ** 2] for e, _ in out.values()])
    rhs = np.array([chi for _, chi in out.values()])  # (3 directions, 3 spin comps)
    xx, xy, yy = np.linalg.solve(mat, rhs)
    return np.stack([np.stack([xx, xy], -1), np.stack([xy, yy], -1)], -1)


def spin_per_cell_to_si(chi: np.ndarray, cell_area: float, g_s: float = 2.0) -> np.ndarray:
    """ħ per cell per (eV/Å)² -> χ of δM^S = -g_s μ_B <S/ħ> per area, A·m²/V² (2D)."""
    # (eE in eV/Å)² = (E in V/Å)² e²/e² -> per (V/m)²: × Å²; per area: / (cell_area Å²)
    return -g_s * c.BOHR_MAGNETON * chi * c.ANGSTROM**2 / (cell_area * c.ANGSTROM**2)


def _with_zeeman(model: TightBindingModel, lam: float, i: int) -> TightBindingModel:
    zero = np.all(model.hopping_vectors == 0, axis=1)
    mats = np.array(model.hopping_matrices)
    mats[zero] = mats[zero] + lam * np.asarray(model.spin)[i]
    return TightBindingModel.from_arrays(
        model.lattice,
        model.positions,
        model.hopping_vectors,
        mats,
        spin=model.spin,
        gauge=model.gauge,
    )


def zeeman_spin_response(
    model: TightBindingModel,
    kmesh: Sequence[int],
    n_occupied: int,
    step: float = 1e-4,
) -> np.ndarray:
    """χ̃_ijk = e² ∂_λ Σ_{n<n_occupied} ∫[dk]-average g3^{jk}_n for H + λ S_i/ħ (3, d, d).

    Per cell: ħ per cell per (eV/Å)², the mesh average of the filled-band
    Berry-connection polarizability (over 2e) differentiated by a central difference of
    ``step`` eV in the Zeeman term. For insulators (bands n_occupied-1, n_occupied gapped).
    """
    dim = model.dim
    mesh = make_mesh(model, kmesh, False)
    k, w = mesh.chunk(0, mesh.n_points)
    out = np.zeros((3, dim, dim))
    for i in range(3):
        vals = []
        for lam in (step, -step):
            g3 = bcp_native(BandData(_with_zeeman(model, lam, i), k))
            vals.append(np.einsum("abkn,k->ab", g3[:dim, :dim, :, :n_occupied], w) / w.sum())
        out[i] = (vals[0] - vals[1]) / (2 * step)
    return out


def zeeman_spin_response_metal(
    model: TightBindingModel,
    kmesh: Sequence[int],
    mu: float,
    temperature: float,
    step: float = 1e-4,
) -> np.ndarray:
    """χ̃_ijk = e² ∂_λ Σ_n ∫[dk]-average f0(ε_n(λ)) g3^{jk}_n(λ) for H + λ S_i/ħ (3, d, d).

    The semiclassical τ⁰ spin response of a metal (E2_NOTES §0): the λ-derivative of the
    band-energy correction ε^(2) weighted by the Fermi function at (``mu`` eV,
    ``temperature`` K), by a central difference of ``step`` eV in the Zeeman term. The
    derivative of the occupations gives the Fermi-surface part, that of g3 the sea. Per
    cell: ħ per cell per (eV/Å)², as :func:`zeeman_spin_response`.
    """
    from scipy.special import expit

    if not temperature > 0:
        raise QgmagError("zeeman_spin_response_metal needs a temperature > 0 K.")
    dim = model.dim
    mesh = make_mesh(model, kmesh, False)
    k, w = mesh.chunk(0, mesh.n_points)
    kt = c.BOLTZMANN_EV * temperature
    out = np.zeros((3, dim, dim))
    for i in range(3):
        vals = []
        for lam in (step, -step):
            bands = BandData(_with_zeeman(model, lam, i), k)
            occ = expit(-(bands.energy - mu) / kt)  # (N, n)
            g3 = bcp_native(bands)[:dim, :dim]
            vals.append(np.einsum("abkn,kn,k->ab", g3, occ, w) / w.sum())
        out[i] = (vals[0] - vals[1]) / (2 * step)
    return out


def boltzmann_second_order(
    model: TightBindingModel,
    band_values: Callable[[BandData], np.ndarray],
    kmesh: Sequence[int],
    mu: float,
    temperature: float,
    *,
    kernel: str = "f0",
    step: float = 1e-4,
) -> np.ndarray:
    """Σ_n ∫[dk] O_n(k) ∂_j∂_k K(ε_n(k)) (3, d, d), K = f0 (or "grand"), by finite differences.

    ∂_j∂_k K(ε_n(k)) is evaluated from the band energies on meshes shifted by ±step
    (1/Å) along the Cartesian directions (the mixed derivative from four shifted meshes);
    ``band_values(bands)`` returns O_n (3, N, n) at the unshifted mesh (e.g. the spin
    expectation). Times (eτ/ħ)² E_jE_k this is the τ² Boltzmann response: O in its
    units times 1/Å² per [dk] (mean over the mesh × (2π)^-d / cell volume is left to the
    caller: the result is the mesh AVERAGE, per cell).
    """
    dim = model.dim
    mesh = make_mesh(model, kmesh, False)
    k, w = mesh.chunk(0, mesh.n_points)
    temp = np.array([float(temperature)])
    mu_arr = np.array([float(mu)])

    def occ(shift: np.ndarray) -> np.ndarray:
        e = BandData(model, k + shift).energy
        return occupation_kernel(e.ravel(), mu_arr, temp, kernel).reshape(e.shape)

    o = band_values(BandData(model, k))  # (3, N, n)
    out = np.zeros((3, dim, dim))
    eye = np.eye(dim) * step
    base = occ(np.zeros(dim))
    for j in range(dim):
        for m in range(j, dim):
            if j == m:
                d2 = (occ(eye[j]) + occ(-eye[j]) - 2 * base) / step**2
            else:
                d2 = (
                    occ(eye[j] + eye[m])
                    - occ(eye[j] - eye[m])
                    - occ(-eye[j] + eye[m])
                    + occ(-eye[j] - eye[m])
                ) / (4 * step**2)
            val = np.einsum("akn,kn,k->a", o, d2, w) / w.sum()
            out[:, j, m] = out[:, m, j] = val
    return out
