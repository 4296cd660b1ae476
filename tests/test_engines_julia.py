"""The julia engine everywhere it can be tested without Julia, and end to end where Julia is.

Without Julia: the Julia module parses (tree-sitter's Julia grammar), the sparse export
evaluates to the native gradient, HC.jl-shaped arrays map onto `PathResults`, the origin check,
start-system validation, `import dlnlandscape` staying free of juliacall, and a clear one-line
`BackendUnavailable` in bounded time.  With Julia (`pytest -m julia`): julia and native agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dlnlandscape.engines.base import PathResults, ReturnCode
from dlnlandscape.engines.julia import runtime as julia_runtime
from dlnlandscape.engines.julia.engine import (
    JuliaEngine,
    ensure_origin,
    hc_summary,
    path_results_from_hc,
    resolve_start,
    sparse_export,
)
from dlnlandscape.engines.native.family import Family
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import build_gradient_system, gradient_system

ROOT = Path(__file__).resolve().parents[1]
JULIA_FILE = ROOT / "julia" / "DLNLandscape.jl"


def make_config(widths, samples=1, **sections):
    doc = {
        "architecture": {"widths": list(widths), "residual": sections.pop("residual", False)},
        "data": {"samples": samples, "seed": 3, **sections.pop("data", {})},
        "regularization": {"kind": "generalized", "seed": 5},
        "solver": sections.pop("solver", {}),
    }
    return parse_config(doc)


# ------------------------------------------------------------------ the Julia file parses


def test_julia_module_parses_and_defines_the_entry_points():
    tree_sitter = pytest.importorskip("tree_sitter", reason="tree-sitter not installed (pip install tree-sitter)")
    grammar = pytest.importorskip(
        "tree_sitter_julia", reason="no Julia grammar on PyPI installed (pip install tree-sitter-julia)"
    )
    source = JULIA_FILE.read_bytes()
    tree = tree_sitter.Parser(tree_sitter.Language(grammar.language())).parse(source)
    problems, names, stack = [], set(), [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            problems.append((node.start_point, source[node.start_byte : node.end_byte][:60]))
        if node.type == "function_definition":
            signature = node.child_by_field_name("name") or node.named_children[0]
            names.add(source[signature.start_byte : signature.end_byte].split(b"(")[0].decode())
        stack.extend(node.children)
    assert not problems, f"syntax errors in {JULIA_FILE.name}: {problems}"
    assert {"solve_network", "solve_sparse", "network_system", "sparse_system"} <= names


def test_julia_module_is_found_from_the_checkout():
    assert julia_runtime.julia_module_path() == JULIA_FILE


# ------------------------------------------------------------------ generic sparse export


@pytest.mark.parametrize(
    "widths, samples, extra",
    [
        ((2, 2, 2), 1, {}),
        ((1, 1, 1), 3, {}),
        ((2, 3, 1), 2, {"data": {"normalization": "mean"}}),
        ((2, 2, 2), 2, {"residual": True}),
        ((1, 2, 1, 2), 1, {}),
    ],
)
def test_sparse_export_evaluates_to_the_native_gradient(widths, samples, extra):
    config = make_config(widths, samples, **extra)
    problem = Problem.from_config(config)
    export = sparse_export(gradient_system(config, exact=False))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, problem.n)) + 1j * rng.standard_normal((4, problem.n))
    monomials = np.prod(x[:, None, :] ** export["exponents"][None, :, :], axis=2)
    values = np.add.reduceat(monomials * export["coefficients"], export["offsets"][:-1], axis=1)
    np.testing.assert_allclose(values, problem.gradient(x), rtol=1e-10, atol=1e-10)
    assert export["group_sizes"].tolist() == list(problem.group_sizes)
    assert export["coefficients"].dtype == np.float64  # real data stay real for HC.jl's certify


def test_sparse_export_of_exact_and_float_systems_agree():
    config = make_config((2, 2, 2))
    exact, approx = (sparse_export(gradient_system(config, exact=e)) for e in (True, False))
    for key in ("exponents", "offsets", "group_sizes"):
        np.testing.assert_array_equal(exact[key], approx[key])
    np.testing.assert_allclose(exact["coefficients"], approx["coefficients"], rtol=1e-12)


def test_sparse_export_is_the_problem_system():
    problem = Problem.from_config(make_config((2, 2, 2), 2))
    system = build_gradient_system(problem.widths, problem.X, problem.Y, problem.penalty, scale=problem.scale)
    assert sparse_export(system)["offsets"][-1] == sum(len(eq.exponents) for eq in system.equations)


# ------------------------------------------------------------------ HC.jl arrays → PathResults


def hc_arrays(n=3, certified=True):
    """Arrays shaped as julia/DLNLandscape.jl's export_paths returns them (one column per path)."""
    points = np.arange(5 * n, dtype=complex).reshape(n, 5) + 1j
    return {
        "solutions": points,
        "code": np.array([0, 0, 1, 2, 0], dtype=np.int8),
        "code_names": ["success", "at_infinity", "terminated_max_steps"],
        "singular": np.array([False, True, True, False, False]),
        "winding_number": np.array([0, 2, 0, 0, 1]),
        "multiplicity": np.array([1, 2, 1, 1, 1]),
        "condition": np.array([1.0, 1e14, 3.0, 4.0, 5.0]),
        "residual": np.array([1e-16, 1e-9, 1.0, 2.0, 1e-15]),
        "accuracy": np.array([1e-15, 1e-8, 1.0, 1.0, 1e-14]),
        "steps": np.array([10, 40, 80, 90, 12]),
        "real": np.array([True, False, False, False, True]),
        "certified": np.array([True, False, False, False, True]) if certified else None,
        "certified_real": np.array([True, False, False, False, False]) if certified else None,
    }


