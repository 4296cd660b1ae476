"""Seeds on the end-to-end map's zero set: points with two layers zero, and projections.

Why.  With Λ = 0 and no residual layer, the critical points where P = W_H⋯W_1 = 0 (the closed
form's S = ∅, loss ½‖Y‖²) form a set whose components the other seeds do not reach from three
weight matrices on: the penalty homotopy's endpoints there all converge to the origin (near P = 0
the penalty ½ΣΛ‖W_i‖² dominates the data term, of order ‖W‖^H, so every critical point of a small
penalty near that set is near 0), and the origin is a special point of every such component,
where no dimension test can pass ((1,2,2,1) m = 2, (2,2,1,2) m = 3, (2,2,2,2) m = 3: the value
½‖Y‖² had no component).

The set is easy to enter elsewhere.  ∂L/∂W_k = A_kᵀ G(P) B_kᵀ with A_k = W_H⋯W_{k+1},
B_k = W_{k−1}⋯W_1 and G the data term's gradient in P (any loss ℓ(P): square, weighted,
quadratic form).  If two layers W_i = W_j = 0 (i < j), every A_k or B_k contains one of them
(A_i contains W_j, B_j contains W_i, and every other k has one on its side), so every block
vanishes: the whole linear space L_ij = {W_i = W_j = 0} is critical, at loss ℓ(0).  And every
component Z of the P = 0 critical set meets these spaces: its equations P = 0 and
A_kᵀ G(0) B_kᵀ = 0 are homogeneous in each layer separately, so Z is a cone in each layer and
sending W_i, then W_j, to 0 stays in Z.  A random point of L_ij lies on the components that
contain the whole of L_ij — on (2,2,1,2) each of the three components of the P = 0 set contains
one of L_12, L_13, L_23 — and from there the dimension test (local_dimension.py) moves to a
generic point of one of them.

Projections.  A component that meets every L_ij in a proper subset only gets no seed there —
(2,2,2,2)'s rank-one chains W3W2 = 0, W2W1 = 0, W1TᵀW3 = 0 (dimension 6, degree 14, the set's
largest) are such.  So random points are also carried onto {P = 0, ∇L = 0} by Gauss–Newton
(`projected_seeds`): from a random start the minimum-norm steps end on a generic point of a
large component.

What it does not prove.  Seeds of both kinds make the closed-form value ½‖Y‖² appear and reach
the set's largest components (msolve's degree of the set cut by random hyperplanes confirms the
top dimension in the tests); they do not prove that the P = 0 set has no other, smaller component
(the decomposition's notes say which seeds were used).  The points are checked, not assumed:
a seed whose gradient does not vanish to rounding (a penalty, a residual layer) is dropped, so
the same code is a no-op where the argument does not apply.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..model.problem import Problem
from .slicing import balanced_size, critical_residual

SEEDS_PER_PAIR = 2  # random points drawn on each L_ij (two: a second chance where one is special)
PROJECTION_STEPS = 60  # Gauss–Newton steps at most per projected seed
PROJECTED_SEEDS_PER_LAYER = 8  # random points projected, per weight matrix
# a projection whose balanced size ends this many times the random points' has run off towards
# infinity: there P = 0 holds only to a rounding of ∏‖W_i‖ and the loss is off ((2,2,2,2) m = 3:
# layers 4e-3, 1.4e6, 3.7e6, |P| 1.4e-6, the loss 1.2e-8 from ½tr(YYᵀ) — a seed on no component)
PROJECTION_RUNAWAY = 100.0


def zero_layer_seeds(problem: Problem, rng: np.random.Generator, residual_tol: float) -> np.ndarray:
    """(N, n) random critical points with two layers zero, SEEDS_PER_PAIR per pair of layers
    (none with fewer than three layers: with two, L_12 is just the origin); the other layers'
    entries as `_random_points` draws them."""
    if problem.depth < 3:
        return np.zeros((0, problem.n), dtype=complex)
    off = problem.offsets
    points = []
    for i, j in itertools.combinations(range(problem.depth), 2):
        x = _random_points(problem, rng, SEEDS_PER_PAIR)
        for layer in (i, j):
            x[:, off[layer] : off[layer + 1]] = 0.0
        points.append(x)
    x = np.concatenate(points)
    return x[critical_residual(problem, x) <= residual_tol]


def _random_points(problem: Problem, rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, n) complex normal points scaled so that the product of H layer sizes is the data
    term's ‖G(0)‖ = ‖T‖ — the size of the critical points of the other values."""
    shape = (count, problem.n)
    return _seed_scale(problem) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def _seed_scale(problem: Problem) -> float:
    """The random points' layer size: the product of H of them is ‖G(0)‖ = ‖T‖."""
    return max(float(np.abs(problem.T).max()), 1e-12) ** (1.0 / problem.depth)  # G(0) = −T


