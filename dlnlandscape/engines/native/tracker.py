"""Predictor–corrector path tracking, all paths at once, in the logarithmic parameter s = log t.

Method.  Each path solves the Davidenko equation ∂H/∂y · dy/ds = −∂H/∂t · dt/ds; the predictor
is classical fourth-order Runge–Kutta on it (the compiled loop, after a path's first step on an
arc, extrapolates its last accepted points and tangents instead: `TrackerOptions.predictor`,
kernel.track_paths), the corrector two Newton steps at the new parameter.  The size of the
first Newton correction estimates the local predictor error, and the step size follows from it
with the usual `(tol / err)^(1/order)` rule — per path, so easy paths
take long steps while hard ones shorten theirs.  A step is accepted only if the corrector
contracts, which (with a small predictor error) keeps a path on its own branch.

Why s = log t and not t.  Near t = 0 a path behaves like a Puiseux series in t^(1/c); in s it
becomes a sum of decaying exponentials e^(ks/c), which a fixed-order predictor follows with
steps of constant size in s — the tracker needs no separate "endgame zone" step rule, and the
geometric sampling that valuation estimates and Cauchy's integral formula rely on comes for
free (cf. the power-series and Cauchy endgames of Bates, Hauenstein, Sommese & Wampler,
*Numerically Solving Polynomial Systems with Bertini*, SIAM 2013, ch. 3; HomotopyContinuation.jl
uses a Padé predictor in t and the same valuation test for divergence).

All arrays are batch-first `(paths, n + G)`; a boolean mask selects the paths still moving, and
no Python loop ever runs over individual paths.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ...common.linalg import solve
from .executors import current_executor
from .homotopies.base import CompiledHomotopy, EndgameHomotopy, Homotopy


@dataclass(frozen=True)
class TrackerOptions:
    """Step control and stopping rules (defaults tuned on (2,2,2) and (1,2,2,1))."""

    tol: float = 1e-3  # accepted relative size of the first Newton correction
    initial_step: float = 0.05  # in s
    max_step: float = 1.0  # in s
    min_step: float = 1e-11  # in s; below this the path has failed
    max_steps: int = 4000
    t_endgame: float = 0.05  # below this |t|, try Newton at t = 0 and watch valuations
    t_min: float = 1e-7  # undecided paths stop here and go to the Cauchy endgame
    infinity_ratio: float = 1e-3  # |h_g| / ‖y_g‖ below which a stable valuation means infinity
    # Relative size below which both Newton corrections count as converged even if the second
    # does not contract: double precision's limit near large solutions (|y| ~ 10², degree 7:
    # cancellation leaves ~1e-7) — 0 keeps the strict contraction test.
    noise_floor: float = 0.0
    # The compiled loop (kernel.track_paths) starts a step from the tangent the last correction
    # of the step before factored (or, after a rejection, from the same tangent): one evaluation
    # and factorisation of six saved.  The Python loop over `rk4_correct` always computes it
    # afresh; with False the compiled loop does too and both take exactly the same steps.
    reuse_tangent: bool = True
    # The compiled loop's predictor: "cubic" / "quintic" extrapolate the Hermite polynomial
    # through the current point and the last one / two accepted points with their tangents (no
    # evaluation: a step costs its two Newton corrections, two evaluations and factorisations
    # instead of five), after RK4 first steps on each arc; "rk4" always runs RK4.  Needs
    # reuse_tangent.  The Python loop always runs RK4.  RK4 stays the default: with "quintic"
    # (2,2,2,2) m = 2 ran 1.2× faster on solver seeds 5 and 6, but on seed 7 monodromy missed 3
    # orbits (48 points) that RK4's run found and the trace test passed anyway (2.8e-11 against
    # 1e-10) — a wrong count reported as proven (benchmarks/results-predictor.md).
    predictor: str = "rk4"

    def tighter(self, factor: float = 10.0) -> TrackerOptions:
        """Options for re-tracking paths suspected of jumping."""
        from dataclasses import replace

        return replace(
            self,
            tol=self.tol / factor**2,
            max_step=self.max_step / factor,
            initial_step=self.initial_step / factor,
            max_steps=self.max_steps * 4,
        )


COMPILED_ROUNDS = 64  # steps per path per call of the compiled loop: stop requests are heard between calls


class PathStatus(enum.IntEnum):
    """Where a path is in a tracking run (`TrackState.status`, an int8 array of these values)."""

    TRACKING = 0  # still moving
    CONVERGED = 1  # Newton at t = 0 converged (endgame runs only)
    AT_INFINITY = 2  # a homogenising coordinate vanishes at a stable rate (endgame runs only)
    FAILED = 3  # step size underflow or too many steps
    REACHED_END = 4  # arrived at s_b


TRACKING, CONVERGED, AT_INFINITY, FAILED, REACHED_END = PathStatus  # the short names used in code


def newton_step(evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> np.ndarray:
    values, jac = evaluate(y)
    return solve(jac, -values)


@dataclass
class TrackState:
    """Mutable per-path state of one tracking run (all arrays indexed by path)."""

    y: np.ndarray
    u: np.ndarray  # progress along s_a → s_b, in [0, 1]
    du: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    s_a: np.ndarray
    s_b: np.ndarray
    # valuation monitor (main run only)
    s_newton: np.ndarray | None = None  # s at the last Newton-at-t=0 attempt
    s_check: np.ndarray | None = None
    log_ratio_check: np.ndarray | None = None
    valuation: np.ndarray | None = None
    valuation_stable: np.ndarray | None = None  # last two estimates agreed (per group)
    # the compiled loop's tangents (kernel_data.PathBatch.tangent), made by its first call
    tangent: np.ndarray | None = None
    tangent_ready: np.ndarray | None = None
    behind: np.ndarray | None = None  # and the points behind with their tangents (PathBatch.behind)
    behind_u: np.ndarray | None = None

    def s(self, index: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        uu = self.u[index] if u is None else u
        return self.s_a[index] + uu * (self.s_b[index] - self.s_a[index])


class Steps(Protocol):
    """The two step operations the tracker runs: in NumPy (NumpySteps, the reference) or
    compiled (kernel.CompiledSteps)."""

    name: str

    def rk4_correct(
        self, y: np.ndarray, s0: np.ndarray, ds: np.ndarray, h: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def newton_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    # the whole step loop path by path (kernel.CompiledSteps.track_paths), or None: the tracker
    # then runs its own loop over `rk4_correct` — same steps, Python per step
    track_paths: Callable[..., None] | None


class NumpySteps:
    """The tracker's step operations in batched NumPy: the readable reference implementation."""

    name = "numpy"
    track_paths = None  # the tracker's own loop

    def __init__(self, homotopy: Homotopy) -> None:
        self.homotopy = homotopy

    def _tangent(self, y: np.ndarray, s: np.ndarray, ds: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """dy/du along s(u) = s_a + u (s_b − s_a): −H_y⁻¹ H_t · t · (s_b − s_a)."""
        t = np.exp(s)
        _, jac, dt = self.homotopy.evaluate(y, t, index=index)
        assert dt is not None
        return solve(jac, -dt * (t * ds)[:, None])

    def rk4_correct(
        self, y: np.ndarray, s0: np.ndarray, ds: np.ndarray, h: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One RK4 predictor step of length h (in u) and two Newton corrections at the new t.

        `index` says which paths of the tracked batch these are (homotopies with one arc per
        path need it).  Returns the corrected points and the norms of both corrections."""
        hs = h * ds
        k1 = self._tangent(y, s0, ds, index)
        k2 = self._tangent(y + (h / 2)[:, None] * k1, s0 + hs / 2, ds, index)
        k3 = self._tangent(y + (h / 2)[:, None] * k2, s0 + hs / 2, ds, index)
        k4 = self._tangent(y + h[:, None] * k3, s0 + hs, ds, index)
        predicted = y + (h / 6)[:, None] * (k1 + 2 * k2 + 2 * k3 + k4)
        t = np.exp(s0 + hs)

        def at_t(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            values, jac, _ = self.homotopy.evaluate(z, t, derivative_t=False, index=index)
            return values, jac

        d1 = newton_step(at_t, predicted)
        y1 = predicted + d1
        d2 = newton_step(at_t, y1)
        return y1 + d2, np.linalg.norm(d1, axis=1), np.linalg.norm(d2, axis=1)

    def newton_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two Newton steps on the t = 0 system; the point and both correction norms."""
        homotopy = self.homotopy
        if not isinstance(homotopy, EndgameHomotopy):
            raise TypeError("Newton at t = 0 needs a homotopy with a target system (EndgameHomotopy)")

        def target(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            values, jac = homotopy.evaluate_target(z)
            assert jac is not None
            return values, jac

        d1 = newton_step(target, y)
        y1 = y + d1
        d2 = newton_step(target, y1)
        return y1 + d2, np.linalg.norm(d1, axis=1), np.linalg.norm(d2, axis=1)


def make_steps(homotopy: Homotopy, kernel: str = "auto") -> Steps:
    """Compiled steps when numba is there, the homotopy can be compiled and `kernel` allows it
    ("auto" or "numba": a network's gradient from matrix products where the homotopy offers
    it; "monomial": compiled, but always in sparse monomial form), else the NumPy reference
    ("numpy")."""
    if kernel in ("auto", "numba", "monomial") and isinstance(homotopy, CompiledHomotopy):
        from .kernel import HAVE_NUMBA, CompiledSteps

        if HAVE_NUMBA:
            return CompiledSteps(homotopy, structured=kernel != "monomial")
    if kernel in ("numba", "monomial"):
        raise RuntimeError("compiled steps need numba and a homotopy with kernel_data()")
    return NumpySteps(homotopy)


class Tracker:
    """Tracks batches of paths of one homotopy."""

    def __init__(self, homotopy: Homotopy, options: TrackerOptions | None = None, steps: Steps | None = None) -> None:
        self.homotopy = homotopy
        self.options = options or TrackerOptions()
        self.steps: Steps = steps or NumpySteps(homotopy)

    def track(
        self,
        y0: np.ndarray,
        s_a: np.ndarray,
        s_b: np.ndarray,
        *,
        endgame: bool = False,
        progress: Callable[[int], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> TrackState:
        """Track every path from s_a to s_b (per-path complex values) along a straight line.

        With `endgame=True` (the main run from t = 1 towards t = 0) paths also stop early when
        Newton at t = 0 converges (CONVERGED) or a homogenising coordinate vanishes at a stable
        positive rate (AT_INFINITY).  `check` is called before every step; it may raise to
        abandon the run (a stop request, engines/control.py).
        """
        opt = self.options
        N = y0.shape[0]
        length = np.abs(s_b - s_a)
        st = TrackState(
            y=y0.astype(complex).copy(),
            u=np.zeros(N),
            du=np.minimum(opt.initial_step / length, 1.0),
            status=np.full(N, TRACKING, dtype=np.int8),
            steps=np.zeros(N, dtype=np.int64),
            s_a=s_a.astype(complex),
            s_b=s_b.astype(complex),
        )
        if endgame:
            if not isinstance(self.homotopy, EndgameHomotopy):
                raise TypeError("tracking with the endgame needs an EndgameHomotopy (projective)")
            G = self.homotopy.G
            st.s_newton = np.full(N, np.inf)
            st.s_check = np.full(N, np.nan)
            st.log_ratio_check = np.full((N, G), np.nan)
            st.valuation = np.full((N, G), np.nan)
            st.valuation_stable = np.zeros((N, G), dtype=bool)
        if not endgame and self.steps.track_paths is not None:
            # the same step control, path by path in compiled code, wherever the current
            # executor runs it (this process, or a Dask cluster: executors.py)
            current_executor().track(self.steps, st, length, opt, COMPILED_ROUNDS, check, progress)
            return st
        done_before = 0
        while True:
            idx = np.flatnonzero(st.status == TRACKING)
            if idx.size == 0:
                break
            if check is not None:
                check()
            self._step(st, idx, length[idx])
            if endgame:
                self._endgame_checks(st, idx)
            if progress is not None:
                done = int(np.sum(st.status != TRACKING))
                if done != done_before:
                    progress(done - done_before)
                    done_before = done
        return st

    def _step(self, st: TrackState, idx: np.ndarray, length: np.ndarray) -> None:
        opt = self.options
        y = st.y[idx]
        u = st.u[idx]
        h = np.minimum(st.du[idx], 1.0 - u)
        ds = st.s_b[idx] - st.s_a[idx]
        s0 = st.s(idx)
        corrected, n1, n2 = self.steps.rk4_correct(y, s0, ds, h, idx)
        norm = np.linalg.norm(y, axis=1)
        scale = np.where(norm > 0, norm, 1.0)  # affine paths can sit at the origin
        err = n1 / scale
        finite = np.isfinite(corrected).all(axis=1) & np.isfinite(err)
        contracts = (n2 <= 0.1 * n1 + 1e-14 * scale) | (np.maximum(n1, n2) <= opt.noise_floor * scale)
        accept = finite & (err <= opt.tol) & contracts
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 0.8 * (opt.tol / np.where(finite, err, np.inf)) ** 0.2
        factor = np.nan_to_num(factor, nan=0.25, posinf=3.0)
        new_du = np.where(accept, h * np.clip(factor, 0.5, 3.0), h * np.clip(factor, 0.1, 0.5))
        new_du = np.minimum(new_du, opt.max_step / length)
        acc = idx[accept]
        st.y[acc] = corrected[accept]
        st.u[acc] = st.u[acc] + h[accept]
        st.du[idx] = new_du
        st.steps[idx] += 1
        reached = acc[st.u[acc] >= 1.0 - 1e-13]
        st.status[reached] = REACHED_END
        failed = idx[(new_du * length < opt.min_step) | (st.steps[idx] >= opt.max_steps)]
        st.status[failed[st.status[failed] == TRACKING]] = FAILED

    def _endgame_checks(self, st: TrackState, idx: np.ndarray) -> None:
        """Newton at t = 0 and the divergence (valuation) test for paths near t = 0."""
        opt = self.options
        moving = idx[st.status[idx] != FAILED]
        s = st.s(moving)
        near = moving[np.abs(np.exp(s)) < opt.t_endgame]
        if near.size == 0:
            return
        hom = self.homotopy
        assert isinstance(hom, EndgameHomotopy)  # checked when the run started
        # Newton at t = 0 is tried again only once log t has dropped by 0.5 since the last try
        s_near = st.s(near).real
        due_newton = st.s_newton[near] - s_near >= 0.5
        attempt = near[due_newton]
        y = st.y[attempt]
        y2, n1, n2 = self.steps.newton_target(y)
        st.s_newton[attempt] = s_near[due_newton]
        scale = np.linalg.norm(y, axis=1)
        n1 = n1 / scale
        n2 = n2 / scale
        ok_attempt = np.isfinite(n2) & (n1 < 0.01) & (n2 <= 0.01 * n1)
        converged = attempt[ok_attempt]
        st.y[converged] = y2[ok_attempt]
        st.status[converged] = CONVERGED
        ok = np.isin(near, converged)

        # valuation of the homogenising coordinates: |h_g| ~ t^v, v > 0 means infinity
        rest = near[~ok]
        if rest.size == 0:
            return
        s_now = st.s(rest).real
        ratio = hom.homogenizing_ratio(st.y[rest])
        log_ratio = np.log(np.maximum(ratio, 1e-300))
        first = np.isnan(st.s_check[rest])
        st.s_check[rest[first]] = s_now[first]
        st.log_ratio_check[rest[first]] = log_ratio[first]
        due = (~first) & (st.s_check[rest] - s_now >= 1.0)
        if due.any():
            r = rest[due]
            v = (st.log_ratio_check[r] - log_ratio[due]) / (st.s_check[r] - s_now[due])[:, None]
            previous = st.valuation[r]
            stable = np.abs(v - previous) <= 0.1 * np.abs(v) + 1e-3
            diverging = (v > 0.05) & stable & (ratio[due] < opt.infinity_ratio)
            gone = diverging.any(axis=1) | (ratio[due] < 1e-12).any(axis=1)
            st.status[r[gone]] = AT_INFINITY
            st.valuation[r] = v
            st.valuation_stable[r] = stable
            st.s_check[r] = s_now[due]
            st.log_ratio_check[r] = log_ratio[due]
