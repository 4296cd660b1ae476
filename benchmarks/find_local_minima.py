"""Search small networks for real local minima that are not global (issue 6).

Mehta et al. report that generalised L2 regularisation creates local minima that are not
global. The solver finds *all* critical points, so a search is a grid of small solves:
architectures x samples x data seeds x Λ seeds x Λ ranges x penalty conventions, each solved by
the native engine, keeping every configuration whose real critical points include one of class
`local_minimum` (Hessian positive definite, loss above the lowest real critical value).

Usage:
    python benchmarks/find_local_minima.py --architectures 2-1-2,2-2-2 --samples 1,2,3 \\
        --data-seeds 0-9 --lambda-seeds 1 --ranges 0.1:1,0.5:2,1:3 --conventions squared,linear

Prints one Markdown row per hit (stdout) and a last line with how many configurations were
searched and how many had a local minimum; `--progress` adds one line per solve on stderr.
Data and Λ are rounded to `--decimals` so every hit can be cross-checked exactly by msolve.

What it found (2,740 configurations, 96 with a local minimum that is not global):
- depth 3, (1,1,1,1) and (2,1,1,2), m 1-3, data seeds 0-4, Λ in [0.1,1], [0.3,1.5], [0.5,2], [1,3],
  both conventions: 75 of 1,080 (with the 840 one-hidden-layer cases of the same grid, which
  have none). 65 are the origin (DOMAIN.md: a strict local minimum for H ≥ 3); in the other 10
  the origin is the *global* minimum and a non-zero sign-flip orbit of 4 is a local minimum.
- one hidden neuron, (2,1,2), (3,1,2), (2,1,3), (3,1,3), m 1-3, data seeds 0-9, Λ seeds 1-3, Λ in
  [0.01,1], [0.05,2], [0.1,3], squared: 19 of 1,080, all off the origin (m ≥ 2 only); linear
  convention, first three architectures, [0.01,1] and [0.05,2]: 1 of 540. A wide Λ spread is
  what makes the rank-one map stable in a second-best direction.
- (2,2,2), m 2-3, data seeds 0-4, Λ seeds 1-2, Λ in [0.01,1], [0.05,2]: 1 of 40.
The showcase, configs/local-minimum.yaml, is (3,1,2), m = 3, data seed 5, Λ seed 3, [0.05, 2].
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

import numpy as np

from dlnlandscape.model.config import Config, parse_config
from dlnlandscape.pipeline import solve

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

DEFAULT_ARCHITECTURES = "1-1-1,2-1-2,1-2-1,2-2-2,1-2-2,2-2-1,2-1-1,1-1-2,2-1-1-2,1-1-1-1,1-2-1-1"


def unknowns(widths: tuple[int, ...]) -> int:
    """n = Σ d_i d_{i−1}, the number of weights."""
    return sum(a * b for a, b in zip(widths, widths[1:]))


@dataclass(frozen=True)
class Case:
    """One configuration of the grid."""

    widths: tuple[int, ...]
    samples: int
    data_seed: int
    lambda_seed: int
    low: str  # as typed, for the table (the drawn Λ entries are rounded to --decimals anyway)
    high: str
    convention: str

    def config(self, decimals: int, solver_seed: int) -> Config:
        return parse_config(
            {
                "name": "find-local-minima",
                "architecture": {"widths": list(self.widths)},
                "data": {"samples": self.samples, "seed": self.data_seed, "decimals": decimals},
                "regularization": {
                    "kind": "generalized",
                    "low": float(self.low),
                    "high": float(self.high),
                    "seed": self.lambda_seed,
                    "convention": self.convention,
                    "decimals": decimals,
                },
                "solver": {"backend": "native", "seed": solver_seed, "threads": 1},
            },
            source="find_local_minima",
        )


@dataclass(frozen=True)
class Hit:
    """The local minima of one configuration, summarised for the table."""

    case: Case
    count: int  # local minima (points)
    orbits: int  # ... up to hidden-neuron sign flips
    losses: tuple[float, ...]  # one per orbit, ascending
    global_loss: float
    morse_index: int  # the largest Morse index among them: 0 for true minima
    min_eigenvalue: float  # the smallest Hessian eigenvalue over all of them
    max_residual: float
    at_origin: bool  # the origin is among them
    complete: bool


def _ints(text: str) -> list[int]:
    """'0-3,7' → [0, 1, 2, 3, 7]."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _architectures(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in arch.split("-")) for arch in text.split(",")]


def _ranges(text: str) -> list[tuple[str, str]]:
    """'0.1:1,0.5:2' → [('0.1', '1'), ('0.5', '2')]."""
    pairs = []
    for part in text.split(","):
        low, _, high = part.partition(":")
        try:
            ok = 0 < float(low) < float(high)
        except ValueError:
            ok = False
        if not ok:
            raise SystemExit(f"--ranges: {part!r} must be low:high with 0 < low < high")
        pairs.append((low, high))
    return pairs


