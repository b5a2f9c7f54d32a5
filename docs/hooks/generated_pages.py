"""MkDocs hook: pages generated from their single sources.

* ``cli_reference.md`` from the typer app of ``qgmag``: every command's ``--help`` text
  (usage, arguments, options) comes from the click command that typer builds, so the
  reference cannot drift from the program.
* ``tutorial.md`` from ``examples/tutorial.ipynb`` (markdown cells as text, code cells as
  Python blocks), the notebook the test suite executes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAGE = "cli_reference.md"
TUTORIAL = "tutorial.md"
NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tutorial.ipynb"


def _help(command: Any, ctx: Any) -> str:
    """Plain-text --help of a click command (typer's rich formatting prints instead)."""
    import click

    formatter = ctx.make_formatter()
    click.Command.format_usage(command, ctx, formatter)
    click.Command.format_help_text(command, ctx, formatter)
    click.Command.format_options(command, ctx, formatter)
    if isinstance(command, click.Group):
        click.MultiCommand.format_commands(command, ctx, formatter)
    return formatter.getvalue().rstrip()


def _markdown() -> str:
    import click
    import typer

    from qgmag.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the `qgmag` program itself (`qgmag COMMAND --help`). The guide is",
        "[Command line](cli.md); every configuration key is in the",
        "[configuration reference](config_reference.md).",
        "",
    ]
    with click.Context(root, info_name="qgmag", terminal_width=100) as ctx:
        lines += ["## qgmag", "", "```text", _help(root, ctx), "```", ""]
        for name in root.list_commands(ctx):  # type: ignore[attr-defined]
            command = root.get_command(ctx, name)  # type: ignore[attr-defined]
            with click.Context(command, info_name=name, parent=ctx, terminal_width=100) as sub:
                lines += [f"## qgmag {name}", "", "```text", _help(command, sub), "```", ""]
    return "\n".join(lines)


def _tutorial() -> str:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        source = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown":
            parts.append(source)
        elif cell["cell_type"] == "code":
            parts.append(f"```python\n{source}\n```")
    note = (
        "*This page is the notebook `examples/tutorial.ipynb` of the repository; open it in "
        "Jupyter to run it cell by cell.*"
    )
    return "\n\n".join([parts[0], note, *parts[1:]]) + "\n"


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=_markdown()))
    files.append(File.generated(config, TUTORIAL, content=_tutorial()))
    return files
