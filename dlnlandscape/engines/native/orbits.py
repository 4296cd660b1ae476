"""Completing sign-flip orbits: every image of a critical point is a critical point.

For a network without residual layers the hidden-neuron sign flips are exact symmetries of the
loss (DOMAIN.md), so an image of a found nonsingular critical point that no path reached is a
critical point the tracking lost — typically a badly conditioned one (small Λ).  It is added,
refined by Newton, and *marked*: `PathResults.added_by_symmetry` keeps it out of the path
counts, and the summary reports how many were added (HomotopyContinuation.jl's monodromy
uses group actions the same way).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...common.newton import NewtonResult
from ...common.points import SAME_POINT_TOL as DUPLICATE_TOL
from ...common.points import match_points
from ...common.symmetry import missing_images
from ...model.problem import Problem
from ..base import PathResults, ReturnCode


def complete_orbits(
    problem: Problem,
    results: PathResults,
    refine: Callable[[Problem, np.ndarray], NewtonResult],
    accuracy_limit: float,
) -> PathResults:
    """`results` plus a row for every missing sign-flip image of a nonsingular endpoint."""
    if not problem.symmetric:
        return results
    finite = results.is_success() | results.is_singular()
    found = results.solutions[finite]
    seeds = results.solutions[results.is_success()]
    if seeds.shape[0] == 0:
        return results
    missing, _ = missing_images(seeds, problem.sign_flips(), found, DUPLICATE_TOL)
    if missing.shape[0] == 0:
        return results
    refined = refine(problem, missing)
    x, accuracy, residual = refined.points, refined.step, refined.residual
    keep = (accuracy <= accuracy_limit) & (match_points(x, found, DUPLICATE_TOL) < 0)
    x, accuracy, residual = x[keep], accuracy[keep], residual[keep]
    k = x.shape[0]
    if k == 0:
        return results
    with np.errstate(all="ignore"):
        condition = np.linalg.cond(problem.hessian(x))
    added = PathResults(
        solutions=x,
        return_code=np.full(k, int(ReturnCode.SUCCESS), dtype=np.int8),
        residual=residual,
        condition=condition,
        winding_number=np.ones(k, dtype=np.int64),
        steps=np.zeros(k, dtype=np.int64),
        accuracy=accuracy,
        added_by_symmetry=np.ones(k, dtype=bool),
    )
    base = results.take(np.arange(len(results)))
    base.added_by_symmetry = np.zeros(len(results), dtype=bool)
    if base.certified is not None:
        added.certified = np.zeros(k, dtype=bool)
    return PathResults.concatenate([base, added])
