"""The ``qgmag`` command line: a thin shell that reads a config, calls the library once, writes.

Commands: ``run`` (``qgmag.compute`` -> results.nc, summary.md, plots), ``models`` (built-in
models and their parameters), ``info`` (summary of a Wannier90 file), ``bands`` and ``map``
(band-structure and Brillouin-zone plots), ``symmetry`` (magnetic point group and
allowed tensor forms). User errors (bad configuration, unknown model,
missing or malformed file) print one line ``error: ...`` on stderr and exit with code 2;
success exits 0. Results go to stdout only with ``--json``; messages and progress go to
stderr.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from qgmag.errors import ConfigError, QgmagError

app = typer.Typer(
    name="qgmag",
    help="Quantum geometry of Bloch electrons and the magnetization it produces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # help texts are plain: "[run] output" must not be eaten as markup
)

ConfigArg = Annotated[
    Path, typer.Argument(help="TOML configuration file (see docs/config_reference.md).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a configuration key, e.g. --set compute.kmesh=[60,60] "
        "--set model.file=/path/Fe_tb.dat (value parsed as TOML, else taken as a string; a "
        "list of bare words such as [chern_number,anomalous_hall_conductivity] is a list of "
        "strings; quote values with spaces for the shell; relative paths resolve against the "
        "current directory). Repeatable.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Output folder (replaces [run] output)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout only.")]


# -- helpers -------------------------------------------------------------------------------


def _err(message: str) -> None:
    """One message line on stderr."""
    typer.echo(message, err=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn QgmagError into ``error: ...`` + exit 2; print warnings as one line each."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                yield
            finally:
                shown: list[str] = []
                for w in caught:
                    text = _warning_text(w)
                    if text not in shown:
                        shown.append(text)
                        _err(f"warning: {text}")
    except QgmagError as exc:
        _err(f"error: {_one_line(exc)}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _err("interrupted (results.nc is only ever written complete).")
        raise typer.Exit(130) from None


def _warning_text(w: warnings.WarningMessage) -> str:
    return f"{w.category.__name__}: {_one_line(Exception(str(w.message)))}"


def _json_dump(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, allow_nan=False))


def _quote(value: Any) -> str:
    """A TOML literal for an override built from a command-line option."""
    return json.dumps(value) if isinstance(value, str) else str(value).lower()


def _use_agg() -> None:
    import matplotlib

    matplotlib.use("Agg")


def _unsupported_keywords(names: Sequence[str]) -> list[str]:
    """Which of ``names`` qgmag.compute does not accept (parallel/checkpoint keywords)."""
    import qgmag

    params = inspect.signature(qgmag.compute).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    return [n for n in names if n not in params]


# -- qgmag run -----------------------------------------------------------------------------


@app.command()
def run(
    config: ConfigArg,
    output: OutputOpt = None,
    json_out: JsonOpt = False,
    set_: SetOpt = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Parallel execution: 'local' (a Dask LocalCluster) or tcp://host:8786.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Workers of a local cluster (default: one per core); with a scheduler "
            "address, the number of workers to wait for before starting.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from the checkpoint (<output>/checkpoint.qgck unless [run] "
            "checkpoint names a file) and keep saving it; without a checkpoint the run "
            "starts fresh, so batch jobs can always pass it.",
        ),
    ] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the standard plots.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the results of an earlier run in the output folder (all of its "
            "qgmag files at once); without it such a folder is refused.",
        ),
    ] = False,
    electrons: Annotated[
        float | None,
        typer.Option(
            "--electrons",
            help="Electrons per cell in the model's bands: μ = the Fermi level of this "
            "filling (replaces [compute] mu).",
        ),
    ] = None,
    integration: Annotated[
        str | None,
        typer.Option(
            "--integration",
            help="Rule for the Fermi-surface (f0') terms: mesh, tetrahedron (optimized, 3D), "
            "linear-tetrahedron or adaptive-tetrahedron (replaces [compute] integration; "
            "refinement levels: --set compute.adaptive_levels=N).",
        ),
    ] = None,
    units: Annotated[
        list[str] | None,
        typer.Option(
            "--units",
            help="Result in other units, NAME=UNIT (pint), e.g. "
            "--units anomalous_hall_conductivity=S/m. Repeatable.",
        ),
    ] = None,
) -> None:
    """Compute the observables of CONFIG; write results.nc, summary.md and plots."""
    from qgmag.config import load_config
    from qgmag.outputs import OutputFolder

    with _user_errors():
        overrides = list(set_ or [])
        if electrons is not None:
            overrides.append(f"compute.electrons={electrons!r}")
        if units:
            from qgmag.units import parse_unit_options

            for name, unit in parse_unit_options(units).items():
                overrides.append(f"run.units.{name}={_quote(unit)}")
        if integration is not None:
            overrides.append(f"compute.integration={_quote(integration)}")
        if scheduler is not None:
            overrides.append(f"run.scheduler={_quote(scheduler)}")
        if workers is not None:
            overrides.append(f"run.workers={workers}")
        if resume:
            overrides.append("run.resume=true")
        cfg = load_config(config, overrides, output=output)
        folder = OutputFolder(cfg.run.output, overwrite=overwrite, resume=resume)
        with _interrupt_on_sigterm():
            try:
                ds, files = _run(
                    cfg, overrides, plots=not no_plots, progress=not quiet, folder=folder
                )
            except KeyboardInterrupt:
                checkpoint = _checkpoint_path(cfg)
                folder.remove_if_empty()
                if checkpoint.is_file():
                    _err(
                        f"interrupted: partial sums saved in {checkpoint}; rerun the same "
                        "command with --resume to continue."
                    )
                    raise typer.Exit(130) from None
                raise
            except BaseException:
                folder.remove_if_empty()
                raise
    if json_out:
        from qgmag.results import results_to_json

        _json_dump(results_to_json(ds))
    else:
        typer.echo(f"wrote {len(files)} files to {cfg.run.output}:")
        for f in files:
            typer.echo(f"  {f.name}")


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (a batch system's time limit, ``scancel``) like Ctrl-C while running.

    The integration then stops the same way: the checkpoint (if any) is saved and the
    workers are shut down, instead of the process dying with its partial sums.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _input_hashes(cfg: Any, model: Any) -> dict[str, str]:
    """SHA-256 of every input file of a run: the configuration and the model's files."""
    from qgmag.files import sha256_file

    out = {}
    if cfg.source is not None and Path(cfg.source).is_file():
        out[str(cfg.source)] = sha256_file(cfg.source)
    out.update((getattr(model, "parameters", None) or {}).get("input_sha256", {}))
    return out


