"""One solve, end to end: config → problem → engine → analysis → summary.

Data flow is one way (STYLE.md): the engine sees the problem and solver options, analysis sees
path results and the problem, the summary sees the analysis.  Writing files and printing belong
to report.py and cli.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analysis.bounds import bounds
from .analysis.certify import certify_points
from .analysis.classify import CriticalPoints, analyse, verdict
from .analysis.theory import theory_summary
from .engines.base import Engine, SolveResult
from .engines.select import select_engine
from .model.config import Config
from .model.options import SolverOptions
from .model.problem import Problem
from .version import __version__


@dataclass
class Run:
    """Everything one solve produced."""

    config: Config
    problem: Problem
    result: SolveResult
    points: CriticalPoints
    summary: dict[str, Any]


def solve(config: Config, progress: Any = None, engine: Engine | None = None) -> Run:
    """Solve the config's gradient system, classify its critical points and, with
    `solver.verify`, cross-check the counts with msolve."""
    began = time.perf_counter()
    problem = Problem.from_config(config)
    method = config.solver.verify
    if method != "none":
        from .exact.msolve import find_msolve

        find_msolve()  # fail fast (exit 3, one line) before a long solve when msolve is missing
    if engine is None:
        engine, reason = select_engine(config.solver)
    else:
        reason = "given by the caller"
    result = engine.solve(problem, resolve_trusted_count(problem, config.solver, engine), progress)
    points = analyse(problem, result.paths)
    summary = summarize(config, problem, result, points, reason, time.perf_counter() - began)
    summary.update(certify_points(config, points))  # solver.certify: auto | true | false
    if method != "none":
        summary["verification"] = verification(config, points, method)
        if summary["verification"]["status"] == "agrees":
            # the exact degree settles completeness even if some paths failed on the way
            summary["complete"] = not summary["singular_solutions"]
            if summary["warnings"]:
                summary["warnings"].append("msolve's exact count agrees: no critical point is missing")
        else:
            summary["complete"] = False
            summary["warnings"].append(f"verification: {summary['verification']['message']}")
    return Run(config=config, problem=problem, result=result, points=points, summary=summary)


def resolve_trusted_count(problem: Problem, options: SolverOptions, engine: Engine) -> SolverOptions:
    """`solver.trusted_count: msolve` → msolve's exact degree, computed now, for the engine that
    stops at a count (native monodromy); engines take numbers and never run msolve themselves.
    Other engines ignore the count, so nobody waits for msolve on their behalf."""
    if options.trusted_count != "msolve":
        return options
    from .engines.native.engine import NativeEngine, resolve_start

    if not (isinstance(engine, NativeEngine) and resolve_start(options, problem) == "monodromy"):
        return options
    from .exact.verify import consensus_degree

    degree, primes, _, _ = consensus_degree(
        problem.exact_system(),
        seed=int(options.seed),
        deadline=time.perf_counter() + float(options.verify_timeout),
        threads=int(options.threads),
        min_primes=2,
    )
    source = f"msolve degree (primes {', '.join(map(str, primes))})"
    return options.replace(trusted_count=degree, trusted_count_source=source)


def verification(config: Config, points: CriticalPoints, method: str) -> dict[str, Any]:
    """msolve's exact answer beside the numerical one; a failure keeps the numerical results."""
    from .exact.msolve import MsolveError, PositiveDimensionalError
    from .exact.verify import verify
    from .model.sparse import gradient_system

    try:
        return verify(
            gradient_system(config, exact=True),
            points.solutions,
            np.where(points.singular, points.multiplicity, 1),  # nonsingular: 1 even after path jumps
            points.is_real,
            method,
            config.solver.verify_timeout,
            config.solver.seed,
            threads=config.solver.threads,
        )
    except (MsolveError, PositiveDimensionalError) as error:
        return {"method": method, "status": "error", "agrees": None, "message": str(error)}


def summarize(
    config: Config,
    problem: Problem,
    result: SolveResult,
    points: CriticalPoints,
    reason: str,
    seconds: float,
) -> dict[str, Any]:
    """The contents of summary.json (plain JSON types only)."""
    complete, warnings = verdict(result.paths, points)
    the_bounds = bounds(problem, config.samples)
    k = len(points)
    if k > the_bounds["multihomogeneous"]:
        warnings.append("more distinct solutions than the multihomogeneous Bézout bound: a bug")
        complete = False
    mono = result.monodromy
    if mono is not None:
        trusted = mono.trusted_count
        if trusted is not None and not mono.reached_trusted_count:
            warnings.append(f"monodromy stopped at {mono.base_solutions} of the trusted count {trusted}")
            complete = False
        if k < mono.base_solutions:
            warnings.append(f"{mono.base_solutions - k} of the {mono.base_solutions} base solutions were lost")
            complete = False
    bkk = the_bounds.get("bkk", {})
    if bkk.get("status") == "computed" and k > bkk["affine"]:
        warnings.append("more distinct solutions than the BKK bound (mixed volume with the origin): a bug")
        complete = False
    real = points.is_real
    orbit_ids = np.unique(points.orbit) if k else np.zeros(0)
    global_loss = points.loss[points.cls == "global_minimum"].real
    exact_degree = result.exact_degree
    return {
        "name": config.name,
        "version": __version__,
        "complex_solutions": int(exact_degree) if exact_degree is not None else k,
        "nonsingular_solutions": int(np.sum(~points.singular)),
        "singular_solutions": int(np.sum(points.singular)),
        "real_solutions": int(np.sum(real)),
        "complete": bool(complete),
        "warnings": warnings,
        "paths": result.paths.counts(),
        "bounds": the_bounds,
        "classes": points.class_counts(),
        "global_minimum_loss": float(global_loss.min()) if global_loss.size else None,
        "orbits": {
            "count": int(orbit_ids.size),
            "real": int(np.unique(points.orbit[real]).size),
            "missing_images": int(points.orbit_missing),
            "group": "hidden-neuron sign flips" if not any(problem.residual_layers) else "none (residual)",
        },
        "checks": {
            "max_residual": float(np.max(points.residual)) if k else None,
            "origin_found": bool(k and np.any(np.abs(points.solutions).max(axis=1) < 1e-10)),
            "real_parity_ok": bool((np.sum(real) - k) % 2 == 0) if not np.any(points.singular) else None,
            "within_bounds": bool(k <= the_bounds["multihomogeneous"]),
            "within_bkk": bool(k <= bkk["affine"]) if bkk.get("status") == "computed" else None,
        },
        "backend": {
            "engine": result.engine,
            "reason": reason,
            "start_system": result.start_system,
            **result.backend_info(),
        },
        "seed": result.seed,
        "seconds": round(seconds, 3),
        "peak_memory_mib": _peak_memory_mib(),
        "solve_seconds": round(result.seconds, 3),
        "unknowns": problem.n,
        "equations": problem.n,
        "theory": theory_summary(problem, points, config.regularization),
        "config": config.resolved(),
    }


def _peak_memory_mib() -> float | None:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)
    except (ImportError, OSError):  # pragma: no cover - not on every platform
        return None
