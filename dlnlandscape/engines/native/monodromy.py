"""Monodromy: find all critical points by moving the data around loops, never towards infinity.

Why.  Linear-product homotopies track one path per start solution, and on these systems almost
all of them diverge: on (2,2,2) m = 3 only 225 of 1,921 multihomogeneous paths end at critical
points, and the share falls with depth.  Monodromy (Duff, Hill, Jensen, Lee, Leykin & Sommars,
*Solving polynomial systems via homotopy continuation and monodromy*, IMA J. Numer. Anal. 2019;
HomotopyContinuation.jl's `monodromy_solve`) tracks only paths between actual solutions.

The family.  ∇L depends linearly on p = (S, T, C) (sparse.ParametricSystem), with S = s X Xᵀ,
T = s Y Xᵀ.  Moving the *data* (X, Y) and the penalty C keeps every structural property of the
real problem — the rank of S when m < d0, the origin as a solution, the hidden-neuron sign flips
— so a generic complex parameter point has exactly as many solutions as the generic real
problem.  A start pair needs no solve: pick a random point x₀ and random complex data, then
the gradient's linearity in C gives the unique C with ∇L(x₀; X, Y, C) = 0.

The loop.  From the base point p₀, every known solution is tracked p₀ → p₁ → p₂ → p₀ along
arcs (random p₁, p₂); endpoints that are new solutions at p₀ are added with their whole
sign-flip orbit (the family is invariant, so an orbit maps to an orbit and only one
representative per orbit is ever tracked).  It stops when `loops_without_progress` fresh loops
in a row found nothing new, or when the count reaches a trusted number.  A final parameter
homotopy p₀ → the real problem gives the critical points.

Arcs.  Between parameter points a and b the tracker runs s from 0 to iπ, i.e. t = e^s on the
upper unit half-circle, with p(t) = (a + b)/2 + t (a − b)/2: t = 1 is a, t = −1 is b, and the
arc avoids the (finitely many) bad points of the complex line through a and b with
probability one.  The tracker, its step control and the compiled kernel are the same as for
the γ-trick homotopy (mode 1 of kernel.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Any

import numpy as np

from ...common.newton import NewtonResult, newton
from ...common.points import SAME_POINT_TOL, match_points, unique_points
from ...common.symmetry import closure, match_images, missing_images, representatives
from ...model.problem import Problem
from ...model.sparse import ParametricSystem, parametric_gradient_system
from ..base import PathResults, ReturnCode
from ..stats import MonodromyStats, PatternStats
from .tracker import REACHED_END, Tracker, TrackerOptions, make_steps

ARC_END = 1j * np.pi  # s at the far end of an arc (t = −1)
NEWTON_ACCURACY = 1e-10  # relative Newton step below which an arc's endpoint is a solution
SEED_CONDITION = 1e8  # Hessian condition at a seed above which its pattern is not generic
FRESH_ARCS_PER_ROUND = 8  # a round gives each pattern ≥ this many (representative, fresh loop) pairs
PATTERN_ZERO = 1e-8  # |weights of a neuron| below this (relative) means the neuron is inactive
NEAR_END = 0.9  # a final path that stalls after this share of its arc is handed to Newton at the target


@dataclass(frozen=True)
class DataPoint:
    """One point of the parameter space: data X (d0 × m), Y (dH × m) and penalties C (n,)."""

    X: np.ndarray
    Y: np.ndarray
    C: np.ndarray

    def __add__(self, other: DataPoint) -> DataPoint:
        return DataPoint(self.X + other.X, self.Y + other.Y, self.C + other.C)

    def __mul__(self, factor: complex) -> DataPoint:
        return DataPoint(self.X * factor, self.Y * factor, self.C * factor)

    __rmul__ = __mul__


class Family:
    """The gradient systems of one architecture over all data and penalties."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.system: ParametricSystem = parametric_gradient_system(problem.widths, residual=problem.residual)
        self.scale = problem.scale
        self.samples = problem.X.shape[1]
        self._tables: tuple[np.ndarray, np.ndarray] | None = None

    def term_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(terms, L) variable indices (−1 padded) and exponents of every term: the layout the
        compiled kernel reads; built once per family."""
        if self._tables is None:
            exps = self.system.exponents
            support = exps > 0
            L = max(1, int(support.sum(axis=1).max()))
            order = np.argsort(~support, axis=1, kind="stable")[:, :L]  # the variables of each term first
            term_exps = np.take_along_axis(exps, order, axis=1)
            term_vars = np.where(term_exps > 0, order, -1)
            self._tables = (term_vars.astype(np.int64), term_exps.astype(np.int64))
        return self._tables

    def target(self) -> DataPoint:
        """The real problem as a point of the family."""
        p = self.problem
        return DataPoint(p.X.astype(complex), p.Y.astype(complex), np.concatenate([c.ravel() for c in p.penalty]))

    def arc_coefficients(self, a: DataPoint, b: DataPoint) -> np.ndarray:
        """(3, terms): the term coefficients along the arc a → b are c₀ + t c₁ + t² c₂.

        With X(t) = Xm + t Xd (Xm, Xd the midpoint and half-difference), S(t) = s X(t) X(t)ᵀ is
        quadratic in t, T(t) likewise, C(t) linear."""
        mid = 0.5 * (a + b)
        half = 0.5 * (a + (-1.0) * b)
        s = self.scale
        parts = [
            (s * mid.X @ mid.X.T, s * mid.Y @ mid.X.T, mid.C),
            (s * (half.X @ mid.X.T + mid.X @ half.X.T), s * (half.Y @ mid.X.T + mid.Y @ half.X.T), half.C),
            (s * half.X @ half.X.T, s * half.Y @ half.X.T, np.zeros_like(mid.C)),
        ]
        return np.stack([self.system.coefficients(self.system.parameter_vector(*q)) for q in parts])

    def problem_at(self, q: DataPoint) -> Problem:
        """The (complex) gradient system at q, for batched Newton and Hessians."""
        p = self.problem
        C = np.split(q.C, np.cumsum(p.group_sizes)[:-1])
        return Problem(
            widths=p.widths,
            residual=p.residual,
            S=self.scale * (q.X @ q.X.T),
            T=self.scale * (q.Y @ q.X.T),
            X=q.X,
            Y=q.Y,
            scale=self.scale,
            penalty=tuple(c.reshape(shape) for c, shape in zip(C, p.shapes)),
        )

    def random_point(self, rng: np.random.Generator, c_scale: float = 1.0) -> DataPoint:
        p = self.problem
        return DataPoint(
            _complex_normal(rng, p.X.shape), _complex_normal(rng, p.Y.shape), c_scale * _complex_normal(rng, (p.n,))
        )

    def start_pair(self, rng: np.random.Generator, active: np.ndarray | None = None) -> tuple[np.ndarray, DataPoint]:
        """A random x₀ and data for which it is a critical point: C = −(data part of ∇L at x₀)
        / x₀ entrywise.  x₀ has unit-modulus entries (no division by a tiny coordinate), except
        that the weights of inactive hidden neurons (`active`: per coordinate, False where the
        neuron pattern forces a zero) are zero; there the data part vanishes too and C is free."""
        n = self.problem.n
        x0 = np.exp(2j * np.pi * rng.random(n))
        if active is not None:
            x0 = np.where(active, x0, 0.0)
        q = self.random_point(rng)
        data_part = self.problem_at(DataPoint(q.X, q.Y, np.zeros_like(q.C))).gradient(x0[None])[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            C = np.where(x0 != 0, -data_part / x0, q.C)
        return x0, DataPoint(q.X, q.Y, C)

    def neuron_patterns(self) -> list[np.ndarray]:
        """Coordinate masks of the active-neuron patterns that seed separate monodromy runs.

        The solutions split by which hidden neurons are inactive (incoming row and outgoing
        column zero): such a point stays inactive along every path, so loops never leave its
        pattern and each pattern needs its own seed (Bharadwaj–Hoşten, DOMAIN.md).  A hidden
        layer with no active neuron forces the origin, which is its own pattern (all False).
        Residual networks have no such structure: one pattern, all active."""
        p = self.problem
        n = p.n
        if p.residual or p.depth < 2:
            return [np.ones(n, dtype=bool)]
        neurons = self.neuron_coordinates()
        widths = [self.problem.widths[layer] for layer in range(1, p.depth)]
        patterns = [np.zeros(n, dtype=bool)]
        for choice in product(*[[m for m in product((True, False), repeat=w) if any(m)] for w in widths]):
            mask = np.ones(n, dtype=bool)
            for on, coords in zip([u for units in choice for u in units], neurons):
                if not on:
                    mask[coords] = False
            patterns.append(mask)
        return patterns

    def neuron_coordinates(self) -> list[np.ndarray]:
        """For every hidden neuron, its incoming row and outgoing column as coordinate indices."""
        p = self.problem
        off = p.offsets
        out = []
        for layer in range(1, p.depth):
            _, cols_in = p.shapes[layer - 1]
            rows_out, cols_out = p.shapes[layer]
            for unit in range(p.widths[layer]):
                out.append(
                    np.concatenate(
                        [
                            off[layer - 1] + unit * cols_in + np.arange(cols_in),
                            off[layer] + np.arange(rows_out) * cols_out + unit,
                        ]
                    )
                )
        return out

    def in_pattern(self, points: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Which points have exactly the neuron pattern `active` (a path can jump onto another
        pattern's solutions, which are genuine but belong to that pattern's own run)."""
        if self.problem.residual or self.problem.depth < 2:
            return np.ones(points.shape[0], dtype=bool)
        scale = np.maximum(1.0, np.abs(points).max(axis=1))
        ok = np.ones(points.shape[0], dtype=bool)
        for coords in self.neuron_coordinates():
            inactive = np.abs(points[:, coords]).max(axis=1) <= PATTERN_ZERO * scale
            ok &= inactive != active[coords].any()  # active: some weight of the neuron is free
        return ok


