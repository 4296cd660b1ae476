"""The cost of one tracker step: sparse monomial form vs the network's matrix products.

Usage::

    python benchmarks/step_cost.py [--paths 2000] [--solve] [--reuse | --predictor] [--frontier] [--out FILE]

Part 1, per case: µs of core time per predictor–corrector step (RK4 + 2 Newton corrections:
6 evaluations with Jacobian, 6 LU solves) of the compiled kernel on one thread, for the
monodromy family's parameter homotopy (`Family.homotopy`) and for the trace test's slice
system, each in monomial form (kernel modes PARAMETER) and from matrix products (NETWORK,
SLICE), measured side by side in one run on the same batch (best of 5).  Beside them the
*limit* of this predictor–corrector: the 6 LU solves of a k×k complex Jacobian that every step
does whatever the evaluation costs, timed with the kernel's own compiled `_lu_solve` on the
same number of paths — "new ÷ limit" is how far the step is from costing its linear algebra
alone (a cheaper predictor, fewer factorisations per step, is what would lower the limit).

Part 2 (--solve): whole monodromy solves (trace test included) with `kernel="monomial"` and the
default, one after the other: counts, completeness, path steps, failed arcs, wall seconds.

Part 3 (--reuse): the compiled tracking loop (`kernel.track_paths`) along whole arcs between
random data points of the family, from start pairs, with the tangent of each step computed
afresh and reused from the last correction of the step before (`TrackerOptions.reuse_tangent`),
side by side on one thread: paths arrived, path steps, µs per step, wall seconds and the largest
endpoint difference.  Then (with --solve) whole solves with both settings, one after the other.

Part 4 (--predictor): the same along whole arcs for the predictors (`TrackerOptions.predictor`:
RK4, and the cubic and quintic Hermite extrapolations, which cost no evaluation), with the paths
that failed and those whose endpoint differs from RK4's by more than 1e-6 (a jump in one of
them); then (with --solve) whole solves with each, and with --frontier also (2,2,2,2) m = 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.homotopies.parameter import ParameterHomotopy
from dlnlandscape.engines.native.kernel import CompiledSteps, _lu_solve, set_threads
from dlnlandscape.engines.native.trace_test import direction_slots, term_tables, trace_system
from dlnlandscape.errors import DLNError
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

is_step_cost_table = starts_with(b"benchmarks/step_cost.py")  # its command line, in the first line

CASES = [((2, 2, 2), 3), ((2, 2, 2, 2), 1), ((2, 2, 2, 2), 2), ((2, 2, 2, 2, 2), 1), ((3, 2, 3), 3), ((3, 3, 3), 3)]
SOLVE_CASES = [((2, 2, 2), 3), ((2, 2, 2, 2), 1), ((1, 2, 2, 2, 1), 1)]
FRONTIER_SOLVE_CASES = [((2, 2, 2, 2), 2)]  # --frontier: the 13,441-point frontier case too (~1.5 min a solve)


def _family(widths: tuple[int, ...], samples: int, rng: np.random.Generator) -> Family:
    X, Y = rng.standard_normal((widths[0], samples)), rng.standard_normal((widths[-1], samples))
    penalty = [rng.uniform(0.5, 1.5, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    return Family(Problem.from_data(widths, X, Y, penalty))


def family_homotopy(widths: tuple[int, ...], samples: int, paths: int) -> tuple[ParameterHomotopy, np.ndarray]:
    rng = np.random.default_rng(0)
    family = _family(widths, samples, rng)
    points = [family.random_point(rng) for _ in range(21)]
    hom = family.homotopy([(points[i], points[i + 1]) for i in range(20)], rng.integers(0, 20, paths))
    n = family.problem.n
    return hom, rng.standard_normal((paths, n)) + 1j * rng.standard_normal((paths, n))


def slice_homotopy(widths: tuple[int, ...], samples: int, paths: int) -> tuple[ParameterHomotopy, np.ndarray]:
    rng = np.random.default_rng(0)
    family = _family(widths, samples, rng)
    system = trace_system(family.system, direction_slots(family.system, widths))
    n, d0 = family.problem.n, widths[0]

    def parameters() -> np.ndarray:
        z = rng.standard_normal(system.k) + 1j * rng.standard_normal(system.k)
        S = z[: d0 * d0].reshape(d0, d0)
        z[: d0 * d0] = (S + S.T).ravel()
        return z

    qs = [system.parameters(parameters(), parameters(), rng.standard_normal(n) + 0j, 0.1) for _ in range(21)]
    arcs = [(qs[i], qs[i + 1]) for i in range(20)]
    coefficients = np.stack([system.arc_coefficients(*arc) for arc in arcs])
    network = system.network_arcs(family, arcs)
    hom = ParameterHomotopy(system, term_tables(system.exponents), coefficients, rng.integers(0, 20, paths), network)
    return hom, rng.standard_normal((paths, n + 1)) + 1j * rng.standard_normal((paths, n + 1))


def microseconds_per_step(hom: ParameterHomotopy, y: np.ndarray, structured: bool) -> float:
    steps = CompiledSteps(hom, structured=structured)
    N = y.shape[0]
    args = (np.full(N, 0.3j), np.full(N, 1j * np.pi), np.full(N, 0.01))
    steps.rk4_correct(y, *args)  # compile / load
    best = np.inf
    for _ in range(5):
        began = time.perf_counter()
        steps.rk4_correct(y, *args)
        best = min(best, time.perf_counter() - began)
    return best / N * 1e6


@numba.njit(cache=True)
def _six_solves(A: np.ndarray, b: np.ndarray) -> None:  # pragma: no cover
    work_A = np.empty_like(A[0])
    work_b = np.empty_like(b[0])
    for p in range(A.shape[0]):
        for _ in range(6):
            work_A[:, :] = A[p]
            work_b[:] = b[p]
            _lu_solve(work_A, work_b)


def limit_microseconds(k: int, paths: int) -> float:
    """µs per path of 6 LU solves of a random complex k×k system (the kernel's own routine)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((paths, k, k)) + 1j * rng.standard_normal((paths, k, k))
    b = rng.standard_normal((paths, k)) + 0j
    _six_solves(A, b)
    best = np.inf
    for _ in range(5):
        began = time.perf_counter()
        _six_solves(A, b)
        best = min(best, time.perf_counter() - began)
    return best / paths * 1e6


def step_table(paths: int) -> list[str]:
    rows = [
        "| widths | m | system | unknowns k | monomial terms | µs/step monomial | µs/step matrix products "
        "| speed-up | 6 LU solves µs | new ÷ LU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for widths, samples in CASES:
        for name, build in (("family", family_homotopy), ("slice", slice_homotopy)):
            hom, y = build(widths, samples, paths)
            old = microseconds_per_step(hom, y, structured=False)
            new = microseconds_per_step(hom, y, structured=True)
            k = y.shape[1]
            limit = limit_microseconds(k, paths)
            rows.append(
                f"| {widths} | {samples} | {name} | {k} | {hom.system.exponents.shape[0]:,} | {old:.1f} | {new:.1f} "
                f"| {old / new:.1f}× | {limit:.1f} | {new / limit:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows


def solve_table(variants: tuple[tuple[str, str, Any], ...], cases: list[tuple[tuple[int, ...], int]]) -> list[str]:
    """Whole solves of `cases`, one after the other, once per variant: (column title, the
    variant's label, a function making its engine)."""
    from dlnlandscape.analysis.bounds import architecture_bounds
    from dlnlandscape.pipeline import solve

    title = variants[0][0]
    rows = [
        f"| widths | m | {title} | complex | completeness | path steps | failed loop arcs | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for widths, samples in cases:
        config = parse_config(
            {
                "architecture": {"widths": list(widths)},
                "data": {"samples": samples, "seed": 7, "decimals": 3},
                "regularization": {"kind": "generalized", "seed": 8, "decimals": 3},
                "solver": {"backend": "native", "start": "monodromy", "seed": 5, "certify": False},
            },
            source="step-cost",
        )
        architecture_bounds(widths, False, samples)  # fills the BKK disk cache: no variant pays for it
        for _, label, engine in variants:
            began = time.perf_counter()
            s = solve(config, engine=engine()).summary
            wall = time.perf_counter() - began
            mono = s["backend"]["monodromy"]
            rows.append(
                f"| {widths} | {samples} | {label} | {s['complex_solutions']:,} | {s['completeness']['method']} "
                f"| {mono['path_steps']:,} | {mono['loop_arcs_failed']} | {wall:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows


def kernels() -> tuple[tuple[str, str, Any], ...]:
    """Part 2's variants: the monomial kernel and the default."""
    from dlnlandscape.engines.native.engine import NativeEngine

    return tuple(("kernel", k, lambda k=k: NativeEngine(kernel=k)) for k in ("monomial", "auto"))


def tangents() -> tuple[tuple[str, str, Any], ...]:
    """Part 3's variants: the tangent computed afresh, and reused (the default)."""
    from dlnlandscape.engines.native.engine import NativeEngine

    return tuple(("tangent", label, lambda o=options: NativeEngine(o)) for label, options in TANGENT_VARIANTS)


def predictors() -> tuple[tuple[str, str, Any], ...]:
    """Part 4's variants: RK4 and the extrapolating predictors."""
    from dlnlandscape.engines.native.engine import NativeEngine

    return tuple(("predictor", label, lambda o=options: NativeEngine(o)) for label, options in PREDICTOR_VARIANTS)


def _options(**fields: Any) -> Any:
    from dlnlandscape.engines.native.tracker import TrackerOptions

    return TrackerOptions(**fields)


TANGENT_VARIANTS = (("fresh", _options(reuse_tangent=False, predictor="rk4")), ("reused", _options(predictor="rk4")))
PREDICTOR_VARIANTS = tuple((name, _options(predictor=name)) for name in ("rk4", "cubic", "quintic"))


def arcs_table(paths: int, variants: tuple[tuple[str, Any], ...]) -> list[str]:
    """Parts 3 and 4: whole arcs through the compiled loop, once per variant (label, tracker
    options), on the same start pairs and arcs; the first variant is the reference the others'
    endpoints are compared with — a path arriving more than 1e-6 (relative) from where the
    reference arrived has jumped in one of the two."""
    from dlnlandscape.engines.native.family import ARC_END
    from dlnlandscape.engines.native.tracker import Tracker

    rows = [
        "| widths | m | paths | variant | arrived | failed | path steps | steps/path | µs/step | wall s "
        "| speed-up | endpoints off the reference > 1e-6 | max endpoint Δ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for widths, samples in CASES[:-1]:
        rng = np.random.default_rng(1)
        family = _family(widths, samples, rng)
        starts = [family.start_pair(rng) for _ in range(paths)]
        targets = [family.random_point(rng) for _ in range(8)]
        arcs = [(q0, targets[i % 8]) for i, (_, q0) in enumerate(starts)]
        hom = family.homotopy(arcs, np.arange(paths))
        y0 = np.array([x0 for x0, _ in starts])
        results: dict[str, tuple] = {}
        for _ in range(4):  # alternating, best of 3 after a warm-up round
            for label, options in variants:
                steps = CompiledSteps(hom)
                began = time.perf_counter()
                state = Tracker(hom, options, steps).track(y0, np.zeros(paths, complex), np.full(paths, ARC_END))
                took = time.perf_counter() - began
                if label not in results or took < results[label][1]:
                    results[label] = (state, took if label in results else np.inf)
        reference, t_reference = results[variants[0][0]]
        for label, _ in variants:
            state, took = results[label]
            both = (reference.status == 4) & (state.status == 4)
            scale = np.maximum(1.0, np.abs(reference.y[both]).max(axis=1))
            off = np.abs(state.y[both] - reference.y[both]).max(axis=1) / scale
            total = int(state.steps.sum())
            rows.append(
                f"| {widths} | {samples} | {paths:,} | {label} | {int((state.status == 4).sum()):,} "
                f"| {int((state.status == 3).sum())} | {total:,} | {total / paths:.0f} | {took / total * 1e6:.1f} "
                f"| {took:.2f} | {t_reference / took:.2f}× | {int((off > 1e-6).sum())} | {off.max():.0e} |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--solve", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="only part 3: the tangent computed afresh vs reused")
    parser.add_argument("--predictor", action="store_true", help="only part 4: RK4 vs the extrapolating predictors")
    parser.add_argument("--frontier", action="store_true", help="--solve also on (2,2,2,2) m=2 (13,441 points)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-step-cost.md")))
    args = parser.parse_args()
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_step_cost_table)
    except DLNError as error:
        parser.error(str(error))
    set_threads(1)
    along_arcs = args.reuse or args.predictor
    flags = "".join(f"--{name} " for name in ("reuse", "predictor", "solve", "frontier") if getattr(args, name))
    cases = SOLVE_CASES + (FRONTIER_SOLVE_CASES if args.frontier else [])
    text = [
        f"Command: `python benchmarks/step_cost.py {flags}--paths {args.paths}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numba {numba.__version__}; one thread; "
        + (f"{args.paths:,} paths per case." if along_arcs else f"best of 5 calls on {args.paths:,} paths."),
        "",
    ]
    heading = "Whole solves (data seed 7, Λ seed 8, solver seed 5; solver.threads default), one after the other:"
    if along_arcs:
        text += ["The compiled loop along whole arcs (one thread, best of three alternating runs each):", ""]
        text += arcs_table(args.paths, TANGENT_VARIANTS if args.reuse else PREDICTOR_VARIANTS)
        if args.solve:
            set_threads(numba.config.NUMBA_NUM_THREADS)
            text += ["", heading, "", *solve_table(tangents() if args.reuse else predictors(), cases)]
    else:
        text += step_table(args.paths)
        if args.solve:
            text += ["", heading, "", *solve_table(kernels(), cases)]
    with result_file(Path(args.out), "--out", is_step_cost_table) as tmp:
        tmp.write_text("\n".join(text) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
