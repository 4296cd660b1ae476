"""Frontier counts: critical points of architectures beyond msolve's reach, with how each count
was proven and whether seeds agree.

Usage::

    python benchmarks/frontier.py [--cases NAME,...] [--solver-seeds 5,6,7] [--data-seeds 7,51]
                                  [--time-limit 1800] [--msolve-timeout 0] [--out FILE]

Every run is a separate `dln solve CONFIG --quiet --time-limit T` process (so its peak memory is
its own), generalised L2 with data and Λ rounded to 3 decimals (Λ seed = data seed + 1), solver
`threads: 2`.  A row per run: complex and real counts, `completeness.method` and the largest
trace-test deviation, base solutions lost on the way to the target, wall time, path steps per
second, peak memory.  A row per case then says whether every run's count agrees and how many
runs are proven (trace test or exact degree) — the generic count does not depend on the data or
the solver seed, so a disagreement is a wrong count.  With --msolve-timeout S > 0, msolve's
degree over a prime is computed for the first data seed, capped at S seconds (a timeout is
reported, not dropped).

The table is rewritten after every run (a long benchmark that is stopped keeps what it measured)
and every run's summary.json is kept under `<out>.runs/`.  Only files this script wrote are ever
replaced there (the table is recognised by its first line, a summary by its name field).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solve_process import solve_in_process

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.errors import DLNError
from dlnlandscape.exact.msolve import MsolveError, MsolveTimeoutError, degree_mod_p, random_prime
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.sparse import gradient_system

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

# files this script wrote, which it may replace (never anything else at --out)
is_frontier_table = starts_with(b"benchmarks/frontier.py")  # its command line, in the first lines
is_run_summary = starts_with(b'"name": "frontier-')


@dataclass(frozen=True)
class Case:
    name: str
    widths: tuple[int, ...]
    samples: int

    @property
    def unknowns(self) -> int:
        return sum(a * b for a, b in zip(self.widths, self.widths[1:], strict=False))


CASES = [
    Case("2222-m2", (2, 2, 2, 2), 2),
    Case("22222-m1", (2, 2, 2, 2, 2), 1),
    Case("122221-m1", (1, 2, 2, 2, 2, 1), 1),
    Case("2332-m1", (2, 3, 3, 2), 1),
    Case("333-m3", (3, 3, 3), 3),
]


def config_document(case: Case, data_seed: int, solver_seed: int) -> dict[str, Any]:
    return {
        "name": f"frontier-{case.name}-d{data_seed}-s{solver_seed}",
        "architecture": {"widths": list(case.widths)},
        "data": {"samples": case.samples, "seed": data_seed, "decimals": 3},
        "regularization": {"kind": "generalized", "seed": data_seed + 1, "decimals": 3},
        "solver": {"backend": "native", "start": "monodromy", "seed": solver_seed, "threads": 2},
    }


def run_one(case: Case, data_seed: int, solver_seed: int, time_limit: float, keep: Path) -> dict[str, Any]:
    """One `dln solve` process; its summary.json (kept under `keep`), or the error it ended with."""
    summary, text = solve_in_process(config_document(case, data_seed, solver_seed), time_limit, "frontier-")
    if text is not None:
        with result_file(keep / f"{case.name}-d{data_seed}-s{solver_seed}.json", "--out", is_run_summary) as path:
            path.write_text(text)
    return summary


def run_row(case: Case, data_seed: int, solver_seed: int, s: dict[str, Any]) -> str:
    head = f"| {case.widths} | {case.samples} | {case.unknowns} | {data_seed} | {solver_seed} "
    if "error" in s:
        return head + f"| error: {s['error']} | | | | | | {s['wall']:.0f} | | |"
    mono = s["backend"].get("monodromy") or {}
    completeness = s["completeness"]
    deviation = completeness.get("max_trace_deviation")
    method = completeness["method"] + (f" ({deviation:.1e})" if deviation is not None else "")
    if s.get("stopped_early"):
        method += f"; stopped: {s['stopped_early']}"
    lost: Any = "—"
    if mono.get("carried_to_target"):
        lost = mono.get("base_solutions", 0) - s["complex_solutions"]
        if lost < 0:  # the final homotopy's detours found orbits the base point's loops had not
            lost = f"0 ({-lost} more at the target)"
    return head + (
        f"| {s['complex_solutions']:,} | {s['real_solutions']} | {'yes' if s['complete'] else 'no'} | {method} "
        f"| {lost} | {mono.get('loops', '')} | {s['wall']:.0f} | {mono.get('path_steps_per_second', 0):,.0f} "
        f"| {s['peak_memory_mib']:.0f} |"
    )


def case_row(case: Case, runs: list[dict[str, Any]], degree: str) -> str:
    done = [s for s in runs if "error" not in s and not s.get("stopped_early")]
    counts = sorted({s["complex_solutions"] for s in done})
    proven = sum(s["complete"] and s["completeness"]["method"] in ("trace_test", "exact_degree") for s in done)
    agree = "yes" if len(counts) == 1 and len(done) == len(runs) else ("no" if len(counts) > 1 else "—")
    times = sorted(s["wall"] for s in done)
    median = f"{times[len(times) // 2]:.0f}" if times else "—"
    shown = ", ".join(f"{c:,}" for c in counts) or "—"
    return (
        f"| {case.widths} | {case.samples} | {case.unknowns} | {shown} | {agree} "
        f"| {proven} of {len(runs)} | {median} | {degree} |"
    )


def msolve_degree(case: Case, data_seed: int, timeout: float) -> str:
    if timeout <= 0:
        return "not run"
    system = gradient_system(parse_config(config_document(case, data_seed, 0), source="frontier"), exact=True)
    try:
        result = degree_mod_p(system, prime=random_prime(0, system=system), timeout=timeout)
    except MsolveTimeoutError:
        return f"> {timeout:.0f} s (timeout)"
    except MsolveError as exc:
        return f"error: {exc}"
    return f"{result.degree:,} ({result.seconds:.0f} s)"


def write_table(path: Path, header: str, run_rows: list[str], case_rows: list[str]) -> None:
    text = [
        header,
        "",
        "## Per case",
        "",
        "| widths | m | unknowns | complex count(s) | all runs agree | proven runs | median wall s | msolve degree |",
        "|---|---|---|---|---|---|---|---|",
        *case_rows,
        "",
        "## Per run",
        "",
        "| widths | m | unknowns | data seed | solver seed | complex | real | complete | completeness (max trace "
        "deviation) | lost at target | loops | wall s | path steps/s | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *run_rows,
        "",
    ]
    with result_file(path, "--out", is_frontier_table) as tmp:
        tmp.write_text("\n".join(text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--solver-seeds", default="5,6,7")
    parser.add_argument("--data-seeds", default="7,51")
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--msolve-timeout", type=float, default=0.0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-frontier.md")))
    args = parser.parse_args()
    by_name = {c.name: c for c in CASES}
    unknown = [n for n in args.cases.split(",") if n not in by_name]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; known: {', '.join(by_name)}")
    cases = [by_name[n] for n in args.cases.split(",")]
    solver_seeds = [int(x) for x in args.solver_seeds.split(",")]
    data_seeds = [int(x) for x in args.data_seeds.split(",")]
    out = Path(args.out)
    keep = out.with_suffix(".runs")
    try:  # before any run: a table path holding someone else's file is refused, nothing written
        check_result_file(out, "--out", is_frontier_table)
    except DLNError as error:
        parser.error(str(error))
    header = (
        f"Command: `python benchmarks/frontier.py {' '.join(sys.argv[1:])}`".rstrip() + "\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"solver threads 2; time limit {args.time_limit:g} s per run; runs in sequence.  "
        "Data seeds × solver seeds per case (all with the first data seed's solver seeds first); "
        "Λ seed = data seed + 1; data and Λ rounded to 3 decimals."
    )
    run_rows: list[str] = []
    case_rows: list[str] = []
    for case in cases:
        runs = []
        for data_seed in data_seeds:
            for solver_seed in solver_seeds if data_seed == data_seeds[0] else solver_seeds[:1]:
                summary = run_one(case, data_seed, solver_seed, args.time_limit, keep)
                runs.append(summary)
                run_rows.append(run_row(case, data_seed, solver_seed, summary))
                print(run_rows[-1], flush=True)
                write_table(out, header, run_rows, case_rows)
        case_rows.append(case_row(case, runs, msolve_degree(case, data_seeds[0], args.msolve_timeout)))
        print(case_rows[-1], flush=True)
        write_table(out, header, run_rows, case_rows)


if __name__ == "__main__":
    main()
