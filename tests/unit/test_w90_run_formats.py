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
    """Spin matrices <ψ_m|σ_s|ψ_n> (nk, 3, nb, nb) of random orthonormal spinors ψ (2 orbitals
    x 2 spins, so that they are physical: Hermitian, |entries| <= 1) and their m <= n list
    (n outer, s fastest)."""
    pauli = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    sigma = np.array([np.kron(np.eye(2), s) for s in pauli])  # (3, 4, 4), spin fastest
    a = np.empty((NK, 3, NB, NB), dtype=complex)
    for k in range(NK):
        z = rng.normal(size=(4, NB)) + 1j * rng.normal(size=(4, NB))
        psi, _ = np.linalg.qr(z)  # (4, NB) orthonormal columns
        a[k] = np.conj(psi.T)[None] @ sigma @ psi[None]
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
    # |<m|σ|n>| <= 1 for normalised states: a larger element is a corrupt file
    lines = ["header", f"{NB} {NK}"] + [f"{3 * z.real:.15e} {z.imag:.15e}" for z in flat.ravel()]
    (tmp_path / "bad.spn").write_text("\n".join(lines) + "\n")
    with pytest.raises(WannierFormatError, match="> 1 spin matrix elements"):
        run.read_spn(tmp_path / "bad.spn", NB, NK)


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
