"""The `julia` engine: HomotopyContinuation.jl through juliacall, as the common `PathResults`.

julia/DLNLandscape.jl flattens HC.jl's `PathResult`s into arrays — one column per path, return
codes as indices into the names HC.jl used — and `path_results_from_hc` turns those into the
`PathResults` every engine returns, in NumPy, with no loop over paths, and testable without
Julia.  So analysis and reports never learn which engine ran.

The structured system (weights as variables, X, Y, C as parameters) is solved once at random
complex parameters per network structure and moved to each real instance by a parameter
homotopy; `solve_instances` sends many instances through one generic solve.  The origin is a
critical point of every instance with a hidden layer, and HC.jl's parameter homotopies lose
paths that stay at it (HC.jl #647), so `ensure_origin` checks it with `Problem.gradient`
whatever HC.jl reported, and adds it when missing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import ConfigError, DLNError
from ...model.options import SolverOptions
from ...model.problem import Problem
from ...model.sparse import SparseSystem
from ..base import PathResults, Progress, ReturnCode, SolveResult
from ..control import RunControl
from ..stats import JuliaStats
from . import runtime as julia_runtime

# solver.start → the start the Julia module runs (auto means polyhedral on julia)
STARTS = {
    "auto": "polyhedral",
    "polyhedral": "polyhedral",
    "total_degree": "total_degree",
    "multihomogeneous": "multihomogeneous",
    "monodromy": "monodromy",
}
SYSTEMS = ("structured", "sparse")
ORIGIN_TOL = 1e-8  # an endpoint this close to 0 (∞-norm) is the origin
TRACE_TOL = 1e-10  # HC.jl verify_solution_completeness: largest relative trace (the native test's tolerance)
SINGULAR_CONDITION = 1e12  # condition number above which the origin counts as singular
_HC_CODES = {
    "success": ReturnCode.SUCCESS,
    "at_infinity": ReturnCode.AT_INFINITY,
    "at_zero": ReturnCode.AT_INFINITY,  # HC.jl's is_at_infinity counts :at_zero too
}  # every other HC.jl code (terminated_*, excess_solution, ...) is FAILED


def path_results_from_hc(hc: Mapping[str, Any]) -> PathResults:
    """HC.jl-shaped arrays → `PathResults`: `solutions` is (n, paths) as Julia returns it,
    `code` indexes `code_names`; a success flagged singular becomes SINGULAR, an endpoint at
    infinity a NaN row, and a winding number HC.jl did not compute (0) becomes 1."""
    names = [str(name) for name in hc["code_names"]]
    lookup = np.array([int(_HC_CODES.get(name, ReturnCode.FAILED)) for name in names], dtype=np.int8)
    code = lookup[np.asarray(hc["code"], dtype=np.intp)]
    singular = np.asarray(hc["singular"], dtype=bool)
    code = np.where((code == ReturnCode.SUCCESS) & singular, np.int8(ReturnCode.SINGULAR), code)
    points = np.asarray(hc["solutions"], dtype=complex)
    solutions = np.array(points.T, dtype=complex, order="C")
    solutions[code == ReturnCode.AT_INFINITY] = np.nan
    winding = np.asarray(hc["winding_number"], dtype=np.int64)
    certified = hc.get("certified")
    return PathResults(
        solutions=solutions,
        return_code=code.astype(np.int8),
        residual=np.asarray(hc["residual"], dtype=float),
        condition=np.asarray(hc["condition"], dtype=float),
        winding_number=np.where(winding > 0, winding, 1),
        steps=np.asarray(hc["steps"], dtype=np.int64),
        accuracy=np.asarray(hc["accuracy"], dtype=float),
        certified=None if certified is None else np.asarray(certified, dtype=bool),
    )


def hc_summary(hc: Mapping[str, Any]) -> dict[str, Any]:
    """What the mapping drops, for JuliaStats: HC.jl's own return codes, real and certified counts."""
    names = [str(name) for name in hc["code_names"]]
    counts = np.bincount(np.asarray(hc["code"], dtype=np.intp), minlength=len(names))
    summary: dict[str, Any] = {
        "return_codes": {name: int(count) for name, count in zip(names, counts, strict=False)},
        "real": int(np.sum(np.asarray(hc["real"], dtype=bool))),
        "max_multiplicity": int(np.max(hc["multiplicity"], initial=1)),
    }
    if hc.get("certified") is not None:
        summary["certified"] = int(np.sum(np.asarray(hc["certified"], dtype=bool)))
        summary["certified_real"] = int(np.sum(np.asarray(hc["certified_real"], dtype=bool)))
    return summary


