"""The monodromy family: the gradient systems of one architecture over all data, and arcs in it.

The family.  ∇L depends linearly on p = (S, T, C) (sparse.ParametricSystem), with S = s X Xᵀ,
T = s Y Xᵀ.  Moving the *data* (X, Y) and the penalty C keeps every structural property of the
real problem — the rank of S when m < d0, the origin as a solution, the hidden-neuron sign flips
— so a generic complex parameter point has exactly as many solutions as the generic real
problem.  A start pair needs no solve: pick a random point x₀ and random complex data, then
the gradient's linearity in C gives the unique C with ∇L(x₀; X, Y, C) = 0.

Neuron patterns.  A point whose hidden neuron is inactive (incoming row and outgoing column
zero) stays so along every path of the family, so the solutions split by which neurons are
active, and each pattern is seeded and grown on its own (Bharadwaj–Hoşten, DOMAIN.md).  With
residual layers I + W the unit is the chain of neurons j that the identity links, whose rows and
columns vanish together (`Family.units`).

Arcs.  Between parameter points a and b the tracker runs s from 0 to iπ, i.e. t = e^s on the
upper unit half-circle, with p(t) = (a + b)/2 + t (a − b)/2: t = 1 is a, t = −1 is b, and the
arc avoids the (finitely many) bad points of the complex line through a and b with
probability one.  Along an arc the term coefficients are quadratic in t
(homotopies/parameter.py); the tracker, its step control and the compiled kernel are the same
as for the γ-trick homotopy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

import numpy as np

from ...model.loss import data_operator, data_target, random_form
from ...model.problem import Problem
from ...model.sparse import ParametricSystem, parametric_gradient_system
from .homotopies.parameter import NetworkArcs, ParameterHomotopy
from .tracker import REACHED_END, Tracker, TrackerOptions, make_steps

ARC_END = 1j * np.pi  # s at the far end of an arc (t = −1)
PATTERN_ZERO = 1e-8  # |weights of a neuron| below this (relative) means the neuron is inactive


@dataclass(frozen=True)
class DataPoint:
    """One point of the parameter space: data X (d0 × m), Y (dH × m), penalties C (n,) and, for
    a loss other than the square one, its form Q ((dH·m)², model/loss.py; empty otherwise)."""

    X: np.ndarray
    Y: np.ndarray
    C: np.ndarray
    Q: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=complex))

    def __add__(self, other: DataPoint) -> DataPoint:
        return DataPoint(self.X + other.X, self.Y + other.Y, self.C + other.C, self.Q + other.Q)

    def __mul__(self, factor: complex) -> DataPoint:
        return DataPoint(self.X * factor, self.Y * factor, self.C * factor, self.Q * factor)

    __rmul__ = __mul__


class Family:
    """The gradient systems of one architecture over all data and penalties.

    Other losses.  For a weighted or quadratic-form loss (model/loss.py) the family moves the
    form Q (in the loss's structure: diagonal, or symmetric), Y and C, and keeps X at the real
    problem's: then K = s Mᵀ Q M is linear in Q and T = s Mᵀ Q vec Y quadratic along an arc, as
    S and T are for the square loss, and a start pair is found the same way (C from x₀).  The
    real problem is a generic member as long as its weights (or Q) and Y are; X keeps whatever
    structure the real data have (X = I: weighted low-rank approximation)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.system: ParametricSystem = parametric_gradient_system(
            problem.widths, residual=problem.residual, operator="S" if problem.data_loss.square else "K"
        )
        self.scale = problem.scale
        self.samples = problem.X.shape[1]
        self._tables: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def operator(self) -> str:
        """The data block of the parameters: "S" (the square loss) or "K" (sparse.ParametricSystem)."""
        return self.system.operator

    def term_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(terms, L) variable indices (−1 padded) and exponents of every term: the layout the
        compiled kernel reads; built once per family."""
        if self._tables is None:
            self._tables = term_tables(self.system.exponents)
        return self._tables

    def target(self) -> DataPoint:
        """The real problem as a point of the family."""
        p = self.problem
        form = p.data_form().astype(complex) if self.operator == "K" else np.zeros((0, 0), dtype=complex)
        return DataPoint(p.X.astype(complex), p.Y.astype(complex), np.concatenate([c.ravel() for c in p.penalty]), form)

    def parameters(self, q: DataPoint) -> np.ndarray:
        """p = (S or K, T, C) at the family point q (the problem there computes them)."""
        at = self.problem_at(q)
        return self.system.parameter_vector(at.S if at.K is None else at.K, at.T, q.C).astype(complex)

    def arc_data(self, a: DataPoint, b: DataPoint) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(S, T, C) — or (K, T, C) — of t⁰, t¹, t² along the arc a → b.

        With X(t) = Xm + t Xd (Xm, Xd the midpoint and half-difference), S(t) = s X(t) X(t)ᵀ is
        quadratic in t, T(t) likewise, C(t) linear.  For another loss X is fixed and Q(t) moves:
        K(t) linear, T(t) quadratic."""
        mid = 0.5 * (a + b)
        half = 0.5 * (a + (-1.0) * b)
        s = self.scale
        if self.operator == "K":
            X, dH = mid.X, mid.Y.shape[0]
            return [
                (data_operator(X, mid.Q, s, dH), data_target(X, mid.Y, mid.Q, s), mid.C),
                (
                    data_operator(X, half.Q, s, dH),
                    data_target(X, mid.Y, half.Q, s) + data_target(X, half.Y, mid.Q, s),
                    half.C,
                ),
                (
                    np.zeros((X.shape[0] * dH,) * 2, dtype=complex),
                    data_target(X, half.Y, half.Q, s),
                    np.zeros_like(mid.C),
                ),
            ]
        return [
            (s * mid.X @ mid.X.T, s * mid.Y @ mid.X.T, mid.C),
            (s * (half.X @ mid.X.T + mid.X @ half.X.T), s * (half.Y @ mid.X.T + mid.Y @ half.X.T), half.C),
            (s * half.X @ half.X.T, s * half.Y @ half.X.T, np.zeros_like(mid.C)),
        ]

    def arc_coefficients(self, a: DataPoint, b: DataPoint) -> np.ndarray:
        """(3, terms): the term coefficients along the arc a → b are c₀ + t c₁ + t² c₂."""
        parts = self.arc_data(a, b)
        return np.stack([self.system.coefficients(self.system.parameter_vector(*q)) for q in parts])

    def homotopy(self, arcs: list[tuple[DataPoint, DataPoint]], arc_of_path: np.ndarray) -> ParameterHomotopy:
        """The parameter homotopy along `arcs`, path i on arcs[arc_of_path[i]]."""
        data = [self.arc_data(a, b) for a, b in arcs]
        coefficients = np.stack(
            [[self.system.coefficients(self.system.parameter_vector(*q)) for q in parts] for parts in data]
        )  # (arcs, 3, T)
        network = (
            NetworkArcs(  # the compiled evaluation by matrix products knows the square loss's S only
                widths=np.asarray(self.problem.widths, dtype=np.int64),
                residual_layers=self.residual_layers(),
                s_poly=np.array([[q[0] for q in parts] for parts in data], dtype=complex),
                t_poly=np.array([[q[1] for q in parts] for parts in data], dtype=complex),
                c_poly=np.array([[q[2] for q in parts] for parts in data], dtype=complex),
            )
            if self.operator == "S"
            else None
        )
        return ParameterHomotopy(self.system, self.term_tables(), coefficients, arc_of_path, network)

    def residual_layers(self) -> np.ndarray:
        """1 for each layer that is I + W (a square layer of a residual network), else 0."""
        w = self.problem.widths
        return np.array([int(self.problem.residual and w[i + 1] == w[i]) for i in range(len(w) - 1)], dtype=np.int64)

    def problem_at(self, q: DataPoint) -> Problem:
        """The (complex) gradient system at q, for batched Newton and Hessians."""
        p = self.problem
        C = np.split(q.C, np.cumsum(p.group_sizes)[:-1])
        penalty = tuple(c.reshape(shape) for c, shape in zip(C, p.shapes))
        return p.at_data(q.X, q.Y, penalty, q.Q if self.operator == "K" else None)

    def random_point(self, rng: np.random.Generator, c_scale: float = 1.0) -> DataPoint:
        p = self.problem
        if self.operator == "K":  # X stays the real problem's (class docstring)
            Y, C = complex_normal(rng, p.Y.shape), c_scale * complex_normal(rng, (p.n,))
            return DataPoint(p.X.astype(complex), Y, C, random_form(p.data_loss.kind, rng, *p.Y.shape))
        return DataPoint(
            complex_normal(rng, p.X.shape), complex_normal(rng, p.Y.shape), c_scale * complex_normal(rng, (p.n,))
        )

    def start_pair(self, rng: np.random.Generator, active: np.ndarray | None = None) -> tuple[np.ndarray, DataPoint]:
        """A random x₀ and data for which it is a critical point: C = −(data part of ∇L at x₀)
        / x₀ entrywise.  x₀ has unit-modulus entries (no division by a tiny coordinate), except
        that the weights of inactive hidden neurons (`active`: per coordinate, False where the
        neuron pattern forces a zero) are zero; there the data part vanishes too and C is free."""
        n = self.problem.n
        x0 = np.exp(2j * np.pi * rng.random(n))
        if active is not None:
            x0 = np.where(active, x0, 0.0)
        q = self.random_point(rng)
        data_part = self.problem_at(DataPoint(q.X, q.Y, np.zeros_like(q.C), q.Q)).gradient(x0[None])[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            C = np.where(x0 != 0, -data_part / x0, q.C)
        return x0, DataPoint(q.X, q.Y, C, q.Q)

    def neuron_patterns(self) -> list[np.ndarray]:
        """Coordinate masks of the active-unit patterns that seed separate monodromy runs.

        The solutions split by which hidden units are inactive (module docstring; `units`): such
        a point stays inactive along every path, so loops never leave its pattern and each
        pattern needs its own seed (Bharadwaj–Hoşten, DOMAIN.md).  A hidden layer with no active
        neuron forces the origin, which is its own pattern (all False) — unless a unit tied to
        the input or output by a residual layer keeps every neuron of each layer alive."""
        n = self.problem.n
        if self.problem.depth < 2:
            return [np.ones(n, dtype=bool)]
        units = self.units
        free = [u for u in units if u.coordinates is not None]
        hidden = set(range(1, self.problem.depth))
        always = {layer for u in units if u.coordinates is None for layer in u.layers}
        patterns = [] if always == hidden else [np.zeros(n, dtype=bool)]
        for choice in product((True, False), repeat=len(free)):
            alive = always.union(*(u.layers for u, on in zip(free, choice) if on))
            if alive != hidden:
                continue  # a dead hidden layer: the origin's pattern
            mask = np.ones(n, dtype=bool)
            for u, on in zip(free, choice):
                if not on:
                    mask[u.coordinates] = False
            patterns.append(mask)
        return patterns

    @cached_property
    def units(self) -> list[Unit]:
        """The hidden units, in layer order (computed once: `in_pattern` reads them every round):
        a hidden neuron with its incoming row and outgoing column — and, across a residual layer
        I + W (which carries neuron j of one layer into neuron j of the next), the neurons it
        links, as one unit whose rows and columns (the residual layer's row j and column j, its
        diagonal entry too) vanish together.  Such a unit computes 0 for every input, so with its
        coordinates zero the gradient in them is zero too: the zero set is invariant, a pattern.
        Measured on residual (1,2,2,1) m = 2: with one pattern for the whole residual network,
        monodromy found 112 of msolve's 129; with units, 129 = 96 (all active) + 2 · 16 (one
        stream dead) + 1 (the origin).  A unit tied to the input or the output by a residual
        layer passes x_j (or reaches y_j) through the identity and cannot be inactive: its
        `coordinates` are None."""
        p = self.problem
        off, residual, depth = p.offsets, p.residual_layers, p.depth
        units: list[Unit] = []
        for layer in range(1, depth):
            for j in range(p.widths[layer]):
                if residual[layer - 1] and layer > 1:
                    continue  # neuron j of this layer is in the unit of neuron j one layer down
                layers, coords, tied = [], [], residual[layer - 1]  # tied: to the input
                last = layer
                while True:
                    layers.append(last)
                    _, cols_in = p.shapes[last - 1]
                    coords.append(off[last - 1] + j * cols_in + np.arange(cols_in))  # incoming row
                    rows_out, cols_out = p.shapes[last]
                    coords.append(off[last] + np.arange(rows_out) * cols_out + j)  # outgoing column
                    if not residual[last]:
                        break
                    if last + 1 == depth:
                        tied = True  # to the output
                        break
                    last += 1
                units.append(Unit(tuple(layers), None if tied else np.unique(np.concatenate(coords))))
        return units

    def in_pattern(self, points: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Which points have exactly the unit pattern `active` (a path can jump onto another
        pattern's solutions, which are genuine but belong to that pattern's own run)."""
        if self.problem.depth < 2:
            return np.ones(points.shape[0], dtype=bool)
        scale = np.maximum(1.0, np.abs(points).max(axis=1))
        ok = np.ones(points.shape[0], dtype=bool)
        for unit in self.units:
            if unit.coordinates is None:
                continue
            inactive = np.abs(points[:, unit.coordinates]).max(axis=1) <= PATTERN_ZERO * scale
            ok &= inactive != active[unit.coordinates].any()  # active: some weight of the unit is free
        return ok


@dataclass(frozen=True)
class Unit:
    """A hidden unit (Family.units): the hidden layers its neurons sit in and its coordinates
    (None: tied to the input or output through a residual layer, never inactive)."""

    layers: tuple[int, ...]
    coordinates: np.ndarray | None


class ArcTracker:
    """Tracks points along arcs between parameter points, many arcs in one batch (compiled when
    possible); counts the work done."""

    def __init__(self, family: Family, options: TrackerOptions, kernel: str = "auto") -> None:
        self.family = family
        self.options = options
        self.kernel = kernel
        self.path_steps = 0  # predictor–corrector steps over all paths (the unit of work)
        self.calls = 0
        self.check: Callable[[], None] | None = None  # called before every step; may raise to stop

    def track(
        self,
        y0: np.ndarray,
        arcs: list[tuple[DataPoint, DataPoint]],
        arc_of_path: np.ndarray,
        options: TrackerOptions | None = None,
        keep_near_end: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints (NaN where lost) and an ok mask; path i runs along arcs[arc_of_path[i]].
        With `keep_near_end`, a path that stalled after that fraction of its arc keeps its last
        point (for a Newton refinement at the target to accept or reject)."""
        N = y0.shape[0]
        if N == 0:
            return y0.copy(), np.zeros(0, dtype=bool)
        hom = self.family.homotopy(arcs, arc_of_path)
        steps = make_steps(hom, self.kernel)
        tracker = Tracker(hom, options or self.options, steps)
        state = tracker.track(y0, np.zeros(N, dtype=complex), np.full(N, ARC_END), check=self.check)
        self.path_steps += int(state.steps.sum())
        self.calls += 1
        ok = (state.status == REACHED_END) & np.isfinite(state.y).all(axis=1)
        keep = ok
        if keep_near_end is not None:  # let Newton at the end decide for paths that stalled close to it
            keep = ok | ((state.u >= keep_near_end) & np.isfinite(state.y).all(axis=1))
        return np.where(keep[:, None], state.y, np.nan), ok


def term_tables(exponents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(terms, L) variable indices (−1 padded) and exponents of every term of a sparse system
    (exponents (terms, n)): the layout the compiled kernel reads."""
    support = exponents > 0
    L = max(1, int(support.sum(axis=1).max()))
    order = np.argsort(~support, axis=1, kind="stable")[:, :L]  # the variables of each term first
    term_exps = np.take_along_axis(exponents, order, axis=1)
    term_vars = np.where(term_exps > 0, order, -1)
    return term_vars.astype(np.int64), term_exps.astype(np.int64)


def complex_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


__all__ = ["ARC_END", "ArcTracker", "DataPoint", "Family", "complex_normal", "term_tables"]
