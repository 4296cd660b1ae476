"""The BKK bound: mixed volumes of the Newton polytopes of the gradient system.

What is counted.  Bernstein–Khovanskii–Kushnirenko: a square system whose equation `i` has
support `A_i ⊂ Z^n` has at most `MV(conv A_1, …, conv A_n)` isolated solutions in the torus
`(C*)^n`, with equality for generic coefficients.  Our critical points have zero coordinates
(the origin is always one), so the number that bounds the *counts* is Li–Wang's (1996)
`MV(conv(A_1 ∪ {0}), …, conv(A_n ∪ {0}))`, a bound on the isolated solutions in all of `C^n`.
Both are reported.  The supports are those of the generic system (generic data and Λ): a
specialisation can only lose monomials, and mixed volume is monotone, so the numbers bound the
isolated critical points of every instance of the architecture.

How.  Mixed cells of a random lifting (Huber–Sturmfels 1995; the search of Li's MixedVol):
lift every point `a ∈ A_i` to height `ω(a)`; a *fine mixed cell* picks one edge `{p_i, q_i}`
of each lifted support such that some `α ∈ R^n` makes `⟨a, α⟩ + ω(a)` minimal over `A_i` at
exactly `p_i` and `q_i`, for every `i`; the mixed volume is the sum of `|det(q_i − p_i)|` over
those cells.  The cells are found depth first, one support at a time; each partial choice
keeps, for every support not yet chosen, the list of its edges still compatible with the
choices so far, and branches on the support with the fewest (fail first: an empty list prunes
the branch).  Compatibility is a small linear feasibility problem in the `n − depth`
coordinates left free by the chosen edges, solved by a compiled dense simplex on its Farkas
dual (Dantzig's rule, then Bland's).  Cost: (2,2,2) ~0.3 M such tests, about a second.
Why not the alternatives: inclusion–exclusion over `2^n` Minkowski sums needs exact volumes
of polytopes with thousands of vertices in dimension n (hopeless at n = 12); no permissively
licensed mixed-volume library is on PyPI (PHCpack, gfan, Normaliz, cddlib wrappers are GPL);
tropical pivoting (Jensen; MixedSubdivisions.jl) is faster but much longer to write.

Exactness.  Floating point only *prunes*, and numerical doubt resolves to "feasible" (a dual
value within 1e-6 of zero, iteration caps, degenerate bases; an edge direction nearly in the
span of the chosen ones is decided by an exact rank), so a cell is kept by mistake rather than
lost: losing one needs a rounding error above 1e-6 in a dual value built from integer heights
below 2^20 and small integer exponents.  Every complete cell is re-checked in exact rational
arithmetic (python-flint): `α` solved exactly, each chosen edge strictly lowest.  A tie there
means the lifting was not generic, and the count is redone with a fresh one.  Determinants are
exact integers.  Cross-checked against msolve's degree of random systems (tests/test_bkk.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..common.atomic import write_cache_json
from ..common.caches import bkk_cache_file, prepare_numba, tolerate_broken_cache
from ..common.precompiled import shipped_bkk
from ..model.sparse import SparseSystem, build_gradient_system

_CACHE = prepare_numba()  # numba's cache in the user cache directory, set before numba is imported

try:  # numba is a dependency; the guard keeps the module importable without it
    import numba as nb

    _njit = nb.njit(cache=_CACHE)
except ImportError:  # pragma: no cover

    def _njit(f):  # type: ignore[no-redef]
        return f


# Defaults for `bounds()`: it runs with every solve and `dln check`, so by default it only spends a
# small, deterministic budget — (2,2,2) needs ~0.3 M edge tests, 1–3 s — and a result computed once
# is kept in the disk cache for every later run.  `dln check --bkk` asks for the full computation.
MAX_TESTS = 400_000  # edge tests (small LPs, ~6 µs each) per mixed volume: a deterministic work limit
TIME_LIMIT = 5.0  # seconds for both mixed volumes together: only a safety net on a slow machine
FULL_TESTS = 50_000_000  # on request (`dln check --bkk`, `bkk="full"`): (1,2,2,2) needs 1.5 M, 25 s
FULL_TIME_LIMIT = 3600.0
MAX_UNKNOWNS = 16
LIFT_RANGE = 1 << 20  # random integer heights in [0, 2^20); a tie is caught exactly and redrawn
_FEASIBILITY_TOL = 1e-6  # dual value above this (heights < 2^20) means "no α": far above rounding


class MixedVolumeLimit(RuntimeError):
    """The mixed-cell search passed its work limit (deterministic: the same on every run) or its
    time limit (depends on the machine's load); `kind` says which."""

    def __init__(self, kind: Literal["work", "time"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _NonGenericLifting(RuntimeError):
    """A cell had a tie in exact arithmetic: the lifting is not generic; draw another."""


@dataclass(frozen=True)
class MixedVolumeResult:
    """A mixed volume with how it was found (cells counted, liftings drawn, time)."""

    volume: int
    cells: int
    liftings: int
    seconds: float
    tests: int = 0  # edge tests (LPs) run


# --------------------------------------------------------------------------- the LP


# Plain loops rather than `@` and NumPy helpers: the arrays are tiny, and numba compiles loops
# several times faster than its BLAS-backed matrix products (the cold compile is paid once per install).


@_njit
def _matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    out = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for k in range(A.shape[1]):
            a = A[i, k]
            if a != 0.0:
                for j in range(B.shape[1]):
                    out[i, j] += a * B[k, j]
    return out


@_njit
def _pivot(T: np.ndarray, basis: np.ndarray, row: int, col: int) -> None:
    width = T.shape[1]
    inv = 1.0 / T[row, col]
    for j in range(width):
        T[row, j] *= inv
    for i in range(T.shape[0]):
        a = T[i, col]
        if i != row and a != 0.0:
            for j in range(width):
                T[i, j] -= a * T[row, j]
    basis[row] = col


@_njit
def _phase(T: np.ndarray, basis: np.ndarray, obj: int, cols: int, rows: int) -> int:
    """Simplex iterations on objective row `obj` (reduced costs z_j − c_j; maximising) over the
    first `cols` columns.  Dantzig's rule, then Bland's, which cannot cycle.  Returns 0 optimal,
    1 unbounded, 2 iteration limit."""
    width = T.shape[1]
    eps = 1e-9
    dantzig = 2 * (cols + rows)
    for it in range(50 * (cols + rows) + 100):
        col = -1
        most = -eps
        for j in range(cols):
            v = T[obj, j]
            if it < dantzig:
                if v < most:
                    most = v
                    col = j
            elif v < -eps:
                col = j
                break
        if col < 0:
            return 0
        row = -1
        best = 0.0
        for r in range(rows):
            a = T[r, col]
            if a > eps:
                ratio = T[r, width - 1] / a
                if row < 0 or ratio < best - 1e-12 or (ratio <= best + 1e-12 and basis[r] < basis[row]):
                    row = r
                    best = ratio
        if row < 0:
            return 1
        _pivot(T, basis, row, col)
    return 2


@_njit
def _feasible(G: np.ndarray, h: np.ndarray, E: np.ndarray, f: np.ndarray, tol: float) -> bool:
    """Is there α with G α ≥ h and E α = f?  Errs towards True.

    Primal: t* = max t  s.t.  Gα − t ≥ h,  ±(Eα − f) ≥ t; the system is feasible iff t* ≥ 0.
    Solved as its dual (at most n + 1 rows): v = −t* = max hᵀy − fᵀ(z⁺ − z⁻) s.t.
    Gᵀy − Eᵀ(z⁺ − z⁻) = 0, Σy + Σz⁺ + Σz⁻ = 1, all ≥ 0.  Normalising z as well as y makes
    inconsistent equalities (dependent edge directions) a certificate too.  The dual is
    infeasible only when E is empty and t* = ∞ (feasible).  Dense tableau, two phases."""
    m, n = G.shape
    k = E.shape[0]
    rows = n + 1
    cols = m + 2 * k  # y, z+, z-; then one artificial per row, then the right-hand side
    width = cols + rows + 1
    T = np.zeros((rows + 2, width))  # + the phase-1 and phase-2 objective rows
    p1, p2 = rows, rows + 1
    for i in range(m):
        for j in range(n):
            T[j, i] = G[i, j]
        T[n, i] = 1.0
        T[p2, i] = -h[i]
    for i in range(k):
        for j in range(n):
            T[j, m + i] = -E[i, j]
            T[j, m + k + i] = E[i, j]
        T[n, m + i] = 1.0
        T[n, m + k + i] = 1.0
        T[p2, m + i] = f[i]
        T[p2, m + k + i] = -f[i]
    basis = np.empty(rows, dtype=np.int64)
    for r in range(rows):
        T[r, cols + r] = 1.0
        basis[r] = cols + r
    T[n, width - 1] = 1.0
    for j in range(cols):  # phase 1: maximise −Σ artificials
        s = 0.0
        for r in range(rows):
            s += T[r, j]
        T[p1, j] = -s
    T[p1, width - 1] = -1.0
    if _phase(T, basis, p1, cols, rows) != 0:
        return True  # undecided (cannot be unbounded): keep
    if T[p1, width - 1] < -1e-7:
        return True  # dual infeasible (E empty): t unbounded, the system is feasible
    for r in range(rows):  # drive zero-level artificials out of the basis
        if basis[r] >= cols:
            for j in range(cols):
                if abs(T[r, j]) > 1e-9:
                    _pivot(T, basis, r, j)
                    break
    if _phase(T, basis, p2, cols, rows) != 0:
        return True  # undecided (the dual is bounded): keep
    return T[p2, width - 1] <= tol


@_njit
def _compatible_edges(
    G: np.ndarray,
    h: np.ndarray,
    alpha0: np.ndarray,
    N: np.ndarray,
    points: np.ndarray,
    heights: np.ndarray,
    edges: np.ndarray,
    tol: float,
) -> np.ndarray:
    """For each edge (p, q) of one support: can the current region also make p and q the lowest
    lifted points of that support?  The region is α = α0 + Nβ (N orthonormal: the equalities of
    the edges chosen so far) with G β ≥ h; the edge's own equality removes one more coordinate
    of β, so each LP has at most n − depth rows.  Codes: 0 no, 1 yes, 2 the edge direction is
    (numerically) in the span of the chosen ones — the caller decides exactly."""
    N_pts, n = points.shape
    r = N.shape[1]
    mR = G.shape[0]
    m = mR + N_pts - 2
    rows = np.empty((m, r))
    rhs = np.empty(m)
    G2 = np.empty((m, r - 1))
    h2 = np.empty(m)
    noE = np.zeros((0, r - 1))
    nof = np.zeros(0)
    c = np.empty(r)
    out = np.zeros(edges.shape[0], dtype=np.int8)
    for i in range(mR):  # (loops, not slice assignment: numba compiles those far more slowly)
        rhs[i] = h[i]
        for l in range(r):
            rows[i, l] = G[i, l]
    for e in range(edges.shape[0]):
        p, q = edges[e, 0], edges[e, 1]
        j = 0
        for l in range(r):  # c = Nᵀ(P_q − P_p)
            s = 0.0
            for a in range(n):
                s += (points[q, a] - points[p, a]) * N[a, l]
            c[l] = s
            if abs(s) > abs(c[j]):
                j = l
        if r == 0 or abs(c[j]) < 1e-6:
            out[e] = 2
            continue
        ev = heights[p] - heights[q]
        for a in range(n):
            ev -= (points[q, a] - points[p, a]) * alpha0[a]
        i = mR
        for t in range(N_pts):
            if t != p and t != q:
                for l in range(r):
                    s = 0.0
                    for a in range(n):
                        s += (points[t, a] - points[p, a]) * N[a, l]
                    rows[i, l] = s
                s = heights[p] - heights[t]
                for a in range(n):
                    s -= (points[t, a] - points[p, a]) * alpha0[a]
                rhs[i] = s
                i += 1
        for i in range(m):  # substitute β_j = (ev − Σ_{l≠j} c_l β_l) / c_j
            ratio = rows[i, j] / c[j]
            col = 0
            for l in range(r):
                if l != j:
                    G2[i, col] = rows[i, l] - ratio * c[l]
                    col += 1
            h2[i] = rhs[i] - ratio * ev
        out[e] = 1 if _feasible(G2, h2, noE, nof, tol) else 0
    return out


@_njit
def _child_region(
    G: np.ndarray,
    h: np.ndarray,
    alpha0: np.ndarray,
    N: np.ndarray,
    points: np.ndarray,
    heights: np.ndarray,
    p: int,
    q: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The region narrowed by edge (p, q) of one support: its rows appended to G α ≥ h, and the
    equality folded into α0 + Nβ (N loses the direction N ᵀd by a Householder reflection)."""
    N_pts, n = points.shape
    r = N.shape[1]
    c = np.zeros(r)  # Nᵀd, d = P_q − P_p
    for l in range(r):
        for a in range(n):
            c[l] += (points[q, a] - points[p, a]) * N[a, l]
    cc = 0.0
    for l in range(r):
        cc += c[l] * c[l]
    e = heights[p] - heights[q]
    for a in range(n):
        e -= (points[q, a] - points[p, a]) * alpha0[a]
    alpha = np.empty(n)  # α0 + N c e/‖c‖²: the nearest point meeting the new equality
    for a in range(n):
        s = alpha0[a]
        for l in range(r):
            s += N[a, l] * c[l] * (e / cc)
        alpha[a] = s
    v = np.empty(r)
    for l in range(r):
        v[l] = c[l]
    v[0] += np.sqrt(cc) if c[0] >= 0 else -np.sqrt(cc)
    vv = 0.0
    for l in range(r):
        vv += v[l] * v[l]
    reflector = np.empty((r, r - 1))  # columns 1.. of I − 2vvᵀ/vᵀv: they span c's complement
    for a in range(r):
        for b in range(1, r):
            reflector[a, b - 1] = (1.0 if a == b else 0.0) - (2.0 / vv) * v[a] * v[b]
    N2 = _matmul(N, reflector)
    m = G.shape[0]
    G2 = np.empty((m + N_pts - 2, n))
    h2 = np.empty(m + N_pts - 2)
    for i in range(m):
        h2[i] = h[i]
        for a in range(n):
            G2[i, a] = G[i, a]
    i = m
    for s in range(N_pts):
        if s != p and s != q:
            for a in range(n):
                G2[i, a] = points[s, a] - points[p, a]
            h2[i] = heights[p] - heights[s]
            i += 1
    return G2, h2, alpha, N2


@_njit
def _filter_all(
    G: np.ndarray,
    h: np.ndarray,
    alpha0: np.ndarray,
    N: np.ndarray,
    points: np.ndarray,
    heights: np.ndarray,
    sizes: np.ndarray,
    supports: np.ndarray,
    edges: np.ndarray,
    offsets: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, bool]:
    """`_compatible_edges` for several supports at once (candidate edges concatenated, support
    k's in edges[offsets[k]:offsets[k+1]]); stops early, flagged, when one support has none."""
    Gr = _matmul(G, N)
    hr = np.empty(G.shape[0])
    for i in range(G.shape[0]):
        s = h[i]
        for a in range(G.shape[1]):
            s -= G[i, a] * alpha0[a]
        hr[i] = s
    codes = np.zeros(edges.shape[0], dtype=np.int8)
    for k in range(supports.shape[0]):
        t, a, b = supports[k], offsets[k], offsets[k + 1]
        mine = _compatible_edges(Gr, hr, alpha0, N, points[t, : sizes[t]], heights[t, : sizes[t]], edges[a:b], tol)
        alive = False
        for i in range(b - a):
            codes[a + i] = mine[i]
            alive = alive or mine[i] != 0
        if not alive:
            return codes, True
    return codes, False


tolerate_broken_cache(globals())  # a corrupt cache file costs a recompile, not the run


# --------------------------------------------------------------------------- mixed volume


def vertices(points: np.ndarray) -> np.ndarray:
    """The vertices of conv(points) (distinct rows): only they matter to a mixed volume."""
    P = np.unique(np.asarray(points, dtype=np.int64), axis=0)
    if len(P) <= 2:
        return P
    none, ones = np.zeros((0, P.shape[1])), np.ones(len(P) - 1)
    keep = np.array(  # a vertex is strictly separable: (P_r − P_i)·α ≥ 1 for all r ≠ i (dual value 1, or no dual)
        [_feasible((np.delete(P, i, axis=0) - P[i]).astype(float), ones, none, np.zeros(0), 0.5) for i in range(len(P))]
    )
    return P[keep]


def mixed_volume(
    supports: list[np.ndarray],
    *,
    seed: int = 0,
    origin: bool = False,
    max_tests: int | None = None,
    time_limit: float | None = None,
) -> MixedVolumeResult:
    """Exact mixed volume of conv(A_1), …, conv(A_n) (normalised: MV(P, …, P) = n! vol P).

    `origin=True` adds 0 to every support (Li–Wang's bound on the roots in C^n).  Raises
    MixedVolumeLimit past `max_tests` edge tests (deterministic) or `time_limit` seconds."""
    start = time.monotonic()
    limits = (max_tests, None if time_limit is None else start + time_limit)
    n = len(supports)
    arrays = [np.asarray(A, dtype=np.int64) for A in supports]
    arrays = [A.reshape(0, n) if A.size == 0 else A for A in arrays]
    if any(A.ndim != 2 or A.shape[1] != n for A in arrays):
        raise ValueError(f"mixed_volume: {n} supports need points with {n} coordinates")
    if origin:
        arrays = [np.vstack([A, np.zeros((1, n), dtype=np.int64)]) for A in arrays]
    if n == 0:
        return MixedVolumeResult(1, 1, 0, 0.0)
    polytopes = [vertices(A) for A in arrays]
    if any(len(P) < 2 for P in polytopes):  # a point (or empty) support: no mixed cell
        return MixedVolumeResult(0, 0, 0, time.monotonic() - start)
    rng = np.random.default_rng(seed)
    tests = 0
    for attempt in range(1, 6):
        heights = [rng.integers(0, LIFT_RANGE, len(P)).astype(np.int64) for P in polytopes]
        search = _MixedCells(polytopes, heights, limits, tests)
        try:
            search.count()
        except _NonGenericLifting:
            tests = search.tests
            continue
        return MixedVolumeResult(search.volume, search.cells, attempt, time.monotonic() - start, search.tests)
    raise RuntimeError("mixed_volume: five random liftings in a row were not generic")  # pragma: no cover


class _MixedCells:
    """Depth-first enumeration of the fine mixed cells of one lifting (see the module header).

    A node is a region of α (`G α ≥ h`, `E α = f`, kept also as `α0 + Nβ`) and, for every
    support not chosen yet, its edges that can still be lowest there."""

    def __init__(
        self,
        polytopes: list[np.ndarray],
        heights: list[np.ndarray],
        limits: tuple[int | None, float | None],
        tests: int = 0,
    ):
        self.n = len(polytopes)
        size = max(len(P) for P in polytopes)
        self.sizes = np.array([len(P) for P in polytopes], dtype=np.int64)
        self.points = np.zeros((self.n, size, self.n))
        self.heights = np.zeros((self.n, size))
        for s, (P, w) in enumerate(zip(polytopes, heights)):
            self.points[s, : len(P)] = P
            self.heights[s, : len(P)] = w
        self.int_points = polytopes
        self.int_heights = heights
        self.max_tests, self.deadline = limits
        self.tests = tests
        self.volume = 0
        self.cells = 0

    def count(self) -> None:
        n = self.n
        root = (np.zeros((0, n)), np.zeros(0), np.zeros((0, n), dtype=np.int64), np.zeros(0), np.zeros(n), np.eye(n))
        pairs = [np.array([(p, q) for p in range(k) for q in range(p + 1, k)], dtype=np.int64) for k in self.sizes]
        candidates = self._filter(root, pairs, list(range(n)))  # the lower edges of each lifted support
        if candidates is not None:
            self._search(root, candidates, {})

    def _filter(
        self, region: tuple[np.ndarray, ...], edges: list[np.ndarray], supports: list[int]
    ) -> dict[int, np.ndarray] | None:
        """The edges still possible in `region`, per support; None if some support has none left."""
        G, h, E, f, alpha0, N = region
        offsets = np.cumsum([0] + [len(e) for e in edges])
        self.tests += int(offsets[-1])
        if self.max_tests is not None and self.tests > self.max_tests:
            raise MixedVolumeLimit("work", f"work limit of {self.max_tests:,} edge tests reached")
        codes, dead = _filter_all(
            G,
            h,
            alpha0,
            N,
            self.points,
            self.heights,
            self.sizes,
            np.array(supports, dtype=np.int64),
            np.concatenate(edges),
            offsets,
            _FEASIBILITY_TOL,
        )
        if dead:
            return None
        out = {}
        for k, t in enumerate(supports):
            mine, candidates = codes[offsets[k] : offsets[k + 1]], edges[k]
            for i in np.flatnonzero(mine == 2):  # direction (nearly) in the span of the chosen ones: decide exactly
                mine[i] = self._exactly_compatible(region, t, *candidates[i])
            if not np.any(mine == 1):
                return None
            out[t] = candidates[mine == 1]
        return out

    def _exactly_compatible(self, region: tuple[np.ndarray, ...], t: int, p: int, q: int) -> int:
        import flint

        G, h, E, f, _, _ = region
        d = self.int_points[t][q] - self.int_points[t][p]
        rows = [[int(v) for v in row] for row in E] + [[int(v) for v in d]]
        if flint.fmpz_mat(rows).rank() < len(rows):
            return 0  # every cell through this edge has determinant 0
        G2, h2, _, _ = _child_region(
            G,
            h,
            np.zeros(self.n),
            np.eye(self.n),
            self.points[t, : self.sizes[t]],
            self.heights[t, : self.sizes[t]],
            p,
            q,
        )
        w = self.heights[t]
        return int(
            _feasible(G2, h2, np.vstack([E, d[None, :]]).astype(float), np.append(f, w[p] - w[q]), _FEASIBILITY_TOL)
        )

    def _search(
        self, region: tuple[np.ndarray, ...], candidates: dict[int, np.ndarray], chosen: dict[int, tuple[int, int]]
    ) -> None:
        if not candidates:
            self._leaf(chosen)
            return
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise MixedVolumeLimit("time", "time limit reached")
        s = min(candidates, key=lambda t: len(candidates[t]))  # fail first
        rest = sorted((t for t in candidates if t != s), key=lambda t: len(candidates[t]))  # likeliest to empty first
        G, h, E, f, alpha0, N = region
        P, w = self.points[s, : self.sizes[s]], self.heights[s, : self.sizes[s]]
        for p, q in candidates[s]:
            G2, h2, alpha2, N2 = _child_region(G, h, alpha0, N, P, w, int(p), int(q))
            child = (
                G2,
                h2,
                np.vstack([E, self.int_points[s][q] - self.int_points[s][p]]),
                np.append(f, w[p] - w[q]),
                alpha2,
                N2,
            )
            narrowed = self._filter(child, [candidates[t] for t in rest], rest) if rest else {}
            if narrowed is not None:
                self._search(child, narrowed, {**chosen, s: (int(p), int(q))})

    def _leaf(self, chosen: dict[int, tuple[int, int]]) -> None:
        """Exact check of a complete cell; adds |det| if it is a fine mixed cell."""
        import flint

        order = sorted(chosen)
        P, w = self.int_points, self.int_heights
        E = flint.fmpz_mat([[int(v) for v in P[s][chosen[s][1]] - P[s][chosen[s][0]]] for s in order])
        det = int(E.det())
        if det == 0:
            return
        f = flint.fmpq_mat([[int(w[s][chosen[s][0]] - w[s][chosen[s][1]])] for s in order])
        alpha = flint.fmpq_mat(E).solve(f)
        for s in order:
            p, q = chosen[s]
            values = flint.fmpq_mat([[int(v) for v in row] for row in P[s]]) * alpha
            lifted = [Fraction(int(values[r, 0].p), int(values[r, 0].q)) + int(w[s][r]) for r in range(len(P[s]))]
            low = lifted[p]
            for r, value in enumerate(lifted):
                if r in (p, q):
                    continue
                if value < low:
                    return  # kept by a loose numerical test, not a cell
                if value == low:
                    raise _NonGenericLifting
        self.volume += abs(det)
        self.cells += 1


# --------------------------------------------------------------------------- the gradient system


def supports_of(system: SparseSystem) -> list[np.ndarray]:
    """Exponent arrays of a sparse system's equations (its Newton polytopes' points)."""
    return [np.asarray(eq.exponents, dtype=np.int64) for eq in system.equations]


def generic_supports(widths: tuple[int, ...], residual: bool = False) -> list[np.ndarray]:
    """Supports of ∇L = 0 for generic data and Λ: the union over two exact random draws (a
    monomial vanishes by accident in one draw with probability ~ 2^-30, in both essentially
    never).  They do not depend on the number of samples or on the normalisation."""
    widths = tuple(int(d) for d in widths)
    H = len(widths) - 1
    union: list[set[tuple[int, ...]]] | None = None
    for seed in (1, 2):
        rng = np.random.default_rng(seed)

        def draw(shape: tuple[int, int], rng: np.random.Generator = rng) -> np.ndarray:
            out = np.empty(shape, dtype=object)
            out[...] = [[Fraction(int(v)) for v in row] for row in rng.integers(1, 1 << 30, shape)]
            return out

        X, Y = draw((widths[0], 1)), draw((widths[-1], 1))
        C = tuple(draw((widths[i + 1], widths[i])) for i in range(H))
        system = build_gradient_system(widths, X, Y, C, residual=residual, scale=Fraction(1))
        sets = [set(map(tuple, A.tolist())) for A in supports_of(system)]
        union = sets if union is None else [a | b for a, b in zip(union, sets)]
    assert union is not None
    return [np.array(sorted(s), dtype=np.int64).reshape(len(s), -1) for s in union]


def describe(bkk: dict[str, Any] | None) -> str:
    """The phrase reports print beside Bézout: "BKK 1089 (torus 1024)" or why it is missing."""
    if not bkk:
        return ""
    if bkk.get("status") == "computed":
        return f"BKK {bkk['affine']} (torus {bkk['torus']})"
    return f"BKK not computed ({bkk.get('reason', 'no reason given')})"


def unknowns_of(widths: tuple[int, ...]) -> int:
    """Σ d_i d_{i−1}: the number of unknowns, from the widths alone (nothing built)."""
    return sum(int(a) * int(b) for a, b in zip(widths[:-1], widths[1:]))


@lru_cache(maxsize=64)
def _bkk_cached(
    widths: tuple[int, ...], residual: bool, max_tests: int, time_limit: float, max_unknowns: int
) -> dict[str, Any]:
    n = unknowns_of(widths)
    if n > max_unknowns:  # checked before the supports are built: they alone take minutes at n = 5,000
        return {"status": "not computed", "reason": f"{n} unknowns > {max_unknowns} (size limit)"}
    supports = generic_supports(widths, residual)
    compile_kernels()  # a cold compile (10–30 s once per install) is not charged to the time limit
    start = time.monotonic()
    try:
        torus = mixed_volume(supports, max_tests=max_tests, time_limit=time_limit)
        left = max(time_limit - (time.monotonic() - start), 0.0)
        affine = mixed_volume(supports, origin=True, max_tests=max_tests, time_limit=left)
    except MixedVolumeLimit as error:
        reason = str(error) if error.kind == "work" else f"time limit {time_limit:g} s"
        if (max_tests, time_limit) == (MAX_TESTS, TIME_LIMIT):
            reason += " of the default budget; `dln check --bkk` computes it and caches it for later runs"
        if error.kind == "work":  # deterministic: the same budget fails the same way on every run
            return {"status": "not computed", "reason": reason, "limit": "work", "max_tests": max_tests}
        return {"status": "not computed", "reason": reason}
    return {
        "status": "computed",
        "affine": affine.volume,
        "torus": torus.volume,
        "mixed_cells": {"affine": affine.cells, "torus": torus.cells},
        "edge_tests": affine.tests + torus.tests,
        "seconds": round(time.monotonic() - start, 3),
        "method": "mixed cells of a random lifting (seed 0), exact rational cell checks",
    }


@lru_cache(maxsize=1)
def compile_kernels() -> None:
    """Run the compiled LP kernels once on (1,1,1)'s supports, so that numba's compile (or its
    load from the cache) happens here, not inside a time-limited mixed-volume search."""
    mixed_volume(generic_supports((1, 1, 1)))


def bkk_bound(
    widths: tuple[int, ...],
    residual: bool = False,
    *,
    max_tests: int = MAX_TESTS,
    time_limit: float = TIME_LIMIT,
    max_unknowns: int = MAX_UNKNOWNS,
) -> dict[str, Any]:
    """BKK numbers of the generic gradient system: `affine` = MV with the origin added (bounds the
    isolated critical points in C^n — the counts), `torus` = MV of the supports (bounds those with
    no zero coordinate).  Or {"status": "not computed", "reason": …} past a limit.  The numbers
    depend on the widths and on residual only: a computed one is kept in the disk cache (user
    cache directory) and read from there by every later call, whatever its limits.  So is a
    search that ran out of its *work* limit (deterministic): a later call with no larger a limit
    fails the same way, so it is told at once — every `dln solve` of (2,2,2,2) paid 3–5 s for
    that failure before.  A larger limit (`dln check --bkk`) computes it afresh."""
    key = (tuple(int(d) for d in widths), bool(residual), int(max_tests), float(time_limit), int(max_unknowns))
    disk_key = f"{'-'.join(map(str, key[0]))}{'-residual' if residual else ''}"
    if unknowns_of(key[0]) <= max_unknowns:
        stored = _disk_cache().get(disk_key)
        if isinstance(stored, dict) and stored.get("status") == "computed":
            return {**stored, "cached": True}
        if isinstance(stored, dict) and stored.get("limit") == "work" and int(stored.get("max_tests", 0)) >= max_tests:
            return {**stored, "cached": True}
    result = dict(_bkk_cached(*key))
    if result["status"] == "computed" or result.get("limit") == "work":
        _store(disk_key, result)
    return result


def bkk_full(widths: tuple[int, ...], residual: bool = False) -> dict[str, Any]:
    """The BKK numbers without the default budget (`dln check --bkk`): up to FULL_TESTS edge
    tests and FULL_TIME_LIMIT seconds; the result is cached on disk for every later run."""
    return bkk_bound(widths, residual, max_tests=FULL_TESTS, time_limit=FULL_TIME_LIMIT)


def cached_bkk(widths: tuple[int, ...], residual: bool = False) -> dict[str, Any] | None:
    """The BKK numbers if the disk cache holds them (never computes)."""
    disk_key = f"{'-'.join(str(int(d)) for d in widths)}{'-residual' if residual else ''}"
    stored = _disk_cache().get(disk_key)
    return {**stored, "cached": True} if isinstance(stored, dict) and stored.get("status") == "computed" else None


CACHE_SCHEMA = "dlnlandscape-bkk-v2"


def _cache_file() -> Path:
    return bkk_cache_file()


def _disk_cache() -> dict[str, Any]:
    """Mixed volumes already computed on this machine (they depend on the architecture only),
    over those computed when the wheel was built (`common/precompiled.py`)."""
    found: dict[str, Any] = {}
    for read in (shipped_bkk, lambda: json.loads(_cache_file().read_text(encoding="utf-8"))):
        try:
            cache = read()
        except (OSError, ValueError):
            continue
        if isinstance(cache, dict) and cache.get("schema") == CACHE_SCHEMA:
            found.update(cache)
    return found


def _store(key: str, result: dict[str, Any]) -> None:
    """Add one result to the disk cache (`common.atomic.write_cache_json`: atomic, and a file at
    that path that is not this cache is left alone); an unwritable cache only costs recomputation."""
    write_cache_json(_cache_file(), {**_disk_cache(), key: result}, CACHE_SCHEMA)
