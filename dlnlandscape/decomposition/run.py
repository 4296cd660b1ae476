"""Positive-dimensional critical sets: dimension, degree and loss of every component found.

Without a generic regulariser the critical set of L is not finite (DOMAIN.md, "Symmetries"):
with Λ = 0 every hidden layer carries a GL(d_i) action, scalar L2 keeps an orthogonal one, and
residual layers keep a shifted GL action.  Counting points is then meaningless; what is
meaningful is the *numerical irreducible decomposition* of V(∇L) (Sommese & Wampler, *The
Numerical Solution of Systems of Polynomials*, 2005, ch. 13–15): for every irreducible
component its dimension k, its degree (how many points a generic codimension-k affine slice
cuts out — the *witness set*) and the loss, which is constant on it.

This module is the pipeline; each stage has its own module and essay:

1. *Seeds.*  Points on the positive-dimensional set (return code SINGULAR), on components but
   at no particular point: either the endpoints of a normal solve of ∇L = 0 (`pipeline.solve`
   with a linear-product start, optionally on a random sample of its paths: sampled_starts.py),
   or — `seeds="penalty"`, the default where the start system has more than SEED_PATHS paths —
   the critical points of a generic generalised penalty, found by monodromy and carried to the
   config's penalty (penalty_seeds.py).  The origin is added when it is critical: one path ends
   there, easily lost; so are critical points on the P = 0 set (zero_layers.py: random points
   with two layers zero, and random points carried onto {P = 0, ∇L = 0} by Gauss–Newton), the
   seeds of that set's components, which the other seeds reach only at the origin from three
   weight matrices on.
2. *Local dimension* of every singular seed, proposed by the Hessian's corank and tested by
   slicing (local_dimension.py, on the sliced system of slicing.py).
3. *Witness sets* by monodromy on one generic slice per dimension, each proven complete by the
   trace test; sets of one component that monodromy left apart are merged (witness.py).
4. *Membership* of the singular seeds no dimension test explained: the witness sets of
   components of their loss are moved to the slice through them (witness.py); likewise the
   tightened critical points built for AMG's Prop. 8 (tightened.py).
5. *Closed form.*  For Λ = 0 every component is matched against the known critical values
   (closed_form.py).

Nonsingular seeds are isolated critical points: components of dimension 0, degree 1.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..analysis.second_order import component_class
from ..common.linalg import numerical_rank
from ..common.points import SAME_POINT_TOL, match_points, real_mask, unique_points
from ..engines.base import Engine
from ..engines.native.start_systems import multihomogeneous_bezout
from ..errors import ConfigError
from ..model.config import Config
from ..model.problem import Problem
from ..pipeline import solve
from .closed_form import closed_form_values, match_closed_form
from .local_dimension import local_dimensions
from .options import ComponentOptions
from .penalty_seeds import PenaltyHomotopyEngine
from .real_points import balance, component_real_class, rank_minima
from .result import Component, Decomposition
from .sampled_starts import SampledStartsEngine
from .slicing import Slicing, balanced_size, critical_residual
from .tightened import tightened_points
from .witness import WitnessSet, contains, witness_sets
from .zero_layers import PROJECTED_SEEDS_PER_LAYER, projected_seeds, zero_layer_seeds

# witness points this far beyond the slice's size, or losses this far beyond L(0), are at infinity
AT_INFINITY = 1e8
SEEDS = ("auto", "penalty", "start_system")
# seeds="auto": a linear-product start up to this many paths ((2,2,2): 1,921, ~6 s), the generic
# penalty's monodromy beyond ((1,2,2,1): 20,001; (3,2,3): 127,905; (2,2,2,2): 16.6 million)
SEED_PATHS = 10_000


def decompose(
    config: Config,
    options: ComponentOptions | None = None,
    engine: Engine | None = None,
    seed: int | None = None,
    sample_paths: int | None = None,
    seeds: str = "auto",
) -> Decomposition:
    """Solve the config's gradient system, then decompose the critical set the endpoints lie on.
    `sample_paths`: track only that many randomly chosen start paths (`SampledStartsEngine`);
    `seeds`: where the seeds come from (module docstring, step 1; SEEDS)."""
    if config.regularization == "generalized":
        raise ConfigError(
            config.source,
            "regularization.kind",
            "generalized Λ leaves only isolated critical points (no positive-dimensional components); "
            "use dln solve, or kind: none / l2",
        )
    if config.solver.backend == "exact":
        raise ConfigError(
            config.source, "solver.backend", "exact (msolve) needs isolated solutions; use native or auto"
        )
    if seeds not in SEEDS:
        raise ConfigError(config.source, "--seeds", f"got {seeds!r}; choose one of {', '.join(SEEDS)}")
    if seeds == "penalty" and sample_paths is not None:
        raise ConfigError(config.source, "--sample-paths", "samples start paths; with --seeds penalty there are none")
    if engine is None and _penalty_seeds(config, seeds, sample_paths):
        engine = PenaltyHomotopyEngine(options=options)
    if sample_paths is not None and engine is None:
        engine = SampledStartsEngine(sample_paths)
    began = time.perf_counter()
    run = solve(config, engine=engine)
    solve_seconds = time.perf_counter() - began
    result = decompose_points(
        run.problem,
        run.points.solutions,
        run.points.singular,
        options,
        seed=int(config.solver.seed) if seed is None else seed,
        name=config.name,
        regularization=config.regularization,
    )
    notes = list(result.notes)
    info = run.result.backend_info()
    if "generic_count_proven" in info:  # seeds from a generic penalty (penalty_seeds.py)
        counts = run.result.paths.counts()
        notes.append(
            f"seeds: {run.result.start_system}; {counts.get('singular', 0) + counts.get('success', 0)} reached a "
            f"critical point, {counts.get('at_infinity', 0)} went to infinity, {counts.get('failed', 0)} did not "
            "end at one (stopped early, or rejected by Newton)"
        )
        if not info["generic_count_proven"]:
            notes.append("the generic penalty's count is not proven: seeds (and so components) may be missing")
            result = replace(result, seeds_proven=False)
    if "sampled_paths" in info and info["sampled_paths"] < info["start_solutions"]:
        notes.append(
            f"the initial solve tracked a random {info['sampled_paths']:,} of {info['start_solutions']:,} start "
            "paths: a component with few endpoints may have none among them"
        )
    return replace(
        result,
        solve_counts=run.result.paths.counts(),
        run=run,
        notes=notes,
        seconds={"solve": solve_seconds, **result.seconds, "total": time.perf_counter() - began},
    )


def _penalty_seeds(config: Config, seeds: str, sample_paths: int | None) -> bool:
    """Whether the seeds come from a generic penalty (penalty_seeds.py): asked for, or `auto`
    with no sampling, the engine's own start and more than SEED_PATHS linear-product paths."""
    if seeds != "auto":
        return seeds == "penalty"
    if sample_paths is not None or config.solver.start != "auto" or config.solver.backend not in ("auto", "native"):
        return False
    problem = Problem.from_config(config)
    return multihomogeneous_bezout(problem.multidegrees, np.array(problem.group_sizes)) > SEED_PATHS


