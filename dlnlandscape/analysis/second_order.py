"""Achour, Malgouyres & Gerchinovitz's second-order classification, exactly (DOMAIN.md, "Rank pattern").

Why.  For the unregularised square loss of a deep linear network the Hessian alone cannot tell
a non-strict saddle from a minimum: both have no negative eigenvalue, and every critical point
lies on a positive-dimensional set, so zero eigenvalues are everywhere.  AMG (JMLR 25(242),
2024) decide it from ranks: their Theorem 7 sorts every critical point into global minimiser,
strict saddle and non-strict saddle.  This module implements it on whole arrays of real points,
and says for each rank decision how far the deciding singular value is from the tolerance — a
classification that rests on a singular value at the threshold is flagged, not trusted.

Setting (their assumptions; anything else is "not applicable: <which>"): square loss, no
penalty, no residual layers, H ≥ 2 weight matrices, d_H ≤ d_0 ≤ m with Σ_XX = XXᵀ invertible,
Σ_XY = XYᵀ of full rank d_H, and Σ = Σ_YX Σ_XX⁻¹ Σ_XY = U diag(λ₁ > … > λ_dH) Uᵀ with distinct
eigenvalues; r_max = min(d_0, …, d_H).  The problem stores S = sXXᵀ and T = sYXᵀ (s > 0), so
sΣ = T S⁻¹ Tᵀ and Σ_XY ∝ Tᵀ: the eigenvectors, their order and every rank are those of AMG
(their loss has no ½ and no s; critical points and their classes do not change).

The theorem.  At a critical point with r = rank P there is a unique S ⊂ {1..d_H}, |S| = r, with
P = U_S U_Sᵀ Σ_YX Σ_XX⁻¹ (Prop. 1; theory.rank_criterion finds S).  For a pivot (i, j),
H ≥ i > j ≥ 1, the complementary blocks are

    first  = W_{j−1}⋯W_1 Σ_XY W_H⋯W_{i+1}    (d_{j−1} × d_i; Σ_XY itself for (H, 1))
    second = W_{i−1}⋯W_{j+1}                 (d_{i−1} × d_j; the identity when i = j + 1),

both of rank ≥ r (Prop. 4).  The pivot is *tightened* iff one of them has rank exactly r, and W
is tightened iff every pivot is.  Theorem 7:

    r = r_max, S = {1..r_max}  → global minimiser
    r = r_max, S ≠ {1..r_max}  → strict saddle
    r < r_max, S ≠ {1..r}      → strict saddle
    r < r_max, S = {1..r}      → non-strict saddle if W is tightened, else strict saddle.

For H = 2 the only pivot (2, 1) has blocks Σ_XY (rank d_H ≥ r_max > r) and I_{d_1}
(rank d_1 > r): never tightened, so every saddle is strict.  For H ≥ 3 both kinds occur for
every r < r_max (Prop. 8); the origin is the tightened, non-strict example.

Rank decisions.  A block's rank is "exactly r" when its (r+1)-th singular value is at most
RANK_TOL · max(1, bound), bound = the product of its factors' spectral norms (with Σ_XY scaled
to norm 1, so data units do not enter); the same rule decides rank P.  `margin` is, in decades,
how far the singular values that decided the verdict lie from that threshold (the weakest of
them): 6 means a factor of 10⁶ on the right side, 0.3 means the verdict could flip under a
perturbation of the point of that relative size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..common.linalg import RANK_TOL, data_spectrum, numerical_rank
from ..model.problem import Problem

NOT_APPLICABLE = "not applicable"
SUBSET_TOL = 1e-4  # ‖Π u_l‖² must be within this of 0 or 1 to decide membership of S
MAP_TOL = 1e-6  # ‖P − Π_S M‖ ≤ MAP_TOL · ‖M‖: the point's P is of Prop. 1's form
MAX_MARGIN = 16.0  # decades; a singular value at or below double rounding counts as this far


@dataclass(frozen=True)
class Setting:
    """The data AMG's theorem needs, once per problem."""

    values: np.ndarray  # λ₁ > … > λ_dH of sΣ
    vectors: np.ndarray  # U, columns in the order of `values`
    sigma_xy: np.ndarray  # (d0, dH) Σ_XY up to a positive factor, spectral norm 1
    r_max: int


