"""The classified critical points of one solve: a record of arrays over the distinct points.

Its own module because both the classification (classify.py) and the theory columns
(theory.py) read it, and neither should import the other to do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSES = ("global_minimum", "local_minimum", "saddle", "maximum", "degenerate")


@dataclass
class CriticalPoints:
    """Distinct finite critical points and their classification (arrays over points)."""

    solutions: np.ndarray  # (k, n) complex
    multiplicity: np.ndarray  # (k,) paths ending at the point
    singular: np.ndarray  # (k,) bool
    residual: np.ndarray  # (k,) ‖∇L‖∞
    condition: np.ndarray  # (k,)
    is_real: np.ndarray  # (k,) bool
    loss: np.ndarray  # (k,) complex (real for real points)
    hessian_index: np.ndarray  # (k,) int, −1 for non-real points
    zero_eigenvalues: np.ndarray  # (k,) int, −1 for non-real points
    min_eigenvalue: np.ndarray  # (k,) float, NaN for non-real points
    max_eigenvalue: np.ndarray  # (k,)
    eigenvalues: np.ndarray  # (k, n) float, NaN rows for non-real points
    cls: np.ndarray  # (k,) object: class name, "" for non-real points
    zero_pattern: np.ndarray  # (k,) object: per layer 0/1 strings joined by '|'
    zero_count: np.ndarray  # (k,) int
    rank_end_to_end: np.ndarray  # (k,) int
    partial_ranks: np.ndarray  # (k,) object: "i-j:r;..." ranks of W_j⋯W_i
    orbit: np.ndarray  # (k,) int orbit id (smallest member index)
    orbit_size: np.ndarray  # (k,)
    orbit_missing: int = 0  # sign-flip images of found points that were not found
    notes: list[str] = field(default_factory=list)
    # theory columns (theory.py)
    product_ranks: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (i, j) → rank of M_j⋯M_i
    neuron_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3), dtype=np.int64))
    zero_class: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    saddle_type: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    pure_spurious: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    eigen_subset: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    rank_criterion: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    tightened: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # AMG's flag
    rank_margin: np.ndarray = field(default_factory=lambda: np.empty(0))  # decades; NaN where none
    rank_contradictions: int = 0  # points where AMG's Theorem 7 and statements 2–4 disagree (must be 0)
    certified: np.ndarray | None = None  # (k,) bool once certify.py ran: a proven, distinct exact critical point

    def __len__(self) -> int:
        return int(self.solutions.shape[0])

    def class_counts(self) -> dict[str, Any]:
        real = self.is_real
        by_class = {c: int(np.sum(self.cls[real] == c)) for c in CLASSES}
        index = self.hessian_index[real]
        by_index = {str(int(i)): int(np.sum(index == i)) for i in np.unique(index)}
        return {"by_class": by_class, "by_morse_index": by_index}
