"""decomposition/closed_form.py: the closed-form critical values of the unregularised loss
(Achour et al.) and matching component losses against them."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.decomposition import Decomposition, decompose
from dlnlandscape.decomposition.closed_form import CLOSED_FORM_TOL, closed_form_values, match_closed_form
from dlnlandscape.model.problem import Problem

from .conftest import make_config


def _moments(config) -> tuple[float, float, float]:
    """s_xx, s_xy, s_yy of one-input, one-output data (sum normalisation)."""
    x, y = config.X[0], config.Y[0]
    return float(x @ x), float(x @ y), float(y @ y)


@pytest.fixture(scope="module")
def one_one_one() -> tuple[object, Decomposition]:
    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"})
    return config, decompose(config)


def test_closed_form_values_one_one_one(one_one_one):
    config, result = one_one_one
    sxx, sxy, syy = _moments(config)
    values = closed_form_values(Problem.from_config(config))
    assert [v["subsets"] for v in values] == [[[1]], [[]]]
    np.testing.assert_allclose([v["value"] for v in values], [0.5 * (syy - sxy**2 / sxx), 0.5 * syy], rtol=1e-12)
    assert all(v["found"] for v in result.closed_form)
    assert [c.closed_form["subset"] for c in result.components] == [[1], []]


def test_equal_eigenvalues_give_one_value_with_every_subset():
    """(1,1,2): Σ = T S⁻¹ Tᵀ is 2×2 of rank 1, μ = (μ₁, 0), r_max = 1; S = {2} gives the same
    value as S = {}, so one value carries both subsets."""
    config = make_config([1, 1, 2], samples=3, seed=0, regularization={"kind": "none"})
    problem = Problem.from_config(config)
    mu = np.linalg.eigvalsh(problem.T @ np.linalg.solve(problem.S, problem.T.T))
    base = 0.5 * problem.scale * float(np.sum(config.Y**2))
    values = closed_form_values(problem)
    assert [v["subsets"] for v in values] == [[[1]], [[], [2]]]
    np.testing.assert_allclose([v["value"] for v in values], [base - mu.max() / 2, base], rtol=1e-12)
    assert not any(v["found"] for v in values) and all("relative_difference" not in v for v in values)


def test_closed_form_does_not_apply_with_a_penalty_or_residual_layers():
    l2 = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "l2", "lambda": 0.1})
    residual = make_config([1, 1, 1], samples=3, regularization={"kind": "none"}, architecture={"residual": True})
    assert closed_form_values(Problem.from_config(l2)) is None
    assert closed_form_values(Problem.from_config(residual)) is None


def test_match_closed_form_marks_found_values_with_the_worst_difference():
    config = make_config([1, 1, 1], samples=3, seed=0, regularization={"kind": "none"})
    values = closed_form_values(Problem.from_config(config))
    low, high = values[0]["value"], values[1]["value"]
    losses = np.array([low * (1 + 1e-12), 123.0, low * (1 - 3e-12) + 1e-14j, high * (1 + 10 * CLOSED_FORM_TOL)])
    matches = match_closed_form(losses, values)
    assert matches[0] == {"subset": [1], "value": low, "relative_difference": pytest.approx(1e-12, rel=1e-3)}
    assert matches[1] is None and matches[3] is None  # too far from every value
    assert matches[2]["subset"] == [1] and matches[2]["relative_difference"] == pytest.approx(3e-12, rel=1e-2)
    assert values[0]["found"] and values[0]["relative_difference"] == pytest.approx(3e-12, rel=1e-2)
    assert not values[1]["found"] and "relative_difference" not in values[1]
