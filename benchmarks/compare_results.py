"""Compare two sets of result directories (e.g. before and after a refactoring): every count,
class and coordinate in summary.json and critical_points.csv must agree; timings may differ.

    python benchmarks/compare_results.py BEFORE_ROOT AFTER_ROOT [NAME ...]

Each NAME is a result directory under both roots (default: every directory under BEFORE_ROOT).
Numbers are compared to `--atol` (absolute, after a relative scale of max(1, |value|)); strings,
booleans and integers exactly.  Left out: timings (`seconds`, `*_seconds`, `timings`, peak memory), the
output path recorded in the resolved config, and whether the BKK bound came from the disk
cache.  Exit 0 when everything agrees, 1 otherwise; one line per difference, capped per file.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

# Keys that measure the run rather than its results.
TIMING_KEYS = {
    "seconds",
    "solve_seconds",
    "peak_memory_mib",
    "total",
    "certification_seconds",
    "analysis_seconds",
    "decompose_seconds",
}
# whole blocks of timings (components.json: "seconds": {...}; summary.json: "timings": {...})
TIMING_PARENTS = {"seconds", "timings"}
# The output path differs by construction; `cached` says whether this machine's BKK disk cache
# already held the bound (the numbers themselves are compared).
WHERE_WRITTEN = {"summary.json.config.output.dir", "summary.json.bounds.bkk.cached"}


def _is_timing(key: str) -> bool:
    return key in TIMING_KEYS or key in TIMING_PARENTS or key.endswith("_seconds")


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _same(a: Any, b: Any, atol: float) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a == b:
        return True
    x, y = _numeric(a), _numeric(b)
    if x is not None and y is not None:
        if math.isnan(x) and math.isnan(y):
            return True
        if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
            return a == b
        return abs(x - y) <= atol * max(1.0, abs(x), abs(y))
    return a == b


def compare_json(a: Any, b: Any, where: str, atol: float, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if _is_timing(key) or f"{where}.{key}" in WHERE_WRITTEN:
                continue
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'after' if key in b else 'before'}")
                continue
            compare_json(a[key], b[key], f"{where}.{key}", atol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items before, {len(b)} after")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare_json(x, y, f"{where}[{i}]", atol, out)
    elif not _same(a, b, atol):
        out.append(f"{where}: {a!r} before, {b!r} after")


def compare_csv(a: Path, b: Path, atol: float, out: list[str]) -> int:
    with open(a, newline="") as fa, open(b, newline="") as fb:
        rows_a, rows_b = list(csv.DictReader(fa)), list(csv.DictReader(fb))
    if len(rows_a) != len(rows_b):
        out.append(f"{a.name}: {len(rows_a)} rows before, {len(rows_b)} after")
        return 0
    if rows_a and list(rows_a[0]) != list(rows_b[0]):
        out.append(f"{a.name}: columns differ: {sorted(set(rows_a[0]) ^ set(rows_b[0]))}")
    cells = 0
    for i, (x, y) in enumerate(zip(rows_a, rows_b)):
        for column in x:
            cells += 1
            if column in y and not _same(x[column], y[column], atol):
                out.append(f"{a.name} row {i} {column}: {x[column]!r} before, {y[column]!r} after")
    return cells


def compare_directory(before: Path, after: Path, atol: float) -> tuple[list[str], str]:
    problems: list[str] = []
    checked = []
    for name in ("summary.json", "components.json"):
        if (before / name).exists() or (after / name).exists():
            if not (after / name).exists() or not (before / name).exists():
                problems.append(f"{name}: missing on one side")
                continue
            found: list[str] = []
            compare_json(
                json.loads((before / name).read_text()), json.loads((after / name).read_text()), name, atol, found
            )
            problems += found
            checked.append(name)
    for name in ("critical_points.csv", "instances.csv"):
        if (before / name).exists():
            if not (after / name).exists():
                problems.append(f"{name}: missing after")
                continue
            cells = compare_csv(before / name, after / name, atol, problems)
            checked.append(f"{name} ({cells} cells)")
    return problems, ", ".join(checked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--atol", type=float, default=1e-9)
    parser.add_argument("--show", type=int, default=10, help="differences shown per directory")
    args = parser.parse_args()
    names = args.names or sorted(p.name for p in args.before.iterdir() if p.is_dir())
    bad = 0
    for name in names:
        problems, checked = compare_directory(args.before / name, args.after / name, args.atol)
        status = "agree" if not problems else f"{len(problems)} DIFFERENCES"
        print(f"{name}: {status} — {checked}")
        for line in problems[: args.show]:
            print(f"    {line}")
        bad += bool(problems)
    print(f"{len(names) - bad} of {len(names)} result directories agree (atol {args.atol:g}, timings excluded)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
