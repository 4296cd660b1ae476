"""Group numerically equal points: the basis of de-duplication and path-jump detection.

Two points are equal when they agree to `tol` relative to their size in the max-norm.  Pairs
are found in chunks (memory stays O(chunk · k)), and clusters are the connected components of
that relation, found by vectorised label propagation rather than a loop over points.
"""

from __future__ import annotations

import numpy as np


def close_pairs(points: np.ndarray, tol: float, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i < j) of points within tol·max(1, ‖p_i‖∞) of each other."""
    k = points.shape[0]
    scale = np.maximum(1.0, np.abs(points).max(axis=1)) if k else np.ones(0)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for lo in range(0, k, chunk):
        block = points[lo : lo + chunk]
        dist = np.abs(block[:, None, :] - points[None, :, :]).max(axis=2)
        near = dist <= tol * scale[lo : lo + chunk, None]
        i, j = np.nonzero(near)
        i = i + lo
        keep = i < j
        rows.append(i[keep])
        cols.append(j[keep])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def cluster_labels(points: np.ndarray, tol: float) -> np.ndarray:
    """Label of each point's cluster: the smallest index in its connected component."""
    k = points.shape[0]
    labels = np.arange(k)
    i, j = close_pairs(points, tol)
    if i.size == 0:
        return labels
    while True:
        before = labels.copy()
        low = np.minimum(labels[i], labels[j])
        np.minimum.at(labels, i, low)
        np.minimum.at(labels, j, low)
        labels = labels[labels]  # pointer jumping
        if np.array_equal(labels, before):
            return labels


def unique_points(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(representatives' indices, label per point, multiplicity per representative)."""
    labels = cluster_labels(points, tol)
    reps, counts = np.unique(labels, return_counts=True)
    return reps, labels, counts