class ParameterHomotopy:
    """H(x, t) = ∇L(x; p_k(t)) for a batch of paths, path i on arc k = arc_of_path[i]; affine
    coordinates.  The NumPy evaluation is the reference; `kernel_data` feeds the compiled one."""

    def __init__(self, family: Family, arcs: list[tuple[DataPoint, DataPoint]], arc_of_path: np.ndarray) -> None:
        self.family = family
        self.system = family.system
        self.n = family.problem.n
        self.size = self.n
        self.G = 0
        self.coefficients = np.stack([family.arc_coefficients(a, b) for a, b in arcs])  # (arcs, 3, T)
        self.arc_of_path = np.asarray(arc_of_path, dtype=np.int64)
        self._exponents = self.system.exponents
        self._onehot = np.zeros((self.n, self._exponents.shape[0]))
        self._onehot[self.system.equation, np.arange(self._exponents.shape[0])] = 1.0

    def kernel_data(self) -> Any:
        from .kernel import KernelData

        return KernelData.from_parameter_homotopy(self)

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """H (N, n), ∂H/∂x (N, n, n), ∂H/∂t (N, n) at per-point t; `index` are the rows of the
        batch these points are (default: all, in order)."""
        E = self._exponents  # (T, n)
        arc = self.arc_of_path if index is None else self.arc_of_path[index]
        c0, c1, c2 = (self.coefficients[arc, k] for k in range(3))  # (N, T) each
        tt = t[:, None]
        coef = c0 + tt * (c1 + tt * c2)
        powers = y[:, None, :] ** E[None]  # (N, T, n)
        mono = np.prod(powers, axis=2)
        values = (coef * mono) @ self._onehot.T
        with np.errstate(divide="ignore", invalid="ignore"):
            lowered = np.where(E[None] > 0, E[None] * y[:, None, :] ** np.maximum(E[None] - 1, 0), 0.0)
        others = np.stack([np.prod(np.delete(powers, v, axis=2), axis=2) for v in range(self.n)], axis=2)
        jac = np.einsum("et,ntv->nev", self._onehot, coef[:, :, None] * lowered * others)
        if not derivative_t:
            return values, jac, None
        return values, jac, ((c1 + 2.0 * tt * c2) * mono) @ self._onehot.T


