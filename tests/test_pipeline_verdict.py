"""Completeness is decided in one place (pipeline/verdict.py): each thing that can go wrong
makes the verdict incomplete with its reason, and msolve's answer overrides both ways."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dlnlandscape.analysis.classify import analyse
from dlnlandscape.engines.base import PathResults, ReturnCode, SolveResult
from dlnlandscape.engines.stats import MonodromySolveStats, MonodromyStats
from dlnlandscape.exact.verify import Verification, VerificationStatus
from dlnlandscape.model.problem import Problem
from dlnlandscape.pipeline.verdict import Verdict, decide, decide_instances, instance_complete

# (1,1,1), x = 1.5, y = 2, Λ = (0.5, 0.7): the five critical points of DOMAIN.md's closed form
X, Y, L1, L2 = 1.5, 2.0, 0.5, 0.7


def _problem() -> Problem:
    return Problem.from_data((1, 1, 1), np.array([[X]]), np.array([[Y]]), [np.array([[L1**2]]), np.array([[L2**2]])])


def _closed_form() -> np.ndarray:
    sxx, sxy = X * X, X * Y
    points = [[0.0, 0.0]]
    for eps in (1.0, -1.0):
        p = (sxy - eps * L1 * L2) / sxx
        w1 = np.sqrt(complex(eps * p * L2 / L1))
        w2 = eps * (L1 / L2) * w1
        points += [[w1, w2], [-w1, -w2]]
    return np.array(points, dtype=complex)


def _result(solutions: np.ndarray, codes: list[int], monodromy: MonodromyStats | None = None) -> SolveResult:
    k = len(codes)
    paths = PathResults(
        solutions=solutions,
        return_code=np.array(codes, dtype=np.int8),
        residual=np.zeros(k),
        condition=np.ones(k),
        winding_number=np.ones(k, dtype=np.int64),
        steps=np.ones(k, dtype=np.int64),
    )
    stats = None if monodromy is None else MonodromySolveStats(monodromy=monodromy, threads=1, added_by_symmetry=0)
    return SolveResult(paths=paths, engine="test", start_system="given", seed=0, seconds=0.0, stats=stats)


BOUNDS = {"bezout": 9, "multihomogeneous": 9, "bkk": {"status": "computed", "affine": 5, "torus": 4}}


def _decide(result: SolveResult, verification: Verification | None = None, bounds: dict = BOUNDS) -> Verdict:
    return decide(result, analyse(_problem(), result.paths), bounds, verification)


def test_all_five_closed_form_points_are_complete():
    result = _result(_closed_form(), [ReturnCode.SUCCESS] * 5)
    assert _decide(result) == Verdict(True, ())


def test_a_failed_path_and_a_lost_image_are_reasons():
    sols = _closed_form()
    sols = np.concatenate([sols[:4], np.full((1, 2), np.nan)])
    verdict = _decide(_result(sols, [ReturnCode.SUCCESS] * 4 + [ReturnCode.FAILED]))
    assert not verdict.complete
    assert verdict.reasons == (
        "1 path(s) failed: the count may be incomplete",
        "1 sign-flip image(s) of found points were not found",
    )


def test_path_jumping_and_too_many_points_are_reasons():
    sols = np.concatenate([_closed_form(), _closed_form()[1:2]])
    verdict = _decide(_result(sols, [ReturnCode.SUCCESS] * 6), bounds={**BOUNDS, "multihomogeneous": 4})
    assert verdict.reasons == (
        "1 nonsingular point(s) reached by several paths (path jumping)",
        "more distinct solutions than the multihomogeneous Bézout bound: a bug",
    )
    assert not verdict.complete


def _monodromy(base: int, trusted: int | None, reached: bool) -> MonodromyStats:
    return MonodromyStats(
        patterns=1,
        base_solutions=base,
        trusted_count=trusted,
        reached_trusted_count=reached,
        stopped=("test",),
        loops=1,
        loop_arcs_tracked=0,
        loop_arcs_failed=0,
        final_paths=base,
        final_paths_lost_first_pass=0,
        final_retracked=0,
        final_detoured=0,
        final_failed=0,
        path_steps=0,
        tracker_calls=0,
        loop_seconds=0.0,
        seconds=0.0,
        per_pattern=(),
    )


def test_monodromy_short_of_its_trusted_count_or_losing_base_solutions_is_incomplete():
    sols = _closed_form()
    short = _decide(_result(sols, [ReturnCode.SUCCESS] * 5, _monodromy(5, 7, False)))
    assert short.reasons == ("monodromy stopped at 5 of the trusted count 7",) and not short.complete
    lost = _decide(_result(sols[:3], [ReturnCode.SUCCESS] * 3, _monodromy(5, None, False)))
    assert "2 of the 5 base solutions were lost" in lost.reasons and not lost.complete


def test_more_points_at_the_target_than_the_base_set_proven_complete_is_no_proof():
    """(2,2,2,2) m=2, solver seed 7: every trace test passed on 13,425 base solutions, the
    target's detours then found 13,441 — the passes were on an incomplete set."""
    from dataclasses import replace

    sols = _closed_form()
    more = _decide(_result(sols, [ReturnCode.SUCCESS] * 5, replace(_monodromy(3, None, False), carried_to_target=True)))
    assert not more.complete and more.completeness.method == "none"
    assert any("the target has 2 critical point(s) more than the 3 found at the base points" in r for r in more.reasons)
    same = _decide(_result(sols, [ReturnCode.SUCCESS] * 5, replace(_monodromy(5, None, False), carried_to_target=True)))
    assert same.complete and same.reasons == ()


