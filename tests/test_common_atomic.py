"""Never destroy what the tool did not write: every output path of every command, and the
atomic-write helpers under them (dlnlandscape.common.atomic)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from dlnlandscape.cli import main
from dlnlandscape.common import atomic
from dlnlandscape.errors import OutputPathError

TINY_CONFIG = {
    "name": "tiny",
    "architecture": {"widths": [1, 1, 1]},
    "data": {"samples": 1, "seed": 0},
    "regularization": {"kind": "generalized"},
    "solver": {"backend": "native", "seed": 42},
}
RESULT_FILES = {".dlnlandscape", "critical_points.csv", "solutions.npz", "summary.json", "report.md"}


def _config(tmp_path: Path, **output: Any) -> Path:
    path = tmp_path / "tiny.yaml"
    document = {**TINY_CONFIG, **({"output": output} if output else {})}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _solve(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["solve", str(config), "--quiet", *args])


def _tree(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` with its bytes (the user's data, to compare before/after)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _one_line_exit_2(result: Any, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    for needle in needles:
        assert needle in message, message


# ---------------------------------------------------------------------------------- dln solve


def test_foreign_directory_is_refused_and_kept(tmp_path: Path):
    paper = tmp_path / "mypaper"
    paper.mkdir()
    (paper / "draft.tex").write_text("precious")
    (paper / "figs").mkdir()
    (paper / "figs" / "a.png").write_bytes(b"\x89PNG")
    config = _config(tmp_path)
    before = _tree(tmp_path)
    result = _solve(config, "--out", str(paper))
    _one_line_exit_2(result, "--out", str(paper), "did not write")
    assert _tree(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["mypaper", "tiny.yaml"]


def test_output_dir_of_a_config_naming_a_file_is_refused(tmp_path: Path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    config = _config(tmp_path, dir=str(target))
    result = _solve(config)
    _one_line_exit_2(result, f"output.dir of {config}", "a file of that name exists")
    assert target.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "tiny.yaml"]


def test_symlink_to_a_directory_is_refused(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    (tmp_path / "link").symlink_to(real)
    result = _solve(_config(tmp_path), "--out", str(tmp_path / "link"))
    _one_line_exit_2(result, "symbolic link")
    assert _tree(real) == {"keep.txt": b"mine"} and (tmp_path / "link").is_symlink()


def test_symlink_even_to_an_earlier_result_is_refused(tmp_path: Path):
    config = _config(tmp_path)
    assert _solve(config, "--out", str(tmp_path / "res")).exit_code == 0
    (tmp_path / "link").symlink_to(tmp_path / "res")
    before = _tree(tmp_path / "res")
    _one_line_exit_2(_solve(config, "--out", str(tmp_path / "link")), "symbolic link")
    assert _tree(tmp_path / "res") == before


def test_earlier_result_is_replaced_and_its_extra_files_go(tmp_path: Path):
    config = _config(tmp_path)
    out = tmp_path / "res"
    assert _solve(config, "--out", str(out)).exit_code == 0
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    marker = json.loads((out / ".dlnlandscape").read_text())
    assert marker["written_by"] == "dlnlandscape" and marker["kind"] == "solve"
    assert set(marker["files"]) == RESULT_FILES - {".dlnlandscape"}
    # an earlier components run's extra file, listed in its marker, is the tool's to remove
    (out / "components.md").write_text("old")
    atomic.register(out, "solve", ["components.md"])
    first = json.loads((out / "summary.json").read_text())
    result = _solve(config, "--out", str(out), "--seed", "43")
    assert result.exit_code == 0, result.output
    second = json.loads((out / "summary.json").read_text())
    assert second["seed"] == 43 and first["seed"] == 42
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert second["complex_solutions"] == first["complex_solutions"]


def test_a_user_file_added_to_an_earlier_result_makes_it_the_users(tmp_path: Path):
    config = _config(tmp_path)
    out = tmp_path / "res"
    assert _solve(config, "--out", str(out)).exit_code == 0
    (out / "my-notes.md").write_text("mine")
    before = _tree(out)
    _one_line_exit_2(_solve(config, "--out", str(out)), "did not write")
    assert _tree(out) == before


def test_a_users_dot_old_directory_is_left_alone(tmp_path: Path):
    config = _config(tmp_path)
    out = tmp_path / "res"
    old = tmp_path / ".res.old"
    old.mkdir()
    (old / "backup.txt").write_text("mine")
    assert _solve(config, "--out", str(out)).exit_code == 0
    assert _solve(config, "--out", str(out)).exit_code == 0
    assert _tree(old) == {"backup.txt": b"mine"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.old", "res", "tiny.yaml"]


def test_empty_directory_is_used_with_its_permissions(tmp_path: Path):
    out = tmp_path / "empty"
    out.mkdir()
    os.chmod(out, 0o751)
    result = _solve(_config(tmp_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert stat.S_IMODE(out.stat().st_mode) == 0o751


def test_out_dot_in_an_empty_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = _config(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert _solve(config, "--out", ".").exit_code == 0
    assert {p.name for p in work.iterdir()} == RESULT_FILES
    assert _solve(config, "--out", ".").exit_code == 0  # its own result: replaced in place
    assert {p.name for p in work.iterdir()} == RESULT_FILES
    (work / "paper.tex").write_text("mine")
    _one_line_exit_2(_solve(config, "--out", "."), "--out .", "did not write")
    assert (work / "paper.tex").read_text() == "mine"


def test_new_directory_gets_the_umask_permissions(tmp_path: Path):
    previous = os.umask(0o027)
    try:
        assert _solve(_config(tmp_path), "--out", str(tmp_path / "new")).exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "new" / "summary.json").stat().st_mode) == 0o640


def test_a_crash_while_writing_keeps_the_earlier_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from dlnlandscape.reports import files as report

    config = _config(tmp_path)
    out = tmp_path / "res"
    assert _solve(config, "--out", str(out)).exit_code == 0
    before = _tree(out)

    def crash(summary: Any, rows: Any) -> str:
        raise MemoryError("disk full halfway")

    monkeypatch.setattr(report, "markdown_report", crash)
    result = _solve(config, "--out", str(out), "--seed", "7")
    assert result.exit_code == 1 and "MemoryError" in result.output
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "tiny.yaml"]  # no temp dir left


def test_a_result_of_an_earlier_version_without_marker_is_replaced(tmp_path: Path):
    config = _config(tmp_path)
    out = tmp_path / "res"
    assert _solve(config, "--out", str(out)).exit_code == 0
    (out / ".dlnlandscape").unlink()  # what versions before the marker left
    assert _solve(config, "--out", str(out)).exit_code == 0
    assert {p.name for p in out.iterdir()} == RESULT_FILES


# ---------------------------------------------------------------------------------- helpers


def test_result_directory_failure_leaves_target_and_parent_as_they_were(tmp_path: Path):
    target = tmp_path / "t"
    with pytest.raises(RuntimeError), atomic.result_directory(target) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_partial_leftovers_are_recognised_and_only_they_are_cleaned(tmp_path: Path):
    target = tmp_path / "point"
    leftover = atomic._partial_directory(tmp_path, "point")
    (leftover / "critical_points.csv").write_text("half")
    other_writer = atomic._partial_directory(tmp_path, "another-point")
    mine = tmp_path / ".dlnlandscape-partial-point.mine"  # the name alone does not make it ours
    mine.mkdir()
    (mine / "keep").write_text("x")
    assert atomic.clean_partial_leftovers(target) == 1
    assert not leftover.exists() and other_writer.exists() and (mine / "keep").exists()


def test_result_file_replaces_only_recognised_files(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_text("user")
    with pytest.raises(OutputPathError, match="did not write"), atomic.result_file(path, "--out") as tmp:
        tmp.write_text("new")
    assert path.read_text() == "user" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    with atomic.result_file(path, "--out", recognise=lambda p: p.read_text() == "user") as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"


def test_cache_file_of_another_schema_is_left_alone(tmp_path: Path):
    path = tmp_path / "cache" / "c.json"
    atomic.write_cache_json(path, {"a": 1}, "s1")
    assert json.loads(path.read_text()) == {"a": 1, "schema": "s1"}
    atomic.write_cache_json(path, {"a": 2}, "s1")
    assert json.loads(path.read_text())["a"] == 2
    path.write_text("user data")
    atomic.write_cache_json(path, {"a": 3}, "s1")
    assert path.read_text() == "user data"


# ---------------------------------------------------------------------------------- other commands


def _tiny_sweep(tmp_path: Path, out: Path) -> Path:
    sweep = {
        "name": "tiny",
        "base": {"data": {"seed": 0}, "solver": {"backend": "native", "seed": 42}},
        "grid": {"architecture.widths": [[1, 1, 1]], "data.samples": [1, 2]},
        "output": {"dir": str(out)},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep), encoding="utf-8")
    return path


def test_sweep_root_of_the_user_is_refused(tmp_path: Path):
    root = tmp_path / "shared"
    root.mkdir()
    (root / "data.csv").write_text("mine")
    sweep = _tiny_sweep(tmp_path, root)
    result = CliRunner().invoke(main, ["sweep", str(sweep)])
    assert result.exit_code == 2 and "did not write" in result.output and f"output.dir of {sweep}" in result.output
    assert _tree(root) == {"data.csv": b"mine"}


def test_sweep_point_directory_of_the_user_is_refused_before_anything_runs(tmp_path: Path):
    root = tmp_path / "out"
    sweep = _tiny_sweep(tmp_path, root)
    assert CliRunner().invoke(main, ["sweep", str(sweep)]).exit_code == 0
    point = root / "w1-1-1_m2"
    (point / "summary.json").unlink()  # to do again...
    (point / "notes.txt").write_text("mine")  # ...but the user has put a file there
    before = _tree(root)
    result = CliRunner().invoke(main, ["sweep", str(sweep)])
    _one_line_exit_2(result, "sweep point w1-1-1_m2", "did not write")
    assert _tree(root) == before


def test_sweep_point_crash_keeps_finished_points_and_resumes(tmp_path: Path):
    from dlnlandscape.batches.sweep import load_sweep, run_sweep, solve_point

    root = tmp_path / "out"
    plan = load_sweep(_tiny_sweep(tmp_path, root))

    def crash_on_m2(task: dict[str, Any]) -> dict[str, Any]:
        if task["parameters"]["data.samples"] == 2:
            task = {**task, "document": {**task["document"], "architecture": {"widths": "oops"}}}
        return solve_point(task)

    outcome = run_sweep(plan, 1, runner=crash_on_m2)
    assert outcome.failed == ["w1-1-1_m2"] and outcome.computed == ["w1-1-1_m1"]
    assert {p.name for p in (root / "w1-1-1_m2").iterdir()} == {"error.json", ".dlnlandscape"}
    done = _tree(root / "w1-1-1_m1")
    rerun = run_sweep(plan, 1)
    assert rerun.computed == ["w1-1-1_m2"] and rerun.skipped == ["w1-1-1_m1"]
    assert _tree(root / "w1-1-1_m1") == done
    assert {p.name for p in (root / "w1-1-1_m2").iterdir()} == RESULT_FILES  # error.json replaced


def test_export_configs_into_a_users_folder_is_refused(tmp_path: Path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "mine.yaml").write_text("a: 1")
    sweep = _tiny_sweep(tmp_path, tmp_path / "o")
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--export-configs", str(folder)])
    assert result.exit_code == 2 and "--export-configs" in result.output
    assert _tree(folder) == {"mine.yaml": b"a: 1"}


def test_components_out_refuses_a_users_directory(tmp_path: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**TINY_CONFIG, "regularization": {"kind": "none"}}))
    result = CliRunner().invoke(main, ["components", str(config), "--out", str(folder), "--quiet"])
    _one_line_exit_2(result, "--out", "did not write")
    assert _tree(folder) == {"a.txt": b"x"}


def test_table_and_plot_out_replace_only_their_own_files(tmp_path: Path):
    config = _config(tmp_path)
    run = tmp_path / "res"
    assert _solve(config, "--out", str(run)).exit_code == 0
    for fmt, name in (("md", "t.md"), ("csv", "t.csv")):
        table = tmp_path / name
        table.write_text("user table")
        result = CliRunner().invoke(main, ["table", str(run), "--format", fmt, "--out", str(table)])
        _one_line_exit_2(result, "--out", "did not write")
        assert table.read_text() == "user table"
        table.unlink()
        assert CliRunner().invoke(main, ["table", str(run), "--format", fmt, "--out", str(table)]).exit_code == 0
        first = table.read_text()
        assert CliRunner().invoke(main, ["table", str(run), "--format", fmt, "--out", str(table)]).exit_code == 0
        assert table.read_text() == first
    pytest.importorskip("matplotlib")
    for suffix in (".png", ".svg"):
        figure = tmp_path / f"f{suffix}"
        figure.write_bytes(b"user picture")
        result = CliRunner().invoke(main, ["plot", "morse", str(run), "--out", str(figure)])
        _one_line_exit_2(result, "--out", "did not write")
        assert figure.read_bytes() == b"user picture"
        figure.unlink()
        assert CliRunner().invoke(main, ["plot", "morse", str(run), "--out", str(figure)]).exit_code == 0
        assert b"dlnlandscape" in figure.read_bytes()[:4096]
        assert CliRunner().invoke(main, ["plot", "loss", str(run), "--out", str(figure)]).exit_code == 0


# ---------------------------------------------------------------------------------- file-system faults


def test_output_dir_under_a_file_is_one_line_naming_the_field(tmp_path: Path):
    (tmp_path / "afile").write_text("mine")
    config = _config(tmp_path, dir=str(tmp_path / "afile" / "sub"))
    result = _solve(config)
    _one_line_exit_2(result, f"output.dir of {config}", "is not a directory")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_full_disk_while_writing_is_one_line_and_keeps_the_earlier_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import errno

    import numpy as np

    config = _config(tmp_path)
    out = tmp_path / "res"
    assert _solve(config, "--out", str(out)).exit_code == 0
    before = _tree(out)

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "solutions.npz"))

    monkeypatch.setattr(np, "savez_compressed", full)
    result = _solve(config, "--out", str(out), "--seed", "9")
    _one_line_exit_2(result, "--out", "No space left on device", "unchanged")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "tiny.yaml"]


def test_a_place_that_refuses_writing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """As root a read-only directory cannot be made; the refusal is simulated where it happens."""

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", refuse)
    result = _solve(_config(tmp_path), "--out", str(tmp_path / "new"))
    _one_line_exit_2(result, "--out", "Permission denied")
    assert not (tmp_path / "new").exists()


def test_a_checkpoint_is_listed_before_it_appears_and_only_where_the_tool_may_write(tmp_path: Path):
    new = tmp_path / "run"
    atomic.keep_file(new, "checkpoint.npz", b"state 1", kind="solve")
    assert (new / "checkpoint.npz").read_bytes() == b"state 1"
    assert atomic.read_marker(new)["files"] == ["checkpoint.npz"] and atomic.read_marker(new)["kind"] == "solve"
    atomic.keep_file(new, "checkpoint.npz", b"state 2")  # replaced whole, by a rename
    assert (new / "checkpoint.npz").read_bytes() == b"state 2"
    atomic.check_result_directory(new, "--out")  # still the tool's
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(OutputPathError, match="holds files the tool did not write"):
        atomic.keep_file(mine, "checkpoint.npz", b"state")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_result_keeps_the_checkpoint_only_when_asked(tmp_path: Path):
    out = tmp_path / "run"
    atomic.keep_file(out, "checkpoint.npz", b"state", kind="solve")
    with atomic.result_directory(out, kind="solve", keep=("checkpoint.npz",)) as tmp:
        (tmp / "summary.json").write_text(json.dumps({"config": {}}))
    assert sorted(p.name for p in out.iterdir()) == [".dlnlandscape", "checkpoint.npz", "summary.json"]
    assert atomic.read_marker(out)["files"] == ["checkpoint.npz", "summary.json"]
    with atomic.result_directory(out, kind="solve") as tmp:  # a complete result: the checkpoint goes
        (tmp / "summary.json").write_text(json.dumps({"config": {}}))
    assert sorted(p.name for p in out.iterdir()) == [".dlnlandscape", "summary.json"]
