"""Upper bounds on the number of complex critical points (DOMAIN.md, "Counting critical points")."""

from __future__ import annotations

from typing import Any

from ..engines.native.start_systems import multihomogeneous_bezout
from ..model.problem import Problem
from .bkk import bkk_bound


def bounds(problem: Problem, samples: int) -> dict[str, Any]:
    """Bézout, multihomogeneous Bézout (one group per layer), BKK (mixed volumes, bkk.py; within
    a time and size limit, else the reason) and, for one hidden layer and one sample,
    Bharadwaj's bounds.  Exact integers."""
    H = problem.depth
    out: dict[str, Any] = {
        "bezout": (2 * H - 1) ** problem.n,
        "multihomogeneous": multihomogeneous_bezout(problem.multidegrees, _sizes(problem)),
        "bkk": bkk_bound(problem.widths, problem.residual),
    }
    if H == 2 and samples == 1 and not any(problem.residual_layers):
        d1, dH = problem.widths[1], problem.widths[2]
        out["one_hidden_layer_one_sample"] = {
            "all": (1 + 4 * dH) ** d1,
            "no_zero_coordinate": (4 * dH) ** d1,
            "one_active_neuron": 4 * dH * d1,
            "source": "Bharadwaj (thesis), precursor of Bharadwaj–Hoşten; bounds for generic data and Λ",
        }
    return out


def _sizes(problem: Problem) -> Any:
    import numpy as np

    return np.array(problem.group_sizes, dtype=np.int64)