def _checkpoint_path(cfg: Any) -> Path:
    """[run] checkpoint, else <output>/checkpoint.qgck (every CLI run checkpoints)."""
    from qgmag.config import CHECKPOINT_NAME

    return cfg.run.checkpoint or cfg.run.output / CHECKPOINT_NAME


def _run(
    cfg: Any, overrides: list[str], *, plots: bool, progress: bool, folder: Any = None
) -> tuple[Any, list[Path]]:
    import qgmag
    from qgmag.outputs import OutputFolder
    from qgmag.results import results_to_markdown, save_results

    compute_cfg = cfg.compute
    with warnings.catch_warnings(record=True) as reading:  # e.g. split spinor pairs
        warnings.simplefilter("always")
        model = cfg.model.build()
    execution = cfg.run.execution_kwargs()
    missing = _unsupported_keywords(list(execution))
    if missing:
        raise ConfigError(
            f"this qgmag installation does not support {missing} (parallel execution and "
            "checkpoints); remove [run] scheduler/workers/checkpoint/checkpoint_interval/"
            "resume and --scheduler/--workers/--resume to run serially."
        )
    if not _unsupported_keywords(["checkpoint", "keep_checkpoint"]):
        # checkpoint by default (saved every checkpoint_interval = 60 s and on Ctrl-C), kept
        # until the output files are written, so neither an interrupt nor a failed write
        # loses the integration
        execution.setdefault("checkpoint", _checkpoint_path(cfg))
        execution["keep_checkpoint"] = True
    out = cfg.run.output
    folder = folder or OutputFolder(out, overwrite=False, resume=False)
    folder.prepare()
    bar: Callable[[int, int], None] | None = None
    if progress and cfg.run.progress:
        from qgmag.progress import RichProgress

        bar = RichProgress()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from qgmag.filling import run_fermi_level

        mu, filling = run_fermi_level(model, compute_cfg, log=_err)
        ds = qgmag.compute(
            model,
            list(compute_cfg.quantities),
            mu,
            progress=bar,
            **compute_cfg.kwargs(),
            **execution,
        )
        ds.attrs.update(filling)
        if cfg.run.units or cfg.run.formula_units is not None:
            from qgmag.units import convert_units

            ds = convert_units(ds, cfg.run.units, formula_units=cfg.run.formula_units)
    wall = time.perf_counter() - start
    caught = [*reading, *caught]
    notes = list(dict.fromkeys(_warning_text(w) for w in caught))
    for w in caught:  # shown on stderr by _user_errors
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    ds.attrs.update(
        {
            "config_file": str(cfg.source) if cfg.source else "null",
            "config": json.dumps(cfg.raw, default=str),
            "cli_overrides": json.dumps(overrides),
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_time_s": round(wall, 3),
            "warnings": json.dumps(notes),
            "input_sha256": json.dumps(_input_hashes(cfg, model)),
        }
    )

    def write(staging: Path) -> list[Path]:
        files = [save_results(ds, staging / "results.nc")]
        summary = staging / "summary.md"
        text = results_to_markdown(ds, title=f"qgmag run {cfg.source.name if cfg.source else ''}")
        if notes:
            text += "\n## Warnings\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
        summary.write_text(text, encoding="utf-8")
        files.append(summary)
        if plots and cfg.run.plots:
            _use_agg()
            from qgmag.plotting import plot_observables

            files.extend(plot_observables(ds, staging, formats=cfg.run.formats))
        return files

    checkpoint = execution.get("checkpoint")
    files = folder.write(write, checkpoint=checkpoint)
    if checkpoint is not None and execution.get("keep_checkpoint"):
        from qgmag.checkpoint import is_checkpoint_file

        if Path(checkpoint).is_file() and is_checkpoint_file(Path(checkpoint)):
            Path(checkpoint).unlink(missing_ok=True)
    return ds, files


