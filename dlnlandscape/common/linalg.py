"""Linear algebra every layer needs, with one rule each: batched solves, numerical rank, and the
data spectrum Σ = T S⁻¹ Tᵀ.

Batched solve.  The tracker, Newton and the endgames solve thousands of tiny systems at once;
LAPACK's batched `solve` raises on the first singular one, so a failure falls back to solving
the nonsingular ones and leaving NaN rows — a singular Jacobian is information (the path or
point is singular), never an exception.

Numerical rank.  A matrix's rank is the number of singular values above RANK_TOL · max(1, σ₁):
relative to the largest singular value, but never finer than RANK_TOL in absolute terms.  The
floor matters for products of weight matrices near the origin, where every singular value is
rounding noise and a purely relative rule would call noise full rank.  Analysis (ranks of the
partial products) and the decomposition (ranks at witness points) count with this one rule, so
the two can never disagree about the same point.

Data spectrum.  For the unregularised loss the critical maps are fixed by the eigenpairs of
Σ = T S⁻¹ Tᵀ = s Y Xᵀ (X Xᵀ)⁻¹ X Yᵀ (Baldi–Hornik; DOMAIN.md), with S = s X Xᵀ and T = s Y Xᵀ as
the problem stores them.  Σ ⪯ s Y Yᵀ, so eigenvalues below SPECTRUM_TOL · s‖Y‖²_F are rounding
and are set to exactly zero: theory's rank criterion and the decomposition's closed-form
critical values then agree on which eigenvalues vanish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANK_TOL = 1e-8  # singular values ≤ RANK_TOL · max(1, σ₁) count as zero
SPECTRUM_TOL = 1e-12  # an eigenvalue of Σ below SPECTRUM_TOL · s‖Y‖²_F is zero


def solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched linear solve (N, k, k) x = (N, k); singular systems give NaN, not an exception."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full_like(b, np.nan)
        ok = np.isfinite(A).all(axis=(1, 2)) & (np.abs(np.linalg.det(A)) > 0)
        if ok.any():
            out[ok] = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        return out


def numerical_rank(matrices: np.ndarray, tol: float = RANK_TOL, floor: float = 1.0) -> np.ndarray:
    """Rank of each matrix of a stack (..., m, k): singular values above tol · max(floor, σ₁).
    `floor=0` makes the rule purely relative, for matrices whose entries carry units (data)."""
    matrices = np.asarray(matrices)
    batch = matrices.shape[:-2]
    if matrices.size == 0:
        return np.zeros(batch, dtype=np.int64)
    sv = np.linalg.svd(matrices, compute_uv=False)
    top = np.maximum(sv[..., :1], floor)
    return (sv > tol * top).sum(axis=-1)


@dataclass(frozen=True)
class DataSpectrum:
    """Eigenpairs of Σ = T S⁻¹ Tᵀ, largest first."""

    values: np.ndarray  # (dH,) descending; those below SPECTRUM_TOL · bound are exactly 0
    vectors: np.ndarray  # (dH, dH) orthonormal columns, in the order of `values`


def data_spectrum(S: np.ndarray, T: np.ndarray, bound: float) -> DataSpectrum | None:
    """The spectrum of Σ = T S⁻¹ Tᵀ, or None when S is singular (fewer independent samples than
    inputs: then the critical maps are not fixed by Σ).  `bound` is an upper bound on Σ's
    eigenvalues that sets the zero threshold — s‖Y‖²_F for S = s X Xᵀ, T = s Y Xᵀ.

    S counts as singular by the rank rule above, purely relative (its entries carry the data's
    units, so no absolute floor)."""
    S = np.asarray(S, dtype=float)
    if S.size == 0 or numerical_rank(S, floor=0.0) < S.shape[0]:
        return None
    sigma = T @ np.linalg.solve(S, T.T)
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    values, vectors = values[::-1], vectors[:, ::-1]
    values = np.where(values > SPECTRUM_TOL * max(bound, 1e-300), values, 0.0)
    return DataSpectrum(values=values, vectors=vectors)


__all__ = ["RANK_TOL", "SPECTRUM_TOL", "DataSpectrum", "data_spectrum", "numerical_rank", "solve"]
