"""Proven solution sets kept for reuse (engines/native/proven.py): a later solve of the same family
starts from the kept set, tracks only the final homotopy, and ends where a fresh solve ends."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import dlnlandscape as dln
from dlnlandscape.common.points import match_points
from dlnlandscape.engines.native import monodromy, proven
from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.targets import Surplus
from dlnlandscape.engines.stats import PatternStats
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.problem import Problem

from .conftest import make_config, write_yaml


def _config(samples: int = 3, data_seed: int = 0, seed: int = 42) -> Any:
    """(2,2,2): m = 3 has 225 critical points, m = 2 also 225 (msolve; tests/test_oracle.py)."""
    return make_config(
        [2, 2, 2],
        samples,
        data_seed,
        data={"decimals": 3},
        regularization={"seed": data_seed + 1, "decimals": 3},
        solver={"seed": seed, "backend": "native", "start": "monodromy", "certify": False},
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The proven sets of this test only."""
    monkeypatch.setattr(proven, "proven_cache_dir", lambda: tmp_path / "proven")
    return tmp_path / "proven"


def _mono(result: Any) -> dict[str, Any]:
    return result.summary["backend"]["monodromy"]


def test_a_kept_set_is_reused_on_other_data_and_ends_where_a_fresh_solve_ends(store: Path) -> None:
    first = dln.solve(_config(), reuse=True)
    assert first.complex_solutions == 225 and first.summary["completeness"]["method"] == "trace_test"
    assert _mono(first)["reused"] is None
    kept = Path(_mono(first)["kept"])
    assert kept.parent == store and kept.is_file()

    # other data and another solver seed: the same family, so the kept set is the start
    again = dln.solve(_config(data_seed=5, seed=7), reuse=True)
    fresh = dln.solve(_config(data_seed=5, seed=7), reuse=False)
    reused = _mono(again)["reused"]
    assert reused is not None and reused["solver_seed"] == 42 and reused["file"] == str(kept)
    assert again.summary["completeness"]["reused"] == reused
    assert "proven by an earlier run" in again.summary["completeness"]["description"]
    assert _mono(again)["loops"] == 0 and _mono(again)["trace_path_steps"] == 0
    assert _mono(again)["path_steps"] < _mono(fresh)["path_steps"] / 10  # the final homotopy only
    assert again.complete and again.summary["completeness"]["method"] == "trace_test"
    assert again.complex_solutions == fresh.complex_solutions == 225
    assert again.real_solutions == fresh.real_solutions
    assert np.all(match_points(again.solutions, fresh.solutions, 1e-6) >= 0)  # the very same points
    # the proof's own record stands for the patterns: deviations, witnesses, loops of the first run
    assert [p["trace_deviation"] for p in _mono(again)["per_pattern"]] == [
        p["trace_deviation"] for p in _mono(first)["per_pattern"]
    ]
    assert _mono(fresh)["reused"] is None and _mono(fresh)["kept"] is None  # reuse false keeps nothing


def test_another_family_is_not_reused(store: Path) -> None:
    dln.solve(_config(samples=3), reuse=True)
    other = dln.solve(_config(samples=2), reuse=True)  # m = 2: another family (S of rank 2)
    assert _mono(other)["reused"] is None and _mono(other)["trace_path_steps"] > 0
    assert other.complex_solutions == 225
    assert len(list(store.glob("*.npz"))) == 2


def test_family_key_follows_the_family_not_the_data() -> None:
    def key(samples: int, data_seed: int, loss: str = "square") -> str:
        config = make_config([2, 2, 2], samples, data_seed, loss={"kind": loss})
        return proven.family_key(Family(Problem.from_config(config)))

    assert key(3, 0) == key(3, 9)
    assert len({key(3, 0), key(2, 0), key(1, 0)}) == 3
    assert key(3, 0, "weighted") != key(3, 9, "weighted")  # that family keeps the real X


