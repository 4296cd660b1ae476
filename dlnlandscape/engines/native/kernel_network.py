"""∇L, its Hessian and ∂/∂t from the network's matrix products: the compiled evaluation of the
monodromy family's parameter homotopy (kernel mode NETWORK).

Why.  In sparse monomial form (kernel.py, mode PARAMETER) every evaluation walks all terms of
the expanded gradient — 380 for (2,2,2,2), 1,632 for (2,2,2,2,2) — and forms the Jacobian term
by term: ~80 µs per tracker step on (2,2,2,2), ~460 µs on (2,2,2,2,2).  The same numbers follow
from a handful of d×d products.  With M_l = W_l (+ I for a residual layer), the prefixes
B_l = M_{l−1}⋯M_0 (B_0 = I, P = B_H), the suffixes A_l = M_{H−1}⋯M_{l+1} (A_{H−1} = I) and
R = P S − T,

    L = ½ tr(P S Pᵀ) − tr(T Pᵀ) + ½ Σ C∘W∘W + const,
    ∂L/∂W_l = A_lᵀ R B_lᵀ + C_l ∘ W_l,

and, since ∂P/∂(W_i)_{ab} = A_i e_a e_bᵀ B_i and P is multilinear in the layers, the Hessian
entry of weights (i, a, b) and (j, a′, b′) is

    (A_iᵀ A_j)[a, a′] · (B_i S B_jᵀ)[b, b′]                       (every i, j)
  + (A_jᵀ R B_iᵀ)[a′, b] · (M_{j−1}⋯M_{i+1})[b′, a]              (i < j; the product is I when j = i + 1)
  + C_i[a, b] on the diagonal.

S is symmetric throughout (sXXᵀ, or X₀MX₀ᵀ with M symmetric in the trace test), which the
formulas use: ∂L/∂P = P S − T.  Along an arc S(t), T(t) are quadratic and C(t) linear in t (family.py), so ∂H/∂t is the
gradient's formula with S′(t), T′(t), C′(t) in place of S, T, C (minus nothing: R′ = P S′ − T′).
The cost is a few hundred complex multiplications, about n² for the Hessian — against the
monomial form's tens of thousands.  The monomial form stays the tested reference (kernel="monomial"), and is what
systems without this structure use.

Layout.  Weights are the unknowns in the order of model.sparse: layer by layer, each W_l
(w[l+1] × w[l]) row-major.  The per-thread scratch `work` is (5, H + 1, D, D) with D the widest
layer (0: M, 1: B, 2: A, 3: R B_lᵀ, 4: S B_lᵀ) and `small` is (9, D, D) (R, R′, the Hessian's
per-pair matrices; 6–8 for the slice system's λ column).

The trace test's slice system (trace_test.py) is the same gradient at data p + λv with λ an
unknown, plus one pencil equation: `evaluate_slice` evaluates it with `evaluate_network` at the
data p + λv, the λ column as the gradient along v (`_gradient_with`: ∇L is linear in the data),
and the pencil row directly (mode SLICE).
"""

from __future__ import annotations

from ...common.caches import prepare_numba, tolerate_broken_cache

_CACHE = prepare_numba()

try:
    import numba as nb

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False


