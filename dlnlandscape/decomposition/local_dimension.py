"""The local dimension of the critical set at a seed: proposed by the Hessian, then tested.

At a smooth point of a generically reduced k-dimensional component the Hessian (the Jacobian
of ∇L) has corank exactly k, so the corank proposes k — but a numerical corank depends on a
tolerance, and at special points (where components meet, or the point is very unbalanced) it
is larger than the dimension.  So k is *tested* rather than trusted: step off the seed by ε
along its kernel, cut with a random codimension-k slice {A x = A x'} through the moved point and
Newton-solve the square system [R ∇L(x); A x − b] (slicing.py).  The test passes only if

* Newton converges quadratically — the sliced Jacobian is nonsingular, so the component is
  reduced and not more than k-dimensional — and
* it converges to a point within O(ε) of the seed where the *full* gradient vanishes to
  rounding — so the set really is k-dimensional there: if it were smaller, the slice would
  miss it and only V(R∇L) would be hit, with ‖∇L‖ ~ ε².

"To rounding" is meant strictly (`dimension_residual_tol`, 10⁻¹³, not the 10⁻¹⁰ that accepts
tracked points): where the data make the Hessian nearly singular in directions off the
component (eigenvalues h ≪ 1, e.g. a tiny gap μ₂ between closed-form values), the wrong
slice point has ‖∇L‖ ~ h ε rather than ε².  Measured on (2,2,2,2) m=3 (μ₂ = 4·10⁻⁵): 194
seeds of 7-dimensional components passed as 8- and 9-dimensional with residuals 1.5·10⁻¹²–10⁻¹⁰,
missed every witness slice, and one degree-3 component was left without seeds; true
components' points came out at ≤ 4·10⁻¹⁶.  Directions with h below ~10⁻¹³/ε stay unresolved.

Candidate k run from a generous corank down to 1 (each with a second, smaller step, and both
again along other random directions, `dimension_directions`: a slice can meet the component at
a singular point); none passing means an isolated (possibly multiple) point, dimension 0.  A passing seed also yields
a generic nearby point of its component, from which the witness set is built (witness.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..model.problem import Problem
from .options import ComponentOptions
from .slicing import Slicing, coordinate_scale, critical_residual, newton


@dataclass(frozen=True)
class LocalDimensions:
    """The tested local dimension at every seed and what the test produced."""

    dimensions: np.ndarray  # (N,) int: 0 where no candidate passed
    generic: np.ndarray  # (N, n) a generic nearby point of the component where dimension > 0, else NaN
    slicings: dict[int, Slicing]  # the slicing of every candidate dimension tried (k ≥ 1)


def candidate_coranks(problem: Problem, x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Generous Hessian coranks and the right singular vectors (N, n, n), smallest last."""
    hess = problem.hessian(np.ascontiguousarray(x, dtype=complex))
    _, sv, vh = np.linalg.svd(hess)
    corank = np.sum(sv <= tol * np.maximum(sv[:, :1], 1e-300), axis=1)
    return corank, vh.conj()


def local_dimensions(
    problem: Problem,
    x: np.ndarray,
    slicings: Mapping[int, Slicing],
    options: ComponentOptions,
    rng: np.random.Generator,
) -> LocalDimensions:
    """The tested local dimension at every seed (0 if no candidate passes) and, where positive,
    a generic nearby point of that component (on its own slice {A_k z = A_k z}).

    `slicings` are slices to reuse per dimension; a random one is drawn for every other
    candidate dimension, and all of them are returned."""
    N, n = x.shape
    slicings = dict(slicings)
    corank, kernel_rows = candidate_coranks(problem, x, options.corank_tol)
    dims = np.zeros(N, dtype=np.int64)
    generic = np.full_like(x, np.nan, dtype=complex)
    for k in range(int(corank.max(initial=0)), 0, -1):
        if k not in slicings:
            slicings[k] = Slicing.random(n, k, 1.0, rng)
        # a second, smaller step off the seed; then other random directions for the seeds left
        steps = (options.move, options.move / 10) * max(1, options.dimension_directions)
        for step in steps:
            todo = np.flatnonzero((dims == 0) & (corank >= k))
            if todo.size == 0:
                break
            ok, z = _dimension_test(problem, slicings[k], x[todo], corank[todo], kernel_rows[todo], step, options, rng)
            dims[todo[ok]] = k
            generic[todo[ok]] = z[ok]
    return LocalDimensions(dimensions=dims, generic=generic, slicings=slicings)


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
    ok &= critical_residual(problem, z) <= options.dimension_residual_tol
    return ok, z


__all__ = ["LocalDimensions", "candidate_coranks", "local_dimensions"]
