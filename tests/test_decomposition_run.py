"""decomposition/run.py: components known by hand, end to end (initial solve, tested local
dimension, witness sets, membership, closed form), and refused input."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.decomposition import Decomposition, decompose, decompose_points
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.problem import Problem

from .conftest import make_config


def _moments(config) -> tuple[float, float, float]:
    """s_xx, s_xy, s_yy of one-input, one-output data (sum normalisation)."""
    x, y = config.X[0], config.Y[0]
    return float(x @ x), float(x @ y), float(y @ y)


def _by_dimension(result: Decomposition) -> list[tuple[int, int]]:
    return sorted((c.dimension, c.degree) for c in result.components)


@pytest.fixture(scope="module")
def one_one_one() -> tuple[object, Decomposition]:
    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"})
    return config, decompose(config)


def test_one_one_one_curve_of_degree_two_and_isolated_origin(one_one_one):
    """(1,1,1), λ = 0: ∇L = 0 is the hyperbola w1 w2 = s_xy/s_xx (dim 1, degree 2) and the origin."""
    config, result = one_one_one
    sxx, sxy, syy = _moments(config)
    assert _by_dimension(result) == [(0, 1), (1, 2)]
    curve, origin = result.components  # sorted by dimension, highest first
    assert curve.trace_passed and curve.trace_error < 1e-9
    w = curve.witness_points
    np.testing.assert_allclose(w[:, 0] * w[:, 1], sxy / sxx, rtol=1e-10)
    assert np.abs(w.imag).max() > 1e-3  # generic complex slice, not the real points of the solve
    assert curve.loss == pytest.approx(0.5 * (syy - sxy**2 / sxx), rel=1e-10)
    assert curve.loss_spread < 1e-12 and curve.rank_end_to_end == 1
    assert curve.seeds == 4  # the four singular endpoints of the 5-path solve all lie on it
    assert np.abs(origin.witness_points).max() < 1e-12
    assert origin.loss == pytest.approx(0.5 * syy, rel=1e-12) and origin.trace_passed is None
    assert result.unexplained == [] and result.seeds_lost == 0


def test_one_one_one_result_records_the_initial_solve(one_one_one):
    """The decomposition keeps the solve (for its files) and its path counts; the text report
    has one line per component and the closed-form verdict."""
    _, result = one_one_one
    assert result.run is not None and result.solve_counts == result.run.result.paths.counts()
    assert result.solve_counts["tracked"] == 5 and result.seeds == 5  # four on the curve, and the origin
    assert set(result.seconds) >= {"solve", "local_dimension", "witness_sets", "total"}
    curve = result.components[0]
    assert curve.slicing is not None and curve.slicing.k == 1
    np.testing.assert_allclose(curve.witness_points @ curve.slicing.A.T, np.tile(curve.slicing.b0, (2, 1)), atol=1e-12)
    lines = result.lines()
    assert lines[1].startswith("initial solve: 5 paths, 5 finite (4 singular); 5 distinct critical points")
    assert lines[3].split()[:3] == ["1", "2", "passed"] and lines[4].split()[:3] == ["0", "1", "—"]
    assert "closed-form critical values (Achour et al.): 2 of 2 found" in lines
    assert result.notes == [] and result.all_trace_tests_passed


def test_decompose_points_without_a_solve():
    """Seeds given directly: two real points of the hyperbola (singular) and a point off the
    critical set's singular part marked nonsingular; the origin is added (it is critical)."""
    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"})
    problem = Problem.from_config(config)
    sxx, sxy, syy = _moments(config)
    p = sxy / sxx
    seeds = np.array([[0.7, p / 0.7], [-2.0, p / -2.0]])
    result = decompose_points(problem, seeds, np.array([True, True]), seed=1, regularization="none")
    assert _by_dimension(result) == [(0, 1), (1, 2)]
    curve, origin = result.components
    assert curve.seeds == 2 and curve.real_seeds == 2 and curve.seed_loss_spread < 1e-12
    assert origin.seeds == 1 and origin.closed_form == {"subset": [], "value": 0.5 * syy, "relative_difference": 0.0}
    assert result.seeds == 3 and result.run is None and result.solve_counts == {}
    np.testing.assert_allclose(curve.witness_points[:, 0] * curve.witness_points[:, 1], p, rtol=1e-10)


