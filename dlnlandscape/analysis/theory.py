"""What the literature says about each critical point (DOMAIN.md, "Classifying a real critical point").

Five statements, each computed on whole arrays of points:

**Zero-pattern class (Bharadwaj–Hoşten).** A hidden neuron `u` of layer `l` owns row `u` of
`W_l` and column `u` of `W_{l+1}`. It is *inactive* if all those entries vanish, *active* if none
does, *mixed* otherwise. For one hidden layer, one sample and generic Λ no mixed neuron occurs and
exactly `4·dH·d1` complex critical points have exactly one active neuron — a check on a complete
solve, reported as `bharadwaj_hosten_pattern_ok`.

**Filling (Trager–Kohn–Bruna).** With `r = min(d0..dH)` the functional space `{P = W_H⋯W_1}` is
every `dH × d0` matrix when `r = min(d0, dH)` (filling), else the determinantal variety `M_r` of
rank ≤ r matrices.

**Pure vs spurious**, for losses that are a function `ℓ(P)` of the end-to-end map (Λ = 0):
`ℓ(P) = ½s‖PX − Y‖²` with `G = ∇ℓ(P) = P S − T` (problem.py's `S = sXXᵀ`, `T = sYXᵀ`), or any
other data term of model/loss.py with `G = 𝒦(P) − T`. `W` is pure if `P` is critical for
`ℓ` on the functional space. At a point of rank exactly r (a smooth point of `M_r`; in a filling
architecture the tangent space is everything) the tangent space is `{A : U⊥ᵀ A V⊥ = 0}`, so
`P` is critical iff `G` lies in the normal space `{U⊥ B V⊥ᵀ}`, i.e. `UᵀG = 0` and `G V = 0`
(`U`, `V` orthonormal bases of the column and row spaces of `P`). At rank `k < r`, `P` is a
singular point of `M_r`. Convention used (`"normal_cone"`, the default): `P` is critical iff
`−G` lies in the regular normal cone of `M_r` at `P`, the polar of the tangent cone
`{A : rank(U⊥ᵀ A V⊥) ≤ r − k}`. That cone holds every rank-one matrix in the `U⊥ … V⊥` block
and spans everything, so the condition is `G = 0`: no first-order descent direction
*within* the functional space. The alternative, criticality on the stratum of rank-k matrices
(`"stratum"`: `UᵀG = 0` and `G V = 0` with k-dimensional `U`, `V`), holds at **every** critical
`W` (from `∂L/∂W_1 = 0` we get `PᵀG = 0`; from `∂L/∂W_H = 0` we get `G Pᵀ = 0`). So under that
convention nothing would be spurious. It is kept as a numerical sanity check
(`stratum_critical` in the summary). Under the default: pure ⇔ rank P = r or G = 0.

**Strict vs non-strict saddle** (second order). A real point with a negative Hessian eigenvalue
is a strict saddle (the literature's definition, which would include a maximum). With no
negative eigenvalue but a zero one, and not a global minimum, it is a *non-strict candidate*:
second order cannot decide, and it is never called a minimum.

**Rank criterion** (Λ = 0, `XXᵀ` invertible, distinct non-zero eigenvalues `λ_1 > λ_2 > …`
of `Σ = T S⁻¹ Tᵀ` with eigenvectors `u_l`).  Where Achour, Malgouyres and Gerchinovitz's
assumptions hold (second_order.py: also H ≥ 2, d_H ≤ d_0, Σ_XY of full rank, no residual
layers) the verdict is their Theorem 7 — global minimiser, strict saddle or non-strict saddle,
with the `tightened` flag and the rank decisions' margin.  Four statements with short proofs,
which hold more widely, find S and serve as an independent cross-check of the theorem
(`contradicts_statements` must be 0), and outside AMG's setting they are the verdict, with
`undecided` where they say nothing:
1. `P = Π_S M` with `M = T S⁻¹` and `Π_S` the projector onto `span{u_l : l ∈ S}`. (From `PᵀG = 0`
   we get `P = Π M` with `Π` the projector onto range P. Then `G Pᵀ = 0` gives `(I − Π)ΣΠ = 0`,
   so range P is Σ-invariant; Baldi–Hornik.) The column `eigen_subset` lists S (1 = largest).
2. Global minimizer ⇔ `S = {1..r_max}`, `r_max = min(r, rank Σ)`. (`ℓ(Π_S M) = ½s‖Y‖² −
   ½Σ_{l∈S} λ_l`, Eckart–Young.)
3. S not leading (some `j ∉ S`, `i ∈ S` with `λ_j > λ_i`) ⇒ strict saddle. (Rotate `u_i`
   towards `u_j` in `W_H` and absorb the change of the row space in `W_1`. This is a smooth curve
   through W along which `ℓ = ℓ(W) − ½ sin²t (λ_j − λ_i)`, so some Hessian direction is negative.)
4. For some `i < j`, `M_ij = A_jᵀ G B_iᵀ ≠ 0` together with `rank(W_H⋯W_{i+1}) < rank C` or
   `rank(W_{j−1}⋯W_1) < rank C`, `C = W_{j−1}⋯W_{i+1}` (`I_{d_i}` if `j = i + 1`) ⇒ strict saddle.
   (Take `δ_i = α a bᵀ` with `a` in ker `A_i` but not ker `C`, `δ_j = c (Ca)ᵀ`, `(c, b)` from
   `M_ij`'s top singular pair, or the mirror choice. The quadratic form is then
   `β²K − 2αβ‖Ca‖²σ_1(M_ij)`, negative for large `α`.) For one hidden layer this covers every
   non-global critical point (Sylvester's rank inequality).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common.linalg import data_spectrum as spectrum_of
from ..model.problem import Problem
from . import second_order
from .points import CriticalPoints

THEORY_TOL = 1e-6  # ‖·‖_F ≤ THEORY_TOL · scale means zero (gradients, projections, M_ij)
CONVENTIONS = ("normal_cone", "stratum")

AMG = "Achour-Malgouyres-Gerchinovitz Theorem 7"
NOT_F_OF_P = "the loss penalises the weights (Λ ≠ 0), so it is not a function ℓ(P) of the end-to-end map"


# --------------------------------------------------------------- architecture
def filling(widths: tuple[int, ...] | list[int]) -> dict[str, Any]:
    """Trager–Kohn–Bruna: the functional space is everything iff r = min(d0, dH)."""
    widths = tuple(int(w) for w in widths)
    r = min(widths)
    full = r == min(widths[0], widths[-1])
    space = (
        f"all {widths[-1]}x{widths[0]} matrices"
        if full
        else f"{widths[-1]}x{widths[0]} matrices of rank <= {r} (determinantal variety)"
    )
    return {"r": r, "filling": bool(full), "functional_space": space}


def unregularised(problem: Problem) -> bool:
    """Λ = 0 everywhere: the loss is ℓ(P) alone."""
    return all(not np.any(c) for c in problem.penalty)


# ------------------------------------------------------------ zero patterns
def neuron_classes(problem: Problem, zero_mask: np.ndarray) -> np.ndarray:
    """(k, H−1, 3) counts of active, inactive and mixed neurons per hidden layer.

    Read on the weight coordinates W_i. For a residual layer the neuron still passes its
    input through I."""
    k = zero_mask.shape[0]
    off = problem.offsets
    out = np.zeros((k, max(problem.depth - 1, 0), 3), dtype=np.int64)
    for layer in range(1, problem.depth):
        rows, cols = problem.shapes[layer - 1]  # W_layer: (d_l, d_{l-1})
        nxt_rows, _ = problem.shapes[layer]  # W_{layer+1}: (d_{l+1}, d_l)
        z_in = zero_mask[:, off[layer - 1] : off[layer]].reshape(k, rows, cols)
        z_out = zero_mask[:, off[layer] : off[layer + 1]].reshape(k, nxt_rows, rows)
        neuron = np.concatenate([z_in, np.swapaxes(z_out, 1, 2)], axis=2)  # (k, d_l, d_{l-1} + d_{l+1})
        inactive = neuron.all(axis=2)
        active = ~neuron.any(axis=2)
        out[:, layer - 1] = np.stack([active.sum(1), inactive.sum(1), (~active & ~inactive).sum(1)], axis=1)
    return out


def zero_classes(counts: np.ndarray) -> np.ndarray:
    """'active=a,inactive=i,mixed=m' per hidden layer, layers joined by '|' ('' without hidden layers)."""
    out = np.empty(counts.shape[0], dtype=object)
    out[:] = ["|".join(f"active={a},inactive={i},mixed={m}" for a, i, m in row) for row in counts.tolist()]
    return out


def bharadwaj_hosten(problem: Problem, counts: np.ndarray, regularization: str | None) -> dict[str, Any]:
    """One hidden layer, one sample, generic Λ: no mixed neuron and exactly 4·dH·d1 one-active points."""
    applies = (
        problem.depth == 2
        and problem.X.shape[1] == 1
        and not problem.residual
        and (regularization == "generalized" if regularization else all(np.all(c > 0) for c in problem.penalty))
    )
    if not applies:
        return {"applies": False, "pattern_ok": None}
    d1, dH = problem.widths[1], problem.widths[2]
    layer = counts[:, 0]
    one_active = int(np.sum((layer[:, 0] == 1) & (layer[:, 2] == 0)))
    mixed_points = int(np.sum(layer[:, 2] > 0))
    expected = 4 * dH * d1
    return {
        "applies": True,
        "pattern_ok": bool(mixed_points == 0 and one_active == expected),
        "one_active": one_active,
        "expected_one_active": expected,
        "points_with_mixed_neurons": mixed_points,
    }


# ------------------------------------------------------------- second order
def saddle_types(
    is_real: np.ndarray, hessian_index: np.ndarray, zero_eigenvalues: np.ndarray, cls: np.ndarray
) -> np.ndarray:
    """'strict' (a negative eigenvalue), 'non_strict_candidate' (none negative, one zero, not a
    global minimum) or '' — from analysis's eigenvalue counts, so one tolerance decides both."""
    strict = is_real & (hessian_index > 0)
    candidate = is_real & (hessian_index == 0) & (zero_eigenvalues > 0) & (cls != "global_minimum")
    return np.where(strict, "strict", np.where(candidate, "non_strict_candidate", "")).astype(object)


