"""Wannier90 tight-binding models -> :class:`~qgmag.models.TightBindingModel`.

:func:`read_wannier90` reads ``seedname_tb.dat`` (lattice, H(R), r(R)) or
``seedname_hr.dat`` (H(R) only; lattice and centres from side files or arguments) and
returns a model in qgmag's atomic gauge (SPEC §1)::

    H_ij(k) = sum_R t_ij(R) exp(i k·(R + tau_j - tau_i)),   t_ij(R) = H_ij(R) / ndegen(R)

with tau_i the Wannier centres. Eigenvalues are those of the Wannier90 interpolation
(Wannier90 itself uses exp(i k·R); the two Bloch Hamiltonians differ by the diagonal
unitary diag(exp(i k·tau_i))). Centres are used where Wannier90 puts them, also
outside the home cell (``positions_outside_cell=True``): wrapping them into [0, 1)
would shift R of their matrix elements and lengthen the R list (Fe: 95 -> 329 vectors,
4x slower derivatives) without changing any physics (:func:`wrap_centres` does it for
users who want a home-cell basis).

Reference data (``shared/data``, see its README): ``Fe_tb.dat`` / ``Fe_hr.dat`` (18 spinor
WFs), ``Te_tb.dat`` (24) and ``GaAs_tb.dat`` (16) are spinor models in the Wannier90 3.x
"spin-fastest" order (up and down of each orbital consecutive); read them with
``spinor_ordering="spin-fastest"``. Evidence: the Wannier spin matrices <0m|sigma|0n>
(WannierBerri npz, from ``Fe.spn``) correlate with the spin-fastest Pauli matrices (Fe
0.77-0.87 per component, Te 1.000) and not with spin-blocks (|c| < 0.03); GaAs on-site
energies come in equal pairs (2i, 2i+1). With the ideal spin matrices attached here
(sigma/2 per orbital), Fe gives <sigma_z> = -2.26 per cell at E_F = 17.6255 eV on a 20^3
mesh (spin-blocks: -1.92); the true Wannier spin matrices give -2.40 (QE: -2.38): the
disentangled spinor WFs of this model are not pure spin states, which a k-independent
(3, n, n) spin operator cannot represent. The ideal matrices, k-independent in the atomic
gauge, equal the on-site Wannier operator <0i|sigma|Rj> = sigma delta_R0 (WannierBerri's
``set_spin_interlaced``) only where the two partners of a pair share a centre; in Fe_tb.dat
four pairs are 0.2-1.2 Å apart, which leaves <sigma_z> unchanged but not <sigma_x,y>
(pass ``centres=`` with pair-mean centres for the on-site definition;
tests/cross_code/test_wannierberri.py).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from qgmag.errors import ModelError, QgmagError, QgmagWarning, WannierFormatError
from qgmag.io import tb_mdrs
from qgmag.io.w90_files import (
    PathLike,
    RawWannierData,
    read_centres_xyz,
    read_hamiltonian_file,
    read_win_lattice,
    read_win_spinors,
    read_wout,
    seedname_of,
)
from qgmag.models.spin import SPINOR_ORDERINGS, spin_operators
from qgmag.models.tight_binding import TightBindingModel

BERRY_CONNECTIONS = ("tight-binding", "full")
_SNAP = 1e-8  # fractional coordinates this close to an integer are snapped onto it
#: Å; spin partners further apart than this get a warning (spin operator not on-site)
SPIN_PAIR_SEPARATION_TOL = 0.01


def spin_pair_separation(cart: np.ndarray, ordering: str) -> np.ndarray:
    """Distance (Å) between the Wannier centres of the up and down partner of each orbital."""
    half = cart.shape[0] // 2
    if ordering == "spin-fastest":
        up, down = cart[0::2], cart[1::2]
    else:
        up, down = cart[:half], cart[half:]
    return np.linalg.norm(up - down, axis=1)


def _warn_split_spin_pairs(cart: np.ndarray, ordering: str, path: Path) -> None:
    sep = spin_pair_separation(cart, ordering)
    split = np.flatnonzero(sep > SPIN_PAIR_SEPARATION_TOL)
    if split.size:
        warnings.warn(
            f"{str(path)!r}: {split.size} of {sep.size} spinor pairs ({ordering}) have their "
            f"up and down Wannier centres {sep[split].min():.2g}-{sep[split].max():.2g} Å apart. "
            "qgmag applies sigma/2 per pair as the on-site Wannier spin operator "
            "<0i|sigma|Rj> = sigma delta_R0 (as WannierBerri's set_spin_interlaced), which is the "
            "spin of these pairs only if they are Kramers partners: check the ordering, pass "
            "spin_pairs= explicitly, or read the Wannier90 run with its .spn "
            "(docs/real_materials.md, section 2).",
            QgmagWarning,
            stacklevel=3,
        )


class NotImplementedOptionError(QgmagError, NotImplementedError):
    """A documented option whose implementation is planned but not available yet."""


# -- centres ------------------------------------------------------------------------------


def wrap_centres(
    lattice: np.ndarray,
    centres_cart: np.ndarray,
    vectors: np.ndarray,
    hamiltonian: np.ndarray,
    position: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Move the orbitals into the home cell without changing the physics.

    Orbital i with centre c_i = tau_i + L_i (tau_i in [0, 1) fractional, L_i = n_i·A an
    integer lattice vector) is relabelled as the orbital of cell -n_i: |i,R> = |i',R+n_i>.
    Then t'_ij(R') = t_ij(R' - n_j + n_i), i.e. the element t_ij(R) moves to
    R' = R + n_j - n_i, and R' + tau_j - tau_i = R + c_j - c_i: the atomic-gauge Bloch
    Hamiltonian is unchanged. Position matrices move the same way and lose L_i on the
    diagonal of R' = 0 (r'_ij(R') = r_ij(R) - L_i delta_ij delta_R0).

    Returns (fractional positions in [0, 1), new vectors, new H(R), new r(R) or None,
    integer shifts n_i (n, 3)).
    """
    frac = centres_cart @ np.linalg.inv(lattice)
    nearest = np.round(frac)
    frac = np.where(np.abs(frac - nearest) < _SNAP, nearest, frac)
    shifts = np.floor(frac).astype(np.int64)
    tau = frac - shifts
    if not np.any(shifts):
        return tau, vectors, hamiltonian, position, shifts
    n = hamiltonian.shape[1]
    d_ij = shifts[None, :, :] - shifts[:, None, :]  # (i, j, 3): n_j - n_i
    new_r = vectors[:, None, None, :] + d_ij[None]  # (nR, n, n, 3)
    new_vectors, inverse = np.unique(new_r.reshape(-1, 3), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ii = np.broadcast_to(np.arange(n)[None, :, None], new_r.shape[:3]).reshape(-1)
    jj = np.broadcast_to(np.arange(n)[None, None, :], new_r.shape[:3]).reshape(-1)
    new_h = np.zeros((new_vectors.shape[0], n, n), dtype=complex)
    new_h[inverse, ii, jj] = hamiltonian.reshape(-1)
    new_pos = None
    if position is not None:
        new_pos = np.zeros((new_vectors.shape[0], n, n, 3), dtype=complex)
        new_pos[inverse, ii, jj] = position.reshape(-1, 3)
        zero = int(np.flatnonzero(~np.any(new_vectors, axis=1))[0])
        new_pos[zero, np.arange(n), np.arange(n)] -= shifts @ lattice
    return tau, new_vectors, new_h, new_pos, shifts


def _partner_index(vectors: np.ndarray, path: Path) -> np.ndarray:
    index = {tuple(v): r for r, v in enumerate(vectors.tolist())}
    partner = np.empty(len(vectors), dtype=np.int64)
    for r, v in enumerate(vectors.tolist()):
        minus = tuple(-x for x in v)
        if minus not in index:
            raise WannierFormatError(
                f"{str(path)!r}: R = {tuple(v)} is listed but -R = {minus} is not, so H(R) "
                "cannot be Hermitian (H(-R) = H(R)^†); the R list is incomplete or corrupt."
            )
        partner[r] = index[minus]
    return partner


def hermiticity_deviation(vectors: np.ndarray, matrices: np.ndarray, path: Path) -> float:
    """max_R,ij |H_ij(R) - conj(H_ji(-R))| (eV)."""
    partner = _partner_index(vectors, path)
    return float(np.max(np.abs(matrices - np.conj(np.swapaxes(matrices[partner], 1, 2)))))


# -- lattice / centres / spin resolution --------------------------------------------------


def _side_file(path: Path, suffix: str) -> Path | None:
    candidate = path.with_name(seedname_of(path) + suffix)
    return candidate if candidate.is_file() else None


def _as_lattice(value: Any, source: str) -> np.ndarray:
    lat = np.asarray(value, dtype=float)
    if lat.shape != (3, 3) or not np.all(np.isfinite(lat)):
        raise ModelError(
            f"lattice ({source}) must be a finite (3, 3) array of rows in Å; got {lat.shape}."
        )
    return lat


def _resolve_lattice(raw: RawWannierData, lattice: Any) -> tuple[np.ndarray, str]:
    """(3, 3) lattice rows in Å and where they came from, checked to span a cell."""
    lat, source = _find_lattice(raw, lattice)
    lengths = np.linalg.norm(lat, axis=1)
    volume = abs(float(np.linalg.det(lat))) if np.all(np.isfinite(lat)) else np.nan
    if not (np.isfinite(volume) and volume > 1e-8 * float(np.prod(lengths))):
        raise WannierFormatError(
            f"the lattice vectors from {source} do not span a cell (cell volume {volume:.3g} "
            f"Å³, vector lengths {np.array2string(lengths, precision=3)} Å): check the lattice "
            "block of that file, or pass lattice=(3, 3) rows in Å."
        )
    return lat, source


def _find_lattice(raw: RawWannierData, lattice: Any) -> tuple[np.ndarray, str]:
    if lattice is not None:
        if isinstance(lattice, str | os.PathLike):
            p = Path(lattice)
            if p.suffix == ".wout":
                lat, _ = read_wout(p)
                if lat is None:
                    raise WannierFormatError(f"{str(p)!r} contains no 'Lattice Vectors' block.")
                return lat, str(p)
            return read_win_lattice(p), str(p)
        return _as_lattice(lattice, "argument"), "argument lattice="
    if raw.lattice is not None:
        return raw.lattice, str(raw.path)
    win = _side_file(raw.path, ".win")
    if win is not None:
        return read_win_lattice(win), str(win)
    wout = _side_file(raw.path, ".wout")
    if wout is not None:
        lat, _ = read_wout(wout)
        if lat is not None:
            return lat, str(wout)
    seed = raw.path.with_name(seedname_of(raw.path))
    raise WannierFormatError(
        f"{str(raw.path)!r} is a _hr.dat file, which holds no lattice vectors, and neither "
        f"{seed}.win (unit_cell_cart block) nor {seed}.wout (Lattice Vectors) was found next "
        "to it. Pass lattice=(3, 3) rows in Å, or lattice='path/to/seedname.win' (or .wout)."
    )


def _resolve_centres(
    raw: RawWannierData, lattice: np.ndarray, positions: Any, centres: Any
) -> tuple[np.ndarray, str]:
    n = raw.num_wann
    if positions is not None and centres is not None:
        raise ModelError("give either positions= (fractional) or centres= (Cartesian Å), not both.")
    if positions is not None:
        frac = np.asarray(positions, dtype=float)
        if frac.shape != (n, 3) or not np.all(np.isfinite(frac)):
            raise ModelError(
                f"positions must be a finite ({n}, 3) array of fractional coordinates (one row "
                f"per Wannier function); got shape {frac.shape}."
            )
        return frac @ lattice, "argument positions="
    if centres is not None:
        source = "argument centres="
        if isinstance(centres, str | os.PathLike):
            p = Path(centres)
            source = str(p)
            cart = read_wout(p)[1] if p.suffix == ".wout" else read_centres_xyz(p)
            if cart is None:
                raise WannierFormatError(f"{str(p)!r} contains no 'WF centre and spread' lines.")
        else:
            cart = np.asarray(centres, dtype=float)
        if cart.shape != (n, 3) or not np.all(np.isfinite(cart)):
            raise ModelError(
                f"centres ({source}) must be a finite ({n}, 3) array of Cartesian Wannier "
                f"centres in Å (one row per Wannier function); got shape {cart.shape}."
            )
        return cart, source
    if raw.position is not None:
        zero = np.flatnonzero(~np.any(raw.vectors, axis=1))
        if zero.size == 0:
            raise WannierFormatError(f"{str(raw.path)!r} has no R = 0 block.")
        r0 = raw.position[zero[0]] / raw.degeneracies[zero[0]]
        return np.real(np.einsum("iia->ia", r0)), f"{raw.path} (diagonal of r(R=0))"
    xyz = _side_file(raw.path, "_centres.xyz")
    if xyz is not None:
        cart = read_centres_xyz(xyz)
        if cart.shape == (n, 3):
            return cart, str(xyz)
    wout = _side_file(raw.path, ".wout")
    if wout is not None:
        cart = read_wout(wout)[1]
        if cart is not None and cart.shape == (n, 3):
            return cart, str(wout)
    seed = raw.path.with_name(seedname_of(raw.path))
    raise WannierFormatError(
        f"{str(raw.path)!r} holds no Wannier centres (a _hr.dat file, or a _tb.dat file without "
        f"position block) and neither {seed}_centres.xyz nor {seed}.wout with {n} centres was "
        "found next to it. The atomic gauge needs one centre per Wannier function: pass "
        f"positions=({n}, 3) fractional or centres=({n}, 3) Cartesian Å (or a path to a "
        "_centres.xyz / .wout file)."
    )


def _input_hashes(path: Path, *sources: object) -> dict[str, str]:
    """SHA-256 of the model file and of every side file read (.win, .wout, _centres.xyz)."""
    from qgmag.files import sha256_file

    files = [Path(path)]
    for source in sources:
        if isinstance(source, str) and Path(source).is_file():
            files.append(Path(source))
    win = _side_file(Path(path), ".win")
    if win is not None:  # spinors = true/false is read from it by spinor_ordering="auto"
        files.append(win)
    return {str(f): sha256_file(f) for f in dict.fromkeys(files)}


def _resolve_spinor_ordering(raw: RawWannierData, spinor_ordering: str | None) -> str | None:
    if spinor_ordering == "auto":
        win = _side_file(raw.path, ".win")
        spinors = read_win_spinors(win) if win is not None else None
        return "spin-fastest" if spinors else None
    if spinor_ordering is not None and spinor_ordering not in SPINOR_ORDERINGS:
        raise ModelError(
            f"spinor_ordering must be None (spinless), 'auto' or one of {SPINOR_ORDERINGS}; "
            f"got {spinor_ordering!r}."
        )
    return spinor_ordering


def _resolve_spin(spin: Any, ordering: str | None, num_wann: int) -> np.ndarray | None:
    if spin is False:
        return None
    if spin is None or (isinstance(spin, str) and spin == "auto"):
        if ordering is None:
            return None
        if num_wann % 2:
            raise ModelError(
                f"spinor_ordering={ordering!r} needs an even number of Wannier functions "
                f"(spin up and down of each orbital); this file has num_wann = {num_wann}."
            )
        return spin_operators(num_wann // 2, ordering)
    if isinstance(spin, str):
        raise ModelError(f"spin must be None, 'auto', False or a (3, n, n) array; got {spin!r}.")
    try:
        return np.asarray(spin, dtype=complex)
    except (TypeError, ValueError):
        raise ModelError(
            f"spin must be None, 'auto', False or a (3, n, n) array; got {spin!r}."
        ) from None


# -- public API ---------------------------------------------------------------------------


def read_wannier90(
    path: PathLike,
    *,
    lattice: ArrayLike | PathLike | None = None,
    positions: ArrayLike | None = None,
    centres: ArrayLike | PathLike | None = None,
    spinor_ordering: str | None = None,
    spin: ArrayLike | str | bool | None = None,
    berry_connection: str = "tight-binding",
    energy_shift: float = 0.0,
    hermitian_tolerance: float = 1e-6,
    name: str | None = None,
    level: str | None = None,
    spin_pairs: Any = None,
    scheme: str = "wannierberri",
    phase_centres: ArrayLike | None = None,
    orbital_formula: str = "lopez",
    minimal_distance: bool | str = "auto",
    mp_grid: ArrayLike | None = None,
    time_reversal: str = "as-read",
) -> TightBindingModel:
    """Read a Wannier90 run (``seedname.chk``) or a ``_tb.dat`` / ``_hr.dat`` file as a model.

    A path ending in ``.chk``, ``.chk.fmt`` or ``.win``, or a bare seedname with a
    ``seedname.chk`` next to it, is read as a Wannier90 run by
    :func:`qgmag.io.w90_reader.read_wannier90_run` (a :class:`~qgmag.models.WannierModel`
    at the most complete ``level`` its files allow; ``centres``, ``spin_pairs``, ``scheme``,
    ``phase_centres``, ``orbital_formula``, ``energy_shift`` and ``name`` apply, the other
    options are for tight-binding files).
    A folder written by WannierBerri's ``System_R.to_npz`` (current or legacy layout) is
    read by :func:`qgmag.io.wberri_npz.read_wberri_npz`.

    Parameters
    ----------
    path : the ``_tb.dat`` or ``_hr.dat`` file (kind from the name, else from line 2), or a
        Wannier90 run (see above).
    lattice : (3, 3) lattice rows in Å, or the path of a ``.win`` (``unit_cell_cart``,
        bohr or ang) or ``.wout`` file. Default: from the ``_tb.dat`` file itself; for
        ``_hr.dat`` from ``seedname.win`` or ``seedname.wout`` next to the file.
    positions : (num_wann, 3) fractional orbital centres, or
    centres : (num_wann, 3) Cartesian centres in Å, or the path of a ``_centres.xyz`` /
        ``.wout`` file. Default: the diagonal of r(R=0) in ``_tb.dat`` (Wannier90
        convention); for ``_hr.dat`` ``seedname_centres.xyz`` or the final centres in
        ``seedname.wout`` next to the file.
    spinor_ordering : None (spinless: no spin matrices), "spin-fastest" (Wannier90 3.x
        spinor WFs: up and down of each orbital consecutive), "spin-blocks" (all up, then
        all down), or "auto" ("spin-fastest" if ``seedname.win`` next to the file says
        ``spinors = true``, else None). The Fe, Te and GaAs reference models are spinor
        models in the "spin-fastest" order.
    spin : None or "auto" (spin matrices S/hbar from ``spinor_ordering``), False (none), or
        explicit (3, num_wann, num_wann) matrices of S/hbar. An ordering whose partners sit
        at different centres while the centres pair up differently (GaAs_tb.dat) is refused
        (:class:`~qgmag.io.spinor_pairs.SpinPairsError`): pass ``spin_pairs``.
    spin_pairs : explicit (up, down) Wannier-function index pairs (σ/2 on each pair),
        "auto" (the ordering whose partners share their centres, else refused), or
        "time-reversal" (the Kramers pairs of the time reversal fitted to H(R), and the
        exactly T-odd part of σ/2 on them: :func:`qgmag.io.spinor_pairs.resolve_spin`).
    berry_connection : "tight-binding" (default: point-like orbitals at the centres, only
        the internal term of the Berry connection; r(R) is still stored in
        ``model.position_matrices``) or "full" (``_tb.dat`` only: the Wannier-function
        matrix elements r_ij(R) = <0i|r|Rj> are added to the Berry connection, Wang, Yates,
        Souza, Vanderbilt, PRB 74, 195118 (2006), Eq. 27. In qgmag's atomic gauge the extra
        connection is A^W_ij(k) = Σ_R e^{ik·(R+τ_j-τ_i)} [r_ij(R) - τ_i δ_ij δ_R0] and
        Ω^c_n = Ω^c_n(internal) + Ω̄^c_nn + 2 Σ_{m∉D(n)} Re[V^a_nm Ā^b_mn - V^b_nm Ā^a_mn]
        /(ε_n - ε_m), with Ā = U† A^W U and Ω̄^c = U† (∂_a A^W_b - ∂_b A^W_a) U,
        (a, b, c) cyclic. This changes the Berry curvature and hence the anomalous Hall
        conductivity, chern_number and the itinerant term of the orbital magnetization;
        the orbital moment m_n and the other quantities stay at the tight-binding level).
    energy_shift : added to every energy (eV); e.g. ``-E_F`` puts the Fermi level at 0.
    hermitian_tolerance : largest |H(R) - H(-R)^†| (eV) accepted. Within it, H(R) is
        symmetrized to (H(R) + H(-R)^†)/2; the deviation found is in
        ``model.parameters["hermiticity_deviation_eV"]``.
    name : model name (default: the seedname).
    minimal_distance : Wannier90's minimal-distance replica rule (``use_ws_distance``,
        :mod:`qgmag.io.tb_mdrs`), which files written by Wannier90 do not contain (GaAs_tb.dat
        read as written has no gap and is not cubic; with the rule it has the scf.out gap).
        "auto" (default): applied when the file's R list and degeneracies are exactly the
        plain Wigner–Seitz supercell of an ab-initio mesh (what Wannier90 writes) and the
        ``seedname.win`` beside the file, if any, does not say ``use_ws_distance = false``
        (absent means true, the Wannier90 ≥ 3 default); files with the replicas already
        folded in (WannierBerri's, every degeneracy 1: the Fe and Te reference files) are
        read as written, bit for bit. True: applied (needs ``mp_grid`` or the ``.win``'s
        mp_grid). False: read as written. H(R) and r(R) get the same weights.
        ``model.parameters["minimal_distance"]`` records what was done and why.
    mp_grid : (N1, N2, N3) ab-initio mesh for the rule (default: ``mp_grid`` of
        ``seedname.win`` beside the file; for "auto" else the mesh whose Wigner–Seitz
        supercell the R list is).
    time_reversal : "as-read" (default: H(R) as in the file, whose fit of a non-magnetic
        crystal breaks time reversal slightly, GaAs_tb.dat by ~1e-3 eV, so T-odd quantities
        of the insulator are ~1e-5 instead of 0) or "symmetrize" (the exactly
        time-reversal-symmetric model of
        :func:`qgmag.io.time_reversal.time_reversal_symmetric_model`: Θ fitted to H(R) and
        restricted to its Kramers pairs, partners at their mean centre, H(R) and r(R)
        symmetrized, spin made T-odd; a magnetic model such as Fe_tb.dat is refused).
        ``model.parameters["time_reversal"]`` records the choice and, for "symmetrize",
        the removed breaking max |H - H_sym| (eV) and the bound on the band shifts.

    Degeneracy weights ndegen(R) are divided out (files whose R list already folds them,
    all weights 1, work unchanged). Raises :class:`~qgmag.errors.WannierFormatError` for a
    missing or malformed file, a missing -R partner, or non-Hermitian H(R).
    """
    from qgmag.io.w90_reader import is_run, read_wannier90_run
    from qgmag.io.wberri_npz import is_wberri_folder, read_wberri_npz

    check_time_reversal_option(time_reversal)
    if is_wberri_folder(path):
        given = _minimal_distance_given(minimal_distance, mp_grid, time_reversal)
        if given:
            raise ModelError(
                f"{given} apply to _tb.dat/_hr.dat files; a WannierBerri folder already holds "
                "its minimal-distance replicas."
            )
        npz = read_wberri_npz(path, level=level, energy_shift=energy_shift, name=name)
        return npz if orbital_formula == "lopez" else npz.with_level(npz.level, orbital_formula)
    if is_run(path):
        extra = {
            "lattice": lattice is not None,
            "positions": positions is not None,
            "spinor_ordering": spinor_ordering is not None,
            "spin": spin is not None,
            "berry_connection": berry_connection != "tight-binding",
        }
        given = [k for k, v in extra.items() if v] + _minimal_distance_given(
            minimal_distance, mp_grid, time_reversal
        )
        if given:
            raise ModelError(
                f"{given} apply to _tb.dat/_hr.dat files only; for a Wannier90 run use level=, "
                "centres= and spin_pairs= (docs/real_materials.md)."
            )
        return read_wannier90_run(
            path,
            level=level,
            centres=centres,
            spin_pairs=spin_pairs,
            energy_shift=energy_shift,
            name=name,
            scheme=scheme,
            phase_centres=phase_centres,
            orbital_formula=orbital_formula,
        )
    if level is not None or phase_centres is not None:
        raise ModelError(
            "level= and phase_centres= apply to Wannier90 runs (seedname.chk); for a _tb.dat "
            "file use berry_connection=."
        )
    if berry_connection not in BERRY_CONNECTIONS:
        raise ModelError(
            f"berry_connection must be one of {BERRY_CONNECTIONS}; got {berry_connection!r}."
        )
    raw = read_hamiltonian_file(
        path, positions_optional=positions is not None or centres is not None
    )
    if berry_connection == "full" and raw.position is None:
        raise WannierFormatError(
            f"berry_connection='full' needs the position matrix elements <0m|r|Rn> of a _tb.dat "
            f"file, which {str(raw.path)!r} does not have; use berry_connection='tight-binding'."
        )
    ordering = _resolve_spinor_ordering(raw, spinor_ordering)
    spin_note = None
    if spinor_ordering == "auto" and ordering is None and spin is not False:
        spin_note = (
            f"spinor_ordering='auto' found no {raw.seedname}.win with 'spinors = true' next to "
            f"{str(raw.path)!r}, so the model was read as spinless; pass "
            "spinor_ordering='spin-fastest' (Wannier90 3.x spinors) or 'spin-blocks'"
        )
    spin_matrices = _resolve_spin(spin, ordering, raw.num_wann)
    lat, lattice_source = _resolve_lattice(raw, lattice)
    cart, centres_source = _resolve_centres(raw, lat, positions, centres)
    if spin_pairs is None and spin_matrices is not None and ordering is not None:
        if spin is None:
            from qgmag.io.spinor_pairs import check_ordering

            check_ordering(cart, ordering, str(raw.path))
        _warn_split_spin_pairs(cart, ordering, raw.path)

    deg = raw.degeneracies.astype(float)
    ham = raw.hamiltonian / deg[:, None, None]
    pos = None if raw.position is None else raw.position / deg[:, None, None, None]
    deviation = hermiticity_deviation(raw.vectors, ham, raw.path)
    if not deviation <= hermitian_tolerance:
        raise WannierFormatError(
            f"{str(raw.path)!r}: H(R) is not Hermitian: max |H(R) - H(-R)^†| = {deviation:.3g} "
            f"eV exceeds hermitian_tolerance = {hermitian_tolerance:g} eV (corrupt file, or "
            "raise the tolerance if the file was written with few digits)."
        )
    partner = _partner_index(raw.vectors, raw.path)
    ham = 0.5 * (ham + np.conj(np.swapaxes(ham[partner], 1, 2)))
    if energy_shift:
        zero = int(np.flatnonzero(~np.any(raw.vectors, axis=1))[0])
        ham[zero] += float(energy_shift) * np.eye(raw.num_wann)

    choice = tb_mdrs.choose(
        raw.path,
        lat,
        raw.vectors,
        raw.degeneracies,
        minimal_distance,
        mp_grid,
        _side_file(raw.path, ".win"),
    )
    if choice.warning is not None:
        warnings.warn(choice.warning, QgmagWarning, stacklevel=2)
    vectors = raw.vectors
    if choice.applied:
        assert choice.mp_grid is not None
        arrays = (ham,) if pos is None else (ham, pos)
        vectors, arrays = tb_mdrs.apply_rule(lat, cart, choice.mp_grid, vectors, *arrays)
        ham, pos = arrays[0], (arrays[1] if pos is not None else None)
    if spin_pairs is not None:  # after the rule: time reversal is fitted to the model's H(R)
        from qgmag.io.spinor_pairs import resolve_spin

        pairs, spin_matrices, how = resolve_spin(spin_pairs, cart, str(raw.path), ham)
        ordering = f"{how} {pairs}"
    tau = cart @ np.linalg.inv(lat)  # fractional, possibly outside [0, 1)
    folded = bool(np.all(raw.degeneracies == 1))
    parameters = {
        "source": str(raw.path),
        "format": f"wannier90_{raw.kind}",
        "comment": raw.comment,
        "num_wann": raw.num_wann,
        "n_R_file": int(raw.vectors.shape[0]),
        "degeneracies": "all 1 (folded into H(R))" if folded else "divided out",
        "sum_inverse_degeneracies": float(np.sum(1.0 / deg)),
        "lattice_source": lattice_source,
        "centres_source": centres_source,
        "wannier_centres_cart": cart.tolist(),
        "spinor_ordering": ordering,
        "berry_connection": berry_connection,
        "energy_shift_eV": float(energy_shift),
        "hermiticity_deviation_eV": deviation,
        "minimal_distance": choice.record(),
        "time_reversal": {"option": "as-read"},
    }
    if spin_note is not None:
        parameters["spin_note"] = spin_note
    parameters["input_sha256"] = _input_hashes(raw.path, lattice_source, centres_source, spin_note)
    try:
        model = TightBindingModel.from_arrays(
            lat,
            tau,
            vectors,
            ham,
            spin_matrices,
            gauge="atomic",
            name=name if name is not None else raw.seedname,
            parameters=parameters,
            position_matrices=pos,
            berry_connection=berry_connection,
            hermitian_tolerance=max(hermitian_tolerance, 1e-12),
            positions_outside_cell=True,
        )
    except ModelError as exc:
        raise ModelError(f"{str(raw.path)!r}: {exc}") from exc
    if time_reversal == "symmetrize":
        from qgmag.io.time_reversal import time_reversal_symmetric_model

        model = time_reversal_symmetric_model(model)
    return model


#: values of read_wannier90(time_reversal=...) for _tb.dat/_hr.dat files
TIME_REVERSAL_OPTIONS = ("as-read", "symmetrize")


def check_time_reversal_option(time_reversal: Any) -> None:
    """One-line error for a ``time_reversal`` value that is not "as-read"/"symmetrize"."""
    if not (isinstance(time_reversal, str) and time_reversal in TIME_REVERSAL_OPTIONS):
        raise ModelError(
            f"time_reversal must be one of {TIME_REVERSAL_OPTIONS} ('symmetrize' makes a "
            f"non-magnetic model exactly time-reversal symmetric); got {time_reversal!r}."
        )


def _minimal_distance_given(
    minimal_distance: Any, mp_grid: Any, time_reversal: Any = "as-read"
) -> list[str]:
    """The tight-binding-file-only options minimal_distance/mp_grid/time_reversal set."""
    auto = isinstance(minimal_distance, str) and minimal_distance == "auto"
    return (
        (["minimal_distance"] if not auto else [])
        + (["mp_grid"] if mp_grid is not None else [])
        + (["time_reversal"] if time_reversal != "as-read" else [])
    )


def model_info(source: PathLike | TightBindingModel, **read_kwargs: Any) -> dict[str, Any]:
    """Summary of a Wannier90 file or a tight-binding model (for ``qgmag info FILE``).

    Keys: name, source, format, lattice_angstrom (None when a ``_hr.dat`` file has no
    lattice at hand), cell_volume_angstrom3, num_wann, n_R, max_hermiticity_deviation_eV
    (of the file as written, degeneracies divided out), spinor, spinor_ordering,
    energy_window_k0_eV ([min, max] of the eigenvalues of H(k=0), eV), degeneracies,
    lattice_source, time_reversal, and for a file minimal_distance (what
    :func:`read_wannier90` does with Wannier90's minimal-distance rule, and why). For a
    file, ``read_kwargs`` may give ``lattice``, ``spinor_ordering`` (default "auto"),
    ``energy_shift``, ``name``, ``minimal_distance``, ``mp_grid`` and ``time_reversal`` as
    in :func:`read_wannier90`. The file is summarized without building a model, so a
    ``_hr.dat`` without lattice still works (n_R and the energy window are those of the
    file as written), except with ``spin_pairs`` or ``time_reversal="symmetrize"`` (the
    removed breaking is a property of the model), which build it.
    """
    run_keys = {"level", "scheme", "phase_centres", "orbital_formula"}
    tb_keys = {"minimal_distance", "mp_grid", "time_reversal"}
    allowed = {
        "lattice",
        "spinor_ordering",
        "energy_shift",
        "name",
        "spin_pairs",
        *run_keys,
        *tb_keys,
    }
    unknown = set(read_kwargs) - allowed
    if unknown:
        raise TypeError(f"model_info got unexpected keyword arguments {sorted(unknown)}.")
    from qgmag.io.w90_reader import is_run
    from qgmag.io.wberri_npz import is_wberri_folder

    if not isinstance(source, TightBindingModel) and (is_run(source) or is_wberri_folder(source)):
        keep = ("energy_shift", "name", "spin_pairs", *run_keys, *tb_keys)  # tb_keys: refused
        kwargs = {k: v for k, v in read_kwargs.items() if k in keep}
        source = read_wannier90(source, **kwargs)
    elif not isinstance(source, TightBindingModel) and (
        "spin_pairs" in read_kwargs or read_kwargs.get("time_reversal", "as-read") != "as-read"
    ):
        drop = "spinor_ordering" if "spin_pairs" in read_kwargs else None
        kwargs = {k: v for k, v in read_kwargs.items() if k != drop}
        source = read_wannier90(source, **kwargs)  # level= etc. are refused there
    if isinstance(source, TightBindingModel):
        model = source
        par = model.parameters
        deviation = par.get("hermiticity_deviation_eV")
        if deviation is None:
            deviation = hermiticity_deviation(
                model.hopping_vectors, model.hopping_matrices, Path(model.name)
            )
        h0 = model.hamiltonian(np.zeros((1, model.dim)))[0]
        eig = np.linalg.eigvalsh(h0)
        return {
            "name": model.name,
            "source": par.get("source"),
            "format": par.get("format", "model"),
            "lattice_angstrom": model.lattice.tolist(),
            "cell_volume_angstrom3": model.cell_volume,
            "num_wann": model.n_bands,
            "n_R": model.n_hoppings,
            "max_hermiticity_deviation_eV": float(deviation),
            "spinor": model.spin is not None,
            "spinor_ordering": par.get("spinor_ordering"),
            "energy_window_k0_eV": [float(eig[0]), float(eig[-1])],
            "degeneracies": par.get("degeneracies"),
            "lattice_source": par.get("lattice_source"),
            **{
                key: getattr(model, key)
                for key in ("level", "spin_source", "orbital_formula")
                if hasattr(model, key)
            },
            **({"scheme": par["scheme"]} if "scheme" in par else {}),
            **({"minimal_distance": par["minimal_distance"]} if "minimal_distance" in par else {}),
            **({"time_reversal": par["time_reversal"]} if "time_reversal" in par else {}),
        }
    if set(read_kwargs) & run_keys:
        raise ModelError(
            f"{sorted(set(read_kwargs) & run_keys)} apply to Wannier90 runs (seedname.chk); "
            f"{str(source)!r} is a tight-binding file."
        )
    raw = read_hamiltonian_file(source)
    deg = raw.degeneracies.astype(float)
    ham = raw.hamiltonian / deg[:, None, None]
    deviation = hermiticity_deviation(raw.vectors, ham, raw.path)
    h0 = ham.sum(axis=0)
    eig = np.linalg.eigvalsh(0.5 * (h0 + h0.conj().T)) + float(read_kwargs.get("energy_shift", 0))
    try:
        lat, lattice_source = _resolve_lattice(raw, read_kwargs.get("lattice"))
    except WannierFormatError as exc:
        lat, lattice_source = None, f"not found: {exc}"
    ordering = _resolve_spinor_ordering(raw, read_kwargs.get("spinor_ordering", "auto"))
    minimal: dict[str, Any] | str = "unknown (no lattice)"
    if lat is not None:
        minimal = tb_mdrs.choose(
            raw.path,
            lat,
            raw.vectors,
            raw.degeneracies,
            read_kwargs.get("minimal_distance", "auto"),
            read_kwargs.get("mp_grid"),
            _side_file(raw.path, ".win"),
        ).record()
    return {
        "name": read_kwargs.get("name") or raw.seedname,
        "source": str(raw.path),
        "format": f"wannier90_{raw.kind}",
        "lattice_angstrom": None if lat is None else lat.tolist(),
        "cell_volume_angstrom3": None if lat is None else float(abs(np.linalg.det(lat))),
        "num_wann": raw.num_wann,
        "n_R": int(raw.vectors.shape[0]),
        "max_hermiticity_deviation_eV": deviation,
        "spinor": ordering is not None,
        "spinor_ordering": ordering,
        "energy_window_k0_eV": [float(eig[0]), float(eig[-1])],
        "degeneracies": "all 1 (folded into H(R))"
        if np.all(raw.degeneracies == 1)
        else "divided out",
        "lattice_source": lattice_source,
        "has_position_matrices": raw.position is not None,
        "minimal_distance": minimal,
        "time_reversal": {"option": "as-read"},
    }
