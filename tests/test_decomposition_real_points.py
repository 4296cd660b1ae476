"""Real points of a component are balanced before the Hessian classifies them
(decomposition/real_points.py): a minimum component must read as minimum at any point of it."""

from __future__ import annotations

import numpy as np

from dlnlandscape.decomposition.real_points import balance, point_classes
from dlnlandscape.model.problem import Problem

from .conftest import make_config


def test_gl_scaled_points_of_the_global_minimum_set_read_as_minima_once_balanced():
    """(2,2,2,2) m = 3, λ = 0: the global minima are {W3 W2 W1 = P*}, 8-dimensional (GL(2)² acts).
    Real points spread over that set by random GL scalings of up to 10² per column: 6 of 20 read
    "degenerate" (a Hessian eigenvalue under the zero test) as they are, none once balanced —
    then every layer has the same Gram matrix and the point is the same critical point's orbit."""
    problem = Problem.from_config(make_config([2, 2, 2, 2], 3, 0, regularization={"kind": "none"}))
    best = problem.T @ np.linalg.inv(problem.S)  # P S − T = 0: the filling architecture's minimum
    rng = np.random.default_rng(1)
    points = []
    for _ in range(20):
        W1, W2 = (rng.standard_normal((2, 2)) @ np.diag(10.0 ** rng.uniform(-2, 2, 2)) for _ in range(2))
        points.append(np.concatenate([W1.ravel(), W2.ravel(), (best @ np.linalg.inv(W2 @ W1)).ravel()]))
    x = np.array(points)
    assert np.allclose(problem.end_to_end(x), best, atol=1e-9)
    raw, _, _ = point_classes(problem, x, 8)
    assert raw.count("degenerate") >= 3  # the defect the balancing removes
    y = balance(problem, x)
    assert np.allclose(problem.loss(y), problem.loss(x), rtol=1e-10) and np.allclose(
        problem.end_to_end(y), best, atol=1e-9
    )
    W = problem.unpack(y)
    for layer in range(2):  # W_l W_lᵀ = W_{l+1}ᵀ W_{l+1}
        gram_in = W[layer] @ np.swapaxes(W[layer], 1, 2)
        gram_out = np.swapaxes(W[layer + 1], 1, 2) @ W[layer + 1]
        assert np.allclose(gram_in, gram_out, rtol=1e-6, atol=1e-8)
    classes, index, corank = point_classes(problem, y, 8)
    assert classes == ["minimum"] * 20 and corank.tolist() == [8] * 20 and index.tolist() == [0] * 20
