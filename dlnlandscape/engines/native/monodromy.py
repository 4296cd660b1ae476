"""Monodromy: find all critical points by moving the data around loops, never towards infinity.

Why.  Linear-product homotopies track one path per start solution, and on these systems almost
all of them diverge: on (2,2,2) m = 3 only 225 of 1,921 multihomogeneous paths end at critical
points, and the share falls with depth.  Monodromy (Duff, Hill, Jensen, Lee, Leykin & Sommars,
*Solving polynomial systems via homotopy continuation and monodromy*, IMA J. Numer. Anal. 2019;
HomotopyContinuation.jl's `monodromy_solve`) tracks only paths between actual solutions.

The family (family.py).  Moving the data (X, Y) and the penalty C keeps the real problem's
structure, so a generic complex parameter point has as many solutions as the generic real
problem, and a start pair (a point and data it is critical for) needs no solve.  Each neuron
pattern gets its own base point and start pair.

The loop.  From the base point p₀, every known solution is tracked p₀ → p₁ → p₂ → p₀ along
arcs (random p₁, p₂); endpoints that are new solutions at p₀ are added with their whole
sign-flip orbit (the family is invariant, so an orbit maps to an orbit and only one
representative per orbit is ever tracked).  It stops when `loops_without_progress` fresh loops
in a row found nothing new, or when the count reaches a trusted number.  All patterns' loops
run in one batch per arc.  A final parameter homotopy p₀ → the real problem (targets.py) gives
the critical points.

Back from the target.  The final homotopy's detours are monodromy loops too, and now and then
one reaches an orbit the loops missed (measured on (2,2,2,2) m = 2, solver seed 7: 16 more points
at the target than at the base, where the trace test had failed at 1.3e-9 and the heuristic had
stopped the pattern).  Such orbits are tracked back to their base point, checked by Newton there,
added, and the pattern's trace test is read again on the grown set (`take_back`): a count the
loops alone could not prove is proven, and a pattern the loops took as complete is refuted or
confirmed on the set the target shows.

A fresh base point.  A pattern whose trace test still fails once nothing new turns up (at once
after a near miss) opens its second slice at a fresh random base point, its set carried there
(`move_base`): the start pair's base can leave the pattern's other solutions large and
ill-conditioned, and its witnesses with them, out of the loops' reach.  Where the set cannot be
moved (a path lost on the way), the fresh slice opens at the same base point and the old slice's
witnesses are carried to it (`TraceTest.carry`) instead of being grown again from nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ...common.newton import newton
from ...common.points import SAME_POINT_TOL, match_points, unique_points
from ...common.symmetry import closure, representatives
from ...model.problem import Problem
from ..base import PathResults, Progress
from ..control import RunControl, StopRequested
from ..stats import MonodromyStats, PatternStats
from .checkpoint import Checkpointer, MonodromyState, RoundProgress, capture, restore
from .family import ArcTracker, DataPoint, Family
from .proven import ProvenPattern, ProvenSet, ProvenStore, refuted
from .targets import MAX_DETOURS, NOISE_FLOOR, BaseSolutions, Refine, Surplus, track_to_targets
from .trace_test import NEAR_MISS, TRACE_TOL, Slice, TraceTest
from .tracker import TrackerOptions

NEWTON_ACCURACY = 1e-10  # relative Newton step below which an arc's endpoint is a solution
SEED_CONDITION = 1e8  # Hessian condition at a seed above which its pattern is not generic
MAX_SLICES = 2  # trace-test slices a pattern may open before the heuristic stops it
# Loops through the real data point a pattern gets when its trace test fails: the final
# homotopy's detours reach orbits that random loops at the base miss ((2,2,2,2) m = 2, solver
# seed 7: 16 more points at the target; the trace failed at 5e-6 and the pattern looped on
# into the time limit), so the first answer to a failed trace is a loop that goes there.
TARGET_LOOPS = 2
FRESH_ARCS_PER_ROUND = 8  # a round gives each pattern ≥ this many (representative, fresh loop) pairs
# The final homotopy's path steps per representative, in loop arcs' average steps: (2,2,2,2) m = 2
# takes 2.2 for the direct pass and ~6 with the detour it needs (270 steps against 44 per loop arc).
FINAL_COST = 6.0
ROUND_CHUNK_PATHS = 2000  # a round is tracked in chunks of about this many paths: the unit of a mid-round checkpoint


@dataclass(frozen=True)
class MonodromyOptions:
    """When the loops stop, and how loosely they track."""

    loops_without_progress: int = 5
    max_loops: int = 200
    # looser steps inside loops: a path that jumps there still ends at a genuine solution
    # (every endpoint is Newton-checked), so jumping only costs discoveries, never correctness
    loop_tol: float = 1e-2
    # stop a pattern when its trace test passes (trace_test.py); without it, or when the test
    # cannot settle it, `loops_without_progress` rounds without news stop it (a heuristic)
    trace_test: bool = True
    trace_tol: float = TRACE_TOL


def newton_check(problem: Problem, x: np.ndarray, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A few Newton steps on ∇L(·; q) = 0; the points and whether the last step was tiny."""
    result = newton(problem.gradient_and_hessian, x, iterations)
    return result.points, result.converged(NEWTON_ACCURACY)


