"""The configuration schema: every section, key, type, default and allowed value
(:data:`SCHEMA`, the single source of truth for validation and docs/config_reference.md),
and the validated configuration objects (:class:`Config` and its sections)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgmag.errors import ConfigError
from qgmag.geometry.dataset import BAND_QUANTITIES
from qgmag.integrate.driver import METRIC_DIPOLE_FORMS
from qgmag.integrate.tetrahedron import INTEGRATION_RULES
from qgmag.io.w90_rspace import SCHEMES
from qgmag.io.wannier90 import BERRY_CONNECTIONS
from qgmag.models.wannier_model import LEVELS, ORBITAL_FORMULAS
from qgmag.observables import OBSERVABLES
from qgmag.occupation import SMEARING_KINDS

#: band_geometry outputs that are not one real number per band (complex or band pairs)
_NOT_PLOTTABLE = {
    "quantum_geometric_tensor",
    "interband_berry_connection",
    "interband_orbital_moment",
}

OBSERVABLE_NAMES = tuple(OBSERVABLES)
SPINOR_ORDERINGS = ("none", "auto", "spin-fastest", "spin-blocks")
RUN_LEVELS = LEVELS
RUN_SCHEMES = SCHEMES
PHASE_CENTRES = ("wannier-centres", "origin")
MINIMAL_DISTANCE = ("auto", True, False)
TIME_REVERSAL = ("as-read", "symmetrize")
PLOT_FORMATS = ("png", "pdf", "svg")
#: band-resolved quantities (of qgmag.band_geometry) that [bands]/[map] can plot
BAND_PLOT_QUANTITIES = tuple(q for q in BAND_QUANTITIES if q not in _NOT_PLOTTABLE)
#: default output folder (relative to the current directory) is results/<config stem>
DEFAULT_OUTPUT_ROOT = "results"
CHECKPOINT_NAME = "checkpoint.qgck"


@dataclass(frozen=True)
class Key:
    """One configuration key: TOML type, default (None = not set) and what it means."""

    type: str
    default: Any
    doc: str
    allowed: tuple[Any, ...] | None = None


#: section -> key -> Key; the single source of truth for validation and the reference docs
SCHEMA: dict[str, dict[str, Key]] = {
    "model": {
        "name": Key("string", None, "built-in model (exclusive with `file`)", None),
        "parameters": Key(
            "table", {}, "parameters of the built-in model (`qgmag models` lists them)"
        ),
        "file": Key(
            "path",
            None,
            "Wannier90 `seedname_tb.dat` or `seedname_hr.dat` file, or a Wannier90 run "
            "(`seedname.chk`, `.chk.fmt` or `.win`)",
        ),
        "lattice": Key(
            "path or 3x3 array",
            None,
            "Wannier90 files: lattice rows in Å, or a `.win`/`.wout` file "
            "(default: from `_tb.dat`, or `seedname.win`/`.wout` beside `_hr.dat`)",
        ),
        "positions": Key(
            "array (num_wann x 3)", None, "Wannier90 files: fractional orbital centres"
        ),
        "centres": Key(
            "path or array (num_wann x 3)",
            None,
            "Wannier90 files: Cartesian centres in Å, or a `_centres.xyz`/`.wout` file",
        ),
        "spinor_ordering": Key(
            "string",
            "none",
            "Wannier90 files: spinor basis order (`none` = spinless: no spin operator)",
            SPINOR_ORDERINGS,
        ),
        "berry_connection": Key(
            "string", "tight-binding", "Wannier90 files: Berry connection", BERRY_CONNECTIONS
        ),
        "energy_shift": Key("float", 0.0, "Wannier90 files: eV added to all energies (e.g. -E_F)"),
        "hermitian_tolerance": Key(
            "float", 1e-6, "Wannier90 files: largest accepted |H(R) - H(-R)^†| in eV"
        ),
        "minimal_distance": Key(
            "string or bool",
            "auto",
            "Wannier90 files: Wannier90's minimal-distance replica rule (`auto`: applied when "
            "the R list is the plain Wigner–Seitz supercell of a mesh, unless the `.win` beside "
            "the file sets use_ws_distance = false; `true`; `false`: read as written)",
            MINIMAL_DISTANCE,
        ),
        "mp_grid": Key(
            "array of 3 ints",
            None,
            "Wannier90 files: ab-initio mesh for `minimal_distance` (default: `mp_grid` of the "
            "`.win` beside the file, else, for `auto`, the mesh of the R list)",
        ),
        "time_reversal": Key(
            "string",
            "as-read",
            "Wannier90 files: `as-read` (H(R) as in the file) or `symmetrize` (made exactly "
            "time-reversal symmetric; refused for a magnetic model)",
            TIME_REVERSAL,
        ),
        "spin_pairs": Key(
            "string or array of [up, down]",
            None,
            "Wannier90 files without `.spn`: `auto`, `time-reversal`, or 0-based index pairs",
        ),
        "level": Key(
            "string",
            None,
            "Wannier90 runs: tight-binding, full-connection or full (default: the most "
            "complete level the files allow)",
            RUN_LEVELS,
        ),
        "scheme": Key(
            "string", "wannierberri", "Wannier90 runs: b-vector finite differences", RUN_SCHEMES
        ),
        "phase_centres": Key(
            "string",
            "wannier-centres",
            "Wannier90 runs: Bloch-phase centres (no observable depends on them)",
            PHASE_CENTRES,
        ),
        "orbital_formula": Key(
            "string", "lopez", "Wannier90 runs: full-level orbital moment", ORBITAL_FORMULAS
        ),
    },
    "compute": {
        "quantities": Key(
            "string or array of strings",
            None,
            "observables to compute (required)",
            OBSERVABLE_NAMES,
        ),
        "mu": Key(
            "float, array, or {start, stop, num}",
            None,
            "chemical potential(s) in eV (required unless `electrons` is given); a table is "
            "numpy.linspace(start, stop, num)",
        ),
        "electrons": Key(
            "float",
            None,
            "electrons per cell in the model's bands (one per band); replaces `mu` by the "
            "Fermi level of this filling at the lowest temperature (lattice models)",
        ),
        "temperature": Key("float or array", 0.0, "temperature(s) in K, >= 0"),
        "kmesh": Key(
            "array of ints",
            None,
            "points along each reciprocal vector (lattice models) or [n_radial, n_angle] "
            "(continuum models); required",
        ),
        "shift": Key("bool", False, "shift the mesh by half a step"),
        "tau": Key("float", 10.0, "relaxation time in fs (extrinsic responses)"),
        "smearing": Key(
            "float, [kind, width] or {kind, width}",
            None,
            "broadening used at T = 0 (width in eV; a bare number = Fermi-Dirac); needed at "
            "T = 0 for Fermi-surface quantities (kinetic_*_extrinsic)",
            SMEARING_KINDS,
        ),
        "g_s": Key("float", 2.0, "spin g-factor in M^S = -g_s μ_B <S>/ħ"),
        "convergence_check": Key(
            "bool", False, "also integrate on a half-density mesh; adds `<name>_error`"
        ),
        "chunk_size": Key("int", None, "k-points per chunk (default: from a memory target)"),
        "degeneracy_tol": Key(
            "float", 1e-6, "eV, < 0.1; closer bands (chains of neighbours) form one degenerate set"
        ),
        "allow_coarse_mesh": Key(
            "bool",
            False,
            "accept a kmesh too coarse for the broadening of Fermi-surface terms (warning, "
            "recorded in results.nc) instead of the error",
        ),
        "metric_dipole": Key(
            "string",
            "analytic",
            "form of the metric-dipole term of kinetic_orbital_intrinsic",
            METRIC_DIPOLE_FORMS,
        ),
        "integration": Key(
            "string",
            "mesh",
            "rule for the Fermi-surface (f0') terms: the point mesh or tetrahedra (3D "
            "`tetrahedron` = optimized; `linear-tetrahedron`, also 2D); no smearing at T = 0",
            INTEGRATION_RULES,
        ),
        "adaptive_levels": Key(
            "int",
            None,
            "with `integration = \"adaptive-tetrahedron\"`: times the cells the Fermi surface "
            "crosses are halved, 0 to 8 (default 2)",
        ),
    },
    "run": {
        "output": Key(
            "path",
            None,
            "output folder (default: `results/<config stem>` in the current directory)",
        ),
        "plots": Key("bool", True, "write the standard plots of `qgmag run`"),
        "formats": Key("array of strings", ["png", "pdf"], "plot file formats", PLOT_FORMATS),
        "progress": Key("bool", True, "progress bar on stderr (k-points done, rate, ETA)"),
        "scheduler": Key(
            "string",
            None,
            "parallel execution: `local` (a Dask LocalCluster) or a scheduler address "
            "`tcp://host:8786` (default: serial)",
        ),
        "workers": Key("int", None, "number of workers of a `local` scheduler"),
        "checkpoint": Key(
            "bool or path",
            False,
            f"checkpoint file; `true` = `<output>/{CHECKPOINT_NAME}` (also the default "
            "when `resume` is set)",
        ),
        "resume": Key("bool", False, "resume from the checkpoint file"),
        "checkpoint_interval": Key(
            "float", 60.0, "seconds between checkpoint saves, >= 0 (0: after every chunk)"
        ),
        "units": Key(
            "table of strings",
            None,
            'results in other units, e.g. `{anomalous_hall_conductivity = "S/m"}` '
            "(pint unit strings; errors and terms follow their observable)",
        ),
        "formula_units": Key(
            "float",
            None,
            "formula units per cell; adds `<name>_per_formula_unit` to the per-cell results",
        ),
    },
    "bands": {
        "path": Key(
            "array of [label, [k1, k2(, k3)]]",
            None,
            "high-symmetry points in reduced coordinates of the reciprocal lattice; a "
            'coordinate may be a fraction string such as "1/3" (default: a standard path '
            "for the lattice)",
        ),
        "n_points": Key("int", 300, "k-points along the whole path"),
        "quantity": Key(
            "string", "berry_curvature", "band quantity colouring the bands", BAND_PLOT_QUANTITIES
        ),
        "component": Key("string", "z", "Cartesian component, e.g. `z` or `xy`"),
        "mu": Key("float", None, "eV; draws the chemical potential (default: none)"),
        "energy_window": Key("[float, float]", None, "eV; energy range shown (default: all)"),
    },
    "map": {
        "quantity": Key(
            "string", "berry_curvature", "band quantity mapped over the BZ", BAND_PLOT_QUANTITIES
        ),
        "component": Key("string", "z", "Cartesian component, e.g. `z` or `xy`"),
        "mu": Key("float", 0.0, "chemical potential in eV (occupations)"),
        "temperature": Key("float", 0.0, "temperature in K (occupations), >= 0"),
        "kz": Key(
            "float",
            0.0,
            "3D models: reduced coordinate k3 of the plane (`plane = \"reduced\"`) or k_z in "
            "1/Å (`plane = \"cartesian\"`)",
        ),
        "plane": Key(
            "string",
            "reduced",
            "3D lattice models: `reduced` (the b1, b2 plane at k3 = kz) or `cartesian` "
            "(the k_x, k_y plane at k_z = kz, with the zone section outlined)",
            ("reduced", "cartesian"),
        ),
        "n": Key("int", 200, "grid points per direction"),
        "band": Key(
            "int", None, "band index (from 0); default: sum over bands weighted by f0(mu, T)"
        ),
    },
}

#: reader keys of Wannier90 runs only, and of tight-binding files only
RUN_KEYS = ("level", "scheme", "phase_centres", "orbital_formula")
TB_FILE_KEYS = ("lattice", "positions", "spinor_ordering", "berry_connection",
                "hermitian_tolerance", "minimal_distance", "mp_grid", "time_reversal")
READER_KEYS = (
    "lattice",
    "positions",
    "centres",
    "spinor_ordering",
    "berry_connection",
    "energy_shift",
    "hermitian_tolerance",
    "minimal_distance",
    "mp_grid",
    "time_reversal",
    "spin_pairs",
    *RUN_KEYS,
)
#: keys holding file paths, resolved against the config folder (or cwd for --set)
PATH_KEYS = {
    ("model", "file"),
    ("model", "lattice"),
    ("model", "centres"),
    ("run", "output"),
    ("run", "checkpoint"),
}


# -- the validated configuration ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """A built-in model (``name``, ``parameters``) or a Wannier90 ``file`` with reader options."""

    name: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None
    reader: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        """The model object (raises QgmagError subclasses for bad parameters or files)."""
        if self.file is not None:
            from qgmag.io import read_wannier90

            return read_wannier90(self.file, **self.reader)
        from qgmag.models.registry import build_model

        if self.name is None:
            raise ConfigError("[model] needs `name` (a built-in model) or `file`.")
        return build_model(self.name, **self.parameters)


@dataclass(frozen=True)
class ComputeConfig:
    """Arguments of :func:`qgmag.compute` (eV, K, fs)."""

    quantities: tuple[str, ...]
    mu: tuple[float, ...]
    temperature: tuple[float, ...] = (0.0,)
    kmesh: tuple[int, ...] | None = None
    shift: bool = False
    tau: float = 10.0
    smearing: float | tuple[str, float] | None = None
    g_s: float = 2.0
    convergence_check: bool = False
    chunk_size: int | None = None
    degeneracy_tol: float = 1e-6
    metric_dipole: str = "analytic"
    allow_coarse_mesh: bool = False
    electrons: float | None = None
    integration: str = "mesh"
    adaptive_levels: int | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of qgmag.compute (besides model, quantities, mu)."""
        return {
            "temperature": list(self.temperature),
            "kmesh": self.kmesh,
            "shift": self.shift,
            "tau": self.tau,
            "smearing": self.smearing,
            "g_s": self.g_s,
            "convergence_check": self.convergence_check,
            "chunk_size": self.chunk_size,
            "degeneracy_tol": self.degeneracy_tol,
            "metric_dipole": self.metric_dipole,
            **({"allow_coarse_mesh": True} if self.allow_coarse_mesh else {}),
            **({"integration": self.integration} if self.integration != "mesh" else {}),
            **(
                {"adaptive_levels": self.adaptive_levels}
                if self.adaptive_levels is not None
                else {}
            ),
        }


