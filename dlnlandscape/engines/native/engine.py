"""The built-in NumPy engine: linear-product start systems, projective tracking, endgames.

Pipeline (one function each): choose variable groups and a start system → track every start
solution from t = 1 towards t = 0 (tracker.py) → end undecided paths with the Cauchy endgame →
dehomogenise and refine finite endpoints by Newton on ∇L → re-track paths that landed on the
same nonsingular solution (a sign of path jumping) with tighter tolerances.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ...common.newton import NewtonResult, newton, relative_step
from ...common.points import SAME_POINT_TOL, cluster_labels
from ...errors import ConfigError
from ...model.options import SolverOptions
from ...model.problem import Problem
from ..base import PathResults, Progress, ReturnCode, SolveResult
from ..stats import MonodromySolveStats, TrackingStats
from .homotopy import ProjectiveHomotopy
from .orbits import complete_orbits
from .start_systems import LinearProductStart, VariableGroups, multihomogeneous_bezout
from .tracker import (
    AT_INFINITY,
    CONVERGED,
    FAILED,
    REACHED_END,
    Tracker,
    TrackerOptions,
    cauchy_endgame,
    make_steps,
)

SUPPORTED_STARTS = ("auto", "multihomogeneous", "total_degree", "monodromy")
SINGULAR_CONDITION = 1e10  # Hessian condition number above which an endpoint counts as singular
DUPLICATE_TOL = SAME_POINT_TOL
NEWTON_ACCURACY = 1e-8  # relative Newton step at which a nonsingular endpoint counts as converged
CHUNK_PATHS = 100_000  # paths tracked at once by the linear-product homotopies (~1 KB of state each)
MAX_START_PATHS = 2_000_000  # beyond this a linear-product start is refused (hours, GBs of start points)


def build_homotopy(problem: Problem, start: str, rng: np.random.Generator) -> ProjectiveHomotopy:
    """The γ-trick homotopy from a random linear-product start system."""
    if start in ("auto", "multihomogeneous"):
        groups = VariableGroups.per_layer(problem.offsets)
        degrees = problem.multidegrees
    else:
        groups = VariableGroups.single(problem.n, problem.depth)
        degrees = problem.multidegrees.sum(axis=1, keepdims=True)
    start_system = LinearProductStart.random(groups, degrees, rng)
    gamma = np.exp(2j * np.pi * rng.random())
    return ProjectiveHomotopy(problem, start_system, gamma)


def newton_at_zero(homotopy: ProjectiveHomotopy, y: np.ndarray, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Newton on the t = 0 system (target and chart); which points converged to a finite,
    nonsingular-looking solution (tiny last update and residual, homogenising coordinates
    not vanishing)."""
    result = newton(homotopy.evaluate_target, y, iterations, step_size=relative_step)
    y = result.points
    residual = np.abs(homotopy.evaluate_target(y)[0]).max(axis=1)
    finite = homotopy.homogenizing_ratio(y).min(axis=1) >= 1e-6
    return y, result.converged(1e-10) & (residual <= 1e-10) & finite


def refine(problem: Problem, x: np.ndarray, iterations: int = 8) -> NewtonResult:
    """Newton on ∇L = 0 in affine coordinates, keeping each point's best iterate (lowest
    residual), so singular points cannot be pushed away while nonsingular ones converge fully:
    the points, the relative Newton step computed at each (NEWTON_ACCURACY judges it) and
    ‖∇L‖∞ there."""
    return newton(problem.gradient_and_hessian, x, iterations, keep_best=True)


