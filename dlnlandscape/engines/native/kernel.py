"""Compiled per-path kernels for the tracker: predictor–corrector steps, Python never per step.

Why compiled.  The batched NumPy evaluation (homotopies/) is clear and is the reference, but
with 2×2 to 4×4 blocks every NumPy call is dominated by its fixed overhead: on (2,2,2) one
batched evaluation + LAPACK solve of 1,921 paths costs ~20 ms, i.e. ~10 µs per path, while the
arithmetic itself is ~1 µs.  Here each path runs its whole predictor–corrector step in machine
code (numba, cached on disk so a cold start compiles once), and paths are spread over threads.

What is evaluated.  The multi-homogenised target is taken in *sparse monomial form* (sparse.py:
exponents and coefficients, with one homogenising variable per group appended), much as
HomotopyContinuation.jl compiles a system into a straight-line program: for every term,
its value and its partial derivatives from a table of powers.  The start system is evaluated
as products of linear forms.  Both carry the same equation scaling as the NumPy homotopy, so
the two evaluations agree to rounding (tested).  The parameter homotopy of monodromy is the same
target with coefficients quadratic in t, one set per arc.

How it is called.  A homotopy describes itself as a `KernelData` record (its `kernel_data()`),
whose `mode` (a `KernelMode`) says which of the two it is; entry points take the record and
named arrays, and write into caller-allocated outputs.  Every function is cached on disk (in the
user cache directory, `common/caches.py`); an entry point takes a block [lo, hi) of paths and
releases the GIL, and `over_blocks` runs the blocks on threads — Python never loops over paths.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ...common.caches import prepare_numba, tolerate_broken_cache
from .homotopies.base import CompiledHomotopy
from .kernel_data import ARC_FIELDS, KernelMode, PathBatch
from .kernel_network import evaluate_network, evaluate_slice

_CACHE = prepare_numba()  # numba's cache in the user cache directory, set before numba is imported

try:  # numba is a dependency; the guard keeps the NumPy reference path usable without it
    import numba as nb

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False


_GAMMA = int(KernelMode.GAMMA)  # compiled code compares ints (numba freezes module globals)
_PARAMETER = int(KernelMode.PARAMETER)
_NETWORK = int(KernelMode.NETWORK)
_SLICE = int(KernelMode.SLICE)

if HAVE_NUMBA:

    @nb.njit(cache=_CACHE, error_model="numpy")
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

    @nb.njit(cache=_CACHE, error_model="numpy")
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

    @nb.njit(cache=_CACHE, error_model="numpy")
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

    @nb.njit(cache=_CACHE, error_model="numpy")
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

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _lu_factor(A, piv):  # pragma: no cover
        """A ← its LU factors in place (partial pivoting, the swaps in `piv`; each step's
        multipliers stay below the diagonal where that step left them — later swaps move only
        the columns still to eliminate — so `_lu_apply` replays the steps on b in order);
        False when A is singular."""
        m = A.shape[0]
        for k in range(m):
            p = k
            best = abs(A[k, k].real) + abs(A[k, k].imag)
            for i in range(k + 1, m):
                a = abs(A[i, k].real) + abs(A[i, k].imag)
                if a > best:
                    best = a
                    p = i
            if best == 0.0:
                return False
            piv[k] = p
            if p != k:
                for j in range(k, m):
                    tmp = A[k, j]
                    A[k, j] = A[p, j]
                    A[p, j] = tmp
            inv = 1.0 / A[k, k]
            for i in range(k + 1, m):
                f = A[i, k] * inv
                A[i, k] = f
                if f != 0:
                    for j in range(k + 1, m):
                        A[i, j] -= f * A[k, j]
        return True

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _lu_apply(A, piv, b):  # pragma: no cover
        """b ← A⁻¹ b in place from the factors `_lu_factor` left in A and piv: its swaps and
        eliminations in the order it made them (the same operations, in the same order, as
        eliminating b alongside A), then back substitution."""
        m = A.shape[0]
        for k in range(m):
            p = piv[k]
            if p != k:
                tmp = b[k]
                b[k] = b[p]
                b[p] = tmp
            for i in range(k + 1, m):
                if A[i, k] != 0:
                    b[i] -= A[i, k] * b[k]
        for k in range(m - 1, -1, -1):
            s = b[k]
            for j in range(k + 1, m):
                s -= A[k, j] * b[j]
            b[k] = s / A[k, k]

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _lu_solve(A, b):  # pragma: no cover
        """Solve A x = b in place (b becomes x, A its factors) by Gaussian elimination with
        partial pivoting."""
        piv = np.empty(A.shape[0], np.int64)
        if not _lu_factor(A, piv):
            return False
        _lu_apply(A, piv, b)
        return True

    @nb.njit(cache=_CACHE)
    def _at_run_time(flag):  # pragma: no cover
        """`flag` as a run-time value.  Why: numba compiles a callee once per *literal* argument,
        so `_homotopy(…, True, …)` beside `_homotopy(…, False, …)` compiled it, and every
        evaluator below it, twice (`bool(…)` of a literal is typed as a plain bool)."""
        return bool(flag)

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _homotopy(y, t, with_t, data, kk, buf):  # pragma: no cover
        """H (and ∂H/∂y, with `with_t` also ∂H/∂t) at one point y, parameter t, arc kk, into
        the buffers `buf` (from `_work`: Hv, Hy, Ht first)."""
        Hv, Hy, Ht, F, JF, S, JS, pw, lin, work, small, eff_s, eff_t, eff_c, vec = buf
        n = data.n
        if data.mode == _SLICE:  # the trace test's slice system from matrix products
            evaluate_slice(
                y,
                t,
                with_t,
                data.widths,
                data.residual_layers,
                data.s_poly[kk],
                data.t_poly[kk],
                data.c_poly[kk],
                data.pencil_poly[kk],
                Hv,
                Hy,
                Ht,
                work,
                small,
                eff_s,
                eff_t,
                eff_c,
                vec,
            )
            return
        if data.mode == _NETWORK:  # ∇L from matrix products (kernel_network.py)
            evaluate_network(
                y,
                t,
                with_t,
                data.widths,
                data.residual_layers,
                data.s_poly[kk],
                data.t_poly[kk],
                data.c_poly[kk],
                Hv[:n],
                Hy[:n, :n],  # the layout evaluate_slice passes: one compiled evaluator for both
                Ht[:n],
                work,
                small,
            )
            return
        if data.mode == _PARAMETER:  # c(t) = c0 + t c1 + t² c2, ∂H/∂t from c1 + 2 t c2
            T = data.coef_poly.shape[2]
            ct = lin[:T]
            dct = lin[T : 2 * T]
            cp = data.coef_poly[kk]  # this path's arc
            for i in range(T):
                ct[i] = cp[0, i] + t * (cp[1, i] + t * cp[2, i])
                dct[i] = cp[1, i] + 2.0 * t * cp[2, i]
            _target(y, n, data.max_power, data.term_vars, data.term_exps, ct, data.term_eq, Hv, Hy, pw)
            if with_t:
                _term_values(pw, data.term_vars, data.term_exps, dct, data.term_eq, Ht)
            return
        _target(y, n, data.max_power, data.term_vars, data.term_exps, data.term_coef, data.term_eq, F, JF, pw)
        _start(y, data.factor_cols, data.factor_coef, data.factor_count, S, JS, lin)
        gamma = data.gamma
        a = 1.0 - t
        b = gamma * t
        k = y.shape[0]
        for e in range(n):
            Hv[e] = a * F[e] + b * S[e]
            for j in range(k):
                Hy[e, j] = a * JF[e, j] + b * JS[e, j]
            if with_t:
                Ht[e] = gamma * S[e] - F[e]
        _chart(y, data.chart_cols, data.chart_coef, n, Hv, Hy)
        if with_t:
            for g in range(n, k):
                Ht[g] = 0.0

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _work(k, n, max_power, Fm, widths):  # pragma: no cover
        """Per-thread buffers; `lin` (size Fm) holds the start system's linear factors, or in
        mode PARAMETER the two coefficient vectors c(t) and c'(t) (Fm ≥ 2 T there); the last
        six are modes NETWORK's and SLICE's matrices (kernel_network.py)."""
        D = 1
        for width in widths:
            D = max(D, width)
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
            np.zeros((5, widths.shape[0], D, D), np.complex128),
            np.zeros((9, D, D), np.complex128),
            np.zeros((3, D, D), np.complex128),
            np.zeros((3, D, D), np.complex128),
            np.zeros((3, n), np.complex128),
            np.zeros(n, np.complex128),
        )

    @nb.njit(cache=_CACHE)
    def _rk4_work(k):  # pragma: no cover
        """Per-block buffers of an RK4 step (`_rk4_predict`): the four stages (rows; row 0 is the
        tangent at the step's start), the predicted and corrected point, the start point, the
        next step's first stage, and the step's record (`_correct`)."""
        return (
            np.empty((4, k), np.complex128),
            np.empty(k, np.complex128),
            np.empty(k, np.complex128),
            np.empty(k, np.complex128),
            np.zeros(4),
        )

    @nb.njit(cache=_CACHE)
    def _scratch_size(data):  # pragma: no cover
        return data.factor_cols.shape[1] if data.mode == _GAMMA else 2 * data.coef_poly.shape[2]

    @nb.njit(cache=_CACHE, error_model="numpy", inline="always")
    def _newton_update(z, Hv, Hy, c, with_c):  # pragma: no cover
        """z ← z − Hy⁻¹ Hv (Hv holds the system's values; both are overwritten); ‖step‖ or ∞.
        With `with_c`, also c ← Hy⁻¹ c from the same factorisation."""
        k = z.shape[0]
        for j in range(k):
            Hv[j] = -Hv[j]
        piv = np.empty(k, np.int64)
        if not _lu_factor(Hy, piv):
            return np.inf
        _lu_apply(Hy, piv, Hv)
        if with_c:
            _lu_apply(Hy, piv, c)
        acc = 0.0
        for j in range(k):
            z[j] += Hv[j]
            acc += abs(Hv[j]) ** 2
        return np.sqrt(acc)

    @nb.njit(cache=_CACHE, error_model="numpy", inline="always")
    def _tangent(y, s, ds, data, kk, out, buf):  # pragma: no cover
        t = np.exp(s)
        _homotopy(y, t, _at_run_time(True), data, kk, buf)
        Hy, Ht = buf[1], buf[2]
        f = t * ds
        for j in range(y.shape[0]):
            out[j] = -Ht[j] * f
        return _lu_solve(Hy, out)

    @nb.njit(cache=_CACHE, error_model="numpy", inline="always")
    def _rk4_predict(y, h, s0, ds, kk, data, buf, K, z, norms, have_k1):  # pragma: no cover
        """z ← the RK4 prediction of length h (in u, s = s0 + u·ds) from y, the stages into the
        rows of K; False when a tangent could not be computed (z is then meaningless, both
        correction norms ∞).  norms[3] = 1 when K[0] holds the tangent at (y, s0): with
        `have_k1` it already does — it does not depend on h, so after a rejected step it is
        still right, and after an accepted one the last correction left it (`_correct`).
        Prediction only: the caller corrects, so the compiled loop has one correction for both
        predictors (this and `hermite_predict`)."""
        k = y.shape[0]
        norms[2] = 0.0
        norms[3] = 1.0 if have_k1 else 0.0
        for stage in range(4):
            if stage == 0:
                if have_k1:
                    continue
                frac = 0.0
                for j in range(k):
                    z[j] = y[j]
            else:
                frac = 0.5 if stage < 3 else 1.0
                for j in range(k):
                    z[j] = y[j] + frac * h * K[stage - 1, j]
            if not _tangent(z, s0 + frac * h * ds, ds, data, kk, K[stage], buf):
                norms[0] = np.inf
                norms[1] = np.inf
                return False
            if stage == 0:
                norms[3] = 1.0
        for j in range(k):
            z[j] = y[j] + h / 6.0 * (K[0, j] + 2.0 * K[1, j] + 2.0 * K[2, j] + K[3, j])
        return True

    @nb.njit(cache=_CACHE, error_model="numpy", inline="always")
    def hermite_predict(y, k1, behind, back, used, h, z, x, c):  # pragma: no cover
        """z ← the Hermite polynomial through (y, k1) here and the `used` accepted points behind
        with their tangents (`behind[2i]`, `behind[2i + 1]`, back[i] behind in u), at h ahead:
        degree 3 with one point behind, 5 with two — exact on paths of that degree.  Divided
        differences on the doubled nodes x (in u relative to y) and Horner's rule in Newton form:
        no basis polynomials of size (1 + h/back)⁵ to cancel.  x and c: work arrays of
        ≥ 2(used + 1) entries."""
        m = 2 * (used + 1)
        x[0] = 0.0
        x[1] = 0.0
        for i in range(used):
            x[2 * i + 2] = -back[i]
            x[2 * i + 3] = -back[i]
        for j in range(y.shape[0]):
            c[0] = y[j]
            c[1] = y[j]
            for i in range(used):
                c[2 * i + 2] = behind[2 * i, j]
                c[2 * i + 3] = behind[2 * i, j]
            for level in range(1, m):  # c[i] becomes f[x_{i−level} … x_i]
                for i in range(m - 1, level - 1, -1):
                    if level == 1 and i % 2 == 1:  # a doubled node: its tangent
                        c[i] = k1[j] if i == 1 else behind[i - 2, j]
                    else:
                        c[i] = (c[i] - c[i - 1]) / (x[i] - x[i - level])
            value = c[m - 1]
            for i in range(m - 2, -1, -1):
                value = value * (h - x[i]) + c[i]
            z[j] = value

    @nb.njit(cache=_CACHE, error_model="numpy", inline="always")
    def _correct(z, s1, ds, kk, data, buf, norms, next_k1):  # pragma: no cover
        """Two Newton corrections of z at s1 (norms[0], norms[1]); the second's factorisation,
        with ∂H/∂t there, also gives the tangent the next step starts from (norms[2] = 1) — off
        the corrected point by the second correction only (≤ a tenth of the first on an accepted
        step): one evaluation and one factorisation of six per RK4 step saved."""
        k = z.shape[0]
        Hv, Hy, Ht = buf[0], buf[1], buf[2]
        norms[2] = 0.0
        t1 = np.exp(s1)
        norms[0] = 0.0
        norms[1] = 0.0
        f = t1 * ds
        for it in range(2):  # one call site each, the flag a run-time value: compiled once
            second = it == 1
            _homotopy(z, t1, second, data, kk, buf)
            if second:
                for j in range(k):
                    next_k1[j] = -Ht[j] * f
            norms[it] = _newton_update(z, Hv, Hy, next_k1, second)
            if not np.isfinite(norms[it]):
                return
        norms[2] = 1.0

    @nb.njit(cache=_CACHE, error_model="numpy", nogil=True)
    def rk4_correct(Y, S0, DS, Hstep, which, data, out_y, out_n1, out_n2, lo, hi):  # pragma: no cover
        """One RK4 predictor step of length Hstep[p] (in u, s = S0 + u·DS) and two Newton
        corrections for every path p in [lo, hi) on arc which[p]; the corrected points and
        correction norms go to out_y, out_n1, out_n2 (∞ where a solve failed)."""
        k = Y.shape[1]
        buf = _work(k, data.n, data.max_power, _scratch_size(data), data.widths)
        K, z, y, k1_next, norms = _rk4_work(k)
        for p in range(lo, hi):
            y[:] = Y[p]
            if _rk4_predict(y, Hstep[p], S0[p], DS[p], which[p], data, buf, K, z, norms, False):
                _correct(z, S0[p] + Hstep[p] * DS[p], DS[p], which[p], data, buf, norms, k1_next)
                out_y[p] = z
            out_n1[p] = norms[0]
            out_n2[p] = norms[1]

    @nb.njit(cache=_CACHE, error_model="numpy", nogil=True)
    def track_paths(  # pragma: no cover
        Y,
        U,
        DU,
        STATUS,
        STEPS,
        SA,
        SB,
        LENGTH,
        which,
        TANGENT,
        READY,
        BEHIND,
        BEHIND_U,
        data,
        control,
        max_steps,
        rounds,
        lo,
        hi,
    ):
        """Up to `rounds` predictor–corrector steps of every path in [lo, hi) still tracking (STATUS 0), with
        the tracker's step control (tracker.Tracker._step, the same rules path by path): the
        whole loop compiled, so a batch pays no Python per step.  `control` is (tol, max_step,
        min_step, noise_floor, reuse_tangent, history); the state arrays are updated in place;
        STATUS becomes 4 on reaching s_b, 3 on failure (step underflow or max_steps).  With
        reuse_tangent, a step starts from the tangent its predecessor's last correction left
        (`_correct`): the same rules, five evaluations and factorisations a step instead of six.
        With history > 0 as well, a step whose path has accepted points behind it on this arc
        (BEHIND, BEHIND_U: up to `history` of them with their tangents) predicts by extrapolating
        them (`hermite_predict`) — two evaluations and factorisations a step, the corrections'
        — and adapts its size to that predictor's order; the first step of an arc is RK4's.

        Why extrapolation and not a Taylor or Padé predictor from derivatives at the point
        (HC.jl's): those need the path's higher derivatives, i.e. higher directional derivatives
        of H, which neither evaluation offers; the points behind are free.  Its error is larger
        at equal h (quintic: (3h)²(2h)²h²/6! · y⁽⁶⁾ at equal spacing, against RK4's O(h⁵) with a
        small constant), so steps are shorter — measured 1.65–2.0× more steps for 2.1–2.4× cheaper
        ones (benchmarks/step_cost.py --predictor)."""
        k = Y.shape[1]
        tol, max_step, min_step, noise_floor = control[0], control[1], control[2], control[3]
        reuse = control[4] != 0.0
        history = int(control[5]) if reuse else 0  # accepted points kept behind for the predictor
        buf = _work(k, data.n, data.max_power, _scratch_size(data), data.widths)
        K, z, y, k1_next, norms = _rk4_work(k)
        k1 = K[0]  # the tangent at the step's start
        nodes = np.empty(2 * history + 2)
        diffs = np.empty(2 * history + 2, np.complex128)
        back = np.empty(max(history, 1))
        for p in range(lo, hi):
            # k1 holds the tangent at (Y[p], U[p]) — after a rejection, or from the last
            # correction — kept in TANGENT between calls, so calls change nothing
            have_k1 = reuse and READY[p]
            if have_k1:
                k1[:] = TANGENT[p]
            for _ in range(rounds):
                if STATUS[p] != 0:
                    break
                y[:] = Y[p]
                h = min(DU[p], 1.0 - U[p])
                ds = SB[p] - SA[p]
                s0 = SA[p] + U[p] * ds
                used = 0  # the points behind on this arc (BEHIND_U NaN where there is none)
                while have_k1 and used < history and U[p] - BEHIND_U[p, used] > 0.0:
                    back[used] = U[p] - BEHIND_U[p, used]
                    used += 1
                if used:  # no evaluation, no factorisation: the two corrections alone
                    hermite_predict(y, k1, BEHIND[p], back, used, h, z, nodes, diffs)
                    norms[3] = 1.0
                    ok = True
                else:
                    ok = _rk4_predict(y, h, s0, ds, which[p], data, buf, K, z, norms, have_k1)
                if ok:  # one call site (see _rk4_predict)
                    _correct(z, s0 + h * ds, ds, which[p], data, buf, norms, k1_next)
                n1, n2 = norms[0], norms[1]
                scale = 0.0
                for j in range(k):
                    scale += abs(y[j]) ** 2
                scale = np.sqrt(scale)
                if scale == 0.0:  # affine paths can sit at the origin
                    scale = 1.0
                err = n1 / scale
                finite = ok and np.isfinite(err)
                if finite:
                    for j in range(k):
                        if not (np.isfinite(z[j].real) and np.isfinite(z[j].imag)):
                            finite = False
                            break
                contracts = (n2 <= 0.1 * n1 + 1e-14 * scale) or (max(n1, n2) <= noise_floor * scale)
                accept = finite and err <= tol and contracts
                if not finite:
                    factor = 0.0
                elif err == 0.0:
                    factor = 3.0
                elif used:  # local error O(h^(2·used + 2)) against RK4's O(h⁵)
                    factor = 0.8 * (tol / err) ** (1.0 / (2 * used + 2))
                else:
                    factor = 0.8 * (tol / err) ** 0.2
                grow = min(max(factor, 0.5), 3.0) if accept else min(max(factor, 0.1), 0.5)
                new_du = min(h * grow, max_step / LENGTH[p])
                if accept:
                    if history:  # y with its tangent k1 (if it has one) becomes the nearest point behind
                        for i in range(history - 1, 0, -1):
                            BEHIND[p, 2 * i] = BEHIND[p, 2 * i - 2]
                            BEHIND[p, 2 * i + 1] = BEHIND[p, 2 * i - 1]
                            BEHIND_U[p, i] = BEHIND_U[p, i - 1]
                        BEHIND[p, 0] = y
                        BEHIND[p, 1] = k1
                        BEHIND_U[p, 0] = U[p] if norms[3] == 1.0 else np.nan
                    Y[p] = z
                    U[p] = U[p] + h
                    have_k1 = reuse and norms[2] == 1.0
                    if have_k1:
                        k1[:] = k1_next
                else:
                    have_k1 = reuse and norms[3] == 1.0
                DU[p] = new_du
                STEPS[p] += 1
                if accept and U[p] >= 1.0 - 1e-13:
                    STATUS[p] = 4
                elif new_du * LENGTH[p] < min_step or STEPS[p] >= max_steps:
                    STATUS[p] = 3
            READY[p] = have_k1
            if have_k1:
                TANGENT[p] = k1

    @nb.njit(cache=_CACHE, error_model="numpy", nogil=True)
    def newton_target(Y, data, out_y, out_n1, out_n2, lo, hi):  # pragma: no cover
        """Two Newton steps on the t = 0 system (target and chart) from every point in [lo, hi)
        (mode GAMMA); the points and both correction norms go to out_y, out_n1, out_n2."""
        k = Y.shape[1]
        n = data.n
        max_power = data.max_power
        buf = _work(k, n, max_power, _scratch_size(data), data.widths)
        Hv, Hy, F, JF, pw = buf[0], buf[1], buf[3], buf[4], buf[7]
        z = np.empty(k, np.complex128)
        norms = np.zeros(2)
        for p in range(lo, hi):
            z[:] = Y[p]
            norms[:] = 0.0
            for it in range(2):
                _target(z, n, max_power, data.term_vars, data.term_exps, data.term_coef, data.term_eq, F, JF, pw)
                for e in range(n):
                    Hv[e] = F[e]
                    for j in range(k):
                        Hy[e, j] = JF[e, j]
                _chart(z, data.chart_cols, data.chart_coef, n, Hv, Hy)
                norms[it] = _newton_update(z, Hv, Hy, z, _at_run_time(False))
                if not np.isfinite(norms[it]):
                    break
            out_y[p] = z
            out_n1[p] = norms[0]
            out_n2[p] = norms[1]

    @nb.njit(cache=_CACHE, error_model="numpy")
    def evaluate_homotopy(Y, T, which, data, out_H, out_Hy, out_Ht):  # pragma: no cover
        """H, ∂H/∂y, ∂H/∂t at each point (for tests against the NumPy reference)."""
        N, k = Y.shape
        n = data.n
        for p in range(N):
            buf = _work(k, n, data.max_power, _scratch_size(data), data.widths)
            Hv, Hy, Ht = buf[0], buf[1], buf[2]
            _homotopy(Y[p].copy(), T[p], _at_run_time(True), data, which[p], buf)
            out_H[p] = Hv
            out_Hy[p] = Hy
            out_Ht[p] = Ht

    tolerate_broken_cache(globals())  # a corrupt cache file costs a recompile, not the run


# accepted points each predictor extrapolates from besides the current one (tracker.TrackerOptions)
PREDICTOR_HISTORY = {"rk4": 0, "cubic": 1, "quintic": 2}
BLOCKS_PER_THREAD = 8  # blocks of paths per thread: a thread that finishes early takes the next
PARALLEL_MIN_PATHS = 256  # per thread, below this a one-step batch (rk4_correct, newton_target) runs on one

_threads = 0  # solver.threads, as `set_threads` capped it; 0: not set, NUMBA_NUM_THREADS


def set_threads(requested: int) -> int:
    """The threads the kernels run on from now on (solver.threads), capped at NUMBA_NUM_THREADS
    (the cores numba sees, or the user's own setting); returns the number set."""
    global _threads
    _threads = max(1, min(int(requested), nb.config.NUMBA_NUM_THREADS))
    return _threads


def kernel_threads() -> int:
    """The threads the kernels run on (`set_threads`, else NUMBA_NUM_THREADS)."""
    return _threads or nb.config.NUMBA_NUM_THREADS


_pools: dict[int, ThreadPoolExecutor] = {}


def over_blocks(kernel: Any, paths: int, threads: int, *args: Any) -> None:
    """`kernel(*args, lo, hi)` over the paths [0, paths) in contiguous blocks, on `threads`
    threads (one block when one thread).

    Why Python threads and not numba's `prange`: the kernels release the GIL (`nogil`), so
    threads run them side by side as a parallel region did, with blocks handed out as threads
    free up — and a `parallel=True` kernel compiled for twice as long (track_paths alone ~28 s
    of the first run's ~60 s on the quickstart, measured on 2 cores)."""
    threads = max(1, min(int(threads), paths))
    if threads == 1:
        kernel(*args, 0, paths)
        return
    pool = _pools.get(threads)
    if pool is None:
        pool = _pools[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dln-kernel")
    bounds = np.linspace(0, paths, min(paths, BLOCKS_PER_THREAD * threads) + 1).astype(np.int64)
    futures = [pool.submit(kernel, *args, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
    for future in futures:
        future.result()  # re-raises a block's error here


def _threads_for(paths: int) -> int:
    """Threads for one step of a batch of paths (`rk4_correct`, `newton_target`): handing out
    blocks costs a synchronisation of all threads per step, which small batches do not repay —
    and on a busy machine a descheduled thread stalls the others (measured: quickstart
    monodromy, batches of 65–700 paths, 11 s with 2 threads vs 5 s with 1 under load 3 on 2
    cores)."""
    threads = kernel_threads()
    return 1 if paths < PARALLEL_MIN_PATHS * threads else threads


def step_control(options: Any) -> np.ndarray:
    """The tracker options the compiled step loop reads: (tol, max_step, min_step, noise_floor,
    max_steps, reuse_tangent, the predictor's history: accepted points it extrapolates from), as
    one float array."""
    return np.array(
        [
            options.tol,
            options.max_step,
            options.min_step,
            options.noise_floor,
            options.max_steps,
            1.0 if options.reuse_tangent else 0.0,
            PREDICTOR_HISTORY[options.predictor],
        ],
        dtype=float,
    )


def fits_record(data: Any, batch: PathBatch) -> None:
    """Raise ValueError unless every array of `batch` has one row per path, the points have the
    record's unknowns, and every path's arc is one the record holds."""
    N = batch.y.shape[0] if batch.y.ndim == 2 else -1
    why = ""
    if N < 0 or any(field.shape[:1] != (N,) for field in batch):
        why = "arrays of different lengths"
    elif batch.y.shape[1] < data.n:
        why = f"points of {batch.y.shape[1]} coordinates for {data.n} equations"
    elif N:
        arcs = min((getattr(data, name).shape[0] for name in ARC_FIELDS if getattr(data, name).shape[0]), default=1)
        if batch.arc.min() < 0 or batch.arc.max() >= arcs:
            why = f"arcs {batch.arc.min()}..{batch.arc.max()} for a record of {arcs}"
    if why:
        raise ValueError(f"a batch of paths that does not fit its homotopy record: {why}")


def advance_paths(data: Any, batch: PathBatch, control: np.ndarray, rounds: int, threads: int = 1) -> PathBatch:
    """Up to `rounds` steps of every tracking path of `batch` on the homotopy `data` (a
    KernelData), on `threads` numba threads; returns the advanced batch (the arrays of `batch`,
    updated in place).  A pure function of plain arrays: the unit of work an executor sends to
    another process (executors.py), with the same result wherever it runs.  A batch that does
    not fit the record is refused (ValueError): compiled code does not check its indices."""
    if batch.tangent is None or batch.tangent_ready is None:
        batch = batch._replace(tangent=np.zeros_like(batch.y), tangent_ready=np.zeros(batch.y.shape[0], dtype=bool))
    history = int(control[6])
    if batch.behind is None or batch.behind_u is None:
        N, k = batch.y.shape
        batch = batch._replace(behind=np.zeros((N, 2 * history, k), complex), behind_u=np.full((N, history), np.nan))
    if batch.behind.shape[1:2] != (2 * history,) or batch.behind_u.shape[1:] != (history,):
        raise ValueError(f"a batch carrying {batch.behind_u.shape[1:]} points behind for a predictor of {history}")
    fits_record(data, batch)
    over_blocks(
        track_paths,
        batch.y.shape[0],
        min(int(threads), nb.config.NUMBA_NUM_THREADS),
        batch.y,
        batch.u,
        batch.du,
        batch.status,
        batch.steps,
        batch.s_a,
        batch.s_b,
        batch.length,
        batch.arc,
        batch.tangent,
        batch.tangent_ready,
        batch.behind,
        batch.behind_u,
        data,
        np.ascontiguousarray(control[[0, 1, 2, 3, 5, 6]]),
        int(control[4]),
        int(rounds),
    )
    return batch


class CompiledSteps:
    """The tracker's step operations, compiled (see module docstring)."""

    name = "numba"

    def __init__(self, hom: CompiledHomotopy, structured: bool = True) -> None:
        """`structured=False` keeps a network's parameter homotopy in monomial form (the
        reference evaluation, for comparisons)."""
        self.data = hom.kernel_data(structured=structured)
        self.arc_of_path = hom.arc_of_path
        if self.data.mode == _NETWORK:
            self.name = "numba-network"

    def rk4_correct(
        self, y: np.ndarray, s0: np.ndarray, ds: np.ndarray, h: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N = y.shape[0]
        out = np.empty_like(y)
        n1 = np.empty(N)
        n2 = np.empty(N)
        over_blocks(
            rk4_correct,
            N,
            _threads_for(N),
            np.ascontiguousarray(y),
            s0.astype(complex),
            ds.astype(complex),
            h.astype(float),
            self._which(index, N),
            self.data,
            out,
            n1,
            n2,
        )
        return out, n1, n2

    def track_paths(self, st: Any, idx: np.ndarray, length: np.ndarray, options: Any, rounds: int) -> None:
        """Up to `rounds` steps of the paths `idx` of the tracker state `st` (tracker.TrackState),
        step control included, in one compiled call (`track_paths` above); `st` is updated."""
        batch = self.batch(st, idx, length)
        available = kernel_threads()
        # the whole loop runs compiled: blocks handed out per call, not per step, so even small
        # batches are worth every thread once each gets a few paths
        threads = available if idx.size >= 4 * available else 1
        self.store(st, idx, advance_paths(self.data, batch, step_control(options), rounds, threads))

    def batch(self, st: Any, idx: np.ndarray, length: np.ndarray) -> PathBatch:
        """The paths `idx` of the tracker state `st` as plain arrays (copies), `length` theirs."""
        return PathBatch(
            y=np.ascontiguousarray(st.y[idx]),
            u=st.u[idx],
            du=st.du[idx],
            status=st.status[idx],
            steps=st.steps[idx],
            s_a=st.s_a[idx].astype(complex),
            s_b=st.s_b[idx].astype(complex),
            length=np.ascontiguousarray(length, dtype=float),
            arc=self._which(idx, idx.size),
            tangent=None if st.tangent is None else np.ascontiguousarray(st.tangent[idx]),
            tangent_ready=None if st.tangent_ready is None else st.tangent_ready[idx],
            behind=None if st.behind is None else np.ascontiguousarray(st.behind[idx]),
            behind_u=None if st.behind_u is None else st.behind_u[idx],
        )

    @staticmethod
    def store(st: Any, idx: np.ndarray, batch: PathBatch) -> None:
        """Write an advanced batch back into the tracker state (the paths `idx`)."""
        st.y[idx], st.u[idx], st.du[idx], st.status[idx], st.steps[idx] = (
            batch.y,
            batch.u,
            batch.du,
            batch.status,
            batch.steps,
        )
        if batch.tangent is not None and batch.tangent_ready is not None:
            if st.tangent is None or st.tangent_ready is None:
                st.tangent = np.zeros_like(st.y)
                st.tangent_ready = np.zeros(st.y.shape[0], dtype=bool)
            st.tangent[idx], st.tangent_ready[idx] = batch.tangent, batch.tangent_ready
        if batch.behind is not None and batch.behind_u is not None:
            if st.behind is None or st.behind_u is None:
                st.behind = np.zeros((st.y.shape[0], *batch.behind.shape[1:]), complex)
                st.behind_u = np.full((st.y.shape[0], *batch.behind_u.shape[1:]), np.nan)
            st.behind[idx], st.behind_u[idx] = batch.behind, batch.behind_u

    def newton_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N = y.shape[0]
        out = np.empty_like(y)
        n1 = np.empty(N)
        n2 = np.empty(N)
        over_blocks(newton_target, N, _threads_for(N), np.ascontiguousarray(y), self.data, out, n1, n2)
        return out, n1, n2

    def evaluate(self, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N, k = y.shape
        H = np.empty((N, k), complex)
        Hy = np.empty((N, k, k), complex)
        Ht = np.empty((N, k), complex)
        evaluate_homotopy(
            Y=np.ascontiguousarray(y),
            T=t.astype(complex),
            which=self._which(None, N),
            data=self.data,
            out_H=H,
            out_Hy=Hy,
            out_Ht=Ht,
        )
        return H, Hy, Ht

    def _which(self, index: np.ndarray | None, N: int) -> np.ndarray:
        """The arc of each path in this call (a parameter homotopy with several arcs), else zeros."""
        arc = self.arc_of_path
        if arc is None:
            return np.zeros(N, dtype=np.int64)
        return np.ascontiguousarray(arc if index is None else arc[index], dtype=np.int64)
