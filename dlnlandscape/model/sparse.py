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
    loss = config.loss_exact if exact else config.loss
    form = None if loss.square else loss.form(config.widths[-1], config.samples)
    return build_gradient_system(config.widths, X, Y, C, residual=config.residual, scale=scale, form=form)


def build_gradient_system(
    widths: tuple[int, ...],
    X: np.ndarray,
    Y: np.ndarray,
    penalty: tuple[np.ndarray, ...],
    *,
    residual: bool = False,
    scale: Any = 1,
    form: np.ndarray | None = None,
) -> SparseSystem:
    """Expand L = s/2‖P X − Y‖² + ½ Σ C_i ∘ W_i ∘ W_i and differentiate it; with `form` (the
    loss's Q, (dH·m)², loss.py) the data term is s/2 vec(PX − Y)ᵀ Q vec(PX − Y) instead."""
    n = _unknowns(widths)
    one = _one_like(scale)
    zero = one - one
    matrices, names, groups = _weight_polys(widths, residual, one)
    P = matrices[0]
    for M in matrices[1:]:
        P = _matmul(M, P, zero)
    # data term: s/2 Σ_j (P x_j − y_j)², or s/2 Σ Q[(a,j),(c,l)] E_aj E_cl
    loss: Poly = {}
    m = X.shape[1]
    residuals: list[Poly] = []  # E_aj at index a·m + j (loss.py's row-major vec)
    for a in range(widths[-1]):
        for j in range(m):
            residual_poly: Poly = {(0,) * n: -Y[a, j]}
            for b in range(widths[0]):
                _axpy(residual_poly, X[b, j], P[a][b])
            residuals.append(residual_poly)
    if form is None:
        for residual_poly in residuals:
            _axpy(loss, scale / 2, _mul(residual_poly, residual_poly, zero))
    else:
        for r, c in zip(*np.nonzero(np.asarray(form) != 0)):
            _axpy(loss, scale * form[r, c] / 2, _mul(residuals[r], residuals[c], zero))
    penalty_flat = np.concatenate([np.asarray(c).ravel() for c in penalty]) if n else np.zeros(0)
    for k in range(n):
        e = [0] * n
        e[k] = 2
        _axpy(loss, penalty_flat[k] / 2, {tuple(e): one})
    equations = tuple(_as_sparse(_derivative(loss, v), n) for v in range(n))
    return SparseSystem(variables=tuple(names), equations=equations, groups=tuple(groups))


@dataclass(frozen=True)
class ParametricSystem:
    """∇L as a family over its data parameters: every coefficient is linear in p = (S, T, C),
    or p = (K, T, C) for a loss other than the square one (model/loss.py).

    With S = s X Xᵀ, T = s Y Xᵀ (s the normalisation) and C the penalty coefficients,
    L = ½ tr(P S Pᵀ) − tr(P Tᵀ) + ½ Σ C ∘ W ∘ W + const — in general ½ vec(P)ᵀ K vec(P) in place
    of the first term — so the coefficient of every monomial of every equation is
    `coefficient_map @ p`.  The monodromy solver and parameter homotopies move p; the support
    (monomials) is that of generic data.
    """

    widths: tuple[int, ...]
    exponents: np.ndarray  # (terms, n) int64
    equation: np.ndarray  # (terms,) int64: the equation each term belongs to
    coefficient_map: np.ndarray  # (terms, size of the operator + dH·d0 + n) float
    operator: str = "S"  # the data block of p: "S" (d0 × d0, the square loss) or "K" ((dH·d0)²)

    @property
    def operator_shape(self) -> tuple[int, int]:
        d0, dH = self.widths[0], self.widths[-1]
        return (d0, d0) if self.operator == "S" else (dH * d0, dH * d0)

    @property
    def operator_size(self) -> int:
        rows, cols = self.operator_shape
        return rows * cols

    def parameter_vector(self, S: np.ndarray, T: np.ndarray, C: np.ndarray) -> np.ndarray:
        """p = (S or K row-major, T row-major, C flattened layer by layer)."""
        return np.concatenate([np.asarray(S).ravel(), np.asarray(T).ravel(), np.asarray(C).ravel()])

    def split(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(S or K, T, C) of a parameter vector."""
        d0, dH = self.widths[0], self.widths[-1]
        k = self.operator_size
        return p[:k].reshape(self.operator_shape), p[k : k + dH * d0].reshape(dH, d0), p[k + dH * d0 :]

    def coefficients(self, p: np.ndarray) -> np.ndarray:
        return self.coefficient_map @ p


def parametric_gradient_system(
    widths: tuple[int, ...], *, residual: bool = False, operator: str = "S"
) -> ParametricSystem:
    """The coefficient map of ∇L over (S, T, C) — or (K, T, C) with `operator="K"` — the loss
    expanded once with one vector coefficient per monomial (one slot per parameter), then
    differentiated."""
    n = _unknowns(widths)
    d0, dH = widths[0], widths[-1]
    k = d0 * d0 if operator == "S" else (dH * d0) ** 2
    n_params = k + dH * d0 + n
    matrices, _, _ = _weight_polys(widths, residual, 1.0)
    P = matrices[0]
    for M in matrices[1:]:
        P = _matmul(M, P, 0.0)

    def unit(k: int) -> np.ndarray:
        v = np.zeros(n_params)
        v[k] = 1.0
        return v

    loss: Poly = {}
    for a in range(dH):
        for b in range(d0):
            if operator == "S":
                for c in range(d0):
                    _axpy(loss, 0.5 * unit(b * d0 + c), _mul(P[a][b], P[a][c], 0.0))
            else:
                for c in range(dH):
                    for d in range(d0):
                        _axpy(loss, 0.5 * unit((a * d0 + b) * dH * d0 + c * d0 + d), _mul(P[a][b], P[c][d], 0.0))
            _axpy(loss, -unit(k + a * d0 + b), P[a][b])
    for v in range(n):
        e = [0] * n
        e[v] = 2
        _axpy(loss, 0.5 * unit(k + dH * d0 + v), {tuple(e): 1.0})
    exponents, equation, rows = [], [], []
    for v in range(n):
        for e, c in sorted(_derivative(loss, v).items()):
            if np.any(c != 0):
                exponents.append(e)
                equation.append(v)
                rows.append(c)
    return ParametricSystem(
        widths=tuple(widths),
        exponents=np.array(exponents, dtype=np.int64).reshape(len(rows), n),
        equation=np.array(equation, dtype=np.int64),
        coefficient_map=np.array(rows, dtype=float).reshape(len(rows), n_params),
        operator=operator,
    )


def _unknowns(widths: tuple[int, ...]) -> int:
    return sum(widths[i + 1] * widths[i] for i in range(len(widths) - 1))


def _weight_polys(
    widths: tuple[int, ...], residual: bool, one: Any
) -> tuple[list[list[list[Poly]]], list[str], list[tuple[int, ...]]]:
    """Each weight matrix as polynomials in the unknowns (I + W_i for square residual layers),
    with the variable names and the variable indices of each layer."""
    H = len(widths) - 1
    n = _unknowns(widths)
    names: list[str] = []
    groups: list[tuple[int, ...]] = []
    matrices: list[list[list[Poly]]] = []
    k = 0
    for i in range(H):
        r, c = widths[i + 1], widths[i]
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
    return matrices, names, groups


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