def decompose_points(
    problem: Problem,
    seeds: np.ndarray,
    singular: np.ndarray,
    options: ComponentOptions | None = None,
    *,
    seed: int = 0,
    name: str = "",
    regularization: str = "",
) -> Decomposition:
    """The components through the given critical points (`singular`: Hessian singular there;
    nonsingular points are isolated, dimension 0).  `seed` seeds every random choice (slices,
    kernel directions, loops)."""
    options = options or ComponentOptions()
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    seconds: dict[str, float] = {}
    seeds, singular = _with_origin(problem, np.asarray(seeds, dtype=complex), np.asarray(singular, dtype=bool))
    seeds, singular, on_zero_set = _with_zero_set(problem, seeds, singular, rng, options)
    # with Λ = 0 every seed is moved along its components to a balanced point (real_points.balance):
    # far-out seeds (residual (2,2,2): norm 400–10⁴) fail the dimension test, miss the witness
    # slice and, through the slice's size (the seeds' median), spoil the slice for all the others
    seeds = balance(problem, seeds)
    slicings: dict[int, Slicing] = {}
    dims = np.zeros(len(seeds), dtype=np.int64)
    generic = np.full_like(seeds, np.nan, dtype=complex)
    sing = np.flatnonzero(singular)
    if sing.size:
        tested = local_dimensions(problem, seeds[sing], slicings, options, rng)
        dims[sing], generic[sing], slicings = tested.dimensions, tested.generic, tested.slicings
    seconds["local_dimension"] = time.perf_counter() - began

    clock = time.perf_counter()
    components: list[Component] = []
    rejected: list[str] = []
    lost: list[np.ndarray] = []  # seeds that did not arrive on their witness slice
    seed_loss = problem.loss(seeds) if len(seeds) else np.zeros(0, dtype=complex)
    origin_loss = float(abs(problem.loss(np.zeros((1, problem.n), dtype=complex))[0]))
    for k in sorted(slicings):
        members = np.flatnonzero(dims == k)
        if members.size == 0:
            continue
        z = generic[members]
        # A x = b₀ with b₀ small beside the points' own size: measured on (3,2,3), the witness
        # points are then moderate and well conditioned (GL orbits are not compact: slices far
        # out meet them in large, unbalanced points, and the paths between them are hard)
        size = max(float(np.median(balanced_size(problem, z))), 1e-3)
        sl = slicings[k] = replace(slicings[k], b0=slicings[k].b0 * size * options.slice_offset, size=size)
        sets, arrived = witness_sets(problem, sl, z, options, rng)
        lost.append(members[~arrived])
        for ws in sets:
            reason = _not_a_component(problem, ws, sl, origin_loss, options)
            if reason:
                rejected.append(f"dimension {k}, degree {ws.points.shape[0]}, {ws.seeds.size} seed(s): {reason}")
                continue
            landed = members[ws.seeds]
            components.append(_component(problem, k, ws, seeds[landed], seed_loss[landed], sl))
    seconds["witness_sets"] = time.perf_counter() - clock

    # singular seeds no dimension test explained, and seeds that did not reach their witness slice
    # (a component whose only seeds were lost would be missing): (special) points of a component found?
    lost_seeds = np.concatenate([np.zeros(0, dtype=np.int64), *lost])
    unexplained = np.union1d(np.flatnonzero((dims == 0) & singular), lost_seeds)
    if unexplained.size:
        clock = time.perf_counter()
        on = _membership(problem, components, seeds[unexplained], options)
        for c_index in np.unique(on[on >= 0]):
            c = components[c_index]
            hit = unexplained[on == c_index]
            components[c_index] = replace(
                c,
                seeds=c.seeds + hit.size,
                real_seeds=c.real_seeds + int(np.sum(real_mask(seeds[hit]))),
                seed_loss_spread=max(c.seed_loss_spread, float(np.abs(seed_loss[hit] - c.loss).max())),
            )
        unexplained = unexplained[on < 0]
        seconds["membership"] = time.perf_counter() - clock
    for i in np.flatnonzero((dims == 0) & ~singular):
        point = WitnessSet(seeds[i : i + 1], 0, None, 0.0, np.array([i]))
        components.append(_component(problem, 0, point, seeds[i : i + 1], seed_loss[i : i + 1], None))
    components.sort(key=lambda c: (-c.dimension, c.loss.real, c.loss.imag))
    clock = time.perf_counter()
    real = rank_minima(
        [component_real_class(problem, c.dimension, c.witness_points, c.slicing, options, rng) for c in components]
    )
    components = [replace(c, real_class=r) for c, r in zip(components, real)]
    seconds["real_points"] = time.perf_counter() - clock

    clock = time.perf_counter()
    general = [(c.second_order or {}).get("class") for c in components]
    tightened = tightened_points(problem, general, lambda x: _membership(problem, components, x, options), rng)
    if tightened:
        seconds["tightened"] = time.perf_counter() - clock

    closed = closed_form_values(problem)
    notes = []
    if on_zero_set:
        notes.append(
            f"seeds on the P = 0 set: {on_zero_set} critical points — random ones with two layers zero, and "
            "random points carried onto {P = 0, ∇L = 0} by Gauss–Newton (zero_layers.py); a component of that "
            "set that contains no whole {W_i = W_j = 0} and attracts no projection has no seed"
        )
    if closed is not None:
        matches = match_closed_form(np.array([c.loss for c in components]), closed)
        components = [replace(c, closed_form=match) for c, match in zip(components, matches)]
        missing = [v for v in closed if not v["found"]]
        if missing:
            notes.append(
                f"{len(missing)} closed-form critical value(s) have no component: the initial solve left no "
                "endpoint on them (a cascade or more start systems would be needed)"
            )
    elif regularization == "none":
        needs = "the square loss, " if not problem.data_loss.square else ""
        notes.append(f"no closed-form check: it needs {needs}non-residual layers and X Xᵀ invertible")
    if rejected:
        notes.append(
            f"{len(rejected)} witness set(s) rejected as no component (points at infinity or off the critical set): "
            + "; ".join(rejected)
        )
    if unexplained.size:
        notes.append(
            f"{unexplained.size} seed(s) lie on no component found — singular endpoints that passed no dimension "
            "test, or seeds that did not reach their witness slice (isolated multiple points, or points too "
            "unbalanced for the test): losses "
            + ", ".join(f"{v:.10g}" for v in np.unique(np.round(seed_loss[unexplained].real, 10)))
        )
    return Decomposition(
        name=name,
        widths=problem.widths,
        regularization=regularization,
        residual=any(problem.residual_layers),
        components=components,
        closed_form=closed,
        solve_counts={},
        seeds=len(seeds),
        seeds_lost=int(lost_seeds.size),
        unexplained=[
            {
                "loss": float(seed_loss[i].real),
                "loss_imag": float(seed_loss[i].imag),
                "norm": float(np.abs(seeds[i]).max()),
            }
            for i in unexplained
        ],
        seconds={**seconds, "total": time.perf_counter() - began},
        notes=notes,
        tightened=tightened,
    )


