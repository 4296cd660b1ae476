"""Whether a count is complete, decided in one place.

A homotopy solve can lose solutions without noticing, so completeness is never assumed: it is
the conjunction of everything that could have gone wrong — failed paths, endpoints on a
positive-dimensional set, sign-flip images that no path reached, two paths on one nonsingular
point (path jumping), more points than a bound allows (a bug), a monodromy run that stopped
short of a trusted count or lost base solutions on the way to the target, a partial result (a
time limit or a signal stopped the engine: `partial_reason`).  An exact count from
msolve overrides the numerical evidence both ways: agreement settles completeness even if some
paths failed; disagreement (or no answer) is never read as completeness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.points import CriticalPoints
from ..engines.base import PathResults, SolveResult
from ..exact.verify import Verification, VerificationStatus


@dataclass(frozen=True)
class Verdict:
    """`complete`, and every reason it is not (or notes beside a completeness msolve settled):
    summary.json's `complete` and `warnings`."""

    complete: bool
    reasons: tuple[str, ...] = ()


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
    return Verdict(complete, tuple(reasons))


def partial_reason(result: SolveResult) -> str:
    """Why a result is partial (a time limit or a signal stopped the engine), what it holds, and
    how to continue it."""
    mono = result.monodromy
    reason = f"partial result: {result.stopped_early}"
    if mono is None:
        return reason
    where = (
        "carried to the target as far as time allowed"
        if mono.carried_to_target
        else "not carried to the target (no time left): counts at the base points only"
    )
    reason += f"; {mono.base_solutions} solutions known at the base points, {where}"
    if mono.checkpoint:
        reason += "; continue with dln solve CONFIG --resume"
    return reason


def instance_complete(verdict: Verdict, complex_solutions: int, generic: int) -> bool:
    """An instance of `data.instances` is complete when its own solve is and it reached the
    generic count of the family (the monodromy solve's)."""
    return verdict.complete and complex_solutions == generic


def decide_instances(rows: list[dict[str, Any]], generic: int) -> Verdict:
    """A run of many instances is complete when every instance is; each one that is not says
    how many of the generic count it found and how many paths failed."""
    reasons = tuple(
        f"instance {r['instance']}: {r['complex']} of {generic} found, {r['failed_paths']} path(s) failed"
        for r in rows
        if not r["complete"]
    )
    return Verdict(not reasons, reasons)
