"""The final parameter homotopy (targets.py): every base solution arrives at the target, and what
it took is recorded pass by pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlnlandscape.common.points import match_points
from dlnlandscape.common.symmetry import closure
from dlnlandscape.engines.native.endgame import NEWTON_ACCURACY, refine
from dlnlandscape.engines.native.family import ArcTracker
from dlnlandscape.engines.native.monodromy import MonodromyOptions, MonodromySolver
from dlnlandscape.engines.native.precision import refine_extended
from dlnlandscape.engines.native.targets import BaseSolutions, track_to_targets
from dlnlandscape.engines.native.tracker import TrackerOptions
from dlnlandscape.model.problem import Problem
from dlnlandscape.pipeline import solve

from .conftest import make_config


def _config(widths: list[int], samples: int, seed: int = 42) -> Any:
    return make_config(
        widths, samples, 0, data={"decimals": 3}, regularization={"seed": 1, "decimals": 3}, solver={"seed": seed}
    )


@pytest.fixture(scope="module")
def base() -> tuple[Problem, MonodromySolver, list[BaseSolutions]]:
    """(2,2,2) m = 3 solved at its base points: 65 orbit representatives, 225 solutions."""
    problem = Problem.from_config(_config([2, 2, 2], 3))
    solver = MonodromySolver(problem, np.random.default_rng(0), TrackerOptions(), MonodromyOptions())
    components = solver.solve()
    assert sum(c.known.shape[0] for c in components) == 225
    return problem, solver, [BaseSolutions(c.base, c.reps, c.active) for c in components]


class LosingArcs(ArcTracker):
    """An arc tracker that loses the given rows of its first call (the direct pass) as a pole next
    to their arcs would, and the same start points again on the retrack."""

    def __init__(self, inner: ArcTracker, lose: np.ndarray) -> None:
        super().__init__(inner.family, inner.options, inner.kernel)
        self.lose = lose
        self.calls_seen = 0

    def track(self, y0: np.ndarray, *args: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
        y, ok = super().track(y0, *args, **kw)
        self.calls_seen += 1
        if self.calls_seen <= 2:  # direct, then retrack of the same starts
            lost = self.lose if self.calls_seen == 1 else np.arange(y0.shape[0])
            y[lost], ok[lost] = np.nan, False
        return y, ok


def test_paths_lost_on_the_direct_route_are_found_by_a_detour(base):
    problem, solver, bases = base
    lose = np.array([3, 17, 40, 41])  # rows of two patterns
    arcs = LosingArcs(solver.arcs, lose)
    results, final = track_to_targets(
        arcs, np.random.default_rng(1), solver.signs, bases, [problem], TrackerOptions(), refine, NEWTON_ACCURACY
    )
    kinds = [(p.kind, p.found, p.missing) for p in final.passes]
    assert kinds[0] == ("direct", 61, 4) and kinds[1] == ("retrack", 0, 4)
    assert kinds[2][0] == "detour" and kinds[-1][2] == 0
    assert final.failed == 0 and final.lost_first_pass == 4
    paths = results[0]
    assert paths.counts()["failed"] == 0 and paths.is_success().sum() == 225
    # one row per orbit, then the images: 65 tracked representatives as before
    assert paths.counts()["tracked"] == 65


def test_what_no_pass_recovers_is_reported_as_failed_paths(base):
    problem, solver, bases = base
    arcs = LosingArcs(solver.arcs, np.array([5]))
    results, final = track_to_targets(
        arcs,
        np.random.default_rng(1),
        solver.signs,
        bases,
        [problem],
        TrackerOptions(),
        refine,
        NEWTON_ACCURACY,
        max_detours=0,
    )
    assert final.failed == 1 and [p.kind for p in final.passes] == ["direct", "retrack"]
    assert results[0].counts()["failed"] == 1 and results[0].counts()["tracked"] == 65


def test_extended_precision_finishes_what_double_cannot_confirm(base):
    """A point 1e-4 off a critical point: double-precision Newton confirms it too, but the
    extended one must land on the same point with a step far below double's."""
    problem, solver, _ = base
    run = solve(_config([2, 2, 2], 3))
    x = run.points.solutions[:4]
    near = x + 1e-4 * np.random.default_rng(0).standard_normal(x.shape)
    better = refine_extended(problem, near)
    assert np.abs(better.points - x).max() < 1e-12
    assert (better.step < 1e-25).all() and (better.residual < 1e-25).all()