@dataclass(frozen=True)
class RunConfig:
    """Output folder, plots and execution options of ``qgmag run``."""

    output: Path
    plots: bool = True
    formats: tuple[str, ...] = ("png", "pdf")
    progress: bool = True
    scheduler: str | None = None
    workers: int | None = None
    checkpoint: Path | None = None
    resume: bool = False
    checkpoint_interval: float | None = None
    units: dict[str, str] = field(default_factory=dict)
    formula_units: float | None = None

    def execution_kwargs(self) -> dict[str, Any]:
        """Parallel/checkpoint keywords of qgmag.compute, only those the user set."""
        out: dict[str, Any] = {}
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
        if self.workers is not None:
            out["n_workers"] = self.workers
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        if self.resume:
            out["resume"] = True
        if self.checkpoint_interval is not None:
            out["checkpoint_interval"] = self.checkpoint_interval
        return out


@dataclass(frozen=True)
class BandsConfig:
    """``[bands]``: band structure along a path coloured by a band quantity."""

    path: tuple[tuple[str, tuple[float, ...]], ...] | None = None
    n_points: int = 300
    quantity: str = "berry_curvature"
    component: str = "z"
    mu: float | None = None
    energy_window: tuple[float, float] | None = None


@dataclass(frozen=True)
class MapConfig:
    """``[map]``: heat map of a band quantity on a BZ plane."""

    quantity: str = "berry_curvature"
    component: str = "z"
    mu: float = 0.0
    temperature: float = 0.0
    kz: float = 0.0
    n: int = 200
    band: int | None = None
    plane: str = "reduced"


@dataclass(frozen=True)
class Config:
    """A validated configuration file (with ``--set`` overrides applied)."""

    source: Path | None
    model: ModelConfig
    compute: ComputeConfig | None
    run: RunConfig
    bands: BandsConfig
    map: MapConfig
    raw: dict[str, Any] = field(default_factory=dict)
