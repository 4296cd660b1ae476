"""Classification rules, de-duplication and sign-flip orbits on constructed inputs."""

from __future__ import annotations

import numpy as np

from dlnlandscape.analysis.classify import classify
from dlnlandscape.common.points import unique_points
from dlnlandscape.model.problem import Problem


def test_unique_points_merges_near_duplicates():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 4)) + 1j * rng.standard_normal((200, 4))
    b = np.concatenate([a, a[:30] * (1 + 1e-9), a[5:8] + 1e-10])
    reps, labels, counts = unique_points(b, 1e-6)
    assert len(reps) == 200 and counts.max() == 3 and counts.sum() == len(b)


def test_sign_flips_are_symmetries_of_the_loss():
    rng = np.random.default_rng(1)
    widths = (2, 3, 2, 2)
    p = Problem.from_data(
        widths,
        rng.standard_normal((2, 3)),
        rng.standard_normal((2, 3)),
        [rng.uniform(0.1, 1, (widths[i + 1], widths[i])) for i in range(3)],
    )
    signs = p.sign_flips()
    assert signs.shape == (2**5, p.n)
    x = rng.standard_normal((1, p.n))
    np.testing.assert_allclose(p.loss(x * signs), p.loss(x)[0])


def test_classes_from_hessian_signature():
    """(1,1,1) with known points: minima, saddle at the origin, loss ordering."""
    x, y, l1, l2 = np.array([[1.5]]), np.array([[2.0]]), 0.5, 0.7
    p = Problem.from_data((1, 1, 1), x, y, [np.array([[l1**2]]), np.array([[l2**2]])])
    sxx, sxy = 2.25, 3.0
    pp = (sxy - l1 * l2) / sxx
    w1 = np.sqrt(pp * l2 / l1)
    sols = np.array([[0, 0], [w1, (l1 / l2) * w1], [-w1, -(l1 / l2) * w1]], dtype=complex)
    pts = classify(p, sols, np.ones(3, int), np.zeros(3, bool), np.zeros(3), np.ones(3))
    assert list(pts.cls) == ["saddle", "global_minimum", "global_minimum"]
    assert list(pts.hessian_index) == [1, 0, 0]
    assert pts.orbit[1] == pts.orbit[2] and pts.orbit_size[1] == 2 and pts.orbit_missing == 0
    assert pts.rank_end_to_end.tolist() == [0, 1, 1]
    assert pts.zero_pattern[0] == "0|0" and pts.zero_pattern[1] == "1|1"


def test_missing_orbit_member_is_reported():
    x, y = np.array([[1.5]]), np.array([[2.0]])
    p = Problem.from_data((1, 1, 1), x, y, [np.array([[0.25]]), np.array([[0.49]])])
    sols = np.array([[1.0, 0.7]], dtype=complex)  # its image (−1, −0.7) is absent
    pts = classify(p, sols, np.ones(1, int), np.zeros(1, bool), np.zeros(1), np.ones(1))
    assert pts.orbit_missing == 1


def test_lowest_point_with_a_descent_direction_is_not_called_a_global_minimum():
    """Unregularised (2,2,2): the origin is a strict saddle (Hessian has ±σ(YXᵀ) blocks).  If it
    is the lowest real point found, it must still be a saddle, and no global minimum loss is
    claimed from it."""
    rng = np.random.default_rng(0)
    problem = Problem.from_data(
        (2, 2, 2), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), [np.zeros((2, 2))] * 2
    )
    origin = np.zeros((1, problem.n), dtype=complex)
    points = classify(problem, origin, np.ones(1, int), np.zeros(1, bool), np.zeros(1), np.ones(1))
    assert points.hessian_index[0] > 0
    assert points.cls[0] == "saddle"