def setting(problem: Problem) -> tuple[Setting | None, str]:
    """AMG's setting for `problem`, or None and "not applicable: <the assumption that fails>"."""
    widths, H = problem.widths, problem.depth
    penalised = any(np.any(np.asarray(c) != 0) for c in problem.penalty)
    failed = (
        "the loss penalises the weights (Λ ≠ 0)"
        if penalised
        else f"the data term is a {problem.data_loss.kind} loss, not the square loss"
        if not problem.data_loss.square
        else "residual layers (I + W_i)"
        if any(problem.residual_layers)
        else "one weight matrix (H = 1)"
        if H < 2
        else f"more outputs than inputs (d_H = {widths[-1]} > d_0 = {widths[0]})"
        if widths[-1] > widths[0]
        else ""
    )
    if failed:
        return None, f"{NOT_APPLICABLE}: {failed}"
    top = max(problem.scale * float(np.sum(np.abs(problem.Y) ** 2)), 1e-300)
    spectrum = data_spectrum(problem.S, problem.T, top)
    if spectrum is None:
        return None, f"{NOT_APPLICABLE}: X Xᵀ is singular (fewer samples than inputs)"
    lam = spectrum.values
    if np.any(lam <= 0):
        return None, f"{NOT_APPLICABLE}: Σ_XY = X Yᵀ has rank < d_H = {widths[-1]}"
    if lam.size > 1 and np.min(-np.diff(lam)) <= 1e-6 * top:
        return None, f"{NOT_APPLICABLE}: Σ has repeated eigenvalues"
    sigma_xy = np.asarray(problem.T, dtype=float).T
    sigma_xy = sigma_xy / np.linalg.norm(sigma_xy, 2)
    return Setting(values=lam, vectors=spectrum.vectors, sigma_xy=sigma_xy, r_max=min(widths)), ""


@dataclass(frozen=True)
class SecondOrder:
    """Per real point: Theorem 7's verdict and what it rests on."""

    rank: np.ndarray  # (k,) r = rank P
    tightened: np.ndarray  # (k,) object: "yes" / "no"
    verdict: np.ndarray  # (k,) object: global_minimum / strict_saddle / non_strict_saddle
    margin: np.ndarray  # (k,) decades between the deciding singular values and the threshold
    pivots: tuple[tuple[int, int], ...]  # (i, j) in the order of `pivot_tightened`'s columns
    pivot_tightened: np.ndarray  # (k, pivots) bool


@dataclass(frozen=True)
class EigenSubsets:
    """Prop. 1's S per point: which eigenvectors of Σ span P's column space."""

    members: np.ndarray  # (k, dH) bool: u_l ∈ S (l = 0 is the largest eigenvalue)
    consistent: np.ndarray  # (k,) P = Π_S M with |S| = rank P, every share clearly 0 or 1
    leading: np.ndarray  # (k,) S = {1..|S|}

    def labels(self) -> list[str]:
        """S as '1,3' (1-based), per point."""
        return [",".join(str(i + 1) for i in np.flatnonzero(row)) for row in self.members]


def eigen_subsets(
    P: np.ndarray, rank: np.ndarray, values: np.ndarray, vectors: np.ndarray, M: np.ndarray
) -> EigenSubsets:
    """S at points with end-to-end maps P (k, dH, d0) of the given ranks (real or complex —
    a component's generic witness point is complex): u_l ∈ S when its squared projection on
    P's column space is ≈ 1; the point is consistent when every projection is ≈ 0 or 1, |S| is
    the rank and P = Π_S M (M = T S⁻¹; theory.py, statement 1)."""
    U = np.linalg.svd(P, full_matrices=False)[0] if P.size else np.zeros(P.shape[:2] + (0,))
    U = U * (np.arange(U.shape[-1])[None, :] < rank[:, None])[:, None, :]
    share = np.sum(np.abs(np.conj(np.swapaxes(U, 1, 2)) @ vectors) ** 2, axis=1)  # (k, dH): ‖Π u_l‖²
    members = (share > 0.5) & (values > 0)[None, :]
    vs = vectors[None] * members[:, None, :]
    distance = np.linalg.norm(P - vs @ np.swapaxes(vs, 1, 2) @ M, axis=(1, 2))
    size = members.sum(axis=1)
    return EigenSubsets(
        members=members,
        consistent=np.all(np.minimum(share, 1 - share) < SUBSET_TOL, axis=1)
        & (size == rank)
        & (distance <= MAP_TOL * max(float(np.linalg.norm(M)), 1e-300)),
        leading=np.all(members == (np.arange(values.size)[None, :] < size[:, None]), axis=1),
    )


