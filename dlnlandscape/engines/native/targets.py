"""The final parameter homotopy: from the base points' solutions to the real problem(s).

Monodromy (monodromy.py) ends with every solution at random complex base points, one
representative per sign-flip orbit.  One parameter homotopy per (target, pattern) pair carries
the representatives to the target data — the real problem, or every instance of a
`data.instances` run, all paths in one batch — and the images of every point reached are
added and marked (PathResults.added_by_symmetry).

Why the care.  Here a path that jumps or is lost loses a whole orbit, so the steps are tighter
than inside loops (these paths are few: 652 against ~23,000 loop arcs on (3,2,3), m = 3), a path
that stalls close to its end is handed to Newton at the target, and failures are repaired in
two stages: the same arcs with much tighter steps, then — for a branch point or a pole near the
arc — *all* paths of the affected (target, pattern) pair re-routed through one random point (a
single route keeps the endpoints a bijection onto the target's solutions; mixing routes would
duplicate some), keeping whichever route lost fewer paths.
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
from .family import ArcTracker, DataPoint, Family
from .tracker import TrackerOptions

NEAR_END = 0.9  # a final path that stalls after this share of its arc is handed to Newton at the target

Refine = Callable[[Problem, np.ndarray], NewtonResult]


@dataclass(frozen=True)
class FinalTracking:
    """How the final parameter homotopies to the targets went."""

    paths: int
    lost_first_pass: int
    retracked: int
    detoured: int
    failed: int


@dataclass(frozen=True)
class BaseSolutions:
    """One neuron pattern's solutions at its base point, as the final homotopy starts from them:
    one representative per sign-flip orbit."""

    point: DataPoint
    representatives: np.ndarray  # (orbits, n)


def track_to_targets(
    arc_tracker: ArcTracker,
    rng: np.random.Generator,
    signs: np.ndarray,
    bases: list[BaseSolutions],
    targets: list[Problem],
    tracker_options: TrackerOptions,
    refine: Refine,
    accuracy_limit: float,
) -> tuple[list[PathResults], FinalTracking]:
    """Parameter homotopies base → every target, all in one batch; lost paths and path jumps are
    re-tracked with tighter steps, then (still lost) along a detour through a random point (drawn
    from `rng`).  One PathResults per target, with the sign-flip images of its points added."""
    family = arc_tracker.family
    reps = np.concatenate([b.representatives for b in bases])
    comp_of_rep = np.concatenate([np.full(b.representatives.shape[0], i) for i, b in enumerate(bases)])
    R, K = reps.shape[0], len(targets)
    target_points = [Family(t).target() for t in targets]
    arcs = [(b.point, q) for q in target_points for b in bases]  # arc index: target · C + component
    starts = np.tile(reps, (K, 1))
    target_of_path = np.repeat(np.arange(K), R)
    arc_of_path = target_of_path * len(bases) + np.tile(comp_of_rep, K)
    # Tighter steps than inside loops: here a jump loses a whole orbit, and these paths are few
    # next to the loops' (652 against ~23,000 arcs on (3,2,3) m = 3).
    tracker_options = replace(tracker_options, tol=tracker_options.tol / 10)
    y, ok = arc_tracker.track(starts, arcs, arc_of_path, tracker_options, keep_near_end=NEAR_END)
    lost_first = int(np.sum(~ok))
    x, accuracy, residual = _finish_all(targets, target_of_path, y, refine)

    def bad_paths() -> np.ndarray:
        good = accuracy <= accuracy_limit
        dup = np.zeros(x.shape[0], dtype=bool)
        for k in range(K):
            rows = np.flatnonzero(target_of_path == k)
            dup[rows] = _duplicates(x[rows], good[rows], signs, involved=True)
        return np.flatnonzero(~good | dup)

    retracked, detoured = 0, 0
    bad = bad_paths()
    if bad.size:  # same arcs, once more with tighter steps (much tighter only runs out of steps)
        y_again, _ = arc_tracker.track(
            starts[bad], arcs, arc_of_path[bad], tracker_options.tighter(3.0), keep_near_end=NEAR_END
        )
        x[bad], accuracy[bad], residual[bad] = _finish_all(targets, target_of_path[bad], y_again, refine)
        retracked += bad.size
    options_now = tracker_options
    for _ in range(3):
        # Still lost: a branch point or a pole lies near the arc.  Re-route *every* path of the
        # affected (target, pattern) pairs through a random point — one route for all of them,
        # so their endpoints are again a bijection onto the target's solutions (routes differ
        # by a monodromy permutation; mixing routes would duplicate some endpoints).
        bad = bad_paths()
        if bad.size == 0:
            break
        for pair in np.unique(arc_of_path[bad]):
            rows = np.flatnonzero(arc_of_path == pair)
            k, c = divmod(int(pair), len(bases))
            detour = family.random_point(rng)
            zeros = np.zeros(rows.size, int)
            y_mid, ok_mid = arc_tracker.track(starts[rows], [(bases[c].point, detour)], zeros, options_now)
            y_end, ok_end = arc_tracker.track(
                np.where(ok_mid[:, None], y_mid, 0.0), [(detour, target_points[k])], zeros, options_now, NEAR_END
            )
            y_end[~ok_mid] = np.nan
            before = (x[rows].copy(), accuracy[rows].copy(), residual[rows].copy())
            lost_before = np.isin(rows, bad_paths()).sum()
            x[rows], accuracy[rows], residual[rows] = _finish(targets[k], y_end, refine)
            if np.isin(rows, bad_paths()).sum() > lost_before:  # keep the better of the two routes
                x[rows], accuracy[rows], residual[rows] = before
            detoured += rows.size
    failed_after = bad_paths()
    results = []
    for k, problem in enumerate(targets):
        rows = np.flatnonzero(target_of_path == k)
        results.append(_results(problem, signs, x[rows], accuracy[rows], residual[rows], accuracy_limit))
    final = FinalTracking(
        paths=int(starts.shape[0]),
        lost_first_pass=lost_first,
        retracked=int(retracked),
        detoured=int(detoured),
        failed=int(failed_after.size),
    )
    return results, final


def _finish_all(
    targets: list[Problem], target_of_path: np.ndarray, y: np.ndarray, refine: Refine
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton-refine endpoints on their own target problem (one batch per target)."""
    x = np.full_like(y, np.nan)
    accuracy = np.full(y.shape[0], np.inf)
    residual = np.full(y.shape[0], np.nan)
    for k in np.unique(target_of_path):
        rows = np.flatnonzero(target_of_path == k)
        x[rows], accuracy[rows], residual[rows] = _finish(targets[k], y[rows], refine)
    return x, accuracy, residual


