"""The data term of the loss: the square loss, a weighted one, or a general quadratic form.

Why more than the square loss.  Trager, Kohn & Bruna's point ("Pure and spurious critical
points", ICLR 2020) is that "no bad minima" on non-filling architectures is a property of the
*quadratic* loss ½‖PX − Y‖², not of convex losses in general: weighted least squares (with X = I
Srebro & Jaakkola's weighted low-rank approximation) has non-global local minima.  Every loss
here is a positive-definite quadratic form in the residual E = PX − Y (dH × m):

    ℓ(P) = ½ s vec(E)ᵀ Q vec(E),        vec row-major: entry (j, k) of E is coordinate j·m + k,

with Q = I for `square`, Q = diag(w) (w = the weights row by row) for `weighted`, and Q given for
`quadratic_form`; s is the normalisation (1, or 1/m).  So ℓ stays a quadratic polynomial in P and
∇L stays polynomial — everything downstream (exact system, msolve, homotopies) works as before.

The operator form.  With M = I_dH ⊗ Xᵀ (vec(PX) = M vec(P)),

    ℓ(P) = ½ vec(P)ᵀ K vec(P) − ⟨T, P⟩ + ½ s vec(Y)ᵀ Q vec(Y),
    K = s Mᵀ Q M  ((dH·d0)²),   T = mat(s Mᵀ Q vec(Y))  (dH × d0),

so the gradient's data part is 𝒦(P) − T with vec 𝒦(P) = K vec(P) — the square loss's P S − T
with K = I ⊗ S (S = s X Xᵀ, T = s Y Xᵀ).  problem.py evaluates the square loss by the cheaper
S form and every other loss by K.

Everything here works on float, complex and `Fraction` (object) arrays alike, so the exact
system (sparse.py) and the monodromy family (complex forms) use the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

LOSS_KINDS = ("square", "weighted", "quadratic_form")


@dataclass(frozen=True)
class DataLoss:
    """Which quadratic form measures the residual: `kind` and its parameters (weights for
    `weighted`, Q for `quadratic_form`, neither for `square`)."""

    kind: str = "square"
    weights: np.ndarray | None = field(default=None, compare=False)  # (dH, m), positive
    Q: np.ndarray | None = field(default=None, compare=False)  # (dH·m, dH·m), symmetric positive definite

    @property
    def square(self) -> bool:
        return self.kind == "square"

    def form(self, dH: int, m: int) -> np.ndarray:
        """Q as a (dH·m)² matrix (the identity for the square loss)."""
        if self.kind == "weighted":
            assert self.weights is not None
            flat = np.ravel(self.weights)
            out = np.zeros((flat.size, flat.size), dtype=flat.dtype)
            if out.dtype == object:
                out[:] = flat[0] - flat[0]
            out[np.arange(flat.size), np.arange(flat.size)] = flat
            return out
        if self.kind == "quadratic_form":
            assert self.Q is not None
            return np.asarray(self.Q)
        return np.eye(dH * m)


SQUARE = DataLoss()


def data_operator(X: np.ndarray, Q: np.ndarray, scale: Any, dH: int) -> np.ndarray:
    """K = s Mᵀ Q M with M = I_dH ⊗ Xᵀ: K[(a,b),(c,d)] = s Σ_kl X[b,k] Q[(a,k),(c,l)] X[d,l]."""
    d0, m = X.shape
    Q4 = np.asarray(Q).reshape(dH, m, dH, m)
    K = np.einsum("bk,akcl,dl->abcd", X, Q4, X, optimize=X.dtype != object)
    return scale * K.reshape(dH * d0, dH * d0)


def data_target(X: np.ndarray, Y: np.ndarray, Q: np.ndarray, scale: Any) -> np.ndarray:
    """T = mat(s Mᵀ Q vec Y): T[a,b] = s Σ_k X[b,k] (Q vec Y)[(a,k)]."""
    d0, m = X.shape
    dH = Y.shape[0]
    QY = (np.asarray(Q) @ np.ravel(Y)).reshape(dH, m)
    return scale * (QY @ X.T)


def data_value(E: np.ndarray, Q: np.ndarray, scale: Any) -> np.ndarray:
    """ℓ = ½ s vec(E)ᵀ Q vec(E) for a batch of residuals E (dH, m, N), batch last."""
    dH, m = E.shape[:2]
    flat = E.reshape(dH * m, -1)
    return 0.5 * scale * np.sum(flat * (np.asarray(Q) @ flat), axis=0)


def random_form(kind: str, rng: np.random.Generator, dH: int, m: int) -> np.ndarray:
    """A random complex form of the kind's structure — diagonal for `weighted`, symmetric for
    `quadratic_form` — for points of the monodromy family (engines/native/family.py)."""
    size = dH * m
    if kind == "weighted":
        return np.diag((rng.standard_normal(size) + 1j * rng.standard_normal(size)) / np.sqrt(2))
    A = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))) / np.sqrt(2 * size)
    return A + A.T


__all__ = ["LOSS_KINDS", "SQUARE", "DataLoss", "data_operator", "data_target", "data_value", "random_form"]
