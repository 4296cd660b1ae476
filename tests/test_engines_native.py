"""The native engine against closed forms, invariants and itself (seeds, kernels)."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.analysis.classify import analyse
from dlnlandscape.common.points import match_points
from dlnlandscape.engines.native.engine import NativeEngine, build_homotopy
from dlnlandscape.engines.native.kernel import HAVE_NUMBA
from dlnlandscape.engines.native.tracker import NumpySteps
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem

from .conftest import make_config


def closed_form_111(x: np.ndarray, y: np.ndarray, l1: float, l2: float) -> np.ndarray:
    """DOMAIN.md: the 5 critical points of d = (1, 1, 1) with Λ = (λ1, λ2)."""
    sxx, sxy = float(x @ x), float(x @ y)
    points = [np.zeros(2, dtype=complex)]
    for eps in (1, -1):
        p = (sxy - eps * l1 * l2) / sxx
        w1 = np.sqrt(complex(eps * p * l2 / l1))
        for s in (1, -1):
            points.append(np.array([s * w1, eps * (l1 / l2) * s * w1]))
    return np.array(points)


@pytest.mark.parametrize(
    "x,y,l1,l2",
    [([1.5], [2.0], 0.5, 0.7), ([0.3, -1.2], [0.1, 0.9], 0.8, 0.9), ([1.0, 2.0, -0.5], [-2.0, 0.4, 1.0], 0.3, 0.2)],
)
def test_closed_form_one_one_one(x, y, l1, l2):
    cfg = parse_config(
        {
            "architecture": {"widths": [1, 1, 1]},
            "data": {"X": [x], "Y": [y]},
            "regularization": {"kind": "generalized", "Lambda": [[[l1]], [[l2]]]},
            "solver": {"seed": 3},
        },
        source="test",
    )
    problem = Problem.from_config(cfg)
    result = NativeEngine().solve(problem, cfg.solver)
    points = analyse(problem, result.paths)
    expected = closed_form_111(np.array(x), np.array(y), l1, l2)
    assert len(points) == 5 and result.paths.counts()["failed"] == 0
    assert np.all(match_points(expected, points.solutions, 1e-8) >= 0)
    sxy = float(np.dot(x, y))
    assert points.is_real.sum() == (3 if abs(sxy) > l1 * l2 else 1)
    assert not points.singular.any()


def test_origin_is_strict_local_minimum_with_three_layers():
    cfg = make_config([1, 1, 1, 1], samples=2, regularization={"low": 0.3, "high": 0.9})
    problem = Problem.from_config(cfg)
    points = analyse(problem, NativeEngine().solve(problem, cfg.solver).paths)
    origin = np.flatnonzero(np.abs(points.solutions).max(axis=1) < 1e-12)
    assert origin.size == 1
    o = origin[0]
    assert points.hessian_index[o] == 0 and points.zero_eigenvalues[o] == 0
    np.testing.assert_allclose(
        np.sort(points.eigenvalues[o]), np.sort(np.concatenate([p.ravel() for p in problem.penalty]))
    )
    assert points.loss[o].real == pytest.approx(0.5 * np.sum(cfg.Y**2))
    assert points.cls[o] in ("local_minimum", "global_minimum")


@pytest.mark.parametrize("widths,samples,expected", [((2, 1, 2), 2, 17), ((1, 2, 1), 1, 9)])
def test_count_does_not_depend_on_seed(widths, samples, expected):
    counts = set()
    for seed in (0, 1, 2):
        cfg = make_config(list(widths), samples=samples, solver={"seed": seed})
        problem = Problem.from_config(cfg)
        result = NativeEngine().solve(problem, cfg.solver)
        points = analyse(problem, result.paths)
        assert result.paths.counts()["failed"] == 0
        # every reported solution solves the system
        assert np.max(np.abs(problem.gradient(points.solutions))) < 1e-9
        # non-real solutions come in conjugate pairs
        assert (len(points) - points.is_real.sum()) % 2 == 0
        assert np.all(match_points(points.solutions.conj(), points.solutions, 1e-8) >= 0)
        counts.add(len(points))
    assert counts == {expected}


def test_quickstart_complete_with_orbit_closure():
    """(2,2,2), m = 3: the complete count is 225 (msolve agrees); every sign-flip image found."""
    cfg = make_config([2, 2, 2], samples=3)
    problem = Problem.from_config(cfg)
    result = NativeEngine().solve(problem, cfg.solver)
    points = analyse(problem, result.paths)
    assert len(points) == 225
    assert result.paths.counts()["failed"] == 0
    assert points.orbit_missing == 0
    images = (points.solutions[:, None, :] * problem.sign_flips()[None]).reshape(-1, problem.n)
    assert np.all(match_points(images, points.solutions, 1e-8) >= 0)
    assert np.max(points.residual) < 1e-10


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
def test_compiled_kernel_matches_numpy_reference():
    from dlnlandscape.engines.native.kernel import CompiledSteps

    for widths, residual, start in [
        ((2, 2, 2), False, "auto"),
        ((1, 2, 2, 1), False, "auto"),
        ((2, 3, 2), True, "total_degree"),
    ]:
        cfg = make_config(list(widths), samples=3, architecture={"residual": residual})
        problem = Problem.from_config(cfg)
        hom = build_homotopy(problem, start, np.random.default_rng(0))
        compiled, reference = CompiledSteps(hom), NumpySteps(hom)
        rng = np.random.default_rng(1)
        y = rng.standard_normal((6, hom.size)) + 1j * rng.standard_normal((6, hom.size))
        t = rng.random(6) + 0.1j
        for a, b in zip(compiled.evaluate(y, t), hom.evaluate(y, t)):
            np.testing.assert_allclose(a, b, atol=1e-12)
        s0, ds, h = np.log(t), np.full(6, -1.0 + 0j), np.full(6, 0.01)
        for a, b in zip(compiled.rk4_correct(y, s0, ds, h), reference.rk4_correct(y, s0, ds, h)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_numpy_reference_engine_gives_same_count():
    cfg = make_config([2, 1, 2], samples=2)
    problem = Problem.from_config(cfg)
    numpy_points = analyse(problem, NativeEngine(kernel="numpy").solve(problem, cfg.solver).paths)
    assert len(numpy_points) == 17


def test_total_degree_start_agrees_with_multihomogeneous():
    cfg = make_config([2, 1, 2], samples=2, solver={"start": "total_degree"})
    problem = Problem.from_config(cfg)
    result = NativeEngine().solve(problem, cfg.solver)
    assert len(result.paths) == 3**4 and result.start_system == "total_degree"
    assert len(analyse(problem, result.paths)) == 17


def test_unsupported_start_is_rejected():
    from dlnlandscape.errors import ConfigError

    cfg = make_config([1, 1, 1], solver={"start": "polyhedral"})
    with pytest.raises(ConfigError, match="solver.start"):
        NativeEngine().solve(Problem.from_config(cfg), cfg.solver)


def test_unregularised_paths_end_singular_not_counted_as_isolated():
    cfg = make_config([1, 2, 1], samples=1, regularization={"kind": "none"})
    problem = Problem.from_config(cfg)
    result = NativeEngine().solve(problem, cfg.solver)
    counts = result.paths.counts()
    assert counts["singular"] > 0  # the critical set is positive-dimensional (GL(1)^2 symmetry)
    points = analyse(problem, result.paths)
    assert points.singular.any()


@pytest.mark.parametrize("widths", [(1, 2, 1), (2, 2, 2), (1, 3, 2)])
def test_one_hidden_layer_one_sample_zero_patterns(widths):
    """Bharadwaj–Hoşten: each hidden neuron is all-zero or all-non-zero; exactly 4·dH·d1 points
    have one active neuron; totals within (1 + 4 dH)^d1."""
    d0, d1, dH = widths
    cfg = make_config(list(widths), samples=1)
    problem = Problem.from_config(cfg)
    points = analyse(problem, NativeEngine().solve(problem, cfg.solver).paths)
    W1 = points.solutions[:, : d1 * d0].reshape(-1, d1, d0)
    W2 = points.solutions[:, d1 * d0 :].reshape(-1, dH, d1)
    scale = np.maximum(1, np.abs(points.solutions).max(axis=1))[:, None, None]
    zero_in = np.abs(W1) <= 1e-8 * scale
    zero_out = np.abs(np.swapaxes(W2, 1, 2)) <= 1e-8 * scale
    neuron_zero = np.concatenate([zero_in, zero_out], axis=2)  # (points, d1, d0 + dH)
    assert np.all(neuron_zero.all(axis=2) | ~neuron_zero.any(axis=2))  # no partial zeros
    active = (~neuron_zero.all(axis=2)).sum(axis=1)
    assert np.sum(active == 1) == 4 * dH * d1
    assert len(points) <= (1 + 4 * dH) ** d1
    assert np.sum(active == d1) <= (4 * dH) ** d1


def test_lost_orbit_member_is_added_by_symmetry_and_marked():
    """A nonsingular endpoint whose path 'failed' comes back as a sign-flip image of its
    partner, marked as added (not a tracked path)."""
    from dlnlandscape.engines.base import ReturnCode
    from dlnlandscape.engines.native.endgame import NEWTON_ACCURACY, refine
    from dlnlandscape.engines.native.orbits import complete_orbits

    cfg = make_config([2, 1, 2], samples=2)
    problem = Problem.from_config(cfg)
    paths = NativeEngine().solve(problem, cfg.solver).paths
    assert paths.counts()["added_by_symmetry"] == 0
    points = analyse(problem, paths)
    victim = np.flatnonzero(paths.is_success() & (np.abs(paths.solutions).max(axis=1) > 1e-6))[0]
    lost = paths.take(np.arange(len(paths)))
    expected = lost.solutions[victim].copy()
    lost.return_code[victim] = ReturnCode.FAILED
    lost.solutions[victim] = np.nan
    assert len(analyse(problem, lost)) == len(points) - 1
    completed = complete_orbits(problem, lost, refine, NEWTON_ACCURACY)
    counts = completed.counts()
    assert counts["added_by_symmetry"] == 1 and counts["tracked"] == len(paths) and counts["failed"] == 1
    again = analyse(problem, completed)
    assert len(again) == len(points) and again.orbit_missing == 0
    assert np.abs(completed.solutions[-1] - expected).max() < 1e-10


def test_chunked_tracking_gives_the_same_solutions(monkeypatch):
    import dlnlandscape.engines.native.engine as native

    cfg = make_config([2, 1, 2], samples=2, solver={"start": "multihomogeneous"})
    problem = Problem.from_config(cfg)
    whole = analyse(problem, NativeEngine().solve(problem, cfg.solver).paths)
    monkeypatch.setattr(native, "CHUNK_PATHS", 7)
    result = NativeEngine().solve(problem, cfg.solver)
    chunked = analyse(problem, result.paths)
    assert result.stats.chunks == 5 and len(result.paths) == 33
    assert len(whole) == len(chunked) == 17


def test_oversized_linear_product_start_is_refused_with_the_fix():
    from dlnlandscape.errors import ConfigError

    cfg = make_config([2, 2, 2, 2], solver={"start": "multihomogeneous"})
    with pytest.raises(ConfigError, match="monodromy"):
        NativeEngine().solve(Problem.from_config(cfg), cfg.solver)
