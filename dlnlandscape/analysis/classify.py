"""From path results to classified critical points (DOMAIN.md, "Classifying a real critical point").

Takes the engine's `PathResults` and the `Problem` — never the engine — and returns one record
per distinct finite critical point: coordinates, residual, condition, reality, loss, Hessian
eigenvalues, Morse index, class, zero pattern, ranks of the partial products, sign-flip orbit.
Everything is computed on whole arrays of solutions at once.
"""

from __future__ import annotations

import numpy as np

from ..common.linalg import numerical_rank
from ..common.points import SAME_POINT_TOL, real_mask, unique_points
from ..common.symmetry import orbits
from ..engines.base import PathResults
from ..model.problem import Problem
from .points import CriticalPoints
from .theory import point_columns

DISTINCT_TOL = SAME_POINT_TOL  # relative max-norm distance under which two endpoints are one solution
ZERO_TOL = 1e-8  # |x_k| ≤ ZERO_TOL · max(1, ‖x‖∞) means a zero coordinate
EIGEN_TOL = 1e-8  # |eigenvalue| ≤ EIGEN_TOL · ‖H‖₂ means zero
HESSIAN_ROUNDING = 1e-12  # … and so does one within this many times the size of the Hessian's terms
LOSS_TOL = 1e-9  # relative tie tolerance for the global minimum


def analyse(problem: Problem, paths: PathResults, *, symmetric: bool | None = None) -> CriticalPoints:
    """Distinct finite endpoints → classified critical points."""
    finite = np.flatnonzero(paths.is_success() | paths.is_singular())
    points = paths.solutions[finite]
    reps, labels, counts = unique_points(points, DISTINCT_TOL)
    sols = points[reps]
    singular = np.zeros(len(reps), dtype=bool)
    # a distinct point is singular if any path reached it as singular
    rep_of = np.searchsorted(reps, labels)
    np.logical_or.at(singular, rep_of, paths.is_singular()[finite])
    residual = paths.residual[finite][reps]
    condition = paths.condition[finite][reps]
    return classify(problem, sols, counts, singular, residual, condition, symmetric=symmetric)


