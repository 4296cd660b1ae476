"""Whether a count is complete, decided in one place.

A homotopy solve can lose solutions without noticing, so completeness is never assumed: it is
the conjunction of everything that could have gone wrong — failed paths, endpoints on a
positive-dimensional set, sign-flip images that no path reached, two paths on one nonsingular
point (path jumping), more points than a bound allows (a bug), a monodromy run that stopped
short of a trusted count or lost base solutions on the way to the target, a partial result (a
time limit or a signal stopped the engine: `partial_reason`).  An exact count from
msolve overrides the numerical evidence both ways: agreement settles completeness even if some
paths failed; disagreement (or no answer) is never read as completeness.

What a `complete: true` rests on is decided here too (`Completeness`): msolve's degree, the
trace test on every neuron pattern of a monodromy solve (engines/native/trace_test.py; for the
julia engine HC.jl's verify_solution_completeness), a
trusted count, every start path of a linear-product homotopy accounted for — or only the
monodromy heuristic ("no news for several rounds"), which is said wherever the verdict is shown.
A trace test that was evaluated and failed is evidence that points are missing: incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.points import CriticalPoints
from ..engines.base import PathResults, SolveResult
from ..engines.stats import PATTERN_COMPLETENESS, JuliaStats, MonodromyStats, TrackingStats
from ..exact.verify import Verification, VerificationStatus

COMPLETENESS_METHODS = {
    "exact_degree": "msolve's exact degree agrees with the count",
    "trace_test": "the trace test passed on every neuron pattern of the monodromy solve",
    "trusted_count": "monodromy reached the trusted count",
    "all_paths": "every start path of the homotopy was accounted for",
    "heuristic": "monodromy stopped after rounds without new solutions: a heuristic, not a proof",
    "none": "not complete",
}


@dataclass(frozen=True)
class PatternCompleteness:
    """How one neuron pattern's monodromy stop is justified (from engines.stats.PatternStats)."""

    active_coordinates: int
    solutions: int
    method: str  # a key of engines.stats.PATTERN_COMPLETENESS
    trace_deviation: float | None  # the last trace test's relative deviation from linearity
    trace_tolerance: float | None
    witnesses: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "active_coordinates": self.active_coordinates,
            "solutions": self.solutions,
            "method": self.method,
            "trace_deviation": self.trace_deviation,
            "trace_tolerance": self.trace_tolerance,
            "witnesses": self.witnesses,
        }


@dataclass(frozen=True)
class Completeness:
    """What `complete` rests on: summary.json's `completeness` block."""

    method: str  # a key of COMPLETENESS_METHODS
    patterns: tuple[PatternCompleteness, ...] = ()  # monodromy solves only
    # the earlier run whose proven set a monodromy solve started from (MonodromyStats.reused):
    # the patterns' proof was made there, this run only carried the set to the target
    reused: dict[str, Any] | None = None

    @property
    def heuristic_patterns(self) -> int:
        return sum(1 for p in self.patterns if p.method == "heuristic")

    @property
    def max_trace_deviation(self) -> float | None:
        values = [p.trace_deviation for p in self.patterns if p.trace_deviation is not None]
        return max(values) if values else None

    def describe(self) -> str:
        """One line: the method and, for a monodromy solve, how its patterns stopped."""
        text = COMPLETENESS_METHODS[self.method]
        if self.patterns:
            counts: dict[str, int] = {}
            for p in self.patterns:
                counts[p.method] = counts.get(p.method, 0) + 1
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + " pattern(s)"
            worst = self.max_trace_deviation
            if worst is not None:
                tol = max(p.trace_tolerance or 0.0 for p in self.patterns)
                text += f"; largest trace deviation {worst:.1e}, tolerance {tol:.0e}"
            text += ")"
        if self.reused is not None:
            text += (
                f"; proven by an earlier run (solver seed {self.reused.get('solver_seed')}, "
                f"{self.reused.get('written')}) and reused: this run tracked the final homotopy only"
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "description": self.describe(),
            "max_trace_deviation": self.max_trace_deviation,
            "patterns": [p.as_dict() for p in self.patterns],
            "reused": self.reused,
        }


@dataclass(frozen=True)
class Verdict:
    """`complete`, and every reason it is not (or notes beside a completeness msolve settled):
    summary.json's `complete` and `warnings`; `completeness` says what `complete` rests on."""

    complete: bool
    reasons: tuple[str, ...] = ()
    # what `complete` rests on; left out of ==, which compares the verdict itself
    completeness: Completeness = field(default=Completeness("none"), compare=False)


