"""``read_wannier90`` for a Wannier90 run folder: seedname.chk (+ .eig, .mmn, .spn, .uHu).

The files are found next to the given path by seedname (``Fe.chk``, ``Fe.chk.fmt``,
``Fe.win`` or just ``Fe``). The model is a :class:`~qgmag.models.WannierModel` at the most
complete level the files allow: "full" with .mmn and .uHu, "full-connection" with .mmn
only, "tight-binding" with .chk and .eig only. Spin: S(R) from .spn when present;
otherwise from explicit spinor pairs (``spin_pairs=``) or the pairs identified by
:mod:`qgmag.io.spinor_pairs`; never ideal Pauli matrices on a guessed ordering.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.io import w90_run as run
from qgmag.io.w90_rspace import r_space_matrices, rephase, shift_energy
from qgmag.models.wannier_model import WannierModel

RUN_SUFFIXES = (".chk", ".chk.fmt", ".win")


def run_seed(path: str | Path) -> tuple[Path, str]:
    """(folder, seedname) of ``path`` = seedname.chk / .chk.fmt / .win / seedname."""
    p = Path(path).expanduser()
    name = p.name
    for suffix in (".chk.fmt", ".chk", ".win"):
        if name.endswith(suffix):
            return p.parent, name[: -len(suffix)]
    return p.parent, name


def is_run(path: str | Path) -> bool:
    """True if ``path`` names a Wannier90 run (a .chk / .chk.fmt / .win, or a seedname whose
    .chk exists)."""
    p = Path(path).expanduser()
    if p.name.endswith(RUN_SUFFIXES):
        return True
    folder, seed = run_seed(p)
    return not p.exists() and (
        (folder / f"{seed}.chk").is_file() or (folder / f"{seed}.chk.fmt").is_file()
    )


def _check_win(win: run.WinData, chk: run.Checkpoint, spinor_files: bool) -> None:
    if win.num_wann is not None and win.num_wann != chk.num_wann:
        raise WannierFormatError(
            f"{str(win.path)!r} says num_wann = {win.num_wann} but {str(chk.path)!r} has "
            f"{chk.num_wann}."
        )
    if win.mp_grid is not None and tuple(win.mp_grid) != tuple(chk.mp_grid):
        raise WannierFormatError(
            f"{str(win.path)!r} says mp_grid = {win.mp_grid} but {str(chk.path)!r} has "
            f"{tuple(chk.mp_grid)}."
        )
    nb = win.num_bands if win.num_bands is not None else chk.num_bands
    if nb != chk.num_bands:
        raise WannierFormatError(
            f"{str(win.path)!r} says num_bands = {win.num_bands} but {str(chk.path)!r} has "
            f"{chk.num_bands}."
        )
    if tuple(win.exclude_bands) and len(win.exclude_bands) != len(chk.exclude_bands):
        raise WannierFormatError(
            f"{str(win.path)!r} excludes {len(win.exclude_bands)} bands but {str(chk.path)!r} "
            f"{len(chk.exclude_bands)}."
        )
    if spinor_files and not win.spinors:
        raise WannierFormatError(
            f"{str(win.path)!r} has no 'spinors = true' but a .spn file is present: the files "
            "do not belong to one spinor calculation."
        )
    if win.lattice is not None and np.max(np.abs(win.lattice - chk.lattice)) > 1e-4:
        raise WannierFormatError(
            f"the lattice of {str(win.path)!r} differs from that of {str(chk.path)!r}."
        )


def read_wannier90_run(
    path: str | Path,
    *,
    level: str | None = None,
    centres: Any = None,
    spin_pairs: Any = None,
    energy_shift: float = 0.0,
    name: str | None = None,
    use_spn: bool = True,
    use_uhu: bool = True,
    scheme: str = "wannierberri",
    phase_centres: Any = None,
    orbital_formula: str = "lopez",
) -> WannierModel:
    """Read seedname.chk (or .chk.fmt) with .eig and, when present, .mmn, .spn, .uHu, .win.

    Parameters
    ----------
    level : "tight-binding", "full-connection" or "full"; default the most complete level
        the files allow.
    centres : (num_wann, 3) Cartesian phase centres τ in Å (default: the checkpoint's
        Wannier centres); observables at the full level do not depend on them up to the
        finite-difference error of the b-vector formulas, and exactly not on relabelling
        a Wannier function by a lattice vector.
    spin_pairs : without .spn, a list of (up, down) Wannier-function index pairs (0-based)
        for ideal on-site spin matrices σ/2, or "auto" (the Wannier90 ordering whose partners
        share their centres, :func:`qgmag.io.spinor_pairs.identify_pairs`; refused with a
        message when none does), or "time-reversal" (pairs and T-odd spin from the time
        reversal fitted to H(R), :func:`qgmag.io.spinor_pairs.resolve_spin`). Ignored when
        .spn is read. Default None: no spin without .spn.
    energy_shift : s added to every energy (eV). The shifted model is exactly the unshifted
        one with every energy + s (results at mu + s equal those at mu, tested):
        :func:`qgmag.io.w90_rspace.shift_energy`.
    use_spn, use_uhu : read .spn / .uHu when present (False to skip them).
    scheme : "wannierberri" (default: b-vector finite differences with Wannier-centre
        phases, WannierBerri's System_w90 default; exactly unchanged when a Wannier function
        is relabelled by a lattice vector) or "postw90" (centre-free finite differences and
        Bloch sums e^{ik·R}, postw90 3.1's default). On a coarse ab-initio mesh the two
        differ (Fe 3x3x3: up to 0.07 μB/cell in M_orb, 4e-3 in AHC).
    phase_centres : (num_wann, 3) Å, "origin" (all zero) or "wannier-centres" (the
        default): re-express the matrices for Bloch sums with these positions (an exact
        change of basis, :func:`qgmag.io.w90_rspace.rephase`); every observable is
        unchanged (the "lopez" occupied-block approximation stays in the convention the
        matrices were built in: the Wannier centres, or the origin for
        ``scheme="postw90"``).
    orbital_formula : "lopez" (default, as WannierBerri and postw90) or "projected"
        (:mod:`qgmag.geometry.full_level`).
    """
    folder, seed = run_seed(path)
    t0 = time.perf_counter()
    chk_path = folder / f"{seed}.chk"
    if not chk_path.is_file() and (folder / f"{seed}.chk.fmt").is_file():
        chk_path = folder / f"{seed}.chk.fmt"
    if not chk_path.is_file():
        raise WannierFormatError(
            f"no checkpoint {str(folder / (seed + '.chk'))!r} (or .chk.fmt) found: a Wannier90 "
            "run needs seedname.chk and seedname.eig (write the checkpoint with Wannier90)."
        )
    chk = run.read_chk(chk_path)
    nb, nk = chk.num_bands, chk.num_kpts
    eig = run.read_eig(folder / f"{seed}.eig", nb, nk)  # energy_shift: after the build
    files = {"chk": str(chk_path), "eig": str(folder / f"{seed}.eig")}
    mmn = spn = uhu = None
    if (folder / f"{seed}.mmn").is_file():
        mmn = run.read_mmn(folder / f"{seed}.mmn", nb, nk, chk.nntot)
        files["mmn"] = str(folder / f"{seed}.mmn")
    if use_spn and (folder / f"{seed}.spn").is_file():
        spn = run.read_spn(folder / f"{seed}.spn", nb, nk)
        files["spn"] = str(folder / f"{seed}.spn")
    if use_uhu and mmn is not None and (folder / f"{seed}.uHu").is_file():
        uhu = run.read_uhu(folder / f"{seed}.uHu", nb, nk, chk.nntot)
        # no uIu: C of the shifted model is built below from the unshifted uHu
        files["uHu"] = str(folder / f"{seed}.uHu")
    win = None
    if (folder / f"{seed}.win").is_file():
        win = run.read_win(folder / f"{seed}.win")
        _check_win(win, chk, spn is not None)
        files["win"] = str(win.path)
    t_read = time.perf_counter() - t0
    tau = chk.centres if centres is None else np.asarray(centres, dtype=float)
    if tau.shape != (chk.num_wann, 3):
        raise WannierFormatError(f"centres must have shape ({chk.num_wann}, 3); got {tau.shape}.")
    mats = r_space_matrices(chk, eig, mmn, spn, uhu, tau, scheme=scheme)
    positions = built = mats["positions"]
    if energy_shift:
        mats = shift_energy(chk.lattice, mats, float(energy_shift))
    if isinstance(phase_centres, str):
        choices = {"wannier-centres": None, "origin": np.zeros((chk.num_wann, 3))}
        if phase_centres not in choices:
            raise WannierFormatError(
                f"phase_centres must be 'wannier-centres', 'origin' or a ({chk.num_wann}, 3) "
                f"array in Å; got {phase_centres!r}."
            )
        phase_centres = choices[phase_centres]
    if phase_centres is not None:
        new = np.asarray(phase_centres, dtype=float)
        if new.shape != (chk.num_wann, 3):
            raise WannierFormatError(
                f"phase_centres must have shape ({chk.num_wann}, 3); got {new.shape}."
            )
        mats = rephase(mats["vectors"], mats, positions, new)
        positions = new
    t_build = time.perf_counter() - t0 - t_read
    spin = None
    spin_source = "none"
    if "S" in mats:
        spin = 0.5 * mats["S"]
        spin_source = f"S(R) from {files['spn']}"
    elif spin_pairs is not None:
        from qgmag.io.spinor_pairs import resolve_spin

        pairs, onsite, how = resolve_spin(spin_pairs, chk.centres, str(chk_path), mats["H"])
        spin = np.zeros((*mats["H"].shape, 3), dtype=complex)
        zero = int(np.flatnonzero(~np.any(mats["vectors"], axis=1))[0])
        spin[zero] = np.moveaxis(onsite, 0, -1)
        spin_source = f"ideal Pauli matrices on {how} {pairs}"
    parameters = {
        "source": str(chk_path),
        "format": "wannier90_run",
        "files": files,
        "num_wann": chk.num_wann,
        "num_bands": nb,
        "mp_grid": list(chk.mp_grid),
        "exclude_bands": [int(x) for x in chk.exclude_bands],
        "disentangled": chk.disentangled,
        "wannier_centres_cart": chk.centres.tolist(),
        "phase_centres_cart": positions.tolist(),
        "scheme": scheme,
        "n_R_file": int(mats["vectors"].shape[0]),
        "degeneracies": "MDRS weights folded into the matrices",
        "energy_shift_eV": float(energy_shift),
        "read_seconds": t_read,
        "build_seconds": t_build,
        "spinors": None if win is None else win.spinors,
        "projections": [] if win is None else list(win.projections),
    }
    return WannierModel.from_wannier(
        chk.lattice,
        positions,
        mats["vectors"],
        mats["H"],
        mats.get("A"),
        mats.get("B"),
        mats.get("C"),
        spin,
        level=level,
        name=name if name is not None else seed,
        parameters=parameters,
        spin_source=spin_source,
        orbital_formula=orbital_formula,
        lopez_centres=built,
    )
