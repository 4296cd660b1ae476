"""decomposition/slicing.py on (1,1,1), λ = 0, where everything is known by hand:
L = ½ s Σ_j (w2 w1 x_j − y_j)², so with S = s·s_xx, T = s·s_xy and r = S w1 w2 − T,
∇L = (w2 r, w1 r) and the critical set is the hyperbola w1 w2 = T/S (and the origin)."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.decomposition.slicing import (
    SliceHomotopy,
    Slicing,
    balanced_size,
    coordinate_scale,
    critical_residual,
    newton,
    sliced_system,
)
from dlnlandscape.engines.native.homotopies.base import CompiledHomotopy, EndgameHomotopy, Homotopy
from dlnlandscape.model.problem import Problem

from .conftest import make_config


@pytest.fixture(scope="module")
def hyperbola() -> tuple[Problem, float]:
    problem = Problem.from_config(make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"}))
    return problem, float(problem.T[0, 0] / problem.S[0, 0])


def _slice_points(slicing: Slicing, b: complex, p: float) -> np.ndarray:
    """Both points of {w1 w2 = p} on the line a1 w1 + a2 w2 = b: a1 w1² − b w1 + a2 p = 0."""
    a1, a2 = slicing.A[0]
    w1 = np.roots([a1, -b, a2 * p])
    return np.stack([w1, p / w1], axis=1)


def test_random_slicing_has_unit_rows_and_the_requested_offset():
    rng = np.random.default_rng(0)
    sl = Slicing.random(6, 2, 5.0, rng)
    assert sl.k == 2 and sl.A.shape == (2, 6) and sl.R.shape == (4, 6) and sl.b0.shape == (2,)
    np.testing.assert_allclose(np.linalg.norm(sl.A, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(sl.R, axis=1), 1.0, rtol=1e-14)
    assert np.iscomplexobj(sl.A) and np.abs(sl.A.imag).max() > 0 and sl.size == 1.0
    again = Slicing.random(6, 2, 5.0, np.random.default_rng(0))
    np.testing.assert_array_equal(again.A, sl.A)
    np.testing.assert_array_equal(again.b0, sl.b0)


def test_sliced_system_is_the_randomised_gradient_and_the_slice(hyperbola):
    problem, p = hyperbola
    S, T = float(problem.S[0, 0]), float(problem.T[0, 0])
    sl = Slicing.random(2, 1, 1.0, np.random.default_rng(1))
    x = np.array([[0.3 + 0.1j, -1.2], [2.0, 0.5j]])
    b = np.array([[0.2], [-0.4j]])
    values, jac, grad = sliced_system(problem, sl, x, b)
    r = S * x[:, 0] * x[:, 1] - T
    expected_grad = np.stack([x[:, 1] * r, x[:, 0] * r], axis=1)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13)
    np.testing.assert_allclose(values[:, 0], expected_grad @ sl.R[0], rtol=1e-13)
    np.testing.assert_allclose(values[:, 1], x @ sl.A[0] - b[:, 0], rtol=1e-13)
    h = 1e-7  # the Jacobian by central differences, column by column
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        forward = sliced_system(problem, sl, x + e, b)[0]
        backward = sliced_system(problem, sl, x - e, b)[0]
        np.testing.assert_allclose(jac[:, :, j], (forward - backward) / (2 * h), rtol=1e-6, atol=1e-9)


def test_critical_residual_is_rounding_on_the_set_however_unbalanced(hyperbola):
    problem, p = hyperbola
    on = np.array([[0.7, p / 0.7], [1e4, p / 1e4], [-3e-3 + 1j, p / (-3e-3 + 1j)]])
    assert critical_residual(problem, on).max() < 1e-13
    off = np.array([[1.0, 1.0], [0.7, 1.1 * p / 0.7]])
    assert critical_residual(problem, off).min() > 1e-3


def test_balanced_and_coordinate_scales_are_per_layer(hyperbola):
    problem, _ = hyperbola
    x = np.array([[3.0, 1 / 3], [-4.0, 1e-5j]])
    np.testing.assert_allclose(balanced_size(problem, x), [1.0, np.sqrt(4e-5)], rtol=1e-14)
    # the second point's small layer is floored at 10⁻³ of the largest
    np.testing.assert_allclose(coordinate_scale(problem, x), [[3.0, 1 / 3], [4.0, 4e-3]], rtol=1e-14)


def test_newton_on_a_slice_converges_to_a_slice_point_of_the_hyperbola(hyperbola):
    problem, p = hyperbola
    sl = Slicing.random(2, 1, 1.0, np.random.default_rng(2))
    exact = _slice_points(sl, sl.b0[0], p)
    start = exact * (1 + 1e-3)
    x, step, cond = newton(problem, sl, start, np.tile(sl.b0, (2, 1)))
    np.testing.assert_allclose(x, exact, rtol=1e-12)
    assert step.max() < 1e-13 and np.all(cond < 1e6)


def test_slice_homotopy_runs_from_b_a_at_t_1_to_b_b_at_t_minus_1(hyperbola):
    """Values vanish at points of the critical set on b_a (t = 1) and on b_b (t = −1); ∂H/∂t is
    exact (H is affine in t); each path has its own arc (`index`)."""
    problem, p = hyperbola
    sl = Slicing.random(2, 1, 1.0, np.random.default_rng(3))
    b_a = np.array([[0.5 + 0.2j], [-0.3j]])
    b_b = np.array([[-0.1 + 0.4j], [0.8]])
    at_a = np.stack([_slice_points(sl, b_a[i, 0], p)[0] for i in range(2)])
    at_b = np.stack([_slice_points(sl, b_b[i, 0], p)[0] for i in range(2)])
    scale = np.array([[2.0, 0.5], [1.0, 1.0]])
    hom = SliceHomotopy(problem, sl, b_a, b_b, scale)
    values, jac, dt = hom.evaluate(at_a / scale, np.ones(2))
    assert np.abs(values).max() < 1e-13 and jac.shape == (2, 2, 2)
    values, _, _ = hom.evaluate(at_b / scale, -np.ones(2))
    assert np.abs(values).max() < 1e-13
    y, t = at_a / scale, np.array([0.3 + 0.1j, -0.5j])
    h = 1e-3
    difference = (hom.evaluate(y, t + h, derivative_t=False)[0] - hom.evaluate(y, t, derivative_t=False)[0]) / h
    np.testing.assert_allclose(hom.evaluate(y, t)[2], difference, rtol=1e-9, atol=1e-12)
    second, _, _ = hom.evaluate(at_b[1:] / scale[1:], -np.ones(1), index=np.array([1]))
    assert np.abs(second).max() < 1e-13 and hom.evaluate(y, t, derivative_t=False)[2] is None


def test_slice_homotopy_is_a_plain_homotopy(hyperbola):
    """The tracker's protocol, and no more: no endgame (arcs end at generic slices), no kernel."""
    problem, _ = hyperbola
    sl = Slicing.random(2, 1, 1.0, np.random.default_rng(3))
    b = np.zeros((1, 1), dtype=complex)
    hom = SliceHomotopy(problem, sl, b, b + 1, np.ones((1, 2)))
    assert isinstance(hom, Homotopy)
    assert not isinstance(hom, EndgameHomotopy) and not isinstance(hom, CompiledHomotopy)