def end_to_end_jacobian(problem: Problem, x: np.ndarray) -> np.ndarray:
    """(dH·d0, n) ∂vec(P)/∂x at one point x (n,): ∂P[p, q]/∂W_k[a, b] = A_k[p, a] B_k[b, q] with
    A_k = W_H⋯W_{k+1}, B_k = W_{k−1}⋯W_1 (identities where empty)."""
    products = problem.partial_products(x[None])
    w, H = problem.widths, problem.depth
    blocks = []
    for k in range(1, H + 1):
        A = products[(k + 1, H)][0] if k < H else np.eye(w[H])
        B = products[(1, k - 1)][0] if k > 1 else np.eye(w[0])
        blocks.append(np.einsum("pa,bq->pqab", A, B).reshape(w[H] * w[0], w[k] * w[k - 1]))
    return np.concatenate(blocks, axis=1)


def projected_seeds(problem: Problem, rng: np.random.Generator, residual_tol: float, count: int) -> np.ndarray:
    """Random points carried onto {P = 0, ∇L = 0} by Gauss–Newton (minimum-norm steps on the
    stacked system [vec P; ∇L], whose Jacobian is [∂P/∂x; Hessian]): they land on that set's
    large components — generic points of them, where two-zero-layer points would be special
    (on (2,2,2,2) the rank-one chains W3W2 = 0, W2W1 = 0, W1TᵀW3 = 0, six-dimensional, contain
    no whole {W_i = W_j = 0}).  Points that do not converge to a critical point, or run off
    towards infinity (PROJECTION_RUNAWAY), are dropped."""
    if problem.depth < 3:
        return np.zeros((0, problem.n), dtype=complex)
    found = []
    for _ in range(count):
        x = _random_points(problem, rng, 1)[0]
        for _ in range(PROJECTION_STEPS):
            values = np.concatenate([problem.end_to_end(x[None])[0].ravel(), problem.gradient(x[None])[0]])
            jacobian = np.concatenate([end_to_end_jacobian(problem, x), problem.hessian(x[None])[0]])
            step = np.linalg.lstsq(jacobian, -values, rcond=None)[0]
            x = x + step
            if np.linalg.norm(step) <= 1e-15 * max(np.linalg.norm(x), 1e-300):
                break
        found.append(x)
    x = np.array(found)
    P = np.abs(problem.end_to_end(x)).max(axis=(1, 2)) if len(x) else np.zeros(0)
    keep = (critical_residual(problem, x) <= residual_tol) & (1e-10 * np.maximum(np.abs(x).max(axis=1), 1.0) >= P)
    keep &= balanced_size(problem, x) <= PROJECTION_RUNAWAY * _seed_scale(problem)
    return x[keep]


__all__ = [
    "PROJECTED_SEEDS_PER_LAYER",
    "PROJECTION_RUNAWAY",
    "PROJECTION_STEPS",
    "SEEDS_PER_PAIR",
    "end_to_end_jacobian",
    "projected_seeds",
    "zero_layer_seeds",
]