def test_a_damaged_entry_is_solved_again_and_replaced(store: Path) -> None:
    first = dln.solve(_config(), reuse=True)
    kept = Path(_mono(first)["kept"])
    data = bytearray(kept.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte in one of the arrays (zip's CRC catches it)
    kept.write_bytes(bytes(data))
    again = dln.solve(_config(data_seed=5), reuse=True)
    assert _mono(again)["reused"] is None and again.complex_solutions == 225
    assert proven.is_proven_file(kept) and _mono(again)["kept"] == str(kept)


def test_a_kept_point_that_is_no_solution_is_not_taken_for_a_proof(store: Path) -> None:
    first = dln.solve(_config(), reuse=True)
    family = Family(Problem.from_config(_config()))
    entry = proven.ProvenStore(family).load()
    assert entry is not None
    biggest = max(range(len(entry.patterns)), key=lambda i: entry.patterns[i].representatives.shape[0])
    patterns = list(entry.patterns)
    p = patterns[biggest]
    reps = p.representatives.copy()
    reps[1] = reps[0]  # one orbit twice, another gone: the counts the proof recorded no longer add up
    patterns[biggest] = proven.ProvenPattern(p.active, p.base, reps, p.stats)
    proven.ProvenStore(family).save(patterns, {"solver_seed": 42})
    again = dln.solve(_config(data_seed=5), reuse=True)
    assert _mono(again)["reused"] is None and _mono(again)["trace_path_steps"] > 0
    assert again.complex_solutions == first.complex_solutions == 225


def test_a_file_the_tool_did_not_write_is_left_alone(store: Path) -> None:
    family = Family(Problem.from_config(_config()))
    path = proven.ProvenStore(family).path
    path.parent.mkdir(parents=True)
    path.write_text("the user's notes")
    result = dln.solve(_config(), reuse=True)
    assert result.complex_solutions == 225 and _mono(result)["kept"] is None
    assert path.read_text() == "the user's notes"
    proven.ProvenStore(family).drop()
    assert path.read_text() == "the user's notes"


def test_only_proven_sets_are_kept(tmp_path: Path) -> None:
    family = Family(Problem.from_config(_config()))
    store = proven.ProvenStore(family, tmp_path)
    stats = PatternStats(active_coordinates=8, solutions=4, orbits=1, loops=5, stopped="…", history=(4,))
    pattern = proven.ProvenPattern(np.ones(8, bool), family.target(), np.ones((1, 8), complex), stats)
    assert store.save([pattern], {}) is None  # completeness "" (stopped early)
    heuristic = proven.ProvenPattern(
        pattern.active, pattern.base, pattern.representatives, dataclasses.replace(stats, completeness="heuristic")
    )
    assert store.save([heuristic], {}) is None
    assert not any(tmp_path.iterdir())


def test_a_partial_run_keeps_nothing(store: Path) -> None:
    result = dln.solve(_config(), reuse=True, time_limit=0.05)
    assert not result.complete and _mono(result)["kept"] is None
    assert not store.exists() or not any(store.iterdir())


def test_orbits_beyond_a_kept_set_refute_it(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the target show more orbits than a kept set has, the proof is contradicted: the
    pattern falls back to the heuristic, the run says so, and the entry goes."""
    dln.solve(_config(), reuse=True)
    real = monodromy.track_to_targets

    def with_surplus(arcs, rng, signs, bases, *args: Any, **kw: Any) -> Any:
        results, final = real(arcs, rng, signs, bases, *args, **kw)
        big = max(range(len(bases)), key=lambda i: bases[i].representatives.shape[0])
        extra = np.concatenate([bases[big].representatives, bases[big].representatives[:1] + 1.0])
        return results, type(final)(**{**final.__dict__, "surplus": (Surplus(0, big, extra),)})

    monkeypatch.setattr(monodromy, "track_to_targets", with_surplus)
    again = dln.solve(_config(data_seed=5), reuse=True)
    methods = [p["completeness"] for p in _mono(again)["per_pattern"]]
    assert methods.count("heuristic") == 1
    assert again.summary["completeness"]["method"] == "heuristic"
    assert any("contradicted" in p["stopped"] for p in _mono(again)["per_pattern"])
    assert not any(store.iterdir())


def test_solver_reuse_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"solver\.reuse"):
        make_config([2, 2, 2], 3, 0, solver={"reuse": "yes"})


def test_cli_fresh_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Path) -> None:
    from dlnlandscape.cli import main

    config = write_yaml(
        tmp_path / "c.yaml",
        {
            "architecture": {"widths": [2, 2, 1]},
            "data": {"samples": 2, "seed": 0},
            "solver": {"backend": "native", "start": "monodromy", "reuse": True},
        },
    )
    runner = CliRunner()
    kept = runner.invoke(main, ["solve", str(config), "--out", str(tmp_path / "a"), "--json", "--quiet"])
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.output)["backend"]["monodromy"]["kept"] is not None
    fresh = runner.invoke(main, ["solve", str(config), "--out", str(tmp_path / "b"), "--json", "--quiet", "--fresh"])
    summary = json.loads(fresh.output)
    assert summary["backend"]["monodromy"]["reused"] is None and summary["config"]["solver"]["reuse"] is False

    monkeypatch.setenv("DLN_REUSE", "perhaps")
    bare = write_yaml(tmp_path / "d.yaml", {"architecture": {"widths": [2, 2, 1]}, "data": {"samples": 2}})
    bad = runner.invoke(main, ["solve", str(bare), "--out", str(tmp_path / "c")])
    assert bad.exit_code == 2 and "DLN_REUSE" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "c").exists()


def test_a_shipped_proof_is_read_after_the_users(tmp_path: Path, store: Path) -> None:
    """A wheel built by `pip install .` ships the quickstart's proven set (doctor.warm_up); a solve
    reads it when the user's cache has none, and the user's own entry wins."""
    first = dln.solve(_config(), reuse=True)
    family = Family(Problem.from_config(_config()))
    shipped = tmp_path / "shipped"
    (shipped / "proven").mkdir(parents=True)
    kept = Path(_mono(first)["kept"])
    kept.rename(shipped / "proven" / kept.name)
    entry = proven.ProvenStore(family, store, shipped).load()
    assert entry is not None and entry.origin["file"] == str(shipped / "proven" / kept.name)
    assert proven.ProvenStore(family, store, None).load() is None
    dln.solve(_config(), reuse=True)  # no entry of the user's (none shipped in this checkout): proves and keeps
    assert proven.ProvenStore(family, store, shipped).load().origin["file"] == str(store / kept.name)


def test_dln_check_says_when_a_proof_is_kept(store: Path) -> None:
    assert dln.check(_config().with_solver(reuse=True)).facts["proven_set"] is None
    dln.solve(_config(), reuse=True)
    kept = dln.check(_config(data_seed=3).with_solver(reuse=True)).facts["proven_set"]
    assert kept is not None and kept["solutions"] == 225 and kept["solver_seed"] == 42
    assert dln.check(_config(data_seed=3)).facts["proven_set"] is None  # reuse off (DLN_REUSE=0 here)
