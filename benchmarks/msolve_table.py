"""Native engine vs msolve (degree over a prime, full real isolation), same systems, one run.

Usage::

    python benchmarks/msolve_table.py [--cap 300] [--native-max-paths 30000] [--out FILE]

Cases: (2,2,2) m=3, (1,2,2,1) m=1, (1,2,2,2) m=1, (2,2,2,2) m=1 with generalised Λ, data and Λ
rounded to 3 decimals (exact short rationals).  The native engine runs where its
multihomogeneous start system has at most --native-max-paths paths; otherwise the row says so
and how many paths it would track.  msolve runs are capped (a timeout is reported, not dropped).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dlnlandscape.analysis.bounds import bounds
from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.errors import DLNError
from dlnlandscape.exact.msolve import MsolveTimeoutError, degree_mod_p, random_prime, real_solutions
from dlnlandscape.model.config import parse_config
from dlnlandscape.model.problem import Problem
from dlnlandscape.model.sparse import gradient_system
from dlnlandscape.pipeline import solve

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

is_msolve_table = starts_with(b"benchmarks/msolve_table.py")  # its command line, in the first line

CASES = [((2, 2, 2), 3), ((1, 2, 2, 1), 1), ((1, 2, 2, 2), 1), ((2, 2, 2, 2), 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap", type=float, default=300.0)
    parser.add_argument("--native-max-paths", type=int, default=30000)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-msolve.md")))
    args = parser.parse_args()
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_msolve_table)
    except DLNError as error:
        parser.error(str(error))
    rows = [
        "| widths | m | native complex | native real | native s | msolve degree | degree s | msolve real | real s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for widths, m in CASES:
        cfg = parse_config(
            {
                "architecture": {"widths": list(widths)},
                "data": {"samples": m, "seed": 0, "decimals": 3},
                "regularization": {"kind": "generalized", "decimals": 3},
                "solver": {"backend": "native"},
            },
            source="msolve-table",
        )
        paths = bounds(Problem.from_config(cfg), m)["multihomogeneous"]
        if paths <= args.native_max_paths:
            began = time.perf_counter()
            s = solve(cfg).summary
            native = (str(s["complex_solutions"]), str(s["real_solutions"]), f"{time.perf_counter() - began:.1f}")
        else:
            native = ("not run", "", f"{paths:,} paths")
        system = gradient_system(cfg, exact=True)
        deg = degree_mod_p(system, prime=random_prime(0, system=system), timeout=args.cap)
        try:
            real = real_solutions(system, timeout=args.cap)
            real_cells = (str(real.real), f"{real.seconds:.1f}")
        except MsolveTimeoutError:
            real_cells = ("timeout", f"> {args.cap:.0f}")
        row = f"| {widths} | {m} | {' | '.join(native)} | {deg.degree} | {deg.seconds:.1f} | {' | '.join(real_cells)} |"
        print(row, flush=True)
        rows.append(row)
    with result_file(Path(args.out), "--out", is_msolve_table) as tmp:
        tmp.write_text("Command: python benchmarks/msolve_table.py\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
