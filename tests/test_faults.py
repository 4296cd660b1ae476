"""Fault injection: every fault a long run meets, each with nothing lost and a clear message.

SIGKILL and SIGINT during `dln solve` and `dln sweep` (real subprocesses), a kill while a result
is being put in place, two solves writing one directory at once, a data file that changes or
breaks between runs, msolve hanging or killed, a full disk.  Corrupt and stale numba caches and
read-only cache places are in test_common_caches.py, generated configs in test_config_fuzz.py.
Heavier variants are `@pytest.mark.slow`.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dlnlandscape.cli import main
from dlnlandscape.common.atomic import MARKER, PARTIAL_PREFIX

REPO = Path(__file__).resolve().parents[1]
# ~8 min on 2 cores (127,905 linear-product paths): still running whenever a test stops it
SLOW_SOLVE = {
    "architecture": {"widths": [2, 3, 2]},
    "data": {"samples": 2, "seed": 0},
    "solver": {"backend": "native", "start": "multihomogeneous", "certify": False, "threads": 1},
}
QUICK_SOLVE = {
    "architecture": {"widths": [2, 1, 2]},
    "data": {"samples": 2, "seed": 0},
    "solver": {"backend": "native", "threads": 1},
}


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def _dln(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dlnlandscape.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        **kwargs,
    )


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlnlandscape.cli", *args], capture_output=True, text=True, env=_env(), timeout=timeout
    )


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{PARTIAL_PREFIX}*")]


def _complete_result(directory: Path) -> dict[str, Any]:
    """A result directory as the tool leaves it: marker, summary and the files the marker lists."""
    marker = json.loads((directory / MARKER).read_text())
    assert {"summary.json", "critical_points.csv", "solutions.npz", "report.md"} <= set(marker["files"])
    assert all((directory / name).exists() for name in marker["files"])
    return json.loads((directory / "summary.json").read_text())


def _wait_mid_solve(proc: subprocess.Popen[str], seconds: float = 3.0) -> None:
    """Let the child import, parse and start tracking (it prints nothing with --quiet)."""
    time.sleep(seconds)
    assert proc.poll() is None, proc.communicate()


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An earlier result of the tool's own (a quick solve)."""
    root = tmp_path_factory.mktemp("earlier")
    config = _write(root / "quick.yaml", QUICK_SOLVE)
    done = _run("solve", str(config), "--out", str(root / "result"), "--quiet")
    assert done.returncode == 0, done.stderr
    return root / "result"


def _copy_result(source: Path, target: Path) -> Path:
    target.mkdir()
    for p in source.iterdir():
        (target / p.name).write_bytes(p.read_bytes())
    return target