def _membership(problem: Problem, components: list[Component], x: np.ndarray, options: ComponentOptions) -> np.ndarray:
    """Index of a component containing each point, or −1; only components of the point's loss
    are tried (the loss is constant on a component)."""
    owner = np.full(x.shape[0], -1)
    losses = problem.loss(x)
    x = balance(problem, x)  # far-out points moved along their components to moderate ones (real_points.py)
    for index, c in enumerate(components):
        todo = np.flatnonzero((owner < 0) & (np.abs(losses - c.loss) <= options.same_loss * max(1.0, abs(c.loss))))
        if c.dimension == 0 or todo.size == 0 or c.slicing is None:
            continue
        owner[todo[contains(problem, c.slicing, c.witness_points, x[todo], options)]] = index
    return owner


def _component(
    problem: Problem,
    k: int,
    ws: WitnessSet,
    seed_points: np.ndarray,
    seed_losses: np.ndarray,
    slicing: Slicing | None,
) -> Component:
    losses = problem.loss(ws.points)
    loss = complex(np.mean(losses))
    rank, partial = _ranks(problem, ws.points[0])
    return Component(
        dimension=k,
        witness_points=ws.points,
        trace_passed=ws.passed,
        trace_error=ws.error,
        loops=ws.loops,
        loss=loss,
        loss_spread=float(np.abs(losses - loss).max()),
        rank_end_to_end=rank,
        partial_ranks=partial,
        seeds=int(seed_points.shape[0]),
        real_seeds=int(np.sum(real_mask(seed_points))),
        seed_loss_spread=float(np.abs(seed_losses - loss).max(initial=0.0)),
        slicing=slicing,
        second_order=component_class(problem, ws.points[0]),
    )


