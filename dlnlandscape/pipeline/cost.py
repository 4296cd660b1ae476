"""What a solve will cost, estimated before it starts — and refused when it cannot finish.

A homotopy solve costs (paths tracked) × (seconds per path), and both grow fast with the size:
`widths: [50, 50, 50]` has 5,000 unknowns, so each path step factors a 5,000 × 5,000 Jacobian
and the critical points number ~10^2384 at most.  Without a guard such a run prints nothing
and never ends.  `estimate` gives the order of magnitude in microseconds (closed forms only),
`guard` refuses a run whose estimate is above `MAX_SECONDS` (one line naming the estimate, the
largest size known to finish and `--force`), so a newcomer learns at once what will not work.

The model, fitted to the measurements in README and benchmarks/results-suite*.md (2 shared
cores, one kernel thread):

* **linear-product starts** (`start: multihomogeneous` / `total_degree`): one path per start
  solution — the multihomogeneous (or Bézout) number, known exactly — at `PATH_SECONDS` ×
  (n/8)² each ((2,2,2): 1,921 paths in 6 s; (3,2,3): 127,905 paths in 781 s);
* **monodromy** and the other engines: they track paths between actual solutions, so the cost
  follows the number of critical points, which is not known before the solve.  It is estimated
  as `COUNT_AT_8` × `COUNT_GROWTH`^(n − 8) (225 at 8 unknowns, 977 at 15: the measured generic
  counts), capped by the multihomogeneous and (cached) BKK bounds, at `SOLUTION_SECONDS` ×
  (n/8)² per point ((2,2,2): 225 in 3 s; (2,2,2,2): 641 in 8–12 s; (2,2,2,2,2): ~100 s).

An order of magnitude, not a promise; it errs on both sides by a few times on the measured
cases, which is why the refusal threshold is a day, far above anything measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..analysis.bkk import cached_bkk, unknowns_of
from ..analysis.bounds import architecture_bounds
from ..errors import TooExpensive
from ..model.config import Config

PATH_SECONDS = 3.0e-3  # one linear-product path at 8 unknowns
SOLUTION_SECONDS = 1.3e-2  # one critical point by monodromy at 8 unknowns (loops and target homotopy)
COUNT_AT_8 = 225.0
COUNT_GROWTH = 1.233  # (977 / 225)^(1/7): 8 → 15 unknowns
MAX_SECONDS = 86_400.0  # refused above a day on this kind of machine (--force runs anyway)
LARGEST_KNOWN = (
    "(1,3,3,1), 15 unknowns, 977 critical points by monodromy in ~6 s; (2,2,2,2,2), 16 unknowns, "
    "in ~100 s; (3,2,3) by its 127,905 multihomogeneous start paths in 13 min"
)


@dataclass(frozen=True)
class CostEstimate:
    """The estimated cost of one solve: method, paths (or critical points) in log10, seconds in
    log10, and what the numbers rest on."""

    method: str
    unknowns: int
    paths_log10: float
    seconds_log10: float
    basis: str

    @property
    def seconds(self) -> float:
        return 10.0**self.seconds_log10 if self.seconds_log10 < 300 else math.inf

    @property
    def feasible(self) -> bool:
        return self.seconds <= MAX_SECONDS

    def describe(self) -> str:
        """ "~3 min (monodromy, ~1.2e3 critical points)" — for one line of a message."""
        what = "paths" if "start" in self.method else "critical points"
        return f"~{duration(self.seconds_log10)} ({self.method}, ~{power(self.paths_log10)} {what})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "unknowns": self.unknowns,
            "paths_log10": round(self.paths_log10, 3),
            "seconds_log10": round(self.seconds_log10, 3),
            "seconds": round(self.seconds, 1) if self.seconds_log10 < 15 else None,
            "feasible": self.feasible,
            "basis": self.basis,
        }


def power(log10: float) -> str:
    """10^x as a short number: 1,921 / 1.7e7 / 10^2384."""
    if log10 < 6:
        return f"{round(10**log10):,}"
    if log10 < 300:
        return f"{10**log10:.1e}"
    return f"10^{log10:.0f}"


def duration(log10_seconds: float) -> str:
    if log10_seconds > 9:  # beyond ~30 years, a power of ten says it better
        return f"10^{log10_seconds:.0f} s"
    seconds = 10.0**log10_seconds
    for unit, size in (("days", 86_400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 1 else "1 s"


def start_method(config: Config, n: int) -> str:
    """The path-tracking method the solve will use (the rule of engines/native/engine.py's
    `resolve_start`, restated here so that estimating imports no engine)."""
    start = config.solver.start
    if config.solver.backend == "exact":
        return "msolve (exact)"
    if start == "auto" and config.solver.backend != "julia":
        start = "monodromy" if config.regularization == "generalized" and n > 4 else "multihomogeneous"
    return {"multihomogeneous": "multihomogeneous start", "total_degree": "total-degree start"}.get(start, start)


def estimate(config: Config) -> CostEstimate:
    """The order of magnitude of a solve's cost (see the module docstring); closed forms only."""
    n = unknowns_of(config.widths)
    method = start_method(config, n)
    scale = 2 * math.log10(max(n, 1) / 8)
    b = architecture_bounds(config.widths, config.residual, config.samples, bkk="skip")
    if method in ("multihomogeneous start", "total-degree start"):
        key = "multihomogeneous" if method.startswith("multi") else "bezout"
        paths = math.log10(b[key]) if b[key] else b["log10"][key]
        seconds = paths + math.log10(PATH_SECONDS) + scale
        basis = f"{key} number of start paths × {PATH_SECONDS * 1e3:g} ms·(n/8)² per path"
    else:
        paths = math.log10(COUNT_AT_8) + (n - 8) * math.log10(COUNT_GROWTH)
        caps = [b["log10"]["multihomogeneous"]]
        # the square loss's mixed volume bounds a weighted loss too, not a quadratic form (analysis/bounds.py)
        bkk = cached_bkk(config.widths, config.residual) if n <= 16 and config.loss.kind != "quadratic_form" else None
        if bkk is not None:
            caps.append(math.log10(max(int(bkk["affine"]), 1)))
        paths = max(min([paths, *caps]), 0.0)
        seconds = paths + math.log10(SOLUTION_SECONDS) + scale
        basis = (
            f"critical points ~{COUNT_AT_8:g}·{COUNT_GROWTH}^(n−8) (measured counts), capped by the bounds, "
            f"× {SOLUTION_SECONDS * 1e3:g} ms·(n/8)² each"
        )
    if config.instances > 1:  # one parameter homotopy per point and instance on top
        per_instance = math.log10(config.instances) + paths + math.log10(PATH_SECONDS) + scale
        high, low = max(seconds, per_instance), min(seconds, per_instance)
        seconds = high + math.log10(1 + 10 ** (low - high))
    return CostEstimate(method, n, paths, seconds, basis)


def guard(config: Config, force: bool = False) -> CostEstimate:
    """Raise `TooExpensive` (one line, exit 2, nothing written) when the estimate is above
    `MAX_SECONDS`, unless `force`; return the estimate."""
    cost = estimate(config)
    if not cost.feasible and not force:
        widths = "x".join(map(str, config.widths))
        raise TooExpensive(
            f"{config.source}: architecture.widths {widths} ({cost.unknowns:,} unknowns): estimated "
            f"{cost.describe()}, beyond what can finish (limit {duration(math.log10(MAX_SECONDS))}); the largest "
            f"sizes known to finish here: {LARGEST_KNOWN}; use smaller widths, or pass --force to run anyway "
            "(nothing written)"
        )
    return cost
