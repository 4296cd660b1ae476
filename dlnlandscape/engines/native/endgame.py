"""Ending the paths of the γ-trick homotopy: which endpoints are critical points.

When the tracker stops (tracker.py), each path is in one of four states: it converged to a
finite point at t = 0 (Newton at t = 0 passed during tracking), it was declared at infinity
(a homogenising coordinate vanishing at a stable positive rate), it reached t_min undecided,
or it stalled.  This module turns those states into HomotopyContinuation.jl-style return
codes, in a fixed order:

1. Undecided paths (reached t_min, or stalled close to t = 0) first get a longer Newton run on
   the t = 0 system: small Λ gives large, badly conditioned critical points that may fail the
   tracker's quick two-step test yet converge plainly from this close.
2. Of the rest, a path whose homogenising coordinate shrank at a stable positive rate (its
   valuation) and is small is at infinity — counted apart, as "at infinity after stalling".
3. Paths that reached t_min with a vanishing homogenising coordinate are at infinity; the others
   go round t = 0 in the Cauchy endgame (below), which also measures the winding number.
4. An endpoint is finite only if no homogenising coordinate vanishes and — for a Cauchy
   estimate, which no Newton run confirmed — the projective target system nearly vanishes.
5. Finite endpoints are dehomogenised and refined by Newton on ∇L keeping each point's best
   iterate; a winding number above one or an ill-conditioned Hessian makes the endpoint
   SINGULAR, a nonsingular endpoint that is not a Newton fixed point was a false convergence
   (FAILED), the rest are SUCCESS.

Why Cauchy's endgame.  Near a singular endpoint (a multiple root) the path has a Puiseux
expansion in t^(1/c); sampling a loop of radius r around t = 0 c times and averaging is
Cauchy's integral formula for the endpoint, accurate to r^(samples/c) without ever evaluating
at the singular point (Morgan, Sommese & Wampler, Numer. Math. 1992).  The power-series endgame
would need the winding number first; the loop measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...common.newton import NewtonResult, newton, relative_step
from ...model.problem import Problem
from ..base import PathResults, ReturnCode
from .homotopies.projective import ProjectiveHomotopy
from .tracker import AT_INFINITY, CONVERGED, FAILED, REACHED_END, Tracker, TrackerOptions, TrackState

NEWTON_ACCURACY = 1e-8  # relative Newton step at which a nonsingular endpoint counts as converged
SINGULAR_CONDITION = 1e10  # Hessian condition number above which an endpoint counts as singular
ZERO_NEWTON_TOL = 1e-10  # Newton at t = 0: last relative step and residual below this converged
FINITE_RATIO = 1e-6  # min |h_g| / ‖y_g‖ of a finite endpoint
INFINITE_RATIO = 1e-4  # an endpoint that ended here but does not solve, with a ratio below this, is at infinity
STALLED_RATIO = 0.05  # a stalled path with a stable positive valuation and a ratio below this is at infinity
DIVERGING_VALUATION = 0.05  # valuation of |h_g| above which a homogenising coordinate is vanishing
CAUCHY_RESIDUAL = 1e-6  # projective residual a Cauchy estimate must reach to count as solving


def refine(problem: Problem, x: np.ndarray, iterations: int = 8) -> NewtonResult:
    """Newton on ∇L = 0 in affine coordinates, keeping each point's best iterate (lowest
    residual), so singular points cannot be pushed away while nonsingular ones converge fully:
    the points, the relative Newton step computed at each (NEWTON_ACCURACY judges it) and
    ‖∇L‖∞ there."""
    return newton(problem.gradient_and_hessian, x, iterations, keep_best=True)


def newton_at_zero(homotopy: ProjectiveHomotopy, y: np.ndarray, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Newton on the t = 0 system (target and chart); which points converged to a finite,
    nonsingular-looking solution (tiny last update and residual, homogenising coordinates
    not vanishing)."""
    result = newton(homotopy.target_system, y, iterations, step_size=relative_step)
    y = result.points
    residual = np.abs(homotopy.evaluate_target(y)[0]).max(axis=1)
    finite = homotopy.homogenizing_ratio(y).min(axis=1) >= FINITE_RATIO
    return y, result.converged(ZERO_NEWTON_TOL) & (residual <= ZERO_NEWTON_TOL) & finite


@dataclass(frozen=True)
class Endpoints:
    """How a batch of paths ended."""

    paths: PathResults
    stalled_at_infinity: np.ndarray  # (paths,) bool: declared at infinity by their valuation after stalling


