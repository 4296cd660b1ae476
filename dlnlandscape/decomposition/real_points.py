"""Real points of a component, and the component's class from the Hessian there.

Why.  A witness set lives on a generic *complex* slice, so its points are complex, and so is
everything said about them — dimension, degree, loss, ranks.  Whether a component is a set of
minima, of strict saddles or of degenerate points is a question about its *real* points.

Real points.  The witness set is moved from its slice {A x = b₀} to a random real slice
{A_r x = b_r} (a parameter homotopy in (A, b) along a complex arc, so the real discriminant is
avoided: slicing.SliceHomotopy with `A_b`); the endpoints that are real are real points of the
component.  A real slice may miss the real part of a component (or meet it only in complex
conjugate pairs), so up to `REAL_SLICES` slices of growing offset are tried; a component with
no real point found is reported as such, not classified.

The class.  At a real point x of a k-dimensional component ∇L vanishes along the component,
so its tangent space lies in the Hessian's kernel: corank ≥ k (checked — a smaller corank means
the point is not where the witness set says).  What is left classifies the component near x
(Morse–Bott): a negative eigenvalue → strict saddle with that index (the directions leave the
component downhill); none and corank exactly k → a minimum component — global if its loss is
the lowest real critical value found, else a *bad local minimum*; none and corank > k →
degenerate: second order cannot decide (a non-strict saddle, or a degenerate minimum).  The
zero test is analysis.classify's (relative, with the Hessian's rounding as floor).  Points of
one real component can differ (special sub-loci), so every real point found is classified and
the component lists the classes it saw.

Pure or spurious (Trager, Kohn & Bruna).  Where the loss is a function ℓ(P) of the end-to-end
map (Λ = 0) every real point is also told pure — P critical for ℓ on the functional space — or
spurious, by analysis.theory's test, which holds for any data term of model/loss.py: their
"bad minima of a non-quadratic loss on a non-filling architecture are pure" is then a reading
of the `pure` tally of a bad local-minimum component.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from ..analysis.classify import eigen_signature, hessian_rounding, product_ranks
from ..analysis.theory import pure_spurious
from ..common.points import real_mask
from ..engines.native.tracker import REACHED_END, Tracker
from ..model.problem import Problem
from .options import ComponentOptions
from .slicing import SliceHomotopy, Slicing, coordinate_scale, critical_residual, newton

REAL_SLICES = 3  # real slices tried per component
LOSS_TOL = 1e-9  # relative: components within this of the lowest real loss are global
BALANCE_CONDITION = 1e14  # Gram matrices better conditioned than this are balanced by a full GL step
ZERO_ENTRY = 1e-8  # balance: rows and columns below this fraction of the point's largest entry are zero


def real_points(
    problem: Problem, slicing: Slicing, witness: np.ndarray, options: ComponentOptions, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Real points of the component with witness points `witness` on `slicing`: (points, real
    slices tried).  Stops at the first real slice that gives any."""
    k, N = slicing.k, witness.shape[0]
    for tried in range(1, REAL_SLICES + 1):
        A_r = rng.standard_normal((k, problem.n))
        A_r /= np.linalg.norm(A_r, axis=1, keepdims=True)
        b_r = slicing.size * tried * rng.standard_normal(k)
        target = replace(slicing, A=A_r.astype(complex), b0=b_r.astype(complex))
        scale = coordinate_scale(problem, witness)
        homotopy = SliceHomotopy(
            problem,
            slicing,
            np.broadcast_to(slicing.b0, (N, k)),
            np.broadcast_to(b_r.astype(complex), (N, k)),
            scale,
            A_b=A_r.astype(complex),
        )
        state = Tracker(homotopy, options.tracker).track(
            witness / scale, np.zeros(N, dtype=complex), np.full(N, 1j * np.pi)
        )
        y, step, cond = newton(problem, target, state.y * scale, b_r.astype(complex), iterations=4)
        ok = (state.status == REACHED_END) & (step <= options.newton_tol) & (cond < options.max_condition)
        ok &= critical_residual(problem, y) <= options.residual_tol
        found = y[ok & real_mask(y)].real
        if found.shape[0]:
            return found, tried
    return np.zeros((0, problem.n)), REAL_SLICES


