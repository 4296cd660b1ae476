"""Newton at the target in extended precision, for the few endpoints double precision cannot finish.

Why.  The final parameter homotopy (targets.py) may bring a path next to a target solution
where ∇L is evaluated with too little precision to confirm it: an ill-conditioned Hessian, or a
large solution whose degree-(2H − 1) terms cancel (|x| ~ 10² on four layers leaves ~1e-7 of
sixteen digits).  Newton in double precision then stalls above NEWTON_ACCURACY and the path
counts as lost although it arrived.  The same iteration in 128-bit ball arithmetic (python-
flint's `acb`, FLINT's arb — already the certifier's dependency) converges, and the point is
then rounded to double.  Only these few endpoints come here: one iteration costs about a
millisecond per point, a thousand times a batched double step.

How.  `Problem.evaluate` is written with NumPy broadcasting only, so it runs unchanged on object
arrays of `acb` numbers — one implementation of ∇L and its Hessian, no second transcription to
keep in step.  Each iteration starts from the exact midpoints of the previous one (balls never
grow across iterations) and solves with `acb_mat.solve`, per point.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from ...common.newton import NewtonResult
from ...model.problem import Problem

# x (N, k) object array of acb → (F (N, k), ∂F/∂x (N, k, k)), both object arrays
ExtendedSystem = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

EXTENDED_BITS = 128  # working precision of the refinement
CONVERGED_STEP = 1e-30  # a relative step below this ends a point's refinement (2⁻¹²⁸ ≈ 3e-39)


@contextlib.contextmanager
def _precision(bits: int) -> Iterator[None]:
    """flint's working precision is global: set it for the refinement and restore it."""
    from flint import ctx

    before = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = before


def _to_complex(values: np.ndarray) -> np.ndarray:
    """An object array of acb (or Python numbers) → complex midpoints."""
    return np.vectorize(lambda z: complex(z.mid()) if hasattr(z, "mid") else complex(z), otypes=[complex])(values)


def refine_extended(problem: Problem, x: np.ndarray, iterations: int = 12, bits: int = EXTENDED_BITS) -> NewtonResult:
    """Newton on ∇L = 0 in `bits`-bit ball arithmetic from every row of `x` (N, n); the points
    rounded to double, the last step relative to the point (max-norm, as `common.newton`), and
    ‖∇L‖∞ there.  A point whose Hessian cannot be inverted stops moving (step ∞)."""
    return refine_extended_system(problem.gradient_and_hessian, x, iterations, bits)


def refine_extended_system(
    evaluate: ExtendedSystem, x: np.ndarray, iterations: int = 12, bits: int = EXTENDED_BITS
) -> NewtonResult:
    """`refine_extended` for any square system written with NumPy broadcasting (the trace
    test's slice system, trace_test.Slice.evaluate, is the other one)."""
    from flint import acb, acb_mat

    N, n = x.shape
    step = np.full(N, np.inf)
    residual = np.full(N, np.inf)
    taken = np.zeros(N, dtype=np.int64)
    if N == 0:
        return NewtonResult(points=x.copy(), step=step, residual=residual, taken=taken)
    with _precision(bits):
        current = np.vectorize(lambda z: acb(z.real, z.imag), otypes=[object])(x)
        active = np.arange(N)  # points still moving: converged and singular ones drop out
        for _ in range(iterations):
            values, jac = evaluate(current[active])
            moving = []
            for row, i in enumerate(active):  # a few points, each its own small exact solve
                residual[i] = max(abs(complex(v.mid())) if hasattr(v, "mid") else abs(v) for v in values[row])
                try:
                    dx = acb_mat(jac[row].tolist()).solve(acb_mat([[-v] for v in values[row]]))
                except ZeroDivisionError:  # not provably invertible at this precision
                    step[i] = np.inf
                    continue
                moved = [current[i, j] + dx[j, 0] for j in range(n)]
                current[i] = [acb(z.mid()) for z in moved]
                size = max(1.0, max(abs(complex(z.mid())) for z in moved))
                step[i] = max(abs(complex(dx[j, 0].mid())) for j in range(n)) / size
                taken[i] += 1
                if step[i] >= CONVERGED_STEP:
                    moving.append(i)
            active = np.array(moving, dtype=np.int64)
            if active.size == 0:
                break
        points = _to_complex(current)
    return NewtonResult(points=points, step=step, residual=residual, taken=taken)


