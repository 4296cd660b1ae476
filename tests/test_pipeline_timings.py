"""pipeline/timings.py: summary.json's `seconds` is the whole command, `timings` its split."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from dlnlandscape import api
from dlnlandscape.cli import main
from dlnlandscape.pipeline.timings import STAGES, Timings

QUICK = {"architecture": {"widths": [2, 1, 2]}, "data": {"samples": 2}, "solver": {"backend": "native"}}


def test_laps_are_charged_to_their_stage():
    clock = Timings(time.perf_counter() - 1.0)  # the command began a second ago
    clock.lap("parse")
    clock.lap("solve")
    stages = clock.as_dict()
    assert set(stages) == set(STAGES) and stages["parse"] >= 1.0 and clock.total() >= sum(stages.values())


def test_cli_summary_counts_the_whole_command_and_splits_it(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path / "cache"))  # no BKK in the cache: the budget applies
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(QUICK))
    result = CliRunner().invoke(main, ["solve", str(config), "--out", str(tmp_path / "r"), "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    timings = summary["timings"]
    assert set(timings) == set(STAGES)
    assert summary["seconds"] >= sum(timings.values()) - 0.01
    assert summary["seconds"] >= summary["solve_seconds"] and timings["solve"] >= summary["solve_seconds"] - 0.01
    assert timings["parse"] > 0  # config read before the pipeline started is counted
    assert timings["bounds"] < 60  # BKK within its default budget (5 s; plus a cold compile of its kernels)
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["timings"] == timings


def test_api_solve_counts_from_its_own_call():
    began = time.perf_counter()
    result = api.solve(QUICK)
    assert result.summary["seconds"] <= time.perf_counter() - began + 1e-3
    assert result.summary["seconds"] >= sum(result.summary["timings"].values()) - 0.01
