"""``qgmag.compute``: Brillouin-zone integrated observables for many μ and T in one pass."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from qgmag import constants as c
from qgmag.allocator import tune_allocator
from qgmag.bands.engine import DEFAULT_DEGENERACY_TOL, check_degeneracy_tol
from qgmag.errors import QgmagError, QgmagWarning
from qgmag.integrate.chunk import (
    FERMI_STEP_KEY,
    QUASI_DEGENERATE_KEY,
    IntegrationPlan,
    PartialSums,
    integrate_chunk,
    roundoff_key,
)
from qgmag.integrate.reduction import OrderedSum
from qgmag.integrate.tetrahedron import INTEGRATION_RULES
from qgmag.kspace.mesh import Mesh, make_mesh
from qgmag.models.base import Model
from qgmag.models.wannier_model import model_level, quantity_level
from qgmag.observables.registry import (
    KINETIC_ORBITAL_INTRINSIC_BY_PARTS,
    OBSERVABLES,
    Observable,
    Parameters,
    Term,
)
from qgmag.occupation import Smearing, parse_smearing

CARTESIAN = ("x", "y", "z")
METRIC_DIPOLE_FORMS = ("analytic", "fermi_surface")
ProgressCallback = Callable[[int, int], None]
Runner = Callable[[Model, "IntegrationPlan", ProgressCallback | None, OrderedSum], PartialSums]
#: working-memory target of one chunk (bytes); sets the automatic chunk size
CHUNK_MEMORY_BYTES = 128 * 2**20


def _as_1d(values: object, name: str, unit: str) -> np.ndarray:
    try:
        if isinstance(values, str | bytes | bool):
            raise TypeError
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        arr = np.empty((0,))
    if arr.ndim != 1 or arr.size == 0:
        raise QgmagError(
            f"{name} must be a number or a 1D list of numbers ({unit}); got {values!r}."
        )
    if not np.all(np.isfinite(arr)):
        raise QgmagError(f"{name} contains NaN or infinite values.")
    return arr


def _number(value: object, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise QgmagError(f"{name} must be a number ({what}); got {value!r}.")
    return float(value)


def _check_model(model: object) -> None:
    """A qgmag model (the Model protocol), else a QgmagError saying how to build one."""
    needed = ("dim", "n_bands", "spin", "derivatives", "summary")
    if isinstance(model, str) or not all(hasattr(model, a) for a in needed):
        hint = (
            f" (a model name: use qgmag.models.build_model({model!r}))"
            if isinstance(model, str)
            else ""
        )
        raise QgmagError(
            "model must be a qgmag model (qgmag.models.haldane(), qgmag.read_wannier90(...), "
            f"a TightBindingModel or ContinuumModel){hint}; got {type(model).__name__} "
            f"{model!r:.60}."
        )


def _select_observables(quantities: str | Iterable[str], model: Model) -> list[Observable]:
    names = (
        [quantities]
        if isinstance(quantities, str)
        else list(quantities)
        if isinstance(quantities, Iterable)
        else None
    )
    if names is None or not all(isinstance(n, str) for n in names):
        raise QgmagError(
            f"quantities must be a name or a list of names (choose from {sorted(OBSERVABLES)}); "
            f"got {quantities!r}."
        )
    if not names:
        raise QgmagError(f"no quantities requested; choose from {sorted(OBSERVABLES)}.")
    unknown = [n for n in names if n not in OBSERVABLES]
    if unknown:
        raise QgmagError(f"unknown quantity {unknown}; choose from {sorted(OBSERVABLES)}.")
    selected = [OBSERVABLES[n] for n in dict.fromkeys(names)]
    for obs in selected:
        if obs.needs_spin and model.spin is None:
            note = (getattr(model, "parameters", None) or {}).get("spin_note")
            raise QgmagError(
                f"{obs.name} needs spin matrices but model {model.summary()['name']!r} has none; "
                + (
                    f"{note}."
                    if note
                    else "use a spinful model (spin=... or spinor_ordering=... for Wannier90 "
                    "files)."
                )
            )
        if obs.warning:
            warnings.warn(obs.warning, QgmagWarning, stacklevel=3)
        if obs.only_2d and model.dim != 2:
            raise QgmagError(
                f"{obs.name} is defined for 2D models only; this model is {model.dim}D."
            )
    return selected


#: complex n x n work matrices per k-point (measured with tracemalloc on Te, 24 bands:
#: AHC + M^O ~16, kinetic_orbital_extrinsic ~20, terms with ∂²H ~72); with margin. With ∂²H
#: the margin is wider (chunks of ~100 instead of ~150 Te points: the same CPU time per
#: k-point, 8 MiB less peak RSS, which leaves room for numba's ~100 MiB in the F tensor)
WORK_MATRICES_PER_K = 40
WORK_MATRICES_PER_K_SECOND_DERIVATIVES = 140


def auto_chunk_size(n_bands: int, n_mu_t: int, second_derivatives: bool = False) -> int:
    """k-points per chunk keeping band matrices and kernels near CHUNK_MEMORY_BYTES."""
    matrices = WORK_MATRICES_PER_K_SECOND_DERIVATIVES if second_derivatives else WORK_MATRICES_PER_K
    per_k = 16 * n_bands**2 * matrices + 8 * n_bands * n_mu_t * 4
    return int(np.clip(CHUNK_MEMORY_BYTES // per_k, 64, 20000))


def build_plan(
    model: Model,
    observables: Sequence[Observable],
    mu: np.ndarray,
    temperature: np.ndarray,
    mesh: Mesh,
    *,
    smearing: Smearing | None,
    degeneracy_tol: float,
    metric_dipole: str,
    chunk_size: int | None,
    gauge_seed: int | None = None,
) -> IntegrationPlan:
    """The immutable description of one integration (what workers receive)."""
    terms: list[tuple[str, Term]] = []
    for obs in observables:
        obs_terms = obs.terms
        if obs.name == "kinetic_orbital_intrinsic" and metric_dipole == "fermi_surface":
            obs_terms = KINETIC_ORBITAL_INTRINSIC_BY_PARTS
        terms.extend((obs.name, t) for t in obs_terms)
    second = any(t.needs_second_derivatives for _, t in terms)
    size = chunk_size or auto_chunk_size(model.n_bands, len(mu) * len(temperature), second)
    if size < 1:
        raise QgmagError(f"chunk_size must be a positive integer; got {chunk_size}.")
    return IntegrationPlan(
        mesh,
        tuple(terms),
        tuple(float(x) for x in mu),
        tuple(float(x) for x in temperature),
        smearing,
        float(degeneracy_tol),
        int(size),
        gauge_seed,
    )


def with_tetrahedra(
    model: Model,
    plan: IntegrationPlan,
    kind: str,
    mu: np.ndarray,
    temperature: np.ndarray,
    smearing: Smearing | None,
) -> IntegrationPlan:
    """The plan with the tetrahedron rule's f0' weights (computed on the whole mesh)."""
    from dataclasses import replace

    from qgmag.integrate.tetrahedron import TetrahedronRule

    rule = getattr(plan.mesh, "rule", None)  # an adaptive mesh carries its own weights
    if rule is None:
        rule = TetrahedronRule.build(
            model, plan.mesh, kind, mu, temperature, smearing, plan.chunk_size
        )
    return replace(plan, integration=rule)


def run_serial(
    model: Model,
    plan: IntegrationPlan,
    progress: ProgressCallback | None = None,
    state: OrderedSum | None = None,
) -> PartialSums:
    """Sum integrate_chunk over the chunks not yet done, in order, in this process.

    The runner protocol of :func:`compute`: ``runner(model, plan, progress, state)``
    computes every chunk of ``state.todo()``, records each with ``state.add(index,
    result)`` then calls ``progress(state.points_done, state.n_points)``, and returns
    ``state.total()``. ``state`` may come from a checkpoint with chunks already done.
    """
    if state is None:
        state = OrderedSum(plan.chunk_bounds)
    if progress is not None:
        progress(state.points_done, state.n_points)
    for index in list(state.todo()):
        start, stop = state.bounds[index]
        state.add(index, integrate_chunk(model, plan, start, stop))
        if progress is not None:
            progress(state.points_done, state.n_points)
    return state.total()


def compute(
    model: Model,
    quantities: str | Iterable[str],
    mu: float | Sequence[float] | np.ndarray,
    temperature: float | Sequence[float] | np.ndarray = 0.0,
    kmesh: Sequence[int] | None = None,
    *,
    tau: float = 10.0,
    smearing: object = None,
    g_s: float = 2.0,
    shift: bool = False,
    chunk_size: int | None = None,
    degeneracy_tol: float = DEFAULT_DEGENERACY_TOL,
    convergence_check: bool = False,
    metric_dipole: str = "analytic",
    progress: bool | ProgressCallback | None = None,
    runner: Runner | None = None,
    gauge_seed: int | None = None,
    scheduler: object = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float = 60.0,
    resume: bool = False,
    symmetry: object = None,
    symmetry_mesh: str = "irreducible",
    symmetry_tolerance: float = 1e-6,
    integration: str = "mesh",
    adaptive_levels: int | None = None,
    keep_checkpoint: bool = False,
    allow_coarse_mesh: bool = False,
) -> xr.Dataset:
    """Brillouin-zone integrated observables (SPEC §3) for every (μ, T) in one pass over k.

    Parameters
    ----------
    model : a qgmag model (tight-binding, Wannier90 or continuum).
    quantities : names from :data:`qgmag.observables.OBSERVABLES`.
    mu : chemical potential(s), eV on the model's energy axis.
    temperature : K, >= 0 (scalar or list).
    kmesh : (n1, n2[, n3]) points along the reciprocal vectors (lattice models), or
        (n_radial, n_angle) for continuum disk models.
    tau : relaxation time in fs (extrinsic responses scale linearly with it).
    smearing : numerical broadening used at T = 0 only: None, a width in eV (Fermi–Dirac),
        or (kind, width) with kind "fermi-dirac", "gaussian", "methfessel-paxton". Required
        at T = 0 for Fermi-surface quantities (kinetic_*_extrinsic, by-parts metric dipole).
    g_s : spin g-factor in M^S = -g_s μ_B <S>/ħ (default 2; the seed's Eq. 1 is g_s = 1).
    shift : shift the uniform mesh by half a step (avoids high-symmetry points).
    chunk_size : k-points per chunk (default: from a 128 MiB working-memory target).
    degeneracy_tol : eV, below 0.1; bands closer than this (transitively: chains of
        neighbours) form one degenerate set. The spin Berry curvature also switches off
        pairs split by less than the broadening (k_B T or the smearing) smoothly; see
        docs/degeneracies.md.
    convergence_check : also integrate on a mesh of half the density per direction and
        report |full - half| as ``<name>_error``.
    metric_dipole : "analytic" (∂g from ∂²H) or "fermi_surface" (moved onto f0' by parts)
        for the metric-dipole term of kinetic_orbital_intrinsic.
    progress : True for a progress bar on stderr, or a callable(done_k, total_k) called in
        this process after each chunk (whatever the scheduler); with
        ``convergence_check`` the counts cover both meshes.
    runner : how chunks are executed (default :func:`run_serial`); a callable
        ``runner(model, plan, progress, state)`` (see :func:`run_serial`). Exclusive with
        ``scheduler``; mainly for tests.
    gauge_seed : testing aid: rotate the eigenvectors of every degenerate set by random
        unitaries (seeded); every observable must be unchanged (SPEC §2): to round-off for
        exactly degenerate sets, to O(splitting/gap) for bands that ``degeneracy_tol``
        groups but that are split (such a rotation is not a symmetry of the model).
    scheduler : None (serial, in this process; Dask is not imported), ``"local"`` (a Dask
        LocalCluster on this machine, closed at the end), a Dask scheduler address
        ``"tcp://host:8786"``, or a ``distributed.Client`` (used as is, left open). See
        :mod:`qgmag.parallel` and docs/cluster.md. Results equal the serial ones to
        round-off (chunks are summed in mesh order whatever order they finish in).
    n_workers : worker processes of a ``"local"`` cluster (default: the cores this process
        may use, divided by ``threads_per_worker``); for an address or a Client, the
        number of workers to wait for before starting (default 1).
    threads_per_worker : threads per worker of a ``"local"`` cluster (default 1; BLAS is
        limited to one thread per task in any case).
    checkpoint : file to save the partial sums to (every ``checkpoint_interval`` seconds
        and when the run is interrupted), serial or parallel; deleted after success. See
        :mod:`qgmag.checkpoint`.
    checkpoint_interval : seconds between checkpoint saves (0: after every chunk).
    symmetry : None (default: the full mesh, unsymmetrized, as before), ``"auto"`` (the
        magnetic operations the model keeps, tested on random k) or a
        :class:`qgmag.symmetry.MagneticGroup` (e.g. ``group_from_structure``): integrate
        the irreducible points of the (group-invariant, Γ-centred) mesh with their orbit
        weights and symmetrize every tensor by the group average; equal to the full-mesh
        result when the model has the symmetry. See :mod:`qgmag.symmetry` and
        docs/symmetry.md.
    symmetry_mesh : "irreducible" (default) or "full": evaluate the whole mesh, symmetrize,
        and report ``<name>_forbidden`` = unsymmetrized − symmetrized (how much the model
        breaks the group).
    symmetry_tolerance : relative violation up to which an operation counts as kept by the
        model (``"auto"``) or a given group is accepted without a warning.
    allow_coarse_mesh : accept a mesh too coarse for the broadening of Fermi-surface terms
        (smearing at T = 0, k_B T at T > 0): a warning instead of the error, recorded in
        ``attrs["coarse_mesh"]``.
    keep_checkpoint : keep the checkpoint after success, saved complete (a resume then
        recomputes nothing); the CLI deletes it only once its output files are written.
    resume : continue from ``checkpoint``: the chunks it holds are not recomputed. A
        checkpoint of another calculation (model, mesh, quantities, μ, T, smearing, chunk
        size, ...) or a corrupt file raises :class:`~qgmag.errors.CheckpointError`; a
        missing file gives a QgmagWarning and a fresh start (so a batch job can always
        pass ``resume=True``).
    integration : rule for the Fermi-surface (f0') terms: "mesh" (the point mesh, default),
        "tetrahedron" (optimized tetrahedra, Kawamura et al. PRB 89, 094515 (2014); 3D) or
        "linear-tetrahedron" (linear tetrahedra; triangles in 2D). Tetrahedra need the full
        uniform mesh of a lattice model and need no smearing at T = 0 (exact delta
        function there); Fermi-sea terms always use the point mesh. See
        :mod:`qgmag.integrate.tetrahedron` and docs/performance.md.
        "adaptive-tetrahedron": linear tetrahedra on cells refined where the Fermi surface
        can cross them (:mod:`qgmag.integrate.adaptive`); with ``convergence_check`` the
        error is the difference to one level fewer.
    adaptive_levels : times the cells crossed by the Fermi surface are halved (0 to 8,
        default 2) with integration="adaptive-tetrahedron".

    Returns
    -------
    xarray.Dataset with one variable per quantity (SI units in ``attrs["units"]``), dims
    ("mu", "temperature", "i"[, "j"]); for lattice models also ``<name>_per_cell``
    (Bohr magnetons per cell, or per cell per V/nm); ``orbital_magnetization_local`` and
    ``orbital_magnetization_itinerant``; provenance in ``attrs``.
    """
    _check_model(model)
    tau = _number(tau, "tau", "a relaxation time in fs")
    g_s = _number(g_s, "g_s", "the spin g-factor")
    for flag, label in ((shift, "shift"), (convergence_check, "convergence_check"),
                        (keep_checkpoint, "keep_checkpoint"), (allow_coarse_mesh,
                                                               "allow_coarse_mesh")):
        if not isinstance(flag, bool | np.bool_):
            raise QgmagError(f"{label} must be True or False; got {flag!r}.")
    if chunk_size is not None and (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int | np.integer)
        or chunk_size < 1
    ):
        raise QgmagError(
            f"chunk_size must be a positive integer (k-points per chunk) or None; got "
            f"{chunk_size!r}."
        )
    mu_arr = _as_1d(mu, "mu", "eV")
    temp_arr = _as_1d(temperature, "temperature", "K")
    if np.any(temp_arr < 0):
        raise QgmagError(f"temperature must be >= 0 K; got {temp_arr.tolist()}.")
    if not (np.isfinite(tau) and tau > 0):
        raise QgmagError(f"tau must be a positive relaxation time in fs; got {tau}.")
    if not np.isfinite(g_s):
        raise QgmagError(f"g_s must be a finite number; got {g_s}.")
    if metric_dipole not in METRIC_DIPOLE_FORMS:
        raise QgmagError(
            f"metric_dipole must be one of {METRIC_DIPOLE_FORMS}; got {metric_dipole!r}."
        )
    smear = parse_smearing(smearing)
    if integration not in INTEGRATION_RULES:
        raise QgmagError(f"integration must be one of {INTEGRATION_RULES}; got {integration!r}.")
    degeneracy_tol = check_degeneracy_tol(degeneracy_tol)
    if gauge_seed is not None and not (
        isinstance(gauge_seed, int | np.integer)
        and not isinstance(gauge_seed, bool)
        and gauge_seed >= 0
    ):
        raise QgmagError(f"gauge_seed must be None or an integer >= 0; got {gauge_seed!r}.")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise QgmagError(
            "progress must be True, False, None or a callable progress(done, total); "
            f"got {progress!r}."
        )
    observables = _select_observables(quantities, model)
    mesh = make_mesh(model, kmesh, shift)
    _check_resources(model, observables, mu_arr, temp_arr, mesh, chunk_size, metric_dipole)
    if adaptive_levels is not None and integration != "adaptive-tetrahedron":
        raise QgmagError(
            f"adaptive_levels applies to integration='adaptive-tetrahedron' only; the run has "
            f"integration={integration!r}."
        )
    if integration == "adaptive-tetrahedron":
        from qgmag.integrate.adaptive import DEFAULT_LEVELS, adaptive_mesh

        if symmetry is not None:
            raise QgmagError(
                "integration='adaptive-tetrahedron' refines the full mesh and does not combine "
                "with symmetry (reduced point lists): use symmetry=None."
            )
        levels = DEFAULT_LEVELS if adaptive_levels is None else adaptive_levels
        mesh = adaptive_mesh(model, mesh, levels, mu_arr, temp_arr, smear,
                             chunk_size or 4096, degeneracy_tol, with_parent=convergence_check)
    sym = None
    if symmetry is not None:
        from qgmag.symmetry.integration import prepare

        sym = prepare(
            model,
            symmetry,
            [o.name for o in observables],
            mesh,
            symmetry_mesh=symmetry_mesh,
            tolerance=symmetry_tolerance,
        )
        mesh = sym.mesh
    plan = build_plan(
        model,
        observables,
        mu_arr,
        temp_arr,
        mesh,
        smearing=smear,
        degeneracy_tol=degeneracy_tol,
        metric_dipole=metric_dipole,
        chunk_size=chunk_size,
        gauge_seed=gauge_seed,
    )
    surface_kernels = {"df0", "d2f0", "x_df0", "x_d2f0"}
    if integration != "mesh":
        second = sorted({o for o, t in plan.terms if t.kernel in surface_kernels - {"df0"}})
        if second:
            raise QgmagError(
                f"{second} have f0'' (second-order Fermi-surface) terms, which the "
                f"{integration} rule does not serve (it integrates f0' terms): use "
                "integration='mesh' with a smearing or a temperature."
            )
        surface_kernels = set()  # f0' terms: the tetrahedron rule has the exact delta at T = 0
    if surface_kernels & set(plan.kernels) and smear is None and np.any(temp_arr == 0):
        needing = sorted({o for o, t in plan.terms if t.kernel in surface_kernels})
        raise QgmagError(
            f"{needing} involve the Fermi surface (f0'), a delta function at temperature 0: pass "
            "smearing=('gaussian', width_eV) (or a width for Fermi–Dirac smearing), or only "
            "temperatures > 0."
        )
    plans = {"full": plan}
    if convergence_check:
        plans["half"] = build_plan(
            model,
            observables,
            mu_arr,
            temp_arr,
            mesh.halved(),
            smearing=smear,
            degeneracy_tol=degeneracy_tol,
            metric_dipole=metric_dipole,
            chunk_size=chunk_size,
            gauge_seed=gauge_seed,
        )
    if integration != "mesh" and "df0" in plan.kernels:
        plans = {
            name: with_tetrahedra(model, p, integration, mu_arr, temp_arr, smear)
            for name, p in plans.items()
        }
        plan = plans["full"]
    if runner is not None and scheduler is not None:
        raise QgmagError("pass either runner= or scheduler=, not both.")
    if scheduler is not None or n_workers is not None or threads_per_worker != 1:
        from qgmag.parallel import check_scheduler

        check_scheduler(scheduler, n_workers, threads_per_worker)
    tune_allocator()  # keep chunk temporaries mapped (qgmag.allocator; QGMAG_MALLOC_TUNING=0)
    estimate = _announce_estimate(model, plans, progress, runner, scheduler)
    store = _open_checkpoint(model, checkpoint, checkpoint_interval, resume)
    states = {
        name: store.state(name, p) if store is not None else OrderedSum(p.chunk_bounds)
        for name, p in plans.items()
    }
    callback = _progress_callback(progress)
    execution = "serial"
    close: Callable[[], None] = _nothing
    sums: dict[str, PartialSums] = {}
    try:
        run: Runner = runner or run_serial
        if scheduler is not None and not all(s.complete for s in states.values()):
            from qgmag.parallel import DaskRunner, open_client

            client, close, execution = open_client(scheduler, n_workers, threads_per_worker)
            run = DaskRunner(client)
        tick = _overall_progress(callback, states)
        if store is not None:
            tick = _saving(store, tick)
        for name, p in plans.items():
            sums[name] = run(model, p, tick, states[name])
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            close = _quietly(close)  # workers stopped mid-task: no Dask log noise
        if store is not None and store.dirty:
            store.save_after_error()
        raise
    finally:
        close()
        if hasattr(callback, "close"):
            callback.close()  # type: ignore[union-attr]
    _check_finite(sums, model)
    try:
        coarse = _check_mesh_resolution(sums["full"], plan, allow_coarse_mesh)
    except QgmagError:
        if store is not None and store.dirty:
            store.save_after_error()  # a rerun with allow_coarse_mesh resumes at no cost
        raise
    _warn_quasi_degenerate(sums["full"], plan)
    params = Parameters(model.dim, float(tau), float(g_s))
    attrs: dict[str, Any] = {
        "metric_dipole": metric_dipole,
        "convergence_check": int(convergence_check),
        "execution": execution,
        "integration": integration,
        "allow_coarse_mesh": int(allow_coarse_mesh),
    }
    if coarse:
        attrs["coarse_mesh"] = coarse
    if estimate is not None:
        attrs["estimated_time_s"] = float(estimate)
    if store is not None and resume:
        attrs["resumed_chunks"] = store.restored_chunks
    if sym is not None:
        ds = sym.finish(
            lambda full, half: assemble_dataset(
                model, observables, plan, full, params, half, extra_attrs=attrs
            ),
            sums,
            plan,
            model.dim,
            [o.name for o in observables],
        )
    else:
        ds = assemble_dataset(
            model, observables, plan, sums["full"], params, sums.get("half"), extra_attrs=attrs
        )
    if store is not None:
        if keep_checkpoint:
            if store.dirty:
                store.save_after_error()
        else:
            store.remove()
    return ds


def _nothing() -> None:
    return None


def _quietly(close: Callable[[], None]) -> Callable[[], None]:
    """``close`` with the log records and warnings of Dask/Tornado/asyncio silenced (an
    interrupted cluster otherwise prints a screen of worker and event-loop messages)."""

    def run() -> None:
        import logging

        # Dask's logging config gives some children their own level (tornado.application:
        # error), which a parent's level does not override: silence every logger below too
        roots = ("distributed", "tornado", "asyncio")
        names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in roots]
        loggers = [logging.getLogger(n) for n in sorted(set(names) | set(roots))]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL + 1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                close()
        except Exception:  # closing an interrupted cluster may fail: the interrupt wins
            pass
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)

    return run


def _open_checkpoint(
    model: Model, path: object, interval: float, resume: bool
) -> Any:  # qgmag.checkpoint.Checkpoint | None (imported only when used)
    if not isinstance(resume, bool):
        raise QgmagError(f"resume must be True or False; got {resume!r}.")
    if path is None:
        if resume:
            raise QgmagError(
                "resume=True needs checkpoint= (the file the interrupted run saved to)."
            )
        return None
    if not isinstance(path, str | os.PathLike):
        raise QgmagError(f"checkpoint must be a file path; got {path!r}.")
    from qgmag.checkpoint import Checkpoint

    return Checkpoint(path, model, resume=resume, interval=interval)


def _overall_progress(
    callback: ProgressCallback | None, states: dict[str, OrderedSum]
) -> ProgressCallback | None:
    """Progress over every pass (full mesh, then the half-density one): k-points done of all.

    A runner reports its own pass; the callback sees the points done in all passes
    (chunks restored from a checkpoint included) out of their total, so one progress bar
    runs once from the restored count to the end.
    """
    if callback is None:
        return None
    if len(states) == 1:
        return callback
    total = sum(s.n_points for s in states.values())

    def tick(done: int, pass_total: int) -> None:
        callback(sum(s.points_done for s in states.values()), total)

    return tick


def _saving(store: Any, callback: ProgressCallback | None) -> ProgressCallback:
    """The progress callback that also saves the checkpoint every interval."""

    def tick(done: int, total: int) -> None:
        store.maybe_save()
        if callback is not None:
            callback(done, total)

    return tick


def _check_mesh_resolution(sums: PartialSums, plan: IntegrationPlan, allow: bool) -> str:
    """Refuse a mesh too coarse for the broadening of a Fermi-surface (f0') term (SPEC §5).

    The typical energy step between neighbouring k-points at the Fermi level (from the
    run's own band velocities) must not exceed the broadening: the smearing width at T = 0,
    k_B T at T > 0. Otherwise f0' is sampled at a handful of points and the result can be
    wrong by orders of magnitude. ``allow`` turns the error into a warning; the returned
    text (empty when the mesh is fine) is recorded in the results.
    """
    stats = sums.sums.get(FERMI_STEP_KEY)
    if stats is None:
        return ""
    total, count = stats.ravel()
    if count == 0:
        return ""
    step = total / count
    widths = {
        (f"k_B T = {w:.3g} eV (T = {t:g} K)" if t > 0 else f"smearing width {w:g} eV"): w
        for t, w in zip(plan.temperature, plan.broadenings, strict=True)
        if w > 0
    }
    if not widths:
        return ""
    label, width = min(widths.items(), key=lambda item: item[1])
    if width >= step:
        return ""
    factor = step / width
    counts = getattr(plan.mesh, "counts", None)
    needed = (
        f"kmesh = {[int(np.ceil(n * factor)) for n in counts]}"
        if counts is not None
        else f"about {factor:.1f}x more points per direction"
    )
    text = (
        f"the kmesh {plan.mesh.describe().get('kmesh')} is too coarse for the broadening "
        f"{label} of the Fermi-surface terms: neighbouring k-points differ by {step:.3g} eV "
        f"at the Fermi level, so f0' is sampled at a few points and the result is not "
        f"converged. Use {needed} or more, a broadening >= {step:.2g} eV, "
        + (
            f"integration={'tetrahedron' if len(counts) == 3 else 'linear-tetrahedron'!r} "
            "([compute] integration; f0' without sampling), "
            if counts is not None and not {"d2f0", "x_df0", "x_d2f0"} & set(plan.kernels)
            else ""
        )
        + "or allow_coarse_mesh=True ([compute] allow_coarse_mesh = true) to accept it."
    )
    if not allow:
        raise QgmagError(text)
    warnings.warn(text, QgmagWarning, stacklevel=3)
    return text


#: runs predicted to take longer than this (s) print their estimate when progress is shown
LONG_RUN_SECONDS = 60.0
#: k-points of the calibration chunk timed to predict the run time
CALIBRATION_POINTS = 128


def _check_resources(
    model: Model,
    observables: Sequence[Observable],
    mu: np.ndarray,
    temperature: np.ndarray,
    mesh: Mesh,
    chunk_size: int | None,
    metric_dipole: str,
) -> None:
    """Refuse requests whose memory cannot fit, before any plan or chunk list is built."""
    from qgmag.resources import check_chunks, check_memory, compute_memory

    terms = [t for o in observables for t in o.terms]
    second = any(t.needs_second_derivatives for t in terms) and metric_dipole == "analytic"
    n_mu_t = len(mu) * len(temperature)
    size = chunk_size or auto_chunk_size(model.n_bands, n_mu_t, second)
    check_chunks(mesh.n_points, size, mesh.describe().get("kmesh"))
    work = WORK_MATRICES_PER_K_SECOND_DERIVATIVES if second else WORK_MATRICES_PER_K
    needed = compute_memory(
        n_bands=model.n_bands,
        n_mu=len(mu),
        n_t=len(temperature),
        n_points=mesh.n_points,
        chunk_size=size,
        work_matrices=work,
        n_kernels=len({t.kernel for t in terms}),
        n_values=9 * len(terms),
    )
    check_memory(
        needed,
        f"this calculation ({len(mu)} μ x {len(temperature)} T values, {model.n_bands} bands, "
        f"chunks of {min(size, mesh.n_points)} k-points)",
        "use fewer μ/T values (several runs), or a smaller chunk_size.",
    )


def _announce_estimate(
    model: Model,
    plans: dict[str, IntegrationPlan],
    progress: object,
    runner: object,
    scheduler: object,
) -> float | None:
    """Predict the serial run time from a calibration chunk (long meshes only); print it on
    stderr when a progress display is requested and the run will take over a minute."""
    import sys

    from qgmag.resources import estimate_time, format_duration

    if runner is not None:
        return None
    total = sum(p.mesh.n_points for p in plans.values())
    plan = plans["full"]
    n_cal = min(CALIBRATION_POINTS, plan.mesh.n_points)
    if total < 50 * n_cal:
        return None
    seconds = estimate_time(lambda n: integrate_chunk(model, plan, 0, n), total, n_cal)
    if progress and seconds > LONG_RUN_SECONDS:
        where = "on one core" if scheduler is None else "on one core (divide by the workers)"
        print(
            f"qgmag: {total:,} k-points, estimated {format_duration(seconds)} {where} "
            f"(from a {n_cal}-point calibration)",
            file=sys.stderr,
        )
    return seconds


def _check_finite(sums: dict[str, PartialSums], model: Model) -> None:
    """Refuse to return NaN or infinite results (a model producing them is broken)."""
    for partial in sums.values():
        for (obs, term), value in partial.sums.items():
            if obs != "__stats__" and not np.all(np.isfinite(value)):
                raise QgmagError(
                    f"{obs} ({term} term) came out NaN or infinite for model "
                    f"{model.summary().get('name')!r}: its Hamiltonian, derivatives or spin "
                    "matrices are not finite somewhere in the Brillouin zone; check the "
                    "model's parameters and functions."
                )


def _warn_quasi_degenerate(sums: PartialSums, plan: IntegrationPlan) -> None:
    stats = sums.sums.get(QUASI_DEGENERATE_KEY)
    if stats is None:
        return
    quasi, near = stats.ravel()
    if quasi == 0:
        return
    warnings.warn(
        f"{quasi / max(near, 1):.1%} of the states near the chemical potentials have a partner "
        f"band split by more than degeneracy_tol ({plan.degeneracy_tol:g} eV) but less than "
        f"the broadening ({max(plan.broadenings):.3g} eV): their mutual spin Berry curvature "
        "is switched off smoothly with the broadening (docs/degeneracies.md); results at a "
        "smaller broadening may differ.",
        QgmagWarning,
        stacklevel=3,
    )


def _progress_callback(progress: bool | ProgressCallback | None) -> ProgressCallback | None:
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    from qgmag.progress import RichProgress

    return RichProgress()


def _components(obs: Observable, dim: int) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    if obs.shape == "scalar":
        return (), {}
    if obs.shape == "vector":
        return ("i",), {"i": list(CARTESIAN)}
    if obs.shape == "rank3":
        fields = list(CARTESIAN[:dim])
        return ("i", "j", "k"), {"i": list(CARTESIAN), "j": fields, "k": fields}
    return ("i", "j"), {"i": list(CARTESIAN), "j": list(CARTESIAN[:dim])}


def _shape_values(obs: Observable, raw: np.ndarray, dim: int) -> np.ndarray:
    """(n_mu, n_T, C) -> (n_mu, n_T[, 3[, d]])."""
    if obs.shape == "scalar":
        return raw[..., 2]  # z component (2D Chern number)
    if obs.shape == "vector":
        return raw
    if obs.shape == "rank3":
        return raw.reshape(*raw.shape[:2], 3, dim, dim)
    return raw.reshape(*raw.shape[:2], 3, dim)


def assemble_dataset(
    model: Model,
    observables: Sequence[Observable],
    plan: IntegrationPlan,
    sums: PartialSums,
    params: Parameters,
    error_sums: PartialSums | None = None,
    extra_attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Turn reduced partial sums into the labelled, unit-carrying result Dataset."""
    from qgmag import __version__

    dim = model.dim
    volume = model.cell_volume
    volume_si = None if volume is None else volume * c.ANGSTROM**dim
    variables: dict[str, xr.DataArray] = {}
    coords = {"mu": np.asarray(plan.mu), "temperature": np.asarray(plan.temperature)}

    def value(source: PartialSums, obs: Observable) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        parts = {}
        for name, term in plan.terms:
            if name == obs.name:
                parts[term.name] = source.sums[(name, term.name)] * term.factor(params)
        total = sum(parts.values())
        for part in obs.extra_outputs:  # a part may group terms: "tau0" = "tau0_sea" + ...
            if part not in parts:
                parts[part] = sum(v for k, v in list(parts.items()) if k.startswith(part + "_"))
        return total, parts  # type: ignore[return-value]

    def roundoff(obs: Observable) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Round-off estimate of the total and of every output part with a guarded term
        (estimates of grouped terms add); None if no term of ``obs`` is guarded."""
        terms = {}
        for name, term in plan.terms:
            if name == obs.name and term.guarded:
                key = roundoff_key(name, term.name)
                terms[term.name] = sums.sums[key] * abs(term.factor(params))
        if not terms:
            return None
        parts = {
            part: sum(v for k, v in terms.items() if k == part or k.startswith(part + "_"))
            for part in obs.extra_outputs
            if any(k == part or k.startswith(part + "_") for k in terms)
        }
        return sum(terms.values()), parts  # type: ignore[return-value]

    for obs in observables:
        comp_dims, comp_coords = _components(obs, dim)
        dims = ("mu", "temperature", *comp_dims)
        units = obs.units(dim)
        total, parts = value(sums, obs)

        def make(
            data: np.ndarray,
            units: str,
            desc: str,
            obs: Observable = obs,
            dims: tuple[str, ...] = dims,
            comp_coords: dict[str, list[str]] = comp_coords,
        ) -> xr.DataArray:
            return xr.DataArray(
                _shape_values(obs, data, dim),
                dims=dims,
                coords={**coords, **comp_coords},
                attrs={
                    "units": units,
                    "description": desc,
                    "equation": obs.equation,
                    "level": quantity_level(model, obs.name),
                },
            )

        variables[obs.name] = make(total, units, obs.description)
        for part in obs.extra_outputs:
            variables[f"{obs.name}_{part}"] = make(parts[part], units, f"{part} term of {obs.name}")
        if obs.per_cell is not None and volume_si is not None:
            factor, cell_units = obs.per_cell
            variables[f"{obs.name}_per_cell"] = make(
                total * factor(volume_si), cell_units, obs.description + " (per unit cell)"
            )
            for part in obs.extra_outputs:
                variables[f"{obs.name}_{part}_per_cell"] = make(
                    parts[part] * factor(volume_si),
                    cell_units,
                    f"{part} term of {obs.name} (per cell)",
                )
        estimate = roundoff(obs)
        if estimate is not None:
            what = (
                "order-of-magnitude estimate of the absolute round-off error of {} "
                "(Σ_k w_k Σ_n |kernel| ε_mach κ(k) |weight| over its terms with inverse powers "
                "of band gaps): a component smaller than it is zero within round-off"
            )
            est_total, est_parts = estimate
            cell = obs.per_cell is not None and volume_si is not None
            entries = [("", est_total, obs.name)] + [
                (f"_{part}", v, f"the {part} term of {obs.name}") for part, v in est_parts.items()
            ]
            for suffix, data, label in entries:
                variables[f"{obs.name}{suffix}_roundoff"] = make(data, units, what.format(label))
                if cell:
                    factor, cell_units = obs.per_cell  # type: ignore[misc]
                    variables[f"{obs.name}{suffix}_roundoff_per_cell"] = make(
                        data * factor(volume_si), cell_units, what.format(label) + " (per cell)"
                    )
        if error_sums is not None:
            half, _ = value(error_sums, obs)
            variables[f"{obs.name}_error"] = make(
                np.abs(total - half),
                units,
                f"convergence estimate |full mesh - half-density mesh| of {obs.name}",
            )
    ds = xr.Dataset(variables)
    ds["mu"].attrs["units"] = "eV"
    ds["temperature"].attrs["units"] = "kelvin"
    ds.attrs.update(
        {
            "qgmag_version": __version__,
            "model": json.dumps(model.summary(), default=str),
            "mesh": json.dumps(plan.mesh.describe()),
            "kmesh": list(plan.mesh.describe()["kmesh"]),  # type: ignore[arg-type]
            "n_kpoints": int(sums.n_points),
            "n_kpoints_evaluated": int(sums.n_points),
            "smearing": json.dumps(plan.smearing.as_dict() if plan.smearing else None),
            "smearing_note": "smearing is applied at temperature 0 only; T > 0 uses Fermi-Dirac",
            "tau_fs": params.tau_fs,
            "g_s": params.g_s,
            "degeneracy_tol_eV": plan.degeneracy_tol,
            "chunk_size": plan.chunk_size,
            "electron_charge": "-e (e > 0)",
            "level": model_level(model),
            "spin_source": str(getattr(model, "spin_source", "model spin matrices")),
            "conventions": (
                "delta M_i = alpha_ij E_j; sigma^c = sigma_ab with (a,b,c) cyclic, "
                "j_a = sigma_ab E_b; "
                "magnetoelectric tensor F with the physical (finite-field) sign"
            ),
            **(extra_attrs or {}),
        }
    )
    return ds