def test_a_partial_result_says_why_what_it_holds_and_how_to_continue():
    """Stopped before the final homotopy: the base count only, one reason (not 'paths failed' or
    'base solutions lost', which are the stop's consequence)."""
    from dataclasses import replace

    sols = np.full((2, 2), np.nan)
    mono = replace(_monodromy(5, None, False), carried_to_target=False, checkpoint="out/checkpoint.npz")
    result = replace(_result(sols, [ReturnCode.FAILED] * 2, mono), stopped_early="time limit of 60 s reached")
    verdict = _decide(result)
    assert not verdict.complete
    assert verdict.reasons == (
        "partial result: time limit of 60 s reached; 5 solutions known at the base points, not carried to the "
        "target: counts at the base points only; continue with dln solve CONFIG --resume",
    )
    carried = replace(
        _result(_closed_form()[:3], [ReturnCode.SUCCESS] * 3, replace(mono, carried_to_target=True)),
        stopped_early="interrupted by SIGINT",
    )
    assert _decide(carried).reasons[0].startswith("partial result: interrupted by SIGINT; 5 solutions known")


def test_msolve_settles_completeness_both_ways():
    sols = np.concatenate([_closed_form(), np.full((1, 2), np.nan)])
    result = _result(sols, [ReturnCode.SUCCESS] * 5 + [ReturnCode.FAILED])
    agrees = Verification(VerificationStatus.AGREES, "msolve degree 5 = 5", {})
    settled = _decide(result, agrees)
    assert settled.complete
    assert settled.reasons[-1] == "msolve's exact count agrees: no critical point is missing"
    mismatch = Verification(VerificationStatus.MISMATCH, "msolve degree 7 ≠ 5", {})
    clean = _result(_closed_form(), [ReturnCode.SUCCESS] * 5)
    assert _decide(clean, mismatch) == Verdict(False, ("verification: msolve degree 7 ≠ 5",))
    timeout = Verification(VerificationStatus.TIMEOUT, "timed out; no verdict", {})
    assert not _decide(clean, timeout).complete and timeout.agrees is None


def test_instances_complete_only_at_the_generic_count():
    assert instance_complete(Verdict(True), 17, 17) and not instance_complete(Verdict(True), 16, 17)
    assert not instance_complete(Verdict(False, ("x",)), 17, 17)
    rows = [
        {"instance": 0, "complex": 17, "failed_paths": 0, "complete": True},
        {"instance": 1, "complex": 15, "failed_paths": 2, "complete": False},
    ]
    assert decide_instances(rows, 17) == Verdict(False, ("instance 1: 15 of 17 found, 2 path(s) failed",))
    assert decide_instances(rows[:1], 17) == Verdict(True, ())


def test_verdict_is_immutable():
    verdict = Verdict(True)
    with pytest.raises(AttributeError):
        verdict.complete = False  # type: ignore[misc]
    assert replace(verdict, complete=False).complete is False


def _julia_result(runs: list[dict], trusted: int | None = None, start: str = "monodromy") -> SolveResult:
    """The closed-form points as the julia engine would return them, with `runs` as
    julia/DLNLandscape.jl's monodromy_generic reports its patterns."""
    from dlnlandscape.engines.stats import JuliaStats

    stats = JuliaStats(
        julia_version="1.11",
        hc_version="2.x",
        threads_requested=1,
        threads_julia=1,
        system="structured",
        method="monodromy",
        generic={"monodromy_runs": runs, "trace_tol": 1e-10, "trusted_count": trusted},
        generic_cached=False,
        origin={"status": "added"},
        julia_seconds=0.0,
        startup_seconds=0.0,
        instances_in_call=1,
        return_codes={"success": 5},
        real=3,
        max_multiplicity=1,
    )
    return replace(_result(_closed_form(), [ReturnCode.SUCCESS] * 5), stats=stats, start_system=start)


def _run(trace_test: str, solutions: int = 4) -> dict:
    return {"inactive_neurons": 0, "active_coordinates": 2, "solutions": solutions, "trace_test": trace_test}


def test_julia_monodromy_is_proven_only_when_hcs_trace_test_passed_on_every_pattern():
    proven = _decide(_julia_result([_run("passed")]))
    assert proven.complete and proven.completeness.method == "trace_test"
    assert proven.completeness.patterns[0].method == "trace_test"
    assert proven.completeness.patterns[0].trace_tolerance == 1e-10
    # HC.jl could not carry the test out: complete as far as the paths go, but only a heuristic
    unknown = _decide(_julia_result([_run("passed"), _run("not_computed", 0)]))
    assert unknown.complete and unknown.completeness.method == "heuristic"
    failed = _decide(_julia_result([_run("failed")]))
    assert not failed.complete and failed.completeness.method == "none"
    assert "verify_solution_completeness) failed on 1 neuron pattern(s)" in failed.reasons[0]


def test_julia_monodromy_against_a_trusted_count():
    reached = _decide(_julia_result([_run("not_run")], trusted=5))
    assert reached.complete and reached.completeness.method == "trusted_count"
    short = _decide(_julia_result([_run("passed")], trusted=7))
    assert not short.complete and "found 5 of the trusted count 7" in short.reasons[0]


def test_a_julia_linear_product_solve_rests_on_its_paths():
    verdict = _decide(_julia_result([], start="polyhedral"))
    assert verdict.complete and verdict.completeness.method == "all_paths"
