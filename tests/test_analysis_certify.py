"""Krawczyk certification (certify.py): closed forms, the quickstart, tampered points, integration."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from dlnlandscape.analysis import certify as certify_module
from dlnlandscape.analysis.certify import (
    CertificationStatus,
    auto_certify,
    certify,
    certify_points,
    overlapping_pairs,
)
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.sparse import SparsePolynomial, SparseSystem, gradient_system
from dlnlandscape.pipeline import solve
from dlnlandscape.reports.points import critical_points_rows
from dlnlandscape.reports.text import summary_lines

from .conftest import make_config
from .test_engines_native import closed_form_111


def univariate(*coefficients: Fraction) -> SparseSystem:
    """One polynomial in x, coefficients from the highest degree down."""
    d = len(coefficients) - 1
    exps = np.array([[d - j] for j in range(d + 1)], dtype=np.int64)
    coefs = np.empty(d + 1, dtype=object)
    coefs[:] = [Fraction(c) for c in coefficients]
    return SparseSystem(variables=("x",), equations=(SparsePolynomial(exps, coefs),), groups=((0,),))


@pytest.fixture(scope="module")
def quickstart():
    """(2,2,2), m = 3, data and Λ to 3 decimals: 225 complex, 9 real critical points (msolve-verified)."""
    cfg = make_config(
        [2, 2, 2],
        3,
        regularization={"kind": "generalized", "decimals": 3},
        data={"decimals": 3},
        solver={"start": "multihomogeneous"},
    )
    run = solve(cfg)
    return cfg, run, gradient_system(cfg, exact=True)


def test_quickstart_every_point_certified_real_ones_real(quickstart):
    cfg, run, system = quickstart
    points = run.points
    assert len(points) == 225 and points.is_real.sum() == 9 and not points.singular.any()
    cert = certify(system, points.solutions, points.is_real, skip=points.singular)
    assert cert.certified.all() and cert.distinct and len(cert.overlapping_pairs) == 0
    assert cert.certified_real.sum() == 9 and np.array_equal(cert.certified_real, points.is_real)
    # every non-real point is proven non-real (its zero-enclosure misses the real axis)
    assert np.array_equal(cert.certified_nonreal, ~points.is_real)
    scale = np.maximum(1.0, np.abs(points.solutions).max(axis=1))
    assert np.all(cert.accuracy <= 1e-8 * scale) and np.all(cert.radius > cert.accuracy)
    # the run did the same (solver.certify: auto on a cheap case) and reported it
    summary = run.summary
    assert summary["certified_solutions"] == 225 and summary["certified_real_solutions"] == 9
    block = summary["certification"]
    assert block["certified"] == 225 and block["uncertified"] == 0 and block["distinct"] is True
    assert block["method"] == "Krawczyk, python-flint acb, exact rational system"
    assert all(row["certified"] is True for row in critical_points_rows(run.problem, points))
    line = dict(summary_lines(summary))["certification"]
    assert line.startswith("225 of 225 proven (9 real, 216 non-real)")


def test_perturbed_point_fails_and_small_error_is_bounded(quickstart):
    _, run, system = quickstart
    points = run.points
    real = np.flatnonzero(points.is_real)[:3]
    moved = points.solutions[real].copy()
    moved[0, 0] += 1e-2
    moved[1, 3] -= 1e-2j  # a real point pushed off the real axis, called non-real
    moved[2, 1] += 3e-11  # still certified, but the accuracy bound must cover the move
    is_real = np.array([True, False, True])
    cert = certify(system, moved, is_real)
    assert not cert.certified[0] and not cert.certified[1]
    assert set(cert.status[:2]) <= {"inaccurate", "Krawczyk failed"}
    assert cert.certified[2] and cert.certified_real[2]
    truth_distance = np.abs(moved[2] - points.solutions[real[2]]).max()
    assert cert.accuracy[2] >= truth_distance - 1e-12  # zero within accuracy: so at least that far


def test_duplicated_point_is_overlapping(quickstart):
    _, run, system = quickstart
    sols = run.points.solutions
    doubled = np.concatenate([sols, sols[[7]], sols[[11]] + 1e-13])
    cert = certify(system, doubled)
    pairs = {tuple(p) for p in cert.overlapping_pairs.tolist()}
    assert pairs == {(7, 225), (11, 226)}
    assert not cert.distinct and cert.certified.all()
    assert cert.distinct_certified.sum() == 223  # overlapping points are not counted as distinct
    assert cert.summary()["overlapping_pairs"] == sorted(map(list, pairs))


@pytest.mark.parametrize(("y", "real_count"), [([2.0, -0.5], 3), ([0.4, 0.1], 1)])
def test_closed_form_one_one_one(y, real_count):
    x, l1, l2 = [0.5, -1.2], 0.7, 0.4
    cfg = parse_config(
        {
            "architecture": {"widths": [1, 1, 1]},
            "data": {"X": [x], "Y": [y]},
            "regularization": {"kind": "generalized", "Lambda": [[[l1]], [[l2]]]},
        },
        source="test",
    )
    points = closed_form_111(np.array(x), np.array(y), l1, l2)
    is_real = np.abs(points.imag).max(axis=1) == 0
    assert is_real.sum() == real_count  # DOMAIN.md: 3 real iff |s_xy| > λ1λ2
    system = gradient_system(cfg, exact=True)
    cert = certify(system, points, is_real)
    assert cert.certified.all() and cert.distinct
    assert np.array_equal(cert.certified_real, is_real) and np.array_equal(cert.certified_nonreal, ~is_real)
    assert np.all(cert.accuracy < 1e-14)
    floating = certify(gradient_system(cfg, exact=False), points, is_real)
    assert floating.certified.all() and "floating-point" in floating.method


def test_univariate_accuracy_uniqueness_reality():
    sqrt2 = 1.41421356  # 2.4e-9 from √2
    cert = certify(univariate(1, 0, -2), np.array([[sqrt2], [-sqrt2]]), np.array([True, True]))
    assert cert.certified_real.all() and cert.distinct
    with localcontext() as ctx:
        ctx.prec = 40
        distance = float(Decimal(2).sqrt() - Decimal(sqrt2))  # Decimal(float) is exact
    assert np.all(cert.accuracy >= distance) and np.all(cert.accuracy < distance * (1 + 1e-6))
    # x² + 1 at ±i: certified and provably non-real
    cert = certify(univariate(1, 0, 1), np.array([[1j], [-1j]]))
    assert cert.certified.all() and cert.certified_nonreal.all() and not cert.certified_real.any()
    # two roots 1e-6 apart: both certified, distinct, and no uniqueness box reaches the other root
    close = univariate(1, Fraction(-2) - Fraction(1, 10**6), 1 + Fraction(1, 10**6))
    cert = certify(close, np.array([[1.0], [1.000001]]))
    assert cert.certified_real.all() and cert.distinct and np.all(cert.radius < 1e-6)
    # a double root cannot pass Krawczyk; a skipped point is never tried
    cert = certify(univariate(1, 0, 0), np.array([[0.0], [1e-9]]), skip=np.array([False, True]))
    assert not cert.certified.any() and list(cert.status) == ["singular (skipped)"] * 2
    cert = certify(univariate(1, -2, 1), np.array([[1.0 + 1e-9]]))
    assert not cert.certified.any()


def test_overlapping_pairs_margin():
    x = np.array([[0.0, 1.0], [2e-10, 1.0], [0.0, 1.0 + 2.2e-10], [5.0, 5.0j]])
    accuracy = np.full(4, 1e-10)
    pairs = overlapping_pairs(x, accuracy, np.ones(4, dtype=bool))
    assert pairs.tolist() == [[0, 1]]  # touching counts as overlapping; 2.2e-10 apart does not
    assert overlapping_pairs(x, accuracy, np.array([False, True, True, True])).shape == (0, 2)


def test_solver_certify_values_and_auto(monkeypatch, quickstart):
    assert make_config([1, 1, 1]).solver.certify == "auto"
    for value in (True, False, "auto"):
        assert make_config([1, 1, 1], solver={"certify": value}).solver.certify == value
    for bad in ("yes", 1, None):
        with pytest.raises(ConfigError, match="solver.certify"):
            make_config([1, 1, 1], solver={"certify": bad})
    assert auto_certify(225, 8) and not auto_certify(2000, 12)
    cfg, run, _ = quickstart
    points = run.points
    assert certify_points(run.problem, False, points) is None
    monkeypatch.setattr(certify_module, "AUTO_COST_LIMIT", 100)
    outcome = certify_points(run.problem, "auto", points)
    assert outcome.status is CertificationStatus.SKIPPED and outcome.certified is None
    out = outcome.summary()
    assert out["certification"]["status"] == "skipped" and out["certified_solutions"] is None
    assert "225 points" in out["certification"]["reason"]
    assert dict(summary_lines({**run.summary, **out}))["certification"].startswith("not run (auto:")

    def no_flint(*args, **kwargs):
        raise ImportError("flint")

    monkeypatch.setattr(certify_module, "certify", no_flint)
    out = certify_points(run.problem, True, points).summary()
    assert out["certification"]["status"] == "error" and "python-flint" in out["certification"]["reason"]