def end_paths(tracker: Tracker, homotopy: ProjectiveHomotopy, state: TrackState, options: TrackerOptions) -> Endpoints:
    """Return codes, affine solutions and accuracies of the paths a tracker run left in `state`
    (the steps 1–5 of the module docstring)."""
    N = state.y.shape[0]
    code = np.full(N, int(ReturnCode.FAILED), dtype=np.int8)
    code[state.status == AT_INFINITY] = ReturnCode.AT_INFINITY
    undecided = _newton_on_undecided(homotopy, state, options)
    endpoint = state.y.copy()
    ratio = homotopy.homogenizing_ratio(endpoint).min(axis=1)
    assert state.valuation is not None and state.valuation_stable is not None  # an endgame run
    with np.errstate(invalid="ignore"):
        vanishing = np.nan_to_num(state.valuation, nan=0.0) > DIVERGING_VALUATION
        diverging = (vanishing & state.valuation_stable).any(axis=1)
    stalled_at_infinity = undecided & diverging & (ratio < STALLED_RATIO)
    code[stalled_at_infinity] = ReturnCode.AT_INFINITY
    candidate = state.status == CONVERGED

    ended = np.flatnonzero((state.status == REACHED_END) & ~stalled_at_infinity)
    code[ended[ratio[ended] < FINITE_RATIO]] = ReturnCode.AT_INFINITY
    loop = ended[ratio[ended] >= FINITE_RATIO]
    winding = np.ones(N, dtype=np.int64)
    cauchy = np.zeros(N, dtype=bool)
    if loop.size:
        est, c, ok = cauchy_endgame(tracker, endpoint[loop], state.s(loop))
        endpoint[loop[ok]] = est[ok]
        winding[loop] = np.where(ok, c, 0)
        cauchy[loop[ok]] = True
    ended_here = candidate | cauchy
    end_ratio = homotopy.homogenizing_ratio(endpoint).min(axis=1)
    projective_residual = np.full(N, np.inf)
    if cauchy.any():
        values, _ = homotopy.evaluate_target(endpoint[cauchy], jacobian=False)
        projective_residual[cauchy] = np.abs(values[:, : homotopy.n]).max(axis=1)
    solves = candidate | (projective_residual <= CAUCHY_RESIDUAL)
    finite = ended_here & solves & (end_ratio >= FINITE_RATIO)
    code[ended_here & ~finite & (end_ratio < INFINITE_RATIO)] = ReturnCode.AT_INFINITY
    # anything else that ended here but does not solve the system stays FAILED
    paths = _refine_finite(homotopy, endpoint, finite, code, winding, state.steps)
    return Endpoints(paths=paths, stalled_at_infinity=stalled_at_infinity)


def _newton_on_undecided(homotopy: ProjectiveHomotopy, state: TrackState, options: TrackerOptions) -> np.ndarray:
    """Step 1: a longer Newton run at t = 0 for paths that reached t_min or stalled near t = 0;
    those that converge become CONVERGED (in `state`).  Returns the paths still undecided."""
    N = state.y.shape[0]
    near_zero = np.abs(np.exp(state.s(np.arange(N)))) < options.t_endgame
    undecided = ((state.status == FAILED) & near_zero) | (state.status == REACHED_END)
    late = np.flatnonzero(undecided)
    if late.size:
        y_late, converged_late = newton_at_zero(homotopy, state.y[late])
        hit = late[converged_late]
        state.y[hit] = y_late[converged_late]
        state.status[hit] = CONVERGED
        undecided[hit] = False
    return undecided


def _refine_finite(
    homotopy: ProjectiveHomotopy,
    endpoint: np.ndarray,
    finite: np.ndarray,
    code: np.ndarray,
    winding: np.ndarray,
    steps: np.ndarray,
) -> PathResults:
    """Step 5: dehomogenise and refine the finite endpoints; SINGULAR, SUCCESS or FAILED."""
    problem = homotopy.problem
    N = endpoint.shape[0]
    solutions = np.full((N, problem.n), np.nan, dtype=complex)
    residual = np.full(N, np.nan)
    accuracy = np.full(N, np.nan)
    condition = np.full(N, np.inf)
    idx = np.flatnonzero(finite)
    if idx.size:
        refined = refine(problem, homotopy.affine(endpoint[idx]))
        x = refined.points
        solutions[idx] = x
        accuracy[idx] = refined.step
        residual[idx] = refined.residual
        with np.errstate(all="ignore"):
            condition[idx] = np.linalg.cond(problem.hessian(x))
        singular = (winding[idx] > 1) | ~(condition[idx] < SINGULAR_CONDITION)
        # a nonsingular endpoint must be a Newton fixed point; one that is not was never a
        # critical point (an ill-conditioned false convergence) and the path has failed
        converged = refined.converged(NEWTON_ACCURACY)
        code[idx] = np.where(singular, ReturnCode.SINGULAR, np.where(converged, ReturnCode.SUCCESS, ReturnCode.FAILED))
        solutions[idx[~singular & ~converged]] = np.nan
    return PathResults(
        solutions=solutions,
        return_code=code,
        residual=residual,
        condition=condition,
        winding_number=winding,
        steps=steps,
        accuracy=accuracy,
    )


def cauchy_endgame(
    tracker: Tracker, y: np.ndarray, s0: np.ndarray, *, samples: int = 8, max_loops: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loop around t = 0 at radius e^{s0} until each path closes up.

    The number of loops is the winding number c; by Cauchy's integral formula the mean of
    equally spaced samples over the c loops approximates the endpoint at t = 0 with an error
    that falls off like r^(samples/c) (Morgan, Sommese & Wampler, Numer. Math. 1992).  Returns
    (endpoint estimates, winding numbers (0 where a path did not close), ok mask).
    """
    N = y.shape[0]
    start = y.copy()
    current = y.copy()
    total = np.zeros_like(y)
    winding = np.zeros(N, dtype=np.int64)
    open_paths = np.ones(N, dtype=bool)
    ok = np.ones(N, dtype=bool)
    for loop in range(1, max_loops + 1):
        idx = np.flatnonzero(open_paths & ok)
        if idx.size == 0:
            break
        for k in range(samples):
            total[idx] += current[idx]
            a = s0[idx] + 2j * np.pi * (k / samples + loop - 1)
            b = s0[idx] + 2j * np.pi * ((k + 1) / samples + loop - 1)
            state = tracker.track(current[idx], a, b)
            current[idx] = state.y
            bad = state.status != REACHED_END
            ok[idx[bad]] = False
        closed = idx[np.linalg.norm(current[idx] - start[idx], axis=1) < 1e-6 * np.linalg.norm(start[idx], axis=1)]
        winding[closed] = loop
        open_paths[closed] = False
    endpoint = total / np.maximum(winding * samples, 1)[:, None]
    ok &= winding > 0
    return endpoint, winding, ok
