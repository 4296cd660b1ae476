"""The parameter homotopy of the monodromy family: ∇L(x; p(t)) along arcs of data.

∇L depends linearly on the parameters p = (S, T, C) (model.sparse.ParametricSystem), and along
an arc of data (family.py: X(t) = X_mid + t X_half, likewise Y and C) S and T are quadratic in t.
So every term coefficient of the gradient system is a quadratic polynomial in t,

    c(t) = c₀ + t c₁ + t² c₂,

and the homotopy is H(x, t) = Σ_terms c(t) x^e, in affine coordinates (arcs avoid the bad
parameter values with probability one, so no path needs projective space).  ∂H/∂t is the same
sum with c′(t) = c₁ + 2t c₂.  A batch of paths may follow many arcs at once — path i on arc
`arc_of_path[i]`, each arc its own (3, T) coefficients — which is how monodromy tracks all
loops of all neuron patterns in one call.

The NumPy evaluation here is the reference; `kernel_data()` hands the same terms and
coefficients to the compiled kernel (mode PARAMETER), and the two agree to rounding (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..kernel_data import KernelData, KernelMode, no_network
from .base import Evaluation


class TermSystem(Protocol):
    """What the homotopy reads of a sparse system: the terms' exponents and equations (the
    gradient family, model.sparse.ParametricSystem, or the trace test's slice system)."""

    exponents: np.ndarray  # (terms, n) int64
    equation: np.ndarray  # (terms,) int64


@dataclass(frozen=True)
class NetworkArcs:
    """The same homotopy as the network's data along every arc, for the compiled evaluation by
    matrix products (kernel_network.py, mode NETWORK): S(t), T(t), C(t) = X₀ + t X₁ + t² X₂."""

    widths: np.ndarray  # (H + 1,) int64
    residual_layers: np.ndarray  # (H,) int64: 1 where the layer is I + W
    s_poly: np.ndarray  # (arcs, 3, d0, d0) complex
    t_poly: np.ndarray  # (arcs, 3, dH, d0) complex
    c_poly: np.ndarray  # (arcs, 3, n) complex


@dataclass(frozen=True)
class SliceArcs:
    """The trace test's slice system along every arc as the network's data (mode SLICE,
    kernel_network.py): the line p(τ) + λ v(τ) — S, T, C stacks (S_p₀, S_p₁, S_v₀, S_v₁) — and
    the pencil's forms (a, b, t), (2, n + 2) per arc; every value X₀ + τ X₁."""

    widths: np.ndarray
    residual_layers: np.ndarray
    s_poly: np.ndarray  # (arcs, 4, d0, d0)
    t_poly: np.ndarray  # (arcs, 4, dH, d0)
    c_poly: np.ndarray  # (arcs, 4, n)
    pencil_poly: np.ndarray  # (arcs, 2, n + 2)


class ParameterHomotopy:
    """H(x, t) = Σ_terms (c₀ + t c₁ + t² c₂) x^e for a batch of paths, path i on arc
    arc_of_path[i]; `coefficients` is (arcs, 3, terms).  `network`, when the system is a
    network's gradient (NetworkArcs) or the trace test's slice system of one (SliceArcs), lets
    the compiled kernel evaluate it from matrix products instead."""

    def __init__(
        self,
        system: TermSystem,
        term_tables: tuple[np.ndarray, np.ndarray],
        coefficients: np.ndarray,
        arc_of_path: np.ndarray,
        network: NetworkArcs | SliceArcs | None = None,
    ) -> None:
        self.system = system
        self.network = network
        self.term_tables = term_tables  # (terms, L) variables (−1 padded) and exponents: the kernel's layout
        self.n = system.exponents.shape[1]
        self.coefficients = coefficients
        self._arc = np.asarray(arc_of_path, dtype=np.int64)
        self.arc_of_path: np.ndarray | None = self._arc
        self._exponents = system.exponents
        self._onehot = np.zeros((self.n, self._exponents.shape[0]))
        self._onehot[system.equation, np.arange(self._exponents.shape[0])] = 1.0

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> Evaluation:
        """H (N, n), ∂H/∂x (N, n, n), ∂H/∂t (N, n) at per-point t; `index` are the rows of the
        batch these points are (default: all, in order)."""
        E = self._exponents  # (T, n)
        arc = self._arc if index is None else self._arc[index]
        c0, c1, c2 = (self.coefficients[arc, k] for k in range(3))  # (N, T) each
        tt = t[:, None]
        coef = c0 + tt * (c1 + tt * c2)
        powers = y[:, None, :] ** E[None]  # (N, T, n)
        mono = np.prod(powers, axis=2)
        values = (coef * mono) @ self._onehot.T
        with np.errstate(divide="ignore", invalid="ignore"):
            lowered = np.where(E[None] > 0, E[None] * y[:, None, :] ** np.maximum(E[None] - 1, 0), 0.0)
        others = np.stack([np.prod(np.delete(powers, v, axis=2), axis=2) for v in range(self.n)], axis=2)
        jac = np.einsum("et,ntv->nev", self._onehot, coef[:, :, None] * lowered * others)
        if not derivative_t:
            return values, jac, None
        return values, jac, ((c1 + 2.0 * tt * c2) * mono) @ self._onehot.T

    def kernel_data(self, structured: bool = True) -> KernelData:
        """The homotopy as the compiled kernel reads it: mode NETWORK (matrix products) when
        the network's data are known and `structured`, else mode PARAMETER (the target's terms
        and, per arc, their three coefficient vectors); the start-system fields are empty."""
        term_vars, term_exps = self.term_tables
        n = self.n
        net = self.network if structured else None
        network = no_network()
        mode = KernelMode.PARAMETER
        if net is not None:
            mode = KernelMode.SLICE if isinstance(net, SliceArcs) else KernelMode.NETWORK
            network = {
                "widths": np.ascontiguousarray(net.widths, dtype=np.int64),
                "residual_layers": np.ascontiguousarray(net.residual_layers, dtype=np.int64),
                "s_poly": np.ascontiguousarray(net.s_poly, dtype=complex),
                "t_poly": np.ascontiguousarray(net.t_poly, dtype=complex),
                "c_poly": np.ascontiguousarray(net.c_poly, dtype=complex),
                "pencil_poly": np.ascontiguousarray(
                    net.pencil_poly if isinstance(net, SliceArcs) else network["pencil_poly"], dtype=complex
                ),
            }
        return KernelData(
            mode=int(mode),
            n=n,
            gamma=1.0 + 0.0j,
            max_power=int(max(1, term_exps.max())),
            term_vars=term_vars,
            term_exps=term_exps,
            term_coef=self.coefficients[0, 0].astype(complex),
            term_eq=self.system.equation.astype(np.int64),
            factor_cols=np.full((n, 1, 1), -1, dtype=np.int64),
            factor_coef=np.zeros((n, 1, 1), dtype=complex),
            factor_count=np.zeros(n, dtype=np.int64),
            chart_cols=np.zeros((0, 1), dtype=np.int64),
            chart_coef=np.zeros((0, 1), dtype=complex),
            coef_poly=np.ascontiguousarray(self.coefficients, dtype=complex),
            **network,
        )


__all__ = ["NetworkArcs", "ParameterHomotopy", "SliceArcs", "TermSystem"]
