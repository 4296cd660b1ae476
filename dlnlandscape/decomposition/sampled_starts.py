"""An engine for the initial solve that tracks only a random sample of the start paths.

The decomposition needs seeds that touch every component, not every endpoint: (3,2,3), m = 4,
has 127,905 multihomogeneous start paths and 998 finite endpoints, with 32 or more on every
positive-dimensional component, and 20,000 random paths found the same components in 3.1 min
instead of 13.5 (README, "Positive-dimensional critical sets").  The price is a risk — a component
with few endpoints may have none among the sample — which `decompose` reports in its notes
(from the `TrackingStats` it returns: `sampled_paths` of `start_solutions`).  The origin, one
path, is added by `decompose_points` anyway.

This is the native engine's linear-product homotopy (config's `solver.start`, `auto` meaning
multihomogeneous here) and its `track_all` (tracking, endgames, re-tracking of suspected path
jumps) on a sorted random subset of the start solutions; nothing else of the native solve
(no sign-flip completion of the endpoints, no chunking).  It answers the engine protocol of
`engines.base`, so the pipeline runs it like any engine.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..engines.base import Progress, SolveResult
from ..engines.control import RunControl
from ..engines.native.engine import NativeEngine, build_homotopy, resolve_start
from ..errors import ConfigError
from ..model.options import SolverOptions
from ..model.problem import Problem

SAMPLED_STARTS = ("multihomogeneous", "total_degree")  # linear-product start systems: start paths to sample


class SampledStartsEngine:
    """The native engine on `paths` randomly chosen start paths (all of them if there are fewer)."""

    name = "native"

    def __init__(self, paths: int, native: NativeEngine | None = None) -> None:
        self.paths = paths
        self.native = native or NativeEngine()

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult:
        from threadpoolctl import threadpool_limits  # one BLAS thread, as the native engine (see there)

        start = resolve_start(options, problem)
        if start not in SAMPLED_STARTS:
            raise ConfigError(
                options.source,
                "solver.start",
                f"sampling start paths needs a linear-product start system, not {start}; "
                f"use {' or '.join(SAMPLED_STARTS)}",
            )
        with threadpool_limits(limits=1, user_api="blas"):
            began = time.perf_counter()
            seed = int(options.seed)
            rng = np.random.default_rng(seed)
            homotopy = build_homotopy(problem, start, rng)
            y0 = homotopy.start_solutions()
            pick = np.sort(rng.choice(len(y0), size=min(self.paths, len(y0)), replace=False))
            if progress is not None:
                progress.start(len(pick))
            paths, stats = self.native.track_all(homotopy, y0[pick], progress.advance if progress else None)
            if progress is not None:
                progress.finish()
        return SolveResult(
            paths=paths,
            engine=self.name,
            start_system=f"{start} (random sample of the start solutions)",
            seed=seed,
            seconds=time.perf_counter() - began,
            stats=replace(stats, start_solutions=int(len(y0)), sampled_paths=int(len(pick))),
        )


__all__ = ["SAMPLED_STARTS", "SampledStartsEngine"]