def test_sigkill_during_solve_leaves_the_earlier_result_and_nothing_else(tmp_path: Path, earlier: Path):
    out = _copy_result(earlier, tmp_path / "out")
    before = _snapshot(out)
    config = _write(tmp_path / "slow.yaml", SLOW_SOLVE)
    proc = _dln("solve", str(config), "--out", str(out), "--quiet")
    _wait_mid_solve(proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(out) == before and _leftovers(tmp_path) == []
    fresh = tmp_path / "fresh"  # a new path: nothing at all
    proc = _dln("solve", str(config), "--out", str(fresh), "--quiet")
    _wait_mid_solve(proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert not fresh.exists() and _leftovers(tmp_path) == []


def test_sigint_during_solve_is_one_line_and_no_half_written_result(tmp_path: Path):
    """What SIGINT leaves depends on the partial-result behaviour of the day: nothing, or a
    complete result directory (marked, summary.json last) — never a half-written one."""
    config = _write(tmp_path / "slow.yaml", SLOW_SOLVE)
    out = tmp_path / "out"
    proc = _dln("solve", str(config), "--out", str(out), "--quiet")
    _wait_mid_solve(proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)  # the tracker notices it between steps
    assert proc.returncode in (130, 0), stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) <= 2, stderr
    assert proc.returncode == 0 or "interrupted" in lines[-1]
    assert _leftovers(tmp_path) == []
    if out.exists():
        _complete_result(out)


KILL_DURING_INSTALL = """
import os, signal, sys
import dlnlandscape.common.atomic as atomic
real = os.replace
calls = []
def dying(src, dst, *a, **k):
    if sys._getframe(1).f_globals.get("__name__") == "dlnlandscape.common.atomic":
        calls.append(dst)
        if len(calls) == 3:  # two result files are in place, the rest (summary.json, marker) not yet
            os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *a, **k)
atomic.os.replace = dying
from dlnlandscape.cli import main
sys.argv = ["dln", *sys.argv[1:]]
main()
"""


def test_sigkill_while_a_result_replaces_an_earlier_one(tmp_path: Path, earlier: Path):
    """Killed between the renames of the in-place swap: summary.json (renamed last, what readers
    and the sweep trust) is still the earlier one, whole; the directory is still recognised as the
    tool's; the temporary directory is recognisably a leftover; a rerun completes."""
    out = _copy_result(earlier, tmp_path / "out")
    old_summary = (out / "summary.json").read_bytes()
    config = _write(tmp_path / "quick.yaml", {**QUICK_SOLVE, "solver": {**QUICK_SOLVE["solver"], "seed": 7}})
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_INSTALL, "solve", str(config), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / "summary.json").read_bytes() == old_summary
    assert json.loads((out / MARKER).read_text())["written_by"] == "dlnlandscape"
    assert all(p.name.startswith(PARTIAL_PREFIX) for p in _leftovers(tmp_path))
    again = _run("solve", str(config), "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert _complete_result(out)["seed"] == 7


def test_two_solves_into_one_directory_at_once(tmp_path: Path):
    """Both finish (the last one's result stands, whole) or one is refused in one line; never a
    mixture, never a leftover."""
    out = tmp_path / "out"
    configs = [
        _write(tmp_path / f"c{seed}.yaml", {**QUICK_SOLVE, "solver": {**QUICK_SOLVE["solver"], "seed": seed}})
        for seed in (1, 2)
    ]
    procs = [_dln("solve", str(c), "--out", str(out), "--quiet") for c in configs]
    outcomes = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    assert any(code == 0 for code, _ in outcomes), outcomes
    for code, stderr in outcomes:
        assert code in (0, 2), stderr
        if code == 2:
            assert stderr.count("\n") == 1 and stderr.startswith("dln: error:"), stderr
    summary = _complete_result(out)
    assert summary["seed"] in (1, 2)
    rows = (out / "critical_points.csv").read_text().count("\n") - 1
    assert rows == summary["complex_solutions"]
    assert _leftovers(tmp_path) == []


SWEEP = {
    "name": "faults",
    "base": {"data": {"seed": 0}, "solver": {"backend": "native", "seed": 42, "threads": 1}},
    "grid": {
        "architecture.widths": [[1, 1, 1], [2, 1, 2], [1, 2, 1], [2, 1, 1], [1, 1, 2], [3, 1, 2]],
        "data.samples": [1, 2],
    },
}


def _sweep_kill_and_resume(tmp_path: Path, sig: signal.Signals, jobs: int) -> None:
    sweep = _write(tmp_path / "sweep.yaml", {**SWEEP, "output": {"dir": str(tmp_path / "out")}})
    proc = _dln("sweep", str(sweep), "--jobs", str(jobs))
    done_lines = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        done_lines += line.strip().startswith("done")
        if done_lines == 3:
            proc.send_signal(sig)
            break
    _, rest = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "finished points are kept" in rest, rest
        assert "Traceback" not in rest
    finished = {p.parent.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*/summary.json")}
    assert len(finished) >= 3
    resumed = _run("sweep", str(sweep), "--jobs", str(jobs), "--json")
    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout[resumed.stdout.index("{") :])
    assert outcome["skipped"] == len(finished) and outcome["computed"] == 12 - len(finished)
    assert outcome["failed"] == 0 and outcome["stale"] == 0
    after = {p.parent.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*/summary.json")}
    assert len(after) == 12 and {k: after[k] for k in finished} == finished  # none twice
    assert _leftovers(tmp_path / "out") == []


def test_sweep_killed_then_resumed_runs_every_point_once(tmp_path: Path):
    _sweep_kill_and_resume(tmp_path, signal.SIGKILL, jobs=1)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGKILL, 2)])
