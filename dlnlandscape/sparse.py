"""The gradient system in exact sparse form: per equation, an exponent matrix and coefficients.

This is the form other engines read (msolve, HC.jl's generic path, Bertini, PHCpack) and the
one degrees and bounds are read off.  It is built by expanding the loss as a polynomial
(a dict from exponent tuples to coefficients) and differentiating it term by term, so the same
code gives float coefficients or exact `Fraction`s — whichever the data are.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np

from .config import Config

Poly = dict[tuple[int, ...], Any]


@dataclass(frozen=True)
class SparsePolynomial:
    exponents: np.ndarray  # (terms, n) int64
    coefficients: np.ndarray  # (terms,) object array of Fraction, or float/complex

    @property
    def degree(self) -> int:
        return int(self.exponents.sum(axis=1).max()) if len(self.exponents) else 0


@dataclass(frozen=True)
class SparseSystem:
    variables: tuple[str, ...]
    equations: tuple[SparsePolynomial, ...]
    groups: tuple[tuple[int, ...], ...]  # variable indices of each layer

    @property
    def n(self) -> int:
        return len(self.variables)

    @property
    def exact(self) -> bool:
        return any(isinstance(c, Fraction) for eq in self.equations for c in eq.coefficients[:1])

    def degrees(self) -> list[int]:
        return [eq.degree for eq in self.equations]

    def multidegrees(self) -> np.ndarray:
        """(equations, groups) degree of each equation in each variable group."""
        return np.array(
            [
                [int(eq.exponents[:, list(g)].sum(axis=1).max()) if len(eq.exponents) else 0 for g in self.groups]
                for eq in self.equations
            ],
            dtype=np.int64,
        )

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at a batch of points (N, n) in floating point (for cross-checks)."""
        x = np.atleast_2d(np.asarray(x, dtype=complex))
        out = np.zeros((x.shape[0], len(self.equations)), dtype=complex)
        for k, eq in enumerate(self.equations):
            coeffs = np.array([complex(c) for c in eq.coefficients])
            monomials = np.prod(x[:, None, :] ** eq.exponents[None, :, :], axis=2)
            out[:, k] = monomials @ coeffs
        return out

    def integer_equations(self) -> list[list[tuple[tuple[int, ...], int]]]:
        """Each equation times the lcm of its denominators: integer coefficients (exact only)."""
        result = []
        for eq in self.equations:
            fractions = [Fraction(c) for c in eq.coefficients]
            scale = lcm(*[f.denominator for f in fractions]) if fractions else 1
            result.append(
                [(tuple(int(e) for e in row), int(f * scale)) for row, f in zip(eq.exponents, fractions) if f != 0]
            )
        return result


def gradient_system(config: Config, *, exact: bool = True) -> SparseSystem:
    """∇L = 0 for a config, with exact rational coefficients (or floats with `exact=False`)."""
    if exact:
        X, Y, C = config.X_exact, config.Y_exact, config.penalty_exact
        scale: Any = Fraction(1, config.samples) if config.normalization == "mean" else Fraction(1)
    else:
        X, Y, C = config.X, config.Y, config.penalty
        scale = 1.0 / config.samples if config.normalization == "mean" else 1.0
    return build_gradient_system(config.widths, X, Y, C, residual=config.residual, scale=scale)


def build_gradient_system(
    widths: tuple[int, ...],
    X: np.ndarray,
    Y: np.ndarray,
    penalty: tuple[np.ndarray, ...],
    *,
    residual: bool = False,
    scale: Any = 1,
) -> SparseSystem:
    """Expand L = s/2‖P X − Y‖² + ½ Σ C_i ∘ W_i ∘ W_i and differentiate it."""
    H = len(widths) - 1
    shapes = [(widths[i + 1], widths[i]) for i in range(H)]
    n = sum(r * c for r, c in shapes)
    names = []
    groups = []
    matrices: list[list[list[Poly]]] = []
    k = 0
    one = _one_like(scale)
    zero = one - one
    for i, (r, c) in enumerate(shapes):
        group = []
        rows = []
        for a in range(r):
            row = []
            for b in range(c):
                e = [0] * n
                e[k] = 1
                poly: Poly = {tuple(e): one}
                if residual and r == c and a == b:
                    poly[(0,) * n] = one
                row.append(poly)
                names.append(f"w{i + 1}_{a + 1}_{b + 1}")
                group.append(k)
                k += 1
            rows.append(row)
        matrices.append(rows)
        groups.append(tuple(group))
    P = matrices[0]
    for M in matrices[1:]:
        P = _matmul(M, P, zero)
    # data term: s/2 Σ_j (P x_j − y_j)²
    loss: Poly = {}
    m = X.shape[1]
    for j in range(m):
        for a in range(widths[-1]):
            residual_poly: Poly = {(0,) * n: -Y[a, j]}
            for b in range(widths[0]):
                _axpy(residual_poly, X[b, j], P[a][b])
            _axpy(loss, scale / 2, _mul(residual_poly, residual_poly, zero))
    k = 0
    for i, (r, c) in enumerate(shapes):
        for a in range(r):
            for b in range(c):
                e = [0] * n
                e[k] = 2
                _axpy(loss, penalty[i][a, b] / 2, {tuple(e): one})
                k += 1
    equations = tuple(_as_sparse(_derivative(loss, v), n) for v in range(n))
    return SparseSystem(variables=tuple(names), equations=equations, groups=tuple(groups))


def _one_like(value: Any) -> Any:
    return Fraction(1) if isinstance(value, Fraction) else 1.0


def _axpy(target: Poly, alpha: Any, poly: Poly) -> None:
    for e, c in poly.items():
        target[e] = target.get(e, 0) + alpha * c


def _mul(p: Poly, q: Poly, zero: Any) -> Poly:
    out: Poly = {}
    for e1, c1 in p.items():
        for e2, c2 in q.items():
            e = tuple(a + b for a, b in zip(e1, e2))
            out[e] = out.get(e, zero) + c1 * c2
    return out


def _matmul(A: list[list[Poly]], B: list[list[Poly]], zero: Any) -> list[list[Poly]]:
    out = []
    for a in range(len(A)):
        row = []
        for b in range(len(B[0])):
            acc: Poly = {}
            for k in range(len(B)):
                _axpy(acc, 1, _mul(A[a][k], B[k][b], zero))
            row.append(acc)
        out.append(row)
    return out


def _derivative(poly: Poly, v: int) -> Poly:
    out: Poly = {}
    for e, c in poly.items():
        if e[v] > 0:
            d = list(e)
            d[v] -= 1
            out[tuple(d)] = out.get(tuple(d), 0) + c * e[v]
    return out


def _as_sparse(poly: Poly, n: int) -> SparsePolynomial:
    items = sorted((e, c) for e, c in poly.items() if c != 0)
    exps = np.array([e for e, _ in items], dtype=np.int64).reshape(len(items), n)
    coeffs = np.empty(len(items), dtype=object)
    coeffs[:] = [c for _, c in items]
    return SparsePolynomial(exponents=exps, coefficients=coeffs)
