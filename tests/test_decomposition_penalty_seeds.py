"""Seeds from a generic penalty (decomposition/penalty_seeds.py): the same components as the
linear-product seeds where those are cheap, from far fewer paths where they are not."""

from __future__ import annotations

import pytest

from dlnlandscape.decomposition import decompose
from dlnlandscape.decomposition.run import SEED_PATHS, _penalty_seeds
from dlnlandscape.errors import ConfigError

from .conftest import make_config


def _none(widths: list[int], samples: int, **solver: object):
    return make_config(widths, samples, 0, regularization={"kind": "none"}, solver={"seed": 5, **solver})


def test_penalty_seeds_find_every_closed_form_value_of_two_two_two():
    """(2,2,2) m = 3, λ = 0: the four components (closed-form values 4 of 4, each trace-tested)
    as from the 1,921 multihomogeneous paths, here from the 225 critical points of a generic Λ."""
    result = decompose(_none([2, 2, 2], 3), seeds="penalty")
    assert result.complete, result.incomplete_reasons()
    assert result.closed_form is not None and [v["found"] for v in result.closed_form] == [True] * 4
    assert sorted((c.dimension, c.degree) for c in result.components) == [(0, 1), (3, 2), (3, 2), (4, 8)]
    note = next(n for n in result.notes if n.startswith("seeds: generic generalised Λ"))
    assert "225 isolated critical points" in note and "every pattern proven by the trace test" in note
    # one path per sign-flip orbit: the origin, 192 / 4 and 32 / 2
    assert result.solve_counts["tracked"] == 1 + 48 + 16 and "one per sign-flip orbit (65)" in note


def test_penalty_seeds_reach_the_reduced_components_of_a_bottleneck_network():
    """(2,2,1,2) m = 3, λ = 0: both components with P ≠ 0 (S = {1}: the global minima, S = {2}),
    five-dimensional of degree 6, from 353 generic points instead of 20,001 start paths; and —
    from the seeds with two layers zero (test_decomposition_zero_layers.py has the hand-worked
    answer) — the P = 0 set's three: the case where the S = ∅ value had no component and three
    bogus points at infinity were listed is now complete, 3 of 3 values."""
    result = decompose(_none([2, 2, 1, 2], 3), seeds="penalty")
    assert result.complete, result.incomplete_reasons()
    found = {tuple(v["subsets"][0]): v["found"] for v in result.closed_form or []}
    assert found == {(1,): True, (2,): True, (): True}
    dims = sorted((c.dimension, c.degree, tuple(c.closed_form["subset"])) for c in result.components if c.closed_form)
    assert dims == [(4, 1, ()), (4, 3, ()), (4, 3, ()), (5, 6, (1,)), (5, 6, (2,))]
    assert all(c.trace_passed for c in result.components if c.dimension > 0)
    note = next(n for n in result.notes if n.startswith("seeds: generic generalised Λ"))
    assert "353 isolated critical points" in note and result.solve_counts["tracked"] == 65


def test_auto_takes_the_penalty_beyond_the_path_threshold_and_flags_conflicts():
    assert not _penalty_seeds(_none([2, 2, 2], 3), "auto", None)  # 1,921 paths
    assert _penalty_seeds(_none([2, 2, 1, 2], 3), "auto", None)  # 20,001
    assert _penalty_seeds(_none([1, 2, 2, 1], 2), "auto", None)  # 20,001 paths > SEED_PATHS
    assert not _penalty_seeds(_none([1, 2, 2, 1], 2), "auto", 5000)  # sampling asks for start paths
    assert not _penalty_seeds(_none([1, 2, 2, 1], 2, start="multihomogeneous"), "auto", None)
    assert SEED_PATHS == 10_000
    with pytest.raises(ConfigError, match="--sample-paths"):
        decompose(_none([1, 1, 1], 2), seeds="penalty", sample_paths=10)
    with pytest.raises(ConfigError, match="choose one of auto, penalty, start_system"):
        decompose(_none([1, 1, 1], 2), seeds="cascade")


def test_seeds_from_an_unproven_generic_count_leave_the_decomposition_incomplete(monkeypatch):
    """Every component of (2,2,2) m = 3 found, 4 of 4 closed-form values — but if monodromy had
    stopped on its heuristic, a component reached only by the points it missed would be missing
    unnoticed: the run says `complete: NO` with that reason, not yes with a note."""
    from dlnlandscape.decomposition import penalty_seeds

    monkeypatch.setattr(penalty_seeds, "_proven", lambda solved: False)
    result = decompose(_none([2, 2, 2], 3), seeds="penalty")
    assert [v["found"] for v in result.closed_form or []] == [True] * 4 and result.unexplained == []
    assert not result.complete and not result.seeds_proven
    reason = "the generic penalty's count behind the seeds is not proven (heuristic stop)"
    assert result.incomplete_reasons() == [reason]
    assert result.as_dict()["initial_solve"]["seeds_proven"] is False
    assert "NOT proven complete" in next(n for n in result.notes if n.startswith("seeds: generic"))
