"""Positive-dimensional critical sets: dimension, degree and loss of every component found.

Without a generic regulariser the critical set of L is not finite (DOMAIN.md, "Symmetries"):
with Λ = 0 every hidden layer carries a GL(d_i) action, scalar L2 keeps an orthogonal one, and
residual layers keep a shifted GL action.  Counting points is then meaningless; what is
meaningful is the *numerical irreducible decomposition* of V(∇L) (Sommese & Wampler, *The
Numerical Solution of Systems of Polynomials*, 2005, ch. 13–15): for every irreducible
component its dimension k, its degree (how many points a generic codimension-k affine slice
cuts out — the *witness set*) and the loss, which is constant on it.

Method, and why this one.
1. *Seeds.*  A normal `solve` of ∇L = 0 ends many paths on the positive-dimensional set
   (return code SINGULAR).  Those endpoints land on components, but at no particular point.
2. *Local dimension.*  At a smooth point of a generically reduced k-dimensional component the
   Hessian (the Jacobian of ∇L) has corank exactly k, so the corank proposes k; it is *tested*
   rather than trusted: step off the seed by ε along its kernel, cut with a random codimension-k
   slice {A x = A x'} through the moved point and Newton-solve the square system
   [R ∇L(x); A x − b] (R random (n−k)×n: Bertini's randomisation, which keeps every
   k-dimensional component of V(∇L) a component of V(R∇L)).  The test passes only if Newton
   converges quadratically (the sliced Jacobian is nonsingular, so the component is reduced
   and not more than k-dimensional) to a point within O(ε) of the seed where the *full*
   gradient vanishes to rounding (so the set really is k-dimensional there: if it were
   smaller, the slice would miss it and only V(R∇L) would be hit, with ‖∇L‖ ~ ε²).  Candidate
   k run from a generous corank down to 1; none passing means an isolated (possibly multiple)
   point.
3. *Witness sets by monodromy.*  One random slice {A_k x = b₀} per dimension, with b₀ small
   beside the points' layer-balanced size (GL orbits are not compact; slices far out cut them in
   large, unbalanced points joined by hard paths — measured on (3,2,3)).  Every tested seed is
   moved onto it (a parameter homotopy in b); from each point not yet explained, monodromy
   (b₀ → b₁ → b₂ → b₀ around random triangles, several per batch) collects the orbit of that
   point, which is the witness set of *one* irreducible component (the monodromy group acts
   transitively on it).  Seeds landing in a known witness set belong to that component — the
   membership test, done by tracking the seed to the common slice rather than the witness set
   to the seed's slice: one path instead of `degree`.  Seeds that passed no dimension test (very
   unbalanced, or special points) get the classical test: the witness set is moved to the
   slice through them.
4. *Trace test.*  Monodromy alone stops only heuristically.  The *linear trace test* proves
   completeness: translate the slice along a random direction, b₀ + τ d; the sum of the
   witness points (projected on a random vector) is an affine function of τ exactly when the
   witness set is the complete slice of a union of components (Sommese, Verschelde & Wampler,
   SIAM J. Numer. Anal. 40, 2002).  Three values of τ decide.  It is tried after every round
   of loops that finds nothing new and ends the search when it passes; sets that monodromy
   left apart are joined when they share a point or their union passes (`merge_incomplete`).

Tracking reuses the native engine's tracker (RK4 in s = log t): t = e^s runs over the half
circle s ∈ [0, iπ] and b(t) = (b_a + b_b)/2 + t (b_a − b_b)/2, so t = 1 is b_a, t = −1 is b_b,
and the path in b-space is a half circle through generic complex parameters (the γ-trick of
parameter homotopies).  Every path carries its own b_a, b_b (the tracker passes `index` to
homotopies with `arc_of_path`), and the equations and layers are equilibrated per path
(`SliceHomotopy`).

For Λ = 0 the critical values are known in closed form (Achour, Malgouyres & Gerchinovitz):
½tr(YYᵀ) − ½Σ_{i∈S} μ_i over subsets S of size ≤ r_max = min(d_0..d_H), μ_i the eigenvalues
of Y Xᵀ (X Xᵀ)⁻¹ X Yᵀ (scaled as Problem.loss is); every component is matched against them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic import result_directory
from ..common.points import SAME_POINT_TOL, match_points, unique_points
from ..engines.native.tracker import REACHED_END, Tracker, TrackerOptions, solve
from ..errors import ConfigError
from ..model.config import Config
from ..model.options import SolverOptions
from ..model.problem import Problem

RANK_TOL = 1e-8  # singular values ≤ RANK_TOL · max(1, σ_max) count as zero (as in analysis.py)
CLOSED_FORM_TOL = 1e-8  # relative agreement of a component's loss with a closed-form value


@dataclass(frozen=True)
class ComponentOptions:
    """Tolerances and loop limits of the decomposition (defaults tuned on (2,2,2) and (3,2,3))."""

    move: float = 1e-3  # relative step off a seed before slicing (the local dimension test)
    corank_tol: float = 1e-4  # generous: candidate dimensions are tested, not trusted
    residual_tol: float = 1e-10  # critical_residual (per-layer backward error) on the critical set
    newton_tol: float = 1e-10  # relative last Newton step of a converged point
    max_condition: float = 1e12  # equilibrated condition of the sliced Jacobian (÷ 100 in the dimension test)
    slice_offset: float = 0.1  # |b₀| relative to the critical points' balanced size
    loop_size: float = 0.3  # monodromy loops and trace-test translations, relative to that size
    loops_per_round: int = 4  # monodromy loops tracked together in one batch
    stall_rounds: int = 4  # give up after this many rounds with no new point and a failed trace test …
    max_loops: int = 80  # … or after this many loops
    trace_tol: float = 1e-7  # relative deviation of the trace from an affine function of τ
    tracker: TrackerOptions = field(default_factory=lambda: TrackerOptions(tol=1e-4, max_step=0.25, max_steps=1000))
    membership_steps: int = 600  # step cap when moving a witness set to a (special) seed's slice


@dataclass(frozen=True)
class Slicing:
    """One random codimension-k slice family {A x = b} and the randomisation R of ∇L."""

    A: np.ndarray  # (k, n)
    R: np.ndarray  # (n − k, n)
    b0: np.ndarray  # (k,) the generic slice on which witness sets live
    size: float = 1.0  # typical (layer-balanced) size of the critical points: loops and pencils scale with it

    @property
    def k(self) -> int:
        return self.A.shape[0]

    @classmethod
    def random(cls, n: int, k: int, scale: float, rng: np.random.Generator) -> Slicing:
        def unit_rows(rows: int) -> np.ndarray:
            M = rng.standard_normal((rows, n)) + 1j * rng.standard_normal((rows, n))
            return M / np.linalg.norm(M, axis=1, keepdims=True)

        b0 = scale * (rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.sqrt(2)
        return cls(A=unit_rows(k), R=unit_rows(n - k), b0=b0)


@dataclass
class Component:
    """One irreducible component of the critical set (k = 0: an isolated critical point)."""

    dimension: int
    witness_points: np.ndarray  # (degree, n) on the slice {A x = b₀} (k = 0: the point)
    trace_passed: bool | None  # None for isolated points (nothing to prove)
    trace_error: float
    loops: int  # monodromy loops run
    loss: complex
    loss_spread: float  # max |L(w) − loss| over the witness points
    rank_end_to_end: int
    partial_ranks: str  # "i-j:r;…" ranks of W_j⋯W_i at a generic witness point
    seeds: int = 0  # distinct endpoints of the initial solve on this component
    real_seeds: int = 0
    seed_loss_spread: float = 0.0  # max |L(seed) − loss| over those endpoints
    closed_form: dict[str, Any] | None = None
    slicing: Slicing | None = None  # the witness slice {A x = b₀} and randomisation R (k > 0)

    @property
    def degree(self) -> int:
        return int(self.witness_points.shape[0])

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "degree": self.degree,
            "trace_test": None if self.trace_passed is None else ("passed" if self.trace_passed else "failed"),
            "trace_error": _finite(self.trace_error),
            "monodromy_loops": self.loops,
            "loss": float(self.loss.real),
            "loss_imag": float(self.loss.imag),
            "loss_spread": float(self.loss_spread),
            "rank_end_to_end": self.rank_end_to_end,
            "partial_ranks": self.partial_ranks,
            "seeds": self.seeds,
            "real_seeds": self.real_seeds,
            "seed_loss_spread": float(self.seed_loss_spread),
            "closed_form": self.closed_form,
            "witness_points": [[[float(v.real), float(v.imag)] for v in row] for row in self.witness_points],
        }


@dataclass
class Decomposition:
    """The components found, the closed-form comparison and what could not be explained."""

    name: str
    widths: tuple[int, ...]
    regularization: str
    residual: bool
    components: list[Component]
    closed_form: list[dict[str, Any]] | None  # every closed-form value, with `found`
    solve_counts: dict[str, int]  # path counts of the initial solve
    seeds: int  # distinct finite endpoints of the initial solve
    seeds_lost: int  # seeds whose tracking to the witness slice failed
    unexplained: list[dict[str, Any]]  # singular seeds on no component found (see notes)
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    run: Any = field(default=None, repr=False)  # the initial solve (run.Run), when there was one

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "widths": list(self.widths),
            "regularization": self.regularization,
            "residual": self.residual,
            "components": [c.as_dict() for c in self.components],
            "by_dimension": _by_dimension(self.components),
            "all_trace_tests_passed": all(c.trace_passed is not False for c in self.components),
            "closed_form": self.closed_form,
            "initial_solve": {
                "paths": self.solve_counts,
                "seeds": self.seeds,
                "seeds_lost": self.seeds_lost,
                "unexplained": self.unexplained,
            },
            "seconds": {key: round(value, 3) for key, value in self.seconds.items()},
            "notes": self.notes,
        }

    def _seed_line(self) -> str:
        counts = self.solve_counts
        line = f"{self.seeds} distinct critical points used as seeds"
        if counts:
            line = (
                f"initial solve: {counts['tracked']} paths, {counts['finite']} finite ({counts['singular']} "
                f"singular); {line}"
            )
        return line + (f", {self.seeds_lost} lost on the way to the witness slice" if self.seeds_lost else "")

    def lines(self) -> list[str]:
        """A plain-text report: one line per component, then the closed-form comparison."""
        out = [
            f"dln components: {self.name} — widths {'x'.join(map(str, self.widths))}, "
            f"regularization {self.regularization}{', residual' if self.residual else ''}",
            self._seed_line(),
            f"{'dim':>3} {'degree':>6} {'trace test':>16} {'loss':>22} {'spread':>8} {'rank P':>6} "
            f"{'seeds (real)':>12}  {'partial ranks':<18} closed form",
        ]
        for c in self.components:
            trace = "—" if c.trace_passed is None else ("passed" if c.trace_passed else "FAILED")
            if c.trace_passed is not None:
                trace += f" {c.trace_error:.0e}"
            loss = f"{c.loss.real:.14g}" + (f"{c.loss.imag:+.2e}i" if abs(c.loss.imag) > 1e-9 else "")
            cf = ""
            if c.closed_form is not None:
                cf = f"S={c.closed_form['subset']} rel.diff {c.closed_form['relative_difference']:.1e}"
            elif self.closed_form is not None:
                cf = "no closed-form value"
            out.append(
                f"{c.dimension:>3} {c.degree:>6} {trace:>16} {loss:>22} {c.loss_spread:>8.1e} "
                f"{c.rank_end_to_end:>6} {f'{c.seeds} ({c.real_seeds})':>12}  {c.partial_ranks:<18} {cf}"
            )
        if self.closed_form is not None:
            found = [v for v in self.closed_form if v["found"]]
            out.append(f"closed-form critical values (Achour et al.): {len(found)} of {len(self.closed_form)} found")
            for v in self.closed_form:
                status = f"found (rel.diff {v['relative_difference']:.1e})" if v["found"] else "NOT FOUND"
                out.append(f"  S={v['subsets'][0]}: {v['value']:.14g}  {status}")
        if not all(c.trace_passed is not False for c in self.components):
            out.append("WARNING: some witness sets failed the trace test: their degree may be too small")
        out.extend(f"note: {n}" for n in self.notes)
        out.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return out


# ------------------------------------------------------------------ closed form
def closed_form_values(problem: Problem) -> list[dict[str, Any]] | None:
    """Critical values of the unregularised, non-residual loss (Achour et al.), or None when
    the formula does not apply (penalty, residual layers, or X Xᵀ singular)."""
    if any(np.any(c != 0) for c in problem.penalty) or any(problem.residual_layers):
        return None
    if np.linalg.matrix_rank(problem.S) < problem.S.shape[0]:
        return None
    # Problem's S = s X Xᵀ, T = s Y Xᵀ, so T S⁻¹ Tᵀ = s · Y Xᵀ (X Xᵀ)⁻¹ X Yᵀ: eigenvalues s·μ_i
    mu = np.linalg.eigvalsh(problem.T @ np.linalg.solve(problem.S, problem.T.T))[::-1]
    base = 0.5 * problem.scale * float(np.sum(problem.Y * problem.Y))
    r_max = min(problem.widths)
    values: list[dict[str, Any]] = []
    for size in range(r_max + 1):
        for subset in combinations(range(len(mu)), size):
            value = base - 0.5 * float(np.sum(mu[list(subset)]))
            same = [v for v in values if abs(v["value"] - value) <= CLOSED_FORM_TOL * max(1.0, abs(value))]
            if same:  # equal eigenvalues (e.g. zeros when d_H > rank) give one value
                same[0]["subsets"].append([i + 1 for i in subset])
            else:
                values.append({"value": value, "subsets": [[i + 1 for i in subset]], "found": False})
    return sorted(values, key=lambda v: v["value"])


def match_closed_form(components: list[Component], values: list[dict[str, Any]]) -> None:
    """Attach the nearest closed-form value to every component (when within CLOSED_FORM_TOL)."""
    table = np.array([v["value"] for v in values])
    for c in components:
        rel = np.abs(c.loss - table) / np.maximum(np.abs(table), 1e-12)  # a value 0 (exact fit): absolute
        best = int(np.argmin(rel))
        if rel[best] <= CLOSED_FORM_TOL:
            c.closed_form = {
                "subset": values[best]["subsets"][0],
                "value": float(table[best]),
                "relative_difference": float(rel[best]),
            }
            entry = values[best]
            entry["found"] = True
            entry["relative_difference"] = max(float(rel[best]), entry.get("relative_difference", 0.0))


# ---------------------------------------------------------------- sliced system
def sliced_system(
    problem: Problem, slicing: Slicing, x: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[R ∇L(x); A x − b] and its Jacobian [R ∇²L(x); A] at a batch; also ∇L itself."""
    grad, hess, _ = problem.evaluate(np.ascontiguousarray(x, dtype=complex))
    values = np.concatenate([grad @ slicing.R.T, x @ slicing.A.T - b], axis=1)
    jac = np.concatenate([slicing.R @ hess, np.broadcast_to(slicing.A, (x.shape[0], *slicing.A.shape))], axis=1)
    return values, jac, grad


