"""BKK bound: exact mixed volumes against closed forms, invariances, msolve and the engine's counts."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from dlnlandscape.analysis.bkk import (
    MixedVolumeLimit,
    bkk_bound,
    describe,
    generic_supports,
    mixed_volume,
    supports_of,
    vertices,
)
from dlnlandscape.analysis.bounds import bounds
from dlnlandscape.engines.native.start_systems import multihomogeneous_bezout
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import SparsePolynomial, SparseSystem, gradient_system

from .conftest import make_config


def mv(supports: list, **kwargs) -> int:
    return mixed_volume([np.array(A) for A in supports], **kwargs).volume


def dense(n: int, d: int) -> np.ndarray:
    """All exponents of total degree ≤ d in n variables."""
    return np.array([e for e in itertools.product(range(d + 1), repeat=n) if sum(e) <= d])


def multihomogeneous_support(degrees: list[int], sizes: list[int]) -> np.ndarray:
    """Vertices of the product of scaled simplices d_g Δ_{n_g}: a dense multihomogeneous support."""
    blocks = []
    for d, k in zip(degrees, sizes):
        blocks.append([np.zeros(k, dtype=int)] + [d * np.eye(k, dtype=int)[j] for j in range(k)])
    return np.array([np.concatenate(parts) for parts in itertools.product(*blocks)])


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("n", "d"), [(1, 5), (2, 1), (2, 3), (3, 2), (4, 2), (3, 3)])
def test_dense_total_degree_is_bezout(n: int, d: int) -> None:
    assert mv([dense(n, d)] * n) == d**n


def test_mixed_total_degrees_multiply() -> None:
    # degrees 1, 2, 3 in three variables: Bézout 6
    assert mv([dense(3, 1), dense(3, 2), dense(3, 3)]) == 6


@pytest.mark.parametrize(
    ("multidegrees", "sizes", "expected"),
    [
        ([[1, 1], [1, 1]], [1, 1], 2),  # bilinear in (x)(y)
        ([[1, 1]] * 4, [2, 2], 6),  # coefficient of z1²z2² in (z1+z2)^4
        ([[1, 2], [1, 2], [2, 1], [2, 1]], [2, 2], 33),  # the (2,1,2) gradient's multidegrees
        ([[2, 1, 0], [1, 2, 1], [0, 1, 2]], [1, 1, 1], 12),  # z1z2z3 in (2z1+z2)(z1+2z2+z3)(z2+2z3)
    ],
)
def test_linear_products_give_the_multihomogeneous_number(
    multidegrees: list[list[int]], sizes: list[int], expected: int
) -> None:
    supports = [multihomogeneous_support(row, sizes) for row in multidegrees]
    assert multihomogeneous_bezout(np.array(multidegrees), np.array(sizes)) == expected
    assert mv(supports) == expected


def test_small_planar_mixed_volumes_by_hand() -> None:
    triangle = [[0, 0], [1, 0], [0, 1]]
    assert mv([triangle, triangle]) == 1  # 2! · area 1/2
    assert mv([[[0, 0], [1, 0]], [[0, 0], [0, 1]]]) == 1  # two unit segments
    assert mv([[[0, 0], [2, 3]], [[0, 0], [1, 5]]]) == 7  # |det [[2, 3], [1, 5]]|
    assert mv([[[0, 0], [1, 1]], [[0, 0], [2, 2]]]) == 0  # parallel segments
    square = [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    cross = [[1, 0], [-1, 0], [0, 1], [0, -1]]
    assert mv([cross, square]) == 8  # Macaulay2 Polyhedra's example
    assert mv([square, square]) == 8  # 2 · area 4
    # MV(P, Q) = area(P + Q) − area(P) − area(Q): triangle + unit square: 3.5 − 0.5 − 1
    assert mv([triangle, [[0, 0], [1, 0], [0, 1], [1, 1]]]) == 2
    # the (1,1,1) gradient: w1(s w2² ) … supports {(1,2),(0,1),(1,0)} and {(2,1),(1,0),(0,1)}
    assert mv([[[1, 2], [0, 1], [1, 0]], [[2, 1], [1, 0], [0, 1]]]) == 4


def test_degenerate_inputs() -> None:
    assert mv([[[0, 0]], [[0, 0], [1, 1]]]) == 0  # a point support
    assert mv([[[0, 0, 0], [1, 0, 0]]] * 3) == 0  # all segments parallel
    with pytest.raises(ValueError, match="coordinates"):
        mixed_volume([np.array([[0, 0, 0]]), np.array([[1, 0, 0]])])


def test_vertices_drop_interior_points_and_duplicates() -> None:
    points = np.array([[0, 0], [2, 0], [0, 2], [1, 1], [1, 0], [0, 0], [2, 2], [1, 2]])
    assert sorted(map(tuple, vertices(points))) == [(0, 0), (0, 2), (2, 0), (2, 2)]


# ---------------------------------------------------------------- invariances


def random_supports(rng: np.random.Generator, n: int, points: int, high: int) -> list[np.ndarray]:
    return [rng.integers(0, high, (points, n)) for _ in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lifting_translation_permutation_and_scaling_invariance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    supports = random_supports(rng, 3, 5, 4)
    value = mv(supports)
    assert value > 0
    assert mv(supports, seed=seed + 100) == value  # another random lifting
    assert mv([A + rng.integers(-3, 4, 3) for A in supports]) == value  # translations
    assert mv(supports[::-1]) == value  # symmetric in its arguments
    assert mv([A[:, [2, 0, 1]] for A in supports]) == value  # the same coordinate permutation everywhere
    assert mv([2 * supports[0], supports[1], supports[2]]) == 2 * value  # multilinear
    unimodular = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    assert mv([A @ unimodular.T for A in supports]) == value  # lattice-volume preserving map
    with_origin = mv(supports, origin=True)
    assert with_origin == mv([np.vstack([A, np.zeros((1, 3), dtype=int)]) for A in supports])
    assert with_origin >= value  # monotone


def test_work_and_time_limits_raise() -> None:
    supports = generic_supports((2, 1, 2))
    tests = mixed_volume(supports).tests
    assert tests > 0 and mixed_volume(supports, max_tests=tests).volume == 32  # deterministic for a seed
    with pytest.raises(MixedVolumeLimit, match="work limit of 10 edge tests"):
        mixed_volume(supports, max_tests=10)
    with pytest.raises(MixedVolumeLimit, match="time limit"):
        mixed_volume(generic_supports((2, 2, 2)), time_limit=0.0)


# ---------------------------------------------------------------- against msolve


def random_system(supports: list[np.ndarray], rng: np.random.Generator) -> SparseSystem:
    """Random integer coefficients on the given supports plus a constant term in each equation:
    then no solution has a zero coordinate and the count is exactly the mixed volume with the
    origin added (Bernstein for generic coefficients)."""
    n = len(supports)
    equations = []
    for A in supports:
        A = np.unique(np.vstack([A, np.zeros((1, n), dtype=np.int64)]), axis=0).astype(np.int64)
        c = np.empty(len(A), dtype=object)
        c[:] = [Fraction(int(v)) for v in rng.integers(1, 10**6, len(A))]
        equations.append(SparsePolynomial(A, c))
    return SparseSystem(tuple(f"x{i}" for i in range(n)), tuple(equations), (tuple(range(n)),))


@pytest.fixture
def msolve_degree():
    msolve = pytest.importorskip("dlnlandscape.exact.msolve")
    try:
        msolve.find_msolve()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"msolve not available: {error}")
    return lambda system: msolve.degree_mod_p(system, seed=3, timeout=120).degree


@pytest.mark.parametrize("seed", [0, 1])
def test_random_supports_match_msolve_degree(seed: int, msolve_degree) -> None:
    rng = np.random.default_rng(seed)
    supports = random_supports(rng, 3, 4, 4)
    assert mv(supports, origin=True) == msolve_degree(random_system(supports, rng))


@pytest.mark.parametrize("widths", [(2, 1, 2), (1, 2, 1, 1)])
def test_gradient_supports_match_msolve_degree(widths: tuple[int, ...], msolve_degree) -> None:
    supports = generic_supports(widths)
    rng = np.random.default_rng(7)
    assert mv(supports, origin=True) == msolve_degree(random_system(supports, rng))


# ---------------------------------------------------------------- the gradient system


def test_generic_supports_are_the_gradient_supports() -> None:
    config = make_config([2, 1, 2], samples=2)
    exact = supports_of(gradient_system(config))
    generic = generic_supports((2, 1, 2))
    assert len(exact) == len(generic) == 4
    for a, b in zip(exact, generic):
        assert {tuple(r) for r in a} == {tuple(r) for r in b}


@pytest.mark.parametrize("widths", [(1, 2, 1), (1, 2, 2), (2, 2, 1), (1, 3, 1), (1, 2, 3)])
def test_one_input_one_hidden_layer_equals_bharadwaj(widths: tuple[int, ...]) -> None:
    """For d0 = 1 (or dH = 1) the supports do not depend on m and the mixed volumes are exactly
    Bharadwaj's closed forms (1 + 4 dH)^d1 and (4 dH)^d1 (here with dH the wider end)."""
    problem = Problem.from_config(make_config(list(widths), samples=1))
    closed = bounds(problem, 1)["one_hidden_layer_one_sample"] if widths[0] == 1 else None
    d1, dH = widths[1], max(widths[0], widths[2])
    out = bkk_bound(widths)
    assert (out["affine"], out["torus"]) == ((1 + 4 * dH) ** d1, (4 * dH) ** d1)
    if closed is not None:
        assert (out["affine"], out["torus"]) == (closed["all"], closed["no_zero_coordinate"])