def test_sweep_interrupted_then_resumed(tmp_path: Path, sig: signal.Signals, jobs: int):
    _sweep_kill_and_resume(tmp_path, sig, jobs)


def _data_config(tmp_path: Path, X: np.ndarray, Y: np.ndarray) -> Path:
    np.savez(tmp_path / "data.npz", X=X, Y=Y)
    return _write(tmp_path / "c.yaml", {**QUICK_SOLVE, "data": {"file": "data.npz"}})


def test_a_data_file_that_changes_between_runs(tmp_path: Path):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    config = _data_config(tmp_path, X, Y)
    runner = CliRunner()
    first = runner.invoke(main, ["solve", str(config), "--out", str(tmp_path / "r"), "--json", "--quiet"])
    assert first.exit_code == 0, first.output
    assert np.allclose(json.loads(first.output)["config"]["data"]["X"], X)
    np.savez(tmp_path / "data.npz", X=2 * X, Y=Y)  # new data, same file name
    second = runner.invoke(main, ["solve", str(config), "--out", str(tmp_path / "r"), "--json", "--quiet"])
    assert second.exit_code == 0 and np.allclose(json.loads(second.output)["config"]["data"]["X"], 2 * X)
    assert np.allclose(_complete_result(tmp_path / "r")["config"]["data"]["X"], 2 * X)
    # broken in every way a file can break: one line naming data.file and the fix, exit 2, nothing written
    cases = {
        "removed": lambda p: p.unlink(),
        "garbage": lambda p: p.write_bytes(b"\x00not an npz at all"),
        "a directory": lambda p: (p.unlink(), p.mkdir()),
        "wrong shape": lambda p: np.savez(p, X=np.ones((3, 2)), Y=Y),
        "no Y": lambda p: np.savez(p, X=X),
        "NaN": lambda p: np.savez(p, X=np.full((2, 2), np.nan), Y=Y),
        "truncated": lambda p: (np.savez(p, X=X, Y=Y), p.write_bytes(p.read_bytes()[:100])),
    }
    before = _snapshot(tmp_path / "r")
    for what, damage in cases.items():
        path = tmp_path / "data.npz"
        if path.is_dir():
            path.rmdir()
        if not path.exists():
            np.savez(path, X=X, Y=Y)
        damage(path)
        result = runner.invoke(main, ["solve", str(config), "--out", str(tmp_path / "r"), "--quiet"])
        assert result.exit_code == 2, (what, result.output)
        assert result.output.count("\n") == 1 and "data.file" in result.output, (what, result.output)
        assert _snapshot(tmp_path / "r") == before, what


def test_a_sweep_point_whose_data_file_changed_is_recomputed(tmp_path: Path):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((2, 1)), rng.standard_normal((2, 1))
    np.savez(tmp_path / "data.npz", X=X, Y=Y)
    sweep = _write(
        tmp_path / "s.yaml",
        {
            "name": "d",
            "base": {**QUICK_SOLVE, "data": {"file": "data.npz"}},
            "grid": {"solver.seed": [1, 2]},
            "output": {"dir": str(tmp_path / "out")},
        },
    )
    runner = CliRunner()
    assert json.loads(runner.invoke(main, ["sweep", str(sweep), "--json"]).output)["computed"] == 2
    assert json.loads(runner.invoke(main, ["sweep", str(sweep), "--json"]).output)["skipped"] == 2
    np.savez(tmp_path / "data.npz", X=X + 1, Y=Y)
    dry = runner.invoke(main, ["sweep", str(sweep), "--dry-run"])
    assert dry.output.count("stale") == 3, dry.output  # two points and the total line
    outcome = json.loads(runner.invoke(main, ["sweep", str(sweep), "--json"]).output)
    assert (outcome["computed"], outcome["stale"]) == (2, 2)