def pattern_completeness(mono: MonodromyStats) -> tuple[PatternCompleteness, ...]:
    """Each neuron pattern's justification, from the engine's typed statistics."""
    out = []
    for p in mono.per_pattern:
        method = p.completeness if p.completeness in PATTERN_COMPLETENESS else "none"  # "": stopped early
        out.append(
            PatternCompleteness(
                active_coordinates=p.active_coordinates,
                solutions=p.solutions,
                method=method,
                trace_deviation=p.trace_deviation,
                trace_tolerance=p.trace_tolerance,
                witnesses=p.witnesses,
            )
        )
    return tuple(out)


def julia_pattern_completeness(stats: JuliaStats) -> tuple[PatternCompleteness, ...]:
    """Each pattern of the julia engine's monodromy solve: proven when HC.jl's
    verify_solution_completeness passed, else the monodromy heuristic (HC.jl returns only a
    yes or no, so no deviation is known)."""
    tolerance = (stats.generic or {}).get("trace_tol")
    return tuple(
        PatternCompleteness(
            active_coordinates=int(run.get("active_coordinates", -1)),
            solutions=int(run.get("solutions", 0)),
            method="trace_test" if run.get("trace_test") == "passed" else "heuristic",
            trace_deviation=None,
            trace_tolerance=None if tolerance is None else float(tolerance),
            witnesses=None,
        )
        for run in stats.monodromy_runs()
    )


def julia_reasons(stats: JuliaStats, count: int) -> list[str]:
    """What the julia engine's monodromy says against completeness: a failed trace test, a
    total short of the trusted count."""
    runs = stats.monodromy_runs()
    reasons = []
    failed = sum(1 for run in runs if run.get("trace_test") == "failed")
    if failed:
        reasons.append(
            f"HC.jl's trace test (verify_solution_completeness) failed on {failed} neuron pattern(s): "
            "critical points are missing"
        )
    trusted = stats.trusted_count
    if runs and trusted is not None and count != trusted:
        reasons.append(f"HC.jl's monodromy found {count} of the trusted count {trusted}")
    return reasons


def trace_failures(mono: MonodromyStats) -> list[str]:
    """Patterns whose trace test was evaluated and failed: points are missing (solutions or
    the test's witnesses) — never read as completeness."""
    failed = [
        p
        for p in mono.per_pattern
        if p.completeness == "heuristic"
        and p.trace_deviation is not None
        and p.trace_tolerance is not None
        and not p.trace_deviation <= p.trace_tolerance
    ]
    if not failed:
        return []
    worst = max(p.trace_deviation or 0.0 for p in failed)
    return [
        f"the trace test failed on {len(failed)} neuron pattern(s) (largest deviation {worst:.1e} > "
        f"{failed[0].trace_tolerance:.0e}): critical points (or the test's witnesses) are missing"
    ]


def completeness_method(result: SolveResult, complete: bool, verification: Verification | None) -> Completeness:
    """What a complete count rests on (COMPLETENESS_METHODS); "none" when it is not complete.
    A monodromy solve that started from a proven set an earlier run kept says so (`reused`)."""
    mono = result.monodromy
    julia = result.stats if isinstance(result.stats, JuliaStats) else None
    if mono is not None:
        patterns = pattern_completeness(mono)
    elif julia is not None:
        patterns = julia_pattern_completeness(julia)
    else:
        patterns = ()
    method = _method(result, complete, verification, julia, patterns)
    return Completeness(method, patterns, None if mono is None else mono.reused)


def _method(
    result: SolveResult,
    complete: bool,
    verification: Verification | None,
    julia: JuliaStats | None,
    patterns: tuple[PatternCompleteness, ...],
) -> str:
    mono = result.monodromy
    if not complete:
        return "none"
    if verification is not None and verification.status is VerificationStatus.AGREES:
        return "exact_degree"
    if result.exact_degree is not None:
        return "exact_degree"
    if mono is None and julia is not None and result.start_system == "monodromy":
        if julia.trusted_count is not None:  # decide() made a count short of it incomplete
            return "trusted_count"
        proven = patterns and all(p.method == "trace_test" for p in patterns)
        return "trace_test" if proven else "heuristic"
    if mono is None:
        return "all_paths" if result.start_system != "monodromy" else "heuristic"
    if mono.reached_trusted_count:
        return "trusted_count"
    if any(p.method == "heuristic" for p in patterns):
        return "heuristic"
    return "trace_test"


def path_reasons(paths: PathResults, points: CriticalPoints) -> list[str]:
    """What the paths and the points themselves say against completeness."""
    reasons = []
    counts = paths.counts()
    if counts["failed"]:
        reasons.append(f"{counts['failed']} path(s) failed: the count may be incomplete")
    if counts["singular"]:
        reasons.append(
            f"{counts['singular']} path(s) ended at singular points (multiple roots or a "
            "positive-dimensional critical set): distinct counts are not the degree"
        )
    if points.orbit_missing:
        reasons.append(f"{points.orbit_missing} sign-flip image(s) of found points were not found")
    dup = int(np.sum(points.multiplicity[~points.singular] > 1))
    if dup:
        reasons.append(f"{dup} nonsingular point(s) reached by several paths (path jumping)")
    return reasons