def test_one_one_one_bounds_equal_the_closed_form_count() -> None:
    out = bkk_bound((1, 1, 1))
    # DOMAIN.md: 5 complex critical points, the origin and four with w1 w2 ≠ 0
    assert (out["affine"], out["torus"]) == (5, 4)


def test_two_one_two_between_count_and_multihomogeneous() -> None:
    out = bkk_bound((2, 1, 2))
    assert (out["affine"], out["torus"]) == (33, 32)
    assert 17 <= out["affine"] <= 33  # count (m = 2) ≤ BKK ≤ multihomogeneous


def test_bounds_dict_carries_bkk_and_limits_report_a_reason(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))  # empty: a stored number is returned whatever the limits
    problem = Problem.from_config(make_config([2, 1, 2], samples=2))
    b = bounds(problem, 2)
    assert b["bkk"]["affine"] == 33 and b["bkk"]["torus"] == 32 and b["bkk"]["status"] == "computed"
    assert "BKK 33" in describe(b["bkk"]) and "torus 32" in describe(b["bkk"])
    small = bkk_bound((2, 2, 2), max_unknowns=4)
    assert small["status"] == "not computed" and "8 unknowns > 4" in small["reason"]
    assert "not computed" in describe(small)
    late = bkk_bound((2, 2, 2), time_limit=0.0)
    assert late["status"] == "not computed" and "time limit 0 s" in late["reason"]
    busy = bkk_bound((2, 2, 2), max_tests=1000)
    assert busy["status"] == "not computed" and "work limit of 1,000 edge tests" in busy["reason"]
    assert describe(None) == ""