# -- qgmag models --------------------------------------------------------------------------


def _models_table() -> list[dict[str, Any]]:
    from qgmag.models.registry import BUILTIN_MODELS, model_parameters

    rows = []
    for name, builder in sorted(BUILTIN_MODELS.items()):
        doc = inspect.getdoc(builder) or ""
        kind = "continuum" if "continuum" in builder.__module__ else "lattice"
        params = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in model_parameters(name).items()
        }
        rows.append(
            {
                "name": name,
                "kind": kind,
                "description": " ".join(doc.split("\n\n")[0].split()),
                "parameters": params,
            }
        )
    return rows


@app.command()
def models(json_out: JsonOpt = False) -> None:
    """List the built-in models with their parameters and defaults."""
    rows = _models_table()
    if json_out:
        _json_dump(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="built-in models (energies eV, lengths Å)")
    for col in ("name", "kind", "parameters (defaults)", "description"):
        table.add_column(col)
    for row in rows:
        params = ", ".join(f"{k}={_short(v)}" for k, v in row["parameters"].items())
        table.add_row(row["name"], row["kind"], params, row["description"])
    Console().print(table)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# -- qgmag info ----------------------------------------------------------------------------


@app.command()
def info(
    file: Annotated[Path, typer.Argument(help="Wannier90 seedname_tb.dat or seedname_hr.dat.")],
    lattice: Annotated[
        Path | None, typer.Option("--lattice", help=".win or .wout file with the lattice.")
    ] = None,
    spinor_ordering: Annotated[
        str,
        typer.Option(
            "--spinor-ordering", help="auto, spin-fastest, spin-blocks or none (spinless)."
        ),
    ] = "auto",
    energy_shift: Annotated[
        float, typer.Option("--energy-shift", help="eV added to all energies.")
    ] = 0.0,
    spin_pairs: Annotated[
        str | None,
        typer.Option(
            "--spin-pairs", help="Without .spn: auto, time-reversal or pairs like 0-7,1-2."
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Wannier90 runs: tight-binding, full-connection, full."),
    ] = None,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="Wannier90 runs: wannierberri or postw90.")
    ] = None,
    phase_centres: Annotated[
        str | None,
        typer.Option("--phase-centres", help="Wannier90 runs: wannier-centres or origin."),
    ] = None,
    orbital_formula: Annotated[
        str | None,
        typer.Option("--orbital-formula", help="Wannier90 runs: lopez or projected."),
    ] = None,
    minimal_distance: Annotated[
        str | None,
        typer.Option(
            "--minimal-distance",
            help="_tb.dat/_hr.dat: Wannier90's minimal-distance rule, auto, true or false.",
        ),
    ] = None,
    mp_grid: Annotated[
        str | None,
        typer.Option("--mp-grid", help="_tb.dat/_hr.dat: ab-initio mesh of the rule, e.g. 2,2,2."),
    ] = None,
    time_reversal: Annotated[
        str | None,
        typer.Option(
            "--time-reversal",
            help="_tb.dat/_hr.dat: as-read, or symmetrize (exactly time-reversal symmetric).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Summary of a Wannier90 model: lattice, orbitals, R-vectors, hermiticity, spin."""
    import qgmag
    from qgmag.config import SPINOR_ORDERINGS

    with _user_errors():
        if spinor_ordering not in SPINOR_ORDERINGS:
            raise ConfigError(
                f"--spinor-ordering {spinor_ordering!r} is not allowed; "
                f"choose from {list(SPINOR_ORDERINGS)}."
            )
        kwargs: dict[str, Any] = {
            "spinor_ordering": None if spinor_ordering == "none" else spinor_ordering,
            "energy_shift": energy_shift,
        }
        if lattice is not None:
            kwargs["lattice"] = lattice
        kwargs.update(_run_options(spin_pairs, level, scheme, phase_centres, orbital_formula))
        kwargs.update(_minimal_distance_options(minimal_distance, mp_grid))
        if time_reversal is not None:
            from qgmag.config.schema import TIME_REVERSAL

            if time_reversal not in TIME_REVERSAL:
                raise ConfigError(
                    f"--time-reversal {time_reversal!r} is not allowed; choose from "
                    f"{list(TIME_REVERSAL)}."
                )
            kwargs["time_reversal"] = time_reversal
        summary = qgmag.model_info(file, **kwargs)
    if json_out:
        _json_dump(json.loads(json.dumps(summary, default=str)))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Wannier90 model {summary.get('name')}", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if key == "lattice_angstrom" and value is not None:
            value = "\n".join("  ".join(f"{x:10.5f}" for x in row) for row in value)
        elif isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, list):
            value = ", ".join(_short(x) for x in value)
        table.add_row(key, str(value))
    Console().print(table)


# -- qgmag bands / map ---------------------------------------------------------------------


TargetArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE_OR_MODEL",
        help="TOML configuration, Wannier90 _tb.dat/_hr.dat file, or built-in model name.",
    ),
]
ComponentOpt = Annotated[
    str | None, typer.Option("--component", "-c", help="Component, e.g. z or xy.")
]


