"""Linear-product start systems on (multi-)projective space, and all their solutions.

The target system is homogenised per *variable group* (one group per layer for the
multihomogeneous start, one group for total degree).  Equation `k` has degree `D[k, g]` in
group `g`; the start equation is a product of that many random linear forms in each group's
coordinates `y_g = (x_g, h_g)`:

    g_k(y) = Π_g Π_{t < D[k,g]} ℓ_{k,g,t}(y_g).

A start solution picks one factor per equation so that every group receives as many linear
equations as it has affine unknowns; with the random chart `a_g · y_g = 1` each group is then
a square linear system.  For generic forms this gives exactly the multihomogeneous Bézout
number of distinct nonsingular start solutions (Morgan & Sommese, *Appl. Math. Comput.* 1987;
Wampler's linear-product homotopies).  Enumerating the choices is combinatorial set-up work
done once; every linear solve is batched.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np


@dataclass(frozen=True)
class VariableGroups:
    """How the n affine unknowns split into groups, each with a homogenising coordinate."""

    members: tuple[np.ndarray, ...]  # affine variable indices of each group
    layer_group: np.ndarray  # (H,) group of each layer

    @property
    def count(self) -> int:
        return len(self.members)

    def sizes(self) -> np.ndarray:
        return np.array([len(m) for m in self.members], dtype=np.int64)

    @classmethod
    def per_layer(cls, offsets: tuple[int, ...]) -> VariableGroups:
        H = len(offsets) - 1
        members = tuple(np.arange(offsets[i], offsets[i + 1]) for i in range(H))
        return cls(members=members, layer_group=np.arange(H))

    @classmethod
    def single(cls, n: int, H: int) -> VariableGroups:
        return cls(members=(np.arange(n),), layer_group=np.zeros(H, dtype=np.int64))


@dataclass(frozen=True)
class LinearProductStart:
    """Random linear forms per (equation, group, factor) and the chart per group."""

    groups: VariableGroups
    degrees: np.ndarray  # (n, G) degree of each equation in each group
    forms: tuple[np.ndarray, ...]  # per group: (n, max_deg_g, n_g + 1) complex coefficients
    charts: tuple[np.ndarray, ...]  # per group: (n_g + 1,) chart coefficients

    @classmethod
    def random(cls, groups: VariableGroups, degrees: np.ndarray, rng: np.random.Generator) -> LinearProductStart:
        n = degrees.shape[0]
        forms = []
        charts = []
        for g, members in enumerate(groups.members):
            k = len(members) + 1
            maxdeg = max(int(degrees[:, g].max()), 1)
            forms.append(_complex_normal(rng, (n, maxdeg, k)) / np.sqrt(k))
            charts.append(_complex_normal(rng, (k,)) / np.sqrt(k))
        return cls(groups=groups, degrees=degrees, forms=tuple(forms), charts=tuple(charts))

    def evaluate(self, y: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Start system values (n, N) and Jacobian blocks per group (n, n_g + 1, N).

        Batch axis last; `y[g]` is (n_g + 1, N).
        """
        N = y[0].shape[1]
        n = self.degrees.shape[0]
        values = []
        for g, yg in enumerate(y):
            forms = self.forms[g]
            lin = (forms.reshape(-1, forms.shape[2]) @ yg).reshape(n, forms.shape[1], N)
            values.append(np.where(self._used[g][:, :, None], lin, 1.0))
        flat = np.concatenate(values, axis=1)  # (n, F, N)
        total = np.prod(flat, axis=1)
        # product of all factors but one, via prefix and suffix products (no division: at a
        # start solution one factor is exactly zero)
        F = flat.shape[1]
        prefix = [np.ones((n, N), dtype=complex)]
        for f in range(F - 1):
            prefix.append(prefix[-1] * flat[:, f])
        suffix = [np.ones((n, N), dtype=complex)]
        for f in range(F - 1, 0, -1):
            suffix.append(suffix[-1] * flat[:, f])
        others = np.stack([prefix[f] * suffix[F - 1 - f] for f in range(F)], axis=1)
        jac = []
        start = 0
        for g in range(len(y)):
            width = self.forms[g].shape[1]
            o = others[:, start : start + width] * self._used[g][:, :, None]
            jac.append((o[:, :, None, :] * self.forms[g][:, :, :, None]).sum(axis=1))
            start += width
        return total, jac

    @property
    def _used(self) -> list[np.ndarray]:
        """Per group, which factor slots an equation really has (its degree in the group)."""
        return [np.arange(f.shape[1])[None, :] < self.degrees[:, g][:, None] for g, f in enumerate(self.forms)]

    def solutions(self) -> tuple[list[np.ndarray], int]:
        """Every start solution, as per-group homogeneous coordinates (paths, n_g + 1)."""
        n, G = self.degrees.shape
        sizes = self.groups.sizes()
        patterns = _group_patterns(self.degrees, sizes)
        ys: list[list[np.ndarray]] = [[] for _ in range(G)]
        for pattern in patterns:
            # every combination of factor indices for this group pattern
            ranges = [range(int(self.degrees[k, pattern[k]])) for k in range(n)]
            choice = np.array(list(product(*ranges)), dtype=np.int64).reshape(-1, n)
            for g in range(G):
                rows = np.flatnonzero(pattern == g)
                k = sizes[g] + 1
                A = np.empty((choice.shape[0], k, k), dtype=complex)
                A[:, :-1, :] = self.forms[g][rows[None, :], choice[:, rows]]
                A[:, -1, :] = self.charts[g]
                rhs = np.zeros((choice.shape[0], k), dtype=complex)
                rhs[:, -1] = 1.0
                ys[g].append(np.linalg.solve(A, rhs[..., None])[..., 0])
        return [np.concatenate(parts) for parts in ys], int(sum(len(p) for p in ys[0]))


def _complex_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _group_patterns(degrees: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """All assignments equation → group (with positive degree) filling each group exactly."""
    n, G = degrees.shape
    out: list[np.ndarray] = []
    pattern = np.zeros(n, dtype=np.int64)

    def assign(k: int, remaining: np.ndarray) -> None:
        if k == n:
            out.append(pattern.copy())
            return
        if remaining.sum() != n - k:
            return
        for g in range(G):
            if remaining[g] > 0 and degrees[k, g] > 0:
                pattern[k] = g
                remaining[g] -= 1
                assign(k + 1, remaining)
                remaining[g] += 1

    assign(0, sizes.astype(np.int64).copy())
    return out


def multihomogeneous_bezout(degrees: np.ndarray, sizes: np.ndarray) -> int:
    """Coefficient of Π_g z_g^{n_g} in Π_k (Σ_g D[k,g] z_g), exactly (Python ints)."""
    counts: dict[tuple[int, ...], int] = {tuple(int(s) for s in sizes): 1}
    for row in degrees:
        nxt: dict[tuple[int, ...], int] = {}
        for rem, c in counts.items():
            for g, d in enumerate(row):
                if d > 0 and rem[g] > 0:
                    key = rem[:g] + (rem[g] - 1,) + rem[g + 1 :]
                    nxt[key] = nxt.get(key, 0) + c * int(d)
        counts = nxt
    return counts.get(tuple(0 for _ in sizes), 0)
