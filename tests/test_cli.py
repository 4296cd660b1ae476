"""The CLI end to end with click's CliRunner, and bad input at the command line."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

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


def test_the_first_run_notice_comes_when_tracking_starts_never_before_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A solve whose kernels are not cached says so once, when the engine starts; input refused
    before that gets its one-line error alone (the notice must not turn it into two lines)."""
    from dlnlandscape.common import caches

    monkeypatch.setattr(caches, "first_run_notice", lambda: "compiling the engine's kernels first (test)")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    solved = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(tmp_path / "a"), "--backend", "native"])
    assert solved.exit_code == 0, solved.output
    assert solved.output.count("compiling the engine's kernels first (test)") == 1
    assert solved.output.index("compiling the engine") < solved.output.index("dln solve:")  # before the table
    quiet = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0 and "compiling" not in quiet.output
    monkeypatch.setenv("DLN_MSOLVE", str(tmp_path / "no-msolve"))
    refused = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(tmp_path / "c"), "--verify", "degree"])
    assert refused.exit_code == 3 and len(refused.output.strip().splitlines()) == 1, refused.output


def _quickstart_copy(tmp_path: Path) -> Path:
    cfg = tmp_path / "quick.yaml"
    cfg.write_text((ROOT / "configs" / "quickstart.yaml").read_text())
    return cfg


def test_sigint_writes_a_partial_result_and_resume_completes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Ctrl-C after the second monodromy round: the solutions known so far are carried to the
    target and written, marked incomplete with the reason, beside the checkpoint; --resume ends
    with the uninterrupted count, 225, and removes the checkpoint."""
    import signal

    from dlnlandscape.reports import terminal

    rounds = []

    def note(self: Any, text: str) -> None:
        if text.startswith("monodromy round"):
            rounds.append(text)
            if len(rounds) == 2:
                signal.raise_signal(signal.SIGINT)  # delivered to the CLI's handler, as a real Ctrl-C

    monkeypatch.setattr(terminal.Progress, "note", note)
    cfg, out = _quickstart_copy(tmp_path), tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert not summary["complete"] and summary["stopped_early"] == "interrupted by SIGINT"
    assert summary["warnings"][0].startswith("partial result: interrupted by SIGINT;")
    assert "--resume" in summary["warnings"][0]
    mono = summary["backend"]["monodromy"]
    assert mono["carried_to_target"] and mono["base_solutions"] < 225
    assert summary["complex_solutions"] == mono["base_solutions"]  # all known ones reached the target
    assert "checkpoint.npz" in json.loads((out / ".dlnlandscape").read_text())["files"]
    monkeypatch.undo()
    again = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--resume", "--quiet"])
    assert again.exit_code == 0, again.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["complex_solutions"] == 225 and summary["stopped_early"] is None
    assert summary["backend"]["monodromy"]["resumed_at_round"] == 2
    assert not (out / "checkpoint.npz").exists()


def test_time_limit_gives_a_partial_result_that_resumes_to_the_full_count(tmp_path: Path):
    cfg, out = _quickstart_copy(tmp_path), tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--quiet", "--time-limit", "0.01"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert not summary["complete"] and summary["stopped_early"] == "time limit of 0.01 s reached"
    assert summary["config"]["solver"]["time_limit"] == 0.01
    # no time left for the final homotopy: the counts at the base points only
    assert not summary["backend"]["monodromy"]["carried_to_target"] and summary["complex_solutions"] == 0
    assert "not carried to the target" in summary["warnings"][0]
    assert (out / "checkpoint.npz").is_file()
    again = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--quiet", "--resume"])
    assert again.exit_code == 0, again.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["complex_solutions"] == 225


def test_time_limit_stops_a_linear_product_solve_and_says_how_far_it_got(tmp_path: Path):
    """127,905 start paths (minutes): the limit stops the tracker between steps, the result is
    marked partial with the paths tracked by then, and nothing claims completeness."""
    cfg = tmp_path / "lp.yaml"
    cfg.write_text(
        "architecture: {widths: [2, 3, 2]}\ndata: {samples: 2, seed: 0}\n"
        "solver: {backend: native, start: multihomogeneous, certify: false}\n"
    )
    out = tmp_path / "out"
    began = time.monotonic()
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--quiet", "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 60
    summary = json.loads((out / "summary.json").read_text())
    assert not summary["complete"] and summary["stopped_early"] == "time limit of 1 s reached"
    assert summary["completeness"]["method"] == "none"
    tracked = summary["backend"]["tracked_paths"]
    assert summary["paths"]["tracked"] == tracked < 127_905
    assert f"{tracked:,} of 127,905 start paths tracked" in summary["warnings"][0]


def test_resume_of_another_config_is_refused_and_the_checkpoint_kept(tmp_path: Path):
    cfg, out = _quickstart_copy(tmp_path), tmp_path / "out"
    CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--quiet", "--time-limit", "0.01"])
    result = CliRunner().invoke(main, ["solve", str(cfg), "--out", str(out), "--quiet", "--resume", "--seed", "7"])
    assert result.exit_code == 2 and "--resume: this checkpoint was written for another" in result.output
    assert (out / "checkpoint.npz").is_file()
