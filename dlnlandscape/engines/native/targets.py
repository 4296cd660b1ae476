"""The final parameter homotopy: from the base points' solutions to the real problem(s).

Monodromy (monodromy.py) ends with every solution at random complex base points, one
representative per sign-flip orbit.  Parameter homotopies carry the representatives to the
target data — the real problem, or every instance of a `data.instances` run, all paths in one
batch — and the images of every point reached are added and marked
(PathResults.added_by_symmetry).

What is counted.  A path's endpoint counts when Newton confirms it as a solution of the target
(relative step ≤ the accuracy limit), it has the pattern's zero structure, and no point found
at that target — nor any sign-flip image of one — is the same.  The target has as many
solutions as the base point (the family is generic along its arcs), so a (target, pattern) pair
is done when it has as many distinct orbits as the pattern has representatives; until then
orbits are *missing*.  The count is a union over routes: any confirmed, distinct endpoint is a
genuine critical point, whichever route and start reached it, so a second route can only add.

Why paths are lost, and the passes that recover them (measured on (2,2,2,2) m = 2, 949 paths):
a straight arc passes close to a parameter value where some solutions go to infinity; there
the solution reaches |x| ~ 10²–10³, its degree-7 terms cancel, and the Newton corrector stops
contracting at ~1e-7 relative — precision, not step size, ends the path (28 of 772 in one
pattern).  So, in order:

1. *direct*: every representative along its arc, tighter steps than in loops, and a corrector
   that accepts corrections at double precision's floor (`NOISE_FLOOR`) — the stalls near the
   end vanish (40 → 10 failed paths).  A path that stalls after `NEAR_END` of its arc is handed
   to Newton at the target.
2. *extended precision*, after every pass: endpoints that arrived but which Newton in double
   precision cannot confirm are refined in 128-bit ball arithmetic (precision.py).
3. *retrack*: paths that failed, or that landed on a point another path also reached (one of
   them jumped), once more along the same arc with much tighter steps.
4. *detour*, repeated while orbits are missing and the budget (`MAX_DETOURS`) lasts: all
   representatives of each incomplete pair along a fresh route base → random point → target.
   The route differs by a monodromy permutation, so endpoints land on other solutions — that
   is why the whole pair goes, and why the union (not a replacement) is kept.  A pole close to
   one route is far from another: two routes miss a solution only if both do.

Every pass is recorded (FinalPassStats: paths tracked, endpoints refined, orbits found, orbits
still missing).  A (target, pattern) pair can also end with *more* orbits than its base point had
— a detour is a monodromy loop and may reach an orbit the loops missed: those pairs' orbits are
handed back (`FinalTracking.surplus`) so that monodromy can carry them back to its base point and
test the grown set again (monodromy.take_back).  Whatever is still missing at the end is
reported as failed paths, which makes the verdict incomplete.  A stop request
(engines/control.py) ends the passes early; the solutions found so far are returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ...common.newton import NewtonResult
from ...common.points import SAME_POINT_TOL, unique_points
from ...common.symmetry import match_images, missing_images
from ...model.problem import Problem
from ..base import PathResults, ReturnCode
from ..control import StopRequested
from ..stats import FinalPassStats
from .family import ArcTracker, DataPoint, Family
from .precision import refine_extended
from .tracker import TrackerOptions

NEAR_END = 0.9  # a final path that stalls after this share of its arc is handed to Newton at the target
NOISE_FLOOR = 1e-6  # relative corrections accepted without contraction in the final homotopy (tracker.py)
MAX_DETOURS = 4  # re-routings of the incomplete (target, pattern) pairs before their missing orbits count as lost
RETRACK_FACTOR = 3.0  # step tightening of the retrack pass (much tighter only runs out of steps)

Refine = Callable[[Problem, np.ndarray], NewtonResult]


@dataclass(frozen=True)
class FinalTracking:
    """How the final parameter homotopies to the targets went (totals over the passes)."""

    paths: int  # representatives × targets: the orbits to find
    lost_first_pass: int  # orbits missing after the direct pass
    retracked: int
    detoured: int
    refined: int  # endpoints confirmed only in extended precision
    failed: int  # orbits still missing at the end
    passes: tuple[FinalPassStats, ...]
    stopped: str = ""  # a stop request ended the passes early
    surplus: tuple[Surplus, ...] = ()  # pairs that ended with more orbits than their base point


@dataclass(frozen=True)
class Surplus:
    """A (target, pattern) pair that ended with more orbits than its base point had: every orbit
    found there (one representative each), so that the base point's set can be completed."""

    target: int
    pattern: int
    representatives: np.ndarray  # (orbits, n) at the target