@dataclass
class MonodromyOptions:
    loops_without_progress: int = 5
    max_loops: int = 200
    # looser steps inside loops: a path that jumps there still ends at a genuine solution
    # (every endpoint is Newton-checked), so jumping only costs discoveries, never correctness
    loop_tol: float = 1e-2


class ArcTracker:
    """Tracks points along arcs between parameter points, many arcs in one batch (compiled when
    possible); counts the work done."""

    def __init__(self, family: Family, options: TrackerOptions, kernel: str = "auto") -> None:
        self.family = family
        self.options = options
        self.kernel = kernel
        self.path_steps = 0  # predictor–corrector steps over all paths (the unit of work)
        self.calls = 0

    def track(
        self,
        y0: np.ndarray,
        arcs: list[tuple[DataPoint, DataPoint]],
        arc_of_path: np.ndarray,
        options: TrackerOptions | None = None,
        keep_near_end: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints (NaN where lost) and an ok mask; path i runs along arcs[arc_of_path[i]].
        With `keep_near_end`, a path that stalled after that fraction of its arc keeps its last
        point (for a Newton refinement at the target to accept or reject)."""
        N = y0.shape[0]
        if N == 0:
            return y0.copy(), np.zeros(0, dtype=bool)
        hom = ParameterHomotopy(self.family, arcs, arc_of_path)
        steps = make_steps(hom, self.kernel)  # type: ignore[arg-type]
        tracker = Tracker(hom, options or self.options, steps)  # type: ignore[arg-type]
        state = tracker.track(y0, np.zeros(N, dtype=complex), np.full(N, ARC_END))
        self.path_steps += int(state.steps.sum())
        self.calls += 1
        ok = (state.status == REACHED_END) & np.isfinite(state.y).all(axis=1)
        keep = ok
        if keep_near_end is not None:  # let Newton at the end decide for paths that stalled close to it
            keep = ok | ((state.u >= keep_near_end) & np.isfinite(state.y).all(axis=1))
        return np.where(keep[:, None], state.y, np.nan), ok


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
    stagnant: int = 0
    stopped: str = ""
    history: list[int] = field(default_factory=list)

    def stats(self) -> PatternStats:
        return PatternStats(
            active_coordinates=int(self.active.sum()),
            solutions=int(self.known.shape[0]),
            orbits=int(self.reps.shape[0]),
            loops=len(self.loops),
            stopped=self.stopped,
            history=tuple(self.history),
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
    ) -> None:
        self.problem = problem
        self.rng = rng
        self.family = Family(problem)
        self.arcs = ArcTracker(self.family, tracker_options, kernel)
        self.options = options
        self.loop_options = replace(tracker_options, tol=options.loop_tol)
        self.signs = problem.sign_flips() if problem.symmetric else np.ones((1, problem.n))
        self.arcs_tracked = 0
        self.arcs_failed = 0


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
            return Component(active, base, base_problem, none, none, stopped="no isolated solutions for generic data")
        component = Component(active, base, base_problem, closure(x0[None], self.signs), x0[None])
        if not active.any():
            component.stopped = "the origin: a solution for every parameter value"
        return component

    def solve(self, trusted_count: int | None = None, progress: Callable[[int], None] | None = None) -> list[Component]:
        """Loops until every pattern stagnated (or the total reached `trusted_count`)."""
        opt = self.options
        c_scale = 1.0
        components = [self.seed(mask) for mask in self.family.neuron_patterns()]
        open_ = [c for c in components if not c.stopped]
        if open_:
            c_scale = float(np.sqrt(np.mean([np.mean(np.abs(c.base.C) ** 2) for c in open_])))
        rounds = 0
        while True:
            total = sum(c.known.shape[0] for c in components)
            if trusted_count is not None and total >= trusted_count:
                for c in open_:
                    c.stopped = f"the total reached the trusted count {trusted_count}"
                break
            open_ = [c for c in open_ if not c.stopped]
            if not open_:
                break
            rounds += 1
            for c in open_:
                # once a pattern has stalled, few orbits get several fresh loops per round: a loop
                # often maps a small orbit set onto itself, and for few representatives loops are
                # cheap (early, while it still grows, one loop per round: every loop must later
                # carry every representative found after it)
                fresh = max(1, FRESH_ARCS_PER_ROUND // max(1, c.reps.shape[0])) if c.stagnant else 1
                for _ in range(fresh):
                    c.loops.append(
                        (self.family.random_point(self.rng, c_scale), self.family.random_point(self.rng, c_scale))
                    )
                    c.carried.append(0)
            found = self._round(open_)
            for c, new in zip(open_, found):
                before = c.known.shape[0]
                if new.shape[0]:
                    new = new[match_points(new, c.known, SAME_POINT_TOL) < 0]
                if new.shape[0]:
                    distinct = new[unique_points(new, SAME_POINT_TOL)[0]]
                    reps_new = distinct[representatives(distinct, self.signs)]
                    c.known = np.concatenate([c.known, closure(reps_new, self.signs)])
                    c.reps = np.concatenate([c.reps, reps_new])
                c.history.append(int(c.known.shape[0]))
                c.stagnant = c.stagnant + 1 if c.known.shape[0] == before else 0
                if progress is not None and c.known.shape[0] > before:
                    progress(int(c.known.shape[0] - before))
                if c.stagnant >= opt.loops_without_progress:
                    c.stopped = f"no new solutions in {c.stagnant} consecutive rounds with a fresh loop"
                elif len(c.loops) >= opt.max_loops:
                    c.stopped = f"loop limit {opt.max_loops} reached while still finding solutions"
        return components

    def _round(self, components: list[Component]) -> list[np.ndarray]:
        """Carry every representative through every loop of its pattern it has not been through
        yet: base → p₁ → p₂ → base, all (pattern, loop) pairs in one batch per arc.  Returns the
        verified solutions each pattern's loops ended at."""
        starts, job_of_path, jobs = [], [], []
        for ci, c in enumerate(components):
            for li, loop in enumerate(c.loops):
                pending = c.reps[c.carried[li] :]
                c.carried[li] = c.reps.shape[0]
                if pending.shape[0]:
                    job_of_path.append(np.full(pending.shape[0], len(jobs)))
                    starts.append(pending)
                    jobs.append((ci, loop))
        if not jobs:
            return [np.zeros((0, self.problem.n), dtype=complex) for _ in components]
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
            x, converged = newton_check(c.base_problem, y[rows])
            found.append(x[converged & self.family.in_pattern(x, c.active)])
        return found


def _complex_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


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
    progress: Callable[[int], None] | None = None,
    instances: list[Problem] | None = None,
) -> tuple[list[PathResults], MonodromyStats]:
    """Monodromy for every neuron pattern at random base points, then parameter homotopies from
    the base points to each target problem (`problem`, or every problem of `instances` — the
    same architecture with other data): representatives only, their sign-flip images added and
    marked.  Returns one PathResults per target and the statistics (trusted_count_source is
    left for the engine to fill)."""
    began = time.perf_counter()
    solver = MonodromySolver(problem, rng, tracker_options, options, kernel)
    components = solver.solve(trusted_count, progress)
    loop_seconds = time.perf_counter() - began
    targets = instances if instances is not None else [problem]
    results, final = _track_to_targets(solver, components, targets, tracker_options, refine, accuracy_limit)
    total = int(sum(c.known.shape[0] for c in components))
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
        path_steps=solver.arcs.path_steps,
        tracker_calls=solver.arcs.calls,
        loop_seconds=round(loop_seconds, 3),
        seconds=round(time.perf_counter() - began, 3),
        per_pattern=tuple(c.stats() for c in components),
    )
    return results, stats


