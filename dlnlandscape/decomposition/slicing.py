"""Slices of the critical set: the square sliced system, its Newton method and its homotopy.

A k-dimensional component of V(∇L) meets a generic affine slice {A x = b} of codimension k in
finitely many points.  ∇L has n equations, the slice k more, so the sliced system is made
square by randomising the gradient: [R ∇L(x); A x − b] with R a random (n−k)×n matrix
(Bertini's randomisation, which keeps every k-dimensional component of V(∇L) a component of
V(R∇L)).  R∇L can vanish where ∇L does not, so a point of the sliced system is a critical point
only if the *full* gradient vanishes there too (`critical_residual`).

Scale is the recurring difficulty.  Components without a regulariser are orbits of GL(d_i)
(shifted GL with residual layers, O(d_i) with scalar L2): they are not compact, and their points
trade one layer's size for another's.  Points one layer 10⁴ times another are common, so
everything here is measured per layer — `balanced_size` (the size a point has once its layers
are balanced), `coordinate_scale` (each coordinate's layer size), `critical_residual` (a
backward error per layer) — and the sliced Jacobian is equilibrated before it is solved or its
condition judged.

Moving points between slices is a parameter homotopy in b (`SliceHomotopy`) on the native
engine's tracker (RK4 in s = log t): t = e^s runs over the half circle s ∈ [0, iπ] and
b(t) = (b_a + b_b)/2 + t (b_a − b_b)/2, so t = 1 is b_a, t = −1 is b_b, and the path in b-space
is a half circle through generic complex parameters (the γ-trick of parameter homotopies).
Every path carries its own b_a, b_b, so a batch can move points between many pairs of slices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..common.linalg import solve
from ..common.newton import newton as batched_newton
from ..engines.native.homotopies.base import Evaluation, Homotopy
from ..model.problem import Problem


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
        """Unit-norm complex Gaussian rows for A and R; b₀ complex Gaussian of size `scale`."""

        def unit_rows(rows: int) -> np.ndarray:
            M = rng.standard_normal((rows, n)) + 1j * rng.standard_normal((rows, n))
            return M / np.linalg.norm(M, axis=1, keepdims=True)

        b0 = scale * (rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.sqrt(2)
        return cls(A=unit_rows(k), R=unit_rows(n - k), b0=b0)


def sliced_system(
    problem: Problem, slicing: Slicing, x: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[R ∇L(x); A x − b] and its Jacobian [R ∇²L(x); A] at a batch; also ∇L itself."""
    grad, hess, _ = problem.evaluate(np.ascontiguousarray(x, dtype=complex))
    values = np.concatenate([grad @ slicing.R.T, x @ slicing.A.T - b], axis=1)
    jac = np.concatenate([slicing.R @ hess, np.broadcast_to(slicing.A, (x.shape[0], *slicing.A.shape))], axis=1)
    return values, jac, grad


# ------------------------------------------------------------------- per-layer sizes
ZERO_LAYER_FLOOR = 1e-3  # critical_residual: |x| floored at this fraction of the largest entry


def critical_residual(problem: Problem, x: np.ndarray) -> np.ndarray:
    """A backward-error-like size of ∇L(x): per layer, ‖G_i‖∞ over the same gradient built from
    absolute values (|A_i|ᵀ(|P||S| + |T|)|B_i|ᵀ + |C_i||W_i|), the worst layer.  Rounding level
    on the critical set however unbalanced the layers are (GL orbits reach points where one
    layer is 10⁴ times another, and a residual relative to ‖x‖ would then accept anything).
    The absolute values are floored at ZERO_LAYER_FLOOR of the largest entry: on a component
    where a layer is 0 (zero_layers.py) Newton leaves it at ~10⁻¹⁷, and the blocks that layer
    multiplies would otherwise compare rounding with rounding (ratio ~1) however critical the
    point is; the floor loosens the measure by at most that fraction elsewhere."""
    x = np.ascontiguousarray(x, dtype=complex)
    grad = np.abs(problem.gradient(x))
    absolute = replace(
        problem,
        S=np.abs(problem.S),
        T=-np.abs(problem.T),
        K=None if problem.K is None else np.abs(problem.K),
        penalty=tuple(np.abs(c) for c in problem.penalty),
    )
    magnitude = np.abs(x)
    magnitude = np.maximum(magnitude, ZERO_LAYER_FLOOR * magnitude.max(axis=1, keepdims=True, initial=0.0))
    size = absolute.gradient(magnitude)
    off = problem.offsets
    ratios = [
        grad[:, off[i] : off[i + 1]].max(axis=1) / np.maximum(size[:, off[i] : off[i + 1]].max(axis=1), 1e-300)
        for i in range(problem.depth)
    ]
    return np.max(ratios, axis=0)


