"""Batched Newton's method on a square system, in the three forms the package needs.

Every endpoint of every engine is finished by Newton: the native engine refines endpoints on
∇L = 0, monodromy checks loop endpoints, the projective endgame tries the t = 0 system, the
exact engine polishes msolve's boxes, the decomposition corrects witness points on a sliced
system.  They differ only in what a step may do, so there is one loop with three policies:

* plain (the default): `iterations` full steps.  Cheap, and right when the iterates are known to
  be near a nonsingular solution (a verified arc endpoint, a point close to t = 0).
* `keep_best=True`: full steps, but each point keeps its iterate of smallest residual, judged
  after one more evaluation.  Near a *singular* solution Newton converges only linearly and can
  be thrown off by rounding; keeping the best iterate means refinement never makes a point
  worse, while nonsingular points still converge quadratically to the last step.
* `accept=...`: a guarded step: the trial point is evaluated first and kept only where
  `accept(trial)` holds and the residual drops — for starting points already accurate to far
  below double precision (msolve's boxes of width 2⁻¹²⁸), where a step may only confirm them.

Points are rows of one array (N, k) and every step is one batched evaluation and one batched
solve; a point whose linear system is singular simply stops moving (its step is ∞).  The result
says, per point, how large the last step was relative to the point (the convergence test every
caller applies) and the residual ‖F‖∞ at the iterate that step was computed from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .linalg import solve as linear_solve

System = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # x (N, k) → F (N, k), ∂F/∂x (N, k, k)
# (jacobian, right-hand side, points) → step; the points let a solver equilibrate per point
Solver = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
StepSize = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (step, point) → (N,) size of the step


def relative_max_step(dx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """‖dx‖∞ / max(1, ‖x‖∞): the step relative to the point, absolute for points below unit size."""
    return np.abs(dx).max(axis=1) / np.maximum(1.0, np.abs(x).max(axis=1))


def relative_step(dx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """‖dx‖₂ / ‖x‖₂: for projective coordinates, where only directions matter."""
    return np.linalg.norm(dx, axis=1) / np.linalg.norm(x, axis=1)


def absolute_max_step(dx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """‖dx‖∞."""
    return np.abs(dx).max(axis=1)


@dataclass(frozen=True)
class NewtonResult:
    """Per point: where Newton left it and how far it was from converging."""

    points: np.ndarray  # (N, k)
    step: np.ndarray  # (N,) size of the last step (step_size); ∞ where the linear solve failed
    residual: np.ndarray  # (N,) ‖F‖∞ at the iterate the last step was computed from
    taken: np.ndarray  # (N,) steps applied

    def converged(self, tol: float) -> np.ndarray:
        """Whether the last step was at most `tol`."""
        return self.step <= tol


def newton(
    evaluate: System,
    x: np.ndarray,
    iterations: int,
    *,
    keep_best: bool = False,
    accept: Callable[[np.ndarray], np.ndarray] | None = None,
    solve: Solver | None = None,
    step_size: StepSize = relative_max_step,
) -> NewtonResult:
    """Newton on F(x) = 0 from every row of `x` (see the module docstring for the policies).

    Plain: `iterations` evaluations and steps; `points` are the last iterates and `step` is
    relative to them.  keep_best: `iterations` steps and one more evaluation; `points` are each
    row's best iterate, `step` the step computed there.  accept: up to `iterations` guarded
    steps, stopping early once no point moves; `step` is the last accepted step (0 if none).
    """
    x = np.array(x, copy=True)
    n_points = x.shape[0]
    if n_points == 0:
        empty = np.zeros(0)
        return NewtonResult(points=x, step=empty, residual=empty, taken=np.zeros(0, dtype=np.int64))

    def step_of(jac: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
        return linear_solve(jac, -values) if solve is None else solve(jac, -values, at)

    if accept is not None:
        return _guarded(evaluate, x, iterations, accept, step_of, step_size)
    if keep_best:
        return _keep_best(evaluate, x, iterations, step_of, step_size)
    step = np.full(n_points, np.inf)
    residual = np.full(n_points, np.inf)
    taken = np.zeros(n_points, dtype=np.int64)
    for _ in range(iterations):
        values, jac = evaluate(x)
        residual = np.abs(values).max(axis=1)
        dx = step_of(jac, values, x)
        ok = np.isfinite(dx).all(axis=1)
        x[ok] += dx[ok]
        taken += ok
        step = np.where(ok, step_size(dx, x), np.inf)
    return NewtonResult(points=x, step=step, residual=residual, taken=taken)


def _keep_best(
    evaluate: System,
    x: np.ndarray,
    iterations: int,
    step_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    step_size: StepSize,
) -> NewtonResult:
    """Full steps; each row keeps its iterate of lowest finite residual (and the step from it)."""
    n_points = x.shape[0]
    best = x.copy()
    best_residual = np.full(n_points, np.inf)
    best_step = np.full(n_points, np.inf)
    taken = np.zeros(n_points, dtype=np.int64)
    best_taken = np.zeros(n_points, dtype=np.int64)
    for _ in range(iterations + 1):
        values, jac = evaluate(x)
        residual = np.abs(values).max(axis=1)
        dx = step_of(jac, values, x)
        step = step_size(dx, x)
        better = np.isfinite(residual) & (residual < best_residual)
        best[better] = x[better]
        best_residual[better] = residual[better]
        best_step[better] = step[better]
        best_taken[better] = taken[better]
        ok = np.isfinite(dx).all(axis=1)
        x[ok] = x[ok] + dx[ok]
        taken += ok
    return NewtonResult(points=best, step=best_step, residual=best_residual, taken=best_taken)


def _guarded(
    evaluate: System,
    x: np.ndarray,
    iterations: int,
    accept: Callable[[np.ndarray], np.ndarray],
    step_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    step_size: StepSize,
) -> NewtonResult:
    """Steps evaluated before they are taken: kept where `accept` holds and the residual drops."""
    n_points = x.shape[0]
    values, jac = evaluate(x)
    residual = np.abs(values).max(axis=1)
    step = np.zeros(n_points)
    taken = np.zeros(n_points, dtype=np.int64)
    for _ in range(iterations):
        dx = step_of(jac, values, x)
        trial = x + dx
        trial_values, trial_jac = evaluate(trial)
        trial_residual = np.abs(trial_values).max(axis=1)
        better = accept(trial) & (trial_residual < residual)
        if not better.any():
            break
        x[better] = trial[better]
        values[better], jac[better] = trial_values[better], trial_jac[better]
        step[better] = step_size(dx[better], x[better])
        residual[better] = trial_residual[better]
        taken[better] += 1
    return NewtonResult(points=x, step=step, residual=residual, taken=taken)


__all__ = ["NewtonResult", "absolute_max_step", "newton", "relative_max_step", "relative_step"]
