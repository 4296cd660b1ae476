"""The exact engine: real critical points from msolve's certified boxes, refined by Newton.

For users who want a certified landscape of a small architecture.  msolve isolates every real
solution of ∇L = 0 over Q in a box of width ~2⁻¹²⁸; the box centre rounded to double is already
the answer to full precision, and a few batched Newton steps with the float Hessian only supply
the residual, condition number and accuracy that the analysis expects from any engine (a step
is kept only if it lowers the residual and stays inside the box).  The complex count is the
degree over a prime field (checked on two primes); the non-real solutions are not computed.
"""

from __future__ import annotations

import time

import numpy as np

from ..common.newton import absolute_max_step, newton
from ..exact.msolve import PositiveDimensionalError, find_msolve, msolve_version, real_solutions
from ..exact.verify import consensus_degree
from ..model.options import SolverOptions
from ..model.problem import Problem
from .base import PathResults, Progress, ReturnCode, SolveResult
from .control import RunControl
from .stats import MsolveStats

SINGULAR_CONDITION = 1e12  # Hessian condition number above which a real point is reported SINGULAR


class ExactEngine:
    """Engine "exact": msolve's real solutions (certified), degree over F_p as complex count."""

    name = "exact"

    def __init__(
        self,
        *,
        timeout: float | None = None,
        threads: int | None = None,
        primes: int = 2,
        newton_steps: int = 3,
    ) -> None:
        self.timeout = timeout
        self.threads = threads
        self.primes = primes
        self.newton_steps = newton_steps

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult:
        """Run msolve (degree on `primes` primes, then real isolation) and refine the boxes.

        Raises `BackendUnavailable` without msolve, `PositiveDimensionalError` when the
        critical points are not isolated, and an `MsolveError` on timeout/crash/bad output.
        """
        location = find_msolve()
        start = time.perf_counter()
        timeout = float(self.timeout if self.timeout is not None else options.verify_timeout)
        threads = int(self.threads if self.threads is not None else options.threads)
        seed = int(options.seed)
        system = problem.exact_system()
        if tuple(system.variables) != tuple(problem.variable_names):
            raise ValueError("the exact system and the problem order their variables differently")
        deadline = start + timeout
        try:
            degree, primes, degrees, seconds_degree = consensus_degree(
                system,
                seed=seed,
                deadline=deadline,
                threads=threads,
                min_primes=self.primes,
                max_primes=max(3, self.primes),
                binary=location.path,
            )
        except PositiveDimensionalError as exc:
            raise PositiveDimensionalError(
                f"{exc}: the critical points are not isolated; backend exact needs regularization kind generalized"
            ) from None
        exact = real_solutions(
            system, timeout=max(1e-3, deadline - time.perf_counter()), threads=threads, binary=location.path
        )
        if exact.status == "positive_dimensional":
            raise PositiveDimensionalError(
                "msolve: the ideal is positive-dimensional over Q; backend exact needs regularization kind generalized"
            )
        lower, upper = exact.bounds()
        x, residual, condition, accuracy, steps = newton_refine(
            problem, exact.midpoints(), lower, upper, steps=self.newton_steps
        )
        k = x.shape[0]
        codes = np.where(condition < SINGULAR_CONDITION, ReturnCode.SUCCESS, ReturnCode.SINGULAR).astype(np.int8)
        paths = PathResults(
            solutions=x.astype(complex),
            return_code=codes,
            residual=residual,
            condition=condition,
            winding_number=np.ones(k, dtype=np.int64),
            steps=steps,
            accuracy=accuracy,
            certified=np.ones(k, dtype=bool),
        )
        stats = MsolveStats(
            degree=degree,
            real_boxes=int(k),
            primes=tuple(primes),
            degrees=tuple(degrees),
            msolve=str(location.path),
            msolve_source=location.source,
            version=msolve_version(location.path),
            seconds_degree=round(seconds_degree, 3),
            seconds_real=round(exact.seconds, 3),
        )
        return SolveResult(
            paths=paths,
            engine=self.name,
            start_system="msolve",
            seed=seed,
            seconds=time.perf_counter() - start,
            stats=stats,
            exact_degree=degree,
        )


def newton_refine(
    problem: Problem,
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    steps: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched Newton on ∇L from certified box centres, never leaving the (float) boxes: a step
    is kept only inside the box and when it lowers the residual (common.newton's guarded form).

    Returns (points, ‖∇L‖∞, Hessian condition numbers, last accepted update norm, steps
    taken).  The Hessian is inverted through its SVD so singular points do not abort the batch.
    """
    x = np.array(x0, dtype=float, copy=True).reshape(-1, problem.n)
    if x.shape[0] == 0:
        empty = np.zeros(0)
        return x, empty, empty, empty, np.zeros(0, dtype=np.int64)

    def inside(trial: np.ndarray) -> np.ndarray:
        return np.all((trial >= lower) & (trial <= upper), axis=1)

    result = newton(
        problem.gradient_and_hessian,
        x,
        steps,
        accept=inside,
        solve=pseudo_inverse_solve,
        step_size=absolute_max_step,
    )
    _, hessian = problem.gradient_and_hessian(result.points)
    return result.points, result.residual, _condition(hessian), result.step, result.taken


def pseudo_inverse_solve(J: np.ndarray, rhs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """J⁺ rhs through the SVD, singular values below n·ε·σ₁ dropped: a singular Hessian gives
    a least-squares step instead of NaN (`x` unused: no equilibration)."""
    U, s, Vt = np.linalg.svd(J)
    keep = s > s[:, :1] * np.finfo(float).eps * J.shape[-1]
    inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return np.einsum("kji,kj,klj,kl->ki", Vt, inv, U, rhs)


def _condition(J: np.ndarray) -> np.ndarray:
    s = np.linalg.svd(J, compute_uv=False)
    with np.errstate(divide="ignore"):
        return np.where(s[:, -1] > 0, s[:, 0] / np.where(s[:, -1] > 0, s[:, -1], 1.0), np.inf)
