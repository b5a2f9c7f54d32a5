"""Fixtures of the parallel-execution and checkpoint tests: small 3D models, a Dask cluster."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import qgmag

SIGMA = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]]) / 2
#: observables of the equality tests: sea (AHC, M^S, M^O) and surface (f0') terms
QUANTITIES = [
    "anomalous_hall_conductivity",
    "orbital_magnetization",
    "spin_magnetization",
    "kinetic_spin_extrinsic",
]


def random_spinful_model(
    n_sites: int = 2, seed: int = 0, zeeman: float = 0.3
) -> qgmag.TightBindingModel:
    """A 3D cubic tight-binding model with random complex hoppings to |R|_1 <= 2 and spin.

    Spinful (2 n_sites bands, S = σ/2 per site), time reversal broken by a Zeeman term, so
    the anomalous Hall conductivity, spin and orbital magnetization are all non-zero.
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_sites
    half = [
        v
        for v in itertools.product((-1, 0, 1), repeat=3)
        if v > (0, 0, 0) and sum(map(abs, v)) <= 2
    ]
    spin = np.stack([np.kron(np.eye(n_sites), s) for s in SIGMA])
    h0 = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    vectors, matrices = [(0, 0, 0)], [0.5 * (h0 + h0.conj().T) + 2 * zeeman * spin[2]]
    for v in half:
        t = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / (1 + sum(map(abs, v)))
        vectors += [v, tuple(-x for x in v)]
        matrices += [t, t.conj().T]
    positions = rng.uniform(0, 1, size=(n_sites, 3)).repeat(2, axis=0)
    return qgmag.TightBindingModel.from_arrays(
        2.5 * np.eye(3),
        positions,
        np.array(vectors),
        np.array(matrices),
        spin=spin,
        name=f"random spinful {n}-band model",
    )


#: keywords of the small runs: several μ and T, a smearing for the T = 0 surface terms
RUN = {
    "mu": [-0.5, 0.0, 0.7],
    "temperature": [0.0, 300.0],
    "kmesh": (6, 6, 6),
    "smearing": ("gaussian", 3.0),
    # identity tests (serial = parallel = resumed, bit for bit): convergence is not the point
    "allow_coarse_mesh": True,
}


def serial_reference(model: qgmag.TightBindingModel, quantities=QUANTITIES, **kwargs):
    """A serial run with BLAS on one thread, as in Dask tasks (identical arithmetic)."""
    with threadpool_limits(limits=1):
        return qgmag.compute(model, quantities, **kwargs)


def assert_identical(a, b) -> None:
    """Same variables, bit for bit."""
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.fixture(scope="session")
def model() -> qgmag.TightBindingModel:
    return random_spinful_model()


@pytest.fixture(scope="session")
def dask_cluster():
    """A LocalCluster of 2 single-threaded worker processes shared by the tests."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture
def dask_client(dask_cluster):
    """A client of the shared cluster, with both workers up (a test may have killed one)."""
    from distributed import Client

    client = Client(dask_cluster)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