@dataclass(frozen=True)
class BaseSolutions:
    """One neuron pattern's solutions at its base point, as the final homotopy starts from them:
    one representative per sign-flip orbit, and the pattern's coordinate mask (None: any point
    counts, as for residual networks)."""

    point: DataPoint
    representatives: np.ndarray  # (orbits, n)
    active: np.ndarray | None = None


class _Found:
    """The distinct orbits found so far at each target, tagged by pattern."""

    def __init__(self, targets: int, n: int, signs: np.ndarray) -> None:
        self.signs = signs
        self.points = [np.zeros((0, n), dtype=complex) for _ in range(targets)]
        self.pattern = [np.zeros(0, dtype=np.int64) for _ in range(targets)]
        self.accuracy = [np.zeros(0) for _ in range(targets)]
        self.residual = [np.zeros(0) for _ in range(targets)]

    def count(self, k: int, patterns: int) -> np.ndarray:
        return np.bincount(self.pattern[k], minlength=patterns)

    def add(
        self, k: int, x: np.ndarray, pattern: np.ndarray, accuracy: np.ndarray, residual: np.ndarray, ok: np.ndarray
    ) -> tuple[int, np.ndarray]:
        """Add target k's endpoints that are confirmed (`ok`) and whose orbit is new; returns how
        many orbits were added and which rows collided with another row of this batch (either
        of the two may be the path that jumped)."""
        collided = np.zeros(x.shape[0], dtype=bool)
        rows = np.flatnonzero(ok)
        if rows.size == 0:
            return 0, collided
        pts = x[rows]
        known = self.points[k]
        seen = (
            (match_images(pts, self.signs, among=known) >= 0).any(axis=1)
            if known.shape[0]
            else np.zeros(rows.size, bool)
        )
        reps, labels, _ = unique_points(pts, SAME_POINT_TOL)
        first = np.zeros(rows.size, dtype=bool)
        first[reps] = True
        match = match_images(pts, self.signs)
        earlier = (match >= 0) & (match < np.arange(rows.size)[:, None])
        repeat = ~first | earlier.any(axis=1)
        hit = np.zeros(rows.size, dtype=bool)
        hit[match[earlier]] = True
        hit |= np.isin(labels, labels[~first])
        collided[rows] = repeat | hit
        new = rows[~repeat & ~seen]
        self.points[k] = np.concatenate([known, x[new]])
        self.pattern[k] = np.concatenate([self.pattern[k], pattern[new]])
        self.accuracy[k] = np.concatenate([self.accuracy[k], accuracy[new]])
        self.residual[k] = np.concatenate([self.residual[k], residual[new]])
        return int(new.size), collided


