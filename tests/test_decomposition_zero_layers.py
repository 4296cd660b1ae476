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

import numpy as np
import pytest

from dlnlandscape.decomposition import decompose
from dlnlandscape.decomposition.zero_layers import SEEDS_PER_PAIR, zero_layer_seeds
from dlnlandscape.model.problem import Problem

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