def _results(
    problem: Problem,
    signs: np.ndarray,
    x: np.ndarray,
    accuracy: np.ndarray,
    residual: np.ndarray,
    accuracy_limit: float,
) -> PathResults:
    """One target's path results: converged, non-duplicate endpoints succeed, the rest failed."""
    x = x.copy()
    converged = accuracy <= accuracy_limit
    duplicate = _duplicates(x, converged, signs)
    condition = np.full(x.shape[0], np.inf)
    with np.errstate(all="ignore"):
        if converged.any():
            condition[converged] = np.linalg.cond(problem.hessian(x[converged]))
    code = np.where(converged & ~duplicate, int(ReturnCode.SUCCESS), int(ReturnCode.FAILED)).astype(np.int8)
    x[code != int(ReturnCode.SUCCESS)] = np.nan
    tracked = PathResults(
        solutions=x,
        return_code=code,
        residual=residual,
        condition=condition,
        winding_number=np.ones(x.shape[0], dtype=np.int64),
        steps=np.zeros(x.shape[0], dtype=np.int64),
        accuracy=accuracy,
        added_by_symmetry=np.zeros(x.shape[0], dtype=bool),
    )
    return _with_images(problem, signs, tracked)


def _finish(problem: Problem, y: np.ndarray, refine: Refine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton-refine arc endpoints on the real problem; lost paths get accuracy ∞."""
    x = np.full_like(y, np.nan)
    accuracy = np.full(y.shape[0], np.inf)
    residual = np.full(y.shape[0], np.nan)
    ok = np.isfinite(y).all(axis=1)
    if ok.any():
        refined = refine(problem, y[ok])
        x[ok], accuracy[ok], residual[ok] = refined.points, refined.step, refined.residual
    return x, accuracy, residual


def _duplicates(x: np.ndarray, valid: np.ndarray, signs: np.ndarray, *, involved: bool = False) -> np.ndarray:
    """Valid rows whose point — or a sign-flip image of it — an earlier valid row reached.

    Only orbit representatives are tracked to the target, so a path that jumps onto another
    representative's *image* loses a whole orbit just as surely as one that lands on the
    representative itself."""
    out = np.zeros(x.shape[0], dtype=bool)
    idx = np.flatnonzero(valid)
    k = idx.size
    if k < 2:
        return out
    points = x[idx]
    reps, labels, _ = unique_points(points, SAME_POINT_TOL)
    first = np.zeros(k, dtype=bool)
    first[reps] = True
    match = match_images(points, signs)
    earlier = (match >= 0) & (match < np.arange(k)[:, None])
    flagged = ~first | earlier.any(axis=1)
    if involved:  # also the rows they collide with: either path may be the one that jumped
        hit = np.zeros(k, dtype=bool)
        hit[match[earlier]] = True
        hit |= np.isin(labels, labels[~first])
        flagged |= hit
    out[idx[flagged]] = True
    return out


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


__all__ = ["BaseSolutions", "FinalTracking", "Refine", "track_to_targets"]