def _run_options(
    spin_pairs: str | None, level: str | None, scheme: str | None,
    phase_centres: str | None, orbital_formula: str | None,
) -> dict[str, Any]:
    """Validated --spin-pairs/--level/--scheme/--phase-centres/--orbital-formula."""
    from qgmag.config.schema import (
        ORBITAL_FORMULAS,
        PHASE_CENTRES,
        RUN_LEVELS,
        RUN_SCHEMES,
    )

    out: dict[str, Any] = {}
    for flag, key, value, allowed in (
        ("--level", "level", level, RUN_LEVELS),
        ("--scheme", "scheme", scheme, RUN_SCHEMES),
        ("--phase-centres", "phase_centres", phase_centres, PHASE_CENTRES),
        ("--orbital-formula", "orbital_formula", orbital_formula, ORBITAL_FORMULAS),
    ):
        if value is None:
            continue
        if value not in allowed:
            raise ConfigError(f"{flag} {value!r} is not allowed; choose from {list(allowed)}.")
        out[key] = value
    if spin_pairs is not None:
        if spin_pairs in ("auto", "time-reversal"):
            out["spin_pairs"] = spin_pairs
        else:
            try:
                out["spin_pairs"] = [
                    tuple(int(x) for x in p.split("-", 1)) for p in spin_pairs.split(",")
                ]
            except ValueError:
                raise ConfigError(
                    f"--spin-pairs {spin_pairs!r} is not allowed; give auto, time-reversal or "
                    "0-based up-down pairs separated by commas, e.g. --spin-pairs 0-7,1-2,3-6."
                ) from None
    return out


