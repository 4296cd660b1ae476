"""Witness sets: moving points between slices, monodromy, the trace test, merging, membership.

A witness set of a k-dimensional irreducible component is the finite set of points a generic
codimension-k slice {A x = b₀} cuts out of it; their number is the component's degree
(Sommese & Wampler, *The Numerical Solution of Systems of Polynomials*, 2005, ch. 13–15).

*Monodromy.*  One random slice per dimension, with b₀ small beside the points' layer-balanced
size (GL orbits are not compact; slices far out cut them in large, unbalanced points joined by
hard paths — measured on (3,2,3)).  Every tested seed is moved onto it (`move`, a parameter
homotopy in b); from each point not yet explained, monodromy (b₀ → b₁ → b₂ → b₀ around random
triangles, several per batch, of the component's own size where it is larger than the slice's:
`loop_scale`) collects the orbit of that point, which is the witness set of *one* irreducible
component (the monodromy group acts transitively on it).  Seeds landing in a
known witness set belong to that component — the membership test, done by tracking the seed to
the common slice rather than the witness set to the seed's slice: one path instead of
`degree`.  Seeds that passed no dimension test (very unbalanced, or special points) get the
classical test (`contains`): the witness set is moved to the slice through them.

*Trace test.*  Monodromy alone stops only heuristically.  The *linear trace test* proves
completeness: translate the slice along a random direction, b₀ + τ d; the sum of the witness
points (projected on a random vector) is an affine function of τ exactly when the witness set is
the complete slice of a union of components (Sommese, Verschelde & Wampler, SIAM J. Numer.
Anal. 40, 2002).  Three values of τ decide.  It is tried after every round of loops that finds
nothing new and ends the search when it passes; sets that monodromy left apart are joined when
they share a point or their union passes (`merge_incomplete`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import NamedTuple

import numpy as np

from ..common.points import SAME_POINT_TOL, match_points, unique_points
from ..engines.native.tracker import REACHED_END, Tracker
from ..model.problem import Problem
from .options import ComponentOptions
from .slicing import SliceHomotopy, Slicing, balanced_size, coordinate_scale, critical_residual, newton


@dataclass(frozen=True)
class WitnessSet:
    """Witness points on one slice with how they were obtained (monodromy, trace test) and
    which seeds (indices) landed in them."""

    points: np.ndarray  # (degree, n) on the slice {A x = b₀}
    loops: int  # monodromy loops run
    passed: bool | None  # the trace test; None for an isolated point (nothing to prove)
    error: float  # the trace test's relative deviation
    seeds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class TraceTest(NamedTuple):
    """Outcome of the linear trace test."""

    passed: bool
    error: float  # deviation of the trace from an affine function of τ, relative to its size


def move(
    problem: Problem,
    slicing: Slicing,
    x: np.ndarray,
    b_a: np.ndarray,
    b_b: np.ndarray,
    options: ComponentOptions,
    *,
    strict: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Track points of the slice {A x = b_a} to {A x = b_b} (per-path rows of b); the endpoints
    and which paths arrived at a nonsingular point of the critical set (`strict=False`: at any
    point where the tracker reached b_b, for slices through special points)."""
    N = x.shape[0]
    if N == 0:
        return x, np.zeros(0, dtype=bool)
    b_a = np.broadcast_to(b_a, (N, slicing.k))
    b_b = np.broadcast_to(b_b, (N, slicing.k))
    scale = coordinate_scale(problem, x)
    homotopy = SliceHomotopy(problem, slicing, b_a, b_b, scale)
    tracker = Tracker(homotopy, options.tracker)
    state = tracker.track(x / scale, np.zeros(N, dtype=complex), np.full(N, 1j * np.pi))
    y, step, cond = newton(problem, slicing, state.y * scale, b_b, iterations=3)
    ok = state.status == REACHED_END
    if strict:
        ok &= (step <= options.newton_tol) & (cond < options.max_condition)
        ok &= critical_residual(problem, y) <= options.residual_tol
    return y, ok


