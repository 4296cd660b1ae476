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


__all__ = ["EXTENDED_BITS", "ExtendedSystem", "refine_extended", "refine_extended_system"]