Refine = Callable[[Problem, np.ndarray], NewtonResult]


@dataclass(frozen=True)
class FinalTracking:
    """How the final parameter homotopies to the targets went."""

    paths: int
    lost_first_pass: int
    retracked: int
    detoured: int
    failed: int


def _track_to_targets(
    solver: MonodromySolver,
    components: list[Component],
    targets: list[Problem],
    tracker_options: TrackerOptions,
    refine: Refine,
    accuracy_limit: float,
) -> tuple[list[PathResults], FinalTracking]:
    """Parameter homotopies base → every target, all in one batch; lost paths and path jumps are
    re-tracked with tighter steps, then (still lost) along a detour through a random point."""
    reps = np.concatenate([c.reps for c in components])
    comp_of_rep = np.concatenate([np.full(c.reps.shape[0], i) for i, c in enumerate(components)])
    R, K = reps.shape[0], len(targets)
    target_points = [Family(t).target() for t in targets]
    arcs = [(c.base, q) for q in target_points for c in components]  # arc index: target · C + component
    starts = np.tile(reps, (K, 1))
    target_of_path = np.repeat(np.arange(K), R)
    arc_of_path = target_of_path * len(components) + np.tile(comp_of_rep, K)
    # Tighter steps than inside loops: here a jump loses a whole orbit, and these paths are few
    # next to the loops' (652 against ~23,000 arcs on (3,2,3) m = 3).
    tracker_options = replace(tracker_options, tol=tracker_options.tol / 10)
    y, ok = solver.arcs.track(starts, arcs, arc_of_path, tracker_options, keep_near_end=NEAR_END)
    lost_first = int(np.sum(~ok))
    x, accuracy, residual = _finish_all(targets, target_of_path, y, refine)

    def bad_paths() -> np.ndarray:
        good = accuracy <= accuracy_limit
        dup = np.zeros(x.shape[0], dtype=bool)
        for k in range(K):
            rows = np.flatnonzero(target_of_path == k)
            dup[rows] = _duplicates(x[rows], good[rows], solver.signs, involved=True)
        return np.flatnonzero(~good | dup)

    retracked, detoured = 0, 0
    bad = bad_paths()
    if bad.size:  # same arcs, once more with tighter steps (much tighter only runs out of steps)
        y_again, _ = solver.arcs.track(
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
            k, c = divmod(int(pair), len(components))
            detour = solver.family.random_point(solver.rng)
            zeros = np.zeros(rows.size, int)
            y_mid, ok_mid = solver.arcs.track(starts[rows], [(components[c].base, detour)], zeros, options_now)
            y_end, ok_end = solver.arcs.track(
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
        results.append(_results(problem, solver, x[rows], accuracy[rows], residual[rows], accuracy_limit))
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
    solver: MonodromySolver,
    x: np.ndarray,
    accuracy: np.ndarray,
    residual: np.ndarray,
    accuracy_limit: float,
) -> PathResults:
    """One target's path results: converged, non-duplicate endpoints succeed, the rest failed."""
    x = x.copy()
    converged = accuracy <= accuracy_limit
    duplicate = _duplicates(x, converged, solver.signs)
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
    return _with_images(problem, solver, tracked)


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


def _with_images(problem: Problem, solver: MonodromySolver, tracked: PathResults) -> PathResults:
    """Add the sign-flip images of the tracked representatives (marked added_by_symmetry)."""
    good = tracked.is_success()
    if not problem.symmetric or not good.any():
        return tracked
    reps = tracked.solutions[good]
    images, seed_of = missing_images(reps, solver.signs, reps)
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
