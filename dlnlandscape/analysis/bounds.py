"""Upper bounds on the number of complex critical points (docs/mathematics.md, "Counting critical
points").

They cost nothing at any size: Bézout is (2H − 1)^n; the multihomogeneous number has a closed
form (`engines.native.start_systems.layer_bezout`) and, above `EXACT_DIGITS` digits, a log-scale
upper bound instead (`log10_layer_bezout_bound`, microseconds); BKK is read from the disk cache
or computed within a small default budget (`bkk.py`), fully only on request (`bkk="full"`,
`dln check --bkk`).  Numbers above 10^EXACT_DIGITS are given as `None` with their log10 in
`log10` (a JSON reader's double overflows near 10^308, and Python prints ints of at most 4,300
digits), which no solvable system comes near.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ..engines.native.start_systems import layer_bezout, log10_layer_bezout_bound
from ..model.problem import Problem
from .bkk import bkk_bound, bkk_full, unknowns_of

EXACT_DIGITS = 300
BkkMode = Literal["budget", "full", "skip"]


def bounds(problem: Problem, samples: int, bkk: BkkMode = "budget") -> dict[str, Any]:
    """Bézout, multihomogeneous Bézout (one group per layer), BKK (mixed volumes, bkk.py: from the
    disk cache, or within the default budget, or — `bkk="full"` — without it, or `"skip"`) and,
    for one hidden layer and one sample, Bharadwaj's bounds.  Exact integers, or None with the
    log10 beside (see the module docstring)."""
    return architecture_bounds(problem.widths, problem.residual, samples, bkk, problem.data_loss.kind)


def architecture_bounds(
    widths: tuple[int, ...], residual: bool, samples: int, bkk: BkkMode = "budget", loss: str = "square"
) -> dict[str, Any]:
    """`bounds` from the architecture and the loss's kind alone (they hold for every data and Λ).

    Other losses (model/loss.py): Bézout and the multihomogeneous bound depend on the degrees
    only, which no quadratic data term changes.  A weighted loss has the square loss's supports
    (each output row is still a sum of squares of its own residuals), so BKK holds too; a
    quadratic form couples output rows — P_ab·P_cd with a ≠ c — so the square loss's mixed
    volume is no bound for it.  Bharadwaj's bounds are proven for the square loss only."""
    widths = tuple(int(w) for w in widths)
    H = len(widths) - 1
    n = unknowns_of(widths)
    sizes = tuple(a * b for a, b in zip(widths[:-1], widths[1:]))
    log_bezout = n * math.log10(2 * H - 1) if H > 1 else 0.0
    bezout = (2 * H - 1) ** n if log_bezout <= EXACT_DIGITS else None
    log_multi = log10_layer_bezout_bound(sizes) if H > 1 else 0.0
    multi = (layer_bezout(sizes) if H > 1 else 1) if log_multi <= EXACT_DIGITS else None
    out: dict[str, Any] = {
        "bezout": bezout,
        "multihomogeneous": multi,
        "log10": {
            "bezout": round(log_bezout, 3),
            "multihomogeneous": round(math.log10(multi) if multi else log_multi, 3),
        },
    }
    if bezout is None or multi is None:
        out["log10"]["note"] = f"numbers above 10^{EXACT_DIGITS} are given in log10 only" + (
            "; the multihomogeneous one is that of an upper bound (saddle point)" if multi is None else ""
        )
    if bkk != "skip" and loss == "quadratic_form":
        out["bkk"] = {
            "status": "not computed",
            "reason": "a quadratic_form loss couples output rows: the square loss's supports do not bound it",
        }
    elif bkk == "full":
        out["bkk"] = bkk_full(widths, residual)
    elif bkk == "budget":
        out["bkk"] = bkk_bound(widths, residual)
    residual_layers = residual and any(a == b for a, b in zip(widths[:-1], widths[1:]))
    if (
        loss == "square"
        and H == 2
        and samples == 1
        and not residual_layers
        and widths[1] * math.log10(1 + 4 * widths[2]) <= EXACT_DIGITS
    ):
        d1, dH = widths[1], widths[2]
        out["one_hidden_layer_one_sample"] = {
            "all": (1 + 4 * dH) ** d1,
            "no_zero_coordinate": (4 * dH) ** d1,
            "one_active_neuron": 4 * dH * d1,
            "source": "Bharadwaj (thesis), precursor of Bharadwaj–Hoşten; bounds for generic data and Λ",
        }
    return out


def describe_bound(value: int | None, log10: float, upper: bool = False) -> str:
    """A bound for people: the number when it is short, else ≈ 10^x (≤ 10^x when `upper`: the
    log10 is that of a bound on the bound)."""
    if value is not None and value < 10**15:
        return str(value)
    return f"{'≤' if upper and value is None else '≈'} 10^{log10:.1f}"
