"""Issue 14 item 13: every code block of README.md and docs/ runs as written.

Blocks are extracted from the markdown files and executed, one test per document, in the
order they appear and in one namespace (later blocks may use names of earlier ones), in a
fresh working folder that holds ``examples/`` and the reference Wannier files of
``../shared/data`` (``Fe_tb.dat``, ``Te_tb.dat``, ...) when available:

* ``python`` blocks are executed (``exec``);
* ``toml`` blocks are checked with :func:`qgmag.config.load_config`; a block preceded by
  ``<!-- docs-test: file NAME -->`` is saved as NAME for the shell blocks after it;
* shell blocks (``bash``/``sh`` or unlabelled) run every line that starts with ``qgmag``
  through the command line (exit code 0 required; ``--json`` output must parse). The only
  rewriting: the placeholder folders ``/path/to/`` and ``/data/Fe/`` of the reference files
  are dropped (the files are in the working folder).

A block preceded by ``<!-- docs-test: skip REASON -->`` is not run; each one is reported as a
skipped test with its reason. A document with a block marked ``<!-- docs-test: slow -->`` is
a slow test (``-m slow``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARK = re.compile(r"<!--\s*docs-test:\s*(skip|slow|file)\s*(.*?)\s*-->\s*$")
SHELL = ("", "bash", "sh", "console", "shell")
PLACEHOLDERS = ("/path/to/", "/data/Fe/")


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    body: str
    mark: str = ""
    arg: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks_of(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        out.append(
            Block(
                doc,
                text[: m.start()].count("\n") + 1,
                m.group(1).lower(),
                m.group(2),
                *(mark.groups() if mark else ("", "")),
            )
        )
    return out


ALL = {doc: blocks_of(doc) for doc in DOCS}
SKIPPED = [b for blocks in ALL.values() for b in blocks if b.mark == "skip"]


def _doc_param(doc: Path) -> object:
    slow = any(b.mark == "slow" for b in ALL[doc])
    marks = [pytest.mark.slow] if slow else []
    return pytest.param(doc, id=str(doc.relative_to(ROOT)), marks=marks)


def _workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    data = shared_data_dir()
    (work / "wannier").mkdir()  # the docs' wannier/ folder holds the same files
    if data.is_dir():
        for f in [*data.glob("*/*"), *data.glob("*/wannier90/*.win")]:
            if f.is_file() and f.suffix in (".dat", ".win"):
                (work / f.name).symlink_to(f)
                (work / "wannier" / f.name).symlink_to(f)
        (tmp_path / "shared").mkdir()  # ../shared/data as beside a clone of the repository
        (tmp_path / "shared" / "data").symlink_to(data)
        if (data / "Fe" / "wannier90" / "Fe.chk").is_file():  # a Wannier90 run
            (work / "Fe_w90").symlink_to(data / "Fe" / "wannier90")
    return work


def _needs_missing_file(block: Block, work: Path) -> str | None:
    for name in re.findall(r"[\w.-]+_(?:tb|hr)\.dat", block.body):
        if not (work / name).exists():
            return name
    if "Fe_w90/" in block.body and not (work / "Fe_w90").exists():
        return "Fe_w90/ (the Fe Wannier90 run)"
    return None


def _run_shell(block: Block, work: Path) -> None:
    from typer.testing import CliRunner

    from qgmag.cli import app

    runner = CliRunner()
    for raw in block.body.replace("\\\n", " ").splitlines():  # join continued lines
        line = raw.split("  #", 1)[0].strip()
        if not line.startswith("qgmag "):
            continue
        for placeholder in PLACEHOLDERS:
            line = line.replace(placeholder, "")
        pipe = None
        if "|" in line:
            line, pipe = (x.strip() for x in line.split("|", 1))
        redirect = None
        if ">" in shlex.split(line):
            line, redirect = (x.strip() for x in line.rsplit(">", 1))
        args = shlex.split(line)[1:]
        if args and args[0] == "run" and "--overwrite" not in args:
            args.append("--overwrite")  # the same example may run twice in one document
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{block.where}: `{line}` failed:\n{result.output}"
        if "--json" in args:
            data = json.loads(result.stdout)
            if pipe is not None:  # e.g. | python -c "...json.load(sys.stdin)[0]..."
                assert data
        if redirect is not None:
            (work / redirect).write_text(result.stdout)


def _run_toml(block: Block, work: Path) -> None:
    from qgmag.config import load_config

    name = block.arg if block.mark == "file" else f"block_{block.line}.toml"
    path = work / name
    path.write_text(block.body, encoding="utf-8")
    cfg = load_config(path, [])
    assert cfg.model is not None


@pytest.mark.parametrize("doc", [_doc_param(d) for d in DOCS if ALL[d]])
def test_code_blocks_run_as_written(doc: Path, tmp_path: Path) -> None:
    work = _workdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    old = Path.cwd()
    old_env = os.environ.get("QGMAG_SHARED_DATA")
    os.environ["QGMAG_SHARED_DATA"] = str(shared_data_dir())  # docs read it, else ../shared
    os.chdir(work)
    try:
        for block in ALL[doc]:
            if block.mark == "skip":
                continue
            missing = _needs_missing_file(block, work)
            if missing:
                pytest.skip(f"{block.where} needs {missing} (reference data not available)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if block.lang == "python":
                    code = compile(block.body, block.where, "exec")
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(code, namespace)  # noqa: S102
                elif block.lang == "toml":
                    _run_toml(block, work)
                elif block.lang in SHELL:
                    _run_shell(block, work)
                else:
                    raise AssertionError(
                        f"{block.where}: ```{block.lang} block: mark it "
                        "<!-- docs-test: skip REASON --> or make it runnable"
                    )
            ran += 1
    finally:
        os.chdir(old)
        if old_env is None:
            os.environ.pop("QGMAG_SHARED_DATA", None)
        else:
            os.environ["QGMAG_SHARED_DATA"] = old_env
    assert ran > 0


@pytest.mark.parametrize("block", SKIPPED, ids=[b.where for b in SKIPPED])
def test_blocks_marked_not_runnable_say_why(block: Block) -> None:
    assert block.arg, f"{block.where}: a skipped block needs a reason"
    pytest.skip(f"{block.where}: not run: {block.arg}")