def test_a_computed_bound_is_cached_on_disk_and_read_whatever_the_limits(tmp_path, monkeypatch) -> None:
    from dlnlandscape.analysis.bkk import cached_bkk

    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))
    assert cached_bkk((2, 1, 2)) is None
    first = bkk_bound((2, 1, 2))
    assert first["status"] == "computed" and "cached" not in first
    assert (tmp_path / "bkk-v2.json").is_file()
    assert cached_bkk((2, 1, 2))["affine"] == 33
    again = bkk_bound((2, 1, 2), max_tests=1)  # the number does not depend on the limits
    assert again["cached"] is True and again["affine"] == 33


def test_a_search_past_its_work_limit_is_remembered_until_a_larger_limit_is_given(tmp_path, monkeypatch) -> None:
    """The work limit is deterministic, so a failed budgeted search is stored and a later call
    with no larger a limit is answered at once; a larger limit computes the number (which then
    replaces the failure for every limit)."""
    import time

    from dlnlandscape.analysis import bkk

    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))
    bkk._bkk_cached.cache_clear()
    busy = bkk_bound((2, 2, 2), max_tests=1000)
    assert busy["status"] == "not computed" and busy["limit"] == "work" and "cached" not in busy
    bkk._bkk_cached.cache_clear()  # a new process: only the disk remembers
    def searched(*args: object, **kwargs: object) -> None:
        raise AssertionError("the search ran again")

    monkeypatch.setattr(bkk, "mixed_volume", searched)
    began = time.perf_counter()
    again = bkk_bound((2, 2, 2), max_tests=500)
    assert again["cached"] is True and again["reason"] == busy["reason"]
    assert time.perf_counter() - began < 0.5
    monkeypatch.undo()
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))
    full = bkk_bound((2, 2, 2), max_tests=2_000_000)
    assert full["status"] == "computed" and full["affine"] == 1089
    assert bkk_bound((2, 2, 2), max_tests=1000)["affine"] == 1089


def test_the_size_limit_is_checked_before_anything_is_built() -> None:
    import time

    began = time.perf_counter()
    out = bkk_bound((50, 50, 50))
    assert out["status"] == "not computed" and "5000 unknowns > 16" in out["reason"]
    assert time.perf_counter() - began < 0.5


def test_two_two_two_quickstart_counts_within_bkk() -> None:
    from dlnlandscape.pipeline import solve

    out = bkk_bound((2, 2, 2))
    assert (out["affine"], out["torus"]) == (1089, 1024)
    run = solve(make_config([2, 2, 2], samples=3, seed=0))
    points = run.points
    assert len(points) == 225
    assert 225 <= out["affine"] <= run.summary["bounds"]["multihomogeneous"] == 1921
    torus_count = int(np.sum(points.zero_count == 0))
    assert 0 < torus_count <= out["torus"]
    assert run.summary["bounds"]["bkk"]["affine"] == 1089