class NativeEngine:
    """Homotopy continuation in NumPy, vectorised over all paths."""

    name = "native"

    def __init__(self, options: TrackerOptions | None = None, kernel: str = "auto") -> None:
        self.options = options or TrackerOptions()
        self.kernel = kernel

    def solve(self, problem: Problem, options: SolverOptions, progress: Progress | None = None) -> SolveResult:
        # One BLAS thread: the engine's linear algebra is on tiny matrices, and OpenBLAS worker
        # threads spinning between calls steal the cores the compiled kernel's threads run on
        # (measured: (2,2,2,2) monodromy 16 s → 5.5 s on 2 cores).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._solve(problem, options, progress)

    def _solve(self, problem: Problem, options: SolverOptions, progress: Progress | None) -> SolveResult:
        start = options.start
        if start not in SUPPORTED_STARTS:
            raise ConfigError(
                options.source,
                "solver.start",
                f"{start!r} is not implemented by the native engine; use monodromy, multihomogeneous or "
                "total_degree (or backend: julia for polyhedral)",
            )
        seed = int(options.seed)
        threads = _set_threads(int(options.threads))
        began = time.perf_counter()
        rng = np.random.default_rng(seed)
        start = resolve_start(options, problem)
        if start == "monodromy":
            return self._solve_monodromy(problem, options, rng, seed, threads, began, progress)[0]
        homotopy = build_homotopy(problem, start, rng)
        bound = multihomogeneous_bezout(homotopy.start.degrees, homotopy.groups.sizes())
        if bound > MAX_START_PATHS:
            raise ConfigError(
                options.source,
                "solver.start",
                f"{start} needs {bound:,} paths (more than {MAX_START_PATHS:,}); use start: monodromy "
                "(generalized regularization) or the julia backend",
            )
        y0 = homotopy.start_solutions()
        if progress is not None:
            progress.start(len(y0))
        # memory stays bounded: the tracker's per-path state lives for one chunk at a time
        parts = []
        for first in range(0, len(y0), CHUNK_PATHS):
            parts.append(
                self.track_all(homotopy, y0[first : first + CHUNK_PATHS], progress.advance if progress else None)
            )
        paths = PathResults.concatenate([p for p, _ in parts])
        if progress is not None:
            progress.finish()
        paths = complete_orbits(problem, paths, refine, NEWTON_ACCURACY)
        stats = replace(
            TrackingStats.merge([s for _, s in parts]),
            chunks=len(parts),
            added_by_symmetry=paths.counts()["added_by_symmetry"],
            start_solutions=int(len(y0)),
            threads=threads,
        )
        return SolveResult(
            paths=paths,
            engine=self.name,
            start_system="multihomogeneous" if start in ("auto", "multihomogeneous") else "total_degree",
            seed=seed,
            seconds=time.perf_counter() - began,
            stats=stats,
        )

    def _solve_monodromy(
        self,
        problem: Problem,
        options: SolverOptions,
        rng: np.random.Generator,
        seed: int,
        threads: int,
        began: float,
        progress: Progress | None,
        instances: list[Problem] | None = None,
    ) -> list[SolveResult]:
        from .monodromy import MonodromyOptions, solve_by_monodromy

        trusted = options.trusted_count
        if trusted == "msolve":
            raise ConfigError(
                options.source,
                "solver.trusted_count",
                "msolve must be resolved to msolve's degree before the engine runs "
                "(dlnlandscape.pipeline.resolve_trusted_count does)",
            )
        if progress is not None:
            progress.start(trusted or 0)
        results, monodromy = solve_by_monodromy(
            problem,
            rng,
            self.options,
            MonodromyOptions(loops_without_progress=int(options.loops_without_progress)),
            trusted_count=trusted,
            kernel=self.kernel,
            refine=refine,
            accuracy_limit=NEWTON_ACCURACY,
            progress=progress.advance if progress else None,
            instances=instances,
        )
        if progress is not None:
            progress.finish()
        monodromy = replace(monodromy, trusted_count_source=None if trusted is None else options.trusted_count_source)
        seconds = time.perf_counter() - began
        return [
            SolveResult(
                paths=paths,
                engine=self.name,
                start_system="monodromy",
                seed=seed,
                seconds=seconds,
                stats=MonodromySolveStats(monodromy, threads, paths.counts()["added_by_symmetry"]),
            )
            for paths in results
        ]

    def solve_instances(
        self, problems: list[Problem], options: SolverOptions, progress: Progress | None = None
    ) -> list[SolveResult]:
        """Many instances of one architecture: one monodromy solve at generic base points, then a
        parameter homotopy to every instance (all paths in one batch)."""
        from threadpoolctl import threadpool_limits

        if problems[0].regularization != "generalized":
            raise ConfigError(
                options.source, "data.instances", "instances need regularization.kind: generalized (a generic family)"
            )
        seed = int(options.seed)
        with threadpool_limits(limits=1, user_api="blas"):
            threads = _set_threads(int(options.threads))
            began = time.perf_counter()
            rng = np.random.default_rng(seed)
            return self._solve_monodromy(problems[0], options, rng, seed, threads, began, progress, problems)

    def track_all(
        self, homotopy: ProjectiveHomotopy, y0: np.ndarray, progress: Callable[[int], None] | None = None
    ) -> tuple[PathResults, TrackingStats]:
        """Track all start solutions, then re-track failed paths and suspected path jumps with
        tighter tolerances (twice at most)."""
        steps = make_steps(homotopy, self.kernel)
        results, stalled = self._track(homotopy, y0, self.options, progress, steps)
        retracked, rounds = 0, 0
        options = self.options
        for _ in range(2):
            suspects = np.union1d(_duplicate_successes(results), np.flatnonzero(results.is_failed()))
            if suspects.size == 0:
                break
            options = options.tighter()
            again, again_stalled = self._track(homotopy, y0[suspects], options, None, steps)
            results = _replace_rows(results, suspects, again)
            stalled[suspects] = again_stalled
            retracked += int(suspects.size)
            rounds += 1
        stats = TrackingStats(
            kernel=steps.name,
            retracked=retracked,
            retrack_rounds=rounds,
            duplicate_nonsingular_paths=int(_duplicate_successes(results).size),
            at_infinity_after_stalling=int(stalled.sum()),
        )
        return results, stats

    def _track(
        self,
        homotopy: ProjectiveHomotopy,
        y0: np.ndarray,
        options: TrackerOptions,
        progress: Callable[[int], None] | None,
        steps: Any,
    ) -> tuple[PathResults, np.ndarray]:
        """Track, end and refine; also returns which paths were declared at infinity after
        stalling (see below)."""
        problem = homotopy.problem
        tracker = Tracker(homotopy, options, steps)
        N = y0.shape[0]
        s_end = np.full(N, np.log(options.t_min), dtype=complex)
        state = tracker.track(y0, np.zeros(N, dtype=complex), s_end, endgame=True, progress=progress)

        code = np.full(N, int(ReturnCode.FAILED), dtype=np.int8)
        winding = np.ones(N, dtype=np.int64)
        code[state.status == AT_INFINITY] = ReturnCode.AT_INFINITY
        # A path that stalled near t = 0 (step size underflow as the Jacobian degenerates) or
        # reached t_min undecided, while a homogenising coordinate shrank at a positive rate
        # that stayed stable between the last checkpoints, is heading to infinity: the measured
        # valuation decides, and these paths are counted separately in the engine info.
        near_zero = np.abs(np.exp(state.s(np.arange(N)))) < options.t_endgame
        undecided = ((state.status == FAILED) & near_zero) | (state.status == REACHED_END)
        # First, a longer Newton run at t = 0: an ill-conditioned finite solution (small Λ
        # gives large, badly conditioned critical points) may not have passed the quick
        # two-step test during tracking, yet be plainly convergent from this close.
        late = np.flatnonzero(undecided)
        if late.size:
            y_late, converged_late = newton_at_zero(homotopy, state.y[late])
            hit = late[converged_late]
            state.y[hit] = y_late[converged_late]
            state.status[hit] = CONVERGED
            undecided[hit] = False
        endpoint = state.y.copy()
        ratio = homotopy.homogenizing_ratio(endpoint).min(axis=1)
        with np.errstate(invalid="ignore"):
            diverging = ((np.nan_to_num(state.valuation, nan=0.0) > 0.05) & state.valuation_stable).any(axis=1)
        stalled_at_infinity = undecided & diverging & (ratio < 0.05)
        code[stalled_at_infinity] = ReturnCode.AT_INFINITY
        candidate = state.status == CONVERGED

        ended = np.flatnonzero((state.status == REACHED_END) & ~stalled_at_infinity)
        at_inf = ended[ratio[ended] < 1e-6]
        code[at_inf] = ReturnCode.AT_INFINITY
        loop = ended[ratio[ended] >= 1e-6]
        cauchy = np.zeros(N, dtype=bool)
        if loop.size:
            est, c, ok = cauchy_endgame(tracker, endpoint[loop], state.s(loop))
            endpoint[loop[ok]] = est[ok]
            winding[loop] = np.where(ok, c, 0)
            cauchy[loop[ok]] = True
        # An endpoint counts as a finite critical point only if no homogenising coordinate
        # vanishes and — for Cauchy-endgame estimates, which Newton did not confirm — the
        # (scaled, projective) target system nearly vanishes there.
        ended_here = candidate | cauchy
        end_ratio = homotopy.homogenizing_ratio(endpoint).min(axis=1)
        projective_residual = np.full(N, np.inf)
        if cauchy.any():
            values, _ = homotopy.evaluate_target(endpoint[cauchy], jacobian=False)
            projective_residual[cauchy] = np.abs(values[:, : problem.n]).max(axis=1)
        solves = candidate | (projective_residual <= 1e-6)
        finite = ended_here & solves & (end_ratio >= 1e-6)
        code[ended_here & ~finite & (end_ratio < 1e-4)] = ReturnCode.AT_INFINITY
        # anything else that ended here but does not solve the system stays FAILED

        solutions = np.full((N, problem.n), np.nan, dtype=complex)
        residual = np.full(N, np.nan)
        accuracy = np.full(N, np.nan)
        condition = np.full(N, np.inf)
        idx = np.flatnonzero(finite)
        if idx.size:
            refined = refine(problem, homotopy.affine(endpoint[idx]))
            x, acc, res = refined.points, refined.step, refined.residual
            solutions[idx] = x
            accuracy[idx] = acc
            residual[idx] = res
            with np.errstate(all="ignore"):
                condition[idx] = np.linalg.cond(problem.hessian(x))
            singular = (winding[idx] > 1) | ~(condition[idx] < SINGULAR_CONDITION)
            # a nonsingular endpoint must be a Newton fixed point; one that is not was never a
            # critical point (an ill-conditioned false convergence) and the path has failed
            converged = acc <= NEWTON_ACCURACY
            code[idx] = np.where(
                singular, ReturnCode.SINGULAR, np.where(converged, ReturnCode.SUCCESS, ReturnCode.FAILED)
            )
            solutions[idx[~singular & ~converged]] = np.nan
        results = PathResults(
            solutions=solutions,
            return_code=code,
            residual=residual,
            condition=condition,
            winding_number=winding,
            steps=state.steps,
            accuracy=accuracy,
        )
        return results, stalled_at_infinity


