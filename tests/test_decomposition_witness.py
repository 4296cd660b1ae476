"""decomposition/witness.py on the (1,1,1), λ = 0 hyperbola w1 w2 = p, whose witness set on a
line a1 w1 + a2 w2 = b is known exactly (the two roots of a1 w1² − b w1 + a2 p = 0): moving
points, monodromy, the trace test's power to reject an incomplete witness set, merging and
membership."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dlnlandscape.decomposition import Decomposition, decompose
from dlnlandscape.decomposition.options import ComponentOptions
from dlnlandscape.decomposition.slicing import Slicing
from dlnlandscape.decomposition.witness import (
    WitnessSet,
    contains,
    loop_scale,
    merge_incomplete,
    monodromy,
    move,
    trace_test,
    witness_sets,
)
from dlnlandscape.model.problem import Problem

from .conftest import make_config

CONFIG = {"samples": 3, "seed": 0, "regularization": {"kind": "none"}}


@pytest.fixture(scope="module")
def one_one_one() -> tuple[object, Decomposition]:
    config = make_config([1, 1, 1], **CONFIG)
    return config, decompose(config)


@pytest.fixture(scope="module")
def hyperbola() -> tuple[Problem, float, Slicing]:
    problem = Problem.from_config(make_config([1, 1, 1], **CONFIG))
    p = float(problem.T[0, 0] / problem.S[0, 0])
    return problem, p, Slicing.random(2, 1, 0.5, np.random.default_rng(4))


def _slice_points(slicing: Slicing, b: complex, p: float) -> np.ndarray:
    a1, a2 = slicing.A[0]
    w1 = np.roots([a1, -b, a2 * p])
    return np.stack([w1, p / w1], axis=1)


def _same_set(a: np.ndarray, b: np.ndarray, rtol: float = 1e-10) -> bool:
    return a.shape == b.shape and all(np.abs(b - row).max(axis=1).min() <= rtol * np.abs(row).max() for row in a)


def test_trace_test_rejects_an_incomplete_witness_set(one_one_one):
    """The complete witness set passes; one point of the hyperbola alone does not."""
    config, result = one_one_one
    problem = Problem.from_config(config)
    curve = result.components[0]
    rng = np.random.default_rng(3)
    options = ComponentOptions()
    passed, error = trace_test(problem, curve.slicing, curve.witness_points, options, rng)
    assert passed and error < 1e-9
    passed, error = trace_test(problem, curve.slicing, curve.witness_points[:1], options, rng)
    assert not passed and error > 1e-4


def test_move_tracks_witness_points_to_another_slice(hyperbola):
    problem, p, sl = hyperbola
    start = _slice_points(sl, sl.b0[0], p)
    target = sl.b0 + 0.3 - 0.2j
    y, ok = move(problem, sl, start, sl.b0, target, ComponentOptions())
    assert ok.all() and _same_set(y, _slice_points(sl, target[0], p))
    empty, none = move(problem, sl, np.zeros((0, 2), dtype=complex), sl.b0, target, ComponentOptions())
    assert empty.shape == (0, 2) and none.shape == (0,)


def test_monodromy_from_one_point_finds_the_other_and_proves_it(hyperbola):
    problem, p, sl = hyperbola
    exact = _slice_points(sl, sl.b0[0], p)
    ws = monodromy(problem, sl, exact[:1], ComponentOptions(), np.random.default_rng(0))
    assert _same_set(ws.points, exact)
    assert ws.passed and ws.error < 1e-9 and ws.loops >= ComponentOptions().loops_per_round
    assert ws.seeds.size == 0  # members are the caller's business


def test_witness_sets_groups_points_of_one_component(hyperbola):
    """Three generic points of the hyperbola, each on its own parallel line: one witness set of
    degree 2 on the common slice, all three points its members."""
    problem, p, sl = hyperbola
    w1 = np.array([0.6 + 0.3j, -1.1 + 0.05j, 2.0 - 0.7j])
    points = np.stack([w1, p / w1], axis=1)
    sets, arrived = witness_sets(problem, sl, points, ComponentOptions(), np.random.default_rng(1))
    assert arrived.all() and len(sets) == 1
    assert _same_set(sets[0].points, _slice_points(sl, sl.b0[0], p)) and sets[0].passed
    assert sorted(sets[0].seeds.tolist()) == [0, 1, 2]


def test_merge_incomplete_joins_halves_and_absorbs_parts(hyperbola):
    problem, p, sl = hyperbola
    exact = _slice_points(sl, sl.b0[0], p)
    options, rng = ComponentOptions(), np.random.default_rng(2)
    halves = [
        WitnessSet(exact[:1], 4, False, 1.0, np.array([0])),
        WitnessSet(exact[1:], 8, False, 1.0, np.array([1, 2])),
    ]
    (joined,) = merge_incomplete(problem, sl, halves, options, rng)  # equal loss, the union passes
    assert _same_set(joined.points, exact) and joined.passed and joined.error < 1e-9
    assert joined.loops == 12 and joined.seeds.tolist() == [0, 1, 2]
    complete = WitnessSet(exact, 4, True, 1e-15, np.array([0]))
    part = WitnessSet(exact[1:], 8, False, 1.0, np.array([3]))
    (absorbed,) = merge_incomplete(problem, sl, [complete, part], options, rng)
    assert absorbed.points.shape == (2, 2) and absorbed.passed and absorbed.error == 1e-15
    assert absorbed.seeds.tolist() == [0, 3]
    both_complete = [complete, WitnessSet(exact, 4, True, 1e-15, np.array([1]))]
    assert len(merge_incomplete(problem, sl, both_complete, options, rng)) == 2  # nothing to prove


def test_contains_recognises_points_of_the_component(hyperbola):
    """Real (special) points of the hyperbola are on it; the origin and a non-critical point are not."""
    problem, p, sl = hyperbola
    witness = _slice_points(sl, sl.b0[0], p)
    x = np.array([[0.7, p / 0.7], [-3.0, p / -3.0], [0.0, 0.0], [1.0, 1.0]], dtype=complex)
    assert contains(problem, sl, witness, x, ComponentOptions()).tolist() == [True, True, False, False]


def test_monodromy_loops_follow_the_components_size_not_the_slices(hyperbola):
    """One slice serves every component of a dimension and its `size` is their median: a
    component far larger than that must still be gone round at its own scale.  With the slice's
    size put at 10⁻⁴ of the hyperbola's points, loops of that size never reach its branch points
    (b² = 4 a1 a2 p) and the second point (measured: the test fails with the slice's size); loops
    of the points' size do."""
    problem, p, sl = hyperbola
    exact = _slice_points(sl, sl.b0[0], p)
    tiny = replace(sl, size=1e-4 * float(np.abs(exact).max()))
    assert loop_scale(problem, tiny, exact[:1], ComponentOptions()) >= 0.1 * float(np.abs(exact[0]).min())
    ws = monodromy(problem, tiny, exact[:1], ComponentOptions(), np.random.default_rng(0))
    assert _same_set(ws.points, exact) and ws.passed and ws.error < 1e-9