def balance(problem: Problem, x: np.ndarray, sweeps: int = 20) -> np.ndarray:
    """For Λ = 0: every hidden layer balanced, M_l M_lᴴ = M_{l+1}ᴴ M_{l+1} (M_l ← G M_l,
    M_{l+1} ← M_{l+1} G⁻¹ with G Hermitian positive definite; M_i = W_i, or I + W_i for a residual
    layer), or — where either Gram matrix is singular — each hidden neuron's incoming row and
    outgoing column scaled to equal norm (G positive diagonal).  L depends on x only through
    P = M_H⋯M_1, so the loss is invariant, critical points stay critical, and G runs in a
    connected group, which fixes every irreducible component of the (invariant) critical set: a
    point and its image lie on the same components, a real point stays real.

    Why: on unbalanced points (one layer 10⁴ times another) a Hessian eigenvalue can sit below
    the relative zero test — a strict saddle then reads as degenerate, a minimum as degenerate
    ((2,2,2,2) m = 3: 6 of 20 real points of the global-minimum set, GL-scaled by up to 10², had
    corank 9 for dimension 8 after diagonal scaling; none after this); and seeds far out on a
    component (residual (2,2,2): loss 0 at norm 400–10⁴, M_1 near singular, M_2 ~ 10³) meet
    slices in paths too long for membership's step cap, where their balanced images do not."""
    if any(np.any(np.asarray(c) != 0) for c in problem.penalty) or x.size == 0:
        return x
    eyes = [np.eye(r) if residual else None for (r, _), residual in zip(problem.shapes, problem.residual_layers)]
    maps = [w + eye if eye is not None else w.copy() for w, eye in zip(problem.unpack(x), eyes)]
    scale = np.max([np.abs(m).max(axis=(1, 2)) for m in maps], axis=0)[:, None]  # (N, 1)
    for _ in range(sweeps):
        for layer in range(problem.depth - 1):
            A = maps[layer] @ _adjoint(maps[layer])  # (N, d, d) M_l M_lᴴ
            B = _adjoint(maps[layer + 1]) @ maps[layer + 1]  # M_{l+1}ᴴ M_{l+1}
            # a layer at rounding level (zero on the component) is not balanced against: its
            # Gram matrix can be well conditioned, and G would then blow it up to its partner's
            # size and shrink the partner to rounding
            tiny = (ZERO_ENTRY * scale[:, 0]) ** 2
            live_layers = (np.abs(A).max(axis=(1, 2)) > tiny) & (np.abs(B).max(axis=(1, 2)) > tiny)
            full = live_layers & (np.linalg.cond(A) < BALANCE_CONDITION) & (np.linalg.cond(B) < BALANCE_CONDITION)
            G = np.broadcast_to(np.eye(A.shape[1], dtype=A.dtype), A.shape).copy()
            if full.any():
                G[full] = _geometric_mean_root(A[full], B[full])
            rows = np.linalg.norm(maps[layer], axis=2)  # (N, d_l): row u of M_l
            cols = np.linalg.norm(maps[layer + 1], axis=1)  # (N, d_l): column u of M_{l+1}
            # a row or column at rounding level is a zero one (a layer that is 0 on the component,
            # zero_layers.py, comes out of Newton at ~10⁻¹⁷): scaling it up to its partner's size
            # would shrink the partner to rounding and the whole point with it
            live = (rows > ZERO_ENTRY * scale) & (cols > ZERO_ENTRY * scale)
            c = np.where(live, np.sqrt(cols / np.where(live, rows, 1.0)), 1.0)
            G[~full] = c[~full][:, :, None] * np.eye(A.shape[1])
            maps[layer] = G @ maps[layer]
            maps[layer + 1] = maps[layer + 1] @ np.linalg.inv(G)
    return problem.pack([m - eye if eye is not None else m for m, eye in zip(maps, eyes)])


def _adjoint(M: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(M, 1, 2))


def _geometric_mean_root(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """G = M^½ with M = A^-½ (A^½ B A^½)^½ A^-½ — the M with M A M = B — for stacks of Hermitian
    positive definite A, B; then G A G = G⁻¹ B G⁻¹ (both layers' Gram matrices equal)."""

    def power(S: np.ndarray, p: float) -> np.ndarray:
        w, V = np.linalg.eigh(S)
        return (V * np.maximum(w, 1e-300)[:, None, :] ** p) @ _adjoint(V)

    half, minus_half = power(A, 0.5), power(A, -0.5)
    M = minus_half @ power(half @ B @ half, 0.5) @ minus_half
    return power(0.5 * (M + _adjoint(M)), 0.5)


def point_classes(problem: Problem, x: np.ndarray, k: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per real point of a k-dimensional component: its class ('strict_saddle (index i)',
    'minimum', 'degenerate', or 'corank below the dimension'), and the Hessian's index and corank."""
    if x.shape[0] == 0:
        return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    eig = np.linalg.eigvalsh(problem.hessian(x).real)
    index, corank = eigen_signature(eig, hessian_rounding(problem, x))
    classes = [
        "corank below the dimension"
        if z < k
        else f"strict_saddle (index {i})"
        if i > 0
        else "minimum"
        if z == k
        else "degenerate"
        for i, z in zip(index.tolist(), corank.tolist())
    ]
    return classes, index, corank


def component_real_class(
    problem: Problem,
    dimension: int,
    witness: np.ndarray,
    slicing: Slicing | None,
    options: ComponentOptions,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The real points found on one component and the classes seen there (module docstring);
    `minimum` is refined into global/local by `rank_minima` once every component is known."""
    if dimension == 0 or slicing is None:
        x = witness[real_mask(witness)].real
        tried = 0
    else:
        x, tried = real_points(problem, slicing, witness, options, rng)
    classes, index, corank = point_classes(problem, balance(problem, x), dimension)
    tally = Counter(classes)
    purity = pure_spurious(problem, x, product_ranks(problem, x), np.ones(x.shape[0], dtype=bool)) if x.size else []
    return {
        "real_points": int(x.shape[0]),
        "real_slices_tried": tried,
        "classes": dict(sorted(tally.items())),
        "class": tally.most_common(1)[0][0] if tally else "no real point found",
        "index_range": [int(index.min()), int(index.max())] if index.size else None,
        "corank_range": [int(corank.min()), int(corank.max())] if corank.size else None,
        "loss": float(problem.loss(x[:1]).real[0]) if x.shape[0] else None,
        "pure_spurious": dict(sorted(Counter(str(v) for v in purity).items())),  # "n/a" × points when Λ ≠ 0
    }


def rank_minima(classes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """'minimum' → 'global_minimum' at the lowest real loss of all components with real points,
    else 'local_minimum' (a bad local minimum component)."""
    losses = [c["loss"] for c in classes if c["loss"] is not None]
    if not losses:
        return classes
    lowest = min(losses)
    out = []
    for c in classes:
        if c["class"] == "minimum":
            globally = c["loss"] <= lowest + LOSS_TOL * max(1.0, abs(lowest))
            c = {**c, "class": "global_minimum" if globally else "local_minimum"}
        out.append(c)
    return out


__all__ = ["REAL_SLICES", "balance", "component_real_class", "point_classes", "rank_minima", "real_points"]
