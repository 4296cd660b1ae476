"""Compiled per-path kernels for the tracker: one RK4 step plus Newton correction per call.

Why compiled.  The batched NumPy evaluation (homotopy.py) is clear and is the reference, but
with 2×2 to 4×4 blocks every NumPy call is dominated by its fixed overhead: on (2,2,2) one
batched evaluation + LAPACK solve of 1,921 paths costs ~20 ms, i.e. ~10 µs per path, while the
arithmetic itself is ~1 µs.  Here each path runs its whole predictor–corrector step in machine
code (numba, cached on disk so a cold start compiles once), and paths are spread over threads.

What is evaluated.  The multi-homogenised target is taken in *sparse monomial form* (sparse.py:
exponents and coefficients, with one homogenising variable per group appended), much as
HomotopyContinuation.jl compiles a system into a straight-line program: for every term,
its value and its partial derivatives from a table of powers.  The start system is evaluated
as products of linear forms.  Both carry the same equation scaling as the NumPy homotopy, so
the two evaluations agree to rounding (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...model.sparse import build_gradient_system
from .homotopy import ProjectiveHomotopy

try:  # numba is a dependency; the guard keeps the NumPy reference path usable without it
    import numba as nb

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False


@dataclass(frozen=True)
class KernelData:
    """Flat arrays describing one homotopy, in the layout the compiled kernels read."""

    n: int
    size: int
    gamma: complex
    max_power: int
    term_vars: np.ndarray  # (T, L) int64, −1 padded
    term_exps: np.ndarray  # (T, L) int64
    term_coef: np.ndarray  # (T,) complex, equation scaling included
    term_eq: np.ndarray  # (T,) int64
    factor_cols: np.ndarray  # (n, F, K) int64, −1 padded
    factor_coef: np.ndarray  # (n, F, K) complex, start scaling folded into factor 0
    factor_count: np.ndarray  # (n,) int64
    chart_cols: np.ndarray  # (G, K) int64
    chart_coef: np.ndarray  # (G, K) complex
    # mode 0: H = (1 − t) F + t γ S (γ-trick from a linear-product start, projective);
    # mode 1: H = Σ_k t^k F_k (parameter homotopy, affine): term coefficients c(t) = Σ_k t^k c_k
    mode: int = 0
    coef_poly: np.ndarray | None = None  # (arcs, 3, T) complex, mode 1 only: one set per arc

    @classmethod
    def from_homotopy(cls, hom: ProjectiveHomotopy) -> KernelData:
        p = hom.problem
        system = build_gradient_system(p.widths, p.X, p.Y, p.penalty, residual=p.residual, scale=p.scale)
        degrees = hom.start.degrees  # (n, G)
        groups = hom.groups
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
                coefs.append(complex(c) * hom.target_scale[e])
                eqs.append(e)
        L = max(len(v) for v in rows_vars)
        T = len(rows_vars)
        term_vars = np.full((T, L), -1, dtype=np.int64)
        term_exps = np.zeros((T, L), dtype=np.int64)
        for t, (v, x) in enumerate(zip(rows_vars, rows_exps)):
            term_vars[t, : len(v)] = v
            term_exps[t, : len(x)] = x
        n = hom.n
        F = int(degrees.sum(axis=1).max())
        K = max(len(c) for c in hom.group_columns)
        factor_cols = np.full((n, F, K), -1, dtype=np.int64)
        factor_coef = np.zeros((n, F, K), dtype=complex)
        factor_count = degrees.sum(axis=1).astype(np.int64)
        for e in range(n):
            f = 0
            for g, cols in enumerate(hom.group_columns):
                for t in range(int(degrees[e, g])):
                    factor_cols[e, f, : len(cols)] = cols
                    factor_coef[e, f, : len(cols)] = hom.start.forms[g][e, t]
                    f += 1
            factor_coef[e, 0] *= hom.start_scale[e]
        chart_cols = np.full((hom.G, K), -1, dtype=np.int64)
        chart_coef = np.zeros((hom.G, K), dtype=complex)
        for g, cols in enumerate(hom.group_columns):
            chart_cols[g, : len(cols)] = cols
            chart_coef[g, : len(cols)] = hom.start.charts[g]
        return cls(
            n=n,
            size=hom.size,
            gamma=complex(hom.gamma),
            max_power=int(term_exps.max()),
            term_vars=term_vars,
            term_exps=term_exps,
            term_coef=np.array(coefs, dtype=complex),
            term_eq=np.array(eqs, dtype=np.int64),
            factor_cols=factor_cols,
            factor_coef=factor_coef,
            factor_count=factor_count,
            chart_cols=chart_cols,
            chart_coef=chart_coef,
        )

    @classmethod
    def from_parameter_homotopy(cls, hom: Any) -> KernelData:
        """Mode 1: the target terms of a ParameterHomotopy, coefficients quadratic in t."""
        term_vars, term_exps = hom.family.term_tables()
        n = hom.n
        return cls(
            n=n,
            size=n,
            gamma=1.0 + 0.0j,
            max_power=int(max(1, term_exps.max())),
            term_vars=term_vars,
            term_exps=term_exps,
            term_coef=hom.coefficients[0, 0].astype(complex),
            term_eq=hom.system.equation.astype(np.int64),
            factor_cols=np.full((n, 1, 1), -1, dtype=np.int64),
            factor_coef=np.zeros((n, 1, 1), dtype=complex),
            factor_count=np.zeros(n, dtype=np.int64),
            chart_cols=np.zeros((0, 1), dtype=np.int64),
            chart_coef=np.zeros((0, 1), dtype=complex),
            mode=1,
            coef_poly=np.ascontiguousarray(hom.coefficients, dtype=complex),
        )

    def args(self) -> tuple:
        return (
            self.n,
            self.gamma,
            self.max_power,
            self.term_vars,
            self.term_exps,
            self.term_coef,
            self.term_eq,
            self.factor_cols,
            self.factor_coef,
            self.factor_count,
            self.chart_cols,
            self.chart_coef,
            self.mode,
            self.coef_poly if self.coef_poly is not None else np.zeros((1, 3, self.term_coef.shape[0]), dtype=complex),
        )


if HAVE_NUMBA:

    @nb.njit(cache=True, error_model="numpy")
    def _target(y, n, max_power, term_vars, term_exps, term_coef, term_eq, F, J, pw):  # pragma: no cover
        k = y.shape[0]
        for v in range(k):
            pw[v, 0] = 1.0
            for e in range(1, max_power + 1):
                pw[v, e] = pw[v, e - 1] * y[v]
        F[:] = 0.0
        J[:, :] = 0.0
        T, L = term_vars.shape
        prefix = np.empty(L + 1, np.complex128)  # products of the factors before / after factor j
        suffix = np.empty(L + 1, np.complex128)
        for t in range(T):
            c = term_coef[t]
            eq = term_eq[t]
            m = 0
            prefix[0] = 1.0
            while m < L and term_vars[t, m] >= 0:
                prefix[m + 1] = prefix[m] * pw[term_vars[t, m], term_exps[t, m]]
                m += 1
            F[eq] += c * prefix[m]
            suffix[m] = 1.0
            for j in range(m - 1, -1, -1):
                v = term_vars[t, j]
                e = term_exps[t, j]
                suffix[j] = suffix[j + 1] * pw[v, e]
                J[eq, v] += c * e * pw[v, e - 1] * prefix[j] * suffix[j + 1]

    @nb.njit(cache=True, error_model="numpy")
    def _term_values(pw, term_vars, term_exps, coef, term_eq, out):  # pragma: no cover
        """Values only, with the power table `pw` that `_target` just filled."""
        out[:] = 0.0
        T, L = term_vars.shape
        for t in range(T):
            value = coef[t]
            for j in range(L):
                v = term_vars[t, j]
                if v < 0:
                    break
                value *= pw[v, term_exps[t, j]]
            out[term_eq[t]] += value

    @nb.njit(cache=True, error_model="numpy")
    def _start(y, factor_cols, factor_coef, factor_count, S, JS, lin):  # pragma: no cover
        n, Fm, K = factor_cols.shape
        JS[:, :] = 0.0
        for e in range(n):
            nf = factor_count[e]
            prod = 1.0 + 0.0j
            for f in range(nf):
                acc = 0.0 + 0.0j
                for j in range(K):
                    col = factor_cols[e, f, j]
                    if col < 0:
                        break
                    acc += factor_coef[e, f, j] * y[col]
                lin[f] = acc
                prod *= acc
            S[e] = prod
            for f in range(nf):
                others = 1.0 + 0.0j
                for g in range(nf):
                    if g != f:
                        others *= lin[g]
                for j in range(K):
                    col = factor_cols[e, f, j]
                    if col < 0:
                        break
                    JS[e, col] += others * factor_coef[e, f, j]

    @nb.njit(cache=True, error_model="numpy")
    def _chart(y, chart_cols, chart_coef, n, Hv, Hy):  # pragma: no cover
        G, K = chart_cols.shape
        for g in range(G):
            Hy[n + g, :] = 0.0
            acc = -1.0 + 0.0j
            for j in range(K):
                col = chart_cols[g, j]
                if col < 0:
                    break
                acc += chart_coef[g, j] * y[col]
                Hy[n + g, col] = chart_coef[g, j]
            Hv[n + g] = acc

    @nb.njit(cache=True, error_model="numpy")
    def _lu_solve(A, b):  # pragma: no cover
        """Solve A x = b in place (b becomes x) by Gaussian elimination with partial pivoting."""
        m = A.shape[0]
        for k in range(m):
            piv = k
            best = abs(A[k, k].real) + abs(A[k, k].imag)
            for i in range(k + 1, m):
                a = abs(A[i, k].real) + abs(A[i, k].imag)
                if a > best:
                    best = a
                    piv = i
            if best == 0.0:
                return False
            if piv != k:
                for j in range(m):
                    tmp = A[k, j]
                    A[k, j] = A[piv, j]
                    A[piv, j] = tmp
                tmp = b[k]
                b[k] = b[piv]
                b[piv] = tmp
            inv = 1.0 / A[k, k]
            for i in range(k + 1, m):
                f = A[i, k] * inv
                if f != 0:
                    for j in range(k + 1, m):
                        A[i, j] -= f * A[k, j]
                    b[i] -= f * b[k]
        for k in range(m - 1, -1, -1):
            s = b[k]
            for j in range(k + 1, m):
                s -= A[k, j] * b[j]
            b[k] = s / A[k, k]
        return True

    @nb.njit(cache=True, error_model="numpy")
    def _homotopy(y, t, with_t, args, kk, Hv, Hy, Ht, F, JF, S, JS, pw, lin):  # pragma: no cover
        (
            n,
            gamma,
            max_power,
            term_vars,
            term_exps,
            term_coef,
            term_eq,
            factor_cols,
            factor_coef,
            factor_count,
            chart_cols,
            chart_coef,
            mode,
            coef_poly,
        ) = args
        if mode == 1:  # parameter homotopy: c(t) = c0 + t c1 + t² c2, ∂H/∂t from c1 + 2 t c2
            T = coef_poly.shape[2]
            ct = lin[:T]
            dct = lin[T : 2 * T]
            cp = coef_poly[kk]  # this path's arc
            for i in range(T):
                ct[i] = cp[0, i] + t * (cp[1, i] + t * cp[2, i])
                dct[i] = cp[1, i] + 2.0 * t * cp[2, i]
            _target(y, n, max_power, term_vars, term_exps, ct, term_eq, Hv, Hy, pw)
            if with_t:
                _term_values(pw, term_vars, term_exps, dct, term_eq, Ht)
            return
        _target(y, n, max_power, term_vars, term_exps, term_coef, term_eq, F, JF, pw)
        _start(y, factor_cols, factor_coef, factor_count, S, JS, lin)
        a = 1.0 - t
        b = gamma * t
        k = y.shape[0]
        for e in range(n):
            Hv[e] = a * F[e] + b * S[e]
            for j in range(k):
                Hy[e, j] = a * JF[e, j] + b * JS[e, j]
            if with_t:
                Ht[e] = gamma * S[e] - F[e]
        _chart(y, chart_cols, chart_coef, n, Hv, Hy)
        if with_t:
            for g in range(n, k):
                Ht[g] = 0.0

    @nb.njit(cache=True, error_model="numpy")
    def _work(k, n, max_power, Fm):  # pragma: no cover
        """Per-thread buffers; `lin` (size Fm) holds the start system's linear factors, or in
        mode 1 the two coefficient vectors c(t) and c'(t) (callers pass Fm ≥ 2 T there)."""
        return (
            np.empty(k, np.complex128),
            np.zeros((k, k), np.complex128),
            np.empty(k, np.complex128),
            np.empty(n, np.complex128),
            np.zeros((n, k), np.complex128),
            np.empty(n, np.complex128),
            np.zeros((n, k), np.complex128),
            np.empty((k, max_power + 1), np.complex128),
            np.empty(Fm, np.complex128),
        )

    @nb.njit(cache=True)
    def _scratch_size(args):  # pragma: no cover
        return args[7].shape[1] if args[12] == 0 else 2 * args[13].shape[2]

    @nb.njit(cache=True)
    def _chunks(N, blocks):  # pragma: no cover
        """Boundaries of contiguous blocks of paths, a few per thread (work arrays per block)."""
        blocks = max(1, min(N, blocks))
        return np.linspace(0, N, blocks + 1).astype(np.int64)

    @nb.njit(cache=True, error_model="numpy")
    def _newton_update(z, Hv, Hy):  # pragma: no cover
        """z ← z − Hy⁻¹ Hv (Hv holds the system's values; both are overwritten); ‖step‖ or ∞."""
        k = z.shape[0]
        for j in range(k):
            Hv[j] = -Hv[j]
        if not _lu_solve(Hy, Hv):
            return np.inf
        acc = 0.0
        for j in range(k):
            z[j] += Hv[j]
            acc += abs(Hv[j]) ** 2
        return np.sqrt(acc)

    @nb.njit(cache=True, error_model="numpy")
    def _tangent(y, s, ds, args, kk, out, Hv, Hy, Ht, F, JF, S, JS, pw, lin):  # pragma: no cover
        t = np.exp(s)
        _homotopy(y, t, True, args, kk, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
        f = t * ds
        for j in range(y.shape[0]):
            out[j] = -Ht[j] * f
        return _lu_solve(Hy, out)

    @nb.njit(cache=True, error_model="numpy", parallel=True)
    def rk4_correct(Y, S0, DS, Hstep, which, args, blocks, out_y, out_n1, out_n2):  # pragma: no cover
        N, k = Y.shape
        n = args[0]
        max_power = args[2]
        Fm = _scratch_size(args)
        chunks = _chunks(N, blocks)
        for c in nb.prange(chunks.shape[0] - 1):
            Hv, Hy, Ht, F, JF, S, JS, pw, lin = _work(k, n, max_power, Fm)
            k1 = np.empty(k, np.complex128)
            k2 = np.empty(k, np.complex128)
            k3 = np.empty(k, np.complex128)
            k4 = np.empty(k, np.complex128)
            z = np.empty(k, np.complex128)
            y = np.empty(k, np.complex128)
            norms = np.zeros(2)
            for p in range(chunks[c], chunks[c + 1]):
                y[:] = Y[p]
                h = Hstep[p]
                s0 = S0[p]
                ds = DS[p]
                kk = which[p]
                ok = _tangent(y, s0, ds, args, kk, k1, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
                for j in range(k):
                    z[j] = y[j] + 0.5 * h * k1[j]
                ok = ok and _tangent(z, s0 + 0.5 * h * ds, ds, args, kk, k2, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
                for j in range(k):
                    z[j] = y[j] + 0.5 * h * k2[j]
                ok = ok and _tangent(z, s0 + 0.5 * h * ds, ds, args, kk, k3, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
                for j in range(k):
                    z[j] = y[j] + h * k3[j]
                ok = ok and _tangent(z, s0 + h * ds, ds, args, kk, k4, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
                if not ok:
                    out_n1[p] = np.inf
                    out_n2[p] = np.inf
                    continue
                for j in range(k):
                    z[j] = y[j] + h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
                t1 = np.exp(s0 + h * ds)
                norms[:] = 0.0
                for it in range(2):
                    _homotopy(z, t1, False, args, kk, Hv, Hy, Ht, F, JF, S, JS, pw, lin)
                    norms[it] = _newton_update(z, Hv, Hy)
                    if not np.isfinite(norms[it]):
                        break
                out_y[p] = z
                out_n1[p] = norms[0]
                out_n2[p] = norms[1]

    @nb.njit(cache=True, error_model="numpy", parallel=True)
    def newton_target(Y, args, blocks, out_y, out_n1, out_n2):  # pragma: no cover
        """Two Newton steps on the t = 0 system (target and chart) from every point."""
        N, k = Y.shape
        n = args[0]
        max_power = args[2]
        Fm = _scratch_size(args)
        chunks = _chunks(N, blocks)
        for c in nb.prange(chunks.shape[0] - 1):
            Hv, Hy, Ht, F, JF, S, JS, pw, lin = _work(k, n, max_power, Fm)
            z = np.empty(k, np.complex128)
            norms = np.zeros(2)
            for p in range(chunks[c], chunks[c + 1]):
                z[:] = Y[p]
                norms[:] = 0.0
                for it in range(2):
                    _target(z, n, args[2], args[3], args[4], args[5], args[6], F, JF, pw)
                    for e in range(n):
                        Hv[e] = F[e]
                        for j in range(k):
                            Hy[e, j] = JF[e, j]
                    _chart(z, args[10], args[11], n, Hv, Hy)
                    norms[it] = _newton_update(z, Hv, Hy)
                    if not np.isfinite(norms[it]):
                        break
                out_y[p] = z
                out_n1[p] = norms[0]
                out_n2[p] = norms[1]

    @nb.njit(cache=True, error_model="numpy")
    def evaluate_homotopy(Y, T, which, args, out_H, out_Hy, out_Ht):  # pragma: no cover
        """H, ∂H/∂y, ∂H/∂t at each point (for tests against the NumPy reference)."""
        N, k = Y.shape
        n = args[0]
        for p in range(N):
            Hv, Hy, Ht, F, JF, S, JS, pw, lin = _work(k, n, args[2], _scratch_size(args))
            _homotopy(Y[p].copy(), T[p], True, args, which[p], Hv, Hy, Ht, F, JF, S, JS, pw, lin)
            out_H[p] = Hv
            out_Hy[p] = Hy
            out_Ht[p] = Ht


PARALLEL_MIN_PATHS = 256  # below this a batch runs on one thread


def _threads_for(paths: int) -> int:
    """Threads for one batch of paths: a parallel region costs a synchronisation of all
    threads per step, which small batches do not repay — and on a busy machine a descheduled
    thread stalls the others (measured: quickstart monodromy, batches of 65–700 paths, 11 s with
    2 threads vs 5 s with 1 under load 3 on 2 cores)."""
    threads = nb.get_num_threads()
    smallest_parallel_batch = PARALLEL_MIN_PATHS * threads
    return 1 if paths < smallest_parallel_batch else threads


class CompiledSteps:
    """The tracker's step operations, compiled (see module docstring)."""

    name = "numba"

    def __init__(self, hom: Any) -> None:
        self.data = hom.kernel_data() if hasattr(hom, "kernel_data") else KernelData.from_homotopy(hom)
        self.arc_of_path: np.ndarray | None = getattr(hom, "arc_of_path", None)
        self._args = self.data.args()

    def rk4_correct(
        self, y: np.ndarray, s0: np.ndarray, ds: np.ndarray, h: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N = y.shape[0]
        out = np.empty_like(y)
        n1 = np.empty(N)
        n2 = np.empty(N)
        threads = _threads_for(N)
        available = nb.get_num_threads()
        nb.set_num_threads(threads)
        rk4_correct(
            np.ascontiguousarray(y),
            s0.astype(complex),
            ds.astype(complex),
            h.astype(float),
            self._which(index, N),
            self._args,
            8 * threads,
            out,
            n1,
            n2,
        )
        nb.set_num_threads(available)
        return out, n1, n2

    def newton_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N = y.shape[0]
        out = np.empty_like(y)
        n1 = np.empty(N)
        n2 = np.empty(N)
        available = nb.get_num_threads()
        nb.set_num_threads(_threads_for(N))
        newton_target(np.ascontiguousarray(y), self._args, 8 * nb.get_num_threads(), out, n1, n2)
        nb.set_num_threads(available)
        return out, n1, n2

    def evaluate(self, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N, k = y.shape
        H = np.empty((N, k), complex)
        Hy = np.empty((N, k, k), complex)
        Ht = np.empty((N, k), complex)
        evaluate_homotopy(np.ascontiguousarray(y), t.astype(complex), self._which(None, N), self._args, H, Hy, Ht)
        return H, Hy, Ht

    def _which(self, index: np.ndarray | None, N: int) -> np.ndarray:
        """The arc of each path in this call (mode 1 with several arcs), else zeros."""
        arc = self.arc_of_path
        if arc is None:
            return np.zeros(N, dtype=np.int64)
        return np.ascontiguousarray(arc if index is None else arc[index], dtype=np.int64)
