"""common/newton.py: one batched Newton — quadratic convergence, keep-best, guarded steps."""

from __future__ import annotations

import numpy as np

from dlnlandscape.common.newton import absolute_max_step, newton, relative_max_step


def square_minus(target: np.ndarray):
    """F(x) = x ∘ x − target, Jacobian diag(2x)."""

    def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        jac = np.zeros((x.shape[0], x.shape[1], x.shape[1]), dtype=x.dtype)
        idx = np.arange(x.shape[1])
        jac[:, idx, idx] = 2 * x
        return x * x - target, jac

    return evaluate


def coupled(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F(u, v) = (u² + v² − 5, u v − 2): roots (±1, ±2), (±2, ±1) with equal signs."""
    u, v = x[:, 0], x[:, 1]
    values = np.stack([u * u + v * v - 5, u * v - 2], axis=1)
    jac = np.stack([np.stack([2 * u, 2 * v], axis=1), np.stack([v, u], axis=1)], axis=1)
    return values, jac


def test_quadratic_convergence_on_a_known_system():
    start = np.array([[1.2, 1.9], [2.1, 0.8]])
    roots = np.array([[1.0, 2.0], [2.0, 1.0]])
    errors = [np.abs(start - roots).max(axis=1)]
    for iterations in range(1, 7):
        errors.append(np.abs(newton(coupled, start, iterations).points - roots).max(axis=1))
    errors = np.array(errors)
    assert np.all(errors[-1] <= 2.3e-16)
    for k in range(4):  # e_{k+1} ≤ C e_k² (C ≈ 1 here) until rounding level
        assert np.all(errors[k + 1] <= 2.0 * errors[k] ** 2 + 1e-15), (k, errors[k + 1], errors[k])
    assert np.all(errors[3] < 1e-6) and np.all(errors[2] > 1e-4)  # digits double each step


def test_plain_steps_report_the_last_step_and_residual():
    result = newton(square_minus(np.array([2.0])), np.array([[1.5]]), 5)
    assert abs(result.points[0, 0] - np.sqrt(2)) < 1e-15
    assert result.step[0] < 1e-15 and result.converged(1e-12).all()
    assert result.taken.tolist() == [5]
    assert result.residual[0] < 1e-15  # ‖F‖∞ where the last (tiny) step was computed
    # one step from 1.5: x₁ = 1.5 − 0.25/3, step relative to max(1, |x₁|)
    one = newton(square_minus(np.array([2.0])), np.array([[1.5]]), 1)
    assert one.points[0, 0] == 1.5 - 0.25 / 3
    assert np.isclose(one.step[0], (0.25 / 3) / one.points[0, 0])
    assert one.residual[0] == 0.25  # at the starting point


def test_a_singular_jacobian_stops_a_point_without_stopping_the_batch():
    result = newton(square_minus(np.array([0.0, 0.0])), np.array([[0.0, 0.0], [1.0, 1.0]]), 3)
    assert np.isinf(result.step[0]) and np.all(result.points[0] == 0.0) and result.taken[0] == 0
    assert np.all(np.abs(result.points[1] - 0.125) < 1e-15) and result.taken[1] == 3


def test_keep_best_never_returns_a_worse_point():
    # Newton on x³ − 2x + 2 cycles 0 → 1 → 0 → …: residuals 2 and 1; the best iterate is 1.
    def cubic(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x**3 - 2 * x + 2, (3 * x**2 - 2)[:, :, None]

    best = newton(cubic, np.array([[0.0]]), 6, keep_best=True)
    assert best.points[0, 0] == 1.0 and best.residual[0] == 1.0
    assert best.step[0] == relative_max_step(np.array([[-1.0]]), np.array([[1.0]]))[0]  # the step from 1 back to 0
    assert best.taken[0] == 1
    plain = newton(cubic, np.array([[0.0]]), 6)
    assert plain.points[0, 0] == 0.0  # six steps: back at the start
    # converging points reach the root and keep the last iterate
    root = newton(square_minus(np.array([2.0])), np.array([[1.5]]), 6, keep_best=True)
    assert abs(root.points[0, 0] - np.sqrt(2)) < 1e-15 and root.residual[0] <= 4.5e-16


def test_guarded_steps_stay_inside_and_only_lower_the_residual():
    f = square_minus(np.array([2.0]))
    start = np.array([[1.5]])

    def box(lo: float, hi: float):
        return lambda x: np.all((x >= lo) & (x <= hi), axis=1)

    stuck = newton(f, start, 3, accept=box(1.45, 1.6), step_size=absolute_max_step)
    assert stuck.points[0, 0] == 1.5 and stuck.taken[0] == 0 and stuck.step[0] == 0.0
    assert stuck.residual[0] == 0.25
    free = newton(f, start, 10, accept=box(1.0, 2.0), step_size=absolute_max_step)
    assert abs(free.points[0, 0] - np.sqrt(2)) < 1e-15
    assert 3 <= free.taken[0] < 10  # stops once no step lowers the residual
    assert free.step[0] < 1e-8


def test_a_custom_solver_sees_the_points():
    seen = []

    def scaled(jac: np.ndarray, rhs: np.ndarray, x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        col = np.abs(x)  # equilibrate columns: solve (J diag(c)) z = rhs, step c z
        z = np.linalg.solve(jac * col[:, None, :], rhs[..., None])[..., 0]
        return col * z

    result = newton(coupled, np.array([[1.3, 1.8]]), 6, solve=scaled)
    assert np.abs(result.points - [[1.0, 2.0]]).max() < 1e-14
    assert len(seen) == 6 and np.allclose(seen[0], [[1.3, 1.8]])


def test_no_points():
    result = newton(coupled, np.zeros((0, 2)), 3, keep_best=True)
    assert result.points.shape == (0, 2) and result.step.shape == (0,)