def cases(args: argparse.Namespace) -> Iterator[Case]:
    """The grid, skipping architectures with more than --max-unknowns weights."""
    grid = product(
        _architectures(args.architectures),
        _ints(args.samples),
        _ints(args.data_seeds),
        _ints(args.lambda_seeds),
        _ranges(args.ranges),
        args.conventions.split(","),
    )
    for widths, m, data_seed, lambda_seed, (low, high), convention in grid:
        if unknowns(widths) <= args.max_unknowns:
            yield Case(widths, m, data_seed, lambda_seed, low, high, convention)


def local_minima(case: Case, decimals: int, solver_seed: int) -> Hit | None:
    """Solve one configuration; its local minima, or None when it has none."""
    run = solve(case.config(decimals, solver_seed))
    points = run.points
    hit = np.flatnonzero(points.is_real & (points.cls == "local_minimum"))
    if hit.size == 0:
        return None
    losses = points.loss.real
    orbit_ids = np.unique(points.orbit[hit])
    return Hit(
        case=case,
        count=int(hit.size),
        orbits=int(orbit_ids.size),
        losses=tuple(sorted(float(losses[i]) for i in orbit_ids)),
        global_loss=float(losses[points.is_real].min()),
        morse_index=int(points.hessian_index[hit].max()),
        min_eigenvalue=float(points.min_eigenvalue[hit].min()),
        max_residual=float(points.residual[hit].max()),
        at_origin=bool(np.any(np.abs(points.solutions[hit]).max(axis=1) < 1e-10)),
        complete=bool(run.summary["complete"]),
    )


HEADER = (
    "| widths | m | data seed | Λ seed | Λ range | convention | local minima (orbits) | origin? "
    "| local-minimum losses | global loss | Morse index | min Hessian eigenvalue | max residual | complete |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(hit: Hit) -> str:
    c = hit.case
    losses = ", ".join(f"{value:.6g}" for value in hit.losses)
    return (
        f"| {'-'.join(map(str, c.widths))} | {c.samples} | {c.data_seed} | {c.lambda_seed} | [{c.low}, {c.high}] "
        f"| {c.convention} | {hit.count} ({hit.orbits}) | {'yes' if hit.at_origin else 'no'} | {losses} "
        f"| {hit.global_loss:.6g} | {hit.morse_index} | {hit.min_eigenvalue:.3g} | {hit.max_residual:.1e} "
        f"| {'yes' if hit.complete else 'no'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--architectures", default=DEFAULT_ARCHITECTURES, help="widths joined by '-', comma-separated")
    parser.add_argument("--samples", default="1-3", help="m values, e.g. 1-3 or 1,3")
    parser.add_argument("--data-seeds", default="0-4", help="data seeds, e.g. 0-9")
    parser.add_argument("--lambda-seeds", default="1", help="regularization seeds")
    parser.add_argument("--ranges", default="0.1:1,0.5:2,1:3", help="Λ ranges low:high, comma-separated")
    parser.add_argument("--conventions", default="squared,linear", help="squared and/or linear")
    parser.add_argument("--decimals", type=int, default=3, help="round data and Λ (exact cross-checks)")
    parser.add_argument("--max-unknowns", type=int, default=8, help="skip larger architectures")
    parser.add_argument("--solver-seed", type=int, default=42)
    parser.add_argument("--no-origin", action="store_true", help="list only hits with a local minimum off the origin")
    parser.add_argument("--progress", action="store_true", help="one line per solve on stderr")
    args = parser.parse_args(argv)

    if not set(args.conventions.split(",")) <= {"squared", "linear"}:
        parser.error(f"--conventions: {args.conventions!r} must be squared and/or linear")
    grid = list(cases(args))  # parsed before the first solve: a typo fails at once
    too_big = [w for w in _architectures(args.architectures) if unknowns(w) > args.max_unknowns]
    if too_big:
        print(f"skipped (more than {args.max_unknowns} unknowns): {too_big}", file=sys.stderr)
    hits: list[Hit] = []
    began = time.perf_counter()
    print(HEADER, flush=True)
    for number, case in enumerate(grid, 1):
        t0 = time.perf_counter()
        hit = local_minima(case, args.decimals, args.solver_seed)
        if args.progress:
            took = time.perf_counter() - t0
            found = hit.count if hit else 0
            print(f"[{number}/{len(grid)}] {case}: {found} local minima, {took:.2f} s", file=sys.stderr)
        if hit:
            hits.append(hit)
            if not (args.no_origin and hit.at_origin and hit.orbits == 1):
                print(row(hit), flush=True)
    off_origin = sum(1 for h in hits if not (h.at_origin and h.orbits == 1))
    print(
        f"\n{len(grid)} configurations searched in {time.perf_counter() - began:.0f} s; {len(hits)} with a local "
        f"minimum that is not global, {off_origin} of them with one off the origin."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
