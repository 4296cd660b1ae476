"""common/symmetry.py: the sign-flip group on arrays — closure, orbit sizes, representatives,
missing images."""

from __future__ import annotations

import numpy as np

from dlnlandscape.common.symmetry import (
    closure,
    images,
    match_images,
    missing_images,
    orbit_ids,
    orbits,
    representatives,
)
from dlnlandscape.model.problem import Problem


def _problem(widths: tuple[int, ...]) -> Problem:
    rng = np.random.default_rng(0)
    penalty = [rng.random((widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    return Problem.from_data(widths, rng.standard_normal((widths[0], 3)), rng.standard_normal((widths[-1], 3)), penalty)


def _generic(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    return rng.standard_normal((k, n)) + 1j * rng.standard_normal((k, n))


def test_sign_flips_form_a_group():
    signs = _problem((2, 3, 2, 1)).sign_flips()  # hidden neurons: 3 + 2
    assert signs.shape == (2**5, 2 * 3 + 3 * 2 + 2 * 1)
    assert np.all(np.abs(signs) == 1)
    assert np.all(signs[0] == 1)  # the identity
    products = (signs[:, None, :] * signs[None, :, :]).reshape(-1, signs.shape[1])
    index = match_images(np.ones((1, signs.shape[1])), products, among=signs)
    assert np.all(index >= 0)  # closed under composition
    assert len(np.unique(signs, axis=0)) == 2**5  # all elements distinct


def test_images_are_ordered_point_major():
    points = np.arange(6.0).reshape(2, 3) + 1
    signs = np.array([[1, 1, 1], [-1, 1, -1]])
    out = images(points, signs)
    assert out.shape == (4, 3)
    np.testing.assert_array_equal(out[1], [-1, 2, -3])
    np.testing.assert_array_equal(out[3], [-4, 5, -6])


def test_generic_orbits_have_full_size_and_one_representative_each():
    signs = _problem((2, 3, 2)).sign_flips()
    n = signs.shape[1]
    seeds = _generic(np.random.default_rng(1), 3, n)
    union = closure(seeds, signs)
    assert union.shape[0] == 3 * 2**3  # a generic point has no stabiliser
    found = orbits(union, signs)
    assert np.all(found.size == 2**3) and found.missing == 0
    assert len(np.unique(found.id)) == 3
    reps = representatives(union, signs)
    assert reps.tolist() == np.unique(found.id).tolist()
    np.testing.assert_array_equal(orbit_ids(union, signs), found.id)
    assert np.all(found.id <= np.arange(union.shape[0]))  # the smallest index of a member
    # every representative is in its own orbit and the orbits partition the points
    assert np.all(found.id[reps] == reps)


def test_a_point_with_an_inactive_neuron_has_half_the_orbit():
    problem = _problem((2, 2, 2))
    signs = problem.sign_flips()
    x = _generic(np.random.default_rng(2), 1, problem.n)
    x[0, [0, 1, 4, 6]] = 0  # neuron 1: row 1 of W1 (x0, x1) and column 1 of W2 (x4, x6)
    found = orbits(closure(x, signs), signs)
    assert np.all(found.size == 2) and found.missing == 0


def test_missing_images_are_counted_and_completed():
    signs = _problem((1, 2, 1)).sign_flips()  # 4 elements
    seeds = _generic(np.random.default_rng(3), 2, signs.shape[1])
    union = closure(seeds, signs)
    known = union[[0, 1, 2, 4, 5]]  # three images lost
    found = orbits(known, signs)
    assert found.missing == 3
    assert sorted(np.bincount(found.id).tolist(), reverse=True)[:2] == [3, 2]
    added, seed_of = missing_images(known[[0, 3]], signs, known)
    assert added.shape[0] == 3
    assert np.all(match_images(added, signs[:1], among=union) >= 0)  # they are the lost images
    restored = np.concatenate([known, added])
    assert orbits(restored, signs).missing == 0
    assert set(seed_of.tolist()) <= {0, 1}


def test_no_points():
    signs = np.ones((2, 3))
    empty = np.zeros((0, 3), dtype=complex)
    assert orbits(empty, signs).missing == 0 and orbit_ids(empty, signs).shape == (0,)
    assert representatives(empty, signs).shape == (0,)


def test_images_matched_in_chunks_give_the_same_orbits(monkeypatch):
    """match_images and orbits make the images a chunk of points at a time (IMAGE_CHUNK: the
    memory bound); with chunks of 3 points the matches, orbit ids, sizes and missing images are
    those of one chunk of everything."""
    import dlnlandscape.common.symmetry as symmetry

    signs = _problem((2, 3, 2, 1)).sign_flips()
    rng = np.random.default_rng(5)
    seeds = _generic(rng, 7, signs.shape[1])
    points = closure(seeds, signs)[:-5]  # five images missing
    whole = match_images(points, signs), orbits(points, signs)
    monkeypatch.setattr(symmetry, "IMAGE_CHUNK", 3 * signs.shape[0] * signs.shape[1])
    assert len(symmetry.point_chunks(points, signs)) == -(-points.shape[0] // 3)
    chunked = match_images(points, signs), orbits(points, signs)
    assert np.array_equal(whole[0], chunked[0])
    assert np.array_equal(whole[1].id, chunked[1].id) and np.array_equal(whole[1].size, chunked[1].size)
    assert whole[1].missing == chunked[1].missing == 5