def _not_a_component(
    problem: Problem, ws: WitnessSet, slicing: Slicing, origin_loss: float, options: ComponentOptions
) -> str:
    """Why a witness set is no component, or "": points off the critical set (the gradient not
    zero to rounding), non-finite, or at infinity — far beyond the slice's scale, or with a loss
    beyond any critical value's size (measured on (2,2,1,2), m = 3, λ = 0: two "6-dimensional
    components of degree 1" with losses ~10²⁶, failed trace tests, points ~10⁹ times the slice)."""
    W = ws.points
    loss = problem.loss(W)
    if not np.all(np.isfinite(W)) or not np.all(np.isfinite(loss)):
        return "non-finite points or loss"
    size = float(balanced_size(problem, W).max())
    if size > AT_INFINITY * max(slicing.size, 1.0):
        return f"points at infinity (balanced size {size:.1e}, the slice's {slicing.size:.1e})"
    if float(np.abs(loss).max()) > AT_INFINITY * max(origin_loss, 1.0):
        return f"points at infinity (|loss| {float(np.abs(loss).max()):.1e}, the origin's {origin_loss:.3g})"
    if float(critical_residual(problem, W).max()) > 1e3 * options.residual_tol:
        return "points off the critical set (gradient above rounding)"
    return ""


def _with_origin(problem: Problem, seeds: np.ndarray, singular: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seeds plus the origin when it is critical (always, without residual layers) and not
    among them already: a single path ends there, easily lost to sampling."""
    origin = np.zeros((1, problem.n), dtype=complex)
    if np.abs(problem.gradient(origin)).max() > 0 or (len(seeds) and np.abs(seeds).max(axis=1).min() <= 1e-12):
        return seeds, singular
    with np.errstate(all="ignore"):
        cond = float(np.linalg.cond(problem.hessian(origin)[0]))
    return np.concatenate([seeds, origin]), np.append(singular, not cond < 1e10)


def _with_zero_set(
    problem: Problem, seeds: np.ndarray, singular: np.ndarray, rng: np.random.Generator, options: ComponentOptions
) -> tuple[np.ndarray, np.ndarray, int]:
    """The seeds plus critical points on the P = 0 set (zero_layers.py) that are new, each
    singular or not by its Hessian's condition, as the origin's; and how many were added.  With
    a penalty the projections can end on isolated critical points (the origin): those are kept
    as what they are, not as seeds of a component."""
    found = np.concatenate(
        [
            zero_layer_seeds(problem, rng, options.residual_tol),
            projected_seeds(problem, rng, options.residual_tol, PROJECTED_SEEDS_PER_LAYER * problem.depth),
        ]
    )
    if found.shape[0] == 0:
        return seeds, singular, 0
    found = found[unique_points(found, SAME_POINT_TOL)[0]]
    if seeds.shape[0]:
        found = found[match_points(found, seeds, SAME_POINT_TOL) < 0]
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(problem.hessian(found)) if found.shape[0] else np.zeros(0)
    return np.concatenate([seeds, found]), np.append(singular, ~(cond < 1e10)), int(found.shape[0])


def _ranks(problem: Problem, x: np.ndarray) -> tuple[int, str]:
    """Numerical ranks (`common.linalg.numerical_rank`, the rule analysis counts with) of P and
    of every partial product M_j⋯M_i at one point."""
    ranks = {key: int(numerical_rank(mat[0])) for key, mat in problem.partial_products(x[None, :]).items()}
    return ranks[(1, problem.depth)], ";".join(f"{i}-{j}:{ranks[(i, j)]}" for i, j in sorted(ranks))


__all__ = ["Component", "ComponentOptions", "Decomposition", "decompose", "decompose_points"]
