"""Proven sets kept and reused (engines/native/proven.py): a later solve of an architecture that an
earlier run proved, against a solve that proves it again — side by side, same data, one run.

Per case, three `dln solve` processes sharing one empty cache directory (numba's cache is the
usual one, so nothing compiles):

1. data seed A, `solver.reuse: true`: proves the count (trace test) and keeps its set;
2. data seed B, `solver.reuse: true`: starts from that set, tracks the final homotopy only;
3. data seed B, `solver.reuse: false` (`--fresh`): proves the count again from nothing.

Reported: complex and real counts, how completeness was established (and from which run),
wall seconds, path steps, the global minimum's loss; (2) and (3) must agree on every count and
on the minimum, and the ratio of their wall times is the gain.

    python benchmarks/reuse.py --cases 222-m3,2222-m2,22222-m1,2332-m1 --out benchmarks/results-reuse.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from solve_process import solve_in_process

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.common.caches import numba_cache_dir
from dlnlandscape.errors import DLNError

CASES = {
    "222-m3": ((2, 2, 2), 3),
    "2222-m1": ((2, 2, 2, 2), 1),
    "2222-m2": ((2, 2, 2, 2), 2),
    "22222-m1": ((2, 2, 2, 2, 2), 1),
    "122221-m1": ((1, 2, 2, 2, 2, 1), 1),
    "2332-m1": ((2, 3, 3, 2), 1),
}
is_reuse_table = starts_with(b"benchmarks/reuse.py")  # its command line, in the first line


def document(widths: tuple[int, ...], samples: int, data_seed: int, solver_seed: int, reuse: bool) -> dict[str, Any]:
    return {
        "name": f"reuse-{'-'.join(map(str, widths))}-m{samples}-d{data_seed}",
        "architecture": {"widths": list(widths)},
        "data": {"samples": samples, "seed": data_seed, "decimals": 3},
        "regularization": {"kind": "generalized", "seed": data_seed + 1, "decimals": 3},
        "solver": {"backend": "native", "start": "monodromy", "seed": solver_seed, "threads": 2, "reuse": reuse},
    }


def row(name: str, role: str, data_seed: int, s: dict[str, Any]) -> str:
    if "error" in s:
        return f"| {name} | {role} | {data_seed} | error: {s['error']} | | | | {s['wall']:.1f} | | |"
    mono = s["backend"].get("monodromy") or {}
    completeness = s["completeness"]
    how = completeness["method"]
    reused = completeness.get("reused")
    if reused:
        how += f", reused (proven by solver seed {reused.get('solver_seed')}, {reused.get('path_steps', 0):,} steps)"
    elif mono.get("kept"):
        how += ", kept"
    minimum = s.get("global_minimum_loss")
    shown = f"{minimum:.10g}" if isinstance(minimum, (int, float)) else "—"
    return (
        f"| {name} | {role} | {data_seed} | {s['complex_solutions']:,} | {s['real_solutions']} | {how} "
        f"| {'yes' if s['complete'] else 'no'} | {s['wall']:.1f} | {mono.get('path_steps', 0):,} | {shown} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="222-m3,2222-m2,22222-m1,2332-m1", help=f"of {', '.join(CASES)}")
    parser.add_argument("--data-seeds", default="7,51", help="A (proves and keeps), B (reused and fresh)")
    parser.add_argument("--solver-seed", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-reuse.md")))
    args = parser.parse_args()
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_reuse_table)
    except DLNError as error:
        parser.error(str(error))
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; choose from {', '.join(CASES)}")
    seed_a, seed_b = (int(s) for s in args.data_seeds.split(","))
    numba_dir, _ = numba_cache_dir()
    text = [
        f"benchmarks/reuse.py — command: `python benchmarks/reuse.py --cases {args.cases} --data-seeds "
        f"{args.data_seeds} --solver-seed {args.solver_seed}`",
        "",
        f"Started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; `threads: 2`. Each row is one `dln solve` process; per case the three "
        "share one empty cache directory (numba's cache the usual one).",
        "",
        "| case | run | data seed | complex | real | completeness | complete | wall s | path steps | global min loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    gains = []
    for name in names:
        widths, samples = CASES[name]
        with tempfile.TemporaryDirectory(prefix="dln-reuse-") as cache:
            os.environ["DLN_CACHE_DIR"] = cache
            if numba_dir is not None:
                os.environ["NUMBA_CACHE_DIR"] = str(numba_dir)
            runs = []
            for role, seed, reuse in (
                ("1 prove, keep", seed_a, True),
                ("2 reuse", seed_b, True),
                ("3 fresh", seed_b, False),
            ):
                summary, _ = solve_in_process(
                    document(widths, samples, seed, args.solver_seed, reuse), args.time_limit, "dln-reuse-"
                )
                runs.append(summary)
                text.append(row(name, role, seed, summary))
                print(text[-1], file=sys.stderr)
        reused, fresh = runs[1], runs[2]
        if "error" not in reused and "error" not in fresh:
            same = all(reused[k] == fresh[k] for k in ("complex_solutions", "real_solutions"))
            minimum = (reused.get("global_minimum_loss"), fresh.get("global_minimum_loss"))
            if all(isinstance(v, (int, float)) for v in minimum):
                same = same and abs(minimum[0] - minimum[1]) <= 1e-9 * max(1.0, abs(minimum[1]))
            verdict = "same counts and minimum" if same else "DISAGREE"
            ratio = fresh["wall"] / reused["wall"]
            gains.append(
                f"{name}: reused {reused['wall']:.1f} s vs fresh {fresh['wall']:.1f} s (×{ratio:.1f}), {verdict}"
            )
    text += ["", *[f"- {g}" for g in gains]]
    with result_file(Path(args.out), "--out", is_reuse_table) as tmp:
        tmp.write_text("\n".join(text) + "\n", encoding="utf-8")
    print("\n".join(text))


if __name__ == "__main__":
    main()