@dataclass
class Component:
    """One neuron pattern's monodromy run: its base point, solutions there, and loops."""

    active: np.ndarray  # coordinate mask of the pattern
    base: DataPoint
    base_problem: Problem
    known: np.ndarray  # all solutions found at the base point
    reps: np.ndarray  # one per sign-flip orbit: the only points ever tracked
    loops: list[tuple[DataPoint, DataPoint]] = field(default_factory=list)
    carried: list[int] = field(default_factory=list)  # representatives each loop has carried
    stagnant: int = 0  # rounds in a row without a new solution
    stopped: str = ""
    completeness: str = ""  # how the stop is justified: PatternStats.completeness
    history: list[int] = field(default_factory=list)
    slice: Slice | None = None  # the trace test's curve, opened once the pattern first stalls
    slices_opened: int = 0  # slices opened so far (a fresh one when the trace fails and nothing turns up)
    target_loops: int = 0  # loops through the real data point so far (TARGET_LOOPS)
    probed: bool = False  # whether the final homotopy was run for this pattern alone (probe_target)
    base_moves: int = 0  # times the pattern moved to a fresh base point (MonodromySolver.move_base)
    proof: PatternStats | None = None  # kept from the earlier run that proved this pattern (proven.py)

    def stats(self) -> PatternStats:
        if self.proof is not None:  # reused: no loops ran here, the proof's own record stands
            return self.proof
        outcome = self.slice.outcome if self.slice is not None else None
        orbit = self.known.shape[0] // max(1, self.reps.shape[0])
        return PatternStats(
            active_coordinates=int(self.active.sum()),
            solutions=int(self.known.shape[0]),
            orbits=int(self.reps.shape[0]),
            loops=len(self.loops),
            stopped=self.stopped,
            history=tuple(self.history),
            completeness=self.completeness,
            trace_deviation=None if outcome is None or not outcome.evaluated else outcome.deviation,
            trace_tolerance=None if outcome is None else outcome.tolerance,
            trace_rounding=None if outcome is None or not outcome.evaluated else outcome.rounding,
            witnesses=None if self.slice is None else int(self.slice.witness_reps.shape[0]) * orbit,
            witness_loops=None if self.slice is None else len(self.slice.loops),
            trace_extended=None if outcome is None else outcome.extended,
            base_moves=self.base_moves,
        )