def track_to_targets(
    arc_tracker: ArcTracker,
    rng: np.random.Generator,
    signs: np.ndarray,
    bases: list[BaseSolutions],
    targets: list[Problem],
    tracker_options: TrackerOptions,
    refine: Refine,
    accuracy_limit: float,
    max_detours: int = MAX_DETOURS,
    min_detours: int = 0,
) -> tuple[list[PathResults], FinalTracking]:
    """Parameter homotopies base → every target in the passes of the module docstring (detour
    points drawn from `rng`).  One PathResults per target: a row per orbit found (SUCCESS) and
    per orbit missing (FAILED), with the sign-flip images of the found points added.  The first
    `min_detours` detour passes take every pair, missing orbits or not: a probe for orbits the
    base points lack (monodromy.MonodromySolver.probe_target)."""
    family = arc_tracker.family
    C, K = len(bases), len(targets)
    n = targets[0].n
    target_points = [Family(t).target() for t in targets]
    wanted = np.array([b.representatives.shape[0] for b in bases])
    reps = np.concatenate([b.representatives for b in bases])
    pattern_of_rep = np.repeat(np.arange(C), wanted)
    starts = np.tile(reps, (K, 1))
    target_of_path = np.repeat(np.arange(K), reps.shape[0])
    pattern_of_path = np.tile(pattern_of_rep, K)
    pair_of_path = target_of_path * C + pattern_of_path
    # Tighter steps than inside loops (a jump here costs a route, and these paths are few next
    # to the loops': 652 against ~23,000 arcs on (3,2,3) m = 3), and corrections accepted at the
    # precision floor.
    options = replace(tracker_options, tol=tracker_options.tol / 10, noise_floor=NOISE_FLOOR)
    found = _Found(K, n, signs)
    passes: list[FinalPassStats] = []
    stopped = ""

    def missing() -> np.ndarray:
        """(K, C) orbits still missing per (target, pattern)."""
        return np.stack([np.maximum(wanted - found.count(k, C), 0) for k in range(K)])

    def settle(kind: str, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Confirm the endpoints y of paths `rows`, add the new orbits, record the pass; returns
        the rows to suspect (unconfirmed, or colliding with another row)."""
        x, accuracy, residual = _finish_all(targets, target_of_path[rows], y, refine)
        hard = np.isfinite(y).all(axis=1) & ~(accuracy <= accuracy_limit)
        if hard.any():  # arrived, but double precision cannot confirm it
            for k in np.unique(target_of_path[rows[hard]]):
                sub = np.flatnonzero(hard & (target_of_path[rows] == k))
                better = refine_extended(targets[k], y[sub])
                x[sub], accuracy[sub], residual[sub] = better.points, better.step, better.residual
        ok = accuracy <= accuracy_limit
        for c, base in enumerate(bases):
            mine = np.flatnonzero(ok & (pattern_of_path[rows] == c))
            if base.active is not None and mine.size:
                ok[mine] = family.in_pattern(x[mine], base.active)
        added = 0
        suspect = ~ok
        for k in np.unique(target_of_path[rows]):
            sub = np.flatnonzero(target_of_path[rows] == k)
            new, collided = found.add(k, x[sub], pattern_of_path[rows[sub]], accuracy[sub], residual[sub], ok[sub])
            added += new
            suspect[sub] |= collided
        passes.append(
            FinalPassStats(
                kind=kind,
                paths=int(rows.size),
                refined=int(np.sum(hard & ok)),
                found=added,
                missing=int(missing().sum()),
            )
        )
        return rows[suspect]

    try:
        everyone = np.arange(starts.shape[0])
        arcs = [(b.point, q) for q in target_points for b in bases]  # arc index = pair index
        y, _ = arc_tracker.track(starts, arcs, pair_of_path, options, keep_near_end=NEAR_END)
        suspects = settle("direct", everyone, y)
        if suspects.size and missing().any():
            y, _ = arc_tracker.track(
                starts[suspects], arcs, pair_of_path[suspects], options.tighter(RETRACK_FACTOR), keep_near_end=NEAR_END
            )
            settle("retrack", suspects, y)
        for attempt in range(max(max_detours, min_detours)):
            short = np.flatnonzero(missing().ravel() > 0)  # incomplete pairs, index k·C + c
            if attempt < min_detours:
                short = np.arange(K * C)
            if short.size == 0:
                break
            rows = np.flatnonzero(np.isin(pair_of_path, short))
            detours = {int(p): family.random_point(rng) for p in short}
            route = {int(p): i for i, p in enumerate(short)}
            leg = np.array([route[int(p)] for p in pair_of_path[rows]], dtype=np.int64)
            first = [(bases[int(p) % C].point, detours[int(p)]) for p in short]
            second = [(detours[int(p)], target_points[int(p) // C]) for p in short]
            y_mid, ok_mid = arc_tracker.track(starts[rows], first, leg, options)
            y_end, _ = arc_tracker.track(np.where(ok_mid[:, None], y_mid, 0.0), second, leg, options, NEAR_END)
            y_end[~ok_mid] = np.nan
            settle("detour", rows, y_end)
    except StopRequested as stop:
        stopped = stop.reason
    results = [_results(problem, signs, found, k, wanted) for k, problem in enumerate(targets)]
    by_kind = {kind: sum(p.paths for p in passes if p.kind == kind) for kind in ("retrack", "detour")}
    surplus = tuple(
        Surplus(k, int(c), found.points[k][found.pattern[k] == c])
        for k in range(K)
        for c in np.flatnonzero(found.count(k, C) > wanted)
    )
    final = FinalTracking(
        paths=int(starts.shape[0]),
        lost_first_pass=passes[0].missing if passes else int(starts.shape[0]),
        retracked=by_kind["retrack"],
        detoured=by_kind["detour"],
        refined=int(sum(p.refined for p in passes)),
        failed=int(missing().sum()),
        passes=tuple(passes),
        stopped=stopped,
        surplus=surplus,
    )
    return results, final


def _finish_all(
    targets: list[Problem], target_of_path: np.ndarray, y: np.ndarray, refine: Refine
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton-refine endpoints on their own target problem (one batch per target); lost paths
    (NaN) get accuracy ∞."""
    x = np.full_like(y, np.nan)
    accuracy = np.full(y.shape[0], np.inf)
    residual = np.full(y.shape[0], np.nan)
    for k in np.unique(target_of_path):
        rows = np.flatnonzero((target_of_path == k) & np.isfinite(y).all(axis=1))
        if rows.size:
            refined = refine(targets[k], y[rows])
            x[rows], accuracy[rows], residual[rows] = refined.points, refined.step, refined.residual
    return x, accuracy, residual


def _results(problem: Problem, signs: np.ndarray, found: _Found, k: int, wanted: np.ndarray) -> PathResults:
    """Target k's path results: a SUCCESS row per orbit found and a FAILED row per orbit
    missing, pattern by pattern, then the found points' sign-flip images."""
    C = wanted.size
    order = np.argsort(found.pattern[k], kind="stable")
    x = found.points[k][order]
    lost = int(np.maximum(wanted - found.count(k, C), 0).sum())
    condition = np.full(x.shape[0], np.inf)
    if x.shape[0]:
        with np.errstate(all="ignore"):
            condition = np.linalg.cond(problem.hessian(x))
    m = x.shape[0] + lost
    tracked = PathResults(
        solutions=np.concatenate([x, np.full((lost, problem.n), np.nan, dtype=complex)]),
        return_code=np.repeat(
            np.array([int(ReturnCode.SUCCESS), int(ReturnCode.FAILED)], dtype=np.int8), [x.shape[0], lost]
        ),
        residual=np.concatenate([found.residual[k][order], np.full(lost, np.nan)]),
        condition=np.concatenate([condition, np.full(lost, np.inf)]),
        winding_number=np.ones(m, dtype=np.int64),
        steps=np.zeros(m, dtype=np.int64),
        accuracy=np.concatenate([found.accuracy[k][order], np.full(lost, np.inf)]),
        added_by_symmetry=np.zeros(m, dtype=bool),
    )
    return _with_images(problem, signs, tracked)


def _with_images(problem: Problem, signs: np.ndarray, tracked: PathResults) -> PathResults:
    """Add the sign-flip images of the tracked representatives (marked added_by_symmetry)."""
    good = tracked.is_success()
    if not problem.symmetric or not good.any():
        return tracked
    reps = tracked.solutions[good]
    images, seed_of = missing_images(reps, signs, reps)
    rows = np.flatnonzero(good)[seed_of]
    k = images.shape[0]
    added = PathResults(
        solutions=images,
        return_code=np.full(k, int(ReturnCode.SUCCESS), dtype=np.int8),
        residual=tracked.residual[rows],
        condition=tracked.condition[rows],
        winding_number=np.ones(k, dtype=np.int64),
        steps=np.zeros(k, dtype=np.int64),
        accuracy=tracked.accuracy[rows] if tracked.accuracy is not None else None,
        added_by_symmetry=np.ones(k, dtype=bool),
    )
    return PathResults.concatenate([tracked, added])


__all__ = ["BaseSolutions", "FinalTracking", "Refine", "Surplus", "track_to_targets"]
