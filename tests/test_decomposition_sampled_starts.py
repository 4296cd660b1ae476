"""decomposition/sampled_starts.py: the initial solve on a random sample of the start paths,
and the note `decompose` adds when the sample was smaller than the start system."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.decomposition import decompose
from dlnlandscape.decomposition.sampled_starts import SampledStartsEngine
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.problem import Problem

from .conftest import make_config

NONE = {"regularization": {"kind": "none"}}


def test_a_sample_of_the_multihomogeneous_start_paths():
    """(1,1,1) has 5 multihomogeneous start paths; 3 are tracked, 7 means all of them."""
    config = make_config([1, 1, 1], samples=3, seed=0, **NONE)
    problem = Problem.from_config(config)
    result = SampledStartsEngine(3).solve(problem, config.solver)
    assert len(result.paths) == 3 and result.engine == "native"
    assert result.start_system == "multihomogeneous (random sample of the start solutions)"
    info = result.backend_info()
    assert info["start_solutions"] == 5 and info["sampled_paths"] == 3
    assert result.paths.counts()["finite"] == 3 and result.seed == 42
    everything = SampledStartsEngine(7).solve(problem, config.solver)
    assert len(everything.paths) == 5 and everything.backend_info()["sampled_paths"] == 5


def test_the_configured_linear_product_start_is_sampled_and_others_are_refused():
    total = make_config([1, 1, 1], samples=3, seed=0, solver={"start": "total_degree"}, **NONE)
    result = SampledStartsEngine(4).solve(Problem.from_config(total), total.solver)
    assert result.start_system.startswith("total_degree") and result.backend_info()["start_solutions"] == 9
    polyhedral = make_config([1, 1, 1], samples=3, seed=0, solver={"start": "polyhedral"}, **NONE)
    with pytest.raises(ConfigError, match="linear-product"):
        SampledStartsEngine(4).solve(Problem.from_config(polyhedral), polyhedral.solver)


def test_decompose_with_sampled_paths_says_so():
    """3 of 5 paths: at least two end on the hyperbola (four of five do), and the origin is added
    by the decomposition itself; the note names the sample."""
    config = make_config([1, 1, 1], samples=3, seed=0, **NONE)
    result = decompose(config, sample_paths=3)
    assert sorted((c.dimension, c.degree) for c in result.components) == [(0, 1), (1, 2)]
    assert result.solve_counts["tracked"] == 3
    assert result.notes == [
        "the initial solve tracked a random 3 of 5 start paths: a component with few endpoints may have none among them"
    ]
    assert np.abs(result.components[1].witness_points).max() < 1e-12
    assert decompose(config, sample_paths=5).notes == []  # the whole start system: nothing to say