def _minimal_distance_options(minimal_distance: str | None, mp_grid: str | None) -> dict[str, Any]:
    """Validated --minimal-distance/--mp-grid."""
    out: dict[str, Any] = {}
    if minimal_distance is not None:
        choices = {"auto": "auto", "true": True, "false": False}
        if minimal_distance.lower() not in choices:
            raise ConfigError(
                f"--minimal-distance {minimal_distance!r} is not allowed; choose from "
                f"{list(choices)}."
            )
        out["minimal_distance"] = choices[minimal_distance.lower()]
    if mp_grid is not None:
        try:
            grid = tuple(int(x) for x in mp_grid.replace(" ", "").split(","))
        except ValueError:
            grid = ()
        if len(grid) != 3 or min(grid) < 1:
            raise ConfigError(
                f"--mp-grid {mp_grid!r} is not allowed; give three positive integers separated "
                "by commas, e.g. --mp-grid 2,2,2."
            )
        out["mp_grid"] = grid
    return out


@app.command()
def bands(
    target: TargetArg,
    quantity: Annotated[
        str | None, typer.Argument(help="Band quantity colouring the bands (berry_curvature).")
    ] = None,
    component: ComponentOpt = None,
    output: OutputOpt = None,
    set_: SetOpt = None,
) -> None:
    """Band structure along a high-symmetry path coloured by a band quantity (bands section)."""
    from qgmag.quicklook import load_target, plot_bands_of

    with _user_errors():
        cfg = load_target(
            target,
            list(set_ or []),
            section="bands",
            quantity=quantity,
            component=component,
            output=output,
        )
        _use_agg()
        files = plot_bands_of(cfg)
    for f in files:
        typer.echo(str(f))


@app.command(name="map")
def map_(
    target: TargetArg,
    quantity: Annotated[
        str | None, typer.Argument(help="Band quantity of the map (berry_curvature).")
    ] = None,
    component: ComponentOpt = None,
    output: OutputOpt = None,
    set_: SetOpt = None,
) -> None:
    """Heat map of a band quantity on a Brillouin-zone plane (map section)."""
    from qgmag.quicklook import load_target, plot_map_of

    with _user_errors():
        cfg = load_target(
            target,
            list(set_ or []),
            section="map",
            quantity=quantity,
            component=component,
            output=output,
        )
        _use_agg()
        files = plot_map_of(cfg)
    for f in files:
        typer.echo(str(f))


@app.command()
def symmetry(
    source: Annotated[
        str, typer.Argument(help="Built-in model name, TOML configuration or Wannier90 file.")
    ],
    win: Annotated[
        Path | None,
        typer.Option("--win", help=".win file with the structure (atoms) for spglib."),
    ] = None,
    moment: Annotated[
        list[str] | None,
        typer.Option("--moment", help="Magnetic moment mx,my,mz of each atom (with --win)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Relative violation counted as symmetric.")
    ] = 1e-6,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Magnetic point group of a model and the allowed form of every observable."""
    from qgmag.symmetry.report import format_report, parse_moments, symmetry_command

    with _user_errors():
        report = symmetry_command(
            source,
            win=None if win is None else str(win),
            moments=parse_moments(moment),
            set_=list(set_ or []),
            tolerance=tolerance,
        )
    typer.echo(json.dumps(report, indent=2) if json_out else format_report(report))


def _version(value: bool) -> None:
    if value:
        import qgmag

        typer.echo(f"qgmag {qgmag.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Quantum geometry of Bloch electrons and the magnetization it produces."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``qgmag``)."""
    app(args=list(argv) if argv is not None else None, prog_name="qgmag")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
