"""The monodromy solver: the parametric family, arcs, neuron patterns, and complete counts."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.engines.native.family import ArcTracker, Family
from dlnlandscape.engines.native.monodromy import MonodromyOptions, MonodromySolver
from dlnlandscape.engines.native.tracker import TrackerOptions
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import parametric_gradient_system
from dlnlandscape.pipeline import solve

from .conftest import make_config


def _decimal_config(widths: list[int], samples: int, **solver: object):
    return make_config(
        widths, samples, 0, data={"decimals": 3}, regularization={"decimals": 3}, solver={"seed": 7, **solver}
    )


@pytest.mark.parametrize("widths,residual", [((2, 2, 2), False), ((1, 2, 2, 1), False), ((2, 2, 2), True)])
def test_parametric_coefficients_reproduce_the_gradient(widths, residual):
    """coefficient_map @ (S, T, C) gives exactly the monomial form of ∇L for that data."""
    rng = np.random.default_rng(3)
    system = parametric_gradient_system(widths, residual=residual)
    X = rng.standard_normal((widths[0], 3))
    Y = rng.standard_normal((widths[-1], 3))
    C = [rng.random((widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    problem = Problem.from_data(widths, X, Y, C, residual=residual)
    coef = system.coefficients(system.parameter_vector(problem.S, problem.T, np.concatenate([c.ravel() for c in C])))
    x = rng.standard_normal((4, problem.n)) + 1j * rng.standard_normal((4, problem.n))
    terms = np.prod(x[:, None, :] ** system.exponents[None], axis=2) * coef
    values = np.stack([terms[:, system.equation == e].sum(axis=1) for e in range(problem.n)], axis=1)
    assert np.abs(values - problem.gradient(x)).max() < 1e-12


def test_arc_homotopy_matches_compiled_kernel_and_its_parameter_path():
    problem = Problem.from_config(_decimal_config([2, 2, 2], 3))
    family = Family(problem)
    rng = np.random.default_rng(0)
    arcs = [(family.random_point(rng), family.random_point(rng)) for _ in range(2)]
    which = np.array([0, 1, 1, 0])
    hom = family.homotopy(arcs, which)
    y = rng.standard_normal((4, problem.n)) + 1j * rng.standard_normal((4, problem.n))
    t = np.exp(1j * rng.random(4))
    H, J, Ht = hom.evaluate(y, t)
    # the homotopy at t is the gradient system at p(t) = (a + b)/2 + t (a − b)/2
    for i in range(4):
        a, b = arcs[which[i]]
        q = 0.5 * (a + b) + t[i] * 0.5 * (a + (-1.0) * b)
        assert np.abs(family.problem_at(q).gradient(y[i : i + 1])[0] - H[i]).max() < 1e-12
    # ∂H/∂t by a central difference (H is quadratic in t, so this is exact up to rounding)
    eps = 1e-4
    Hp, _, _ = hom.evaluate(y, t + eps)
    Hm, _, _ = hom.evaluate(y, t - eps)
    assert np.abs((Hp - Hm) / (2 * eps) - Ht).max() < 1e-7
    from dlnlandscape.engines.native.kernel import HAVE_NUMBA, CompiledSteps

    if HAVE_NUMBA:
        H2, J2, Ht2 = CompiledSteps(hom).evaluate(y, t)
        assert np.abs(H - H2).max() < 1e-12 and np.abs(J - J2).max() < 1e-12 and np.abs(Ht - Ht2).max() < 1e-12


def test_start_pair_is_a_solution_and_arcs_come_back():
    """The seed solves its own system; tracking there and back along the same arc's two halves
    (a full circle in the parameter line) ends at a solution of the base system again."""
    problem = Problem.from_config(_decimal_config([2, 2, 2], 3))
    family = Family(problem)
    rng = np.random.default_rng(1)
    x0, base = family.start_pair(rng)
    assert np.abs(family.problem_at(base).gradient(x0[None])).max() < 1e-12
    other = family.random_point(rng)
    arcs = ArcTracker(family, TrackerOptions(), kernel="numpy")
    y, ok = arcs.track(x0[None], [(base, other)], np.zeros(1, dtype=int))
    assert ok.all() and np.abs(family.problem_at(other).gradient(y)).max() < 1e-6
    y, ok = arcs.track(y, [(other, base)], np.zeros(1, dtype=int))
    assert ok.all() and np.abs(family.problem_at(base).gradient(y)).max() < 1e-6


def test_neuron_patterns_and_membership():
    problem = Problem.from_config(_decimal_config([1, 2, 2, 2], 1))
    family = Family(problem)
    patterns = family.neuron_patterns()
    assert len(patterns) == 1 + 3 * 3  # the origin + non-empty active sets per hidden layer
    rng = np.random.default_rng(2)
    for mask in patterns:
        x0, _ = family.start_pair(rng, mask)
        assert family.in_pattern(x0[None], mask)[0]
        others = [m for m in patterns if not np.array_equal(m, mask)]
        assert not any(family.in_pattern(x0[None], m)[0] for m in others)


def test_non_generic_pattern_is_closed_by_its_singular_seed():
    """(1,2,1,2): two active neurons before a width-1 layer tie their penalties together
    (C_a1 C_b1 = C_a2 C_b2), so that pattern has no solutions for generic data — its seed is
    singular and contributes nothing.  msolve: 65 = 1 + 2·32 + 0."""
    problem = Problem.from_config(_decimal_config([1, 2, 1, 2], 1))
    solver = MonodromySolver(problem, np.random.default_rng(0), TrackerOptions(), MonodromyOptions())
    full = np.ones(problem.n, dtype=bool)
    assert solver.seed(full).stopped == "no isolated solutions for generic data"
    one = next(m for m in solver.family.neuron_patterns() if 0 < m.sum() < problem.n)
    assert solver.seed(one).stopped == ""


def test_monodromy_finds_all_225_and_agrees_with_the_multihomogeneous_solve():
    mono = solve(_decimal_config([2, 2, 2], 3, start="monodromy"))
    multi = solve(_decimal_config([2, 2, 2], 3, start="multihomogeneous"))
    assert mono.summary["complex_solutions"] == multi.summary["complex_solutions"] == 225
    assert mono.summary["real_solutions"] == multi.summary["real_solutions"] == 9
    assert mono.summary["complete"]
    info = mono.summary["backend"]["monodromy"]
    assert info["base_solutions"] == 225 and info["patterns"] == 4
    assert mono.summary["paths"]["failed"] == 0
    # the same points, one to one
    from dlnlandscape.common.points import match_points

    match = match_points(mono.points.solutions, multi.points.solutions, 1e-6)
    assert (match >= 0).all() and np.unique(match).size == 225
    assert np.max(mono.points.residual) < 1e-9


def test_trusted_count_stops_early_and_is_reported():
    run = solve(_decimal_config([2, 2, 2], 3, start="monodromy", trusted_count=225))
    info = run.summary["backend"]["monodromy"]
    assert info["reached_trusted_count"] and info["trusted_count"] == 225
    assert any("trusted count" in s for s in info["stopped"])
    assert run.summary["complex_solutions"] == 225


def test_deeper_network_641_matches_msolve_degree():
    """(1,2,2,2) m=1: 641 critical points (msolve degree for this config), where the
    multihomogeneous start would need 452,225 paths."""
    run = solve(_decimal_config([1, 2, 2, 2], 1, start="monodromy"))
    assert run.summary["complex_solutions"] == 641
    assert run.summary["complete"] and run.summary["paths"]["failed"] == 0
    assert run.summary["paths"]["tracked"] < 100  # orbit representatives only


def test_monodromy_needs_generic_regularisation():
    config = make_config([2, 2, 2], 2, regularization={"kind": "none"}, solver={"start": "monodromy"})
    with pytest.raises(ConfigError, match="solver.start"):
        solve(config)


@pytest.mark.parametrize("value", [0, -3, "many", 1.5])
def test_bad_trusted_count(value):
    with pytest.raises(ConfigError, match="solver.trusted_count"):
        make_config([2, 2, 2], 1, solver={"trusted_count": value})


def test_numpy_reference_steps_track_arcs_too():
    """The NumPy steps (the reference) and the compiled ones end at the same point."""
    problem = Problem.from_config(_decimal_config([2, 2, 2], 3))
    family = Family(problem)
    rng = np.random.default_rng(4)
    x0, base = family.start_pair(rng)
    other = family.random_point(rng)
    ends = []
    for kernel in ("numpy", "auto"):
        y, ok = ArcTracker(family, TrackerOptions(), kernel).track(x0[None], [(base, other)], np.zeros(1, int))
        assert ok.all()
        ends.append(y[0])
    assert np.abs(ends[0] - ends[1]).max() < 1e-6


def test_lost_paths_are_rerouted_as_a_whole_pattern():
    """Solver seed 1 puts a pole next to one pattern's arc to the target: three representatives
    fail there at any step size.  Re-routing only them through a detour would permute their
    endpoints onto other representatives' solutions; the whole pattern is re-routed instead.
    (The pole is met with the monomial form's rounding; the matrix-product kernel passes it.)"""
    from dlnlandscape.engines.native.engine import NativeEngine

    run = solve(_decimal_config([2, 2, 2], 3, start="monodromy", seed=1), engine=NativeEngine(kernel="monomial"))
    info = run.summary["backend"]["monodromy"]
    assert info["final_detoured"] > 0 and info["final_failed"] == 0
    assert run.summary["complex_solutions"] == 225 and run.summary["complete"]


def test_unreached_trusted_count_is_reported_incomplete():
    run = solve(_decimal_config([2, 1, 2], 2, start="monodromy", trusted_count=18, loops_without_progress=2))
    assert run.summary["complex_solutions"] == 17  # the true count (msolve)
    assert not run.summary["complete"]
    assert any("trusted count 18" in w for w in run.summary["warnings"])


def test_results_do_not_depend_on_the_thread_count():
    one = solve(_decimal_config([2, 1, 2], 2, start="monodromy", threads=1))
    two = solve(_decimal_config([2, 1, 2], 2, start="monodromy", threads=2))
    assert np.array_equal(one.points.solutions, two.points.solutions)
    assert one.summary["backend"]["monodromy"]["path_steps"] == two.summary["backend"]["monodromy"]["path_steps"]