def _fake_msolve(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "msolve"
    script.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo 0.10.1; exit 0; fi\n' + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        # hangs, and starts a grandchild that would outlive it: the timeout kills the whole group
        ('sleep 300 & echo $! > "$PIDFILE"; sleep 300', "timeout", "did not finish within"),
        ("kill -9 $$", "error", "killed by signal 9"),
        ("echo 'msolve: out of memory' >&2; exit 3", "error", "exited with status 3"),
    ],
)
def test_msolve_hanging_or_killed_keeps_the_numerical_result(tmp_path: Path, monkeypatch, body, status, words):
    monkeypatch.setenv("DLN_MSOLVE", str(_fake_msolve(tmp_path, body)))
    monkeypatch.setenv("PIDFILE", str(tmp_path / "child.pid"))
    config = _write(tmp_path / "c.yaml", {**QUICK_SOLVE, "solver": {**QUICK_SOLVE["solver"], "verify_timeout": 2}})
    began = time.perf_counter()
    result = CliRunner().invoke(main, ["solve", str(config), "--out", str(tmp_path / "r"), "--verify", "degree"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - began < 60
    summary = _complete_result(tmp_path / "r")
    verification = summary["verification"]
    assert verification["status"] == status and words in json.dumps(verification), verification
    assert verification["agrees"] is None and summary["complex_solutions"] == 17
    if (tmp_path / "child.pid").exists():  # the grandchild went with its process group
        assert _gone(int((tmp_path / "child.pid").read_text()))


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for a reaper counts: it runs nothing)."""
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in state:
            return True
        time.sleep(0.1)
    return False


def test_sigint_while_msolve_runs_stops_msolve_too(tmp_path: Path):
    script = _fake_msolve(tmp_path, 'echo $$ > "$PIDFILE"; sleep 300')
    config = _write(tmp_path / "c.yaml", QUICK_SOLVE)
    env = {**_env(), "DLN_MSOLVE": str(script), "PIDFILE": str(tmp_path / "msolve.pid")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlnlandscape.cli",
            "solve",
            str(config),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
            "--verify",
            "degree",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for _ in range(600):
        if (tmp_path / "msolve.pid").exists() and (tmp_path / "msolve.pid").read_text().strip():
            break
        time.sleep(0.1)
    pid = int((tmp_path / "msolve.pid").read_text())
    # `dln solve` escalates (engines/control.py): the first two signals ask the engine to stop, which
    # the verification stage does not poll; the third raises KeyboardInterrupt at once
    for _ in range(3):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    _, stderr = proc.communicate(timeout=60)
    # 130 after the message; -SIGINT when a later signal lands while the process is shutting down
    assert proc.returncode in (130, 0, -signal.SIGINT) and "Traceback" not in stderr, stderr
    assert _gone(pid)  # msolve has its own session: it had to be stopped explicitly


def test_a_full_disk_while_writing_is_one_line_and_keeps_the_earlier_result(tmp_path: Path, earlier: Path, monkeypatch):
    out = _copy_result(earlier, tmp_path / "out")
    before = _snapshot(out)
    config = _write(tmp_path / "c.yaml", QUICK_SOLVE)

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    import dlnlandscape.common.atomic as atomic

    monkeypatch.setattr(atomic.os, "replace", full)
    result = CliRunner().invoke(main, ["solve", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "No space left on device" in result.output and "unchanged" in result.output
    monkeypatch.undo()
    assert _snapshot(out) == before and _leftovers(tmp_path) == []


def test_a_full_disk_for_the_caches_costs_nothing_but_recomputation(tmp_path: Path, monkeypatch):
    """The BKK cache cannot be written (no space): the bound is still computed and reported."""
    import dlnlandscape.common.atomic as atomic
    from dlnlandscape.analysis.bkk import bkk_bound, cached_bkk

    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "replace", full)
    assert bkk_bound((2, 1, 2))["affine"] == 33
    assert cached_bkk((2, 1, 2)) is None and list(tmp_path.iterdir()) == []


def test_an_unreadable_config_is_one_line_naming_it(tmp_path: Path):
    runner = CliRunner()
    directory = tmp_path / "dir.yaml"
    directory.mkdir()
    result = runner.invoke(main, ["check", str(directory)])
    assert result.exit_code == 2 and "is a directory" in result.output
    if os.geteuid() != 0:  # root reads anything
        locked = _write(tmp_path / "locked.yaml", QUICK_SOLVE)
        locked.chmod(0)
        result = runner.invoke(main, ["check", str(locked)])
        assert result.exit_code == 2 and "cannot be read" in result.output