def test_mapping_hc_arrays_onto_path_results():
    hc = hc_arrays()
    paths = path_results_from_hc(hc)
    S, I, A, F = ReturnCode.SUCCESS, ReturnCode.SINGULAR, ReturnCode.AT_INFINITY, ReturnCode.FAILED
    assert paths.return_code.tolist() == [S, I, A, F, S]
    assert paths.return_code.dtype == np.int8
    assert paths.solutions.shape == (5, 3) and paths.solutions.flags.c_contiguous
    np.testing.assert_array_equal(paths.solutions[[0, 1, 3, 4]], hc["solutions"].T[[0, 1, 3, 4]])
    assert np.isnan(paths.solutions[2]).all()
    assert paths.winding_number.tolist() == [1, 2, 1, 1, 1]
    assert paths.steps.tolist() == [10, 40, 80, 90, 12]
    np.testing.assert_array_equal(paths.condition, hc["condition"])
    assert paths.certified.tolist() == [True, False, False, False, True]
    assert paths.counts() == {
        "tracked": 5,
        "finite": 3,
        "nonsingular": 2,
        "singular": 1,
        "at_infinity": 1,
        "failed": 1,
        "added_by_symmetry": 0,
    }
    summary = hc_summary(hc)
    assert summary["return_codes"] == {"success": 3, "at_infinity": 1, "terminated_max_steps": 1}
    assert (summary["real"], summary["certified"], summary["certified_real"]) == (2, 2, 1)
    assert summary["max_multiplicity"] == 2


def test_mapping_without_certificates_and_without_paths():
    assert path_results_from_hc(hc_arrays(certified=False)).certified is None
    empty = {key: (np.zeros((4, 0), complex) if key == "solutions" else []) for key in hc_arrays()}
    empty.update(certified=None, certified_real=None)
    paths = path_results_from_hc(empty)
    assert len(paths) == 0 and paths.solutions.shape == (0, 4)


def test_mapping_is_vectorised_over_many_paths():
    rng = np.random.default_rng(1)
    N, n = 20000, 6
    hc = {
        "solutions": rng.standard_normal((n, N)) + 0j,
        "code": rng.integers(0, 3, N).astype(np.int8),
        "code_names": ["success", "at_infinity", "terminated_step_size_too_small"],
        "singular": rng.random(N) < 0.1,
        "winding_number": rng.integers(0, 3, N),
        "multiplicity": np.ones(N, dtype=int),
        "condition": rng.random(N),
        "residual": rng.random(N),
        "accuracy": rng.random(N),
        "steps": rng.integers(1, 100, N),
        "real": rng.random(N) < 0.5,
        "certified": None,
        "certified_real": None,
    }
    clock = time.perf_counter()
    paths = path_results_from_hc(hc)
    assert time.perf_counter() - clock < 0.5
    success = (hc["code"] == 0) & ~hc["singular"]
    assert np.array_equal(paths.is_success(), success)
    assert np.array_equal(paths.is_at_infinity(), hc["code"] == 1)


