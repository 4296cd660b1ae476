"""Prop. 8 on the components: where the non-strict saddles lie.

Why.  AMG's Theorem 7 classifies a component by its general point (analysis.second_order.
component_class), and from three weight matrices on, a component whose general point is a
strict saddle with S = {1..r}, r < r_max, can contain a closed sub-locus of *tightened* points —
non-strict saddles, which Prop. 8 says exist for every such r.  A generic witness point never
shows them, and the initial solve's endpoints rarely land on them.

What is done.  For every r < r_max (H ≥ 3, AMG's setting) a few tightened critical points with
S = {1..r} are built (second_order.critical_point: every pivot block of rank exactly r) and
then (a) classified by Theorem 7 and by the Hessian — a non-strict saddle has no negative
eigenvalue, so one is a contradiction — and (b) located: the component containing each is found
by moving witness sets to the slice through it (witness.contains, via run._membership).  Every
critical point lies on some component, so a tightened point on no component found leaves the
decomposition incomplete.  r = 0 is the origin, on every component of the P = 0 set (each is a
cone: zero_layers.py) and a singular point of each, where membership cannot be tested by
moving witness sets; it is classified, not located.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis.classify import eigen_signature, hessian_rounding
from ..analysis.second_order import component_class, critical_point, setting
from ..model.problem import Problem

POINTS_PER_RANK = 2  # tightened points built per r


def tightened_points(
    problem: Problem,
    general_classes: list[str | None],
    locate: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Per r < r_max (H ≥ 3, AMG's setting; [] otherwise): the tightened points built, their
    class by Theorem 7 and by the Hessian, and the components `locate` puts them on (indices
    into `general_classes`, each component's class at its general point; −1: none)."""
    found, _ = setting(problem)
    if found is None or problem.depth < 3:
        return []
    out = []
    for r in range(found.r_max):
        count = 1 if r == 0 else POINTS_PER_RANK
        x = np.array([critical_point(problem, found, list(range(r)), True, rng) for _ in range(count)])
        amg = [component_class(problem, point)["class"] for point in x]
        eig = np.linalg.eigvalsh(problem.hessian(x.astype(complex)).real)
        index, corank = eigen_signature(eig, hessian_rounding(problem, x))
        on = np.full(count, -1) if r == 0 else locate(x)
        out.append(
            {
                "rank": r,
                "subset": list(range(1, r + 1)),
                "points": count,
                "amg": amg,
                "hessian_index": index.tolist(),
                "hessian_corank": corank.tolist(),
                # Theorem 7 against the Hessian: non-strict ⇔ no negative eigenvalue
                "contradictions": int(sum((a == "non_strict_saddle") != (i == 0) for a, i in zip(amg, index))),
                "on_components": on.tolist(),
                "component_classes": [general_classes[c] if c >= 0 else None for c in on.tolist()],
            }
        )
    return out


__all__ = ["POINTS_PER_RANK", "tightened_points"]