def monodromy(
    problem: Problem,
    slicing: Slicing,
    start: np.ndarray,
    options: ComponentOptions,
    rng: np.random.Generator,
) -> WitnessSet:
    """Witness points of the irreducible component through `start` (points on the slice b₀).

    Each round runs `loops_per_round` random triangles b₀ → b₁ → b₂ → b₀ at once (one batch:
    with a handful of witness points the cost per step is overhead, not arithmetic).  After a
    round that adds no point the trace test is tried; it ends the search when it passes — a
    proof of completeness instead of a stopping heuristic.  The set's `seeds` are left empty."""
    W = start
    loss = complex(problem.loss(start[:1])[0])
    scale = loop_scale(problem, slicing, start, options)
    L, k = options.loops_per_round, slicing.k
    loops = stall = 0
    passed, error, tested = False, np.inf, -1
    while loops < options.max_loops:
        # loops of about b₀'s size, growing after every round that found nothing (the branch
        # points joining the last witness points may lie farther out) — but slowly: on large
        # loops witness points of these non-compact components run far out and paths fail
        radius = scale * 1.5**stall * 10 ** rng.uniform(-0.5, 0.5, size=(2, L, 1))
        b1, b2 = slicing.b0 + radius * (rng.standard_normal((2, L, k)) + 1j * rng.standard_normal((2, L, k)))
        d = W.shape[0]
        y = np.tile(W, (L, 1))
        legs = (
            np.broadcast_to(slicing.b0, (L * d, k)),
            np.repeat(b1, d, axis=0),
            np.repeat(b2, d, axis=0),
            np.broadcast_to(slicing.b0, (L * d, k)),
        )
        alive = np.arange(L * d)
        for b_a, b_b in zip(legs[:-1], legs[1:]):
            y, ok = move(problem, slicing, y, b_a[alive], b_b[alive], options)
            y, alive = y[ok], alive[ok]
        loops += L
        # never absorb another component
        same = np.abs(problem.loss(y) - loss) <= options.same_loss * max(1.0, abs(loss))
        W, added = _add_new(W, y[same])
        if added:
            stall = 0
            continue
        stall += 1
        passed, error = trace_test(problem, slicing, W, options, rng)
        tested = W.shape[0]
        if passed or stall >= options.stall_rounds:
            break
    if tested != W.shape[0]:
        passed, error = trace_test(problem, slicing, W, options, rng)
    return WitnessSet(points=W, loops=loops, passed=passed, error=error)


def loop_scale(problem: Problem, slicing: Slicing, W: np.ndarray, options: ComponentOptions) -> float:
    """Radius of monodromy loops and trace-test translations for the component through W: the
    slice's size, or the component's own balanced size where that is larger.  One slice serves
    every component of a dimension and its size is their median; a component that stays away
    from the origin (P ≠ 0 on it) meets the slice in points far larger, whose branch points lie
    at their own scale — loops of the slice's size hardly move them (measured on (2,2,2,2), m = 3:
    witness points of size 2.5 on a slice of size 0.16, one degree-9 component left as three
    one-point sets whose 16 loops found nothing)."""
    return max(slicing.size, float(np.median(balanced_size(problem, W)))) * options.loop_size


def trace_test(
    problem: Problem, slicing: Slicing, W: np.ndarray, options: ComponentOptions, rng: np.random.Generator
) -> TraceTest:
    """Linear trace test on the pencil of parallel slices {A x = b₀ + τ d}: passed, and the
    deviation of the trace from an affine function of τ relative to its size."""
    k, d = slicing.k, W.shape[0]
    direction = rng.standard_normal(k) + 1j * rng.standard_normal(k)
    direction /= np.linalg.norm(direction)
    scale = loop_scale(problem, slicing, W, options)
    taus = scale * np.exp(2j * np.pi * rng.random(2)) * np.array([0.5, 1.0])
    targets = np.repeat(slicing.b0 + taus[:, None] * direction, d, axis=0)
    y, ok = move(problem, slicing, np.tile(W, (2, 1)), slicing.b0, targets, options)
    if not ok.all():
        return TraceTest(False, np.inf)
    y1, y2 = y[:d], y[d:]
    if len(unique_points(y1, SAME_POINT_TOL)[0]) < d or len(unique_points(y2, SAME_POINT_TOL)[0]) < d:
        return TraceTest(False, np.inf)  # two witness points merged: a path jumped
    c = rng.standard_normal(problem.n) + 1j * rng.standard_normal(problem.n)
    t0, t1, t2 = (np.sum(z @ c) for z in (W, y1, y2))
    size = max(np.sum(np.abs(z @ c)) for z in (W, y1, y2))
    predicted = t0 + (t1 - t0) * taus[1] / taus[0]
    error = float(abs(t2 - predicted) / max(size, 1e-300))
    return TraceTest(error <= options.trace_tol, error)


