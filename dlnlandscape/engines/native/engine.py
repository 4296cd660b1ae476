"""The built-in engine: monodromy, or linear-product start systems tracked on projective space.

Which solve runs (`resolve_start`): monodromy (monodromy.py) for a generic family — generalised
regularisation — with more than four unknowns, else the γ-trick homotopy from a
multihomogeneous (or total-degree) linear-product start system.  The latter, one function each:
choose variable groups and a start system (start_systems.py, homotopies/projective.py) → track
every start solution from t = 1 towards t = 0 (tracker.py) → decide every endpoint
(endgame.py: Newton at t = 0, valuations, the Cauchy endgame, refinement on ∇L) → re-track
failed paths and paths that landed on the same nonsingular solution (a sign of path jumping)
with tighter tolerances → add the sign-flip images no path reached (orbits.py).  This module
only orchestrates; the numerics live in those files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ...common.points import SAME_POINT_TOL, cluster_labels
from ...errors import ConfigError
from ...model.options import SolverOptions
from ...model.problem import Problem
from ..base import PathResults, Progress, SolveResult
from ..control import RunControl, StopRequested
from ..stats import MonodromySolveStats, TrackingStats
from .endgame import NEWTON_ACCURACY, end_paths, refine
from .executors import executor_for, using, with_executor_record
from .homotopies.projective import ProjectiveHomotopy
from .orbits import complete_orbits
from .start_systems import LinearProductStart, VariableGroups, multihomogeneous_bezout
from .tracker import Steps, Tracker, TrackerOptions, make_steps

SUPPORTED_STARTS = ("auto", "multihomogeneous", "total_degree", "monodromy")
DUPLICATE_TOL = SAME_POINT_TOL
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


class NativeEngine:
    """Homotopy continuation vectorised over all paths (NumPy, with the tracker's steps compiled
    by numba when available); `options` are the tracker's, `kernel` is auto, numba or numpy."""

    name = "native"

    def __init__(self, options: TrackerOptions | None = None, kernel: str = "auto", trace_test: bool = True) -> None:
        self.options = options or TrackerOptions()
        self.kernel = kernel
        self.trace_test = trace_test  # monodromy patterns stop by the trace test (False: the heuristic)

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult:
        """Solve one problem, honouring `control` (a time limit, signals: engines/control.py); a
        monodromy solve also keeps a checkpoint there and can resume (checkpoint.py), a
        linear-product solve stops with the chunks of paths it finished."""
        # One BLAS thread: the engine's linear algebra is on tiny matrices, and OpenBLAS worker
        # threads spinning between calls steal the cores the compiled kernel's threads run on
        # (measured: (2,2,2,2) monodromy 16 s → 5.5 s on 2 cores).
        from threadpoolctl import threadpool_limits

        _announce_compile(progress)
        with threadpool_limits(limits=1, user_api="blas"), executor_for(options) as executor, using(executor):
            result = self._solve(problem, options, progress, control)
        return with_executor_record(result, executor)

    def _solve(
        self, problem: Problem, options: SolverOptions, progress: Progress | None, control: RunControl | None
    ) -> SolveResult:
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
            return self._solve_monodromy(problem, options, rng, seed, threads, began, progress, control=control)[0]
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
        # A stop request (time limit, SIGINT/SIGTERM) ends the solve between tracker steps; the
        # chunks finished by then are the partial result (a linear-product solve cannot resume).
        check = control.checker(reserve=False) if control is not None else None
        stopped = ""
        # memory stays bounded: the tracker's per-path state lives for one chunk at a time
        parts = []
        for first in range(0, len(y0), CHUNK_PATHS):
            chunk = y0[first : first + CHUNK_PATHS]
            try:
                parts.append(self.track_all(homotopy, chunk, progress.advance if progress else None, check=check))
            except StopRequested as stop:
                stopped = stop.reason
                break
        if progress is not None:
            progress.finish()
        if parts:
            paths = complete_orbits(problem, PathResults.concatenate([p for p, _ in parts]), refine, NEWTON_ACCURACY)
            stats = TrackingStats.merge([s for _, s in parts])
        else:
            paths, stats = PathResults.empty(problem.n), TrackingStats(kernel=make_steps(homotopy, self.kernel).name)
        stats = replace(
            stats,
            chunks=len(parts),
            added_by_symmetry=paths.counts()["added_by_symmetry"],
            start_solutions=int(len(y0)),
            tracked_paths=paths.counts()["tracked"] if stopped else None,
            threads=threads,
        )
        return SolveResult(
            paths=paths,
            engine=self.name,
            start_system="multihomogeneous" if start in ("auto", "multihomogeneous") else "total_degree",
            seed=seed,
            seconds=time.perf_counter() - began,
            stats=stats,
            stopped_early=stopped or None,
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
        control: RunControl | None = None,
    ) -> list[SolveResult]:
        from .checkpoint import Checkpointer, fingerprint
        from .monodromy import Component, MonodromyOptions, solve_by_monodromy

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
        monodromy_options = MonodromyOptions(
            loops_without_progress=int(options.loops_without_progress), trace_test=self.trace_test
        )
        keeper = None
        if control is not None and control.checkpoint_dir is not None and instances is None:
            keeper = Checkpointer(
                control.checkpoint_dir,
                control.checkpoint_origin,
                fingerprint(problem, options, self.options, monodromy_options, self.kernel),
                Component,
                control.checkpoint_every,
            )
        results, monodromy = solve_by_monodromy(
            problem,
            rng,
            self.options,
            monodromy_options,
            trusted_count=trusted,
            kernel=self.kernel,
            refine=refine,
            accuracy_limit=NEWTON_ACCURACY,
            progress=progress,
            instances=instances,
            control=control,
            keeper=keeper,
            reuse=options.reuse,
            seed=seed,
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
                stopped_early=monodromy.stopped_early,
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
        _announce_compile(progress)
        with threadpool_limits(limits=1, user_api="blas"), executor_for(options) as executor, using(executor):
            threads = _set_threads(int(options.threads))
            began = time.perf_counter()
            rng = np.random.default_rng(seed)
            results = self._solve_monodromy(problems[0], options, rng, seed, threads, began, progress, problems)
        return [with_executor_record(result, executor) for result in results]

    def track_all(
        self,
        homotopy: ProjectiveHomotopy,
        y0: np.ndarray,
        progress: Callable[[int], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> tuple[PathResults, TrackingStats]:
        """Track all start solutions, then re-track failed paths and suspected path jumps with
        tighter tolerances (twice at most).  `check` may raise StopRequested between steps."""
        steps = make_steps(homotopy, self.kernel)
        results, stalled = self._track(homotopy, y0, self.options, progress, steps, check)
        retracked, rounds = 0, 0
        options = self.options
        for _ in range(2):
            suspects = np.union1d(_duplicate_successes(results), np.flatnonzero(results.is_failed()))
            if suspects.size == 0:
                break
            options = options.tighter()
            again, again_stalled = self._track(homotopy, y0[suspects], options, None, steps, check)
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
        steps: Steps,
        check: Callable[[], None] | None = None,
    ) -> tuple[PathResults, np.ndarray]:
        """Track from t = 1 to t_min with the endgame checks, then decide every endpoint
        (endgame.py); also returns which paths were declared at infinity after stalling."""
        tracker = Tracker(homotopy, options, steps)
        N = y0.shape[0]
        s_end = np.full(N, np.log(options.t_min), dtype=complex)
        state = tracker.track(y0, np.zeros(N, dtype=complex), s_end, endgame=True, progress=progress, check=check)
        ended = end_paths(tracker, homotopy, state, options)
        return ended.paths, ended.stalled_at_infinity


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


def _announce_compile(progress: Progress | None) -> None:
    """Tell the person waiting when this solve compiles the kernels first (`first_run_notice`):
    a newcomer's first solve otherwise sits silent through ~30 s of compiling.  A caller's own
    progress object written before `Progress.notice` existed (the Python API takes any) is
    simply not told."""
    say = getattr(progress, "notice", None)
    if say is not None:
        from ...common.caches import first_run_notice

        notice = first_run_notice()
        if notice:
            say(notice)


def _set_threads(requested: int) -> int:
    """Threads for the compiled kernel (solver.threads), capped at what numba has."""
    from .kernel import HAVE_NUMBA, set_threads

    return set_threads(requested) if HAVE_NUMBA else 1


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