def test_seeds_that_do_not_reach_the_witness_slice_are_placed_by_membership(monkeypatch):
    """A seed whose path to the witness slice fails is not dropped (a component whose only seeds
    were lost would be missing unnoticed, (2,2,2,2) m = 3 lost 170 of 2,873): it is located by
    moving the witness sets to the slice through it.  Here the second hyperbola point is made to
    fail: it still counts on the curve, and the run is complete (one on no component would be
    unexplained, the run incomplete)."""
    import dlnlandscape.decomposition.run as run

    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"})
    problem = Problem.from_config(config)
    sxx, sxy, _ = _moments(config)
    p = sxy / sxx
    seeds = np.array([[0.7, p / 0.7], [-2.0, p / -2.0]])
    real_witness_sets = run.witness_sets

    def losing_the_second(problem, slicing, points, options, rng):
        sets, arrived = real_witness_sets(problem, slicing, points[:1], options, rng)
        return sets, np.append(arrived, False)

    monkeypatch.setattr(run, "witness_sets", losing_the_second)
    result = decompose_points(problem, seeds, np.array([True, True]), seed=1, regularization="none")
    curve, origin = result.components
    assert result.seeds_lost == 1 and curve.seeds == 2 and origin.seeds == 1
    assert result.unexplained == [] and result.complete
    assert "1 did not reach the witness slice" in result.lines()[1]


def test_residual_one_one_one_shifted_hyperbola():
    """Residual (1,1,1), λ = 0: (1 + w1)(1 + w2) = s_xy/s_xx and the isolated point (−1, −1)."""
    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"}, architecture={"residual": True})
    sxx, sxy, syy = _moments(config)
    result = decompose(config)
    assert _by_dimension(result) == [(0, 1), (1, 2)]
    curve, point = result.components
    assert curve.trace_passed
    w = curve.witness_points
    np.testing.assert_allclose((1 + w[:, 0]) * (1 + w[:, 1]), sxy / sxx, rtol=1e-10)
    assert curve.loss == pytest.approx(0.5 * (syy - sxy**2 / sxx), rel=1e-10)
    np.testing.assert_allclose(point.witness_points[0], [-1, -1], atol=1e-10)
    assert result.closed_form is None  # the formula is for plain products


def test_scalar_l2_one_two_one_two_conics():
    """(1,2,1), λ I: with r = P S − T the gradient gives u = −(r/λ) v and v = −(r/λ) u (W1 = u,
    W2 = vᵀ), so r = ∓λ, u = ±v and u·u = (T − λ)/S or −(T + λ)/S: two conics (dim 1, degree 2,
    the orbits of O(2)) with loss ½(P²S − 2PT) + ½ s·s_yy ± λP, and the origin."""
    lam = 0.3
    config = make_config([1, 2, 1], samples=2, seed=0, regularization={"kind": "l2", "lambda": lam})
    problem = Problem.from_config(config)
    S, T = float(problem.S[0, 0]), float(problem.T[0, 0])
    base = 0.5 * problem.scale * float(config.Y[0] @ config.Y[0])
    result = decompose(config)
    assert _by_dimension(result) == [(0, 1), (1, 2), (1, 2)]
    expected = {}
    for sign in (1, -1):  # u = sign · v
        P = (T - sign * lam) / S
        expected[sign] = (0.5 * (P * P * S - 2 * P * T) + base + sign * lam * P, sign * P)
    signs = set()
    for c in result.components[:2]:
        assert c.trace_passed
        u, v = c.witness_points[:, :2], c.witness_points[:, 2:]
        sign = 1 if np.allclose(u, v, rtol=1e-9) else -1
        signs.add(sign)
        np.testing.assert_allclose(u, sign * v, rtol=1e-9, atol=1e-12)
        loss, uu = expected[sign]
        assert c.loss == pytest.approx(loss, rel=1e-10)
        np.testing.assert_allclose(np.sum(u * u, axis=1), uu, rtol=1e-10)
    assert signs == {1, -1}


