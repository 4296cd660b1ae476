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
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from ...problem import Problem
from ...sparse import ParametricSystem, parametric_gradient_system
from ..base import PathResults, ReturnCode
from .tracker import REACHED_END, Tracker, TrackerOptions, make_steps, solve
from .unique_points import SAME_POINT_TOL, match_points, unique_points

ARC_END = 1j * np.pi  # s at the far end of an arc (t = −1)
NEWTON_ACCURACY = 1e-10  # relative Newton step below which an arc's endpoint is a solution


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
        layers = [list(range(p.widths[layer])) for layer in range(1, p.depth)]
        patterns = [np.zeros(n, dtype=bool)]
        off = p.offsets
        for choice in product(*[[m for m in product((True, False), repeat=len(units)) if any(m)] for units in layers]):
            mask = np.ones(n, dtype=bool)
            for layer, units in enumerate(choice, start=1):
                for unit, on in enumerate(units):
                    if on:
                        continue
                    _, cols_in = p.shapes[layer - 1]
                    rows_out, cols_out = p.shapes[layer]
                    mask[off[layer - 1] + unit * cols_in + np.arange(cols_in)] = False
                    mask[off[layer] + np.arange(rows_out) * cols_out + unit] = False
            patterns.append(mask)
        return patterns


class ParameterHomotopy:
    """H(x, t) = ∇L(x; p(t)) on one arc, affine coordinates; NumPy reference + kernel data."""

    def __init__(self, family: Family, a: DataPoint, b: DataPoint) -> None:
        self.family = family
        self.system = family.system
        self.n = family.problem.n
        self.size = self.n
        self.G = 0
        self.coefficients = family.arc_coefficients(a, b)
        self._exponents = self.system.exponents
        self._onehot = np.zeros((self.n, self._exponents.shape[0]))
        self._onehot[self.system.equation, np.arange(self._exponents.shape[0])] = 1.0

    def kernel_data(self) -> Any:
        from .kernel import KernelData

        return KernelData.from_parameter_homotopy(self)

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """H (N, n), ∂H/∂x (N, n, n), ∂H/∂t (N, n) at per-point t — the monomial form, vectorised."""
        E = self._exponents  # (T, n)
        c0, c1, c2 = self.coefficients
        coef = c0[None] + t[:, None] * (c1[None] + t[:, None] * c2[None])  # (N, T)
        mono = np.prod(y[:, None, :] ** E[None], axis=2)  # (N, T)
        values = (coef * mono) @ self._onehot.T
        # ∂ monomial / ∂x_v = e_v x^(E − e_v)
        with np.errstate(divide="ignore", invalid="ignore"):
            lowered = np.where(E[None] > 0, E[None] * y[:, None, :] ** np.maximum(E[None] - 1, 0), 0.0)
        others = np.stack(
            [np.prod(np.delete(y[:, None, :] ** E[None], v, axis=2), axis=2) for v in range(self.n)], axis=2
        )
        dmono = lowered * others  # (N, T, n)
        jac = np.einsum("et,ntv->nev", self._onehot, coef[:, :, None] * dmono)
        if not derivative_t:
            return values, jac, None
        dcoef = c1[None] + 2.0 * t[:, None] * c2[None]
        return values, jac, (dcoef * mono) @ self._onehot.T


@dataclass
class MonodromyOptions:
    loops_without_progress: int = 5
    max_loops: int = 200


@dataclass
class MonodromyReport:
    """How a monodromy solve went (for the summary)."""

    stopped: str = ""
    loops: int = 0
    arcs_tracked: int = 0
    arcs_failed: int = 0
    base_solutions: int = 0
    orbits: int = 0
    trusted_count: int | None = None
    reached_trusted_count: bool = False
    seconds: float = 0.0
    history: list[int] = field(default_factory=list)  # solutions known after each loop

    def as_dict(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "loops": self.loops,
            "arcs_tracked": self.arcs_tracked,
            "arcs_failed": self.arcs_failed,
            "base_solutions": self.base_solutions,
            "orbits": self.orbits,
            "trusted_count": self.trusted_count,
            "reached_trusted_count": self.reached_trusted_count,
            "seconds": round(self.seconds, 3),
            "history": self.history,
        }


class ArcTracker:
    """Tracks batches of points along arcs between parameter points (compiled when possible)."""

    def __init__(self, family: Family, options: TrackerOptions, kernel: str = "auto") -> None:
        self.family = family
        self.options = options
        self.kernel = kernel

    def track(self, y0: np.ndarray, a: DataPoint, b: DataPoint, options: TrackerOptions | None = None) -> tuple[
        np.ndarray, np.ndarray
    ]:
        """Endpoints at b (NaN where lost) and an ok mask."""
        N = y0.shape[0]
        if N == 0:
            return y0.copy(), np.zeros(0, dtype=bool)
        hom = ParameterHomotopy(self.family, a, b)
        steps = make_steps(hom, self.kernel)  # type: ignore[arg-type]
        tracker = Tracker(hom, options or self.options, steps)  # type: ignore[arg-type]
        state = tracker.track(y0, np.zeros(N, dtype=complex), np.full(N, ARC_END))
        ok = (state.status == REACHED_END) & np.isfinite(state.y).all(axis=1)
        y = np.where(ok[:, None], state.y, np.nan)
        return y, ok