def ensure_origin(paths: PathResults, problem: Problem, tol: float = ORIGIN_TOL) -> tuple[PathResults, dict]:
    """Add the origin when ∇L(0) = 0 and no finite endpoint is there.  It is a root of every
    instance with a hidden layer (∇L has no constant term), yet paths that stay at it are lost
    by HC.jl's parameter homotopies (issue #647), so it is never left to the tracker."""
    zero = np.zeros((1, problem.n))
    residual = float(np.max(np.abs(problem.gradient(zero)), initial=0.0))
    if residual > tol:
        return paths, {"status": "not a critical point", "residual": residual}
    finite = paths.is_success() | paths.is_singular()
    norms = np.max(np.abs(np.where(finite[:, None], paths.solutions, np.inf)), axis=1, initial=0.0)
    found = int(np.sum(finite & (norms <= tol)))
    if found:
        return paths, {"status": "found", "paths": found, "residual": residual}
    condition = float(np.linalg.cond(problem.hessian(zero)[0])) if problem.n else 1.0
    nonsingular = bool(np.isfinite(condition) and condition < SINGULAR_CONDITION)
    origin = PathResults(
        solutions=np.zeros((1, problem.n), dtype=complex),
        return_code=np.array([ReturnCode.SUCCESS if nonsingular else ReturnCode.SINGULAR], dtype=np.int8),
        residual=np.array([residual]),
        condition=np.array([condition]),
        winding_number=np.ones(1, dtype=np.int64),
        steps=np.zeros(1, dtype=np.int64),
        accuracy=None if paths.accuracy is None else np.zeros(1),
        certified=None if paths.certified is None else np.array([residual == 0.0]),
    )
    info = {"status": "added", "residual": residual, "condition": condition, "reason": "HC.jl issue #647"}
    return PathResults.concatenate([paths, origin]), info


def sparse_export(system: SparseSystem) -> dict[str, np.ndarray]:
    """The sparse system as the Julia module reads it: all terms stacked, equation k owning
    rows offsets[k]:offsets[k+1]; float coefficients unless one is complex."""
    groups = [np.asarray(g, dtype=np.int64) for g in system.groups]
    if not np.array_equal(np.concatenate(groups) if groups else [], np.arange(system.n)):
        raise ValueError("variable groups must be consecutive blocks covering every variable")
    exponents = np.concatenate([eq.exponents for eq in system.equations]).astype(np.int64)
    coefficients = np.concatenate([np.asarray(eq.coefficients, dtype=complex) for eq in system.equations])
    if not np.any(coefficients.imag):
        coefficients = coefficients.real.copy()
    terms = [len(eq.exponents) for eq in system.equations]
    return {
        "exponents": np.ascontiguousarray(exponents.reshape(-1, system.n)),
        "coefficients": coefficients,
        "offsets": np.concatenate([[0], np.cumsum(terms)]).astype(np.int64),
        "group_sizes": np.array([len(g) for g in groups], dtype=np.int64),
    }


def resolve_start(options: SolverOptions, system: str = "structured") -> str:
    """The start system for solver.start; a choice this engine does not implement is an error,
    never silently replaced."""
    requested = options.start
    start = STARTS.get(requested)
    if start is None or (system == "sparse" and start == "monodromy"):
        choices = [s for s in STARTS if system == "structured" or s != "monodromy"]
        raise ConfigError(
            options.source,
            "solver.start",
            f"{requested!r} is not implemented by the julia engine ({system} system); choose one of "
            + ", ".join(choices),
        )
    return start


