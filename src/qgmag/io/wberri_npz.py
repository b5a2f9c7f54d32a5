"""WannierBerri ``System_R.to_npz`` folders as a :class:`~qgmag.models.WannierModel`.

A folder holds ``real_lattice.npz``, ``wannier_centers_cart.npz``, ``iRvec.npz`` and
``_XX_R_<key>.npz`` for key in Ham (eV), AA (Å), BB (eV·Å), CC (eV·Å²), SS (Pauli σ),
each as ``arr_0``. Current layout: matrices (nR, n, n[, 3]) and ``iRvec.npz`` with
``iRvec`` and ``shifts_left_red``; legacy layout (WannierBerri < 1.0, ``legacy=True`` or
detected from the shapes): (n, n, nR[, 3]), ``iRvec.npz`` with ``arr_0`` and
``use_wcc_phase.npz``. Both must be in WannierBerri's "convention I" (Bloch sums with the
Wannier centres, the same as qgmag's atomic gauge with the centres as positions); the
old convention II (``use_wcc_phase = False``) is refused. Everything is read with
``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qgmag.errors import WannierFormatError
from qgmag.models.wannier_model import WannierModel


def _load(folder: Path, name: str, key: str = "arr_0") -> np.ndarray:
    path = folder / f"{name}.npz"
    if not path.is_file():
        raise WannierFormatError(f"{str(path)!r} is missing: not a WannierBerri System_R folder.")
    try:
        with np.load(path, allow_pickle=False) as z:
            if key not in z:
                raise WannierFormatError(f"{str(path)!r} has no array {key!r}.")
            return np.array(z[key])
    except WannierFormatError:
        raise
    except ValueError as exc:  # pickled object arrays
        raise WannierFormatError(f"{str(path)!r} cannot be read without pickle: {exc}") from None


def is_wberri_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "_XX_R_Ham.npz").is_file()


def read_wberri_npz(
    path: str | Path,
    *,
    level: str | None = None,
    legacy: bool | None = None,
    energy_shift: float = 0.0,
    name: str | None = None,
) -> WannierModel:
    """Read a WannierBerri ``System_R`` npz folder (see module docstring)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise WannierFormatError(f"{str(folder)!r} is not a folder of WannierBerri npz files.")
    lattice = _load(folder, "real_lattice")
    centres = _load(folder, "wannier_centers_cart")
    with np.load(folder / "iRvec.npz", allow_pickle=False) as z:
        keys = list(z.keys())
        vectors = np.array(z["iRvec"] if "iRvec" in keys else z["arr_0"]).astype(int)
        shifts = np.array(z["shifts_left_red"]) if "shifts_left_red" in keys else None
    n = centres.shape[0]
    ham = _load(folder, "_XX_R_Ham")
    if legacy is None:
        legacy = ham.shape == (n, n, vectors.shape[0]) and ham.shape[0] != vectors.shape[0]
    if (folder / "use_wcc_phase.npz").is_file() and not bool(_load(folder, "use_wcc_phase")):
        raise WannierFormatError(
            f"{str(folder)!r} is in WannierBerri's convention II (use_wcc_phase = False); "
            "re-save it with a current WannierBerri (convention I) to read it."
        )
    if shifts is not None and not np.allclose(shifts @ lattice, centres, atol=1e-6):
        raise WannierFormatError(
            f"{str(folder)!r}: the R-vector shifts are not the Wannier centres (a System_R "
            "with other phase centres is not supported)."
        )

    def matrix(key: str) -> np.ndarray | None:
        if not (folder / f"_XX_R_{key}.npz").is_file():
            return None
        x = _load(folder, f"_XX_R_{key}")
        if legacy:
            x = np.moveaxis(x, 2, 0)
        expected = (vectors.shape[0], n, n)
        if x.shape[:3] != expected:
            raise WannierFormatError(
                f"{str(folder)!r}: _XX_R_{key} has shape {x.shape}, expected {expected}[+(3,)] "
                f"({'legacy' if legacy else 'current'} layout)."
            )
        return x

    ham = matrix("Ham")
    zero = np.flatnonzero(~np.any(vectors, axis=1))
    if zero.size != 1:
        raise WannierFormatError(f"{str(folder)!r}: iRvec has no single R = 0.")
    if energy_shift:
        ham = ham.copy()
        ham[zero[0]] += float(energy_shift) * np.eye(n)
    spin = matrix("SS")
    aa, bb, cc = matrix("AA"), matrix("BB"), matrix("CC")
    if energy_shift and bb is not None:
        bb = bb + float(energy_shift) * aa
    if energy_shift and cc is not None and aa is not None:
        from qgmag.io.w90_rspace import curl_connection  # exact shift (shift_energy)

        cc = cc + float(energy_shift) * curl_connection(lattice, vectors, aa, centres)
    parameters = {
        "source": str(folder),
        "format": "wannierberri_npz" + ("_legacy" if legacy else ""),
        "num_wann": n,
        "wannier_centres_cart": centres.tolist(),
        "phase_centres_cart": centres.tolist(),
        "n_R_file": int(vectors.shape[0]),
        "energy_shift_eV": float(energy_shift),
    }
    return WannierModel.from_wannier(
        lattice,
        centres,
        vectors,
        ham,
        aa,
        bb,
        cc,
        None if spin is None else 0.5 * spin,
        level=level,
        name=name if name is not None else folder.name,
        parameters=parameters,
        spin_source="none" if spin is None else f"S(R) from {folder / '_XX_R_SS.npz'}",
    )
