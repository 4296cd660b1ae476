"""The critical values of the unregularised loss in closed form, and matching components to them.

For Λ = 0 and no residual layers the critical values are known in closed form (Achour,
Malgouyres & Gerchinovitz, JMLR 25, 2024; the spectrum is `common.linalg.data_spectrum`, the
one analysis/theory.py's rank criterion uses):
½tr(YYᵀ) − ½Σ_{i∈S} μ_i over subsets S of size ≤ r_max = min(d_0..d_H), μ_i the eigenvalues of
Y Xᵀ (X Xᵀ)⁻¹ X Yᵀ, scaled as `Problem.loss` is.  The loss is constant on every component, so
each component found should match one of them; a value no component matches is a component the
initial solve left no endpoint on.  It is an independent check of the whole decomposition.

The values are plain JSON-shaped records (they go to components.json as they are), typed with
`TypedDict`.
"""

from __future__ import annotations

from itertools import combinations
from typing import TypedDict

import numpy as np

from ..common.linalg import data_spectrum
from ..model.problem import Problem

CLOSED_FORM_TOL = 1e-8  # relative agreement of a component's loss with a closed-form value


class _ClosedFormValueRequired(TypedDict):
    value: float
    subsets: list[list[int]]  # every S (1-based eigenvalue indices) giving this value
    found: bool  # some component has this loss


class ClosedFormValue(_ClosedFormValueRequired, total=False):
    """One closed-form critical value; `relative_difference` once a component matched it (the
    largest over the components that did)."""

    relative_difference: float


class ClosedFormMatch(TypedDict):
    """The closed-form value a component's loss matches."""

    subset: list[int]
    value: float
    relative_difference: float


def closed_form_values(problem: Problem) -> list[ClosedFormValue] | None:
    """Critical values of the unregularised, non-residual loss (Achour et al.), or None when
    the formula does not apply (penalty, residual layers, a loss other than the square one, or
    X Xᵀ singular)."""
    if any(np.any(c != 0) for c in problem.penalty) or any(problem.residual_layers) or not problem.data_loss.square:
        return None
    # Problem's S = s X Xᵀ, T = s Y Xᵀ, so T S⁻¹ Tᵀ = s · Y Xᵀ (X Xᵀ)⁻¹ X Yᵀ: eigenvalues s·μ_i,
    # bounded by s‖Y‖²_F (the spectrum is theory's too: rounding-level eigenvalues are exactly 0)
    bound = problem.scale * float(np.sum(problem.Y * problem.Y))
    spectrum = data_spectrum(problem.S, problem.T, bound)
    if spectrum is None:  # X Xᵀ singular
        return None
    mu = spectrum.values
    base = 0.5 * problem.scale * float(np.sum(problem.Y * problem.Y))
    r_max = min(problem.widths)
    values: list[ClosedFormValue] = []
    for size in range(r_max + 1):
        for subset in combinations(range(len(mu)), size):
            value = base - 0.5 * float(np.sum(mu[list(subset)]))
            same = [v for v in values if abs(v["value"] - value) <= CLOSED_FORM_TOL * max(1.0, abs(value))]
            if same:  # equal eigenvalues (e.g. zeros when d_H > rank) give one value
                same[0]["subsets"].append([i + 1 for i in subset])
            else:
                values.append({"value": value, "subsets": [[i + 1 for i in subset]], "found": False})
    return sorted(values, key=lambda v: v["value"])


def match_closed_form(losses: np.ndarray, values: list[ClosedFormValue]) -> list[ClosedFormMatch | None]:
    """The nearest closed-form value of every loss when within CLOSED_FORM_TOL (else None);
    the values matched are marked `found`, with the largest relative difference seen."""
    table = np.array([v["value"] for v in values])
    matches: list[ClosedFormMatch | None] = []
    for loss in losses:
        rel = np.abs(loss - table) / np.maximum(np.abs(table), 1e-12)  # a value 0 (exact fit): absolute
        best = int(np.argmin(rel))
        if rel[best] > CLOSED_FORM_TOL:
            matches.append(None)
            continue
        entry = values[best]
        matches.append(
            {"subset": entry["subsets"][0], "value": float(table[best]), "relative_difference": float(rel[best])}
        )
        entry["found"] = True
        entry["relative_difference"] = max(float(rel[best]), entry.get("relative_difference", 0.0))
    return matches


__all__ = ["CLOSED_FORM_TOL", "ClosedFormMatch", "ClosedFormValue", "closed_form_values", "match_closed_form"]
