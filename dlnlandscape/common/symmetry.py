"""The hidden-neuron sign-flip group acting on arrays of points.

Flipping the sign of hidden neuron j negates its incoming row and outgoing column and leaves the
loss unchanged (DOMAIN.md, "Symmetries"), so the critical points fall into orbits of the group
{±1}^h.  The group acts coordinate-wise: every element is a sign vector s ∈ {±1}ⁿ and the image
of x is s ∘ x.  `model.Problem.sign_flips()` builds the (2^h, n) sign matrix from the
architecture; everything here takes that matrix as an array, so analysis, the native engine's
monodromy and its orbit completion share one implementation of what an orbit is.

Orbits are found, never enumerated per point: all k·2^h images are matched against the points
at once (`common.points.match_points`, cost O(k 2^h log k)), and since the images of x are the
whole orbit of x, an orbit's id is the smallest index among the matches.  A point whose images
are missing from the set still gets a consistent id from the members that are there; the
missing images are counted separately — they are critical points some solve lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .points import SAME_POINT_TOL, match_points, unique_points


def images(points: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """All images, (k · g, n): row i·g + j is points[i] under group element j."""
    return (points[:, None, :] * signs[None]).reshape(-1, points.shape[1])


# Complex entries of images made at once.  All k·g images of 26,625 points of (1,2,2,2,2,1)
# under its 256 flips are 1.7 GB, and matching them several times that (measured: 5.5 GB peak
# RSS in the classification); in chunks of points the peak stays near 64 MB per chunk.
IMAGE_CHUNK = 1 << 22


def point_chunks(points: np.ndarray, signs: np.ndarray) -> list[slice]:
    """Slices of `points` whose images fit in IMAGE_CHUNK entries each."""
    rows = max(1, IMAGE_CHUNK // max(1, signs.shape[0] * points.shape[1]))
    return [slice(first, first + rows) for first in range(0, points.shape[0], rows)]


def match_images(
    points: np.ndarray, signs: np.ndarray, among: np.ndarray | None = None, tol: float = SAME_POINT_TOL
) -> np.ndarray:
    """(k, g): the index in `among` (default: the points themselves) of every image, or −1
    (images made and matched a chunk of points at a time)."""
    reference = points if among is None else among
    match = np.empty((points.shape[0], signs.shape[0]), dtype=np.int64)
    for rows in point_chunks(points, signs):
        match[rows] = match_points(images(points[rows], signs), reference, tol).reshape(-1, signs.shape[0])
    return match


def orbit_ids(points: np.ndarray, signs: np.ndarray, tol: float = SAME_POINT_TOL) -> np.ndarray:
    """For distinct points, the id of each one's orbit: the smallest index of a member."""
    k = points.shape[0]
    match = match_images(points, signs, tol=tol)
    return np.minimum(np.where(match < 0, k, match).min(axis=1, initial=k), np.arange(k))


def representatives(points: np.ndarray, signs: np.ndarray, tol: float = SAME_POINT_TOL) -> np.ndarray:
    """Indices of one point per orbit among distinct points (the smallest index), ascending."""
    return np.unique(orbit_ids(points, signs, tol))


@dataclass(frozen=True)
class Orbits:
    """The orbit structure of a set of distinct points."""

    id: np.ndarray  # (k,) smallest index of a member of the point's orbit
    size: np.ndarray  # (k,) members of that orbit among the points
    missing: int  # distinct images of the points that are not among them


def orbits(points: np.ndarray, signs: np.ndarray, tol: float = SAME_POINT_TOL) -> Orbits:
    """Orbit ids, orbit sizes and the number of missing images of distinct points."""
    k = points.shape[0]
    if k == 0:
        return Orbits(id=np.arange(0), size=np.ones(0, dtype=int), missing=0)
    match = match_images(points, signs, tol=tol)
    lost = match < 0
    missing = 0
    if lost.any():  # distinct missing images (an image of a point fixed by some flips repeats)
        absent = [images(points[rows], signs)[lost[rows].ravel()] for rows in point_chunks(points, signs)]
        missing = len(unique_points(np.concatenate(absent), tol)[0])
    orbit = np.minimum(np.where(lost, k, match).min(axis=1), np.arange(k))
    _, inverse, sizes = np.unique(orbit, return_inverse=True, return_counts=True)
    return Orbits(id=orbit, size=sizes[inverse], missing=missing)


def closure(points: np.ndarray, signs: np.ndarray, tol: float = SAME_POINT_TOL) -> np.ndarray:
    """The distinct images of the points: the union of their orbits."""
    all_images = images(points, signs)
    return all_images[unique_points(all_images, tol)[0]]


def missing_images(
    seeds: np.ndarray, signs: np.ndarray, known: np.ndarray, tol: float = SAME_POINT_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct images of `seeds` that are not among `known`, and the seed each came from
    (an index into `seeds`): the points an orbit completion adds."""
    all_images = images(seeds, signs)
    seed_of = np.repeat(np.arange(seeds.shape[0]), signs.shape[0])
    new = match_points(all_images, known, tol) < 0
    all_images, seed_of = all_images[new], seed_of[new]
    keep = unique_points(all_images, tol)[0]
    return all_images[keep], seed_of[keep]


__all__ = [
    "Orbits",
    "closure",
    "images",
    "match_images",
    "missing_images",
    "orbit_ids",
    "orbits",
    "point_chunks",
    "representatives",
]