# ----------------------------------------------------- end-to-end geometry
def end_to_end_gradient(problem: Problem, P: np.ndarray) -> np.ndarray:
    """∇ℓ(P) = 𝒦(P) − T, batched (N, dH, d0): s(PX − Y)Xᵀ = P S − T for the square loss."""
    if problem.K is None:
        return P @ problem.S - problem.T
    N, dH, d0 = P.shape
    return (P.reshape(N, dH * d0) @ problem.K.T).reshape(N, dH, d0) - problem.T


def _norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.abs(a) ** 2, axis=(-2, -1)))


def _span(P: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of the column and row spaces of P, columns beyond the rank zeroed."""
    U, _, Vh = np.linalg.svd(P, full_matrices=False)
    keep = np.arange(U.shape[-1])[None, :] < rank[:, None]
    return U * keep[:, None, :], np.swapaxes(Vh, 1, 2) * keep[:, None, :]


def pure_spurious(
    problem: Problem,
    sols: np.ndarray,
    ranks: dict[tuple[int, int], np.ndarray],
    is_real: np.ndarray,
    *,
    convention: str = "normal_cone",
) -> np.ndarray:
    """'pure' / 'spurious' per real point (module docstring for the convention at rank < r);
    'n/a' when Λ ≠ 0; '' for non-real points."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    k = sols.shape[0]
    out = np.full(k, "", dtype=object)
    real = np.flatnonzero(is_real)
    if not unregularised(problem):
        out[real] = "n/a"
        return out
    if real.size == 0:
        return out
    grad_zero, normal = _gradient_tests(problem, sols[real].real, ranks[(1, problem.depth)][real])
    smooth = ranks[(1, problem.depth)][real] >= filling(problem.widths)["r"]
    # rank r: normal space (everything in a filling architecture, so there also G = 0)
    pure = normal if convention == "stratum" else np.where(smooth, normal, grad_zero)
    out[real] = np.where(pure, "pure", "spurious")
    return out


def _gradient_tests(problem: Problem, x: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(∇ℓ(P) = 0, ∇ℓ(P) normal to the rank-k stratum at P), relative to ‖P‖‖K‖ + s‖Q‖‖Y‖‖X‖, which
    bounds both terms of ∇ℓ = 𝒦(P) − T (PS − T: ‖K‖ = ‖S‖, Q = I) and stays data-sized when T
    vanishes."""
    P = problem.end_to_end(x)
    G = end_to_end_gradient(problem, P)
    if problem.K is None:
        scale = _norm(P) * _norm(problem.S) + problem.scale * _norm(problem.Y) * _norm(problem.X)
    else:
        form = float(np.linalg.norm(problem.data_form(), 2))
        scale = _norm(P) * np.linalg.norm(problem.K, 2) + problem.scale * form * _norm(problem.Y) * _norm(problem.X)
    U, V = _span(P, rank)
    grad_zero = _norm(G) <= THEORY_TOL * scale
    normal = (_norm(np.swapaxes(U, 1, 2) @ G) <= THEORY_TOL * scale) & (_norm(G @ V) <= THEORY_TOL * scale)
    return grad_zero, normal


# ------------------------------------------------------------ rank criterion
def data_spectrum(problem: Problem) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """Eigenvalues (descending, rounding-level ones set to 0: common.linalg.data_spectrum) and
    eigenvectors of Σ = T S⁻¹ Tᵀ, or the reason the rank criterion does not apply."""
    if not unregularised(problem):
        return None, None, NOT_F_OF_P
    if not problem.data_loss.square:
        return None, None, f"the data term is a {problem.data_loss.kind} loss: critical maps are not fixed by Σ"
    top = max(problem.scale * float(np.sum(problem.Y**2)), 1e-300)  # Σ = sYΠ_XYᵀ ⪯ sYYᵀ
    spectrum = spectrum_of(problem.S, problem.T, top)
    if spectrum is None:
        return None, None, "X Xᵀ is singular (fewer samples than inputs): critical maps are not fixed by Σ"
    lam, vec = spectrum.values, spectrum.vectors
    nonzero = lam[lam > 0]
    if nonzero.size > 1 and np.min(-np.diff(nonzero)) <= THEORY_TOL * top:
        return None, None, "Σ = Y Xᵀ(X Xᵀ)⁻¹ X Yᵀ has repeated non-zero eigenvalues"
    return lam, vec, None


@dataclass(frozen=True)
class RankCriterion:
    """The rank-criterion columns, per point ('' for non-real points)."""

    subset: np.ndarray  # S as '1,3'; 'n/a' where the criterion does not apply or P ≠ Π_S M
    verdict: np.ndarray  # global_minimum / strict_saddle / non_strict_saddle / undecided / n/a
    tightened: np.ndarray  # AMG's flag, 'yes' / 'no'; '' outside their setting
    margin: np.ndarray  # decades between the deciding singular values and the rank threshold; NaN: none
    contradicts_statements: int  # points where Theorem 7 and statements 2–4 disagree (must be 0)


def rank_criterion(
    problem: Problem, sols: np.ndarray, ranks: dict[tuple[int, int], np.ndarray], is_real: np.ndarray
) -> RankCriterion:
    """The rank criterion per point (module docstring): AMG's Theorem 7 where it applies, else
    statements 1–4."""
    k = sols.shape[0]
    subset = np.full(k, "", dtype=object)
    verdict = np.full(k, "", dtype=object)
    tightened = np.full(k, "", dtype=object)
    margin = np.full(k, np.nan)
    real = np.flatnonzero(is_real)
    lam, vec, reason = data_spectrum(problem)
    if reason is not None or real.size == 0:
        subset[real] = verdict[real] = "n/a"
        return RankCriterion(subset, verdict, tightened, margin, 0)
    H = problem.depth
    x = sols[real].real
    rank = {key: r[real] for key, r in ranks.items()}
    P = problem.end_to_end(x)
    subsets = second_order.eigen_subsets(P, rank[(1, H)], lam, vec, problem.T @ np.linalg.inv(problem.S))
    consistent, leading, size = subsets.consistent, subsets.leading, subsets.members.sum(axis=1)
    nonzero = lam > 0
    r_max = min(min(problem.widths), int(nonzero.sum()))
    is_global = leading & (size == r_max)
    strict = ~leading | _rank_gap_strict(problem, x, P, rank)
    statements = np.where(is_global, "global_minimum", np.where(strict, "strict_saddle", "undecided"))
    contradictions = 0
    amg, _ = second_order.setting(problem)
    if amg is not None:
        theorem = second_order.classify_second_order(problem, x, leading, amg)
        decided = statements != "undecided"
        contradictions = int(np.sum(consistent & decided & (theorem.verdict != statements)))
        statements = theorem.verdict
        tightened[real] = np.where(consistent, theorem.tightened, "")
        margin[real] = np.where(consistent, theorem.margin, np.nan)
    verdict[real] = np.where(~consistent, "n/a", statements)
    subset[real] = subsets.labels()
    subset[real[~consistent]] = "n/a"
    return RankCriterion(subset, verdict, tightened, margin, contradictions)


def _rank_gap_strict(
    problem: Problem, x: np.ndarray, P: np.ndarray, rank: dict[tuple[int, int], np.ndarray]
) -> np.ndarray:
    """Statement 4 of the module docstring: a pair i < j with M_ij ≠ 0 and a rank drop around C."""
    H, widths = problem.depth, problem.widths
    prod = problem.partial_products(x)
    G = end_to_end_gradient(problem, P)
    kr = x.shape[0]

    def span(i: int, j: int, size: int) -> np.ndarray:  # M_j ⋯ M_i, identity when empty
        return prod[(i, j)] if i <= j else np.broadcast_to(np.eye(size), (kr, size, size))

    strict = np.zeros(kr, dtype=bool)
    for i in range(1, H):
        for j in range(i + 1, H + 1):
            A_j = span(j + 1, H, widths[H])
            B_i = span(1, i - 1, widths[0])
            M_ij = np.swapaxes(A_j, 1, 2) @ G @ np.swapaxes(B_i, 1, 2)
            nonzero = _norm(M_ij) > THEORY_TOL * _norm(A_j) * _norm(G) * _norm(B_i)
            rank_c = rank[(i + 1, j - 1)] if j > i + 1 else widths[i]
            gap = (rank[(i + 1, H)] < rank_c) | (rank[(1, j - 1)] < rank_c)
            strict |= nonzero & gap
    return strict


# ------------------------------------------------------------------ wiring
def point_columns(
    problem: Problem,
    sols: np.ndarray,
    is_real: np.ndarray,
    zero_mask: np.ndarray,
    ranks: dict[tuple[int, int], np.ndarray],
    hessian_index: np.ndarray,
    zero_eigenvalues: np.ndarray,
    cls: np.ndarray,
) -> dict[str, Any]:
    """The theory fields of `CriticalPoints`, keyed by field name."""
    counts = neuron_classes(problem, zero_mask)
    criterion = rank_criterion(problem, sols, ranks, is_real)
    return {
        "neuron_counts": counts,
        "zero_class": zero_classes(counts),
        "saddle_type": saddle_types(is_real, hessian_index, zero_eigenvalues, cls),
        "pure_spurious": pure_spurious(problem, sols, ranks, is_real),
        "eigen_subset": criterion.subset,
        "rank_criterion": criterion.verdict,
        "tightened": criterion.tightened,
        "rank_margin": criterion.margin,
        "rank_contradictions": criterion.contradicts_statements,
    }


def _tally(values: np.ndarray) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(Counter(values.tolist()).items())}


def theory_summary(problem: Problem, points: CriticalPoints, regularization: str | None = None) -> dict[str, Any]:
    """The summary.json `theory` block (plain JSON types)."""
    real = points.is_real
    keys = sorted(points.product_ranks)
    table = np.stack([points.product_ranks[key][real] for key in keys], axis=1) if keys else np.zeros((0, 0), int)
    patterns: list[dict[str, Any]] = []
    if table.size:
        rows, counts = np.unique(table, axis=0, return_counts=True)
        patterns = [
            {"ranks": dict(zip((f"{i}-{j}" for i, j in keys), map(int, row))), "count": int(c)}
            for row, c in sorted(zip(rows.tolist(), counts.tolist()), key=lambda rc: -rc[1])
        ]
    plain = unregularised(problem)
    _, _, reason = data_spectrum(problem)
    stratum = pure_spurious(problem, points.solutions, points.product_ranks, real, convention="stratum")
    bh = bharadwaj_hosten(problem, points.neuron_counts, regularization)
    verdict = points.rank_criterion[real]
    saddle = points.saddle_type[real]
    margin = points.rank_margin[real] if points.rank_margin.size else np.zeros(0)
    _, amg_reason = second_order.setting(problem)
    return {
        "filling": filling(problem.widths),
        "rank_patterns": {"keys": [f"{i}-{j}" for i, j in keys], "real": patterns},
        "zero_classes": {"all": _tally(points.zero_class), "real": _tally(points.zero_class[real])},
        "bharadwaj_hosten": bh,
        "bharadwaj_hosten_pattern_ok": bh["pattern_ok"],
        "saddle_types": {
            "strict": int(np.sum(saddle == "strict")),
            "non_strict_candidate": int(np.sum(saddle == "non_strict_candidate")),
        },
        "pure_spurious": {
            "applies": plain,
            "reason": None if plain else NOT_F_OF_P,
            "convention": "normal_cone" if plain else None,
            "pure": int(np.sum(points.pure_spurious[real] == "pure")),
            "spurious": int(np.sum(points.pure_spurious[real] == "spurious")),
            "stratum_critical": int(np.sum(stratum[real] == "pure")) if plain else None,
        },
        "rank_criterion": {
            "applies": reason is None,
            "reason": reason,
            "method": None if reason is not None else "statements 1-4 (" + amg_reason + ")" if amg_reason else AMG,
            "counts": _tally(verdict) if reason is None else {},
            "tightened": _tally(points.tightened[real][points.tightened[real] != ""]) if amg_reason == "" else {},
            "weakest_margin_decades": None if np.all(np.isnan(margin)) else float(np.nanmin(margin)),
            # a strict saddle has a negative eigenvalue; a minimum and a non-strict saddle have none
            "contradicts_hessian": int(
                np.sum((verdict == "strict_saddle") & (saddle != "strict"))
                + np.sum(np.isin(verdict, ("global_minimum", "non_strict_saddle")) & (saddle == "strict"))
            ),
            "contradicts_statements": points.rank_contradictions,
        },
    }


__all__ = [
    "CONVENTIONS",
    "THEORY_TOL",
    "bharadwaj_hosten",
    "data_spectrum",
    "end_to_end_gradient",
    "filling",
    "neuron_classes",
    "point_columns",
    "pure_spurious",
    "rank_criterion",
    "saddle_types",
    "theory_summary",
    "unregularised",
    "zero_classes",
]
