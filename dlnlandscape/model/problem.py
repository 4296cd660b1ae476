"""The loss of a deep linear network, its gradient system and its Hessian, evaluated batched.

Everything is a product of small matrices (DOMAIN.md), so a batch of `N` points is a stack of
weight matrices of shape `(N, d_i, d_{i-1})` and each evaluation is a handful of batched
`matmul`s — never a loop over points or monomials.

The data enter the gradient only through `S = s·X Xᵀ` and `T = s·Y Xᵀ` (`s = 1` or `1/m`), so
the gradient of block `i` is

    G_i = A_iᵀ (P S − T) B_iᵀ + C_i ∘ W_i,

with `P = M_H ⋯ M_1`, `A_i = M_H ⋯ M_{i+1}`, `B_i = M_{i−1} ⋯ M_1`, `M_i = W_i` (or `I + W_i`
for a residual square layer) and `C_i` the penalty coefficients (`Λ_i∘Λ_i`, or `Λ_i`).

For the homotopy engine the same system is also evaluated *multi-homogenised*, with one
homogenising coordinate `h_j` per layer (`M_j = W_j + ρ_j h_j I`):

    Ĝ_i = Âᵢᵀ (P̂ S − h T) B̂ᵢᵀ + (h/h_i)² C_i ∘ W_i,     h = Π_j h_j,

which is homogeneous of degree `(2, …, 2, 1, 2, …, 2)` (the 1 at group `i`).  Setting every
`h_j = 1` gives back the affine system, so one routine serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from itertools import product

import numpy as np

from .config import Config
from .loss import SQUARE, DataLoss, data_operator, data_target, data_value
from .sparse import SparseSystem, build_gradient_system

REGULARIZATION_KINDS = ("none", "l2", "generalized")


@dataclass(frozen=True)
class ExactData:
    """The data as exact rationals (object arrays of `Fraction`): decimal literals as written,
    generated floats exactly.  Exact engines (msolve) solve this system, not the rounded one."""

    X: np.ndarray
    Y: np.ndarray
    penalty: tuple[np.ndarray, ...]
    scale: Fraction
    loss: DataLoss = SQUARE  # with exact weights or Q


@dataclass(frozen=True)
class Problem:
    """A gradient system ∇L = 0 with concrete (floating-point) data.

    The data enter through the gradient's data part 𝒦(P) − T (loss.py): for the square loss
    𝒦(P) = P S, evaluated as such; for any other loss through the operator K, (dH·d0)²."""

    widths: tuple[int, ...]
    residual: bool
    S: np.ndarray  # d0 x d0, scaled X Xᵀ
    T: np.ndarray  # dH x d0, scaled Y Xᵀ
    X: np.ndarray
    Y: np.ndarray
    scale: float  # 1 or 1/m on the data term
    penalty: tuple[np.ndarray, ...]  # C_i, the gradient's coefficient on W_i
    # regularization.kind: engines check it (monodromy needs the generic family, "generalized")
    regularization: str = "generalized"
    exact: ExactData | None = field(default=None, repr=False, compare=False)
    data_loss: DataLoss = SQUARE  # which quadratic form of the residual PX − Y the data term is
    K: np.ndarray | None = field(default=None, repr=False)  # 𝒦 as a matrix when the loss is not square

    @classmethod
    def from_config(cls, config: Config) -> Problem:
        mean = config.normalization == "mean"
        problem = cls.from_data(
            config.widths,
            config.X,
            config.Y,
            config.penalty,
            residual=config.residual,
            scale=1.0 / config.samples if mean else 1.0,
            regularization=config.regularization,
            data_loss=config.loss,
        )
        exact = ExactData(
            X=config.X_exact,
            Y=config.Y_exact,
            penalty=config.penalty_exact,
            scale=Fraction(1, config.samples) if mean else Fraction(1),
            loss=config.loss_exact,
        )
        return replace(problem, exact=exact)

    @classmethod
    def from_data(
        cls,
        widths: tuple[int, ...] | list[int],
        X: np.ndarray,
        Y: np.ndarray,
        penalty: tuple[np.ndarray, ...] | list[np.ndarray],
        *,
        residual: bool = False,
        scale: float = 1.0,
        regularization: str | None = None,
        data_loss: DataLoss = SQUARE,
    ) -> Problem:
        """A problem from float data; `regularization` (the config's kind) is read off the
        penalty when not given: all zero is "none", one common value "l2", else "generalized"."""
        X = np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float)
        penalty = tuple(np.asarray(c, dtype=float) for c in penalty)
        if regularization is None:
            regularization = regularization_kind(penalty)
        if regularization not in REGULARIZATION_KINDS:
            raise ValueError(f"regularization must be one of {', '.join(REGULARIZATION_KINDS)}, got {regularization!r}")
        problem = cls(
            widths=tuple(int(w) for w in widths),
            residual=residual,
            S=scale * (X @ X.T),
            T=scale * (Y @ X.T),
            X=X,
            Y=Y,
            scale=scale,
            penalty=penalty,
            regularization=regularization,
        )
        return problem if data_loss.square else problem.at_data(X, Y, penalty, data_loss.form(*Y.shape), data_loss)

    def at_data(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        penalty: tuple[np.ndarray, ...],
        form: np.ndarray | None = None,
        loss: DataLoss | None = None,
    ) -> Problem:
        """The same architecture and loss kind at other (possibly complex) data, penalties and,
        for a non-square loss, form Q (the monodromy family's points): S, T and K recomputed in
        one place.  `loss` describes the form (default: this problem's kind with Q = `form`)."""
        S = self.scale * (X @ X.T)
        if self.data_loss.square and (loss is None or loss.square):
            return replace(self, S=S, T=self.scale * (Y @ X.T), X=X, Y=Y, penalty=penalty, exact=None)
        assert form is not None
        dH, m = Y.shape
        if loss is None:
            loss = (
                DataLoss("weighted", weights=np.diag(form).reshape(dH, m))
                if self.data_loss.kind == "weighted"
                else DataLoss("quadratic_form", Q=form)
            )
        return replace(
            self,
            S=S,
            T=data_target(X, Y, form, self.scale),
            X=X,
            Y=Y,
            penalty=penalty,
            exact=None,
            data_loss=loss,
            K=data_operator(X, form, self.scale, dH),
        )

    def data_form(self) -> np.ndarray:
        """The loss's Q, (dH·m)² (the identity for the square loss)."""
        return self.data_loss.form(self.Y.shape[0], self.Y.shape[1])

    def data_operator(self) -> np.ndarray:
        """K, the data part of the Hessian in P, (dH·d0)²: I ⊗ S for the square loss."""
        return np.kron(np.eye(self.widths[-1]), self.S) if self.K is None else self.K

    def exact_system(self) -> SparseSystem:
        """∇L = 0 with exact rational coefficients: the config's data as written when the
        problem came from a config, else the exact values of the floats."""
        exact = self.exact
        if exact is None:
            loss = self.data_loss
            if loss.kind == "weighted":
                loss = DataLoss("weighted", weights=_fractions(loss.weights))
            elif loss.kind == "quadratic_form":
                loss = DataLoss("quadratic_form", Q=_fractions(loss.Q))
            exact = ExactData(
                X=_fractions(self.X),
                Y=_fractions(self.Y),
                penalty=tuple(_fractions(c) for c in self.penalty),
                scale=Fraction(self.scale),
                loss=loss,
            )
        return self.sparse_system(exact)

    def sparse_system(self, data: ExactData | None = None) -> SparseSystem:
        """∇L = 0 in sparse form with the coefficients of `data` (exact), or with this problem's
        floats (engines that expand the system themselves)."""
        if data is None:
            data = ExactData(X=self.X, Y=self.Y, penalty=self.penalty, scale=self.scale, loss=self.data_loss)  # type: ignore[arg-type]
        form = None if data.loss.square else data.loss.form(data.Y.shape[0], data.Y.shape[1])
        return build_gradient_system(
            self.widths, data.X, data.Y, data.penalty, residual=self.residual, scale=data.scale, form=form
        )

    # ----------------------------------------------------------------- layout
    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @cached_property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.widths[i + 1], self.widths[i]) for i in range(self.depth))

    @cached_property
    def group_sizes(self) -> tuple[int, ...]:
        """Number of unknowns per layer, n_i = d_i d_{i-1} (one variable group per layer)."""
        return tuple(r * c for r, c in self.shapes)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.group_sizes)]))

    @property
    def n(self) -> int:
        return self.offsets[-1]

    @cached_property
    def residual_layers(self) -> tuple[bool, ...]:
        """ρ_i: which layers are I + W_i (residual and square)."""
        return tuple(self.residual and r == c for r, c in self.shapes)

    @cached_property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(
            f"w{i + 1}_{a + 1}_{b + 1}" for i, (r, c) in enumerate(self.shapes) for a in range(r) for b in range(c)
        )

    @cached_property
    def multidegrees(self) -> np.ndarray:
        """(n, H) degree of every equation in every layer's variables."""
        H = self.depth
        rows = [np.where(np.arange(H) == i, 1, 2) for i in range(H) for _ in range(self.group_sizes[i])]
        return np.array(rows, dtype=np.int64).reshape(self.n, H)

    @property
    def symmetric(self) -> bool:
        """Whether the hidden-neuron sign flips are symmetries (not with residual layers)."""
        return not any(self.residual_layers) and self.depth >= 2

    def sign_flips(self) -> np.ndarray:
        """All coordinate sign patterns (2^h, n) of the hidden-neuron sign flips: flipping
        neuron j of hidden layer l negates row j of W_l and column j of W_{l+1}; the loss (and
        any entrywise penalty) is invariant (DOMAIN.md, "Symmetries")."""
        neurons = [(layer, unit) for layer in range(1, self.depth) for unit in range(self.widths[layer])]
        signs = np.ones((2 ** len(neurons), self.n))
        off = self.offsets
        for g, flips in enumerate(product((1, -1), repeat=len(neurons))):
            for (layer, unit), sgn in zip(neurons, flips):
                if sgn == 1:
                    continue
                _, cols_in = self.shapes[layer - 1]
                rows_out, cols_out = self.shapes[layer]
                incoming = off[layer - 1] + unit * cols_in + np.arange(cols_in)  # row `unit` of W_layer
                outgoing = off[layer] + np.arange(rows_out) * cols_out + unit  # column `unit` of W_layer+1
                signs[g, incoming] *= -1
                signs[g, outgoing] *= -1
        return signs

    def unpack(self, x: np.ndarray) -> list[np.ndarray]:
        """(N, n) coordinates → list of weight stacks (N, d_i, d_{i−1}) (batch first)."""
        x = np.asarray(x)
        return [x[:, self.offsets[i] : self.offsets[i + 1]].reshape(-1, r, c) for i, (r, c) in enumerate(self.shapes)]

    def pack(self, weights: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([w.reshape(w.shape[0], -1) for w in weights], axis=1)

    # ------------------------------------------------------------- evaluation
    def loss(self, x: np.ndarray) -> np.ndarray:
        """L at each point (no complex conjugation: the polynomial itself)."""
        x = np.atleast_2d(x)
        weights = self._weights_last(x)
        P = self._segments(weights, None)[0][self.depth - 1]
        E = _mm_right(P, self.X) - self.Y[:, :, None]
        if self.data_loss.square:
            data = 0.5 * self.scale * np.sum(E * E, axis=(0, 1))
        else:
            data = data_value(E, self.data_form(), self.scale)
        reg = sum(0.5 * np.sum(c[:, :, None] * w * w, axis=(0, 1)) for c, w in zip(self.penalty, weights))
        return data + reg

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∇L at each point, (N, n)."""
        values, _, _ = self.evaluate(np.atleast_2d(x), jacobian=False)
        return values

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of L (the Jacobian of the gradient system), (N, n, n)."""
        _, jac, _ = self.evaluate(np.atleast_2d(x), jacobian=True)
        return jac

    def gradient_and_hessian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(∇L, ∇²L) at a batch of points (N, n): the square system Newton solves for critical
        points (`common.newton`)."""
        G, J, _ = self.evaluate(x)
        assert J is not None
        return G, J

    def end_to_end(self, x: np.ndarray) -> np.ndarray:
        """P = M_H ⋯ M_1 at each point, (N, dH, d0)."""
        P = self._segments(self._weights_last(np.atleast_2d(x)), None)[0][self.depth - 1]
        return np.moveaxis(P, 2, 0)

    def partial_products(self, x: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Every product M_j ⋯ M_i (1 ≤ i ≤ j ≤ H, 1-based keys (i, j)), each (N, d_j, d_{i-1})."""
        seg = self._segments(self._weights_last(np.atleast_2d(x)), None)
        return {
            (a + 1, b + 1): np.moveaxis(np.broadcast_to(seg[a][b], seg[a][b].shape), 2, 0)
            for a in range(self.depth)
            for b in range(a, self.depth)
        }

    def _weights_last(self, x: np.ndarray) -> list[np.ndarray]:
        """(N, n) → weight stacks with the batch axis last, (d_i, d_{i−1}, N)."""
        xt = np.ascontiguousarray(np.asarray(x).T)
        return [xt[self.offsets[i] : self.offsets[i + 1]].reshape(r, c, -1) for i, (r, c) in enumerate(self.shapes)]

    def _segments(self, weights: list[np.ndarray], h: np.ndarray | None) -> list[list[np.ndarray]]:
        """seg[a][b] = M_{b+1} ⋯ M_{a+1} (0-based layers a..b), batch last; seg[a][a-1] = I."""
        H = self.depth
        M = []
        for i, w in enumerate(weights):
            if self.residual_layers[i]:
                eye = np.eye(w.shape[1])[:, :, None]
                w = w + (eye if h is None else eye * h[i][None, None, :])
            M.append(w)
        seg: list[list[np.ndarray]] = [[None] * (H + 1) for _ in range(H + 1)]  # type: ignore[list-item]
        for a in range(H):
            seg[a][a - 1] = np.eye(self.widths[a])[:, :, None]  # type: ignore[index]
            for b in range(a, H):
                seg[a][b] = M[b] if b == a else _mm(M[b], seg[a][b - 1])
        return seg

    def evaluate(
        self, x: np.ndarray, h: np.ndarray | None = None, *, jacobian: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Gradient system at a batch of points, optionally multi-homogenised.

        `x` is (N, n), `h` (N, H) or None.  Returns `(G, J, Jh)`: values `(N, n)`, Jacobian in
        the weights `(N, n, n)` (the Hessian when `h` is None) and Jacobian in the
        homogenising coordinates `(N, n, H)` (None when `h` is None).
        """
        G, J, Jh = self.evaluate_last(x.T, None if h is None else h.T, jacobian=jacobian)
        return (
            G.T,
            None if J is None else np.ascontiguousarray(J.transpose(2, 0, 1)),
            None if Jh is None else np.ascontiguousarray(Jh.transpose(2, 0, 1)),
        )

    def evaluate_last(
        self, xt: np.ndarray, ht: np.ndarray | None = None, *, jacobian: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """`evaluate` with the batch axis last: xt (n, N), ht (H, N) → (n, N), (n, n, N), (n, H, N).

        Tiny matrix products are written as broadcast sums with the batch axis last, which is
        several times faster than `matmul` on stacks of 2×2 matrices.
        """
        H = self.depth
        N = xt.shape[1]
        xt = np.ascontiguousarray(xt)
        weights = [xt[self.offsets[i] : self.offsets[i + 1]].reshape(r, c, N) for i, (r, c) in enumerate(self.shapes)]
        seg = self._segments(weights, ht)
        last = H - 1
        P = seg[0][last]
        if ht is None:
            hprod = np.ones(1)
            reg_scale = [np.ones(1)] * H
        else:
            hprod = np.prod(ht, axis=0)
            reg_scale = [np.prod(np.delete(ht, i, axis=0) ** 2, axis=0) for i in range(H)]
        R = self._data_map(P) - self.T[:, :, None] * hprod
        A = [seg[i + 1][last] if i < last else np.eye(self.widths[H])[:, :, None] for i in range(H)]
        B = [seg[0][i - 1] if i > 0 else np.eye(self.widths[0])[:, :, None] for i in range(H)]
        At = [a.transpose(1, 0, 2) for a in A]
        Bt = [b.transpose(1, 0, 2) for b in B]
        RBt = [_mm(R, Bt[i]) for i in range(H)]
        values = []
        for i in range(H):
            g = _mm(At[i], RBt[i]) + reg_scale[i] * (self.penalty[i][:, :, None] * weights[i])
            values.append(np.broadcast_to(g, (*g.shape[:2], N)).reshape(g.shape[0] * g.shape[1], N))
        G = np.concatenate(values, axis=0)
        if not jacobian:
            return G, None, None

        n = self.n
        off = self.offsets
        dtype = G.dtype
        J = np.zeros((n, n, N), dtype=dtype)
        Jh = np.zeros((n, H, N), dtype=dtype) if ht is not None else None
        BS = [_mm_right(B[j], self.S) for j in range(H)] if self.K is None else []
        for i in range(H):
            di, dim1 = self.shapes[i]
            if Jh is not None:
                ATB = _mm(At[i], _mm_left(self.T, Bt[i]))
            for j in range(H):
                dj, djm1 = self.shapes[j]
                block = self._via_data(A, B, At, Bt, BS, i, j)
                if j > i:  # via A_i: U Δ_jᵀ V
                    U = seg[i + 1][j - 1].transpose(1, 0, 2)
                    V = _mm(seg[j + 1][last].transpose(1, 0, 2), RBt[i]) if j < last else RBt[i]
                    block = block + U[:, None, None, :, :] * V.transpose(1, 0, 2)[None, :, :, None, :]
                elif j < i:  # via B_i
                    U = _mm(At[i], _mm(R, Bt[j]))
                    V = seg[j + 1][i - 1].transpose(1, 0, 2)
                    block = block + U[:, None, None, :, :] * V.transpose(1, 0, 2)[None, :, :, None, :]
                block = np.broadcast_to(block, (di, dim1, dj, djm1, N))
                J[off[i] : off[i + 1], off[j] : off[j + 1]] = block.reshape(di * dim1, dj * djm1, N)
                if Jh is not None:
                    col = np.zeros((di, dim1, N), dtype=dtype)
                    if self.residual_layers[j]:
                        col = col + np.einsum("abccn->abn", block)
                    others = np.prod(np.delete(ht, j, axis=0), axis=0)
                    col = col - others * ATB
                    if j != i:
                        rest = np.prod(np.delete(ht, [i, j], axis=0) ** 2, axis=0)
                        col = col + (2 * ht[j] * rest) * (self.penalty[i][:, :, None] * weights[i])
                    Jh[off[i] : off[i + 1], j] = col.reshape(di * dim1, N)
            diag = np.arange(off[i], off[i + 1])
            J[diag, diag] += self.penalty[i].reshape(-1, 1) * reg_scale[i]
        return G, J, Jh

    def _data_map(self, P: np.ndarray) -> np.ndarray:
        """𝒦(P) for P (dH, d0, N): P S for the square loss, mat(K vec P) otherwise."""
        if self.K is None:
            return _mm_right(P, self.S)
        dH, d0, N = P.shape
        return (self.K @ P.reshape(dH * d0, N)).reshape(dH, d0, N)

    def _via_data(self, A: list, B: list, At: list, Bt: list, BS: list, i: int, j: int) -> np.ndarray:
        """The Hessian block (i, j) through 𝒦, (d_i, d_{i−1}, d_j, d_{j−1}, N): for the square loss
        (A_iᵀ A_j) Δ_j (B_j S B_iᵀ); in general D_iᵀ K D_j with D_j = ∂vec P/∂vec W_j = A_j ⊗ B_jᵀ."""
        if self.K is None:
            C1 = _mm(At[i], A[j])
            C2 = _mm(BS[j], Bt[i])  # [d, b]
            return C1[:, None, :, None, :] * C2.transpose(1, 0, 2)[None, :, None, :, :]
        dH, d0 = self.widths[-1], self.widths[0]

        def D(k: int) -> np.ndarray:  # [(a, b), (c, d)] = A_k[a, c] B_k[d, b]
            Ak, Bk = np.broadcast_arrays(A[k][:, None, :, None, :], Bt[k][None, :, None, :, :])
            return (Ak * Bk).reshape(dH * d0, -1, Ak.shape[-1])

        Di, Dj = D(i), D(j)
        KDj = np.einsum("pq,qjn->pjn", self.K, Dj)
        block = np.einsum("pin,pjn->ijn", Di, KDj)
        di, dim1 = self.shapes[i]
        dj, djm1 = self.shapes[j]
        return block.reshape(di, dim1, dj, djm1, -1)


def regularization_kind(penalty: tuple[np.ndarray, ...]) -> str:
    """The regularization kind a penalty looks like: "none" (all zero), "l2" (one common
    value), else "generalized" (entrywise, generic)."""
    values = np.concatenate([np.ravel(c) for c in penalty]) if penalty else np.zeros(0)
    if not np.any(values):
        return "none"
    return "l2" if np.all(values == values[0]) else "generalized"


def _fractions(array: np.ndarray) -> np.ndarray:
    """Exact `Fraction`s of the floats (an object array of the same shape)."""
    out = np.empty(np.size(array), dtype=object)
    out[:] = [Fraction(float(v)) for v in np.ravel(array)]
    return out.reshape(np.shape(array))


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Batched product with the batch axis last: (a, k, N) @ (k, b, N) → (a, b, N)."""
    return (A[:, :, None, :] * B[None, :, :, :]).sum(axis=1)


def _mm_right(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(a, k, N) @ C (k, b) → (a, b, N) for a constant matrix C."""
    return (A[:, :, None, :] * C[None, :, :, None]).sum(axis=1)


def _mm_left(C: np.ndarray, B: np.ndarray) -> np.ndarray:
    """C (a, k) @ (k, b, N) → (a, b, N) for a constant matrix C."""
    return (C[:, :, None, None] * B[None, :, :, :]).sum(axis=1)
