"""Counts for several architectures and three solver seeds: the count must not depend on the seed.

Usage: python benchmarks/seed_counts.py [--seeds 0,1,2] [--verify degree]
Prints one Markdown row per (architecture, seed): complex, real, failed paths, bounds, seconds.
"""

from __future__ import annotations

import argparse
import os
import time

from dlnlandscape.model.config import parse_config
from dlnlandscape.pipeline import solve

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

CASES = [((1, 1, 1), 1), ((2, 1, 2), 2), ((2, 2, 2), 1), ((2, 2, 2), 3), ((1, 2, 2, 1), 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--verify", default="none")
    args = parser.parse_args()
    print("| widths | m | seed | complex | real | failed paths | at infinity | Bézout | multihom. | verify | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for widths, m in CASES:
        for seed in (int(s) for s in args.seeds.split(",")):
            cfg = parse_config(
                {
                    "architecture": {"widths": list(widths)},
                    "data": {"samples": m, "seed": 0, "decimals": 3},
                    "regularization": {"kind": "generalized", "decimals": 3},
                    "solver": {"seed": seed, "backend": "native", "verify": args.verify},
                },
                source="seed-counts",
            )
            began = time.perf_counter()
            s = solve(cfg).summary
            v = s.get("verification", {}).get("status", "-")
            b = s["bounds"]
            print(
                f"| {widths} | {m} | {seed} | {s['complex_solutions']} | {s['real_solutions']} "
                f"| {s['paths']['failed']} | {s['paths']['at_infinity']} | {b['bezout']} "
                f"| {b['multihomogeneous']} | {v} "
                f"| {time.perf_counter() - began:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
