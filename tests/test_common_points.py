"""common/points.py: grouping numerically equal points against brute force, on point sets whose
sizes span many orders of magnitude (windows of different widths) and with near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.common.points import close_pairs, cluster_labels, match_points


def _points(seed: int, k: int = 300, n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((k, n)) + 1j * rng.standard_normal((k, n))
    base *= 10.0 ** rng.integers(-2, 5, (k, 1))  # sizes from 1e-2 to 1e4
    twins = base[rng.integers(0, k, k // 3)] * (1 + 1e-8 * rng.standard_normal((k // 3, 1)))
    near_miss = base[rng.integers(0, k, k // 5)] * (1 + 3e-6)
    return np.concatenate([base, twins, near_miss])


def _brute_pairs(points: np.ndarray, tol: float) -> set[tuple[int, int]]:
    scale = np.maximum(1.0, np.abs(points).max(axis=1))
    dist = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2)
    close = dist <= tol * np.maximum(scale[:, None], scale[None, :])
    i, j = np.nonzero(np.triu(close, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_close_pairs_are_every_close_pair_once(seed: int):
    points = _points(seed)
    i, j = close_pairs(points, 1e-6)
    found = list(zip(i.tolist(), j.tolist(), strict=True))
    assert len(found) == len(set(found)) and all(a < b for a, b in found)
    assert set(found) == _brute_pairs(points, 1e-6)
    labels = cluster_labels(points, 1e-6)
    for a, b in found:
        assert labels[a] == labels[b]
    assert np.all(labels <= np.arange(points.shape[0]))


@pytest.mark.parametrize("seed", [0, 5])
def test_match_points_finds_the_nearest_reference_within_tolerance(seed: int):
    rng = np.random.default_rng(seed)
    refs = _points(seed)
    queries = np.concatenate([refs[rng.integers(0, len(refs), 200)] * (1 + 1e-9), _points(seed + 100)[:100]])
    got = match_points(queries, refs, 1e-6)
    radius = 1e-6 * np.maximum(1.0, np.abs(queries).max(axis=1))
    dist = np.abs(queries[:, None, :] - refs[None, :, :]).max(axis=2)
    nearest = dist.argmin(axis=1)
    expected = np.where(dist[np.arange(len(queries)), nearest] <= radius, nearest, -1)
    hit = got >= 0
    assert np.array_equal(hit, expected >= 0)
    # the nearest, up to ties between equally near references (duplicated twins)
    assert np.allclose(dist[np.flatnonzero(hit), got[hit]], dist[np.flatnonzero(hit), expected[hit]], rtol=0, atol=0)