def resolve_start(options: SolverOptions, problem: Problem) -> str:
    """solver.start with `auto` resolved (rule and measurements: benchmarks/README.md).

    Monodromy needs a generic family: generalised regularisation (Λ = 0 or scalar L2 leave
    positive-dimensional critical sets, where the linear-product homotopies still end on them).
    """
    start = options.start
    generic = problem.regularization == "generalized"
    if start == "monodromy" and not generic:
        raise ConfigError(
            options.source,
            "solver.start",
            "monodromy needs regularization.kind: generalized (with none or l2 the critical points "
            "are not isolated); use start: multihomogeneous",
        )
    if start == "auto":
        return "monodromy" if generic and problem.n > 4 else "multihomogeneous"
    return start


def _set_threads(requested: int) -> int:
    """Threads for the compiled kernel (solver.threads), capped at what numba has."""
    from .kernel import HAVE_NUMBA

    if not HAVE_NUMBA:
        return 1
    import numba

    threads = max(1, min(requested, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    return threads


def _duplicate_successes(results: PathResults) -> np.ndarray:
    """Paths whose nonsingular endpoint another path also reached (suspected path jumps)."""
    ok = np.flatnonzero(results.is_success())
    if ok.size < 2:
        return np.zeros(0, dtype=np.int64)
    labels = cluster_labels(results.solutions[ok], DUPLICATE_TOL)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return ok[counts[inverse] > 1]


def _replace_rows(results: PathResults, rows: np.ndarray, new: PathResults) -> PathResults:
    out = results.take(np.arange(len(results)))
    for name in PathResults.__dataclass_fields__:
        target = getattr(out, name)
        if target is not None and getattr(new, name) is not None:
            target[rows] = getattr(new, name)
    return out
