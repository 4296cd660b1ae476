"""Property-based fuzzing of configs and sweeps (hypothesis): whatever document a user writes,
`dln check` / `dln solve` / `dln sweep --dry-run` answer with exit 0 or 2, an error is one line
(never a traceback, never an "internal error"), and nothing is written on exit 2.

The documents are drawn three ways: structured (the schema's keys with values of every type —
right and wrong — including huge, negative, nested and unicode ones), wild (any nesting of YAML
values under random keys), and text (a valid config's YAML with characters inserted, deleted or
replaced, so the parser's own errors are reached).  The default run draws `DEFAULT_EXAMPLES` of
each kind (400: 1,600 documents in all, ~25 s); `pytest -m slow` runs `SLOW_EXAMPLES` more.
BKK is stubbed (its budget is not what is tested here, and would make a (2,2,2,2) draw cost 5 s).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dlnlandscape.cli import main  # noqa: E402

DEFAULT_EXAMPLES = int(os.environ.get("DLN_FUZZ_EXAMPLES", "400"))
SLOW_EXAMPLES = 5000

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-3, max_value=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["auto", "native", "julia", "exact", "monodromy", "none", "l2", "generalized", "msolve", "1e-3"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
SMALL_WIDTHS = st.lists(st.integers(min_value=-1, max_value=4), min_size=0, max_size=5)
HUGE_WIDTHS = st.lists(st.integers(min_value=1, max_value=10**9), min_size=2, max_size=4)

SECTIONS: dict[str, dict[str, Any]] = {
    "architecture": {
        "widths": st.one_of(SMALL_WIDTHS, HUGE_WIDTHS, VALUES),
        "residual": st.one_of(st.booleans(), VALUES),
    },
    "data": {
        "samples": st.one_of(
            st.integers(min_value=-2, max_value=5), st.integers(min_value=10**6, max_value=10**15), VALUES
        ),
        "seed": st.one_of(st.integers(min_value=-5, max_value=2**63), VALUES),
        "X": VALUES,
        "Y": VALUES,
        "file": st.one_of(st.text(max_size=10), VALUES),
        "normalization": st.one_of(st.sampled_from(["sum", "mean"]), VALUES),
        "decimals": st.one_of(st.integers(min_value=-1, max_value=20), VALUES),
        "instances": st.one_of(st.integers(min_value=-1, max_value=4), VALUES),
    },
    "regularization": {
        "kind": st.one_of(st.sampled_from(["none", "l2", "generalized"]), VALUES),
        "lambda": st.one_of(st.floats(min_value=-1, max_value=2), VALUES),
        "low": st.one_of(st.floats(min_value=-1, max_value=2), VALUES),
        "high": st.one_of(st.floats(min_value=-1, max_value=2), VALUES),
        "seed": st.one_of(st.integers(min_value=-2, max_value=10), VALUES),
        "Lambda": VALUES,
        "convention": st.one_of(st.sampled_from(["squared", "linear"]), VALUES),
        "decimals": st.one_of(st.integers(min_value=-1, max_value=20), VALUES),
    },
    "solver": {
        "backend": st.one_of(st.sampled_from(["auto", "native", "exact"]), VALUES),
        "start": st.one_of(
            st.sampled_from(["auto", "monodromy", "multihomogeneous", "total_degree", "polyhedral"]), VALUES
        ),
        "seed": st.one_of(st.integers(min_value=-2, max_value=2**64), VALUES),
        "threads": st.one_of(st.sampled_from(["auto", 0, 1, 2, -1]), VALUES),
        "certify": st.one_of(st.sampled_from(["auto", True, False]), VALUES),
        "verify": st.one_of(st.sampled_from(["none", "degree", "real"]), VALUES),
        "trusted_count": st.one_of(st.none(), st.integers(min_value=-1, max_value=1000), VALUES),
        "bogus_key": VALUES,
    },
    "output": {"dir": st.one_of(st.text(max_size=10), VALUES)},
}


@st.composite
def structured(draw: st.DrawFn) -> Any:
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["name"] = draw(st.one_of(st.text(max_size=10), VALUES))
    for section, keys in SECTIONS.items():
        if draw(st.integers(0, 9)) == 0:
            document[section] = draw(VALUES)  # the whole section of the wrong type
            continue
        if section in ("architecture", "data") and draw(st.integers(0, 9)) == 0:
            continue  # missing
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=len(keys)))
        block = {key: draw(keys[key]) for key in chosen}
        if section == "architecture" and "widths" not in block and draw(st.booleans()):
            block["widths"] = draw(SMALL_WIDTHS)
        document[section] = block
    if draw(st.integers(0, 19)) == 0:
        document[draw(st.text(max_size=8))] = draw(VALUES)  # an unknown top-level key
    return draw(st.sampled_from([document, document, document, draw(VALUES)]))


WILD = st.dictionaries(
    st.sampled_from(["name", "architecture", "data", "regularization", "solver", "output", "x"]), VALUES, max_size=6
)
BASE = (
    "architecture:\n  widths: [2, 2, 2]\ndata:\n  samples: 3\n  seed: 0\n"
    "regularization:\n  kind: generalized\n  low: 1e-1\n"
)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = BASE
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(
            st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`\t\n ,?0123456789.eaéλ\x00\x85")), max_size=3)
        )
        if action == "insert":
            text = text[:i] + piece + text[i:]
        elif action == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 5)) :]
        else:
            text = text[:i] + piece + text[i + len(piece) :]
    return text


@pytest.fixture(autouse=True)
def no_bkk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "dlnlandscape.analysis.bounds.bkk_bound", lambda *a, **k: {"status": "not computed", "reason": "stubbed"}
    )


def _one_line_or_success(result: Any) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(("dln: error:", "Usage:", "Error:")), result.output


def _check_and_refuse(tmp_path: Path, text: str) -> None:
    runner = CliRunner()
    before = sorted(p.name for p in tmp_path.iterdir())
    config = tmp_path / "fuzz.yaml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    checked = runner.invoke(main, ["check", str(config)])
    _one_line_or_success(checked)
    if checked.exit_code == 2:  # the same document is refused by solve, before anything is written
        out = tmp_path / "out"
        solved = runner.invoke(main, ["solve", str(config), "--out", str(out), "--quiet"])
        _one_line_or_success(solved)
        assert solved.exit_code == 2 and not out.exists()
    config.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _dump(document: Any) -> str:
    try:
        return yaml.safe_dump(document, allow_unicode=True)
    except yaml.YAMLError:  # a float key etc. that PyYAML cannot represent: give it as repr text
        return repr(document)


FUZZ = settings(
    max_examples=DEFAULT_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)


@FUZZ
@given(structured())
def test_structured_configs(tmp_path: Path, document: Any) -> None:
    _check_and_refuse(tmp_path, _dump(document))


@FUZZ
@given(WILD)
def test_wild_configs(tmp_path: Path, document: Any) -> None:
    _check_and_refuse(tmp_path, _dump(document))


@FUZZ
@given(mutated_text())
def test_mutated_yaml_text(tmp_path: Path, text: str) -> None:
    _check_and_refuse(tmp_path, text)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["name", "base", "base_config", "grid", "output", "jobs", "x"]), VALUES, max_size=5
    ),
    st.dictionaries(
        st.sampled_from(["architecture.widths", "data.samples", "solver.seed", "data.bogus", "x.y", "output.dir"]),
        st.one_of(st.lists(VALUES, max_size=4), VALUES),
        max_size=3,
    ),
)
def test_sweep_documents(tmp_path: Path, document: dict[str, Any], grid: dict[str, Any]) -> None:
    if grid and "grid" not in document:
        document["grid"] = grid
    document.setdefault("output", {"dir": str(tmp_path / "sweep-out")})
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(_dump(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--dry-run"])
    _one_line_or_success(result)
    assert not (tmp_path / "sweep-out").exists()  # a dry run writes nothing, valid or not
    sweep.unlink()


@pytest.mark.slow
@settings(FUZZ, max_examples=SLOW_EXAMPLES)
@given(st.one_of(structured().map(_dump), WILD.map(_dump), mutated_text()))
def test_many_more_configs(tmp_path: Path, text: str) -> None:
    _check_and_refuse(tmp_path, text)
