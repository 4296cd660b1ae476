"""One monodromy solve spread over Dask workers: speed-up, overhead per batch, and the time
projected for a larger cluster from the measured costs.

Usage::

    python benchmarks/dask_scaling.py [--cases 2222-m1,22222-m1] [--modes threads1,dask1,dask2,threads2]
                                      [--time-limit 1800] [--out FILE]

Every run is a separate `dln solve CONFIG --quiet --force` process (generalised L2, data and Λ
rounded to 3 decimals, data seed 7, Λ seed 8, solver seed 5), side by side in one invocation,
after one untimed warm-up solve (numba's cache compiled if it was cold):

* ``threads1`` / ``threads2`` — the in-process executor on 1 or 2 numba threads (today's default
  is every core);
* ``dask1`` / ``dask2`` — ``solver.executor: dask``, ``dask_address: local``: a LocalCluster of
  1 or 2 single-threaded worker processes (the client keeps the orchestration and the small
  tracking runs, ``executors.MIN_REMOTE_PATHS``, on one thread).

From the executor's record in summary.json (``backend.executor``):

* overhead per batch = (seconds the client waited on the cluster − the workers' one kernel load −
  seconds the workers computed) / batches, measured on one worker (nothing runs in parallel there, so the difference is
  transport, scheduling and the client's own work between batches);
* client-side seconds = solve seconds − seconds waited: the orchestration that no worker takes;
* projected time on W workers = client-side + max(runs sent × overhead per batch,
  (worker seconds + batches × overhead per batch) / W) — Amdahl's law with the measured serial
  part and a floor of one round trip per tracking run.  A projection, labelled as such: it
  assumes the batches of a run keep W workers busy, which holds only when a run has ≥ W batches.

Every mode must give the same count and the same path steps (the executor does not change a
path's steps); the table says whether they do.  Only files this script wrote are replaced at
--out (recognised by their first line).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

from solve_process import solve_in_process

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.errors import DLNError

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

is_scaling_table = starts_with(b"benchmarks/dask_scaling.py")

CASES = {  # name → (widths, samples, data.instances)
    "222-m3": ((2, 2, 2), 3, 1),
    "2222-m1": ((2, 2, 2, 2), 1, 1),
    "2222-m2": ((2, 2, 2, 2), 2, 1),
    "22222-m1": ((2, 2, 2, 2, 2), 1, 1),
    "222-m1-x2000": ((2, 2, 2), 1, 2000),  # 2,000 instances: their paths, then their classification
}
MODES = {  # name → (executor, threads)
    "threads1": ("threads", 1),
    "threads2": ("threads", 2),
    "dask1": ("dask", 1),
    "dask2": ("dask", 2),
}


def document(case: str, executor: str, threads: int) -> dict[str, Any]:
    widths, samples, instances = CASES[case]
    return {
        "name": f"dask-scaling-{case}-{executor}{threads}",
        "architecture": {"widths": list(widths)},
        "data": {"samples": samples, "seed": 7, "decimals": 3, "instances": instances},
        "regularization": {"kind": "generalized", "seed": 8, "decimals": 3},
        "solver": {
            "backend": "native",
            "start": "monodromy",
            "seed": 5,
            "threads": threads,
            "executor": executor,
            "dask_address": "local",
        },
    }


def run(case: str, mode: str, time_limit: float) -> dict[str, Any]:
    executor, threads = MODES[mode]
    return solve_in_process(document(case, executor, threads), time_limit, "dask-scaling-")[0]


def count(s: dict[str, Any]) -> str:
    """The complex count; for `data.instances`, complete instances × the generic count."""
    if "instances" in s:
        return f"{s['complete_instances']:,} of {s['instances']:,} × {s['generic_count']:,}"
    return f"{s['complex_solutions']:,}"


def seconds(s: dict[str, Any]) -> float:
    """The solve's seconds; for `data.instances` the whole run (its classification of every
    instance runs on the executor too), less the process start-up."""
    return float(s["seconds"] if "instances" in s else s["solve_seconds"])


def cells(case: str, mode: str, s: dict[str, Any]) -> list[str]:
    if "error" in s:
        return [case, mode, f"error: {s['error']}", "", "", f"{s['wall']:.1f}", "", "", "", "", ""]
    mono = s["backend"]["monodromy"]
    ex = s["backend"].get("executor") or {}
    method = s["completeness"]["method"] + ("" if s["complete"] else " (incomplete)")
    return [
        case,
        mode,
        count(s),
        method,
        f"{mono['path_steps']:,}",
        f"{s['wall']:.1f}",
        f"{seconds(s):.1f}",
        str(ex.get("batches", "—")),
        str(ex.get("runs_sent", "—")),
        f"{ex['seconds_waiting']:.1f}" if ex else "—",
        f"{ex['task_seconds']:.1f}" if ex else "—",
    ]


def analysis(case: str, runs: dict[str, dict[str, Any]], workers: list[int]) -> list[str]:
    """Speed-ups, the overhead per batch and the projection, from this case's runs."""
    ok = {m: s for m, s in runs.items() if "error" not in s}
    lines = [f"### {case}", ""]
    counts = {m: (count(s), s["backend"]["monodromy"]["path_steps"]) for m, s in ok.items()}
    same = len(set(counts.values())) == 1
    lines.append(
        f"- Same count and path steps in every mode: {'yes' if same else 'NO'} "
        f"({', '.join(f'{m}: {c} / {p:,} steps' for m, (c, p) in counts.items())})."
    )
    solve = {m: seconds(s) for m, s in ok.items()}
    for a, b in (("dask1", "dask2"), ("threads1", "dask2"), ("threads1", "threads2"), ("threads1", "dask1")):
        if a in solve and b in solve:
            lines.append(f"- Solve time {a} / {b}: {solve[a]:.1f} s / {solve[b]:.1f} s = ×{solve[a] / solve[b]:.2f}.")
    one = ok.get("dask1")
    if one is not None:
        ex = one["backend"]["executor"]
        load = ex.get("kernel_load_seconds") or 0.0  # once per worker, not per batch
        overhead = max(0.0, ex["seconds_waiting"] - load - ex["task_seconds"]) / max(1, ex["batches"])
        client = seconds(one) - ex["seconds_waiting"]
        lines.append(
            f"- One worker: {ex['batches']:,} batches over {ex['runs_sent']:,} tracking runs sent "
            f"({ex['runs_kept_in_client']:,} runs of < 64 paths kept in the client); workers computed "
            f"{ex['task_seconds']:.1f} s, the client waited {ex['seconds_waiting']:.1f} s (of which {load:.1f} s "
            f"loading the kernel on the workers): overhead "
            f"{overhead * 1e3:.1f} ms per batch; client-side work (orchestration, small runs, "
            f"classification) {client:.1f} s of the {seconds(one):.1f} s solve."
        )
        for w in workers:
            projected = client + max(ex["runs_sent"] * overhead, (ex["task_seconds"] + ex["batches"] * overhead) / w)
            lines.append(f"- Projected solve on {w} workers: {projected:.1f} s (from the measured costs above).")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="2222-m1,22222-m1")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--project", default="2,8,64", help="worker counts to project to")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-dask.md")))
    args = parser.parse_args()
    cases, modes = args.cases.split(","), args.modes.split(",")
    bad = [c for c in cases if c not in CASES] + [m for m in modes if m not in MODES]
    if bad:
        parser.error(f"unknown case or mode: {', '.join(bad)}; cases {', '.join(CASES)}; modes {', '.join(MODES)}")
    out = Path(args.out)
    try:
        check_result_file(out, "--out", is_scaling_table)
    except DLNError as error:
        parser.error(str(error))
    header = [
        f"benchmarks/dask_scaling.py {' '.join(sys.argv[1:])}".rstrip(),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        "data seed 7, Λ seed 8, solver seed 5, 3 decimals; runs in sequence, one process each.",
        "",
        "| case | mode | complex | completeness | path steps | wall s | solve s | tasks | runs sent "
        "| client waited s | worker s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    notes: list[str] = []
    warm = run("222-m3", "dask2", args.time_limit)  # compiles numba's cache if cold: not timed below
    if "error" in warm:
        parser.error(f"the warm-up solve failed: {warm['error']}")
    for case in cases:
        runs: dict[str, dict[str, Any]] = {}
        for mode in modes:
            runs[mode] = run(case, mode, args.time_limit)
            rows.append("| " + " | ".join(cells(case, mode, runs[mode])) + " |")
            print(rows[-1], flush=True)
            with result_file(out, "--out", is_scaling_table) as tmp:
                tmp.write_text("\n".join(header + rows + [""] + notes) + "\n", encoding="utf-8")
        notes += analysis(case, runs, [int(w) for w in args.project.split(",")])
        with result_file(out, "--out", is_scaling_table) as tmp:
            tmp.write_text("\n".join(header + rows + ["", "## Analysis", ""] + notes) + "\n", encoding="utf-8")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
