"""Seeds for the decomposition from a generic penalty: isolated critical points carried to Λ.

Why.  The decomposition needs endpoints on every component, and a linear-product start system
gives them at a cost that explodes with depth: (1,2,2,1) has 20,001 multihomogeneous paths,
(3,2,3) 127,905 (13.5 minutes), (2,2,2,2) 16.6 million — refused.  Almost all of those paths
diverge.  A *generic generalised* penalty C_g instead leaves only isolated critical points, and
monodromy finds all of them, proven by the trace test, at a cost that grows with their number
(engines/native/monodromy.py).  The critical points of the real penalty C (0 for Λ = 0, λ for
scalar L2) are then limits of those of C_g: the parameter homotopy C(t) from C_g to C, along the
family's complex half-circle arc (engines/native/family.py: it avoids the real discriminant),
carries each isolated point to a point of the real critical set or to infinity.  The endpoints
are the seeds; a component is found when some isolated critical point of the generic penalty
tends to it — the same promise as "some start path ends on it", at a fraction of the paths.
The hidden-neuron sign flips are symmetries of every penalty on the way (entrywise), so one
path per orbit is tracked and the endpoints' images are added as seeds of the image components
((2,2,2,2) m = 3: 13,441 generic points; before this, all of them were tracked, 178 s).

Measured (2 cores, λ = 0, data seed 0): (2,2,2) m = 3, 225 generic points → 77 endpoints, all
four components (closed-form values 4 of 4); (2,2,1,2) m = 3, 353 generic points → 41 endpoints,
both reduced components in 32 s against 240 s from the 214 s multihomogeneous solve.

Endpoints.  A path that reaches C is refined by Newton (keeping each point's best iterate, as
the native endgame does: singular endpoints cannot be pushed off) and kept if its per-layer
backward error is at rounding level (`critical_residual`); points of huge norm are at infinity;
a path that did not reach C (it stalled where the endpoint is singular and Puiseux-slow, or
diverged) is FAILED and not a seed.  Such paths mostly stop within 1e-11 of C ((2,2,1,2) m = 3:
260 of 353), some on the components' losses; refining their last points and seeding with them
was tried and produced witness sets that fail their trace test ((2,2,2) m = 3), so they are
left out — the components are reached by the paths that arrive.  The generic penalty is drawn
from the solver seed.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..common.symmetry import missing_images, representatives
from ..engines.base import PathResults, Progress, ReturnCode, SolveResult
from ..engines.control import RunControl
from ..engines.native.endgame import SINGULAR_CONDITION, refine
from ..engines.native.engine import NativeEngine
from ..engines.native.family import ArcTracker, DataPoint, Family
from ..engines.native.tracker import TrackerOptions, make_steps
from ..engines.stats import TrackingStats
from ..model.options import SolverOptions
from ..model.problem import Problem
from .options import ComponentOptions
from .slicing import critical_residual

GENERIC_LAMBDA = (0.1, 1.0)  # entries of the generic Λ_g, uniform; C_g = Λ_g ∘ Λ_g
AT_INFINITY_NORM = 1e6  # an endpoint this much larger than the generic points is at infinity


class PenaltyHomotopyEngine:
    """The seeds of the module docstring, through the engine protocol of `engines.base` (the
    pipeline runs it like any engine): one PathResults row per generic critical point."""

    name = "native"

    def __init__(self, native: NativeEngine | None = None, options: ComponentOptions | None = None) -> None:
        self.native = native or NativeEngine()
        self.options = options or ComponentOptions()

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult:
        began = time.perf_counter()
        seed = int(options.seed)
        rng = np.random.default_rng(seed)
        low, high = GENERIC_LAMBDA
        penalty = tuple(rng.uniform(low, high, np.shape(c)) ** 2 for c in problem.penalty)
        generic = replace(problem, penalty=penalty, regularization="generalized", exact=None)
        solved = self.native.solve(generic, options.replace(start="monodromy", trusted_count=None), progress, control)
        monodromy_seconds = time.perf_counter() - began
        ok = solved.paths.is_success()
        start = solved.paths.solutions[ok]
        # the sign flips are symmetries at every penalty of the homotopy: one path per orbit
        signs = problem.sign_flips() if problem.symmetric else np.ones((1, problem.n))
        reps = start[representatives(start, signs)]
        family = Family(generic)
        a = family.target()
        b = DataPoint(a.X, a.Y, np.concatenate([np.ravel(c) for c in problem.penalty]).astype(complex), a.Q)
        arcs = ArcTracker(family, TrackerOptions())
        y, reached = arcs.track(reps, [(a, b)], np.zeros(reps.shape[0], dtype=np.int64))
        with np.errstate(all="ignore"):
            paths = _with_images(self._endpoints(problem, y, reached, float(np.abs(start).max(initial=1.0))), signs)
        kernel = make_steps(family.homotopy([(a, b)], np.zeros(1, dtype=np.int64)), "auto").name
        proven = _proven(solved)
        stats = TrackingStats(kernel=kernel, start_solutions=int(start.shape[0]), generic_count_proven=proven)
        return SolveResult(
            paths=paths,  # per-path steps are not kept by the arc tracker: 0, as for a start point
            engine=self.name,
            start_system=(
                f"generic generalised Λ (seed {seed}): {start.shape[0]} isolated critical points by monodromy "
                f"({monodromy_seconds:.0f} s), {_how_complete(solved, proven)}; one per sign-flip orbit "
                f"({reps.shape[0]}) carried to the config's penalty by a parameter homotopy "
                f"({time.perf_counter() - began - monodromy_seconds:.0f} s, {arcs.path_steps:,} path steps), "
                "the endpoints' images added"
            ),
            stopped_early=solved.stopped_early,
            seed=seed,
            seconds=time.perf_counter() - began,
            stats=stats,
        )

    def _endpoints(self, problem: Problem, y: np.ndarray, reached: np.ndarray, size: float) -> PathResults:
        """Return codes of the homotopy's endpoints (module docstring, "Endpoints")."""
        N, n = y.shape
        solutions = np.full((N, n), np.nan, dtype=complex)
        code = np.full(N, int(ReturnCode.FAILED), dtype=np.int8)
        residual = np.full(N, np.nan)
        condition = np.full(N, np.inf)
        idx = np.flatnonzero(reached)
        if idx.size:
            refined = refine(problem, y[idx])
            x = refined.points
            far = ~(np.abs(x).max(axis=1) <= AT_INFINITY_NORM * size)
            finite = np.where(far[:, None], 0.0, x)  # far points are not evaluated (overflow)
            critical = critical_residual(problem, finite) <= self.options.residual_tol
            cond = np.linalg.cond(problem.hessian(finite))
            singular = ~(cond < SINGULAR_CONDITION)
            code[idx] = np.where(
                far,
                ReturnCode.AT_INFINITY,
                np.where(~critical, ReturnCode.FAILED, np.where(singular, ReturnCode.SINGULAR, ReturnCode.SUCCESS)),
            )
            keep = ~far & critical
            solutions[idx[keep]] = x[keep]
            residual[idx] = refined.residual
            condition[idx] = cond
        return PathResults(
            solutions=solutions,
            return_code=code,
            residual=residual,
            condition=condition,
            winding_number=np.ones(N, dtype=np.int64),
            steps=np.zeros(N, dtype=np.int64),
        )