def newton(problem: Problem, x: np.ndarray, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A few Newton steps on ∇L(·; q) = 0; the points and whether the last step was tiny."""
    x = x.copy()
    step = np.full(x.shape[0], np.inf)
    for _ in range(iterations):
        grad, hess, _ = problem.evaluate(x)
        dx = solve(hess, -grad)
        good = np.isfinite(dx).all(axis=1)
        x[good] += dx[good]
        step = np.where(good, np.abs(dx).max(axis=1) / np.maximum(1.0, np.abs(x).max(axis=1)), np.inf)
    return x, step <= NEWTON_ACCURACY


class MonodromySolver:
    """Grows the solution set at a random base point by loops (see the module docstring)."""

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
        self.signs = problem.sign_flips() if problem.symmetric else np.ones((1, problem.n))

    def _orbit(self, reps: np.ndarray) -> np.ndarray:
        """All distinct sign-flip images of the given points."""
        images = (reps[:, None, :] * self.signs[None]).reshape(-1, self.problem.n)
        return images[unique_points(images, SAME_POINT_TOL)[0]]

    def _representatives(self, points: np.ndarray) -> np.ndarray:
        """One point per sign-flip orbit among distinct points (the smallest index)."""
        k = points.shape[0]
        images = (points[:, None, :] * self.signs[None]).reshape(-1, self.problem.n)
        match = match_points(images, points, SAME_POINT_TOL).reshape(k, -1)
        orbit = np.minimum(np.where(match < 0, k, match).min(axis=1), np.arange(k))
        return points[np.unique(orbit)]

    def solve(
        self,
        active: np.ndarray | None = None,
        trusted_count: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[DataPoint, np.ndarray, np.ndarray, MonodromyReport]:
        """Solutions of one neuron pattern at a random base point: (base, all solutions, orbit
        representatives, report)."""
        began = time.perf_counter()
        opt = self.options
        report = MonodromyReport(trusted_count=trusted_count)
        x0, base = self.family.start_pair(self.rng, active)
        base_problem = self.family.problem_at(base)
        c_scale = float(np.sqrt(np.mean(np.abs(base.C) ** 2)))
        reps = x0[None].copy()
        known = self._orbit(reps)
        loops: list[tuple[DataPoint, DataPoint]] = []
        done: list[int] = []  # how many representatives each loop has already carried
        stagnant = 0
        while True:
            if trusted_count is not None and known.shape[0] >= trusted_count:
                report.stopped = f"reached the trusted count {trusted_count}"
                report.reached_trusted_count = True
                break
            if active is not None and not active.any():
                report.stopped = "the origin: a solution for every parameter value"
                break
            if stagnant >= opt.loops_without_progress:
                report.stopped = f"no new solutions in {stagnant} consecutive fresh loops"
                break
            if len(loops) >= opt.max_loops:
                report.stopped = f"loop limit {opt.max_loops} reached while still finding solutions"
                break
            loops.append((self.family.random_point(self.rng, c_scale), self.family.random_point(self.rng, c_scale)))
            done.append(0)
            before = known.shape[0]
            # carry every representative through every loop it has not been through yet
            # (new representatives found on the way are carried in the same round)
            while True:
                pending = [i for i in range(len(loops)) if done[i] < reps.shape[0]]
                if not pending:
                    break
                for i in pending:
                    start = reps[done[i] :]
                    done[i] = reps.shape[0]
                    found = self._around(start, base, loops[i], report)
                    if found.shape[0] == 0:
                        continue
                    x, converged = newton(base_problem, found)
                    x = x[converged]
                    new = x[match_points(x, known, SAME_POINT_TOL) < 0]
                    if new.shape[0] == 0:
                        continue
                    new = new[unique_points(new, SAME_POINT_TOL)[0]]
                    reps_new = self._representatives(new)
                    known = np.concatenate([known, self._orbit(reps_new)])
                    reps = np.concatenate([reps, reps_new])
            report.loops = len(loops)
            report.history.append(int(known.shape[0]))
            if progress is not None:
                progress(int(known.shape[0] - before))
            stagnant = stagnant + 1 if known.shape[0] == before else 0
        report.base_solutions = int(known.shape[0])
        report.orbits = int(reps.shape[0])
        report.seconds = time.perf_counter() - began
        return base, known, reps, report

    def _around(self, start: np.ndarray, base: DataPoint, loop: tuple[DataPoint, DataPoint],
                report: MonodromyReport) -> np.ndarray:
        """Track points base → p₁ → p₂ → base; the endpoints of the paths that came back."""
        y = start
        alive = np.ones(start.shape[0], dtype=bool)
        for a, b in ((base, loop[0]), (loop[0], loop[1]), (loop[1], base)):
            idx = np.flatnonzero(alive)
            y_new, ok = self.arcs.track(y[idx], a, b)
            report.arcs_tracked += idx.size
            report.arcs_failed += int(np.sum(~ok))
            y = y.copy()
            y[idx] = y_new
            alive[idx[~ok]] = False
        return y[alive]


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
    refine: Callable[[Problem, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    accuracy_limit: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[PathResults, dict[str, Any]]:
    """Every neuron pattern by monodromy at its own base point, then one parameter homotopy per
    pattern from its base point to the real problem (representatives only; their sign-flip
    images are added and marked).  Returns the target's path results and the summary info."""
    began = time.perf_counter()
    solver = MonodromySolver(problem, rng, tracker_options, options, kernel)
    patterns = sorted(solver.family.neuron_patterns(), key=lambda mask: int(mask.sum()))
    target = solver.family.target()
    reports = []
    bases, reps_by_pattern = [], []
    total = 0
    for i, mask in enumerate(patterns):
        remaining = trusted_count - total if (trusted_count is not None and i == len(patterns) - 1) else None
        base, known, reps, report = solver.solve(mask, remaining, progress)
        total += known.shape[0]
        reports.append(report)
        bases.append(base)
        reps_by_pattern.append(reps)
    # parameter homotopy to the real problem, representatives of all patterns
    endpoints, arcs, lost = [], 0, 0
    for base, reps in zip(bases, reps_by_pattern):
        y, ok = solver.arcs.track(reps, base, target)
        arcs += reps.shape[0]
        lost += int(np.sum(~ok))
        endpoints.append(y)
    y = np.concatenate(endpoints) if endpoints else np.zeros((0, problem.n), dtype=complex)
    starts = np.concatenate(reps_by_pattern)
    base_of = np.concatenate([np.full(r.shape[0], i) for i, r in enumerate(reps_by_pattern)])
    x, accuracy, residual = _finish(problem, y, refine)
    # path jumping or failures: re-track those paths with tighter steps (twice at most)
    options_now = tracker_options
    retracked = 0
    for _ in range(2):
        bad = np.flatnonzero(~(accuracy <= accuracy_limit) | _duplicates(x, accuracy <= accuracy_limit))
        if bad.size == 0:
            break
        options_now = options_now.tighter()
        for i in np.unique(base_of[bad]):
            rows = bad[base_of[bad] == i]
            y_again, _ = solver.arcs.track(starts[rows], bases[i], target, options_now)
            x[rows], accuracy[rows], residual[rows] = _finish(problem, y_again, refine)
        retracked += bad.size
    converged = accuracy <= accuracy_limit
    duplicate = _duplicates(x, converged)
    with np.errstate(all="ignore"):
        condition = np.full(x.shape[0], np.inf)
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
    results = _with_images(problem, solver, tracked)
    info = {
        "monodromy": {
            "patterns": len(patterns),
            "base_solutions": total,
            "trusted_count": trusted_count,
            "reached_trusted_count": trusted_count is not None and total >= trusted_count,
            "stopped": [r.stopped for r in reports],
            "loops": int(sum(r.loops for r in reports)),
            "arcs_tracked": int(sum(r.arcs_tracked for r in reports)) + arcs + retracked,
            "arcs_failed": int(sum(r.arcs_failed for r in reports)),
            "per_pattern": [
                {"active_coordinates": int(m.sum()), **r.as_dict()} for m, r in zip(patterns, reports)
            ],
            "final_paths": int(arcs),
            "final_paths_lost": int(lost),
            "final_retracked": int(retracked),
            "seconds": round(time.perf_counter() - began, 3),
        }
    }
    return results, info


def _finish(
    problem: Problem, y: np.ndarray, refine: Callable[[Problem, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton-refine arc endpoints on the real problem; lost paths get accuracy ∞."""
    x = np.full_like(y, np.nan)
    accuracy = np.full(y.shape[0], np.inf)
    residual = np.full(y.shape[0], np.nan)
    ok = np.isfinite(y).all(axis=1)
    if ok.any():
        x[ok], accuracy[ok], residual[ok] = refine(problem, y[ok])
    return x, accuracy, residual


def _duplicates(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose point another valid row also reached (all but the first are flagged)."""
    out = np.zeros(x.shape[0], dtype=bool)
    idx = np.flatnonzero(valid)
    if idx.size < 2:
        return out
    reps, labels, _ = unique_points(x[idx], SAME_POINT_TOL)
    first = np.zeros(idx.size, dtype=bool)
    first[reps] = True
    out[idx[~first]] = True
    return out


def _with_images(problem: Problem, solver: MonodromySolver, tracked: PathResults) -> PathResults:
    """Add the sign-flip images of the tracked representatives (marked added_by_symmetry)."""
    good = tracked.is_success()
    if not problem.symmetric or not good.any():
        return tracked
    reps = tracked.solutions[good]
    images = (reps[:, None, :] * solver.signs[None]).reshape(-1, problem.n)
    rows = np.repeat(np.flatnonzero(good), solver.signs.shape[0])
    new = match_points(images, reps, SAME_POINT_TOL) < 0
    images, rows = images[new], rows[new]
    keep = unique_points(images, SAME_POINT_TOL)[0]
    images, rows = images[keep], rows[keep]
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
