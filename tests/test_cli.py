"""The CLI end to end with click's CliRunner, and bad input at the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dlnlandscape import __version__
from dlnlandscape.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_solve_quickstart_round_trip(tmp_path: Path):
    out = tmp_path / "quick"
    result = CliRunner().invoke(main, ["solve", str(ROOT / "configs" / "quickstart.yaml"), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    for key in (
        "complex_solutions",
        "real_solutions",
        "paths",
        "bounds",
        "classes",
        "backend",
        "seed",
        "seconds",
        "config",
    ):
        assert key in summary
    assert summary["complex_solutions"] == 225 and summary["complete"]
    # auto → monodromy: one tracked path per sign-flip orbit, the rest added as images
    assert summary["backend"]["start_system"] == "monodromy"
    assert summary["paths"]["tracked"] == 65 and summary["paths"]["added_by_symmetry"] == 160
    assert summary["paths"]["failed"] == 0
    assert (summary["bounds"]["bezout"], summary["bounds"]["multihomogeneous"]) == (3**8, 1921)
    assert summary["backend"]["engine"] == "native" and summary["seed"] == 42
    assert summary["checks"]["origin_found"] and summary["checks"]["real_parity_ok"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".dlnlandscape",
        "critical_points.csv",
        "report.md",
        "solutions.npz",
        "summary.json",
    ]
    assert json.loads((out / "summary.json").read_text()) == summary
    with open(out / "critical_points.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 225 and sum(r["real"] == "True" for r in rows) == summary["real_solutions"]
    by_class = summary["classes"]["by_class"]
    assert sum(by_class.values()) == summary["real_solutions"]
    assert by_class["global_minimum"] >= 1
    # reproducible: the resolved config re-solves to the same summary counts
    again = CliRunner().invoke(
        main, ["solve", str(ROOT / "configs" / "quickstart.yaml"), "--out", str(out), "--quiet", "--seed", "7"]
    )
    assert again.exit_code == 0 and again.output == ""
    assert json.loads((out / "summary.json").read_text())["complex_solutions"] == 225


def test_check_prints_bounds():
    result = CliRunner().invoke(main, ["check", str(ROOT / "configs" / "quickstart.yaml")])
    assert result.exit_code == 0
    assert "unknowns: 8" in result.output and "multihomogeneous 1921" in result.output


@pytest.mark.parametrize(
    "text,needle",
    [
        ("architecture: {widths: [2, 0]}\ndata: {samples: 1}\n", "architecture.widths[1]"),
        ("architecture: {widths: [2, 2]}\ndata: {samples: 1}\nextra: 1\n", "extra: unknown key"),
        ("", "empty"),
        ("architecture: {widths: [2, 2]\n", "malformed YAML"),
    ],
)
def test_bad_config_one_line_exit_2_nothing_written(tmp_path: Path, text: str, needle: str):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(cfg) in lines[0] and needle in lines[0]
    assert "Traceback" not in result.output and not out.exists()


def test_missing_config_file(tmp_path: Path):
    result = CliRunner().invoke(main, ["solve", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_unknown_backend_flag_is_usage_error():
    result = CliRunner().invoke(main, ["solve", "x.yaml", "--backend", "gpu"])
    assert result.exit_code == 2


def _msolve_available() -> bool:
    from dlnlandscape.exact.msolve import msolve_info

    return bool(msolve_info()["available"])


TINY = (
    "architecture: {widths: [1, 1, 1]}\ndata: {X: [[1.5]], Y: [[2.0]]}\n"
    "regularization: {kind: generalized, Lambda: [[[0.5]], [[0.7]]]}\n"
)


@pytest.mark.skipif(not _msolve_available(), reason="msolve not installed")
def test_verify_real_agrees_and_strict_mismatch_exits_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(tmp_path / "a"), "--verify", "real", "--json"])
    assert result.exit_code == 0, result.output
    check = json.loads(result.output)["verification"]
    assert check["status"] == "agrees" and check["degree"] == 5 and check["real"] == 3
    # drop one critical point from the analysis: the exact count must expose it
    import dlnlandscape.pipeline.run as run
    from dlnlandscape.analysis.classify import classify

    real_analyse = run.analyse

    def lossy(problem, paths):
        points = real_analyse(problem, paths)
        keep = np.arange(len(points)) != np.flatnonzero(points.is_real)[0]
        return classify(
            problem,
            points.solutions[keep],
            points.multiplicity[keep],
            points.singular[keep],
            points.residual[keep],
            points.condition[keep],
        )

    monkeypatch.setattr(run, "analyse", lossy)
    strict = CliRunner().invoke(
        main, ["solve", str(cfg), "--out", str(tmp_path / "b"), "--verify", "degree", "--strict"]
    )
    assert strict.exit_code == 4 and "mismatch" in strict.output
    assert (tmp_path / "b" / "summary.json").exists()  # numerical results are kept


def test_verify_without_msolve_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    monkeypatch.setenv("DLN_MSOLVE", str(tmp_path / "no-msolve"))
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(tmp_path / "c"), "--verify", "degree"])
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "msolve" in lines[0] and not (tmp_path / "c").exists()