def balanced_size(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Geometric mean of the layers' max-norms: the size of a point once the layers are
    balanced (GL and O actions trade one layer's size for another's).  Layers below 10⁻⁸ of the
    largest are left out: on a component where a layer is 0 (zero_layers.py) it carries no size,
    and counting it would shrink the slices to the origin, where the Hessian vanishes."""
    off = problem.offsets
    layer = np.stack([np.abs(x[:, off[i] : off[i + 1]]).max(axis=1) for i in range(problem.depth)], axis=1)
    counted = layer >= 1e-8 * layer.max(axis=1, keepdims=True)
    logs = np.where(counted, np.log(np.maximum(layer, 1e-300)), 0.0)
    return np.exp(logs.sum(axis=1) / np.maximum(counted.sum(axis=1), 1))


def coordinate_scale(problem: Problem, x: np.ndarray) -> np.ndarray:
    """(N, n) the size of each coordinate's layer (max-norm), floored at 10⁻³ of the largest:
    moves and distances are measured per layer, so a small layer is not swamped by a big one."""
    off = problem.offsets
    layer = np.stack([np.abs(x[:, off[i] : off[i + 1]]).max(axis=1) for i in range(problem.depth)], axis=1)
    layer = np.maximum(layer, 1e-3 * np.maximum(layer.max(axis=1, keepdims=True), 1e-9))
    return np.repeat(layer, problem.group_sizes, axis=1)


# ------------------------------------------------------------------- Newton on a slice
def newton(
    problem: Problem, slicing: Slicing, x: np.ndarray, b: np.ndarray, iterations: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton on the sliced system (`common.newton`, plain steps); (points, relative last step,
    condition of the Jacobian with rows and layers equilibrated — witness points of these
    non-compact components can be large and unbalanced, which inflates the raw condition number
    without making them singular)."""

    def evaluate(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, jac, _ = sliced_system(problem, slicing, z, b)
        return values, jac

    result = batched_newton(evaluate, x.astype(complex), iterations, solve=equilibrated_solve(problem))
    x = result.points
    _, jac, _ = sliced_system(problem, slicing, x, b)
    with np.errstate(all="ignore"):
        jac = jac * coordinate_scale(problem, x)[:, None, :]
        jac = jac / np.maximum(np.abs(jac).max(axis=2, keepdims=True), 1e-300)
        cond = np.linalg.cond(jac)
    return x, result.step, np.nan_to_num(cond, nan=np.inf)


def equilibrated_solve(problem: Problem) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """A batched solve of J dx = r at points x with the columns scaled by the layers' sizes and
    every row by its largest entry (see SliceHomotopy): dx = c ∘ solve(D J C, D r)."""

    def solve_at(jac: np.ndarray, rhs: np.ndarray, x: np.ndarray) -> np.ndarray:
        col = coordinate_scale(problem, x)
        jac = jac * col[:, None, :]
        inv = 1.0 / np.maximum(np.abs(jac).max(axis=2), 1e-300)
        return col * solve(jac * inv[:, :, None], rhs * inv)

    return solve_at


# ------------------------------------------------------------------- the homotopy
class SliceHomotopy(Homotopy):
    """H(x, t) = [R ∇L(x); A x − b(t)] with b(t) = (b_a + b_b)/2 + t (b_a − b_b)/2 per path.

    Implements the tracker's `Homotopy` protocol (engines/native/homotopies/base.py), and only
    that: no endgame (the arcs end at generic slices), no compiled kernel.  `evaluate` is told
    which paths of the batch the points are (`index`), since every path has its own arc.

    Equilibrated: the state is z = x / c with c the per-layer size at the start of the arc, and
    every equation is divided by its largest Jacobian entry.  Witness points of GL-orbit
    components are often large and unbalanced (one layer 100 times another); unscaled, the
    Jacobian's condition (~10¹²) puts a noise floor of ~10⁻⁴ under every Newton correction,
    which the step control reads as truncation error — steps then stall at ~10⁻³ and paths
    hit the step limit.  Scaling rows does not move the solutions, and the Davidenko tangent
    −H_y⁻¹ H_t is unchanged by it."""

    def __init__(
        self,
        problem: Problem,
        slicing: Slicing,
        b_a: np.ndarray,
        b_b: np.ndarray,
        scale: np.ndarray,
        A_b: np.ndarray | None = None,
    ) -> None:
        self.problem = problem
        self.slicing = slicing
        self.center = (b_a + b_b) / 2
        self.half = (b_a - b_b) / 2
        # with A_b the slice's matrix moves too, A(t) = (A + A_b)/2 + t (A − A_b)/2 (real points)
        self.A_center = None if A_b is None else (slicing.A + A_b) / 2
        self.A_half = None if A_b is None else (slicing.A - A_b) / 2
        self.scale = scale
        self.paths = np.arange(b_a.shape[0])

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> Evaluation:
        """Equilibrated values, Jacobian in y and (with `derivative_t`) ∂H/∂t of the paths
        `index` (all paths when None) at the scaled points y and parameters t."""
        rows = self.paths if index is None else index
        half = self.half[rows]
        col = self.scale[rows]
        b = self.center[rows] + t[:, None] * half
        x = y * col
        if self.A_half is None:
            values, jac, _ = sliced_system(self.problem, self.slicing, x, b)
        else:
            A = self.A_center[None] + t[:, None, None] * self.A_half[None]  # (N, k, n)
            grad, hess, _ = self.problem.evaluate(np.ascontiguousarray(x, dtype=complex))
            values = np.concatenate([grad @ self.slicing.R.T, np.einsum("nkj,nj->nk", A, x) - b], axis=1)
            jac = np.concatenate([self.slicing.R @ hess, A], axis=1)
        jac = jac * col[:, None, :]
        inv = 1.0 / np.maximum(np.abs(jac).max(axis=2), 1e-300)
        values = values * inv
        jac = jac * inv[:, :, None]
        if not derivative_t:
            return values, jac, None
        dt = np.zeros_like(values)
        k = self.slicing.k
        moving = -half if self.A_half is None else x @ self.A_half.T - half
        dt[:, values.shape[1] - k :] = moving * inv[:, -k:]
        return values, jac, dt


__all__ = [
    "SliceHomotopy",
    "Slicing",
    "balanced_size",
    "coordinate_scale",
    "critical_residual",
    "equilibrated_solve",
    "newton",
    "sliced_system",
]