def component_class(problem: Problem, x: np.ndarray) -> dict[str, object]:
    """Theorem 7 at a generic point x (n,) of a component of critical points: the class of the
    component's general point (tightening is a closed, rank-drop condition, so special
    sub-loci of a non-tightened component can be tightened; seeds on them reveal those)."""
    found, reason = setting(problem)
    if found is None:
        return {"applies": False, "reason": reason}
    P = problem.end_to_end(x[None])
    rank = numerical_rank(P)  # the rule classify_second_order decides rank P with
    M = problem.T @ np.linalg.inv(problem.S)
    subsets = eigen_subsets(P, rank, found.values, found.vectors, M)
    if not subsets.consistent[0]:
        return {"applies": False, "reason": f"{NOT_APPLICABLE}: P is not U_S U_Sᵀ M at the witness point"}
    theorem = classify_second_order(problem, x[None], subsets.leading, found)
    return {
        "applies": True,
        "subset": subsets.labels()[0],
        "rank": int(theorem.rank[0]),
        "tightened": str(theorem.tightened[0]),
        "class": str(theorem.verdict[0]),
        "margin_decades": round(float(theorem.margin[0]), 2),
    }


def critical_point(
    problem: Problem, found: Setting, subset: list[int], tight: bool, rng: np.random.Generator
) -> np.ndarray:
    """A random real critical point (n,) with P = U_S U_Sᵀ M (S = `subset`, 0-based; M = T S⁻¹):
    W_H = U_S Z and W_{H−1}⋯W_1 = K U_Sᵀ M with Z K = I, so every A_iᵀ G B_iᵀ vanishes
    (theory.py's statement 1).  Each W_i maps the r-dimensional image of the layers below as a
    random N_i N_{i−1}⁺ — every block then has rank r: tightened, the non-strict saddles of
    Prop. 8 when S = {1..r}, r < r_max, H ≥ 3.  `tight=False` adds random parts on the
    complements, which keep the point critical but give the blocks rank above r (generically
    not tightened).  r = 0: the origin (tightened for H ≥ 3); not tight and H ≥ 3, rank-one
    W_H, W_1 with aᵀTd = 0, W_{H−1} random for H ≥ 4 and zero layers between (Σ_XY W_H⋯W_3 ≠ 0
    beside the identity block of pivot (2, 1), so not tightened)."""
    w, H, r = problem.widths, problem.depth, len(subset)
    M = problem.T @ np.linalg.inv(problem.S)
    US = found.vectors[:, subset].real
    if r == 0:
        weights = [np.zeros((w[i + 1], w[i])) for i in range(H)]
        if not tight and H >= 3:
            a = rng.standard_normal(w[-1])
            d = np.linalg.svd(a[None] @ problem.T)[2][-1]  # d ⟂ Tᵀa
            weights[0] = np.outer(rng.standard_normal(w[1]), d)
            weights[-1] = np.outer(a, rng.standard_normal(w[-2]))
            if H >= 4:
                weights[-2] = rng.standard_normal((w[-2], w[-3]))
        return problem.pack([layer[None] for layer in weights])[0]
    N = [rng.standard_normal((w[i], r)) for i in range(1, H)]
    weights = [N[0] @ (US.T @ M)]
    for i in range(1, H - 1):
        pinv = np.linalg.pinv(N[i - 1])
        extra = 0 if tight else rng.standard_normal((w[i + 1], w[i])) @ (np.eye(w[i]) - N[i - 1] @ pinv)
        weights.append(N[i] @ pinv + extra)
    K = N[-1]
    pinv = np.linalg.pinv(K)
    Z = pinv + (0 if tight else rng.standard_normal((r, w[H - 1])) @ (np.eye(w[H - 1]) - K @ pinv))
    weights.append(US @ Z)
    return problem.pack([np.real(layer)[None] for layer in weights])[0]