if HAVE_NUMBA:

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _layers(y, w, residual, work):  # pragma: no cover
        """M_l, the prefixes B_l (w[l] × d0, B_H = P) and suffixes A_l (dH × w[l+1]) into `work`."""
        H = w.shape[0] - 1
        d0 = w[0]
        dH = w[H]
        M = work[0]
        B = work[1]
        A = work[2]
        off = 0
        for layer in range(H):
            r, c = w[layer + 1], w[layer]
            for a in range(r):
                for b in range(c):
                    M[layer, a, b] = y[off + a * c + b]
                if residual[layer] != 0:
                    M[layer, a, a] += 1.0
            off += r * c
        # prefixes B_l (w[l] × d0) and suffixes A_l (dH × w[l+1])
        for a in range(d0):
            for b in range(d0):
                B[0, a, b] = 1.0 if a == b else 0.0
        for layer in range(H):
            r, c = w[layer + 1], w[layer]
            for a in range(r):
                for b in range(d0):
                    acc = 0.0j
                    for q in range(c):
                        acc += M[layer, a, q] * B[layer, q, b]
                    B[layer + 1, a, b] = acc
        for a in range(dH):
            for b in range(dH):
                A[H - 1, a, b] = 1.0 if a == b else 0.0
        for layer in range(H - 2, -1, -1):
            c = w[layer + 1]
            inner = w[layer + 2]
            for a in range(dH):
                for b in range(c):
                    acc = 0.0j
                    for q in range(inner):
                        acc += A[layer + 1, a, q] * M[layer + 1, q, b]
                    A[layer, a, b] = acc

    @nb.njit(cache=_CACHE, error_model="numpy")
    def _gradient_with(y, w, Sm, Tm, Cv, work, R, out):  # pragma: no cover
        """out = A_lᵀ (P Sm − Tm) B_lᵀ + Cv ∘ W_l for every layer (after `_layers`): the gradient
        for data (Sm, Tm, Cv), or — by linearity — its derivative along a direction of the data."""
        H = w.shape[0] - 1
        d0 = w[0]
        dH = w[H]
        B = work[1]
        A = work[2]
        for a in range(dH):
            for b in range(d0):
                acc = 0.0j
                for q in range(d0):
                    acc += B[H, a, q] * Sm[q, b]
                R[a, b] = acc - Tm[a, b]
        off = 0
        for layer in range(H):
            r, c = w[layer + 1], w[layer]
            for a in range(r):
                for b in range(c):
                    k = off + a * c + b
                    acc = 0.0j
                    for p in range(dH):
                        rb = 0.0j
                        for q in range(d0):
                            rb += R[p, q] * B[layer, b, q]
                        acc += A[layer, p, a] * rb
                    out[k] = acc + Cv[k] * y[k]
            off += r * c

    @nb.njit(cache=_CACHE, error_model="numpy")
    def evaluate_network(y, t, with_t, w, residual, S3, T3, C3, Hv, Hy, Ht, work, small):  # pragma: no cover
        """H = ∇L(y; S(t), T(t), C(t)), Hy = its Hessian, with `with_t` Ht = ∂H/∂t; S3, T3, C3
        are this arc's (3, ·) coefficient stacks (value = X₀ + t X₁ + t² X₂)."""
        H = w.shape[0] - 1
        d0 = w[0]
        dH = w[H]
        M = work[0]
        B = work[1]
        A = work[2]
        RB = work[3]
        SB = work[4]
        R = small[0]
        dR = small[1]
        AA = small[2]
        BSB = small[3]
        Mid = small[4]
        nxt = small[5]
        _layers(y, w, residual, work)
        # S(t), T(t) → R = P S − T (and R′ = P S′ − T′)
        tt = t * t
        for a in range(dH):
            for b in range(d0):
                acc = 0.0j
                dacc = 0.0j
                for q in range(d0):
                    s = S3[0, q, b] + t * S3[1, q, b] + tt * S3[2, q, b]
                    acc += B[H, a, q] * s
                    if with_t:
                        dacc += B[H, a, q] * (S3[1, q, b] + 2.0 * t * S3[2, q, b])
                R[a, b] = acc - (T3[0, a, b] + t * T3[1, a, b] + tt * T3[2, a, b])
                if with_t:
                    dR[a, b] = dacc - (T3[1, a, b] + 2.0 * t * T3[2, a, b])
        # R B_lᵀ (dH × w[l]) and S B_lᵀ (d0 × w[l])
        for layer in range(H):
            c = w[layer]
            for a in range(dH):
                for b in range(c):
                    acc = 0.0j
                    for q in range(d0):
                        acc += R[a, q] * B[layer, b, q]
                    RB[layer, a, b] = acc
            for a in range(d0):
                for b in range(c):
                    acc = 0.0j
                    for q in range(d0):
                        s = S3[0, a, q] + t * S3[1, a, q] + tt * S3[2, a, q]
                        acc += s * B[layer, b, q]
                    SB[layer, a, b] = acc
        # the gradient (and ∂/∂t): A_lᵀ R B_lᵀ + C_l ∘ W_l
        off = 0
        for layer in range(H):
            r, c = w[layer + 1], w[layer]
            for a in range(r):
                for b in range(c):
                    k = off + a * c + b
                    acc = 0.0j
                    for p in range(dH):
                        acc += A[layer, p, a] * RB[layer, p, b]
                    Hv[k] = acc + (C3[0, k] + t * C3[1, k] + tt * C3[2, k]) * y[k]
                    if with_t:
                        dacc = 0.0j
                        for p in range(dH):
                            rb = 0.0j
                            for q in range(d0):
                                rb += dR[p, q] * B[layer, b, q]
                            dacc += A[layer, p, a] * rb
                        Ht[k] = dacc + (C3[1, k] + 2.0 * t * C3[2, k]) * y[k]
            off += r * c
        # the Hessian, block (i, j) for j ≥ i
        off_i = 0
        for i in range(H):
            ri, ci = w[i + 1], w[i]
            off_j = off_i
            for j in range(i, H):
                rj, cj = w[j + 1], w[j]
                # AA = A_iᵀ A_j (ri × rj), BSB = B_i S B_jᵀ (ci × cj)
                for a in range(ri):
                    for a2 in range(rj):
                        acc = 0.0j
                        for p in range(dH):
                            acc += A[i, p, a] * A[j, p, a2]
                        AA[a, a2] = acc
                for b in range(ci):
                    for b2 in range(cj):
                        acc = 0.0j
                        for q in range(d0):
                            acc += B[i, b, q] * SB[j, q, b2]
                        BSB[b, b2] = acc
                if j == i + 1:  # Mid = M_{j−1}⋯M_{i+1} = I (w[i+1] × w[i+1])
                    for a in range(ri):
                        for b in range(ri):
                            Mid[a, b] = 1.0 if a == b else 0.0
                elif j > i + 1:  # Mid ← M_{j−1} Mid: (w[j] × w[i+1])
                    for a in range(w[j]):
                        for b in range(ri):
                            acc = 0.0j
                            for q in range(w[j - 1]):
                                acc += M[j - 1, a, q] * Mid[q, b]
                            nxt[a, b] = acc
                    for a in range(w[j]):
                        for b in range(ri):
                            Mid[a, b] = nxt[a, b]
                # Q = A_jᵀ R B_iᵀ (rj × ci), kept in `nxt` (Mid's update is done)
                if j > i:
                    for a2 in range(rj):
                        for b in range(ci):
                            acc = 0.0j
                            for p in range(dH):
                                acc += A[j, p, a2] * RB[i, p, b]
                            nxt[a2, b] = acc
                for a in range(ri):
                    for b in range(ci):
                        row = off_i + a * ci + b
                        for a2 in range(rj):
                            for b2 in range(cj):
                                col = off_j + a2 * cj + b2
                                v = AA[a, a2] * BSB[b, b2]
                                if j > i:
                                    v += nxt[a2, b] * Mid[b2, a]
                                    Hy[col, row] = v
                                Hy[row, col] = v
                        if j == i:
                            Hy[row, row] += C3[0, row] + t * C3[1, row] + tt * C3[2, row]
                off_j += rj * cj
            off_i += ri * ci

    @nb.njit(cache=_CACHE, error_model="numpy")
    def evaluate_slice(  # pragma: no cover
        y, t, with_t, w, residual, S4, T4, C4, pencil, Hv, Hy, Ht, work, small, eff_s, eff_t, eff_c, vec
    ):
        """The trace test's slice system G(x, λ; τ) = [∇L(x; p(τ) + λ v(τ)); (h(x) − 1) λ + t(τ)]
        (trace_test.py), y = (x, λ): the gradient block is `evaluate_network` with the data p + λv
        (S4 = (S_p0, S_p1, S_v0, S_v1), likewise T4, C4: value = X₀ + τ X₁), the λ column the
        gradient's derivative along v(τ), and `pencil` (2, n + 2) the forms a, b and t of the
        last equation (Σ aᵢ xᵢ² + b) λ + t, each c₀ + τ c₁."""
        n = y.shape[0] - 1
        H = w.shape[0] - 1
        d0 = w[0]
        dH = w[H]
        lam = y[n]
        x = y[:n]
        for a in range(d0):
            for b in range(d0):
                eff_s[0, a, b] = S4[0, a, b] + lam * S4[2, a, b]
                eff_s[1, a, b] = S4[1, a, b] + lam * S4[3, a, b]
                eff_s[2, a, b] = 0.0
                small[6, a, b] = S4[2, a, b] + t * S4[3, a, b]  # S_v(τ)
        for a in range(dH):
            for b in range(d0):
                eff_t[0, a, b] = T4[0, a, b] + lam * T4[2, a, b]
                eff_t[1, a, b] = T4[1, a, b] + lam * T4[3, a, b]
                eff_t[2, a, b] = 0.0
                small[7, a, b] = T4[2, a, b] + t * T4[3, a, b]  # T_v(τ)
        for k in range(n):
            eff_c[0, k] = C4[0, k] + lam * C4[2, k]
            eff_c[1, k] = C4[1, k] + lam * C4[3, k]
            eff_c[2, k] = 0.0
        evaluate_network(x, t, with_t, w, residual, eff_s, eff_t, eff_c, Hv[:n], Hy[:n, :n], Ht[:n], work, small)
        # evaluate_network left the layer products in `work`; ∂G/∂λ = the gradient along v(τ)
        for k in range(n):
            eff_c[2, k] = C4[2, k] + t * C4[3, k]  # C_v(τ)
        _gradient_with(x, w, small[6], small[7], eff_c[2], work, small[8], vec)
        for k in range(n):
            Hy[k, n] = vec[k]
        h = 0.0j
        h1 = 0.0j
        for i in range(n):
            xx = x[i] * x[i]
            h += (pencil[0, i] + t * pencil[1, i]) * xx
            h1 += pencil[1, i] * xx
            Hy[n, i] = 2.0 * (pencil[0, i] + t * pencil[1, i]) * x[i] * lam
        h += pencil[0, n] + t * pencil[1, n]
        Hv[n] = h * lam + pencil[0, n + 1] + t * pencil[1, n + 1]
        Hy[n, n] = h
        if with_t:
            Ht[n] = (h1 + pencil[1, n]) * lam + pencil[1, n + 1]


    tolerate_broken_cache(globals())
