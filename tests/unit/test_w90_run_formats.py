"""Formatted and unformatted .spn / .uHu files (pw2wannier90 layouts) read to the same arrays.

The files are written here from random data in each documented layout (unformatted with
scipy.io.FortranFile, independent of qgmag's record reader), so the two readers must
return the same arrays, and the arrays must be the ones written.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import FortranFile

from qgmag.errors import WannierFormatError
from qgmag.io import w90_run as run

NB, NK, NNB = 3, 2, 4


def _spn_values(rng):
    """Hermitian (nk, 3, nb, nb) spin matrices and their m <= n list (n outer, s fastest)."""
    a = rng.normal(size=(NK, 3, NB, NB)) + 1j * rng.normal(size=(NK, 3, NB, NB))
    a = a + np.conj(np.swapaxes(a, 2, 3))
    flat = []
    for k in range(NK):
        flat.append([a[k, s, m, n] for n in range(NB) for m in range(n + 1) for s in range(3)])
    return a, np.array(flat)


def test_spn_formatted_and_unformatted(tmp_path):
    spin, flat = _spn_values(np.random.default_rng(0))
    with FortranFile(tmp_path / "u.spn", "w") as f:
        f.write_record(np.frombuffer(b"header".ljust(60), dtype="S1"))
        f.write_record(np.array([NB, NK], dtype=np.int32))
        for k in range(NK):
            f.write_record(flat[k].astype(np.complex128))
    lines = ["header", f"{NB} {NK}"] + [f"{z.real:.15e} {z.imag:.15e}" for z in flat.ravel()]
    (tmp_path / "f.spn").write_text("\n".join(lines) + "\n")
    for name in ("u.spn", "f.spn"):
        got = run.read_spn(tmp_path / name, NB, NK)
        assert np.max(np.abs(got - spin)) < 1e-12, name
    with pytest.raises(WannierFormatError, match="num_bands = 3"):
        run.read_spn(tmp_path / "f.spn", NB + 1, NK)


def test_uhu_formatted_and_unformatted(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(NK, NNB, NNB, NB, NB)) + 1j * rng.normal(size=(NK, NNB, NNB, NB, NB))
    with FortranFile(tmp_path / "u.uHu", "w") as f:
        f.write_record(np.frombuffer(b"header".ljust(60), dtype="S1"))
        f.write_record(np.array([NB, NK, NNB], dtype=np.int32))
        for k in range(NK):
            for b2 in range(NNB):
                for b1 in range(NNB):
                    f.write_record(data[k, b1, b2].ravel().astype(np.complex128))  # n fastest
    order = data.transpose(0, 2, 1, 3, 4).ravel()  # k, b2, b1, m, n
    lines = ["header", f"{NB} {NK} {NNB}"] + [f"{z.real:.15e} {z.imag:.15e}" for z in order]
    (tmp_path / "f.uHu").write_text("\n".join(lines) + "\n")
    for name in ("u.uHu", "f.uHu"):
        assert np.max(np.abs(run.read_uhu(tmp_path / name, NB, NK, NNB) - data)) < 1e-12
    with pytest.raises(WannierFormatError, match="nntot = 4"):
        run.read_uhu(tmp_path / "u.uHu", NB, NK, NNB + 1)
    (tmp_path / "t.uHu").write_bytes((tmp_path / "u.uHu").read_bytes()[:-30])
    with pytest.raises(WannierFormatError, match="truncated"):
        run.read_uhu(tmp_path / "t.uHu", NB, NK, NNB)
