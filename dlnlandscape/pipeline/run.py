"""One solve, end to end: config → problem → engine → analysis → certification, verification →
verdict → summary.

Data flows one way (STYLE.md): the engine sees the problem and the solver options; analysis sees
the path results and the problem; certification and verification see the classified points;
the verdict and the summary see all of those values.  Every solve — a single one, each instance
of `data.instances`, the initial solve of a decomposition — goes through `finish`, so counts,
classes and completeness mean the same everywhere.  Writing files and printing belong to
reports/ and cli.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..analysis.bounds import bounds
from ..analysis.certify import CertificationOutcome, certify_points
from ..analysis.classify import analyse
from ..analysis.points import CriticalPoints
from ..engines.base import Engine, SolveResult
from ..engines.control import RunControl
from ..engines.select import select_engine
from ..exact.verify import Verification
from ..model.config import Config
from ..model.options import SolverOptions
from ..model.problem import Problem
from .summary import build_summary
from .timings import Timings
from .verdict import Verdict, decide


@dataclass(frozen=True)
class Run:
    """Everything one solve produced, as values; `summary` is summary.json."""

    config: Config
    problem: Problem
    result: SolveResult
    points: CriticalPoints
    certification: CertificationOutcome | None
    verification: Verification | None
    verdict: Verdict
    summary: dict[str, Any]


def solve(
    config: Config,
    progress: Any = None,
    engine: Engine | None = None,
    began: float | None = None,
    control: RunControl | None = None,
) -> Run:
    """Solve the config's gradient system, classify its critical points, certify them
    (`solver.certify`) and, with `solver.verify`, cross-check the counts with msolve.  `began`:
    the command's entry (time.perf_counter()), so `seconds` counts the whole command.

    `control` (engines/control.py: checkpoint directory, resume, signals) is handed to the
    engine; `solver.time_limit` fills in its time limit.  An engine that stops early returns a
    partial result, which goes through the same analysis and verdict — marked incomplete with
    the reason — but is not verified with msolve (the user asked to stop)."""
    if config.solver.time_limit is not None:
        control = control or RunControl()
        if control.time_limit is None:
            control.time_limit = float(config.solver.time_limit)
    clock = Timings(began)
    clock.lap("parse")
    problem = Problem.from_config(config)
    if config.solver.verify != "none":
        from ..exact.msolve import find_msolve

        find_msolve()  # fail fast (exit 3, one line) before a long solve when msolve is missing
    if engine is None:
        engine, reason = select_engine(config.solver)
    else:
        reason = "given by the caller"
    result = engine.solve(problem, resolve_trusted_count(problem, config.solver, engine), progress, control)
    clock.lap("solve")
    return finish(config, problem, result, reason, clock)


def finish(config: Config, problem: Problem, result: SolveResult, reason: str, began: float | Timings) -> Run:
    """An engine's paths → classified points → certification → verification → verdict → summary."""
    clock = began if isinstance(began, Timings) else Timings(began)
    points = analyse(problem, result.paths)
    clock.lap("analysis")
    certification = certify_points(problem, config.solver.certify, points)
    if certification is not None and certification.certified is not None:
        points = replace(points, certified=certification.certified)
    clock.lap("certification")
    verify = config.solver.verify != "none" and not result.stopped_early
    verification = verify_points(problem, config.solver, points) if verify else None
    clock.lap("verification")
    the_bounds = bounds(problem, config.samples)
    clock.lap("bounds")
    verdict = decide(result, points, the_bounds, verification)
    summary = build_summary(
        config,
        problem,
        result,
        points,
        the_bounds,
        verdict,
        certification,
        verification,
        reason,
        clock.total(),
        timings=clock.as_dict(),
    )
    return Run(config, problem, result, points, certification, verification, verdict, summary)


def resolve_trusted_count(problem: Problem, options: SolverOptions, engine: Engine) -> SolverOptions:
    """`solver.trusted_count: msolve` → msolve's exact degree, computed now, for the engines
    that stop at a count (native and julia monodromy); engines take numbers and never run msolve
    themselves.  Other solves ignore the count, so nobody waits for msolve on their behalf."""
    if options.trusted_count != "msolve":
        return options
    from ..engines.julia.engine import JuliaEngine
    from ..engines.julia.engine import resolve_start as julia_start
    from ..engines.native.engine import NativeEngine, resolve_start

    native = isinstance(engine, NativeEngine) and resolve_start(options, problem) == "monodromy"
    julia = isinstance(engine, JuliaEngine) and engine.system == "structured" and julia_start(options) == "monodromy"
    if not (native or julia):
        return options
    from ..exact.verify import consensus_degree

    degree, primes, _, _ = consensus_degree(
        problem.exact_system(),
        seed=int(options.seed),
        deadline=time.perf_counter() + float(options.verify_timeout),
        threads=int(options.threads),
        min_primes=2,
    )
    source = f"msolve degree (primes {', '.join(map(str, primes))})"
    return options.replace(trusted_count=degree, trusted_count_source=source)


def verify_points(problem: Problem, options: SolverOptions, points: CriticalPoints) -> Verification:
    """msolve's exact answer beside the numerical one; a failure keeps the numerical results."""
    from ..exact.msolve import MsolveError, PositiveDimensionalError
    from ..exact.verify import verify

    try:
        return verify(
            problem.exact_system(),
            points.solutions,
            np.where(points.singular, points.multiplicity, 1),  # nonsingular: 1 even after path jumps
            points.is_real,
            options.verify,
            options.verify_timeout,
            options.seed,
            threads=options.threads,
        )
    except (MsolveError, PositiveDimensionalError) as error:
        return Verification.failed(options.verify, str(error))