def to_python(value: Any) -> Any:
    """juliacall values → plain Python: dicts, lists, NumPy arrays (copied out of Julia)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "items"):
        return {str(key): to_python(item) for key, item in value.items()}
    array = np.array(value)
    return [to_python(item) for item in array] if array.dtype == object else array


class JuliaEngine:
    """HomotopyContinuation.jl.  `system="structured"` (default) builds ∇L symbolically with the
    data as parameters; `system="sparse"` sends the expanded exact gradient system instead."""

    name = "julia"

    def __init__(self, system: str = "structured") -> None:
        if system not in SYSTEMS:
            raise ValueError(f"system must be one of {', '.join(SYSTEMS)}, got {system!r}")
        self.system = system

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult:
        """All critical points of one instance (HC.jl shows no progress; `progress` is unused)."""
        return self.solve_instances([problem], options)[0]

    def solve_instances(self, problems: Sequence[Problem], options: SolverOptions) -> list[SolveResult]:
        """Many instances of one structure through one cached generic solve."""
        # the Julia module's structured ∇L is the square loss's; other losses go as sparse systems
        system_kind = self.system if all(p.data_loss.square for p in problems) else "sparse"
        start = resolve_start(options, system_kind)
        seed, threads, certify = options.seed, options.threads, options.certify is True
        first = problems[0]
        structure = (first.widths, first.residual, first.scale, first.X.shape)
        if any((p.widths, p.residual, p.scale, p.X.shape) != structure for p in problems):
            raise ValueError("solve_instances needs problems of one structure (widths, residual, samples)")
        if system_kind == "sparse" and len(problems) != 1:
            raise ValueError("the sparse system solves one instance at a time")
        clock = time.perf_counter()
        module = julia_runtime.start(threads)
        startup, clock = time.perf_counter() - clock, time.perf_counter()
        keywords: dict[str, Any] = {"start": start, "seed": seed, "certification": certify}
        if system_kind == "structured":
            # monodromy: HC.jl's trace test on every pattern, and its target count when one is known
            trusted = options.trusted_count if isinstance(options.trusted_count, int) else None
            keywords.update(trusted_count=trusted, verify=True, trace_tol=TRACE_TOL)
            X = np.ascontiguousarray(np.stack([p.X for p in problems]), dtype=float)
            Y = np.ascontiguousarray(np.stack([p.Y for p in problems]), dtype=float)
            C = np.stack([np.concatenate([c.ravel() for c in p.penalty]) for p in problems]).astype(float)
            args = (
                np.asarray(first.widths, dtype=np.int64),
                float(first.scale),
                bool(first.residual),
                X,
                Y,
                C,
            )
            raw = _call(module.solve_network, *args, **keywords)
        else:
            export = sparse_export(first.sparse_system())
            keys = ("exponents", "coefficients", "offsets", "group_sizes")
            raw = _call(module.solve_sparse, *(export[k] for k in keys), **keywords)
        seconds = time.perf_counter() - clock
        out = to_python(raw)
        info = out["info"]
        results = []
        for problem, hc in zip(problems, out["instances"], strict=True):
            paths, origin = ensure_origin(path_results_from_hc(hc), problem)
            hc_counts = hc_summary(hc)
            stats = JuliaStats(
                julia_version=info["julia"],
                hc_version=info["homotopycontinuation"],
                threads_requested=threads,
                threads_julia=info["threads"],
                system=system_kind,
                method=_method(system_kind, start),
                generic=info.get("generic"),
                generic_cached=info.get("cached"),
                origin=origin,
                julia_seconds=info["seconds"],
                startup_seconds=startup,
                instances_in_call=len(problems),
                return_codes=hc_counts["return_codes"],
                real=hc_counts["real"],
                max_multiplicity=hc_counts["max_multiplicity"],
                certified=hc_counts.get("certified"),
                certified_real=hc_counts.get("certified_real"),
            )
            results.append(SolveResult(paths, self.name, start, seed, seconds / len(problems), stats))
        return results


def _method(system: str, start: str) -> str:
    if system == "sparse":
        return f"{start} start system on the expanded gradient system"
    return f"{start} solve at random complex (X, Y, C), cached per structure, then a parameter homotopy"


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call into Julia; a Julia error becomes one line, not a traceback."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # juliacall.JuliaError, conversion errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DLNError(f"julia backend: HomotopyContinuation.jl failed: {first}") from None