def _with_images(tracked: PathResults, signs: np.ndarray) -> PathResults:
    """The tracked endpoints and, as rows marked `added_by_symmetry`, the distinct sign-flip
    images of those that are critical points — seeds on the image components too (exact images:
    unlike orbits.complete_orbits, singular endpoints count and nothing needs refining)."""
    kept = np.flatnonzero(np.isfinite(tracked.solutions).all(axis=1))
    new, seed_of = missing_images(tracked.solutions[kept], signs, tracked.solutions[kept])
    images = tracked.take(kept[seed_of])
    images.solutions = new
    images.steps = np.zeros(len(images), dtype=tracked.steps.dtype)
    images.added_by_symmetry = np.ones(len(images), dtype=bool)
    base = tracked.take(np.arange(len(tracked)))
    base.added_by_symmetry = np.zeros(len(tracked), dtype=bool)
    return PathResults.concatenate([base, images])


def _proven(solved: SolveResult) -> bool:
    """Whether every pattern of the generic solve stopped on a proof (the trace test, mostly)."""
    record = solved.monodromy
    return record is not None and all(p.proven for p in record.per_pattern)


def _how_complete(solved: SolveResult, proven: bool) -> str:
    """How the generic solve's count was established, in words."""
    if proven:
        return "every pattern proven by the trace test"
    record = solved.monodromy
    open_ = sorted({p.completeness or "unfinished" for p in record.per_pattern if not p.proven}) if record else []
    return f"NOT proven complete ({', '.join(open_) or 'no monodromy record'})"


__all__ = ["GENERIC_LAMBDA", "PenaltyHomotopyEngine"]
