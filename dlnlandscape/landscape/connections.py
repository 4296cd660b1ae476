"""Which minima each index-1 saddle joins: steepest descent from the saddle, both ways.

Why.  The table of critical points says where the landscape is flat; how the points connect —
can gradient descent from this saddle reach a bad minimum, how high is the barrier between two
minima — is what a researcher asks next.  In the energy-landscape literature (Wales, *Energy
Landscapes*, 2003) an index-1 saddle is a *transition state*: its unstable manifold is a curve
whose two branches run downhill to two minima.

How.  From each real index-1 saddle x, the two branches start at x ± δv (v the Hessian's
negative eigenvector, δ = START_STEP · max(1, ‖x‖∞)) and follow the gradient flow ẋ = −∇L(x).
All branches are one stacked ODE, integrated by SciPy's BDF (stiff: Hessian eigenvalues spread
over many decades near unbalanced minima) with the exact block-diagonal Jacobian −∇²L, so there
is no Python loop over paths; a terminal event stops the integration when every branch's
gradient is below FLOW_TOL relative to the point.  Newton (common.newton) then finishes each end
on ∇L = 0, and the end is matched to the table by the project's point-equality rule
(common.points.match_points).  An end that matches no known critical point is reported — it is
a critical point the solve did not find (the test suite removes a minimum to see this).

Symmetry.  The sign flips map saddles to saddles and minima to minima, so only one saddle per
orbit is integrated; the connections of its images are the images of its connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import block_diag

from ..common.newton import newton
from ..common.points import SAME_POINT_TOL, match_points
from ..common.symmetry import representatives
from ..model.problem import Problem

START_STEP = 1e-3  # the first step off the saddle, relative to max(1, ‖x‖∞)
FLOW_TOL = 1e-7  # ‖∇L‖∞ / max(1, ‖x‖∞) at which a branch has arrived (Newton finishes it)
FLOW_TIME = 1e7  # integration time limit: a branch still moving then is reported as unfinished


@dataclass(frozen=True)
class Connections:
    """Per real index-1 saddle (rows, in table order): the two ends of its descent branches."""

    saddles: np.ndarray  # (s,) indices into the table of real critical points
    ends: np.ndarray  # (s, 2) table index each branch ends at, −1: no known point
    end_points: np.ndarray  # (s, 2, n) where each branch ended (after Newton)
    arrived: np.ndarray  # (s, 2) bool: the branch converged to a critical point
    integrated: np.ndarray  # (s,) bool: integrated (an orbit representative), else mapped by a sign flip
    # per row: (arclength, loss) along each branch from the saddle (a sign-flip image has its
    # representative's: the flips are isometries that keep the loss)
    profiles: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)


def descent_ends(problem: Problem, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The gradient flow from every start (N, n) to where it settles, then Newton: (ends,
    converged, each branch's points along the way (steps, n))."""
    N, n = starts.shape
    scale = np.maximum(1.0, np.abs(starts).max(axis=1))

    def field(_t: float, y: np.ndarray) -> np.ndarray:
        return -problem.gradient(y.reshape(N, n)).real.ravel()

    def jacobian(_t: float, y: np.ndarray) -> object:
        return block_diag(list(-problem.hessian(y.reshape(N, n)).real), format="csc")

    def settled(_t: float, y: np.ndarray) -> float:
        g = np.abs(problem.gradient(y.reshape(N, n)).real).max(axis=1) / scale
        return float(g.max() - FLOW_TOL)

    settled.terminal = True  # type: ignore[attr-defined]
    flow = solve_ivp(field, (0.0, FLOW_TIME), starts.ravel(), method="BDF", jac=jacobian, events=settled, rtol=1e-6)
    y = flow.y[:, -1].reshape(N, n)
    result = newton(problem.gradient_and_hessian, y.astype(complex), 8, keep_best=True)
    ends = result.points.real
    converged = result.step <= 1e-10
    path = flow.y.reshape(N, n, -1)
    return ends, converged, [np.concatenate([path[i].T, ends[i : i + 1]]) for i in range(N)]


def profile(problem: Problem, saddle: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arclength from the saddle, loss) along one branch."""
    points = np.concatenate([saddle[None], path])
    arclength = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    return arclength, problem.loss(points).real


def connect(problem: Problem, points: np.ndarray, index: np.ndarray, signs: np.ndarray | None = None) -> Connections:
    """Connections of every index-1 saddle among the real critical points `points` (k, n) with
    Morse indices `index`; `signs` the sign flips (default: the problem's)."""
    signs = problem.sign_flips() if signs is None else signs
    saddles = np.flatnonzero(index == 1)
    n = problem.n
    s = saddles.size
    ends = np.full((s, 2), -1, dtype=np.int64)
    end_points = np.full((s, 2, n), np.nan)
    arrived = np.zeros((s, 2), dtype=bool)
    integrated = np.zeros(s, dtype=bool)
    if s == 0:
        return Connections(saddles, ends, end_points, arrived, integrated)
    reps = saddles[representatives(points[saddles], signs)] if problem.depth >= 2 else saddles
    x = points[reps]
    eig, vec = np.linalg.eigh(problem.hessian(x).real)
    v = vec[:, :, 0]  # the negative eigenvector
    delta = START_STEP * np.maximum(1.0, np.abs(x).max(axis=1))
    starts = np.concatenate([x + delta[:, None] * v, x - delta[:, None] * v])
    rep_ends, rep_ok, paths = descent_ends(problem, starts)
    rep_profiles = [
        (*profile(problem, x[r], paths[r]), *profile(problem, x[r], paths[reps.size + r])) for r in range(reps.size)
    ]
    profiles: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    rep_ends = np.stack([rep_ends[: reps.size], rep_ends[reps.size :]], axis=1)  # (r, 2, n)
    rep_ok = np.stack([rep_ok[: reps.size], rep_ok[reps.size :]], axis=1)
    filled = np.zeros(s, dtype=bool)
    for r, saddle in enumerate(reps):  # map each representative's branches by every sign flip
        for g in signs:
            row = match_points((g * points[saddle])[None], points[saddles], SAME_POINT_TOL)[0]
            if row < 0 or filled[row]:
                continue
            filled[row] = True
            end_points[row] = g * rep_ends[r]
            arrived[row] = rep_ok[r]
            ends[row] = match_points(end_points[row], points, SAME_POINT_TOL)
            integrated[row] = saddles[row] == saddle
            profiles[int(row)] = rep_profiles[r]
    return Connections(saddles, ends, end_points, arrived, integrated, profiles)


__all__ = ["FLOW_TOL", "START_STEP", "Connections", "connect", "descent_ends", "profile"]