def witness_sets(
    problem: Problem, slicing: Slicing, points: np.ndarray, options: ComponentOptions, rng: np.random.Generator
) -> tuple[list[WitnessSet], np.ndarray]:
    """The witness sets on `slicing` of the components through `points` (generic points of
    k-dimensional components, each on its own slice parallel to the witness slice).

    Every point is moved to the witness slice; monodromy from the first point not yet in a
    witness set collects that set, and every point landing in it is its member (its `seeds`:
    indices into `points`); then sets of one component are merged.  Also returns which points
    arrived on the witness slice."""
    on_slice, arrived = move(problem, slicing, points, points @ slicing.A.T, slicing.b0, options)
    index, on_slice = np.flatnonzero(arrived), on_slice[arrived]
    found: list[WitnessSet] = []
    owner = np.full(index.size, -1)
    while np.any(owner < 0):
        first = int(np.flatnonzero(owner < 0)[0])
        ws = monodromy(problem, slicing, on_slice[first : first + 1], options, rng)
        hit = (match_points(on_slice, ws.points, SAME_POINT_TOL) >= 0) & (owner < 0)
        hit[first] = True
        owner[hit] = len(found)
        found.append(replace(ws, seeds=index[hit]))
    return merge_incomplete(problem, slicing, found, options, rng), arrived


def merge_incomplete(
    problem: Problem, slicing: Slicing, sets: list[WitnessSet], options: ComponentOptions, rng: np.random.Generator
) -> list[WitnessSet]:
    """Join witness sets of one component that monodromy left apart.

    Each set is (part of) the monodromy orbit of one point, so it lies in one irreducible
    component, and on a generic slice distinct components share no point.  Hence (1) sets that
    share a point belong to one component: an incomplete set inside a complete one is absorbed
    (its seeds counted there), two incomplete ones are joined; (2) two incomplete sets of equal
    loss whose union passes the trace test make up one component (if A, B are incomplete but
    A ∪ B is complete, B contains the rest of A's component, so lies in it).  This rescues
    components whose monodromy loops never went round the branch point joining two halves."""
    sets = list(sets)
    changed = True
    while changed:
        changed = False
        for a, b in combinations(range(len(sets)), 2):
            A, B = sets[a], sets[b]
            if A.passed is not False and B.passed is not False:
                continue
            union, _ = _add_new(A.points, B.points)
            overlap = union.shape[0] < A.points.shape[0] + B.points.shape[0]
            complete = A if A.passed else B if B.passed else None
            if overlap and complete is not None:
                if union.shape[0] > complete.points.shape[0]:
                    continue  # points outside a complete witness set: a path jumped; leave both as they are
                passed, error = True, complete.error
            elif overlap:
                passed, error = trace_test(problem, slicing, union, options, rng)
            else:
                la, lb = problem.loss(A.points[:1])[0], problem.loss(B.points[:1])[0]
                if complete is not None or abs(la - lb) > options.same_loss * max(1.0, abs(la)):
                    continue
                passed, error = trace_test(problem, slicing, union, options, rng)
                if not passed:
                    continue
            sets[a] = WitnessSet(union, A.loops + B.loops, passed, error, np.concatenate([A.seeds, B.seeds]))
            del sets[b]
            changed = True
            break
    return sets


def contains(
    problem: Problem, slicing: Slicing, witness_points: np.ndarray, x: np.ndarray, options: ComponentOptions
) -> np.ndarray:
    """Which points x lie on the component with these witness points: move the witness set to
    the slice through each point and see whether the point is among the endpoints (Sommese &
    Wampler 2005, §15.1).  Works at special points of a component too.  Where x is a singular
    point of the critical set (components meet there: the tightened points of tightened.py) the
    path into it slows down and may stop short of the end, ~10⁻⁸ away: such a path counts if
    it stopped within SAME_POINT_TOL of x — the slice's other points are an O(1) distance
    away, so a point off the component is not hit by accident."""
    d = witness_points.shape[0]
    starts = np.tile(witness_points, (x.shape[0], 1))
    targets = np.repeat(x @ slicing.A.T, d, axis=0)
    capped = replace(options, tracker=replace(options.tracker, max_steps=options.membership_steps))
    y, _ = move(problem, slicing, starts, slicing.b0, targets, capped, strict=False)
    dist = np.abs(y - np.repeat(x, d, axis=0)).max(axis=1)
    hit = dist <= SAME_POINT_TOL * np.maximum(1.0, np.abs(y).max(axis=1))
    return hit.reshape(x.shape[0], d).any(axis=1)


def _add_new(W: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, bool]:
    """W with the candidates that are not already in it (de-duplicated among themselves)."""
    if candidates.shape[0] == 0:
        return W, False
    reps, _, _ = unique_points(candidates, SAME_POINT_TOL)
    candidates = candidates[reps]
    new = candidates[match_points(candidates, W, SAME_POINT_TOL) < 0]
    return (np.concatenate([W, new]), True) if new.shape[0] else (W, False)


__all__ = [
    "TraceTest",
    "WitnessSet",
    "contains",
    "loop_scale",
    "merge_incomplete",
    "monodromy",
    "move",
    "trace_test",
    "witness_sets",
]
