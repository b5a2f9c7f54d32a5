"""qgmag's tetrahedron rules against WannierBerri's tetrahedron mode (peer code).

Runs only with ``-m peer`` where ``wannierberri`` and ``numba`` are installed.

What the two codes share (WannierBerri 26.10, ``grid/tetrahedron.py``,
``calculators/static.py``): the linear delta function of one tetrahedron. WannierBerri's
``weights_tetra(E, e0, e1, e2, e3, der=1)`` is dE of the occupied volume fraction of a
tetrahedron with linear ε; qgmag's ``tetra_delta_weights`` distributes the same
cross-section measure over the corners, so their sum must equal it exactly. The meshes
differ: WannierBerri takes, for every k-point, 12 tetrahedra joining k to the faces of
the cell centred on k (energies at the 8 half-step corners) and the integrand at k only;
qgmag takes 6 tetrahedra per mesh cell with corners at mesh points and the integrand
interpolated between them. The full responses therefore agree only as both converge.

Model: the cubic Rashba + exchange metal of tests/physics/test_tetrahedron.py, given to
WannierBerri as the same H(R) blocks and Pauli matrices (``get_system_sparse``). Its
``GME_spin_FermiSurf`` is K_{j:i} = -μ_B/Å² ∫[dk] v_j σ_i δ(ε - E_F); qgmag's
``kinetic_spin_extrinsic`` is α_ij = -(τ/ħ) K_{j:i} (from the definitions, with
M^S = -μ_B σ at g_s = 2, δf = e τ E·v f0'/ħ and WannierBerri's "f'" = +δ = -f0').
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy import constants as sc

import qgmag
from qgmag.integrate.tetrahedron import tetra_delta_weights

from ..physics.test_tetrahedron import _rashba_exchange

pytestmark = pytest.mark.peer

TAU_FS = 10.0


def _wb():
    wb = pytest.importorskip("wannierberri")
    pytest.importorskip("numba")
    logging.disable(logging.WARNING)
    return wb


def test_single_tetrahedron_delta_weights_equal_wannierberri():
    _wb()
    from wannierberri.grid.tetrahedron import weights_tetra

    rng = np.random.default_rng(11)
    corners = np.sort(rng.normal(size=(200, 4)), axis=1)
    corners[:20, 1] = corners[:20, 0] + 1e-3  # nearly degenerate corners
    energies = np.linspace(-3.0, 3.0, 61)
    ours = tetra_delta_weights(corners, energies[None, :]).sum(axis=-1)  # (M, E)
    theirs = np.array([weights_tetra(energies, *c, der=1) for c in corners])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max())


def test_edelstein_tensor_with_both_tetrahedron_modes():
    """T = 0, exact delta functions in both codes, 32^3: the optimized rule is within 1e-3
    of its converged value there, WannierBerri's rule within 1e-2 (measured in
    benchmarks/integration_vs_wannierberri.py); the tensors agree to 1.5e-2 of the largest
    component, with the conversion above (a wrong sign or transpose is off by 200 %)."""
    wb = _wb()
    from wannierberri import calculators as calc
    from wannierberri.system.system_sparse import get_system_sparse

    model = _rashba_exchange()
    mu, n = -1.0, 32
    ours = qgmag.compute(model, ["kinetic_spin_extrinsic"], mu, 0.0, (n, n, n), tau=TAU_FS,
                         integration="tetrahedron")["kinetic_spin_extrinsic"].values[0, 0]
    nb = model.n_bands
    pairs = [(i, j) for i in range(nb) for j in range(nb)]
    mats = np.asarray(model.hopping_matrices)
    ham = {tuple(int(x) for x in r): {p: mats[i][p] for p in pairs}
           for i, r in enumerate(np.asarray(model.hopping_vectors))}
    sigma = 2.0 * np.asarray(model.spin)
    system = get_system_sparse(
        np.asarray(model.lattice), wannier_centers_red=np.asarray(model.positions),
        matrices={"Ham": ham, "SS": {(0, 0, 0): {p: sigma[:, p[0], p[1]] for p in pairs}}},
    )
    calcs = {"gme": calc.static.GME_spin_FermiSurf(Efermi=np.array([mu]), tetra=True)}
    grid = wb.Grid(system, NKdiv=1, NKFFT=n, use_symmetry=False)
    with tempfile.TemporaryDirectory() as tmp:
        res = wb.run(system, grid, calculators=calcs, use_irred_kpt=False, symmetrize=False,
                     parallel=False, fout_name=str(Path(tmp) / "wb"),
                     file_Klist_path=str(Path(tmp) / "k"), print_progress_step_time=1e6)
    k_tensor = res.results["gme"].data[0]
    theirs = -(TAU_FS * 1e-15 / (sc.hbar / sc.e)) * k_tensor.T
    scale = np.abs(ours).max()
    assert scale > 0
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1.5e-2 * scale)