def test_two_two_two_closed_form_critical_values():
    """(2,2,2), m = 3, λ = 0 (Achour et al.): four critical values, one component each —
    {W2 W1 = P*} ≅ {AB = I} (dim 4, degree 8: msolve's degree of AB = I plus four random
    hyperplanes), two quadrics c·d = κ (dim 3, degree 2; P of rank 1), the isolated origin."""
    config = make_config([2, 2, 2], samples=3, seed=0, regularization={"kind": "none"})
    result = decompose(config)
    assert _by_dimension(result) == [(0, 1), (3, 2), (3, 2), (4, 8)]
    assert all(c.trace_passed is not False for c in result.components)
    problem = Problem.from_config(config)
    mu = np.linalg.eigvalsh(problem.T @ np.linalg.solve(problem.S, problem.T.T))
    base = 0.5 * float(np.sum(config.Y**2))
    expected = sorted([base, base - mu[0] / 2, base - mu[1] / 2, base - mu.sum() / 2])
    assert [v["found"] for v in result.closed_form] == [True] * 4
    np.testing.assert_allclose([v["value"] for v in result.closed_form], expected, rtol=1e-12)
    for c in result.components:
        assert c.closed_form is not None and c.closed_form["relative_difference"] <= 1e-8
        assert c.rank_end_to_end == len(c.closed_form["subset"])  # rank P = |S|
        assert c.loss_spread <= 1e-10 * abs(c.loss) and c.seed_loss_spread <= 1e-8 * abs(c.loss)
        # AMG's Theorem 7 at a generic witness point: S = {1, 2} is the global minimum; for H = 2
        # every other component is a strict saddle (the only pivot is never tightened)
        amg = c.second_order
        assert amg is not None and amg["applies"] and amg["margin_decades"] > 4
        assert amg["subset"] == ",".join(str(i) for i in c.closed_form["subset"])  # both 1-based
        assert amg["class"] == ("global_minimum" if amg["subset"] == "1,2" else "strict_saddle")
        # real points on every component (moved to real slices), their loss the component's, the
        # Hessian's corank at least the dimension and its class AMG's
        real = c.real_class
        assert real is not None and real["real_points"] >= 1
        assert real["loss"] == pytest.approx(c.loss.real, rel=1e-9)
        assert real["corank_range"][0] >= c.dimension
        assert real["class"].startswith(amg["class"])
    classes = result.classes()
    assert classes["amg_contradictions"] == 0 and classes["bad_local_minima"] == 0
    assert result.complete and result.incomplete_reasons() == [] and "complete: yes" in result.lines()
    # a closed-form value without a component makes the decomposition incomplete, not a note
    from dataclasses import replace

    assert result.closed_form is not None
    lost = replace(result, closed_form=[{**result.closed_form[0], "found": False}, *result.closed_form[1:]])
    assert not lost.complete and "without a component" in lost.incomplete_reasons()[0]
    assert lost.as_dict()["complete"] is False and any(line.startswith("complete: NO") for line in lost.lines())
    # every seed is on a component or unexplained: those that did not reach the witness slice are
    # placed by membership too (a component whose only seeds were lost would be missing)
    assert sum(c.seeds for c in result.components) + len(result.unexplained) == result.seeds


def test_generalized_is_refused_isolated():
    config = make_config([1, 1, 1], samples=1)
    with pytest.raises(ConfigError, match="isolated"):
        decompose(config)


def test_exact_backend_is_refused():
    config = make_config([1, 1, 1], samples=3, regularization={"kind": "none"}, solver={"backend": "exact"})
    with pytest.raises(ConfigError, match="solver.backend.*isolated"):
        decompose(config)


def test_points_at_infinity_are_no_component():
    """A witness set of huge points (or with a loss far beyond L(0), or off the critical set) is
    rejected with the reason, never listed as a component (seen on (2,2,1,2), m = 3: two
    "6-dimensional components" with losses ~1e26)."""
    from dlnlandscape.decomposition.options import ComponentOptions
    from dlnlandscape.decomposition.run import _not_a_component
    from dlnlandscape.decomposition.slicing import Slicing
    from dlnlandscape.decomposition.witness import WitnessSet

    config = make_config([2, 2, 2], samples=3, seed=0, regularization={"kind": "none"})
    problem = Problem.from_config(config)
    rng = np.random.default_rng(0)
    slicing = Slicing.random(problem.n, 3, 1.0, rng)
    origin = float(abs(problem.loss(np.zeros((1, problem.n), dtype=complex))[0]))
    options = ComponentOptions()
    huge = WitnessSet(points=1e10 * (rng.standard_normal((2, problem.n)) + 0j), loops=0, passed=False, error=0.2)
    assert _not_a_component(problem, huge, slicing, origin, options).startswith("points at infinity")
    off = WitnessSet(points=rng.standard_normal((2, problem.n)) + 0j, loops=0, passed=True, error=0.0)
    assert _not_a_component(problem, off, slicing, origin, options).startswith("points off the critical set")
    result = decompose(config)
    assert not any("rejected" in note for note in result.notes)  # the four real components all stay
