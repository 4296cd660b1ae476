"""Positive-dimensional critical sets at depth: `dln components` on the issue's cases, one run.

Usage::

    python benchmarks/components_depth.py [--cases NAME,...] [--out FILE]

Every case is λ = 0 (or residual), data rounded to 3 decimals, data seed 7, solver seed 5, the
default seeds (`--seeds auto`: a generic penalty's critical points beyond 10,000 start paths,
plus the P = 0 set's own seeds) unless the case says otherwise.  For each: the whole
`dln components` table (dimension, degree, trace test and its deviation, loss, rank P, partial
ranks, the closed-form subset S and its relative difference, the classes, Prop. 8's tightened
points), the closed-form tally, what was rejected and why, whether the run is complete, and the
wall seconds of each stage.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.decomposition import decompose
from dlnlandscape.errors import DLNError
from dlnlandscape.model.config import parse_config

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

is_components_table = starts_with(b"benchmarks/components_depth.py")  # its command line, in the first line

CASES: dict[str, dict[str, Any]] = {
    "2212": {"widths": [2, 2, 1, 2], "samples": 3},
    "1221": {"widths": [1, 2, 2, 1], "samples": 2},
    "12221": {"widths": [1, 2, 2, 2, 1], "samples": 2},
    "323": {"widths": [3, 2, 3], "samples": 4},
    "2222": {"widths": [2, 2, 2, 2], "samples": 3},
    "222-residual": {"widths": [2, 2, 2], "samples": 2, "residual": True},
    # the same with the generic penalty's seeds: auto takes the 1,921 linear-product paths, 7 of whose
    # endpoints sit far out on the global-minimum set (norm 900–4,000), where membership cannot place them
    "222-residual-penalty": {"widths": [2, 2, 2], "samples": 2, "residual": True, "seeds": "penalty"},
    "1221-residual": {"widths": [1, 2, 2, 1], "samples": 2, "residual": True},
}


def config(name: str) -> Any:
    case = CASES[name]
    return parse_config(
        {
            "name": name,
            "architecture": {"widths": case["widths"], "residual": case.get("residual", False)},
            "data": {"samples": case["samples"], "seed": 7, "decimals": 3},
            "regularization": {"kind": "none"},
            "solver": {"seed": 5},
        },
        source="components-depth",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-components.md")))
    args = parser.parse_args()
    names = [name for name in args.cases.split(",") if name]
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; choose from {', '.join(CASES)}")
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_components_table)
    except DLNError as error:
        parser.error(str(error))
    text = [
        f"Command: `python benchmarks/components_depth.py --cases {','.join(names)}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        "λ = 0, data seed 7 rounded to 3 decimals, solver seed 5, default seeds; one case after the other.",
        "",
    ]
    for name in names:
        began = time.perf_counter()
        result = decompose(config(name), seeds=CASES[name].get("seeds", "auto"))
        wall = time.perf_counter() - began
        text += [f"## {name} ({wall:.0f} s)", "", "```text", *result.lines(), "```", ""]
        print(f"{name}: {wall:.0f} s, complete {result.complete}", flush=True)
    with result_file(Path(args.out), "--out", is_components_table) as tmp:
        tmp.write_text("\n".join(text) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