def _decision(sv: np.ndarray, r: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank exactly r?, decades from the threshold) for stacks of singular values (k, q)
    descending, given rank ≥ r: the (r+1)-th value against RANK_TOL · max(1, bound)."""
    threshold = RANK_TOL * np.maximum(1.0, bound)
    padded = np.concatenate([sv, np.zeros((sv.shape[0], 1))], axis=1)
    next_value = padded[np.arange(sv.shape[0]), np.minimum(r, sv.shape[1])]
    exact = next_value <= threshold
    decades = np.abs(np.log10(np.maximum(next_value, 1e-300) / threshold))
    return exact, np.minimum(decades, MAX_MARGIN)


def _product(prod: dict[tuple[int, int], np.ndarray], a: int, b: int, size: int, k: int) -> np.ndarray:
    """W_b ⋯ W_a (1-based), the identity of `size` when a > b."""
    return prod[(a, b)] if a <= b else np.broadcast_to(np.eye(size), (k, size, size))


def _norm2(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a, ord=2, axis=(1, 2)) if a.size else np.zeros(a.shape[0])


def classify_second_order(problem: Problem, x: np.ndarray, leading: np.ndarray, s: Setting) -> SecondOrder:
    """Theorem 7 at real critical points x (k, n), given whether each point's S is {1..|S|}
    (`leading`, from theory.rank_criterion, which also checks that the point is of the form
    P = Π_S M).  Every pivot's tightening is computed, so a caller can show which pivots hold."""
    H, widths, k = problem.depth, problem.widths, x.shape[0]
    prod = problem.partial_products(x) if k else {}
    norms = {key: _norm2(m) for key, m in prod.items()}

    def bound(a: int, b: int) -> np.ndarray:
        return norms[(a, b)] if a <= b else np.ones(k)

    P = prod[(1, H)] if k else np.zeros((0, widths[-1], widths[0]))
    sv_p = np.linalg.svd(P, compute_uv=False) if k else np.zeros((0, min(widths[0], widths[-1])))
    threshold = RANK_TOL * np.maximum(1.0, norms[(1, H)] if k else np.ones(0))
    rank = (sv_p > threshold[:, None]).sum(axis=1)
    # the rank of P is decided by σ_r above and σ_{r+1} below the threshold
    above = np.where(rank > 0, sv_p[np.arange(k), np.maximum(rank - 1, 0)] if k else 0.0, np.inf)
    _, below = _decision(sv_p, rank, norms[(1, H)] if k else np.ones(0))
    rank_margin = np.minimum(np.minimum(np.abs(np.log10(np.maximum(above, 1e-300) / threshold)), MAX_MARGIN), below)

    pivots = tuple((i, j) for i in range(2, H + 1) for j in range(1, i))
    tight = np.zeros((k, len(pivots)), dtype=bool)
    pivot_margin = np.zeros((k, len(pivots)))
    for col, (i, j) in enumerate(pivots):
        left = _product(prod, 1, j - 1, widths[0], k)
        right = _product(prod, i + 1, H, widths[-1], k)
        first = left @ s.sigma_xy @ right
        second = _product(prod, j + 1, i - 1, widths[j], k)
        e1, m1 = _decision(np.linalg.svd(first, compute_uv=False), rank, bound(1, j - 1) * bound(i + 1, H))
        e2, m2 = _decision(np.linalg.svd(second, compute_uv=False), rank, bound(j + 1, i - 1))
        tight[:, col] = e1 | e2
        # tightened: the clearer of the exact-rank blocks decides; not: both blocks must be above
        pivot_margin[:, col] = np.where(
            e1 & e2, np.maximum(m1, m2), np.where(e1, m1, np.where(e2, m2, np.minimum(m1, m2)))
        )
    tightened = tight.all(axis=1)
    if pivots:  # tightened: its weakest pivot; not: its clearest non-tightened pivot
        w_margin = np.where(
            tightened,
            pivot_margin.min(axis=1),
            np.where(~tight, pivot_margin, -np.inf).max(axis=1),
        )
    else:
        w_margin = np.full(k, MAX_MARGIN)
    r_max = s.r_max
    verdict = np.where(
        rank == r_max,
        np.where(leading, "global_minimum", "strict_saddle"),
        np.where(leading & tightened, "non_strict_saddle", "strict_saddle"),
    ).astype(object)
    depends_on_w = (rank < r_max) & leading
    margin = np.where(depends_on_w, np.minimum(rank_margin, w_margin), rank_margin)
    return SecondOrder(
        rank=rank,
        tightened=np.where(tightened, "yes", "no").astype(object),
        verdict=verdict,
        margin=margin,
        pivots=pivots,
        pivot_tightened=tight,
    )


__all__ = [
    "MAX_MARGIN",
    "NOT_APPLICABLE",
    "EigenSubsets",
    "SecondOrder",
    "Setting",
    "classify_second_order",
    "component_class",
    "critical_point",
    "eigen_subsets",
    "setting",
]
