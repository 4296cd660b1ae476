"""reports/components.py: a decomposition's files, written under the result-directory rule of
common/atomic.py, and `dln components` end to end (round trip and bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dlnlandscape.cli import main
from dlnlandscape.common.atomic import MARKER, read_marker
from dlnlandscape.decomposition import decompose_points
from dlnlandscape.errors import OutputPathError
from dlnlandscape.model.problem import Problem
from dlnlandscape.reports.components import components_markdown, write_components

from .conftest import make_config


@pytest.fixture(scope="module")
def without_solve():
    """A decomposition of two given seeds of the (1,1,1) hyperbola (no initial solve: no run)."""
    problem = Problem.from_config(make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"}))
    p = float(problem.T[0, 0] / problem.S[0, 0])
    seeds = np.array([[0.7, p / 0.7], [-2.0, p / -2.0]])
    return decompose_points(problem, seeds, np.array([True, True]), name="hyperbola", regularization="none")


def test_write_components_without_a_solve_writes_only_the_components_files(tmp_path: Path, without_solve):
    out = write_components(without_solve, tmp_path / "result", "--out")
    assert out == tmp_path / "result"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "components.json", "components.md"]
    assert json.loads((out / "components.json").read_text()) == json.loads(json.dumps(without_solve.as_dict()))
    text = (out / "components.md").read_text()
    assert text == components_markdown(without_solve)
    assert text.startswith("# Components of the critical set: hyperbola\n\n```\ndln components: hyperbola")
    marker = read_marker(out)
    assert marker["kind"] == "components" and marker["files"] == ["components.json", "components.md"]


def test_write_components_replaces_its_own_result_and_refuses_the_users(tmp_path: Path, without_solve):
    out = tmp_path / "result"
    write_components(without_solve, out)
    (out / "components.md").write_text("stale")
    write_components(without_solve, out)  # an earlier result of the tool's own: replaced
    assert (out / "components.md").read_text() == components_markdown(without_solve)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(OutputPathError, match="did not write"):
        write_components(without_solve, mine, "--out")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep"


def test_cli_components_round_trip_and_bad_input(tmp_path: Path):
    document = {
        "name": "one",
        "architecture": {"widths": [1, 1, 1]},
        "data": {"samples": 3, "seed": 0},
        "regularization": {"kind": "none"},
    }
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "result"
    result = CliRunner().invoke(main, ["components", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["by_dimension"] == {
        "1": {"components": 1, "total_degree": 2},
        "0": {"components": 1, "total_degree": 1},
    }
    assert data["all_trace_tests_passed"] and all(v["found"] for v in data["closed_form"])
    assert json.loads((out / "components.json").read_text()) == data
    assert {"components.md", "critical_points.csv", "summary.json"} <= {p.name for p in out.iterdir()}

    document["regularization"] = {"kind": "generalized"}
    path.write_text(yaml.safe_dump(document))
    bad_out = tmp_path / "bad"
    result = CliRunner().invoke(main, ["components", str(path), "--out", str(bad_out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "regularization.kind" in lines[0] and "isolated" in lines[0]
    assert not bad_out.exists()