# ------------------------------------------------------------------ the mathematics monodromy uses


def neuron_coordinates(w, l, j):
    """Python copy of DLNLandscape.jl's `neuron_coordinates` (1-based l, j; 0-based result)."""
    offset = np.concatenate([[0], np.cumsum([w[i + 1] * w[i] for i in range(len(w) - 1)])])
    row = offset[l - 1] + (j - 1) * w[l - 1] + np.arange(1, w[l - 1] + 1)
    column = offset[l] + np.arange(w[l + 1]) * w[l] + j
    return np.concatenate([row, column]) - 1


@pytest.mark.parametrize("widths", [(2, 2, 2), (3, 2, 4), (2, 3, 2, 2), (1, 2, 3, 1)])
def test_sign_flips_and_start_pairs_hold_for_complex_data(widths):
    """What julia/DLNLandscape.jl's monodromy relies on, checked on the Python gradient with
    complex X, Y, C: flipping a hidden neuron's coordinates is a symmetry; c = −g(x)/x makes a
    random x a root; the equations of an inactive neuron vanish identically."""
    rng = np.random.default_rng(7)
    shapes = [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    X, Y = (rng.standard_normal((d, 2)) + 1j * rng.standard_normal((d, 2)) for d in (widths[0], widths[-1]))

    def problem(penalty):
        return Problem(widths, False, X @ X.T, Y @ X.T, X, Y, 1.0, tuple(penalty))

    generic = problem(rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes)
    no_penalty = problem(np.zeros(s, dtype=complex) for s in shapes)
    x = rng.standard_normal((1, generic.n)) + 1j * rng.standard_normal((1, generic.n))
    g = generic.gradient(x)
    for layer in range(1, len(widths) - 1):
        for j in range(1, widths[layer] + 1):
            idx = neuron_coordinates(widths, layer, j)
            y, flipped = x.copy(), g.copy()
            y[0, idx] *= -1
            flipped[0, idx] *= -1
            np.testing.assert_allclose(generic.gradient(y), flipped, atol=1e-10)
    c = -no_penalty.gradient(x)[0] / x[0]
    offsets = generic.offsets
    rooted = problem(c[offsets[i] : offsets[i + 1]].reshape(s) for i, s in enumerate(shapes))
    np.testing.assert_allclose(rooted.gradient(x), 0, atol=1e-10)
    if len(widths) > 2:
        idx = neuron_coordinates(widths, 1, 1)
        z = x.copy()
        z[0, idx] = 0
        np.testing.assert_allclose(no_penalty.gradient(z)[0, idx], 0, atol=1e-12)


# ------------------------------------------------------------------ origin, starts


def paths_of(points: np.ndarray, codes: list[int]) -> PathResults:
    k = len(codes)
    return PathResults(
        solutions=np.asarray(points, dtype=complex),
        return_code=np.array(codes, dtype=np.int8),
        residual=np.zeros(k),
        condition=np.ones(k),
        winding_number=np.ones(k, dtype=np.int64),
        steps=np.ones(k, dtype=np.int64),
        accuracy=np.zeros(k),
        certified=np.ones(k, dtype=bool),
    )


def test_origin_is_added_when_missing():
    problem = Problem.from_config(make_config((2, 2, 2)))
    paths = paths_of(np.ones((2, problem.n)), [ReturnCode.SUCCESS, ReturnCode.AT_INFINITY])
    out, info = ensure_origin(paths, problem)
    assert info["status"] == "added" and info["residual"] == 0.0
    assert len(out) == 3 and np.all(out.solutions[-1] == 0)
    assert out.return_code[-1] == ReturnCode.SUCCESS and out.certified[-1]
    assert out.condition[-1] == pytest.approx(np.linalg.cond(problem.hessian(np.zeros((1, problem.n)))[0]))


def test_origin_found_is_not_duplicated():
    problem = Problem.from_config(make_config((2, 2, 2)))
    points = np.vstack([np.ones(problem.n), np.full(problem.n, 1e-12)])
    paths = paths_of(points, [ReturnCode.SUCCESS, ReturnCode.SUCCESS])
    out, info = ensure_origin(paths, problem)
    assert info["status"] == "found" and len(out) == 2


def test_origin_is_not_added_without_a_hidden_layer():
    problem = Problem.from_config(make_config((2, 2)))  # ∇L(0) = −Y Xᵀ ≠ 0
    out, info = ensure_origin(paths_of(np.ones((1, problem.n)), [ReturnCode.SUCCESS]), problem)
    assert info["status"] == "not a critical point" and len(out) == 1


def test_start_systems():
    base = make_config((2, 2, 2))
    assert resolve_start(base.solver) == "polyhedral"  # auto
    for start in ("polyhedral", "total_degree", "multihomogeneous", "monodromy"):
        assert resolve_start(base.with_solver(start=start).solver) == start
    with pytest.raises(ConfigError, match="monodromy.*not implemented"):
        resolve_start(base.with_solver(start="monodromy").solver, system="sparse")
    with pytest.raises(ConfigError, match="solver.start"):
        resolve_start(base.with_solver(start="newton_only").solver)
    with pytest.raises(ConfigError):
        JuliaEngine("sparse").solve(Problem.from_config(base), base.with_solver(start="monodromy").solver)


def test_many_instances_must_share_a_structure():
    a, b = make_config((2, 2, 2)), make_config((1, 2, 1))
    problems = [Problem.from_config(a), Problem.from_config(b)]
    with pytest.raises(ValueError, match="one structure"):
        JuliaEngine().solve_instances(problems, a.solver)
    with pytest.raises(ValueError, match="one instance"):
        JuliaEngine("sparse").solve_instances([problems[0], problems[0]], a.solver)
    with pytest.raises(ValueError, match="system must be"):
        JuliaEngine("dense")


# ------------------------------------------------------------------ no Julia here


def env_without_julia(tmp_path: Path) -> dict[str, str]:
    """This environment minus every way of finding Julia, and offline so nothing downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON_JULIA", "JULIA"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not shutil.which("julia", path=p)]
    env.update(
        PATH=os.pathsep.join(path),
        HOME=str(tmp_path),
        JULIA_DEPOT_PATH=str(tmp_path / "depot"),
        PYTHON_JULIAPKG_OFFLINE="yes",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


def test_import_dlnlandscape_does_not_import_juliacall(tmp_path):
    code = (
        "import sys, dlnlandscape, dlnlandscape.engines.select, dlnlandscape.engines.julia.engine\n"
        "import dlnlandscape.engines.julia.runtime\n"
        "print('juliacall' in sys.modules, 'juliapkg' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env_without_julia(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


UNAVAILABLE_SCRIPT = """
import json, sys, time
from dlnlandscape.model.config import parse_config
from dlnlandscape.engines.julia.engine import JuliaEngine
from dlnlandscape.errors import BackendUnavailable
from dlnlandscape.engines.julia.runtime import detect
from dlnlandscape.model.problem import Problem
config = parse_config({"architecture": {"widths": [1, 1, 1]}, "data": {"samples": 1}})
clock = time.perf_counter()
status = detect()
try:
    JuliaEngine().solve(Problem.from_config(config), config.solver)
    out = {"raised": False}
except BackendUnavailable as exc:
    out = {"raised": True, "message": str(exc), "exit_code": exc.exit_code}
out.update(seconds=time.perf_counter() - clock, found=status.found, source=status.source,
           juliacall_imported="juliacall" in sys.modules)
print(json.dumps(out))
"""


def test_julia_requested_without_julia_fails_fast_with_one_line(tmp_path):
    clock = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", UNAVAILABLE_SCRIPT],
        env=env_without_julia(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["raised"] and out["exit_code"] == 3
    assert not out["found"] and out["source"] in ("juliacall", "none")
    message = out["message"]
    assert "\n" not in message and message.startswith("julia backend unavailable: ")
    for fix in ("PYTHON_JULIACALL_EXE", "JULIA_DEPOT_PATH", "--backend native"):
        assert fix in message
    assert not out["juliacall_imported"]  # failed before juliacall could try to download
    assert time.perf_counter() - clock < 180


def test_environment_is_set_before_juliacall(monkeypatch):
    for key in ("PYTHON_JULIACALL_THREADS", "PYTHON_JULIACALL_HANDLE_SIGNALS"):
        monkeypatch.setenv(key, "")  # recorded, so the test's changes are undone afterwards
        monkeypatch.delenv(key)
    assert julia_runtime.configure_environment(1) == {"PYTHON_JULIACALL_THREADS": "1"}
    assert "PYTHON_JULIACALL_HANDLE_SIGNALS" not in os.environ
    monkeypatch.delenv("PYTHON_JULIACALL_THREADS")
    julia_runtime.configure_environment(4)
    assert os.environ["PYTHON_JULIACALL_THREADS"] == "4"
    assert os.environ["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "yes"


def test_a_users_own_julia_threads_setting_is_kept(monkeypatch):
    for key in ("PYTHON_JULIACALL_THREADS", "PYTHON_JULIACALL_HANDLE_SIGNALS"):
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("PYTHON_JULIACALL_THREADS", "auto")
    assert julia_runtime.configure_environment(1)["PYTHON_JULIACALL_THREADS"] == "auto"
    assert os.environ["PYTHON_JULIACALL_THREADS"] == "auto"
    assert os.environ["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "yes"  # auto may mean many threads
    monkeypatch.setenv("PYTHON_JULIACALL_THREADS", "3")
    monkeypatch.setenv("PYTHON_JULIACALL_HANDLE_SIGNALS", "no")  # the user's choice, kept too
    assert julia_runtime.configure_environment(8) == {"PYTHON_JULIACALL_THREADS": "3"}
    assert os.environ["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "no"


def stub(path: Path, output: str) -> Path:
    """An executable that prints `output` — tests version parsing only, never Julia itself."""
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(os.name != "posix", reason="stub executables are shell scripts")
def test_julia_version_parsing(tmp_path):
    assert julia_runtime.julia_version(str(stub(tmp_path / "a", "julia version 1.11.2"))) == (1, 11, 2)
    assert julia_runtime.julia_version(str(stub(tmp_path / "b", "not julia")), timeout=10) is None
    assert julia_runtime.julia_version(str(tmp_path / "missing"), timeout=10) is None


@pytest.mark.skipif(os.name != "posix", reason="stub executables are shell scripts")
def test_detect_rules(tmp_path, monkeypatch):
    if julia_runtime.importlib.util.find_spec("juliacall") is None:
        status = julia_runtime.detect()
        assert (status.found, status.source) == (False, "juliacall") and "pip install" in status.detail
        assert julia_runtime.julia_available() == (False, f"{status.detail} [juliacall]")
        return
    bindir = tmp_path / "bin"
    bindir.mkdir()
    old = stub(bindir / "julia", "julia version 1.6.7")
    env = env_without_julia(tmp_path)
    for key in [k for k in os.environ if k.startswith(("PYTHON_JULIA", "JULIA"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bindir), env["PATH"]]))
    monkeypatch.setenv("JULIA_DEPOT_PATH", env["JULIA_DEPOT_PATH"])
    monkeypatch.setenv("PYTHON_JULIAPKG_OFFLINE", "yes")
    assert not julia_runtime.detect(timeout=60).found  # too old for HomotopyContinuation.jl 2.x
    stub(old, "julia version 1.11.2")
    status = julia_runtime.detect(timeout=60)
    assert (status.found, status.ready, status.source, status.version) == (True, False, "PATH", "1.11.2")
    assert julia_runtime.julia_available() == (
        False,
        f"{status.detail}; run once with --backend julia to install it [PATH]",
    )
    assert julia_runtime.julia_available(allow_package_install=True)[0]
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(old))
    status = julia_runtime.detect(timeout=60)
    assert not status.found and "set together" in status.detail


# ------------------------------------------------------------------ end to end (needs Julia)


def julia_ready() -> julia_runtime.JuliaStatus:
    status = julia_runtime.detect()
    if not status.ready:
        pytest.skip(f"Julia with HomotopyContinuation.jl not available: {status.detail}")
    return status


def distinct_finite(paths: PathResults, tol: float = 1e-6) -> np.ndarray:
    points = paths.solutions[paths.is_success() | paths.is_singular()]
    keep: list[np.ndarray] = []
    for p in points:
        if all(np.max(np.abs(p - q)) > tol * (1 + np.max(np.abs(q))) for q in keep):
            keep.append(p)
    return np.array(keep).reshape(-1, paths.solutions.shape[1])


@pytest.mark.julia
@pytest.mark.parametrize("start", ["polyhedral", "total_degree", "multihomogeneous", "monodromy"])
def test_julia_finds_the_five_critical_points_of_111(start):
    julia_ready()
    config = make_config((1, 1, 1), 2, solver={"start": start, "certify": True})
    result = JuliaEngine().solve(Problem.from_config(config), config.solver)
    assert len(distinct_finite(result.paths)) == 5  # DOMAIN.md's closed form
    assert result.stats.origin["status"] in ("found", "added")


@pytest.mark.julia
def test_julia_and_native_agree_on_222_with_one_sample():
    julia_ready()
    from dlnlandscape.engines.native.engine import NativeEngine

    config = make_config((2, 2, 2), 1)
    problem = Problem.from_config(config)
    julia = JuliaEngine().solve(problem, config.solver)
    native = NativeEngine().solve(problem, config.solver)
    assert julia.paths.counts()["failed"] == 0
    assert len(distinct_finite(julia.paths)) == len(distinct_finite(native.paths))


@pytest.mark.julia
def test_many_instances_share_one_generic_solve():
    julia_ready()
    configs = [make_config((1, 2, 1), 1, data={"seed": s}) for s in (1, 2, 3)]
    results = JuliaEngine().solve_instances([Problem.from_config(c) for c in configs], configs[0].solver)
    counts = {len(distinct_finite(r.paths)) for r in results}
    assert len(counts) == 1  # generic data: the same count for every instance


@pytest.mark.julia
def test_julia_monodromy_is_proven_by_hcs_trace_test_and_meets_msolves_count():
    """(2,2,2) m=3 has 225 critical points (msolve's degree, test_exact_oracle.py): every
    pattern's verify_solution_completeness passes and the verdict says trace_test."""
    julia_ready()
    from dlnlandscape.pipeline import solve

    config = make_config((2, 2, 2), 3, solver={"start": "monodromy", "backend": "julia"})
    run = solve(config)
    runs = run.result.stats.monodromy_runs()
    assert runs and all(r["trace_test"] == "passed" for r in runs)
    assert run.summary["complex_solutions"] == 225
    assert run.summary["completeness"]["method"] == "trace_test"
    again = solve(config.with_solver(trusted_count=225))
    assert again.summary["complete"] and again.summary["completeness"]["method"] == "trusted_count"


def julia_units(w, resnet):
    """Python copy of DLNLandscape.jl's `units` (1-based layers; 0-based coordinates)."""
    H = len(w) - 1

    def residual(i):  # W_i (1-based) is I + W_i
        return resnet and w[i - 1] == w[i]

    out = []
    for l in range(1, H):
        for j in range(1, w[l] + 1):
            if l > 1 and residual(l):
                continue
            tied, layers, coordinates, last = residual(l), [], [], l
            while True:
                layers.append(last)
                coordinates.extend(neuron_coordinates(w, last, j).tolist())
                if not residual(last + 1):
                    break
                if last + 1 == H:
                    tied = True
                    break
                last += 1
            if not tied:
                out.append((tuple(layers), sorted(set(coordinates))))
    return out


@pytest.mark.parametrize(
    "widths, resnet",
    [
        ((2, 2, 2, 2), False),
        ((1, 2, 2, 1), True),
        ((1, 2, 2, 2, 1), True),
        ((2, 2, 1), True),
        ((2, 2, 2), True),
        ((3, 1, 1, 3), True),
        ((1, 2, 2, 2), True),
        ((2, 3, 3, 2), True),
    ],
)
def test_julia_units_are_the_native_engines(widths, resnet):
    """DLNLandscape.jl's units (their layers and coordinates, as its Python copy computes them)
    equal the native engine's Family.units, whose patterns the oracle tests check against msolve."""
    problem = Problem.from_data(
        widths,
        np.ones((widths[0], 1)),
        np.ones((widths[-1], 1)),
        [np.ones((widths[i + 1], widths[i])) for i in range(len(widths) - 1)],
        residual=resnet,
    )
    native = [(u.layers, sorted(u.coordinates.tolist())) for u in Family(problem).units if u.coordinates is not None]
    assert julia_units(widths, resnet) == native
