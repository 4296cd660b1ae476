"""The batched gradient and Hessian against finite differences, the sparse form and homogeneity."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import build_gradient_system, gradient_system

from .conftest import make_config

CASES = [
    ((2, 2, 2), False),
    ((1, 2, 2, 1), False),
    ((2, 3, 2, 2), True),
    ((3, 1, 2), False),
    ((1, 1), False),
    ((2, 3), True),
]


def random_problem(widths, residual, rng):
    X = rng.standard_normal((widths[0], 3))
    Y = rng.standard_normal((widths[-1], 3))
    pen = [rng.uniform(0.1, 1, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    return Problem.from_data(widths, X, Y, pen, residual=residual)


def central(f, x, eps=1e-6):
    n = x.shape[1]
    return np.stack([(f(x + eps * np.eye(n)[k]) - f(x - eps * np.eye(n)[k])) / (2 * eps) for k in range(n)], axis=-1)


@pytest.mark.parametrize("widths,residual", CASES)
def test_gradient_and_hessian_match_finite_differences(widths, residual):
    rng = np.random.default_rng(0)
    p = random_problem(widths, residual, rng)
    x = rng.standard_normal((3, p.n)) + 1j * rng.standard_normal((3, p.n))
    np.testing.assert_allclose(p.gradient(x), central(p.loss, x), atol=1e-6)
    hess = p.hessian(x)
    np.testing.assert_allclose(hess, central(p.gradient, x), atol=1e-6)
    np.testing.assert_allclose(hess, np.swapaxes(hess, 1, 2), atol=1e-12)


@pytest.mark.parametrize("widths,residual", CASES)
def test_homogenised_system(widths, residual):
    rng = np.random.default_rng(1)
    p = random_problem(widths, residual, rng)
    x = rng.standard_normal((2, p.n)) + 1j * rng.standard_normal((2, p.n))
    h = rng.standard_normal((2, p.depth)) + 1j * rng.standard_normal((2, p.depth))
    G, J, Jh = p.evaluate(x, h)
    np.testing.assert_allclose(J, central(lambda z: p.evaluate(z, h, jacobian=False)[0], x), atol=1e-6)
    np.testing.assert_allclose(Jh, central(lambda z: p.evaluate(x, z, jacobian=False)[0], h), atol=1e-6)
    # multi-homogeneity: scaling group i by c_i scales equation k by Π c_i^{deg_ik}
    c = rng.standard_normal(p.depth) + 1j
    xs = x.copy()
    for i in range(p.depth):
        xs[:, p.offsets[i] : p.offsets[i + 1]] *= c[i]
    scaled = p.evaluate(xs, h * c, jacobian=False)[0]
    np.testing.assert_allclose(scaled, G * np.prod(c[None, :] ** p.multidegrees, axis=1), rtol=1e-10)
    # h = 1 is the affine system
    np.testing.assert_allclose(p.evaluate(x, np.ones_like(h), jacobian=False)[0], p.gradient(x), atol=1e-12)


@pytest.mark.parametrize("widths,residual", CASES)
def test_sparse_form_agrees_with_batched_evaluation(widths, residual):
    rng = np.random.default_rng(2)
    p = random_problem(widths, residual, rng)
    system = build_gradient_system(p.widths, p.X, p.Y, p.penalty, residual=residual)
    x = rng.standard_normal((4, p.n)) + 1j * rng.standard_normal((4, p.n))
    np.testing.assert_allclose(system.evaluate(x), p.gradient(x), atol=1e-10)
    assert system.degrees() == [2 * p.depth - 1] * p.n or residual
    if not residual:
        np.testing.assert_array_equal(system.multidegrees(), p.multidegrees)


def test_exact_sparse_form_is_rational_and_matches():
    cfg = make_config([2, 2, 2], samples=3, data={"normalization": "mean"})
    exact = gradient_system(cfg, exact=True)
    assert exact.exact
    ints = exact.integer_equations()
    assert all(isinstance(c, int) for eq in ints for _, c in eq)
    p = Problem.from_config(cfg)
    x = np.random.default_rng(3).standard_normal((3, p.n)) * (1 + 0.3j)
    np.testing.assert_allclose(exact.evaluate(x), p.gradient(x), atol=1e-12)


def test_loss_at_origin_is_half_norm_of_Y():
    cfg = make_config([2, 3, 2], samples=4)
    p = Problem.from_config(cfg)
    assert p.loss(np.zeros((1, p.n)))[0] == pytest.approx(0.5 * np.sum(cfg.Y**2))
    np.testing.assert_allclose(p.gradient(np.zeros((1, p.n))), 0.0)
