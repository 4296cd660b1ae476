"""The γ-trick straight-line homotopy on multi-projective space with a random affine chart.

    H(y, t) = (1 − t) F̂(y) + t γ Ĝ(y),     a_g · y_g = 1 for every group g,

where F̂ is the multi-homogenised gradient system (problem.py), Ĝ the linear-product start
system (start_systems.py) and γ a random unit complex number, so that for all t in (0, 1] the
paths are nonsingular with probability one (the "gamma trick", Sommese & Wampler 2005, §8.3).
Working in projective coordinates keeps every path bounded: a path that diverges in affine
space ends at a point whose homogenising coordinate h_g is zero, which the tracker recognises
as *at infinity* instead of chasing it to overflow.

It meets all three protocols of base.py: the tracker evaluates it, ends its paths at t = 0
(`evaluate_target`, `homogenizing_ratio`), and the compiled kernel evaluates it from
`kernel_data()` — the same system in sparse monomial form, with the same equation scaling, so
the two evaluations agree to rounding.
"""

from __future__ import annotations

import numpy as np

from ....model.problem import Problem
from ..kernel_data import KernelData, KernelMode, no_network
from ..start_systems import LinearProductStart
from .base import Evaluation


class ProjectiveHomotopy:
    """Evaluates H, ∂H/∂y and ∂H/∂t for a batch of points `y` of shape (N, n + G)."""

    arc_of_path = None  # one homotopy for every path

    def __init__(self, problem: Problem, start: LinearProductStart, gamma: complex) -> None:
        self.problem = problem
        self.start = start
        self.gamma = gamma
        self.groups = start.groups
        self.n = problem.n
        self.G = self.groups.count
        self.size = self.n + self.G
        # layer → group one-hot, so that the homogenising coordinate of layer i is h[group(i)]
        self.layer_to_group = np.zeros((problem.depth, self.G))
        self.layer_to_group[np.arange(problem.depth), self.groups.layer_group] = 1.0
        self.group_columns = [np.concatenate([members, [self.n + g]]) for g, members in enumerate(self.groups.members)]
        self.chart_rows = np.zeros((self.G, self.size), dtype=complex)
        for g, cols in enumerate(self.group_columns):
            self.chart_rows[g, cols] = start.charts[g]
        # Equation scaling: divide every target and start equation by its root-mean-square size
        # on random points of unit size, so that neither side dominates the homotopy.  Without
        # it the data term (entries of X Xᵀ of order m) makes paths sweep fast near t = 1 and
        # the tracker needs several times more steps.  Solutions do not change.
        probe = np.random.default_rng(0).standard_normal((64, self.size, 2)) @ np.array([1, 1j])
        for cols in self.group_columns:
            probe[:, cols] /= np.linalg.norm(probe[:, cols], axis=1, keepdims=True)
        self.target_scale = np.ones(self.n)
        self.start_scale = np.ones(self.n)
        yt = np.ascontiguousarray(probe.T)
        self.target_scale = 1.0 / np.sqrt(np.mean(np.abs(self._target_last(yt, False)[0]) ** 2, axis=1))
        self.start_scale = 1.0 / np.sqrt(np.mean(np.abs(self._start_last(yt)[0]) ** 2, axis=1))

    # ---------------------------------------------------------------- pieces
    # Internally everything is batch-last, (rows, N), as in problem.evaluate_last; the
    # tracker sees batch-first arrays (N, n + G) and Jacobians (N, n + G, n + G) for LAPACK.
    def split(self, y: np.ndarray) -> list[np.ndarray]:
        """Batch-first (N, n+G) → per-group batch-last coordinates (n_g + 1, N)."""
        return [y[:, cols].T for cols in self.group_columns]

    def join(self, parts: list[np.ndarray]) -> np.ndarray:
        """Per-group batch-first parts (N, n_g + 1) → (N, n + G)."""
        y = np.empty((parts[0].shape[0], self.size), dtype=complex)
        for cols, part in zip(self.group_columns, parts):
            y[:, cols] = part
        return y

    def _target_last(self, yt: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        ht = yt[self.n :][self.groups.layer_group]
        F, Jx, Jh = self.problem.evaluate_last(yt[: self.n], ht, jacobian=jacobian)
        scale = self.target_scale[:, None]
        F = F * scale
        if not jacobian:
            return F, None
        Jx = Jx * scale[:, :, None]
        Jh = Jh * scale[:, :, None]
        J = np.empty((self.n, self.size, yt.shape[1]), dtype=complex)
        J[:, : self.n] = Jx
        J[:, self.n :] = np.einsum("ehN,hg->egN", Jh, self.layer_to_group) if self.problem.depth != self.G else Jh
        return F, J

    def _start_last(self, yt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, blocks = self.start.evaluate([yt[cols] for cols in self.group_columns])
        scale = self.start_scale[:, None]
        J = np.zeros((self.n, self.size, yt.shape[1]), dtype=complex)
        for cols, block in zip(self.group_columns, blocks):
            J[:, cols] = block * scale[:, :, None]
        return values * scale, J

    def chart(self, y: np.ndarray) -> np.ndarray:
        return y @ self.chart_rows.T - 1.0

    # ------------------------------------------------------------- homotopy
    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> Evaluation:
        """H (N, n+G), ∂H/∂y (N, n+G, n+G) and ∂H/∂t (N, n+G) at per-point parameters t (N,);
        every path follows the same homotopy, so `index` is not needed."""
        yt = np.ascontiguousarray(y.T)
        F, JF = self._target_last(yt, True)
        S, JS = self._start_last(yt)
        a = 1.0 - t
        b = self.gamma * t
        N = y.shape[0]
        values = np.empty((N, self.size), dtype=complex)
        values[:, : self.n] = (a * F + b * S).T
        values[:, self.n :] = self.chart(y)
        jac = np.empty((N, self.size, self.size), dtype=complex)
        jac[:, : self.n] = (a * JF + b * JS).transpose(2, 0, 1)
        jac[:, self.n :] = self.chart_rows
        if not derivative_t:
            return values, jac, None
        dt = np.zeros_like(values)
        dt[:, : self.n] = (self.gamma * S - F).T
        return values, jac, dt

    def evaluate_target(self, y: np.ndarray, jacobian: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """The t = 0 system with the chart: what an endpoint must solve."""
        F, JF = self._target_last(np.ascontiguousarray(y.T), jacobian)
        values = np.concatenate([F.T, self.chart(y)], axis=1)
        if JF is None:
            return values, None
        jac = np.empty((y.shape[0], self.size, self.size), dtype=complex)
        jac[:, : self.n] = JF.transpose(2, 0, 1)
        jac[:, self.n :] = self.chart_rows
        return values, jac

    def target_system(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The t = 0 system and its Jacobian: what Newton at t = 0 solves (common.newton)."""
        values, jac = self.evaluate_target(y)
        assert jac is not None
        return values, jac

    def start_values(self, y: np.ndarray) -> np.ndarray:
        return self._start_last(np.ascontiguousarray(y.T))[0].T

    def start_solutions(self) -> np.ndarray:
        parts, _ = self.start.solutions()
        return self.join(parts)

    def homogenizing_ratio(self, y: np.ndarray) -> np.ndarray:
        """|h_g| / ‖y_g‖ per group: → 0 exactly when the path goes to infinity."""
        return np.stack(
            [
                np.abs(y[:, self.n + g]) / np.linalg.norm(y[:, cols], axis=1)
                for g, cols in enumerate(self.group_columns)
            ],
            axis=1,
        )

    def affine(self, y: np.ndarray) -> np.ndarray:
        """Dehomogenise: W_i / h_i for every layer."""
        h = y[:, self.n :][:, self.groups.layer_group]
        x = y[:, : self.n].copy()
        for i in range(self.problem.depth):
            sl = slice(self.problem.offsets[i], self.problem.offsets[i + 1])
            x[:, sl] /= h[:, i : i + 1]
        return x

    def kernel_data(self, structured: bool = True) -> KernelData:
        """The homotopy as the compiled kernel reads it (kernel.py, mode GAMMA): the
        multi-homogenised target as sparse terms with one homogenising variable per group and
        the target scaling folded into the coefficients, the start system as its linear factors
        (start scaling folded into the first), and the charts."""
        p = self.problem
        system = p.sparse_system()
        degrees = self.start.degrees  # (n, G)
        groups = self.groups
        rows_vars, rows_exps, coefs, eqs = [], [], [], []
        for e, eq in enumerate(system.equations):
            exps = eq.exponents
            h_exps = np.stack(
                [degrees[e, g] - exps[:, groups.members[g]].sum(axis=1) for g in range(groups.count)], axis=1
            )
            if (h_exps < 0).any():
                raise ValueError("equation degree exceeds its group degree; homogenisation is inconsistent")
            full = np.concatenate([exps, h_exps], axis=1)
            for row, c in zip(full, eq.coefficients):
                support = np.flatnonzero(row)
                rows_vars.append(support)
                rows_exps.append(row[support])
                coefs.append(complex(c) * self.target_scale[e])
                eqs.append(e)
        L = max(len(v) for v in rows_vars)
        T = len(rows_vars)
        term_vars = np.full((T, L), -1, dtype=np.int64)
        term_exps = np.zeros((T, L), dtype=np.int64)
        for t, (v, x) in enumerate(zip(rows_vars, rows_exps)):
            term_vars[t, : len(v)] = v
            term_exps[t, : len(x)] = x
        n = self.n
        F = int(degrees.sum(axis=1).max())
        K = max(len(c) for c in self.group_columns)
        factor_cols = np.full((n, F, K), -1, dtype=np.int64)
        factor_coef = np.zeros((n, F, K), dtype=complex)
        factor_count = degrees.sum(axis=1).astype(np.int64)
        for e in range(n):
            f = 0
            for g, cols in enumerate(self.group_columns):
                for t in range(int(degrees[e, g])):
                    factor_cols[e, f, : len(cols)] = cols
                    factor_coef[e, f, : len(cols)] = self.start.forms[g][e, t]
                    f += 1
            factor_coef[e, 0] *= self.start_scale[e]
        chart_cols = np.full((self.G, K), -1, dtype=np.int64)
        chart_coef = np.zeros((self.G, K), dtype=complex)
        for g, cols in enumerate(self.group_columns):
            chart_cols[g, : len(cols)] = cols
            chart_coef[g, : len(cols)] = self.start.charts[g]
        term_coef = np.array(coefs, dtype=complex)
        return KernelData(
            mode=int(KernelMode.GAMMA),
            n=n,
            gamma=complex(self.gamma),
            max_power=int(term_exps.max()),
            term_vars=term_vars,
            term_exps=term_exps,
            term_coef=term_coef,
            term_eq=np.array(eqs, dtype=np.int64),
            factor_cols=factor_cols,
            factor_coef=factor_coef,
            factor_count=factor_count,
            chart_cols=chart_cols,
            chart_coef=chart_coef,
            coef_poly=np.zeros((1, 3, term_coef.shape[0]), dtype=complex),
            **no_network(),
        )
