"""Issue 14: property-based test of the Wannier90 and config parsers on mutated real files.

Real inputs (GaAs_tb.dat and GaAs.win of ../shared/data when present, a small synthetic
_tb.dat, the example configurations) are mutated — truncated, a line deleted, duplicated
or replaced, a number replaced by garbage (NaN, inf, a word, a huge integer), bytes
flipped — and read. Every outcome must be a model/configuration or a QgmagError: never
another exception (a traceback for the user). The run is bounded (max_examples).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qgmag.config import load_config
from qgmag.errors import QgmagError
from qgmag.io import read_wannier90
from tests.cli.conftest import write_cubic_tb
from tests.conftest import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
GARBAGE = ["nan", "inf", "-inf", "x", "1e999", "99999999999999999999", "", "1.0.0", "[", "'", "=",
           "-1", "0", "3.5", "\x00", "é"]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    kind = draw(st.sampled_from(["truncate", "delete", "duplicate", "token", "bytes", "line"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "line":
        lines[i] = draw(st.sampled_from(GARBAGE))
    elif kind == "token":
        tokens = lines[i].split(" ")
        j = draw(st.integers(0, len(tokens) - 1))
        tokens[j] = draw(st.sampled_from(GARBAGE))
        lines[i] = " ".join(tokens)
    else:
        raw = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 5))):
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.integers(0, 255))
        return raw.decode("utf-8", errors="replace")
    return "\n".join(lines)


def _read(path: Path, **kw) -> None:
    try:
        read_wannier90(path, **kw)
    except QgmagError:
        pass


@pytest.fixture(scope="module")
def cubic_text(tmp_path_factory) -> str:
    return write_cubic_tb(tmp_path_factory.mktemp("fuzz") / "cubic_tb.dat").read_text()


@SETTINGS
@given(data=st.data())
def test_mutated_tb_files_give_a_model_or_a_qgmag_error(tmp_path, cubic_text, data):
    path = tmp_path / "cubic_tb.dat"
    path.write_text(data.draw(mutations(cubic_text)), encoding="utf-8")
    _read(path)


@pytest.fixture(scope="module")
def gaas(tmp_path_factory) -> tuple[str, str]:
    folder = shared_data_dir() / "GaAs"
    if not (folder / "GaAs_tb.dat").is_file():
        pytest.skip("reference data GaAs not available (set QGMAG_SHARED_DATA)")
    return (folder / "GaAs_tb.dat").read_text(), (folder / "GaAs.win").read_text()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_gaas_files_give_a_model_or_a_qgmag_error(tmp_path, gaas, data):
    tb_text, win_text = gaas
    which = data.draw(st.sampled_from(["tb", "win"]))
    (tmp_path / "GaAs_tb.dat").write_text(
        data.draw(mutations(tb_text)) if which == "tb" else tb_text, encoding="utf-8"
    )
    (tmp_path / "GaAs.win").write_text(
        data.draw(mutations(win_text)) if which == "win" else win_text, encoding="utf-8"
    )
    _read(tmp_path / "GaAs_tb.dat", spinor_ordering="auto")
    _read(tmp_path / "GaAs_tb.dat", lattice=tmp_path / "GaAs.win")


EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


@SETTINGS
@given(data=st.data())
def test_mutated_example_configs_give_a_config_or_a_qgmag_error(tmp_path, data):
    source = data.draw(st.sampled_from(EXAMPLES))
    path = tmp_path / source.name
    path.write_text(data.draw(mutations(source.read_text())), encoding="utf-8")
    write_cubic_tb(tmp_path / "x_tb.dat")
    try:
        cfg = load_config(path, [f"model.file={tmp_path / 'x_tb.dat'}"]
                          if "fe_ahc" in source.name else [])
        if cfg.model.name is not None:
            cfg.model.build()
    except QgmagError:
        pass


@pytest.mark.parametrize("row", ["0 0.000000 0.000000", "0.000000 3.000000 0.000000"])
def test_singular_lattice_is_refused_with_the_file_named(cubic_text, tmp_path, row):
    """A lattice block whose vectors span no cell (a zero row, found by the fuzz test above:
    a LinAlgError traceback before; a repeated row) is refused naming its file."""
    lines = cubic_text.split("\n")
    lines[1] = row
    path = tmp_path / "bad_tb.dat"
    path.write_text("\n".join(lines))
    with pytest.raises(QgmagError, match=r"do not span a cell.*bad_tb\.dat|bad_tb\.dat.*span"):
        read_wannier90(path)


def test_huge_integer_is_refused_not_cast(cubic_text, tmp_path):
    """An integer field beyond int64 (a fuzz mutation: 99999999999999999999) is refused with
    the file named, not cast to garbage with a RuntimeWarning."""
    import warnings

    lines = cubic_text.split("\n")
    assert lines[8] == "0 0 0"  # the first R-vector
    lines[8] = "99999999999999999999 0 0"
    path = tmp_path / "huge_tb.dat"
    path.write_text("\n".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(QgmagError, match="huge_tb.dat"):
            read_wannier90(path)
