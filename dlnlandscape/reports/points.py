"""The critical-points table: its columns, its row order and its rows — shared by
critical_points.csv, the instances table and the Python API's `result.points`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.points import CriticalPoints
from ..model.problem import Problem

COLUMNS = (
    "id",
    "real",
    "loss",
    "loss_imag",
    "hessian_index",
    "class",
    "zero_eigenvalues",
    "min_eigenvalue",
    "max_eigenvalue",
    "singular",
    "multiplicity",
    "residual",
    "condition",
    "rank_end_to_end",
    "partial_ranks",
    "zero_pattern",
    "zero_count",
    "zero_class",
    "saddle_type",
    "pure_spurious",
    "eigen_subset",
    "rank_criterion",
    "tightened",
    "rank_margin",
    "orbit",
    "orbit_size",
    "certified",
)


def point_order(points: CriticalPoints) -> np.ndarray:
    """Real points first, by loss; then the rest by |loss|."""
    key_real = np.where(points.is_real, 0, 1)
    return np.lexsort((np.abs(points.loss), points.loss.real, key_real))


def critical_points_rows(problem: Problem, points: CriticalPoints) -> list[dict[str, Any]]:
    rows = []
    order = point_order(points)
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    names = problem.variable_names
    for new_id, i in enumerate(order):
        real = bool(points.is_real[i])
        row: dict[str, Any] = {
            "id": new_id,
            "real": real,
            "loss": float(points.loss[i].real),
            "loss_imag": float(points.loss[i].imag),
            "hessian_index": int(points.hessian_index[i]) if real else "",
            "class": points.cls[i],
            "zero_eigenvalues": int(points.zero_eigenvalues[i]) if real else "",
            "min_eigenvalue": float(points.min_eigenvalue[i]) if real else "",
            "max_eigenvalue": float(points.max_eigenvalue[i]) if real else "",
            "singular": bool(points.singular[i]),
            "multiplicity": int(points.multiplicity[i]),
            "residual": float(points.residual[i]),
            "condition": float(points.condition[i]),
            "rank_end_to_end": int(points.rank_end_to_end[i]),
            "partial_ranks": points.partial_ranks[i],
            "zero_pattern": points.zero_pattern[i],
            "zero_count": int(points.zero_count[i]),
            "zero_class": points.zero_class[i],
            "saddle_type": points.saddle_type[i],
            "pure_spurious": points.pure_spurious[i],
            "eigen_subset": points.eigen_subset[i],
            "rank_criterion": points.rank_criterion[i],
            "tightened": points.tightened[i] if points.tightened.size else "",
            "rank_margin": _margin(points, i),
            "orbit": int(renumber[points.orbit[i]]),
            "orbit_size": int(points.orbit_size[i]),
            "certified": "" if points.certified is None else bool(points.certified[i]),
        }
        for name, value in zip(names, points.solutions[i]):
            row[name] = float(value.real)
            row[f"{name}_imag"] = float(value.imag)
        rows.append(row)
    return rows


def _margin(points: CriticalPoints, i: int) -> float | str:
    """The rank decisions' margin in decades, rounded; '' where no rank decision was made."""
    if not points.rank_margin.size or not np.isfinite(points.rank_margin[i]):
        return ""
    return round(float(points.rank_margin[i]), 2)


def critical_points_columns(problem: Problem) -> list[str]:
    """Every column of critical_points.csv: the fixed ones, then each coordinate's real and
    imaginary part."""
    return list(COLUMNS) + [f"{name}{suffix}" for name in problem.variable_names for suffix in ("", "_imag")]
