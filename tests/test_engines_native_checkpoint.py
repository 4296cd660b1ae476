"""Checkpoints of a monodromy solve: a stopped run, resumed, ends exactly where an uninterrupted one
does — same count, same solutions, same work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlnlandscape.common.atomic import read_marker
from dlnlandscape.engines.control import RunControl, StopRequested
from dlnlandscape.engines.native.checkpoint import CHECKPOINT
from dlnlandscape.engines.native.engine import NativeEngine
from dlnlandscape.engines.native.records import read_record
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.problem import Problem

from .conftest import make_config


def _config(seed: int = 42) -> Any:
    """(2,2,2), m = 3: 225 critical points (msolve), ~0.5 s."""
    return make_config(
        [2, 2, 2], 3, 0, data={"decimals": 3}, regularization={"seed": 1, "decimals": 3}, solver={"seed": seed}
    )


class StopAfterRounds:
    """A progress display that asks the control to stop once `rounds` monodromy rounds are done."""

    def __init__(self, control: RunControl, rounds: int) -> None:
        self.control, self.rounds, self.seen = control, rounds, 0

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...

    def notice(self, text: str) -> None: ...

    def note(self, text: str) -> None:
        if text.startswith("monodromy round"):
            self.seen += 1
            if self.seen == self.rounds:
                self.control.interrupt("test")


class StopInsideARound(RunControl):
    """A control whose search check fires on its `steps`-th call: mid-round (the tracker asks
    before each step of its Python loop, before every COMPILED_ROUNDS steps of the compiled one)."""

    def __init__(self, steps: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.steps = steps

    def checker(self, *, reserve: bool = True, since: int = 0) -> Any:
        if not reserve:  # the final homotopy runs on
            return super().checker(reserve=reserve, since=since)

        def check() -> None:
            self.steps -= 1
            if self.steps == 0:
                raise StopRequested("test stop inside a round")

        return check


def _solve(config: Any, control: RunControl | None = None, progress: Any = None) -> Any:
    return NativeEngine().solve(Problem.from_config(config), config.solver, progress, control)


@pytest.fixture(scope="module")
def uninterrupted() -> Any:
    return _solve(_config())


@pytest.mark.parametrize("rounds", [2, 8])
def test_resume_after_a_stop_between_rounds_ends_with_the_same_solutions(
    tmp_path: Path, uninterrupted: Any, rounds: int
):
    """After 2 rounds the patterns still grow; after 8 the trace test's slices hold witnesses,
    whose images the checkpoint does not write (records.DERIVED) but rebuilds on reading."""
    control = RunControl(checkpoint_dir=tmp_path)
    partial = _solve(_config(), control, StopAfterRounds(control, rounds))
    assert partial.stopped_early == "interrupted by test"
    mono = partial.monodromy
    assert mono.carried_to_target and (mono.base_solutions < 225 or rounds > 2)
    manifest, _ = read_record(tmp_path / CHECKPOINT)
    witnesses = [p["witnesses"] or 0 for p in (s.as_dict() for s in mono.per_pattern)]
    assert (max(witnesses) > 0) == (rounds > 2) and ("witness_known" in json.dumps(manifest)) is False
    assert mono.checkpoint == str(tmp_path / CHECKPOINT)
    assert CHECKPOINT in read_marker(tmp_path)["files"]  # listed: the directory stays the tool's
    resumed = _solve(_config(), RunControl(checkpoint_dir=tmp_path, resume=True))
    assert resumed.stopped_early is None and resumed.monodromy.resumed_at_round == rounds
    assert resumed.monodromy.base_solutions == uninterrupted.monodromy.base_solutions == 225
    assert resumed.paths.counts() == uninterrupted.paths.counts()
    assert np.array_equal(np.nan_to_num(resumed.paths.solutions), np.nan_to_num(uninterrupted.paths.solutions))
    assert resumed.monodromy.path_steps == uninterrupted.monodromy.path_steps


@pytest.mark.parametrize("chunk", [2000, 8])
def test_a_stop_inside_a_round_resumes_inside_it(tmp_path: Path, uninterrupted: Any, chunk: int, monkeypatch):
    """Stopped mid-arc: the chunks of the round already tracked are kept (with chunks of 8 paths
    the round has several), the half-done one is tracked again on resume — and the run ends with
    the uninterrupted run's solutions."""
    import json

    from dlnlandscape.engines.native import monodromy

    monkeypatch.setattr(monodromy, "ROUND_CHUNK_PATHS", chunk)
    partial = _solve(_config(), StopInsideARound(12, checkpoint_dir=tmp_path))
    assert partial.stopped_early == "test stop inside a round"
    assert 17 < partial.monodromy.base_solutions < 225  # some rounds done, not all
    with np.load(tmp_path / CHECKPOINT) as data:
        saved = json.loads(str(data["manifest"]))["state"]["__dict__"]
    progress = dict((k, v) for k, v in saved)["round"]
    jobs_done = progress["fields"]["jobs_done"]
    assert jobs_done > 0 if chunk == 8 else jobs_done == 0  # one chunk per round when chunks are large
    resumed = _solve(_config(), RunControl(checkpoint_dir=tmp_path, resume=True))
    assert resumed.monodromy.base_solutions == 225
    assert np.array_equal(np.nan_to_num(resumed.paths.solutions), np.nan_to_num(uninterrupted.paths.solutions))
    assert resumed.monodromy.loops == uninterrupted.monodromy.loops


def test_a_checkpoint_of_another_seed_is_refused(tmp_path: Path):
    control = RunControl(checkpoint_dir=tmp_path)
    _solve(_config(), control, StopAfterRounds(control, 1))
    with pytest.raises(ConfigError, match="--resume: this checkpoint was written for another"):
        _solve(_config(seed=43), RunControl(checkpoint_dir=tmp_path, resume=True))


def test_resume_without_a_checkpoint_starts_afresh(tmp_path: Path):
    run = _solve(_config(), RunControl(checkpoint_dir=tmp_path / "new", resume=True))
    assert run.monodromy.base_solutions == 225 and run.monodromy.resumed_at_round is None


def test_a_weighted_loss_resumes_to_the_same_solutions(tmp_path: Path):
    """The family's points carry the loss's form Q and the base problems its operator K: both
    are saved and restored (weighted (2,2,2) m = 3: 257 critical points, msolve's degree)."""
    config = make_config(
        [2, 2, 2], 3, 0, data={"decimals": 3}, regularization={"seed": 1, "decimals": 3}, loss={"kind": "weighted"}
    )
    whole = _solve(config)
    control = RunControl(checkpoint_dir=tmp_path)
    partial = _solve(config, control, StopAfterRounds(control, 2))
    assert partial.stopped_early == "interrupted by test" and partial.monodromy.base_solutions < 257
    resumed = _solve(config, RunControl(checkpoint_dir=tmp_path, resume=True))
    assert resumed.monodromy.resumed_at_round == 2
    assert resumed.monodromy.base_solutions == whole.monodromy.base_solutions == 257
    assert np.array_equal(np.nan_to_num(resumed.paths.solutions), np.nan_to_num(whole.paths.solutions))