def decide(
    result: SolveResult,
    points: CriticalPoints,
    bounds: dict[str, Any],
    verification: Verification | None = None,
) -> Verdict:
    """The verdict on one solve (see the module docstring)."""
    reasons = path_reasons(result.paths, points)
    if result.stopped_early:  # its unfinished paths are the partial result's, said once below
        reasons = [r for r in reasons if "path(s) failed" not in r]
        reasons.insert(0, partial_reason(result))
    complete = not reasons
    k = len(points)
    if bounds["multihomogeneous"] is not None and k > bounds["multihomogeneous"]:  # None: above 10^300
        reasons.append("more distinct solutions than the multihomogeneous Bézout bound: a bug")
        complete = False
    mono = result.monodromy
    if mono is not None:
        if mono.trusted_count is not None and not mono.reached_trusted_count:
            reasons.append(f"monodromy stopped at {mono.base_solutions} of the trusted count {mono.trusted_count}")
            complete = False
        if k < mono.base_solutions and not result.stopped_early:
            reasons.append(f"{mono.base_solutions - k} of the {mono.base_solutions} base solutions were lost")
            complete = False
        if k > mono.base_solutions and mono.carried_to_target and not mono.reached_trusted_count:
            # the final homotopy's detours found critical points the base set lacked, so the
            # trace tests that passed on that set passed on an incomplete one: not a proof
            reasons.append(
                f"the target has {k - mono.base_solutions} critical point(s) more than the {mono.base_solutions} "
                "found at the base points, where every pattern's stop was taken as complete: a stop was "
                "wrong, so the count is not proven (another solver seed, or --verify degree)"
            )
            complete = False
        failures = trace_failures(mono)
        if failures and not mono.reached_trusted_count:
            reasons.extend(failures)
            complete = False
    if isinstance(result.stats, JuliaStats):
        failures = julia_reasons(result.stats, k)
        reasons.extend(failures)
        complete = complete and not failures
    bkk = bounds.get("bkk", {})
    if bkk.get("status") == "computed" and k > bkk["affine"]:
        reasons.append("more distinct solutions than the BKK bound (mixed volume with the origin): a bug")
        complete = False
    if verification is not None:
        if verification.status is VerificationStatus.AGREES:
            # the exact degree settles completeness even if some paths failed on the way
            complete = not bool(np.any(points.singular))
            if reasons:
                reasons.append("msolve's exact count agrees: no critical point is missing")
        else:
            complete = False
            reasons.append(f"verification: {verification.message}")
    return Verdict(complete, tuple(reasons), completeness_method(result, complete, verification))


def partial_reason(result: SolveResult) -> str:
    """Why a result is partial (a time limit or a signal stopped the engine), what it holds, and
    how to continue it."""
    mono = result.monodromy
    reason = f"partial result: {result.stopped_early}"
    if mono is None:
        stats = result.stats
        if isinstance(stats, TrackingStats) and stats.start_solutions is not None:
            tracked = stats.tracked_paths if stats.tracked_paths is not None else len(result.paths)
            reason += (
                f"; {tracked:,} of {stats.start_solutions:,} start paths tracked (a linear-product "
                "homotopy does not resume: run it again whole, or use start: monodromy)"
            )
        return reason
    where = (
        "carried to the target as far as time allowed"
        if mono.carried_to_target
        else "not carried to the target: counts at the base points only"
    )
    reason += f"; {mono.base_solutions} solutions known at the base points, {where}"
    if mono.checkpoint:
        reason += "; continue with dln solve CONFIG --resume"
    return reason


def instance_complete(verdict: Verdict, complex_solutions: int, generic: int) -> bool:
    """An instance of `data.instances` is complete when its own solve is and it reached the
    generic count of the family (the monodromy solve's)."""
    return verdict.complete and complex_solutions == generic


def decide_instances(rows: list[dict[str, Any]], generic: int, result: SolveResult | None = None) -> Verdict:
    """A run of many instances is complete when every instance is; each one that is not says
    how many of the generic count it found and how many paths failed.  The generic count is the
    shared monodromy solve's (`result`), and so is what completeness rests on."""
    reasons = tuple(
        f"instance {r['instance']}: {r['complex']} of {generic} found, {r['failed_paths']} path(s) failed"
        for r in rows
        if not r["complete"]
    )
    complete = not reasons
    mono = result.monodromy if result is not None else None
    if mono is not None and complete:
        failures = trace_failures(mono)
        if failures and not mono.reached_trusted_count:
            reasons, complete = tuple(failures), False
    completeness = completeness_method(result, complete, None) if result is not None else Completeness("none")
    return Verdict(complete, reasons, completeness)
