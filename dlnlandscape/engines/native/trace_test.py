"""The trace test: a proof, up to rounding and random choices, that monodromy found every point.

Why.  Monodromy (monodromy.py) only ever *adds* solutions; "no new solution for k rounds" says
nothing about those it never reached, and it has been wrong (widths [2,2,2,2,2], m = 1: data
seeds 7 and 51 gave 9,889 and 9,985 critical points, both "complete").  The trace test (Leykin,
Rodriguez & Sottile, *Trace test*, Arnold Math. J. 4, 2018; for systems linear in their
parameters HomotopyContinuation.jl's `verify_solution_completeness`, whose construction this
follows) turns completeness into an identity that a missing point breaks.

The principle.  Let g: C → ℂ be a *proper* map on an affine curve C and φ a polynomial function.
The trace tr φ(t) = Σ_{y ∈ g⁻¹(t)} φ(y) is a symmetric function of the fibre without poles (no
fibre point goes to infinity), so a polynomial in t, and if |φ| = O(|g|) at every point at
infinity of C it is affine-linear.  A *proper subset* of the fibres of an irreducible C has no
reason to be linear — the monodromy of g is transitive — so for random choices a missing point
shows as a non-zero second difference tr φ(0) − 2 tr φ(γ/2) + tr φ(γ).

The curve.  ∇L is linear in p = (S, T, C) (model.sparse.ParametricSystem): F(x; p) = 0.  Take a
neuron pattern's base point p₀ and follow a line p₀ + λv; its solutions form the curve
C = {(x, λ) : F(x; p₀ + λv) = 0}, whose fibre at λ = 0 is what monodromy grew.  The line must
stay where the generic count is the real problem's: S keeps rank m when m < d0.  S = sXXᵀ is not
linear in the data, but with the base point's X₀ fixed, S = X₀MX₀ᵀ, T = NX₀ᵀ (M symmetric, N and
C free) *is* a linear family through p₀ that keeps the rank, and these families for all X₀ cover
the data family, so for a random complex X₀ its generic count is the family's
(`random_parameters`; with m ≥ d0 every S and T occur).  Here v moves only T and C: S stays at
p₀'s, and the curve is still irreducible — for each x with non-zero coordinates the C part alone
solves F = 0 uniquely, so the solutions over p₀ + span(T, C) form a vector bundle over a torus,
and a generic line through p₀ pulls back to an irreducible curve (Bertini).  Moving S as well
costs 30 % more witnesses (below) and buys nothing.  Moving T alone would cost a ninth of the
witnesses (704 against 6,048 on (1,2,2,2) m = 1) but its curve is *reducible*: loops in λ alone
(the pencil with h = 0, so λ = t) carry one solution of a 7-coordinate pattern to 4 of its 8
orbits, where with T and C they reach all 8 — a union of components could pass the test.
Other losses (model/loss.py, family.py): X stays the real data's and the family moves the form
Q, Y and C; its linear hull through p₀ is K = s MᵀQ'M (Q' diagonal or symmetric, as the loss's),
T = N Xᵀ, C free, whose generic count is the family's (Q ↦ K is linear, and Y ↦ T covers the
T-space for invertible Q).  The line still moves T and C only, and the C-part argument above
does not depend on the data term.

The pencil.  λ itself would not do: fibres over λ lose points to infinity where the count drops.
Following LRS §3 (HC.jl's verify system), the pencil g(x, λ) = (h(x) − 1) λ on C has as fibre
over t = 0 the solutions (λ = 0) *and* the e points of C on h(x) = 1, the *witnesses*.  For a
generic h, g is proper: where x → ∞ at finite λ ≠ 0, h → ∞; where λ → ∞ at finite x*,
h(x*) ≠ 1.  So every fibre g = −t has d + e points and tr φ is linear for φ = λ and φ of degree
≤ deg h in x.  The test tracks the d + e points of

    G(x, λ; t) = [ F(x; p₀ + λv) ;  (h(x) − 1) λ + t ] = 0

from t = 0 to γ/2 and γ (|γ| the size of g near the solutions), refines them by Newton (in
extended precision where double Newton stalls on rounding: such a point is not a lost path; a path
double precision cannot follow at all is tracked in extended precision, `_track_extended`) and
requires the relative second difference of Σ φ to be below its tolerance (max(TRACE_TOL,
ROUNDING_MARGIN × the rounding the points allow); measured: ≤ 1e-13 on small complete sets,
≥ 1e-6 with one orbit removed — but on a pattern of 10⁵ fibre points three missing orbits moved
it by only 2.8e-11, so the margin over the rounding is what decides there).  G is linear in
its own parameters q = (p₀, v, a, −1, t) (`trace_system`), so the tracker, the compiled kernel
and arcs are the family's own (homotopies/parameter.py).

Sign flips.  Only one representative per sign-flip orbit is ever tracked.  With h(x) = Σ aᵢxᵢ²
(random, zero off the pattern) G is invariant under the flips, its fibre points come in orbits,
and φ = (λ, x₁², …, xₙ²) is invariant: within a neuron pattern every orbit has 2^(active
neurons) members, so the trace over the whole fibre is that constant times the trace over
representatives — no image is ever tracked.  (A linear h, as in HC.jl, breaks the symmetry and
makes every image a path of its own.)  G's solutions include every pattern's; a path that jumps
onto another pattern's curve is dropped (Family.in_pattern), else orbits of the wrong size spoil
the sum (measured on (2,2,1): 188 points for msolve's 144 until they were).

Finding the witnesses.  They are not known in advance; typically e ≈ 3–12 d (msolve's degree of
G on (2,2,1) m = 2: 160 = 16 + 144 witnesses, what the loops find).  A slice first sends its
solutions once around a loop of t (0 → t₁ → t₂ → 0): the pencil's monodromy mixes the two kinds
of fibre points.  Then, like monodromy itself (HC.jl runs a second monodromy here too), loops at
t = 0 through random (p, v, h) permute the witnesses among themselves — their incidence variety
is a vector bundle (the C part of p and the form h are free), so irreducible — while the
solutions stay on λ = 0.  Loops go a quarter of the way to a random point (shorter arcs; the
radius doubles on every round without a new witness).

What it proves.  A pattern whose trace test passes has every solution of its component — the
closure of its solutions with all active weights non-zero, seeded from one such point — unless
rounding or an unlucky random choice (v, h, γ: measure zero) conspires.  A component no pattern
seeds (its points having a zero weight inside an active neuron) is outside its reach, as it is
outside monodromy's; msolve has not met one.  The cost is the witnesses': on (1,2,2,2) m = 1 the
loops carry 4,576 witnesses beside 384 solutions in the largest pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ...common.newton import newton
from ...common.points import SAME_POINT_TOL, match_points, unique_points
from ...common.symmetry import closure, representatives
from ...model.loss import data_operator, random_form
from ...model.problem import Problem
from ...model.sparse import ParametricSystem
from .family import ARC_END, PATTERN_ZERO, DataPoint, Family, complex_normal, term_tables
from .homotopies.parameter import ParameterHomotopy, SliceArcs
from .precision import refine_extended_system, track_extended
from .records import DERIVED
from .tracker import REACHED_END, Tracker, TrackerOptions, make_steps

# The test passes when the relative deviation is at most max(TRACE_TOL, ROUNDING_MARGIN ×
# rounding), the rounding being what the fibre points' accuracies allow.  Why so tight: on
# (2,2,2,2) m = 2 (a pattern of 12,352 solutions and 123,392 witnesses) three missing orbits
# (48 solutions) moved the trace by only 2.8e-11 — 4.1× its rounding of 6.9e-12 — and passed
# the former max(1e-10, 10 × rounding): a wrong count reported as proven.  Complete sets of the
# same run read at ≤ 1.3× their rounding (sharpened to SHARPEN_GOAL where the points allow).
TRACE_TOL = 1e-12
ROUNDING_MARGIN = 3.0
SHARPEN_GOAL = 1e-12  # `sharpen` refines points until the rest of the fibre's rounding is below this
MAX_TRACE_TOL = 1e-7  # a tolerance the rounding would push above this makes the test inconclusive
MAX_EXTENDED_POINTS = 4000  # fibre points per evaluation refined in extended precision, at most (~5 ms each)
MAX_EXTENDED_PATHS = 8  # paths per leg tracked in extended precision when double precision lost them
# A deviation above the tolerance but below this is read again with every fibre point (up to
# MAX_EXTENDED_POINTS) refined in extended precision: the Newton accuracies the rounding bound
# sums can understate an ill-conditioned point's error ((2,3,3,2) m=1: one pattern stuck at
# 1.4e-10 against 1e-10 for 71 loops while its eleven sibling patterns passed at ≤ 3e-14).
# Removing an orbit moved the trace by > 1e-7 in every test, so the band costs little.
NEAR_MISS = 1e-7
EXTENDED_LADDER = (128, 256, 512)  # bits tried in turn for the points that did not converge
EXTENDED_STEP = 1e-25  # relative last step below which an extended-precision refinement converged
EXTENDED_ACCURACY = 2.3e-16  # a converged point's error: its rounding to double, relative
NEWTON_ACCURACY = 1e-8  # relative Newton step (at its best iterate) below which a slice point is taken
# a step between NEWTON_ACCURACY and this is Newton stalled on rounding (a large or ill-conditioned
# point: |x| ~ 150, cond ~ 1e10 on (2,2,2,2) m = 3 stalls at 1e-8–3e-9), not a lost path: extended
# precision decides — in double, that one witness was NaN at t = 0 in every evaluation, and the pattern
# ended on the heuristic ("1 path(s) lost on the trace arcs")
ROUNDING_STALL = 1e-5
LAMBDA_ZERO = 1e-8  # |λ| below this (relative to the point) marks a fibre point as a solution
NOISE_FLOOR = 1e-7  # TrackerOptions.noise_floor on slice arcs (see there)
FRESH_WITNESS_LOOPS = 8  # a round gives each slice ≥ this many (witness, fresh loop) pairs
# Newton on fibre points in chunks of this many: its Jacobians are (points, n + 1, n + 1) complex, and
# the (3,3,3) m = 3 proof refined ~1.6·10⁵ points at once (peak 11.4 GiB; 20 k points ≈ 0.1 GiB each)
REFINE_CHUNK = 20_000
# witness loops go a quarter of the way towards random (p, v, h): shorter arcs (≈ 14 steps
# instead of ≈ 35 on (1,2,2,2)) mix a little less per loop but cost half the steps in all
LOOP_RADIUS = 0.25
DIRECTION_BLOCKS = "TC"  # the blocks of p the line p₀ + λv moves (module docstring, "The curve")


@dataclass(frozen=True)
class TraceSystem:
    """G(x, λ; q) as a sparse system linear in q = (p, v, a, b, t): the gradient's terms with
    coefficients from p, the same terms times λ with coefficients from v, then the pencil
    (Σ aᵢ xᵢ² + b) λ + t as equation n.  Variable n is λ."""

    exponents: np.ndarray  # (terms, n + 1) int64
    equation: np.ndarray  # (terms,) int64
    coefficient_map: np.ndarray  # (terms, 2k + n + 2): coefficients = coefficient_map @ q
    k: int  # parameters of the gradient family
    moving: np.ndarray  # (k,) bool: the slots of p that a direction v may move (the others of v are ignored)

    def parameters(self, p: np.ndarray, v: np.ndarray, a: np.ndarray, t: complex = 0.0) -> np.ndarray:
        """q for the line p + λv, the pencil (h_a − 1) λ + t."""
        return np.concatenate([p, v, a, [-1.0, t]]).astype(complex)

    def arc_coefficients(self, qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
        """(3, terms) along the arc qa → qb: c₀ + τ c₁ (τ = 1 at qa, −1 at qb; no τ² term)."""
        c0 = self.coefficient_map @ (0.5 * (qa + qb))
        c1 = self.coefficient_map @ (0.5 * (qa - qb))
        return np.stack([c0, c1, np.zeros_like(c0)])

    def network_arcs(self, family: Family, arcs: list[tuple[np.ndarray, np.ndarray]]) -> SliceArcs | None:
        """The same arcs as the network's data, for the compiled evaluation by matrix products:
        q = (p, v, a, b, t) split into S, T, C of p and of v (v's fixed slots zeroed, as the
        λ-copy of the terms has them) and the pencil's (a, b, t); c₀ + τ c₁ each.  None for a
        loss other than the square one (that evaluation knows S only)."""
        if family.operator != "S":
            return None
        w = family.problem.widths
        d0, dH, n, k = w[0], w[-1], family.problem.n, self.k
        halves = np.array([[0.5 * (qa + qb), 0.5 * (qa - qb)] for qa, qb in arcs])  # (arcs, 2, len q)
        p, v = halves[:, :, :k], halves[:, :, k : 2 * k] * self.moving
        blocks = [(0, d0 * d0, (d0, d0)), (d0 * d0, d0 * d0 + dH * d0, (dH, d0)), (d0 * d0 + dH * d0, k, (n,))]
        stacks = [
            np.concatenate([p[:, :, lo:hi], v[:, :, lo:hi]], axis=1).reshape(len(arcs), 4, *shape)
            for lo, hi, shape in blocks
        ]
        return SliceArcs(
            widths=np.asarray(w, dtype=np.int64),
            residual_layers=family.residual_layers(),
            s_poly=stacks[0],
            t_poly=stacks[1],
            c_poly=stacks[2],
            pencil_poly=halves[:, :, 2 * k :],
        )


def trace_system(system: ParametricSystem, moving: np.ndarray | None = None) -> TraceSystem:
    """The slice system G of the gradient family `system` (module docstring).  `moving` masks
    the parameter slots a direction v may use (default all): the λ-copy keeps only the terms
    that depend on them (with v in the (T, C) slots, not the many top-degree S terms)."""
    E = system.exponents
    T, k = system.coefficient_map.shape
    n = E.shape[1]
    moving = np.ones(k, dtype=bool) if moving is None else moving
    kept = np.flatnonzero(np.any(system.coefficient_map[:, moving] != 0, axis=1))
    L = kept.size
    pencil = np.zeros((n + 2, n + 1), np.int64)
    pencil[np.arange(n), np.arange(n)] = 2  # aᵢ xᵢ² λ
    pencil[: n + 1, n] = 1  # … b λ; the last row, all zero, is the constant t
    cmap = np.zeros((T + L + n + 2, 2 * k + n + 2))
    cmap[:T, :k] = system.coefficient_map
    cmap[T : T + L, k : 2 * k] = np.where(moving[None], system.coefficient_map[kept], 0.0)
    cmap[T + L :, 2 * k :] = np.eye(n + 2)
    exponents = np.concatenate(
        [np.hstack([E, np.zeros((T, 1), np.int64)]), np.hstack([E[kept], np.ones((L, 1), np.int64)]), pencil]
    )
    equation = np.concatenate([system.equation, system.equation[kept], np.full(n + 2, n)])
    return TraceSystem(
        exponents=exponents, equation=equation.astype(np.int64), coefficient_map=cmap, k=k, moving=moving.copy()
    )


def direction_slots(system: ParametricSystem, widths: tuple[int, ...]) -> np.ndarray:
    """The parameter slots of the directions v: T and C (S, or K, stays at the base point's)."""
    slots = np.ones(system.coefficient_map.shape[1], dtype=bool)
    slots[: system.operator_size] = False
    return slots


def random_parameters(family: Family, base: DataPoint, rng: np.random.Generator, blocks: str = "STC") -> np.ndarray:
    """A random point (S, T, C) of the linear family through the base point that keeps S's rank
    — S = X₀ M X₀ᵀ, T = N X₀ᵀ with X₀ the base data when m < d0, any S, T otherwise — with
    only the named blocks non-zero, each scaled like the base point's.  For another loss
    (family.py: X fixed) the family is K = s Mᵀ Q M with Q of the loss's structure, T = N Xᵀ."""
    if family.operator == "K":
        X0 = base.X
        S = data_operator(X0, random_form(family.problem.data_loss.kind, rng, *base.Y.shape), 1.0, base.Y.shape[0])
        T = complex_normal(rng, base.Y.shape) @ X0.T
    else:
        X0 = base.X if base.X.shape[1] < base.X.shape[0] else np.eye(base.X.shape[0])
        r = X0.shape[1]
        M = complex_normal(rng, (r, r))
        S, T = X0 @ (M + M.T) @ X0.T, complex_normal(rng, (base.Y.shape[0], r)) @ X0.T
    C = complex_normal(rng, base.C.shape)
    reference = family.system.split(family.parameters(base))

    def scaled(name: str, block: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if name not in blocks:
            return np.zeros_like(block)
        return block * (np.linalg.norm(ref) / max(np.linalg.norm(block), 1e-300))

    return family.system.parameter_vector(
        *(scaled(name, b, ref) for name, b, ref in zip("STC", (S, T, C), reference))
    ).astype(complex)


def gradient_problem(family: Family, p: np.ndarray) -> Problem:
    """∇L at the parameter vector p = (S or K, T, C) (for gradient and Hessian evaluation only)."""
    base = family.problem
    d0, dH = base.widths[0], base.widths[-1]
    operator, T, c = family.system.split(p)
    C = np.split(c, np.cumsum(base.group_sizes)[:-1])
    general = family.operator == "K"
    return Problem(
        widths=base.widths,
        residual=base.residual,
        S=np.zeros((d0, d0), dtype=p.dtype) if general else operator,
        T=T,
        X=np.zeros((d0, 0)),
        Y=np.zeros((dH, 0)),
        scale=base.scale,
        penalty=tuple(c.reshape(shape) for c, shape in zip(C, base.shapes)),
        regularization=base.regularization,
        data_loss=base.data_loss,
        K=operator if general else None,
    )


@dataclass(frozen=True)
class TraceOutcome:
    """One evaluation of the trace test on one pattern's slice."""

    deviation: float  # ‖tr φ(0) − 2 tr φ(γ/2) + tr φ(γ)‖ / Σ ‖φ‖ over the points; nan if not evaluated
    tolerance: float
    solutions: int  # orbit representatives on λ = 0
    witnesses: int  # orbit representatives on h = 1
    problem: str = ""  # why it could not be evaluated, else ""
    extended: int = 0  # fibre points refined in extended precision for this evaluation
    rounding: float = float("nan")  # the relative rounding of the deviation the points' accuracies allow

    @property
    def evaluated(self) -> bool:
        return not self.problem

    @property
    def passed(self) -> bool:
        return self.evaluated and self.deviation <= self.tolerance


@dataclass
class Slice:
    """One pattern's trace-test curve: the line p₀ + λv, the pencil, the witnesses found so far
    (representatives and all images) and the loops that carry them around."""

    active: np.ndarray  # coordinate mask of the pattern
    q0: np.ndarray  # the slice system's parameters at t = 0
    base: Problem  # ∇L at p₀
    direction: Problem  # ∇L's coefficients at v
    a: np.ndarray  # (n,) the pencil's form h = Σ aᵢ xᵢ², zero off the pattern
    gamma: complex  # the trace is read at t = 0, γ/2, γ
    t_scale: float  # typical |g| near the solutions: the size of loops in t
    signs: np.ndarray  # (g, n + 1) the pattern's sign flips (λ fixed)
    witness_reps: np.ndarray  # (w, n + 1)
    # every image of every witness: 2^(active neurons) × the representatives, so rebuilt from them
    # when a checkpoint is read rather than written ((3,3,3): GBs a minute otherwise)
    witness_known: np.ndarray = field(metadata={DERIVED: True})
    loops: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (q₁, q₂), t = 0
    carried: list[int] = field(default_factory=list)  # witnesses each loop has carried
    evaluated_at: tuple[int, int] = (-1, -1)  # (solutions, witnesses) at the last evaluation
    outcome: TraceOutcome | None = None
    stagnant: int = 0  # rounds in a row without a new witness
    # coordinates non-zero on the pattern's solutions, so on the curve's generic points: a
    # witness with one of them zero lies on another curve of G (reached by a path jump) — None: `active`
    support: np.ndarray | None = None

    def rederive(self) -> None:
        """Rebuild what a checkpoint does not keep (records.DERIVED)."""
        self.witness_known = closure(self.witness_reps, self.signs)

    def at(self, t: complex) -> np.ndarray:
        q = self.q0.copy()
        q[-1] = t
        return q

    @staticmethod
    def lift(x: np.ndarray) -> np.ndarray:
        """Solutions (k, n) as fibre points (x, λ = 0)."""
        return np.concatenate([x, np.zeros((x.shape[0], 1), dtype=complex)], axis=1)

    def evaluate(self, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """G and its Jacobian at points y = (x, λ) (N, n + 1), per-point t (batched products
        of small matrices, model.problem; NumPy broadcasting only, so it runs unchanged on
        object arrays of acb balls for the extended-precision refinement)."""
        x, lam = y[:, :-1], y[:, -1]
        n = x.shape[1]
        Fb, Hb = self.base.gradient_and_hessian(x)
        Fv, Hv = self.direction.gradient_and_hessian(x)
        h = (x * x) @ self.a
        values = np.empty_like(y)
        values[:, :n] = Fb + lam[:, None] * Fv
        values[:, n] = (h - 1.0) * lam + t
        jac = np.empty((y.shape[0], n + 1, n + 1), dtype=object if y.dtype == object else complex)
        jac[:, :n, :n] = Hb + lam[:, None, None] * Hv
        jac[:, :n, n] = Fv
        jac[:, n, :n] = 2.0 * self.a[None] * x * lam[:, None]
        jac[:, n, n] = h - 1.0
        return values, jac

    def refine(self, y: np.ndarray, t: complex, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Newton on G(·; t), each point keeping its best iterate: the points and the size of
        their last step relative to them (∞ where Newton failed) — large points (|y| ~ 10³)
        stall at rounding well above 1e-12, so the step is kept as the point's accuracy."""
        if y.shape[0] == 0:
            return y, np.zeros(0)
        points, steps = np.empty_like(y), np.empty(y.shape[0])
        for lo in range(0, y.shape[0], REFINE_CHUNK):  # each point's Newton is its own: chunks change nothing
            block = y[lo : lo + REFINE_CHUNK]
            tt = np.full(block.shape[0], t, dtype=complex)
            with np.errstate(all="ignore"):
                result = newton(lambda z, tt=tt: self.evaluate(z, tt), block, iterations, keep_best=True)
            points[lo : lo + block.shape[0]] = result.points
            steps[lo : lo + block.shape[0]] = np.where(np.isfinite(result.points).all(axis=1), result.step, np.inf)
        return points, steps

    def refine_extended(self, y: np.ndarray, t: complex) -> tuple[np.ndarray, np.ndarray]:
        """Newton on G(·; t) in extended precision (precision.py), up the EXTENDED_LADDER for
        the points that have not converged: the points (rounded to double) and which converged.
        For the few points double precision cannot settle — large (|y| ~ 10²–10⁶) or
        ill-conditioned ones, whose Newton steps stall at rounding near NEWTON_ACCURACY."""
        points, ok = y.copy(), np.zeros(y.shape[0], dtype=bool)
        rows = np.arange(y.shape[0])
        for bits in EXTENDED_LADDER:  # large points (|y| ~ 10⁶) cancel more digits than 128 bits hold
            if rows.size == 0:
                break
            result = refine_extended_system(
                lambda z: self.evaluate(z, np.full(z.shape[0], t, dtype=complex)), y[rows], iterations=8, bits=bits
            )
            done = result.step <= EXTENDED_STEP
            points[rows[done]], ok[rows[done]] = result.points[done], True
            rows = rows[~done]
        return points, ok

    def settle(self, y: np.ndarray, t: complex) -> tuple[np.ndarray, np.ndarray]:
        """Newton on G(·; t) (`refine`), then extended precision (`refine_extended`) for the
        points whose double-precision step stalled on rounding — between NEWTON_ACCURACY and
        ROUNDING_STALL, at most MAX_EXTENDED_POINTS of them: the points (NaN where lost) and
        each one's absolute accuracy as (|δλ|, |δx|) (`point_errors`).

        Why the witness loops use it too: a witness whose double Newton stalls on rounding (large
        |λ| near a pole of the pencil, or an ill-conditioned point) is a genuine point, as it is
        on the fibres; dropped as lost it could only be found again by another loop."""
        points, step = self.refine(y, t)
        error = (step * np.maximum(1.0, np.abs(points).max(axis=1, initial=0.0)))[:, None] * np.ones(2)
        stalled = np.flatnonzero((step > NEWTON_ACCURACY) & (step <= ROUNDING_STALL))[:MAX_EXTENDED_POINTS]
        better, ok = self.refine_extended(points[stalled], t)
        points[stalled[ok]] = better[ok]
        error[stalled[ok]] = extended_accuracy(better[ok])
        step[stalled] = np.where(ok, 0.0, np.inf)
        points[~(step <= NEWTON_ACCURACY)] = np.nan
        return points, error

    def on_solutions(self, y: np.ndarray) -> np.ndarray:
        """Which fibre points at t = 0 lie on λ = 0 (solutions) rather than on h = 1."""
        return np.abs(y[:, -1]) <= LAMBDA_ZERO * np.maximum(1.0, np.abs(y[:, :-1]).max(axis=1))

    def generic(self, y: np.ndarray) -> np.ndarray:
        """Which fibre points (x, λ) have every `support` coordinate non-zero, as the curve's
        witnesses do (a coordinate vanishes at finitely many points of the curve, which a
        random h misses)."""
        support = self.active if self.support is None else self.support
        scale = np.maximum(1.0, np.abs(y[:, :-1]).max(axis=1))
        return np.all(np.abs(y[:, :-1][:, support]) > PATTERN_ZERO * scale[:, None], axis=1)

    def add_witnesses(self, y: np.ndarray) -> int:
        """New witnesses among refined points at t = 0, with their orbits; how many orbits."""
        y = y[self.generic(y)]
        if y.shape[0]:
            y = y[match_points(y, self.witness_known, SAME_POINT_TOL) < 0]
        if y.shape[0] == 0:
            return 0
        distinct = y[unique_points(y, SAME_POINT_TOL)[0]]
        reps = distinct[representatives(distinct, self.signs)]
        self.witness_known = np.concatenate([self.witness_known, closure(reps, self.signs)])
        self.witness_reps = np.concatenate([self.witness_reps, reps])
        return int(reps.shape[0])


def extended_accuracy(y: np.ndarray) -> np.ndarray:
    """(N, 2) the absolute accuracy (|δλ|, |δx|, as point_errors) of points refined in extended
    precision: their rounding to double."""
    return EXTENDED_ACCURACY * np.stack(
        [np.maximum(1.0, np.abs(y[:, -1])), np.maximum(1.0, np.abs(y[:, :-1]).max(axis=1, initial=0.0))], axis=1
    )


def trace_values(y: np.ndarray) -> np.ndarray:
    """φ(y) = (λ, x₁², …, xₙ²): invariant under the sign flips and O(|g|) at infinity."""
    return np.concatenate([y[:, -1:], y[:, :-1] ** 2], axis=1)


def block_sizes(points: list[np.ndarray]) -> np.ndarray:
    """Σ |λ| and Σ ‖x²‖ over the fibre points: the scales of the trace's two blocks, each
    deviation relative to its own (`trace_deviation`)."""
    return np.maximum(
        [
            sum(float(np.abs(y[:, -1]).sum()) for y in points),
            sum(float(np.linalg.norm(y[:, :-1] ** 2, axis=1).sum()) for y in points),
        ],
        1e-300,
    )


def point_errors(error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fibre point's absolute inaccuracy as (|δλ|, |δx|): an (N, 2) array holds both, a 1-D
    one the same bound for both (Newton in double precision knows only the step's size)."""
    return (error, error) if error.ndim == 1 else (error[:, 0], error[:, 1])


def rounding_contributions(points: list[np.ndarray], errors: list[np.ndarray]) -> list[np.ndarray]:
    """Per fibre point, how much its inaccuracy (absolute) may move the second difference, as
    (N, 2) for the λ block and the x² block: |δλ|, and |δφ| ≤ (2‖x‖ + 1)|δx| for x² — ‖x‖
    without λ, which reaches 10⁶ on witnesses near the pencil's poles while x stays moderate;
    the second difference weighs t = γ/2 twice.

    Why the blocks get their own errors.  A point refined in extended precision is exact to its
    rounding to double, coordinate by coordinate: λ ~ 1e8 carries an error ~1e-8 but its x
    (~1) one ~1e-16.  One bound for both charged the x² block with λ's rounding and raised the
    tolerance to 1.3e-9 on (2,2,2,2) m = 2, where a missing orbit showed as 1.26e-9: a pass."""
    out = []
    for w, y, e in zip((1, 2, 1), points, errors):
        e_lambda, e_x = point_errors(e)
        out.append(w * np.stack([e_lambda, (2.0 * np.abs(y[:, :-1]).max(axis=1) + 1.0) * e_x], axis=1))
    return out


def trace_deviation(
    points: list[np.ndarray], errors: list[np.ndarray] | None = None, tolerance: float = TRACE_TOL
) -> tuple[float, float]:
    """The relative second difference of Σ φ over the fibre points at t = 0, γ/2, γ, and the
    relative rounding of that sum that the points' accuracies (absolute, per point: see
    `point_errors`) allow — for the block (λ, or x²) that is furthest from passing at
    `tolerance`.

    Why blocks.  Relative to Σ‖φ‖ of the whole fibre, which the λ of witnesses near the pencil's
    poles (10⁶) dominate, one missing orbit of moderate points moved the trace by ~1e-10 on
    (2,2,2,2) m = 2 — under a rounding-raised tolerance of 2e-10: a false pass, one orbit of 16
    short.  The second difference vanishes for a complete set in every coordinate, so each block
    is held to the tolerance relative to its own scale."""
    sums = [trace_values(y).sum(axis=0) for y in points]
    second = sums[0] - 2.0 * sums[1] + sums[2]
    sizes = block_sizes(points)
    deviations = np.array([abs(second[0]), float(np.linalg.norm(second[1:]))]) / sizes
    if errors is None:
        return float(deviations.max()), 0.0
    roundings = sum(c.sum(axis=0) for c in rounding_contributions(points, errors)) / sizes
    worst = int(np.argmax(deviations / np.maximum(tolerance, ROUNDING_MARGIN * roundings)))
    return float(deviations[worst]), float(roundings[worst])


@dataclass(frozen=True)
class Fibres:
    """One slice's fibre points at t = 0, γ/2, γ (the arrays are filled in place when sharpened)."""

    points: list[np.ndarray]  # three (d + e, n + 1) arrays, path by path
    accuracy: list[np.ndarray]  # each point's absolute accuracy (Newton's last step, or its rounding)
    problem: str  # why the trace cannot be read from them (paths lost), else ""


class TraceTest:
    """The trace test for every pattern of one monodromy run: opens a slice per pattern, grows
    its witnesses by loops, and evaluates the trace (all slices batched in one tracker call per
    arc, like the monodromy loops)."""

    def __init__(
        self,
        family: Family,
        signs: np.ndarray,
        rng: np.random.Generator,
        tracker_options: TrackerOptions,
        loop_options: TrackerOptions,
        tolerance: float = TRACE_TOL,
        kernel: str = "auto",
    ) -> None:
        self.family = family
        self.signs = signs
        self.rng = rng
        self.system = trace_system(family.system, direction_slots(family.system, family.problem.widths))
        self.tables = term_tables(self.system.exponents)
        # large fibre points (|y| ~ 10²) stall on rounding in the strict contraction test
        self.tracker_options = replace(tracker_options, noise_floor=NOISE_FLOOR)
        self.loop_options = replace(loop_options, noise_floor=NOISE_FLOOR)
        self.tolerance = tolerance
        self.kernel = kernel
        self.path_steps = 0
        self.arcs_tracked = 0
        self.evaluations = 0
        self.check: Callable[[], None] | None = None  # called before every step; may raise to stop

    def counters(self) -> dict[str, float]:
        """The work done so far, for a checkpoint (checkpoint.py)."""
        return {
            "trace_path_steps": self.path_steps,
            "trace_arcs_tracked": self.arcs_tracked,
            "trace_evaluations": self.evaluations,
        }

    def restore_counters(self, counters: dict[str, float]) -> None:
        self.path_steps = int(counters.get("trace_path_steps", 0))
        self.arcs_tracked = int(counters.get("trace_arcs_tracked", 0))
        self.evaluations = int(counters.get("trace_evaluations", 0))

    def open(self, active: np.ndarray, base: DataPoint, base_problem: Problem, solutions: np.ndarray) -> Slice:
        """A pattern's slice: v random in the (T, C) directions of the rank-keeping linear
        family, h random on the pattern's coordinates (scaled so that h ~ 1 on the known
        solutions), γ of the size of g near them."""
        fam, rng, n = self.family, self.rng, self.family.problem.n
        p0 = fam.parameters(base)
        v = random_parameters(fam, base, rng, DIRECTION_BLOCKS)
        # the mean, not the median: h stays well below 1 on most solutions, so no solution sits
        # near h = 1, where a solution and a witness meet (measured on (2,2,2,2) m = 2, solver
        # seed 7: the median took the large pattern 43 rounds and 24.6 M trace steps, the mean
        # 23 and 8.9 M)
        size = float(np.mean(np.abs(solutions[:, active]) ** 2)) if active.any() else 1.0
        scale = np.maximum(1.0, np.abs(solutions).max(axis=1))
        a = np.where(active, complex_normal(rng, (n,)), 0.0) / (max(1, int(active.sum())) ** 0.5 * size)
        t_scale = float(np.median(np.abs((solutions * solutions) @ a - 1.0)))
        pattern_signs = np.unique(np.where(active[None], self.signs, 1.0), axis=0)
        none = np.zeros((0, n + 1), dtype=complex)
        return Slice(
            active=active,
            q0=self.system.parameters(p0, v, a),
            base=base_problem,
            direction=gradient_problem(fam, v),
            a=a,
            gamma=t_scale * np.exp(2j * np.pi * rng.random()),
            t_scale=t_scale,
            signs=np.concatenate([pattern_signs, np.ones((pattern_signs.shape[0], 1))], axis=1),
            witness_reps=none,
            witness_known=none,
            support=active & (np.mean(np.abs(solutions) > PATTERN_ZERO * scale[:, None], axis=0) > 0.5),
        )

    def carry(self, old: Slice, new: Slice) -> int:
        """Carry `old`'s witnesses to `new`, a fresh slice at the same base point, along one
        arc at t = 0 (p₀ fixed, the line and the form moving: the witnesses' incidence variety,
        so each one arrives at a witness of `new`); returns how many orbits arrived.

        Why.  A fresh slice is opened when its predecessor's trace fails with nothing new
        turning up, and growing its witnesses from nothing repeats the whole of the first
        slice's loops: on (2,2,2,2) m = 2, data seed 7, solver seed 7 (whose base point could
        not move), 34 s for the 7,557 of 7,724 witness orbits that the loops find fast, then
        ~60 s for the rest.  Carried, 7,679 arrived in one arc (the rest on the next rounds'
        loops) and the solve took 235 s instead of 300 s.  What the old slice missed is missing
        on the new one too (a bijection of generic fibres), and the loops there look for it as
        before; a lost path costs only that witness, which the loops can find again."""
        if old.witness_reps.shape[0] == 0:
            return 0
        start, arc = old.witness_reps, [(old.q0, new.q0)]
        route = np.zeros(start.shape[0], dtype=np.int64)
        y, ok = self.track(start, arc, route, self.tracker_options)
        lost = np.flatnonzero(~ok)  # once more with tighter steps, as on the fibres (43 of 7,722 there)
        y[lost], ok[lost] = self.track(start[lost], arc, route[lost], self.tracker_options.tighter(3.0))
        points, _ = new.settle(y[ok], 0.0)
        points = points[np.isfinite(points).all(axis=1)]
        points = points[self.family.in_pattern(points[:, :-1], new.active)]
        return new.add_witnesses(points[~new.on_solutions(points)])

    def random_loop_point(self, s: Slice, base: DataPoint) -> np.ndarray:
        """A random q at t = 0: part of the way to another line (p, v) of the linear family and
        another form h — LOOP_RADIUS, doubled for every round in a row without a new witness."""
        p = random_parameters(self.family, base, self.rng)
        v = random_parameters(self.family, base, self.rng, DIRECTION_BLOCKS)
        scale = float(np.sqrt(np.mean(np.abs(s.a[s.active]) ** 2))) if s.active.any() else 1.0
        a = np.where(s.active, complex_normal(self.rng, s.a.shape), 0.0) * scale
        r = min(1.0, LOOP_RADIUS * 2.0**s.stagnant)
        return (1 - r) * s.q0 + r * self.system.parameters(p, v, a)

    def round(self, slices: list[Slice], bases: list[DataPoint], solutions: list[np.ndarray]) -> list[np.ndarray]:
        """One round of witness loops for every slice; returns, per slice, the points on λ = 0
        the loops ended at (solutions, unverified, full coordinates).

        A slice without witnesses sends its solutions once around a loop of t (0 → t₁ → t₂ →
        0): the pencil's monodromy mixes the two kinds of fibre points.  A slice with witnesses
        gets fresh loops at t = 0 through random (p, v, h) — there the solutions stay on λ = 0
        and the witnesses are permuted among themselves (their incidence variety is a vector
        bundle, so irreducible) — and every witness is carried through every loop it has not
        been through."""
        starts, job_of_path, jobs = [], [], []
        carried: list[tuple[Slice, int, int]] = []  # marked carried once the tracking is done (a stop may come first)
        for si, (s, base, x) in enumerate(zip(slices, bases, solutions)):
            if s.witness_reps.shape[0] == 0:
                t1, t2 = s.t_scale * complex_normal(self.rng, (2,))
                pending = Slice.lift(x)
                job_of_path.append(np.full(pending.shape[0], len(jobs)))
                starts.append(pending)
                jobs.append((si, (s.q0, s.at(t1), s.at(t2))))
                continue
            fresh = max(1, FRESH_WITNESS_LOOPS // max(1, s.witness_reps.shape[0]))
            for _ in range(fresh):
                s.loops.append((self.random_loop_point(s, base), self.random_loop_point(s, base)))
                s.carried.append(0)
            for li, (q1, q2) in enumerate(s.loops):
                pending = s.witness_reps[s.carried[li] :]
                carried.append((s, li, s.witness_reps.shape[0]))
                if pending.shape[0]:
                    job_of_path.append(np.full(pending.shape[0], len(jobs)))
                    starts.append(pending)
                    jobs.append((si, (s.q0, q1, q2)))
        if not jobs:
            return [np.zeros((0, self.family.problem.n), dtype=complex) for _ in slices]
        y = np.concatenate(starts)
        job = np.concatenate(job_of_path)
        alive = np.ones(y.shape[0], dtype=bool)
        for leg in range(3):
            arcs = [(loop[leg], loop[(leg + 1) % 3]) for _, loop in jobs]
            idx = np.flatnonzero(alive)
            y[idx], ok = self.track(y[idx], arcs, job[idx], self.loop_options)
            alive[idx[~ok]] = False
        for s, li, count in carried:
            s.carried[li] = count
        slice_of_path = np.array([si for si, _ in jobs])[job]
        found = []
        for si, s in enumerate(slices):
            points, _ = s.settle(y[alive & (slice_of_path == si)], 0.0)
            points = points[np.isfinite(points).all(axis=1)]
            # a path can jump onto another pattern's curve: those points belong to its own slice
            points = points[self.family.in_pattern(points[:, :-1], s.active)]
            on_solutions = s.on_solutions(points)
            s.stagnant = 0 if s.add_witnesses(points[~on_solutions]) else s.stagnant + 1
            found.append(points[on_solutions, :-1])
        return found

    def evaluate(self, slices: list[Slice], solutions: list[np.ndarray]) -> list[TraceOutcome]:
        """The trace test on every slice, from its fibres (`track_fibres`): the points that
        dominate the rounding bound are sharpened in extended precision first; a slice whose
        paths were lost, or whose bound stays above MAX_TRACE_TOL, is not evaluated and gets
        another γ for the next time."""
        self.evaluations += 1
        outcomes = []
        for s, x, fibre in zip(slices, solutions, self.track_fibres(slices, solutions)):
            deviation, tolerance, extended, problem, rounding = self.read(s, fibre)
            if problem:
                s.gamma = s.t_scale * np.exp(2j * np.pi * self.rng.random())  # another γ next time
                deviation = float("nan")
            else:
                s.evaluated_at = (int(x.shape[0]), int(s.witness_reps.shape[0]))
            s.outcome = TraceOutcome(
                deviation=deviation,
                tolerance=tolerance,
                solutions=int(x.shape[0]),
                witnesses=int(s.witness_reps.shape[0]),
                problem=problem,
                extended=extended,
                rounding=rounding,
            )
            outcomes.append(s.outcome)
        return outcomes

    def read(self, s: Slice, fibre: Fibres) -> tuple[float, float, int, str, float]:
        """One slice's trace from its fibres: (deviation, tolerance, points refined in extended
        precision, why it could not be read or "", the rounding the points allow).  Points that
        dominate the rounding bound are sharpened first; a deviation in the near-miss band (above the tolerance, at most
        NEAR_MISS) is read again with every point sharpened."""
        if fibre.problem:
            return float("nan"), self.tolerance, 0, fibre.problem, float("nan")
        extended = 0
        deviation, rounding = trace_deviation(fibre.points, fibre.accuracy, self.tolerance)
        if ROUNDING_MARGIN * rounding > self.tolerance:  # a few points spoil it: sharpen them
            extended = self.sharpen(s, fibre)
            deviation, rounding = trace_deviation(fibre.points, fibre.accuracy, self.tolerance)
        if max(self.tolerance, ROUNDING_MARGIN * rounding) < deviation <= NEAR_MISS:
            extended += self.sharpen(s, fibre, every=True)  # read again from exact points
            deviation, rounding = trace_deviation(fibre.points, fibre.accuracy, self.tolerance)
        tolerance = max(self.tolerance, ROUNDING_MARGIN * rounding)
        if tolerance > MAX_TRACE_TOL:
            why = f"the points are too inaccurate (rounding allows {rounding:.0e})"
            return deviation, tolerance, extended, why, rounding
        return deviation, tolerance, extended, "", rounding

    def track_fibres(self, slices: list[Slice], solutions: list[np.ndarray]) -> list[Fibres]:
        """Every slice's solutions (orbit representatives) and witnesses tracked t = 0 → γ/2 →
        γ (all slices in one tracker call per leg) and refined by Newton there; lost or colliding
        paths are tracked again with tighter steps, and if still lost the slice's fibres say so."""
        points = [np.concatenate([Slice.lift(x), s.witness_reps]) for s, x in zip(slices, solutions)]
        slice_of_path = np.concatenate([np.full(p.shape[0], i) for i, p in enumerate(points)])
        y = np.concatenate(points)
        error = np.zeros((y.shape[0], 2))  # |δλ|, |δx| per point (point_errors)
        problems = [""] * len(slices)
        self._refine_at(slices, slice_of_path, y, error, [0.0] * len(slices))
        series, errors = [y.copy()], [error.copy()]
        generic = self._generic(slices, slice_of_path, y)
        for leg in range(2):
            t_from = [0.5 * leg * s.gamma for s in slices]
            t_to = [0.5 * (leg + 1) * s.gamma for s in slices]
            arcs = [(s.at(a), s.at(b)) for s, a, b in zip(slices, t_from, t_to)]
            y_next, _ = self.track(y, arcs, slice_of_path, self.tracker_options)
            bad = self._refine_at(slices, slice_of_path, y_next, error, t_to, generic=generic)
            if bad.size:  # once more, with tighter steps
                y_next[bad], _ = self.track(y[bad], arcs, slice_of_path[bad], self.tracker_options.tighter(3.0))
                bad = self._refine_at(slices, slice_of_path, y_next, error, t_to, bad, generic)
            if bad.size:  # the few that double precision cannot follow: in extended precision
                self._track_extended(slices, slice_of_path, y, y_next, bad, t_from, t_to)
                bad = self._refine_at(slices, slice_of_path, y_next, error, t_to, bad, generic)
            for si in np.unique(slice_of_path[bad]):
                problems[si] = problems[si] or f"{int(np.sum(slice_of_path[bad] == si))} path(s) lost on the trace arcs"
            y = y_next
            series.append(y.copy())
            errors.append(error.copy())
        return [
            Fibres(
                points=[z[slice_of_path == si] for z in series],
                accuracy=[e[slice_of_path == si] for e in errors],
                problem=problems[si],
            )
            for si in range(len(slices))
        ]

    def _track_extended(
        self,
        slices: list[Slice],
        slice_of_path: np.ndarray,
        y: np.ndarray,
        y_next: np.ndarray,
        rows: np.ndarray,
        t_from: list[complex],
        t_to: list[complex],
    ) -> None:
        """Paths `rows` tracked again from y to y_next in extended precision (precision.
        track_extended), at most MAX_EXTENDED_PATHS of them: what stays NaN is lost.  Measured on
        (2,2,2,2) m = 3 at a generic Λ (the components benchmark): one witness of 123,584 with
        |x| ~ 1.6e3 and condition ~1e12 was lost at every γ in double precision, and the
        pattern ended on the heuristic."""
        unit = np.zeros(y.shape[1], dtype=complex)
        unit[-1] = 1.0  # ∂G/∂t: t enters the pencil's equation only
        for row in rows[:MAX_EXTENDED_PATHS]:
            si = int(slice_of_path[row])
            s = slices[si]
            with np.errstate(all="ignore"):
                y_next[row] = track_extended(s.evaluate, unit, y[row], t_from[si], t_to[si], check=self.check)
        y_next[rows[MAX_EXTENDED_PATHS:]] = np.nan

    @staticmethod
    def _generic(slices: list[Slice], slice_of_path: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per path, whether its point is generic on its slice's curve (`Slice.generic`)."""
        out = np.zeros(y.shape[0], dtype=bool)
        for si, s in enumerate(slices):
            rows = np.flatnonzero(slice_of_path == si)
            ok = np.isfinite(y[rows]).all(axis=1)
            out[rows[ok]] = s.generic(y[rows[ok]])
        return out

    def _jumped(self, slices: list[Slice], slice_of_path: np.ndarray, y: np.ndarray, generic: np.ndarray) -> np.ndarray:
        """Paths that started generic on their curve and ended at a point with a support
        coordinate zero: they jumped onto another curve of G, where no other path collides with
        them — measured on (2,2,2,2) m = 2: one such path out of 8,576 made a complete set fail
        at 1.8e-7, while another γ passed it at 5e-13."""
        now = self._generic(slices, slice_of_path, np.where(np.isfinite(y), y, 0.0))
        return np.flatnonzero(generic & ~now & np.isfinite(y).all(axis=1))

    def sharpen(self, s: Slice, fibre: Fibres, every: bool = False) -> int:
        """Refine in extended precision (precision.py) the fibre points whose inaccuracy
        dominates the rounding bound, in place, until the rest allows SHARPEN_GOAL (`every`: all
        of them, largest contributions first; at most MAX_EXTENDED_POINTS either way); how many
        were refined.

        Why: the bound sums every point's Newton accuracy, and on the frontier a few hundred
        large or ill-conditioned points of 10⁵ (accurate to ~1e-8 only) make it exceed
        MAX_TRACE_TOL — the trace, not the points, was then declared unreadable.  A refined
        point is exact to its rounding to double (EXTENDED_ACCURACY)."""
        fibres, accuracy = fibre.points, fibre.accuracy
        # each point's share of the relative bound, both blocks together
        flat = np.concatenate(rounding_contributions(fibres, accuracy)) @ (1.0 / block_sizes(fibres))
        order = np.argsort(-flat, kind="stable")
        left = flat.sum() - np.cumsum(flat[order])  # the bound after refining the first k + 1
        goal = SHARPEN_GOAL
        needed = flat.size if every else int(np.searchsorted(-left, -goal)) + 1
        count = min(needed, MAX_EXTENDED_POINTS, flat.size)
        chosen = order[:count]
        offsets = np.cumsum([0] + [y.shape[0] for y in fibres])
        refined = 0
        for j, t in enumerate((0.0, 0.5 * s.gamma, s.gamma)):
            rows = chosen[(chosen >= offsets[j]) & (chosen < offsets[j + 1])] - offsets[j]
            points, ok = s.refine_extended(fibres[j][rows], t)
            fibres[j][rows[ok]] = points[ok]
            accuracy[j][rows[ok]] = extended_accuracy(points[ok])
            refined += int(ok.sum())
        return refined

    def _refine_at(
        self,
        slices: list[Slice],
        slice_of_path: np.ndarray,
        y: np.ndarray,
        error: np.ndarray,
        t: list[complex],
        rows: np.ndarray | None = None,
        generic: np.ndarray | None = None,
    ) -> np.ndarray:
        """Newton at each slice's t on `rows` (default all), in place, with each point's absolute
        accuracy into `error`; returns the paths (of all rows of their slice) that did not
        converge or landed on an orbit another path reached — and, given the paths' `generic`
        at their start, those that jumped off their curve (`_jumped`)."""
        bad = []
        for si, s in enumerate(slices):
            mine = np.flatnonzero(slice_of_path == si)
            todo = mine if rows is None else np.intersect1d(mine, rows)
            if todo.size:
                # stalled on rounding, not lost: extended precision decides (module docstring)
                y[todo], error[todo] = s.settle(y[todo], t[si])
            ok = np.isfinite(y[mine]).all(axis=1)
            good = mine[ok]
            if good.size > 1:
                reps = representatives(y[good], s.signs)
                if reps.size < good.size:  # two paths on one orbit: one of them jumped
                    collided = np.setdiff1d(np.arange(good.size), reps)
                    ok[np.flatnonzero(ok)[collided]] = False
            bad.append(mine[~ok])
        lost = np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)
        return lost if generic is None else np.union1d(lost, self._jumped(slices, slice_of_path, y, generic))

    def track(
        self,
        y0: np.ndarray,
        arcs: list[tuple[np.ndarray, np.ndarray]],
        arc_of_path: np.ndarray,
        options: TrackerOptions,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints (NaN where lost) and an ok mask; path i runs along arcs[arc_of_path[i]]."""
        N = y0.shape[0]
        if N == 0:
            return y0.copy(), np.zeros(0, dtype=bool)
        used, local = np.unique(arc_of_path, return_inverse=True)
        coefficients = np.stack([self.system.arc_coefficients(*arcs[i]) for i in used])
        network = self.system.network_arcs(self.family, [arcs[i] for i in used])
        hom = ParameterHomotopy(self.system, self.tables, coefficients, local, network)
        tracker = Tracker(hom, options, make_steps(hom, self.kernel))
        state = tracker.track(y0, np.zeros(N, dtype=complex), np.full(N, ARC_END), check=self.check)
        self.path_steps += int(state.steps.sum())
        self.arcs_tracked += N
        ok = (state.status == REACHED_END) & np.isfinite(state.y).all(axis=1)
        return np.where(ok[:, None], state.y, np.nan), ok


__all__ = [
    "Fibres",
    "Slice",
    "TraceOutcome",
    "TraceSystem",
    "TraceTest",
    "block_sizes",
    "direction_slots",
    "extended_accuracy",
    "gradient_problem",
    "random_parameters",
    "trace_deviation",
    "trace_system",
    "trace_values",
]