# A homotopy H(y; t) at points y (N, k) and per-point t (N,) → (H (N, k), ∂H/∂y (N, k, k)); it
# must run on complex and on object (acb) arrays alike, as trace_test.Slice.evaluate does
Homotopy = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

EXTENDED_PATH_STEP = 0.02  # first step of `track_extended`, as a fraction of the arc
EXTENDED_MIN_STEP = 1e-7  # a step this small that still fails ends the path as lost
EXTENDED_MAX_STEPS = 500  # steps (taken or rejected) after which the path is lost: ≤ ~1 min, not hours
EXTENDED_PREDICTION = 1e-3  # relative correction above which a step is rejected (a jump, or too long)
EXTENDED_CORRECTED = 1e-25  # relative last Newton step at which a corrected point is taken


def track_extended(
    homotopy: Homotopy,
    dh_dt: np.ndarray,
    y0: np.ndarray,
    t0: complex,
    t1: complex,
    bits: int = EXTENDED_BITS,
    check: Callable[[], None] | None = None,
) -> np.ndarray:
    """One path of a homotopy affine in t (∂H/∂t = `dh_dt`, constant) from y0 at t0 to t1: an
    RK4 prediction in double from the tangent −(∂H/∂y)⁻¹ ∂H/∂t, corrected by Newton in `bits`-bit
    balls (`refine_extended_system`), the step halved when the correction is not tiny or Newton
    does not converge and grown after easy steps.  Returns the endpoint, or NaN where the step
    fell below EXTENDED_MIN_STEP or EXTENDED_MAX_STEPS did not reach t1.  `check` is called before
    every step (a run's stop request: time limit, signal — it may raise).

    Why.  For the rare path that double precision cannot follow at all — a trace-test witness
    with |x| ~ 10³ and Jacobian condition ~10¹², whose degree-5 terms cancel every digit the
    corrector needs; (2,2,2,2) m = 3 at a generic Λ: the same path lost at every γ, the
    pattern's trace never read.  A step costs a few extended Newton iterations (milliseconds
    each): a handful of paths only."""
    dt = t1 - t0
    point = np.asarray(y0, dtype=complex).copy()
    s, h = 0.0, EXTENDED_PATH_STEP

    def tangent(y: np.ndarray, at: float) -> np.ndarray:
        _, jac = homotopy(y[None], np.array([t0 + at * dt]))
        return np.linalg.solve(jac[0], -dt * dh_dt)

    for _ in range(EXTENDED_MAX_STEPS):
        if s >= 1.0:
            return point
        if check is not None:
            check()
        h = min(h, 1.0 - s)
        with np.errstate(all="ignore"):
            try:
                k1 = tangent(point, s)
                k2 = tangent(point + 0.5 * h * k1, s + 0.5 * h)
                k3 = tangent(point + 0.5 * h * k2, s + 0.5 * h)
                k4 = tangent(point + h * k3, s + h)
                guess = point + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            except np.linalg.LinAlgError:
                guess = np.full_like(point, np.nan)
        t_next = t0 + (s + h) * dt
        corrected = point
        moved = np.inf
        if np.isfinite(guess).all():
            result = refine_extended_system(
                lambda z, t=t_next: homotopy(z, np.full(z.shape[0], t, dtype=complex)), guess[None], 6, bits
            )
            if result.step[0] <= EXTENDED_CORRECTED:
                corrected = result.points[0]
                moved = np.abs(corrected - guess).max() / max(1.0, np.abs(guess).max())
        if moved <= EXTENDED_PREDICTION:
            point, s = corrected, s + h
            h = 2.0 * h if moved <= EXTENDED_PREDICTION / 100 else h
        else:
            h /= 2.0
            if h < EXTENDED_MIN_STEP:
                break
    return point if s >= 1.0 else np.full_like(point, np.nan)


__all__ = [
    "EXTENDED_BITS",
    "ExtendedSystem",
    "Homotopy",
    "refine_extended",
    "refine_extended_system",
    "track_extended",
]