def test_an_orbit_the_loops_missed_comes_back_from_the_target_and_is_then_proven():
    """The mechanism of (2,2,2,2) m = 2, solver seed 7: the base set lacks an orbit, a path of
    that pattern is lost on the direct route, and the detour reaches the missing orbit too — the
    target has more than the base.  The pair is handed back (`surplus`), its orbits are carried
    to the base point, and the trace test that failed on the short set passes on the grown one."""
    problem = Problem.from_config(_config([2, 2, 2], 3))
    solver = MonodromySolver(problem, np.random.default_rng(0), TrackerOptions(), MonodromyOptions())
    components = solver.solve()
    big = int(np.argmax([c.reps.shape[0] for c in components]))
    c = components[big]
    assert (c.known.shape[0], c.reps.shape[0], c.completeness) == (192, 48, "trace_test")
    gone = closure(c.reps[2:3], solver.signs)
    c.known = c.known[match_points(c.known, gone, 1e-8) < 0]
    c.reps = np.delete(c.reps, 2, axis=0)
    assert c.known.shape[0] == 188 and solver.trace is not None and c.slice is not None
    assert solver.trace.evaluate([c.slice], [c.reps])[0].deviation > 1e-6  # the short set fails
    bases = [BaseSolutions(b.base, b.reps, b.active) for b in components]
    first = sum(b.reps.shape[0] for b in components[:big])
    arcs = LosingArcs(solver.arcs, np.array([first + 5]))
    results, final = track_to_targets(
        arcs, np.random.default_rng(1), solver.signs, bases, [problem], TrackerOptions(), refine, NEWTON_ACCURACY
    )
    assert results[0].is_success().sum() == 225 and final.failed == 0
    assert [(s.target, s.pattern, s.representatives.shape[0]) for s in final.surplus] == [(0, big, 48)]
    c.completeness, c.stopped = "heuristic", "no new solutions"
    assert solver.take_back(components, final.surplus) == 1
    assert (c.known.shape[0], c.reps.shape[0], c.completeness) == (192, 48, "trace_test")
    assert c.slice.outcome is not None and c.slice.outcome.deviation <= 1e-10
    assert "1 orbit(s) carried back from the target" in c.stopped


@pytest.mark.parametrize("seed", [1, 3])
def test_solver_seeds_lose_nothing_on_the_way_to_the_target(seed):
    """(2,2,2) m = 3: every seed ends at 225 with no failed path (seed 1 needs a detour)."""
    run = solve(_config([2, 2, 2], 3, seed))
    info = run.summary["backend"]["monodromy"]
    assert run.summary["complex_solutions"] == 225 and info["final_failed"] == 0 and run.summary["complete"]
    assert info["final_passes"][0]["kind"] == "direct"


@pytest.mark.slow
def test_2222_m2_loses_nothing_at_the_target():
    """Issue #14's case: (2,2,2,2), m = 2, data seed 7, regularisation seed 8, solver seed 5.
    Monodromy reaches 13,441 at the base point; the final homotopy used to lose 4 orbits (64
    solutions, 13,377) and now loses none (~3 min on 2 cores)."""
    config = make_config(
        [2, 2, 2, 2],
        2,
        7,
        data={"decimals": 3},
        regularization={"seed": 8, "decimals": 3},
        solver={"seed": 5, "certify": False},
    )
    run = solve(config)
    info = run.summary["backend"]["monodromy"]
    assert info["base_solutions"] == 13441 and info["final_failed"] == 0
    assert run.summary["complex_solutions"] == 13441


def test_a_pattern_whose_trace_fails_is_probed_by_the_final_homotopy_and_proven():
    """`probe_target`: the final homotopy for one pattern, with one detour even though no path is
    lost (the union of two routes), finds the orbit the base set lacks, carries it back, and the
    trace test passes on the grown set."""
    problem = Problem.from_config(_config([2, 2, 2], 3))
    solver = MonodromySolver(
        problem, np.random.default_rng(0), TrackerOptions(), MonodromyOptions(), refine=refine,
        accuracy_limit=NEWTON_ACCURACY,
    )  # fmt: skip
    components = solver.solve()
    c = max(components, key=lambda b: b.reps.shape[0])
    gone = closure(c.reps[2:3], solver.signs)
    c.known = c.known[match_points(c.known, gone, 1e-8) < 0]
    c.reps = np.delete(c.reps, 2, axis=0)
    assert solver.trace is not None and c.slice is not None
    assert not solver.trace.evaluate([c.slice], [c.reps])[0].passed
    c.completeness, c.stopped = "", ""
    assert solver.probe_target(c) == 1
    assert (c.known.shape[0], c.reps.shape[0], c.completeness) == (192, 48, "trace_test")
    assert "found by the final homotopy's detours" in c.stopped