def eigen_signature(eig: np.ndarray, floor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(negative, zero) eigenvalue counts per row; zero means |λ| ≤ EIGEN_TOL · max|λ|, or at
    most `floor` (per row: the rounding the Hessian's evaluation carries, `hessian_rounding`)."""
    thresh = EIGEN_TOL * np.maximum(np.abs(eig).max(axis=1), 1e-300)
    if floor is not None:
        thresh = np.maximum(thresh, floor)
    return (eig < -thresh[:, None]).sum(axis=1), (np.abs(eig) <= thresh[:, None]).sum(axis=1)


def hessian_rounding(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Per point, a bound on the rounding in its Hessian: HESSIAN_ROUNDING times the size of the
    terms it sums, (‖K‖ + ‖T‖)·Π_i (1 + ‖W_i‖_F)² + max C.  Why: where the Hessian vanishes
    exactly (a deep network with two zero layers and aᵀTd = 0 between the others), its computed
    eigenvalues are ±1e-15 noise, and a purely relative zero test would call that noise a
    negative eigenvalue — a strict saddle where AMG prove a non-strict one."""
    layers = np.prod([1.0 + np.linalg.norm(w, axis=(1, 2)) for w in problem.unpack(x)], axis=0)
    data = np.linalg.norm(problem.data_operator(), 2) + np.linalg.norm(problem.T, 2)
    penalty = max((float(np.abs(c).max()) for c in problem.penalty if np.size(c)), default=0.0)
    return HESSIAN_ROUNDING * (data * layers**2 + penalty)


def classify(
    problem: Problem,
    sols: np.ndarray,
    multiplicity: np.ndarray,
    singular: np.ndarray,
    residual: np.ndarray,
    condition: np.ndarray,
    *,
    symmetric: bool | None = None,
) -> CriticalPoints:
    k, n = sols.shape
    scale = np.maximum(1.0, np.abs(sols).max(axis=1)) if k else np.ones(0)
    is_real = real_mask(sols)
    sols = sols.copy()
    sols[is_real] = sols[is_real].real
    loss = problem.loss(sols) if k else np.zeros(0, dtype=complex)

    eigen = np.full((k, n), np.nan)
    index = np.full(k, -1)
    zeros = np.full(k, -1)
    cls = np.full(k, "", dtype=object)
    real = np.flatnonzero(is_real)
    if real.size:
        hess = problem.hessian(sols[real].real).real
        eig = np.linalg.eigvalsh(hess)
        eigen[real] = eig
        n_neg, n_zero = eigen_signature(eig, hessian_rounding(problem, sols[real].real))
        index[real] = n_neg
        zeros[real] = n_zero
        pos = n - n_neg - n_zero
        real_loss = loss[real].real
        lowest = real_loss.min()
        # the lowest real point is a global minimum only if no direction descends from it: a
        # lowest point with a negative eigenvalue means lower points were not found (or the loss
        # is unbounded below there), and it stays a saddle
        is_global = (real_loss <= lowest + LOSS_TOL * max(1.0, abs(lowest))) & (n_neg == 0)
        labels = np.where(
            is_global,
            "global_minimum",
            np.where(
                (n_neg > 0) & (pos > 0),
                "saddle",
                np.where(
                    n_zero > 0,
                    "degenerate",
                    np.where(n_neg == n, "maximum", "local_minimum"),
                ),
            ),
        )
        cls[real] = labels

    zero_mask = np.abs(sols) <= ZERO_TOL * scale[:, None] if k else np.zeros((0, n), dtype=bool)
    patterns = _zero_patterns(problem, zero_mask)
    ranks, partial, by_product = _ranks(problem, sols)
    if symmetric is None:
        symmetric = problem.symmetric
    orbit, orbit_size, missing = _orbits(problem, sols) if symmetric else (np.arange(k), np.ones(k, int), 0)
    return CriticalPoints(
        solutions=sols,
        multiplicity=np.asarray(multiplicity),
        singular=np.asarray(singular, dtype=bool),
        residual=np.asarray(residual, dtype=float),
        condition=np.asarray(condition, dtype=float),
        is_real=is_real,
        loss=loss,
        hessian_index=index,
        zero_eigenvalues=zeros,
        min_eigenvalue=np.nanmin(eigen, axis=1, initial=np.inf) if k else np.zeros(0),
        max_eigenvalue=np.nanmax(eigen, axis=1, initial=-np.inf) if k else np.zeros(0),
        eigenvalues=eigen,
        cls=cls,
        zero_pattern=patterns,
        zero_count=zero_mask.sum(axis=1),
        rank_end_to_end=ranks,
        partial_ranks=partial,
        orbit=orbit,
        orbit_size=orbit_size,
        orbit_missing=missing,
        product_ranks=by_product,
        **point_columns(problem, sols, is_real, zero_mask, by_product, index, zeros, cls),
    )


def _zero_patterns(problem: Problem, zero_mask: np.ndarray) -> np.ndarray:
    """'1' for a non-zero coordinate, '0' for a zero one; layers separated by '|'."""
    chars = np.where(zero_mask, "0", "1")
    out = np.empty(zero_mask.shape[0], dtype=object)
    off = problem.offsets
    out[:] = ["|".join("".join(row[off[i] : off[i + 1]]) for i in range(problem.depth)) for row in chars]
    return out


def product_ranks(problem: Problem, sols: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Numerical rank of every partial product M_j ⋯ M_i, 1 ≤ i ≤ j ≤ H (M_i = I + W_i for a
    residual layer), keyed (i, j), each (k,)."""
    H = problem.depth
    if sols.shape[0] == 0:
        return {(i, j): np.zeros(0, dtype=int) for i in range(1, H + 1) for j in range(i, H + 1)}
    return {key: numerical_rank(mat) for key, mat in problem.partial_products(sols).items()}


def _ranks(problem: Problem, sols: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], np.ndarray]]:
    """Rank of P, the "i-j:r;..." strings, and the ranks by product."""
    k = sols.shape[0]
    ranks = product_ranks(problem, sols)
    end = ranks[(1, problem.depth)]
    partial = np.empty(k, dtype=object)
    keys = sorted(ranks)
    partial[:] = [";".join(f"{i}-{j}:{ranks[(i, j)][p]}" for i, j in keys) for p in range(k)]
    return end, partial, ranks


def _orbits(problem: Problem, sols: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Orbit id (smallest member index), orbit size, and images not among the solutions."""
    k = sols.shape[0]
    if k == 0 or problem.depth < 2:
        return np.arange(k), np.ones(k, dtype=int), 0
    found = orbits(sols, problem.sign_flips(), DISTINCT_TOL)
    return found.id, found.size, found.missing


__all__ = ["CriticalPoints", "analyse", "classify", "eigen_signature", "hessian_rounding", "product_ranks"]