def critical_residual(problem: Problem, x: np.ndarray) -> np.ndarray:
    """A backward-error-like size of ∇L(x): per layer, ‖G_i‖∞ over the same gradient built from
    absolute values (|A_i|ᵀ(|P||S| + |T|)|B_i|ᵀ + |C_i||W_i|), the worst layer.  Rounding level
    on the critical set however unbalanced the layers are (GL orbits reach points where one
    layer is 10⁴ times another, and a residual relative to ‖x‖ would then accept anything)."""
    x = np.ascontiguousarray(x, dtype=complex)
    grad = np.abs(problem.gradient(x))
    absolute = replace(
        problem, S=np.abs(problem.S), T=-np.abs(problem.T), penalty=tuple(np.abs(c) for c in problem.penalty)
    )
    size = absolute.gradient(np.abs(x))
    off = problem.offsets
    ratios = [
        grad[:, off[i] : off[i + 1]].max(axis=1) / np.maximum(size[:, off[i] : off[i + 1]].max(axis=1), 1e-300)
        for i in range(problem.depth)
    ]
    return np.max(ratios, axis=0)


def balanced_size(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Geometric mean of the layers' max-norms: the size of a point once the layers are
    balanced (GL and O actions trade one layer's size for another's)."""
    off = problem.offsets
    layer = np.stack([np.abs(x[:, off[i] : off[i + 1]]).max(axis=1) for i in range(problem.depth)], axis=1)
    return np.exp(np.mean(np.log(np.maximum(layer, 1e-12)), axis=1))


def coordinate_scale(problem: Problem, x: np.ndarray) -> np.ndarray:
    """(N, n) the size of each coordinate's layer (max-norm), floored at 10⁻³ of the largest:
    moves and distances are measured per layer, so a small layer is not swamped by a big one."""
    off = problem.offsets
    layer = np.stack([np.abs(x[:, off[i] : off[i + 1]]).max(axis=1) for i in range(problem.depth)], axis=1)
    layer = np.maximum(layer, 1e-3 * np.maximum(layer.max(axis=1, keepdims=True), 1e-9))
    return np.repeat(layer, problem.group_sizes, axis=1)


def newton(
    problem: Problem, slicing: Slicing, x: np.ndarray, b: np.ndarray, iterations: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton on the sliced system; (points, relative last step, condition of the Jacobian with
    rows and layers equilibrated — witness points of these non-compact components can be large
    and unbalanced, which inflates the raw condition number without making them singular)."""
    x = x.astype(complex).copy()
    step = np.full(x.shape[0], np.inf)
    for _ in range(iterations):
        values, jac, _ = sliced_system(problem, slicing, x, b)
        col = coordinate_scale(problem, x)  # equilibrated solve (see SliceHomotopy)
        jac = jac * col[:, None, :]
        inv = 1.0 / np.maximum(np.abs(jac).max(axis=2), 1e-300)
        dx = col * solve(jac * inv[:, :, None], -values * inv)
        ok = np.isfinite(dx).all(axis=1)
        x[ok] += dx[ok]
        step = np.where(ok, np.abs(dx).max(axis=1) / np.maximum(1.0, np.abs(x).max(axis=1)), np.inf)
    _, jac, _ = sliced_system(problem, slicing, x, b)
    with np.errstate(all="ignore"):
        jac = jac * coordinate_scale(problem, x)[:, None, :]
        jac = jac / np.maximum(np.abs(jac).max(axis=2, keepdims=True), 1e-300)
        cond = np.linalg.cond(jac)
    return x, step, np.nan_to_num(cond, nan=np.inf)


class SliceHomotopy:
    """H(x, t) = [R ∇L(x); A x − b(t)] with b(t) = (b_a + b_b)/2 + t (b_a − b_b)/2 per path.

    Implements the part of the native homotopy interface the tracker uses without an endgame:
    `evaluate`, with `index` (which paths of the batch these are) since every path has its
    own arc (`arc_of_path`, as engines/native/monodromy.py's parameter homotopy).

    Equilibrated: the state is z = x / c with c the per-layer size at the start of the arc, and
    every equation is divided by its largest Jacobian entry.  Witness points of GL-orbit
    components are often large and unbalanced (one layer 100 times another); unscaled, the
    Jacobian's condition (~10¹²) puts a noise floor of ~10⁻⁴ under every Newton correction,
    which the step control reads as truncation error — steps then stall at ~10⁻³ and paths
    hit the step limit.  Scaling rows does not move the solutions, and the Davidenko tangent
    −H_y⁻¹ H_t is unchanged by it."""

    def __init__(self, problem: Problem, slicing: Slicing, b_a: np.ndarray, b_b: np.ndarray, scale: np.ndarray) -> None:
        self.problem = problem
        self.slicing = slicing
        self.center = (b_a + b_b) / 2
        self.half = (b_a - b_b) / 2
        self.scale = scale
        self.arc_of_path = np.arange(b_a.shape[0])

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rows = self.arc_of_path if index is None else index
        half = self.half[rows]
        col = self.scale[rows]
        b = self.center[rows] + t[:, None] * half
        values, jac, _ = sliced_system(self.problem, self.slicing, y * col, b)
        jac = jac * col[:, None, :]
        inv = 1.0 / np.maximum(np.abs(jac).max(axis=2), 1e-300)
        values = values * inv
        jac = jac * inv[:, :, None]
        if not derivative_t:
            return values, jac, None
        dt = np.zeros_like(values)
        k = self.slicing.k
        dt[:, values.shape[1] - k :] = -half * inv[:, -k:]
        return values, jac, dt


def move(
    problem: Problem,
    slicing: Slicing,
    x: np.ndarray,
    b_a: np.ndarray,
    b_b: np.ndarray,
    options: ComponentOptions,
    *,
    strict: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Track points of the slice {A x = b_a} to {A x = b_b} (per-path rows of b); the endpoints
    and which paths arrived at a nonsingular point of the critical set (`strict=False`: at any
    point where the tracker reached b_b, for slices through special points)."""
    N = x.shape[0]
    if N == 0:
        return x, np.zeros(0, dtype=bool)
    b_a = np.broadcast_to(b_a, (N, slicing.k))
    b_b = np.broadcast_to(b_b, (N, slicing.k))
    scale = coordinate_scale(problem, x)
    homotopy = SliceHomotopy(problem, slicing, b_a, b_b, scale)
    tracker = Tracker(homotopy, options.tracker)  # type: ignore[arg-type]
    state = tracker.track(x / scale, np.zeros(N, dtype=complex), np.full(N, 1j * np.pi))
    y, step, cond = newton(problem, slicing, state.y * scale, b_b, iterations=3)
    ok = state.status == REACHED_END
    if strict:
        ok &= (step <= options.newton_tol) & (cond < options.max_condition)
        ok &= critical_residual(problem, y) <= options.residual_tol
    return y, ok


# -------------------------------------------------------------- local dimension
def candidate_coranks(problem: Problem, x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Generous Hessian coranks and the right singular vectors (N, n, n), smallest last."""
    hess = problem.hessian(np.ascontiguousarray(x, dtype=complex))
    _, sv, vh = np.linalg.svd(hess)
    corank = np.sum(sv <= tol * np.maximum(sv[:, :1], 1e-300), axis=1)
    return corank, vh.conj()


def local_dimensions(
    problem: Problem,
    x: np.ndarray,
    slicings: dict[int, Slicing],
    options: ComponentOptions,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The tested local dimension at every seed (0 if no candidate passes) and, where positive,
    a generic nearby point of that component (on its own slice {A_k z = A_k z})."""
    N, n = x.shape
    corank, kernel_rows = candidate_coranks(problem, x, options.corank_tol)
    dims = np.zeros(N, dtype=np.int64)
    generic = np.full_like(x, np.nan, dtype=complex)
    for k in range(int(corank.max(initial=0)), 0, -1):
        if k not in slicings:
            slicings[k] = Slicing.random(n, k, 1.0, rng)
        for step in (options.move, options.move / 10):  # a second, smaller step off the seed
            todo = np.flatnonzero((dims == 0) & (corank >= k))
            if todo.size == 0:
                break
            ok, z = _dimension_test(problem, slicings[k], x[todo], corank[todo], kernel_rows[todo], step, options, rng)
            dims[todo[ok]] = k
            generic[todo[ok]] = z[ok]
    return dims, generic


def _dimension_test(
    problem: Problem,
    sl: Slicing,
    x: np.ndarray,
    corank: np.ndarray,
    kernel_rows: np.ndarray,
    step: float,
    options: ComponentOptions,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Step off each seed along a random kernel direction (scaled per layer), slice through the
    moved point and Newton-solve; which seeds pass (see the module text) and the points hit."""
    n = x.shape[1]
    kern = kernel_rows[:, n - corank.max() :, :]  # (m, c_max, n), smallest singular values last
    mask = np.arange(kern.shape[1])[None, :] >= kern.shape[1] - corank[:, None]
    coef = (rng.standard_normal(mask.shape) + 1j * rng.standard_normal(mask.shape)) * mask
    v = np.einsum("mc,mcn->mn", coef, kern)
    v = coordinate_scale(problem, x) * v / np.abs(v).max(axis=1, keepdims=True)
    moved = x + step * v
    z, last, cond = newton(problem, sl, moved, moved @ sl.A.T, iterations=12)
    # the slice may meet the component well away from the seed in a small layer's own scale,
    # so "near" is measured against the whole point; it only guards against far jumps
    near = np.abs(z - x).max(axis=1) <= 0.05 * np.maximum(1.0, np.abs(x).max(axis=1))
    ok = (last <= options.newton_tol) & (cond < options.max_condition / 100) & near
    ok &= critical_residual(problem, z) <= options.residual_tol
    return ok, z


# --------------------------------------------------------------- witness sets
def monodromy(
    problem: Problem,
    slicing: Slicing,
    start: np.ndarray,
    options: ComponentOptions,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int, bool, float]:
    """Witness points of the irreducible component through `start` (points on the slice b₀).

    Each round runs `loops_per_round` random triangles b₀ → b₁ → b₂ → b₀ at once (one batch:
    with a handful of witness points the cost per step is overhead, not arithmetic).  After a
    round that adds no point the trace test is tried; it ends the search when it passes — a
    proof of completeness instead of a stopping heuristic.  Returns (witness points, loops,
    trace test passed, trace error)."""
    W = start
    loss = complex(problem.loss(start[:1])[0])
    scale = slicing.size * options.loop_size
    L, k = options.loops_per_round, slicing.k
    loops = stall = 0
    passed, error, tested = False, np.inf, -1
    while loops < options.max_loops:
        # loops of about b₀'s size, growing after every round that found nothing (the branch
        # points joining the last witness points may lie farther out) — but slowly: on large
        # loops witness points of these non-compact components run far out and paths fail
        radius = scale * 1.5**stall * 10 ** rng.uniform(-0.5, 0.5, size=(2, L, 1))
        b1, b2 = slicing.b0 + radius * (rng.standard_normal((2, L, k)) + 1j * rng.standard_normal((2, L, k)))
        d = W.shape[0]
        y = np.tile(W, (L, 1))
        legs = (
            np.broadcast_to(slicing.b0, (L * d, k)),
            np.repeat(b1, d, axis=0),
            np.repeat(b2, d, axis=0),
            np.broadcast_to(slicing.b0, (L * d, k)),
        )
        alive = np.arange(L * d)
        for b_a, b_b in zip(legs[:-1], legs[1:]):
            y, ok = move(problem, slicing, y, b_a[alive], b_b[alive], options)
            y, alive = y[ok], alive[ok]
        loops += L
        same = np.abs(problem.loss(y) - loss) <= 1e-8 * max(1.0, abs(loss))  # never absorb another component
        W, added = _add_new(W, y[same])
        if added:
            stall = 0
            continue
        stall += 1
        passed, error = trace_test(problem, slicing, W, options, rng)
        tested = W.shape[0]
        if passed or stall >= options.stall_rounds:
            break
    if tested != W.shape[0]:
        passed, error = trace_test(problem, slicing, W, options, rng)
    return W, loops, passed, error


def trace_test(
    problem: Problem, slicing: Slicing, W: np.ndarray, options: ComponentOptions, rng: np.random.Generator
) -> tuple[bool, float]:
    """Linear trace test on the pencil of parallel slices {A x = b₀ + τ d}: passed, and the
    deviation of the trace from an affine function of τ relative to its size."""
    k, d = slicing.k, W.shape[0]
    direction = rng.standard_normal(k) + 1j * rng.standard_normal(k)
    direction /= np.linalg.norm(direction)
    scale = slicing.size * options.loop_size
    taus = scale * np.exp(2j * np.pi * rng.random(2)) * np.array([0.5, 1.0])
    targets = np.repeat(slicing.b0 + taus[:, None] * direction, d, axis=0)
    y, ok = move(problem, slicing, np.tile(W, (2, 1)), slicing.b0, targets, options)
    if not ok.all():
        return False, np.inf
    y1, y2 = y[:d], y[d:]
    if len(unique_points(y1, SAME_POINT_TOL)[0]) < d or len(unique_points(y2, SAME_POINT_TOL)[0]) < d:
        return False, np.inf  # two witness points merged: a path jumped
    c = rng.standard_normal(problem.n) + 1j * rng.standard_normal(problem.n)
    t0, t1, t2 = (np.sum(z @ c) for z in (W, y1, y2))
    size = max(np.sum(np.abs(z @ c)) for z in (W, y1, y2))
    predicted = t0 + (t1 - t0) * taus[1] / taus[0]
    error = float(abs(t2 - predicted) / max(size, 1e-300))
    return error <= options.trace_tol, error


@dataclass
class WitnessSet:
    """Witness points on one slice with how they were obtained (monodromy, trace test) and
    which seeds (indices) landed in them."""

    points: np.ndarray
    loops: int
    passed: bool | None
    error: float
    seeds: np.ndarray


def merge_incomplete(
    problem: Problem, slicing: Slicing, sets: list[WitnessSet], options: ComponentOptions, rng: np.random.Generator
) -> list[WitnessSet]:
    """Join witness sets of one component that monodromy left apart.

    Each set is (part of) the monodromy orbit of one point, so it lies in one irreducible
    component, and on a generic slice distinct components share no point.  Hence (1) sets that
    share a point belong to one component: an incomplete set inside a complete one is absorbed
    (its seeds counted there), two incomplete ones are joined; (2) two incomplete sets of equal
    loss whose union passes the trace test make up one component (if A, B are incomplete but
    A ∪ B is complete, B contains the rest of A's component, so lies in it).  This rescues
    components whose monodromy loops never went round the branch point joining two halves."""
    sets = list(sets)
    changed = True
    while changed:
        changed = False
        for a, b in combinations(range(len(sets)), 2):
            A, B = sets[a], sets[b]
            if A.passed is not False and B.passed is not False:
                continue
            union, _ = _add_new(A.points, B.points)
            overlap = union.shape[0] < A.points.shape[0] + B.points.shape[0]
            complete = A if A.passed else B if B.passed else None
            if overlap and complete is not None:
                if union.shape[0] > complete.points.shape[0]:
                    continue  # points outside a complete witness set: a path jumped; leave both as they are
                passed, error = True, complete.error
            elif overlap:
                passed, error = trace_test(problem, slicing, union, options, rng)
            else:
                la, lb = problem.loss(A.points[:1])[0], problem.loss(B.points[:1])[0]
                if complete is not None or abs(la - lb) > 1e-8 * max(1.0, abs(la)):
                    continue
                passed, error = trace_test(problem, slicing, union, options, rng)
                if not passed:
                    continue
            sets[a] = WitnessSet(union, A.loops + B.loops, passed, error, np.concatenate([A.seeds, B.seeds]))
            del sets[b]
            changed = True
            break
    return sets


def membership(
    problem: Problem,
    slicings: dict[int, Slicing],
    components: list[Component],
    x: np.ndarray,
    options: ComponentOptions,
) -> np.ndarray:
    """Index of a component containing each point, or −1: move the witness set of every
    component with the same loss to the slice through the point and see whether the point is
    among the endpoints (Sommese & Wampler 2005, §15.1).  Works at special points of a
    component too, as long as the component is smooth there."""
    owner = np.full(x.shape[0], -1)
    losses = problem.loss(x)
    for index, c in enumerate(components):
        todo = np.flatnonzero((owner < 0) & (np.abs(losses - c.loss) <= 1e-8 * max(1.0, abs(c.loss))))
        if c.dimension == 0 or todo.size == 0:
            continue
        sl = slicings[c.dimension]
        d = c.degree
        starts = np.tile(c.witness_points, (todo.size, 1))
        targets = np.repeat(x[todo] @ sl.A.T, d, axis=0)
        capped = replace(options, tracker=replace(options.tracker, max_steps=options.membership_steps))
        y, ok = move(problem, sl, starts, sl.b0, targets, capped, strict=False)
        dist = np.abs(y - np.repeat(x[todo], d, axis=0)).max(axis=1)
        hit = (dist <= SAME_POINT_TOL * np.maximum(1.0, np.abs(y).max(axis=1))) & ok
        owner[todo[hit.reshape(todo.size, d).any(axis=1)]] = index
    return owner


def _add_new(W: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, bool]:
    """W with the candidates that are not already in it (de-duplicated among themselves)."""
    if candidates.shape[0] == 0:
        return W, False
    reps, _, _ = unique_points(candidates, SAME_POINT_TOL)
    candidates = candidates[reps]
    new = candidates[match_points(candidates, W, SAME_POINT_TOL) < 0]
    return (np.concatenate([W, new]), True) if new.shape[0] else (W, False)


# -------------------------------------------------------------------- pipeline
class SampledStarts:
    """The native engine's multihomogeneous homotopy tracking a random sample of its start
    solutions: seeds need only touch every component, not be all endpoints ((3,2,3), m = 4:
    127,905 start paths, 998 finite endpoints, 32 or more on every positive-dimensional
    component; the origin, one path, is added by `decompose_points` anyway)."""

    name = "native"

    def __init__(self, paths: int) -> None:
        self.paths = paths

    def solve(self, problem: Problem, options: SolverOptions, progress: Any = None) -> Any:
        from ..engines.base import SolveResult
        from ..engines.native.engine import NativeEngine, build_homotopy

        began = time.perf_counter()
        seed = int(options.seed)
        rng = np.random.default_rng(seed)
        homotopy = build_homotopy(problem, "multihomogeneous", rng)
        y0 = homotopy.start_solutions()
        pick = np.sort(rng.choice(len(y0), size=min(self.paths, len(y0)), replace=False))
        paths, stats = NativeEngine().track_all(homotopy, y0[pick])
        return SolveResult(
            paths=paths,
            engine=self.name,
            start_system="multihomogeneous (random sample of the start solutions)",
            seed=seed,
            seconds=time.perf_counter() - began,
            stats=replace(stats, start_solutions=int(len(y0)), sampled_paths=int(len(pick))),
        )


def decompose(
    config: Config,
    options: ComponentOptions | None = None,
    engine: Any = None,
    seed: int | None = None,
    sample_paths: int | None = None,
) -> Decomposition:
    """Solve the config's gradient system, then decompose the critical set the endpoints lie on.
    `sample_paths`: track only that many randomly chosen start paths (SampledStarts)."""
    from ..pipeline import solve as run_solve

    if config.regularization == "generalized":
        raise ConfigError(
            config.source,
            "regularization.kind",
            "generalized Λ leaves only isolated critical points (no positive-dimensional components); "
            "use dln solve, or kind: none / l2",
        )
    if config.solver.backend == "exact":
        raise ConfigError(
            config.source, "solver.backend", "exact (msolve) needs isolated solutions; use native or auto"
        )
    if sample_paths is not None and engine is None:
        engine = SampledStarts(sample_paths)
    began = time.perf_counter()
    run = run_solve(config, engine=engine)
    solve_seconds = time.perf_counter() - began
    result = decompose_points(
        run.problem,
        run.points.solutions,
        run.points.singular,
        options,
        seed=int(config.solver.seed) if seed is None else seed,
        name=config.name,
        regularization=config.regularization,
    )
    result.solve_counts = run.result.paths.counts()
    result.run = run
    info = run.result.backend_info()
    if "sampled_paths" in info and info["sampled_paths"] < info["start_solutions"]:
        result.notes.append(
            f"the initial solve tracked a random {info['sampled_paths']:,} of {info['start_solutions']:,} start "
            "paths: a component with few endpoints may have none among them"
        )
    result.seconds = {"solve": solve_seconds, **result.seconds, "total": time.perf_counter() - began}
    return result


def decompose_points(
    problem: Problem,
    seeds: np.ndarray,
    singular: np.ndarray,
    options: ComponentOptions | None = None,
    *,
    seed: int = 0,
    name: str = "",
    regularization: str = "",
) -> Decomposition:
    """The components through the given critical points (`singular`: Hessian singular there;
    nonsingular points are isolated, dimension 0)."""
    options = options or ComponentOptions()
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    seconds: dict[str, float] = {}
    seeds, singular = _with_origin(problem, np.asarray(seeds, dtype=complex), np.asarray(singular, dtype=bool))
    slicings: dict[int, Slicing] = {}
    dims = np.zeros(len(seeds), dtype=np.int64)
    generic = np.full_like(seeds, np.nan, dtype=complex)
    sing = np.flatnonzero(singular)
    if sing.size:
        dims[sing], generic[sing] = local_dimensions(problem, seeds[sing], slicings, options, rng)
    seconds["local_dimension"] = time.perf_counter() - began

    clock = time.perf_counter()
    components: list[Component] = []
    lost = 0
    seed_loss = problem.loss(seeds) if len(seeds) else np.zeros(0, dtype=complex)
    for k in sorted(slicings):
        members = np.flatnonzero(dims == k)
        if members.size == 0:
            continue
        z = generic[members]
        # A x = b₀ with b₀ small beside the points' own size: measured on (3,2,3), the witness
        # points are then moderate and well conditioned (GL orbits are not compact: slices far
        # out meet them in large, unbalanced points, and the paths between them are hard)
        size = max(float(np.median(balanced_size(problem, z))), 1e-3)
        sl = slicings[k] = replace(slicings[k], b0=slicings[k].b0 * size * options.slice_offset, size=size)
        on_slice, ok = move(problem, sl, z, z @ sl.A.T, sl.b0, options)
        lost += int(np.sum(~ok))
        members, on_slice = members[ok], on_slice[ok]
        found: list[WitnessSet] = []
        owner = np.full(members.size, -1)
        while np.any(owner < 0):
            first = int(np.flatnonzero(owner < 0)[0])
            W, loops, passed, error = monodromy(problem, sl, on_slice[first : first + 1], options, rng)
            hit = (match_points(on_slice, W, SAME_POINT_TOL) >= 0) & (owner < 0)
            hit[first] = True
            owner[hit] = len(found)
            found.append(WitnessSet(W, loops, passed, error, members[hit]))
        for ws in merge_incomplete(problem, sl, found, options, rng):
            c = _component(problem, k, ws, seeds[ws.seeds], seed_loss[ws.seeds])
            c.slicing = sl
            components.append(c)
    seconds["witness_sets"] = time.perf_counter() - clock

    # singular seeds no dimension test explained: are they (special) points of a component found?
    unexplained = np.flatnonzero((dims == 0) & singular)
    if unexplained.size:
        clock = time.perf_counter()
        on = membership(problem, slicings, components, seeds[unexplained], options)
        for c_index in np.unique(on[on >= 0]):
            c = components[c_index]
            hit = unexplained[on == c_index]
            c.seeds += hit.size
            c.real_seeds += int(np.sum(_is_real(seeds[hit])))
            c.seed_loss_spread = max(c.seed_loss_spread, float(np.abs(seed_loss[hit] - c.loss).max()))
        unexplained = unexplained[on < 0]
        seconds["membership"] = time.perf_counter() - clock
    for i in np.flatnonzero((dims == 0) & ~singular):
        point = WitnessSet(seeds[i : i + 1], 0, None, 0.0, np.array([i]))
        components.append(_component(problem, 0, point, seeds[i : i + 1], seed_loss[i : i + 1]))
    components.sort(key=lambda c: (-c.dimension, c.loss.real, c.loss.imag))

    closed = closed_form_values(problem)
    notes = []
    if closed is not None:
        match_closed_form(components, closed)
        missing = [v for v in closed if not v["found"]]
        if missing:
            notes.append(
                f"{len(missing)} closed-form critical value(s) have no component: the initial solve left no "
                "endpoint on them (a cascade or more start systems would be needed)"
            )
    elif regularization == "none":
        notes.append("no closed-form check: it needs non-residual layers and X Xᵀ invertible")
    if unexplained.size:
        notes.append(
            f"{unexplained.size} singular endpoint(s) passed no dimension test and lie on no component found "
            "(isolated multiple points, or points too unbalanced for the test): losses "
            + ", ".join(f"{v:.10g}" for v in np.unique(np.round(seed_loss[unexplained].real, 10)))
        )
    return Decomposition(
        name=name,
        widths=problem.widths,
        regularization=regularization,
        residual=any(problem.residual_layers),
        components=components,
        closed_form=closed,
        solve_counts={},
        seeds=len(seeds),
        seeds_lost=lost,
        unexplained=[
            {
                "loss": float(seed_loss[i].real),
                "loss_imag": float(seed_loss[i].imag),
                "norm": float(np.abs(seeds[i]).max()),
            }
            for i in unexplained
        ],
        seconds={**seconds, "total": time.perf_counter() - began},
        notes=notes,
    )


def write_components(result: Decomposition, directory: Path, origin: str = "") -> Path:
    """The initial solve's usual outputs plus components.json and components.md, all put in
    place together (`common.atomic.result_directory`)."""
    from ..reports.files import write_result_files

    directory = Path(directory)
    with result_directory(directory, origin, kind="components") as tmp:
        if result.run is not None:
            write_result_files(result.run, tmp)
        (tmp / "components.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
        (tmp / "components.md").write_text(
            f"# Components of the critical set: {result.name}\n\n```\n" + "\n".join(result.lines()) + "\n```\n",
            encoding="utf-8",
        )
    return directory


def _component(problem: Problem, k: int, ws: WitnessSet, seed_points: np.ndarray, seed_losses: np.ndarray) -> Component:
    losses = problem.loss(ws.points)
    loss = complex(np.mean(losses))
    rank, partial = _ranks(problem, ws.points[0])
    return Component(
        dimension=k,
        witness_points=ws.points,
        trace_passed=ws.passed,
        trace_error=ws.error,
        loops=ws.loops,
        loss=loss,
        loss_spread=float(np.abs(losses - loss).max()),
        rank_end_to_end=rank,
        partial_ranks=partial,
        seeds=int(seed_points.shape[0]),
        real_seeds=int(np.sum(_is_real(seed_points))),
        seed_loss_spread=float(np.abs(seed_losses - loss).max(initial=0.0)),
    )


def _with_origin(problem: Problem, seeds: np.ndarray, singular: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seeds plus the origin when it is critical (always, without residual layers) and not
    among them already: a single path ends there, easily lost to sampling."""
    origin = np.zeros((1, problem.n), dtype=complex)
    if np.abs(problem.gradient(origin)).max() > 0 or (len(seeds) and np.abs(seeds).max(axis=1).min() <= 1e-12):
        return seeds, singular
    with np.errstate(all="ignore"):
        cond = float(np.linalg.cond(problem.hessian(origin)[0]))
    return np.concatenate([seeds, origin]), np.append(singular, not cond < 1e10)


def _is_real(x: np.ndarray) -> np.ndarray:
    return np.abs(x.imag).max(axis=1, initial=0.0) <= 1e-8 * np.maximum(1.0, np.abs(x).max(axis=1))


def _ranks(problem: Problem, x: np.ndarray) -> tuple[int, str]:
    """Numerical ranks of P and of every partial product M_j⋯M_i at one point."""
    products = problem.partial_products(x[None, :])
    ranks = {}
    for key, mat in products.items():
        sv = np.linalg.svd(mat[0], compute_uv=False)
        ranks[key] = int(np.sum(sv > RANK_TOL * max(1.0, sv[0] if sv.size else 0.0)))
    return ranks[(1, problem.depth)], ";".join(f"{i}-{j}:{ranks[(i, j)]}" for i, j in sorted(ranks))


def _by_dimension(components: list[Component]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for c in components:
        entry = out.setdefault(str(c.dimension), {"components": 0, "total_degree": 0})
        entry["components"] += 1
        entry["total_degree"] += c.degree
    return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


__all__ = [
    "Component",
    "ComponentOptions",
    "Decomposition",
    "Slicing",
    "closed_form_values",
    "decompose",
    "local_dimensions",
    "monodromy",
    "trace_test",
]
