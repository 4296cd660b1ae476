"""Sweeps: grid expansion, resumption, crashes, executors, exported configs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dlnlandscape.batches.sweep import (
    load_sweep,
    parse_sweep,
    point_name,
    run_sweep,
    solve_point,
    tasks,
    write_manifest,
)
from dlnlandscape.cli import main
from dlnlandscape.common import atomic
from dlnlandscape.errors import ConfigError

from .conftest import TINY
from .conftest import write_yaml as _write

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------- expansion


def test_expansion_is_the_grid_product_with_stable_names(tmp_path: Path):
    sweep = parse_sweep(
        {
            "name": "s",
            "base": {"data": {"seed": 3}, "regularization": {"kind": "generalized"}},
            "grid": {
                "architecture.widths": [[2, 2, 2], [1, 2, 1]],
                "data.samples": [1, 2, 3],
                "regularization.low": [0.1, 0.05],
            },
        },
        source="s.yaml",
        output_dir=tmp_path,
    )
    assert len(sweep.points) == 12
    names = [p.name for p in sweep.points]
    assert names[:3] == ["w2-2-2_m1_low0.1", "w2-2-2_m1_low0.05", "w2-2-2_m2_low0.1"]
    assert names[-1] == "w1-2-1_m3_low0.05"
    assert len(set(names)) == 12
    point = sweep.points[-1]
    assert point.directory == tmp_path / "w1-2-1_m3_low0.05"
    assert point.parameters == {"architecture.widths": [1, 2, 1], "data.samples": 3, "regularization.low": 0.05}
    doc = point.document
    assert doc["architecture"]["widths"] == [1, 2, 1] and doc["data"] == {"seed": 3, "samples": 3}
    assert doc["regularization"] == {"kind": "generalized", "low": 0.05}
    assert doc["name"] == point.name and doc["output"]["dir"] == str(point.directory)
    # names do not depend on anything but the parameters
    again = parse_sweep({"grid": {"data.samples": [3], "architecture.widths": [[1, 2, 1]]}}, output_dir=tmp_path)
    assert again.points[0].name == "m3_w1-2-1"
    assert point_name({"solver.seed": 7, "architecture.residual": True}) == "seed7_res1"
    long = point_name({"data.X": [[0.125] * 40]})
    assert len(long) == 100 and long.startswith("X0.125-0.125") and long != point_name({"data.X": [[0.25] * 40]})


def test_base_config_file_and_default_output(tmp_path: Path):
    sweep_file = _write(
        tmp_path / "q.yaml",
        {"base_config": str(ROOT / "configs" / "quickstart.yaml"), "grid": {"solver.seed": [1, 2]}},
    )
    sweep = load_sweep(sweep_file)
    assert [p.name for p in sweep.points] == ["seed1", "seed2"]
    assert sweep.output_dir == Path("results/sweeps/q")
    doc = sweep.points[1].document
    assert doc["architecture"]["widths"] == [2, 2, 2] and doc["data"]["decimals"] == 3 and doc["solver"]["seed"] == 2


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"grid": {"architecture.width": [[1, 1]]}}, "grid.architecture.width", "unknown config path"),
        ({"grid": {"data.samples": []}}, "grid.data.samples", "non-empty list"),
        ({"grid": {"data.samples": 3}}, "grid.data.samples", "non-empty list"),
        ({"grid": {"output.dir": ["a"]}}, "grid.output.dir", "set per point"),
        ({"grids": {}}, "grids", "unknown key"),
        ({"base": {"data": {"samples": 1}}, "base_config": "x.yaml"}, "base_config", "not both"),
        ({"jobs": 0}, "jobs", ">= 1"),
    ],
)
def test_bad_sweeps_name_the_field(document: dict[str, Any], field: str, words: str):
    with pytest.raises(ConfigError) as caught:
        parse_sweep({"base": {"architecture": {"widths": [1, 1, 1]}, "data": {"samples": 1}}, **document}, source="s")
    assert caught.value.field == field and words in caught.value.reason


def test_bad_grid_value_names_point_and_field(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        parse_sweep({"base": {"data": {"samples": 1}}, "grid": {"architecture.widths": [[1, 1], [1, 0, 1]]}})
    assert caught.value.field == "architecture.widths[1]" and "grid point w1-0-1" in caught.value.source
    sweep_file = _write(tmp_path / "bad.yaml", {"base": {"data": {"samples": 1}}, "grid": {"data.samples": [1]}})
    result = CliRunner().invoke(main, ["sweep", str(sweep_file)])
    assert result.exit_code == 2
    assert "architecture" in result.output and len(result.output.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------- resumption


def fake_runner(task: dict[str, Any]) -> dict[str, Any]:
    """Stands in for a solve: writes a summary.json like write_outputs (last, atomically)."""
    directory = Path(task["directory"])
    directory.mkdir(parents=True, exist_ok=True)
    summary = {"name": task["name"], "config": task["fingerprint"]}
    (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return {"name": task["name"], "status": "computed", "seconds": 0.0, "complex": 0, "real": 0, "complete": True}


def crashing_runner(task: dict[str, Any]) -> dict[str, Any]:
    """Kills its worker process outright on one point (like a segfault)."""
    if task["parameters"]["data.samples"] == 2 and task["parameters"]["architecture.widths"] == [2, 1, 2]:
        os._exit(1)
    return fake_runner(task)


def raising_runner(task: dict[str, Any]) -> dict[str, Any]:
    """A point whose config makes the solve raise: solve_point records it."""
    if task["parameters"]["data.samples"] == 1:
        task = {**task, "document": {**task["document"], "architecture": {"widths": "oops"}}}
    return solve_point(task) if task["parameters"]["data.samples"] == 1 else fake_runner(task)


def test_resumed_sweep_recomputes_nothing_done(tmp_path: Path):
    sweep = parse_sweep(TINY, source="tiny", output_dir=tmp_path)
    calls: list[str] = []

    def counting(task: dict[str, Any]) -> dict[str, Any]:
        calls.append(task["name"])
        return fake_runner(task)

    first = run_sweep(sweep, 1, runner=counting)
    assert len(first.computed) == 4 and first.skipped == [] and len(calls) == 4
    # "kill" the sweep: two points never finished (one left a partial write_outputs temp dir)
    (tmp_path / "w1-1-1_m2" / "summary.json").unlink()
    (tmp_path / "w2-1-2_m1" / "summary.json").unlink()
    stamps = {p.name: (p.directory / "summary.json").stat().st_mtime_ns for p in sweep.points if p.done()}
    calls.clear()
    second = run_sweep(sweep, 1, runner=counting)
    assert sorted(calls) == ["w1-1-1_m2", "w2-1-2_m1"]
    assert sorted(second.computed) == ["w1-1-1_m2", "w2-1-2_m1"] and sorted(second.skipped) == sorted(stamps)
    assert {n: (tmp_path / n / "summary.json").stat().st_mtime_ns for n in stamps} == stamps
    calls.clear()
    third = run_sweep(sweep, 1, runner=counting)
    assert calls == [] and len(third.skipped) == 4 and third.computed == []
    manifest = json.loads((tmp_path / "sweep.json").read_text())
    assert [p["name"] for p in manifest["points"]] == [p.name for p in sweep.points]


def test_points_done_for_another_config_are_stale_and_recomputed(tmp_path: Path):
    first = run_sweep(parse_sweep(TINY, source="tiny", output_dir=tmp_path), 1, runner=fake_runner)
    assert len(first.computed) == 4
    changed = {**TINY, "base": {**TINY["base"], "regularization": {"low": 0.2}}}
    sweep = parse_sweep(changed, source="tiny", output_dir=tmp_path)
    assert [p.state().value for p in sweep.points] == ["stale"] * 4
    second = run_sweep(sweep, 1, runner=fake_runner)
    assert len(second.stale) == 4 and len(second.computed) == 4 and second.skipped == []
    assert all(p.state().value == "done" for p in sweep.points)
    # a summary that is not a dln summary is not taken as done either
    (tmp_path / "w1-1-1_m1" / "summary.json").write_text("{}")
    assert sweep.points[0].state().value == "stale"


def test_real_summaries_match_their_point(tiny_sweep: Path):
    sweep = load_sweep(tiny_sweep / "tiny.yaml")
    assert [p.state().value for p in sweep.points] == ["done"] * 4
    seed_changed = {**TINY, "base": {**TINY["base"], "solver": {"backend": "native", "seed": 7}}}
    other = parse_sweep(seed_changed, source="tiny", output_dir=tiny_sweep / "out")
    assert [p.state().value for p in other.points] == ["stale"] * 4
    backend_changed = {**TINY, "base": {**TINY["base"], "solver": {"backend": "auto", "seed": 42}}}
    same = parse_sweep(backend_changed, source="tiny", output_dir=tiny_sweep / "out")
    assert [p.state().value for p in same.points] == ["done"] * 4


def test_crashed_worker_is_recorded_and_the_sweep_goes_on(tmp_path: Path):
    sweep = parse_sweep(TINY, source="tiny", output_dir=tmp_path)
    outcome = run_sweep(sweep, 2, runner=crashing_runner)
    assert outcome.failed == ["w2-1-2_m2"]
    assert sorted(outcome.computed) == ["w1-1-1_m1", "w1-1-1_m2", "w2-1-2_m1"]
    error = json.loads((tmp_path / "w2-1-2_m2" / "error.json").read_text())
    assert "worker process died" in error["error"]
    assert not (tmp_path / "w2-1-2_m2" / "summary.json").exists()
    # a rerun retries only the failed point
    rerun = run_sweep(sweep, 1, runner=fake_runner)
    assert rerun.computed == ["w2-1-2_m2"] and len(rerun.skipped) == 3


def test_exception_in_a_point_is_recorded(tmp_path: Path):
    sweep = parse_sweep(TINY, source="tiny", output_dir=tmp_path)
    outcome = run_sweep(sweep, 1, runner=raising_runner)
    assert sorted(outcome.failed) == ["w1-1-1_m1", "w2-1-2_m1"] and len(outcome.computed) == 2
    error = json.loads((tmp_path / "w1-1-1_m1" / "error.json").read_text())
    assert error["error"].startswith("ConfigError:") and "architecture.widths" in error["error"]
    assert error["parameters"]["data.samples"] == 1


def test_real_sweep_resumes_after_a_kill(tiny_sweep: Path):
    out = tiny_sweep / "out"
    stamps = {d.name: (d / "summary.json").stat().st_mtime_ns for d in out.iterdir() if d.is_dir()}
    assert len(stamps) == 4
    # a killed run: one point's results missing, its half-written temp dir left behind
    victim = out / "w2-1-2_m2"
    os.rename(victim, tiny_sweep / "saved")
    leftover = atomic._partial_directory(out, "w2-1-2_m2")
    (out / ".w2-1-2_m2.old").mkdir()  # the user's own, to be left alone
    result = CliRunner().invoke(main, ["sweep", str(tiny_sweep / "tiny.yaml"), "--jobs", "2", "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output[result.output.index("{") :])
    assert (outcome["computed"], outcome["skipped"], outcome["failed"]) == (1, 3, 0)
    assert not leftover.exists() and (out / ".w2-1-2_m2.old").is_dir()
    after = {n: (out / n / "summary.json").stat().st_mtime_ns for n in stamps}
    assert {n: t for n, t in after.items() if n != "w2-1-2_m2"} == {n: t for n, t in stamps.items() if n != "w2-1-2_m2"}
    redone = json.loads((victim / "summary.json").read_text())
    saved = json.loads((tiny_sweep / "saved" / "summary.json").read_text())
    assert redone["complex_solutions"] == saved["complex_solutions"] == 17


def test_shipped_sweeps_expand():
    one = load_sweep(ROOT / "configs" / "sweeps" / "one-hidden-layer.yaml")
    two = load_sweep(ROOT / "configs" / "sweeps" / "two-hidden-layers.yaml")
    assert len(one.points) == 78 and len({tuple(p.parameters["architecture.widths"]) for p in one.points}) == 26
    assert len(two.points) == 20 and all(len(p.parameters["architecture.widths"]) == 4 for p in two.points)


def test_export_configs_for_a_shell_loop(tmp_path: Path):
    from dlnlandscape.model.config import load_config

    sweep_file = _write(tmp_path / "tiny.yaml", {**TINY, "output": {"dir": str(tmp_path / "out")}})
    result = CliRunner().invoke(main, ["sweep", str(sweep_file), "--export-configs", str(tmp_path / "cfg")])
    assert result.exit_code == 0 and "wrote 4 configs" in result.output
    config = load_config(tmp_path / "cfg" / "w2-1-2_m2.yaml")
    assert config.widths == (2, 1, 2) and config.samples == 2 and config.name == "w2-1-2_m2"
    assert config.output_dir == (tmp_path / "out" / "w2-1-2_m2").resolve() and config.solver.backend == "native"
    result = CliRunner().invoke(main, ["sweep", str(sweep_file), "--dry-run"])
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1] == "4 points: 0 done, 4 to run"


def test_any_executor_runs_the_points(tmp_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    sweep = parse_sweep(TINY, source="tiny", output_dir=tmp_path)
    with ThreadPoolExecutor(2) as pool:
        outcome = run_sweep(sweep, executor=pool, runner=fake_runner)
    assert sorted(outcome.computed) == sorted(p.name for p in sweep.points) and all(p.done() for p in sweep.points)


def test_dask_executor(tmp_path: Path):
    pytest.importorskip("distributed")
    from dlnlandscape.batches.sweep import dask_executor

    sweep = parse_sweep(TINY, source="tiny", output_dir=tmp_path)
    write_manifest(sweep)  # the root is the sweep's before a point is written into it
    fake_runner(tasks(sweep)[0])
    with dask_executor(None) as pool:
        outcome = run_sweep(sweep, executor=pool, runner=fake_runner)
    assert outcome.skipped == ["w1-1-1_m1"] and len(outcome.computed) == 3


def test_dln_sweep_on_a_real_local_dask_cluster(tmp_path: Path):
    """`dln sweep --dask local`: a distributed LocalCluster (worker processes) solves every point
    for real; a rerun on a new cluster skips them all."""
    pytest.importorskip("distributed")
    sweep_file = _write(tmp_path / "tiny.yaml", {**TINY, "output": {"dir": str(tmp_path / "out")}})
    first = CliRunner().invoke(main, ["sweep", str(sweep_file), "--dask", "local", "--json"])
    assert first.exit_code == 0, first.output
    outcome = json.loads(first.output[first.output.index("{") :])
    assert (outcome["computed"], outcome["failed"]) == (4, 0)
    for name in ("w1-1-1_m1", "w1-1-1_m2", "w2-1-2_m1", "w2-1-2_m2"):
        assert json.loads((tmp_path / "out" / name / "summary.json").read_text())["complete"] is True
    again = CliRunner().invoke(main, ["sweep", str(sweep_file), "--dask", "local", "--json"])
    assert json.loads(again.output[again.output.index("{") :])["skipped"] == 4