class MonodromySolver:
    """Grows the solution sets of all neuron patterns at their base points, loop by loop, all
    patterns and loops tracked together in one batch per arc (see the module docstring)."""

    def __init__(
        self,
        problem: Problem,
        rng: np.random.Generator,
        tracker_options: TrackerOptions,
        options: MonodromyOptions,
        kernel: str = "auto",
        refine: Refine | None = None,
        accuracy_limit: float = 0.0,
    ) -> None:
        """`refine` and `accuracy_limit`: the final homotopy's (targets.py), for `probe_target`;
        without them a pattern whose trace fails is not probed."""
        self.problem = problem
        self.tracker_options = tracker_options
        self.refine = refine
        self.accuracy_limit = accuracy_limit
        self.rng = rng
        self.family = Family(problem)
        self.arcs = ArcTracker(self.family, tracker_options, kernel)
        self.options = options
        self.loop_options = replace(tracker_options, tol=options.loop_tol)
        self.final_options = replace(tracker_options, tol=tracker_options.tol / 10, noise_floor=NOISE_FLOOR)
        self.signs = problem.sign_flips() if problem.symmetric else np.ones((1, problem.n))
        self.arcs_tracked = 0
        self.arcs_failed = 0
        self.stopped_early = ""  # why a stop request ended the loops (a partial result)
        self.resumed_at: int | None = None  # the round a checkpoint had reached
        self.seconds_before = 0.0  # loop seconds of the runs before a resume
        self.began = time.perf_counter()
        self.final_state: MonodromyState | None = None
        self.round_progress: RoundProgress | None = None  # the round under way
        self.c_scale = 1.0  # the size of the penalties at random loop points (set by solve, or restored)
        self.trace = (
            TraceTest(self.family, self.signs, rng, tracker_options, self.loop_options, options.trace_tol, kernel)
            if options.trace_test
            else None
        )

    def adopt(self, kept: ProvenSet) -> list[Component] | None:
        """The components of a set an earlier run proved and kept (proven.py): closed, with the
        proof's statistics, at their base points — no loops run.  None (solve afresh) unless
        every kept point is Newton-confirmed at its base point, in its pattern, and the orbits
        add up to the counts the proof recorded: a damaged entry must not pass for a proof."""
        components = []
        for pattern in kept.patterns:
            problem = self.family.problem_at(pattern.base)
            reps = self.verified(problem, pattern.representatives, pattern.active)
            reps = reps[representatives(reps, self.signs)] if reps.shape[0] else reps  # distinct orbits
            known = closure(reps, self.signs)
            if (reps.shape[0], known.shape[0]) != (pattern.stats.orbits, pattern.stats.solutions):
                return None
            components.append(
                Component(
                    pattern.active,
                    pattern.base,
                    problem,
                    known,
                    reps,
                    stopped=pattern.stats.stopped,
                    completeness=pattern.stats.completeness,
                    history=list(pattern.stats.history),
                    proof=pattern.stats,
                )
            )
        return components

    def seed(self, active: np.ndarray) -> Component:
        """A start pair for one pattern; a pattern without generic solutions is closed at once."""
        x0, base = self.family.start_pair(self.rng, active)
        base_problem = self.family.problem_at(base)
        none = np.zeros((0, self.problem.n), dtype=complex)
        with np.errstate(all="ignore"):
            seed_condition = float(np.linalg.cond(base_problem.hessian(x0[None]))[0])
        if not seed_condition < SEED_CONDITION:
            # The seed lies on a positive-dimensional fibre: this pattern's solutions exist only
            # for special data (its image in parameter space is a hypersurface — e.g. a width-1
            # layer after two active neurons ties their penalties together), so at generic
            # data it contributes nothing.
            return Component(
                active,
                base,
                base_problem,
                none,
                none,
                stopped="no isolated solutions for generic data",
                completeness="singular_seed",
            )
        component = Component(active, base, base_problem, closure(x0[None], self.signs), x0[None])
        if not active.any():
            component.stopped = "the origin: a solution for every parameter value"
            component.completeness = "exact"
        return component

    def solve(
        self,
        trusted_count: int | None = None,
        progress: Progress | None = None,
        control: RunControl | None = None,
        keeper: Checkpointer | None = None,
    ) -> list[Component]:
        """Loops until every pattern stagnated (or the total reached `trusted_count`).  With a
        `control`, a stop request ends the loops (engines/control.py); with a `keeper`, the state
        is saved now and then — between rounds or between the chunks of one — and always on a
        stop, and a resumed run starts from the saved state, inside a round if it stopped there
        (checkpoint.py)."""
        saved = keeper.load() if keeper is not None and control is not None and control.resume else None
        pending: RoundProgress | None = None  # a round the saved run stopped inside
        if saved is not None:
            components, rounds, pending = restore(self, saved)
        else:
            components = [self.seed(mask) for mask in self.family.neuron_patterns()]
            open_ = [c for c in components if not c.stopped]
            if open_:
                self.c_scale = float(np.sqrt(np.mean([np.mean(np.abs(c.base.C) ** 2) for c in open_])))
            rounds = 0
        open_ = [c for c in components if not c.stopped]
        if control is not None:
            self.arcs.check = control.checker()
            if self.trace is not None:
                self.trace.check = self.arcs.check
        while True:
            total = sum(c.known.shape[0] for c in components)
            if trusted_count is not None and total >= trusted_count:
                for c in open_:
                    c.stopped = f"the total reached the trusted count {trusted_count}"
                    c.completeness = "trusted_count"
                break
            open_ = [c for c in open_ if not c.stopped]
            if not open_:
                break
            if control is not None and pending is None:  # between rounds
                control.reserve = self.final_estimate(components)
                why = control.stop_reason()
                if why or (keeper is not None and keeper.due()):
                    if keeper is not None:
                        keeper.save(capture(self, components, rounds))
                    if why:
                        self.stop(why, open_)
                        break
            rounds += 1
            self.round_progress = pending or RoundProgress(0, [self.none() for _ in open_])
            for c in open_ if pending is None else ():  # a resumed round has drawn its loops already
                # once a pattern has stalled, few orbits get several fresh loops per round: a loop
                # often maps a small orbit set onto itself, and for few representatives loops are
                # cheap (early, while it still grows, one loop per round: every loop must later
                # carry every representative found after it)
                fresh = max(1, FRESH_ARCS_PER_ROUND // max(1, c.reps.shape[0])) if c.stagnant else 1
                for _ in range(fresh):
                    c.loops.append(
                        (
                            self.family.random_point(self.rng, self.c_scale),
                            self.family.random_point(self.rng, self.c_scale),
                        )
                    )
                    c.carried.append(0)
            pending = None

            def between_chunks(complete: int = rounds - 1) -> None:  # mid-round: the chunks done are kept
                if control is not None:
                    control.reserve = self.final_estimate(components)
                if keeper is not None and keeper.due():
                    keeper.save(capture(self, components, complete))

            try:
                found = self._round(open_, between_chunks)
            except StopRequested as stop:  # the round so far (its loops, finished chunks) is saved
                if keeper is not None:
                    keeper.save(capture(self, components, rounds - 1))
                self.round_progress = None
                rounds -= 1
                self.stop(stop.reason, open_)
                break
            self.round_progress = None
            for c, new in zip(open_, found):
                before = c.known.shape[0]
                self._add(c, new)
                c.stagnant = c.stagnant + 1 if c.known.shape[0] == before else 0
                if progress is not None and c.known.shape[0] > before:
                    progress.advance(int(c.known.shape[0] - before))
            try:  # the round's solutions are in; a stop in its witnesses or in a probe leaves them
                if self.trace is not None:
                    self._certify(open_, progress)
                for c in open_:
                    c.history.append(int(c.known.shape[0]))
                    self._decide(c)  # a probe (probe_target) tracks paths
            except StopRequested as stop:
                if keeper is not None:
                    keeper.save(capture(self, components, rounds))
                self.stop(stop.reason, open_)
                break
            if progress is not None:
                progress.note(self.describe(components, rounds))
        self.final_state = capture(self, components, rounds)  # for a checkpoint if the final stops
        return components

    def stop(self, reason: str, open_: list[Component]) -> None:
        """A stop request ended the loops: the open patterns say so (after the checkpoint, which
        keeps them open for a resumed run)."""
        self.stopped_early = reason
        for c in open_:
            c.stopped = f"stopped early: {reason}"

    def loop_seconds(self) -> float:
        """Seconds spent in loops, over this run and the runs it resumed."""
        return self.seconds_before + time.perf_counter() - self.began

    def final_estimate(self, components: list[Component]) -> float:
        """Seconds the final homotopy is expected to take: FINAL_COST loop arcs' worth of steps per
        representative, at the loops' pace so far."""
        if self.arcs_tracked == 0 or self.arcs.path_steps == 0:
            return 0.0
        steps = FINAL_COST * self.arcs.path_steps / self.arcs_tracked * sum(c.reps.shape[0] for c in components)
        return steps / (self.arcs.path_steps / max(self.loop_seconds(), 1e-9))

    def describe(self, components: list[Component], rounds: int) -> str:
        """One line for the progress display: solutions per pattern, loops, pace."""
        counts = sorted((c.known.shape[0] for c in components if c.known.shape[0]), reverse=True)
        shown = "+".join(f"{k:,}" for k in counts[:4]) + ("+…" if len(counts) > 4 else "")
        open_ = sum(1 for c in components if not c.stopped)
        steps = self.arcs.path_steps + (self.trace.path_steps if self.trace is not None else 0)
        pace = steps / max(self.loop_seconds(), 1e-9)
        return (
            f"monodromy round {rounds}: {sum(counts):,} solutions ({shown}), {open_}/{len(components)} "
            f"patterns open, {sum(len(c.loops) for c in components)} loops, {pace:,.0f} steps/s"
        )

    def _add(self, c: Component, new: np.ndarray) -> None:
        """Verified solutions at c's base point: the new ones join with their whole orbit."""
        if new.shape[0]:
            new = new[match_points(new, c.known, SAME_POINT_TOL) < 0]
        if new.shape[0]:
            distinct = new[unique_points(new, SAME_POINT_TOL)[0]]
            reps_new = distinct[representatives(distinct, self.signs)]
            c.known = np.concatenate([c.known, closure(reps_new, self.signs)])
            c.reps = np.concatenate([c.reps, reps_new])

    def _certify(self, components: list[Component], progress: Progress | None) -> None:
        """The trace test's share of a round (trace_test.py): a pattern that stalled gets its
        slice; every slice's witnesses go around loops; a slice where nothing new turned up
        this round — no solution, no witness — and that changed since its last evaluation has
        its trace evaluated."""
        assert self.trace is not None
        for c in components:
            if c.slice is None and c.stagnant >= 1:
                c.slice = self.trace.open(c.active, c.base, c.base_problem, c.known)
                c.slices_opened = 1
        certifying = [c for c in components if c.slice is not None]
        if not certifying:
            return
        slices = [c.slice for c in certifying if c.slice is not None]
        on_solutions = self.trace.round(slices, [c.base for c in certifying], [c.reps for c in certifying])
        for c, x in zip(certifying, on_solutions):
            if x.shape[0]:  # a loop of t came back on λ = 0: check it as any loop's endpoint
                known = c.known.shape[0]
                self._add(c, self.verified(c.base_problem, x, c.active))
                if c.known.shape[0] > known:
                    c.stagnant = 0
                    if progress is not None:
                        progress.advance(int(c.known.shape[0] - known))
        due = [
            c
            for c, s in zip(certifying, slices)
            if c.stagnant >= 1 and s.stagnant >= 1 and s.evaluated_at != (c.reps.shape[0], s.witness_reps.shape[0])
        ]
        if due:
            self.trace.evaluate([c.slice for c in due if c.slice is not None], [c.reps for c in due])

    def _decide(self, c: Component) -> None:
        """Whether pattern c stops after this round, and on what grounds."""
        opt = self.options
        s = c.slice
        outcome = s.outcome if s is not None else None
        current = s is not None and s.evaluated_at == (c.reps.shape[0], s.witness_reps.shape[0])
        if outcome is not None and current and outcome.passed:
            c.stopped = f"trace test passed (deviation {outcome.deviation:.1e} <= {outcome.tolerance:.0e})"
            c.completeness = "trace_test"
            return
        failed = outcome is not None and outcome.evaluated and not outcome.passed
        if failed and current and c.target_loops < TARGET_LOOPS:
            # points are missing: first a loop through the real data (TARGET_LOOPS)
            c.loops.append((self.family.target(), self.family.random_point(self.rng, self.c_scale)))
            c.carried.append(0)
            c.target_loops += 1
            return
        if failed and current and not c.probed:
            # then the final homotopy for this pattern, its surplus carried back (probe_target)
            self.probe_target(c)
            c.probed = True  # after it: a probe a stop request cut short runs again on --resume
            if c.completeness == "trace_test":
                return
        # without the test, or once neither solutions nor witnesses turned up for a while (twice
        # as long when the trace said points are missing), the heuristic stops the pattern
        patience = opt.loops_without_progress * (2 if outcome is not None and outcome.evaluated else 1)
        stalled = c.stagnant >= patience and (s is None or s.stagnant >= patience)
        # a near miss on a set where nothing turned up this round (`current`) gets its fresh
        # slice at once: measured, such readings came from the slice, not from missing points —
        # (2,2,2,2,2) m = 1, solver seed 5: a complete set read ~1e-11 at four γ on its first
        # slice (witnesses clustered near a vanishing weight, condition 5e8) and passed on the
        # second after 2 × patience rounds of waiting; a set that misses points fails there too,
        # and the wait (loops still searching) follows on that slice before the heuristic
        near_miss = failed and current and outcome is not None and outcome.deviation <= NEAR_MISS
        if (stalled or near_miss) and failed and c.slices_opened < MAX_SLICES:
            # the trace says points are missing and none turns up: often a witness out of reach
            # on this slice (|λ| ~ 10⁶ or more, near a pole of the random pencil) — try a fresh
            # one before the heuristic (measured on (2,2,2,2) m = 2: 7,804 witnesses, one missing),
            # at a fresh base point if the pattern's set can be moved there (`move_base`); where it
            # cannot, the old slice's witnesses are carried over (`TraceTest.carry`) — at a moved
            # base they are regrown, being the ill-conditioned ones the move is meant to leave
            assert self.trace is not None and s is not None
            moved = self.move_base(c)
            c.slice = self.trace.open(c.active, c.base, c.base_problem, c.known)
            if not moved:
                self.trace.carry(s, c.slice)
            c.slices_opened += 1
            c.stagnant = 0
            return
        if stalled:
            c.stopped = f"no new solutions in {c.stagnant} consecutive rounds with a fresh loop" + _trace_note(c)
            c.completeness = "heuristic"
        elif len(c.loops) >= opt.max_loops:
            c.stopped = f"loop limit {opt.max_loops} reached while still finding solutions" + _trace_note(c)
            c.completeness = "heuristic"

    def move_base(self, c: Component) -> bool:
        """Move pattern c to a fresh random base point: its representatives tracked there (as
        carefully as the final homotopy), kept only if every one arrives on an orbit of its own,
        Newton-checked and in the pattern.  The loops, drawn around the old base, start afresh.
        Returns whether c moved.

        Why.  A start pair's data are made for one random point (Family.start_pair), and now and
        then the rest of the pattern's solutions there are large and ill-conditioned: on
        (2,3,3,2) m = 1, one pattern of twelve alike had |x| ~ 21 and Hessian condition ~2e6
        (its siblings: |x| ≤ 5, condition ≤ 7e3).  Its witnesses inherited that — condition
        ~1e5, loops losing paths — and its two slices at that base point ended with 752 and 720
        of the 784 witnesses every sibling found (784 at the new base).  A complete set stays
        complete on the way (a bijection of generic fibres), and an incomplete one stays as
        short, so the trace test at the new base point judges the same count."""
        target = self.family.random_point(self.rng, self.c_scale)
        route = np.zeros(c.reps.shape[0], dtype=np.int64)
        y, ok = self.arcs.track(c.reps, [(c.base, target)], route, self.final_options)
        problem = self.family.problem_at(target)
        x = self.verified(problem, y[ok], c.active)
        reps = x[representatives(x, self.signs)]
        if reps.shape[0] < c.reps.shape[0]:
            return False  # a path lost, or two on one orbit
        c.base, c.base_problem, c.reps, c.known = target, problem, reps, closure(reps, self.signs)
        c.loops, c.carried = [], []
        c.base_moves += 1
        return True

    def verified(self, problem: Problem, y: np.ndarray, active: np.ndarray) -> np.ndarray:
        """The endpoints y that Newton confirms as critical points of `problem` and that have the
        unit pattern `active` (a path can jump onto another pattern's solutions)."""
        x, converged = newton_check(problem, y)
        return x[converged & self.family.in_pattern(x, active)]

    def none(self) -> np.ndarray:
        return np.zeros((0, self.problem.n), dtype=complex)

    def _carry_back(self, c: Component, at_target: np.ndarray) -> int:
        """Track the orbit representatives `at_target` (all of a pattern's orbits found at the
        real problem) back to c's base point along up to 1 + MAX_DETOURS routes, adding the
        verified new ones, until c has as many (`take_back`); how many orbits were added."""
        options = self.final_options  # as carefully as the way out (targets.py)
        target = self.family.target()
        before = c.reps.shape[0]
        for route in range(1 + MAX_DETOURS):
            if c.reps.shape[0] >= at_target.shape[0]:
                break
            if route == 0:
                legs = [(target, c.base)]
            else:
                detour = self.family.random_point(self.rng)
                legs = [(target, detour), (detour, c.base)]
            y = at_target.copy()
            alive = np.ones(y.shape[0], dtype=bool)
            for leg in legs:
                idx = np.flatnonzero(alive)
                y[idx], ok = self.arcs.track(y[idx], [leg], np.zeros(idx.size, dtype=np.int64), options)
                alive[idx[~ok]] = False
            self._add(c, self.verified(c.base_problem, y[alive], c.active))
        return int(c.reps.shape[0] - before)

    def _retest(self, c: Component, note: str) -> bool:
        """Read c's trace test again after its set grew (`note` says how); passing, c stops on it."""
        if self.trace is None or c.slice is None:
            return False
        outcome = self.trace.evaluate([c.slice], [c.reps])[0]
        if outcome.passed:
            c.stopped = f"trace test passed (deviation {outcome.deviation:.1e} <= {outcome.tolerance:.0e}) after {note}"
            c.completeness = "trace_test"
        return outcome.passed

    def probe_target(self, c: Component) -> int:
        """The final homotopy for pattern c alone, now (targets.track_to_targets: direct, retrack,
        and at least one detour — the union of two routes), and whatever it finds beyond c's set
        carried back (`_carry_back`); the trace read again if c grew — passing, c stops.  Returns
        the orbits added.

        Why.  On (2,2,2,2) m = 2, solver seed 7, the final homotopy's first detour found the orbit
        that loops at the base point — random ones, and those through the real data — missed in
        all three runs; one run whose random stream differed looped on for 17 rounds until its time
        limit.  The final homotopy costs a few loops' worth of steps for one pattern."""
        if self.refine is None or self.trace is None or c.slice is None:
            return 0
        bases = [BaseSolutions(c.base, c.reps, c.active)]
        _, final = track_to_targets(
            self.arcs, self.rng, self.signs, bases, [self.problem], self.tracker_options, self.refine,
            self.accuracy_limit, min_detours=1,
        )  # fmt: skip
        if not final.surplus:
            return 0
        grew = self._carry_back(c, final.surplus[0].representatives)
        if grew:
            c.stagnant = 0
            self._retest(c, f"{grew} orbit(s) found by the final homotopy's detours")
        return grew

    def take_back(self, components: list[Component], surplus: tuple[Surplus, ...]) -> int:
        """Carry the orbits of the (pattern, target) pairs that ended with more orbits than their
        base point (targets.FinalTracking.surplus) back to the base point, add the verified new
        ones, and read the trace test of every pattern that grew again.  Returns how many orbits
        were added.

        Every route carries *all* of the pair's orbits: a route is a bijection between the two
        complete sets, so the orbits beyond the base's set must land on new base points — unless
        a path jumps onto a point another path reaches, as the direct route's did on the way out
        ((2,2,2,2) m = 2, solver seed 7: the straight way back brought nothing new).  So, like
        the final homotopy's detours, routes through random points are tried until the base set
        is as large as the target's or MAX_DETOURS routes are spent."""
        added = 0
        for extra in surplus:
            c = components[extra.pattern]
            grew = self._carry_back(c, extra.representatives)
            added += grew
            short = extra.representatives.shape[0] - c.reps.shape[0]
            if short > 0:
                c.stopped += f"; {short} orbit(s) found at the target could not be carried back to the base point"
            if grew == 0:
                continue
            note = f"{grew} orbit(s) carried back from the target"
            if self._retest(c, note):
                continue
            c.stopped += f"; then {note}" + _trace_note(c)
            if c.slice is not None and self.trace is not None:  # tested again, and failed
                c.completeness = "heuristic"
        return added

    def _round(self, components: list[Component], between_chunks: Callable[[], None] | None = None) -> list[np.ndarray]:
        """Carry every representative through every loop of its pattern it has not been through
        yet: base → p₁ → p₂ → base, all (pattern, loop) pairs of a chunk of about
        ROUND_CHUNK_PATHS paths in one batch per arc (a path's course does not depend on its
        batch, so chunks change nothing but where a checkpoint can fall).  Progress is kept in
        `self.round_progress` (jobs done, verified endpoints so far), so a resumed run continues
        with the next chunk.  Returns the verified solutions each pattern's loops ended at."""
        jobs = [
            (ci, li) for ci, c in enumerate(components) for li in range(len(c.loops)) if c.carried[li] < c.reps.shape[0]
        ]
        progress = self.round_progress
        assert progress is not None  # set by solve()
        chunk: list[tuple[int, int]] = []
        size = 0
        for i, (ci, li) in enumerate(jobs):
            if i < progress.jobs_done:
                continue
            chunk.append((ci, li))
            size += components[ci].reps.shape[0] - components[ci].carried[li]
            if size >= ROUND_CHUNK_PATHS or i == len(jobs) - 1:
                found = self._carry(components, chunk)
                progress.found = [np.concatenate([a, b]) for a, b in zip(progress.found, found)]
                progress.jobs_done = i + 1
                chunk, size = [], 0
                if between_chunks is not None and i < len(jobs) - 1:
                    between_chunks()
        for ci, li in jobs:
            components[ci].carried[li] = components[ci].reps.shape[0]
        return progress.found

    def _carry(self, components: list[Component], chunk: list[tuple[int, int]]) -> list[np.ndarray]:
        """One chunk of a round: each (pattern, loop) job's pending representatives around its
        loop, one batch per arc; the verified endpoints per pattern."""
        starts, job_of_path, jobs = [], [], []
        for ci, li in chunk:
            c = components[ci]
            job_of_path.append(np.full(c.reps.shape[0] - c.carried[li], len(jobs)))
            starts.append(c.reps[c.carried[li] :])
            jobs.append((ci, c.loops[li]))
        y = np.concatenate(starts)
        job = np.concatenate(job_of_path)
        alive = np.ones(y.shape[0], dtype=bool)
        legs = [
            [(components[ci].base, loop[0]) for ci, loop in jobs],
            [(loop[0], loop[1]) for _, loop in jobs],
            [(loop[1], components[ci].base) for ci, loop in jobs],
        ]
        for arcs in legs:
            idx = np.flatnonzero(alive)
            y_new, ok = self.arcs.track(y[idx], arcs, job[idx], self.loop_options)
            self.arcs_tracked += idx.size
            self.arcs_failed += int(np.sum(~ok))
            y[idx] = y_new
            alive[idx[~ok]] = False
        component_of_path = np.array([ci for ci, _ in jobs])[job]
        found = []
        for ci, c in enumerate(components):
            rows = np.flatnonzero(alive & (component_of_path == ci))
            found.append(self.verified(c.base_problem, y[rows], c.active))
        return found


def _trace_note(c: Component) -> str:
    """What the trace test said about a pattern that stopped without passing it."""
    if c.slice is None:
        return ""
    outcome = c.slice.outcome
    if outcome is None:
        return "; the trace test was never evaluated (witnesses still growing)"
    if not outcome.evaluated:
        return f"; the trace test could not be evaluated ({outcome.problem})"
    return f"; the trace test failed (deviation {outcome.deviation:.1e} > {outcome.tolerance:.0e})"


def solve_by_monodromy(
    problem: Problem,
    rng: np.random.Generator,
    tracker_options: TrackerOptions,
    options: MonodromyOptions,
    *,
    trusted_count: int | None = None,
    kernel: str = "auto",
    refine: Refine,
    accuracy_limit: float,
    progress: Progress | None = None,
    instances: list[Problem] | None = None,
    control: RunControl | None = None,
    keeper: Checkpointer | None = None,
    reuse: bool = False,
    seed: int | None = None,
) -> tuple[list[PathResults], MonodromyStats]:
    """Monodromy for every neuron pattern at random base points, then parameter homotopies from
    the base points to each target problem (`problem`, or every problem of `instances` — the
    same architecture with other data): representatives only, their sign-flip images added and
    marked.  Returns one PathResults per target and the statistics (trusted_count_source is
    left for the engine to fill).  `control` and `keeper`: see MonodromySolver.solve; a stop
    request ends the loops, the solutions known are still carried to the target(s), and a
    further request (or the time limit itself) ends that too — the statistics say how far it
    got (stopped_early, carried_to_target).  `reuse`: start from the family's set an earlier run
    proved and kept, if there is one, and keep this run's if it is proven (proven.py; `seed`, the
    solver seed, is recorded with it)."""
    began = time.perf_counter()
    solver = MonodromySolver(problem, rng, tracker_options, options, kernel, refine, accuracy_limit)
    store = ProvenStore(solver.family) if reuse else None
    kept = store.load() if store is not None else None
    adopted = solver.adopt(kept) if kept is not None else None
    if kept is None or adopted is None:
        kept = None  # none kept, or not fit to stand for a proof: solve here
        components = solver.solve(trusted_count, progress, control, keeper)
    else:
        components = adopted
        if progress is not None:
            seed_was = kept.origin.get("solver_seed")
            progress.note(f"reusing the solution set proven by an earlier run (solver seed {seed_was})")
    loop_seconds = solver.loop_seconds()
    targets = instances if instances is not None else [problem]
    bases = [BaseSolutions(c.base, c.reps, c.active) for c in components]
    if control is not None:  # the final homotopy stops at the limit itself, or on a further signal
        solver.arcs.check = control.checker(reserve=False, since=len(control.signals))
    if progress is not None:
        progress.note(f"to the target: {sum(b.representatives.shape[0] for b in bases):,} paths")
    results, final = track_to_targets(
        solver.arcs, rng, solver.signs, bases, targets, tracker_options, refine, accuracy_limit
    )
    taken_back = 0
    if final.surplus and kept is not None and store is not None:
        # orbits beyond a set kept as proven: its proof is contradicted — say so, forget it
        for extra in final.surplus:
            c = components[extra.pattern]
            if c.proof is not None:
                c.proof = refuted(c.proof, extra.representatives.shape[0] - c.reps.shape[0])
                c.completeness = c.proof.completeness
        store.drop()
    elif final.surplus and instances is None and not (solver.stopped_early or final.stopped):
        # a detour reached orbits the loops missed: complete the base sets, test them again
        taken_back = solver.take_back(components, final.surplus)
    stopped_early = solver.stopped_early or final.stopped
    if final.stopped and keeper is not None and not solver.stopped_early and solver.final_state is not None:
        keeper.save(solver.final_state)  # the loops were complete: a resumed run goes straight to the target
    total = int(sum(c.known.shape[0] for c in components))
    seconds = time.perf_counter() - began
    path_steps = solver.arcs.path_steps + (solver.trace.path_steps if solver.trace else 0)
    kept_file = None
    unresolved = any(components[e.pattern].reps.shape[0] < e.representatives.shape[0] for e in final.surplus)
    if store is not None and kept is None and not (solver.stopped_early or unresolved):
        patterns = [ProvenPattern(c.active, c.base, c.reps, c.stats()) for c in components]
        origin = {"solver_seed": seed, "path_steps": int(path_steps), "loop_seconds": round(loop_seconds, 3)}
        written = store.save(patterns, origin)
        kept_file = None if written is None else str(written)
    stats = MonodromyStats(
        patterns=len(components),
        base_solutions=total,
        trusted_count=trusted_count,
        reached_trusted_count=trusted_count is not None and total >= trusted_count,
        stopped=tuple(sorted({c.stopped for c in components})),
        loops=int(sum(len(c.loops) for c in components)),
        loop_arcs_tracked=solver.arcs_tracked,
        loop_arcs_failed=solver.arcs_failed,
        final_paths=final.paths,
        final_paths_lost_first_pass=final.lost_first_pass,
        final_retracked=final.retracked,
        final_detoured=final.detoured,
        final_failed=final.failed,
        path_steps=path_steps,
        tracker_calls=solver.arcs.calls,
        loop_seconds=round(loop_seconds, 3),
        seconds=round(seconds, 3),
        per_pattern=tuple(c.stats() for c in components),
        final_refined=final.refined,
        final_passes=final.passes,
        # every step, the trace test's too (they were left out: a quarter of the true pace shown)
        path_steps_per_second=round(path_steps / max(solver.seconds_before + seconds, 1e-9), 1),
        stopped_early=stopped_early or None,
        carried_to_target=bool(final.passes),
        resumed_at_round=solver.resumed_at,
        checkpoint=None if keeper is None or keeper.written is None else str(keeper.written),
        trace_test=solver.trace is not None,
        trace_path_steps=solver.trace.path_steps if solver.trace else 0,
        trace_arcs_tracked=solver.trace.arcs_tracked if solver.trace else 0,
        trace_evaluations=solver.trace.evaluations if solver.trace else 0,
        taken_back=taken_back,
        reused=None if kept is None else kept.origin,
        kept=kept_file,
    )
    return results, stats


__all__ = ["Component", "MonodromyOptions", "MonodromySolver", "solve_by_monodromy"]
