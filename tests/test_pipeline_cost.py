"""pipeline/cost.py: the estimate before a solve, and the refusal of what cannot finish."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dlnlandscape import api
from dlnlandscape.analysis.bounds import architecture_bounds, describe_bound
from dlnlandscape.cli import main
from dlnlandscape.engines.native.start_systems import (
    layer_bezout,
    log10_layer_bezout_bound,
    multihomogeneous_bezout,
)
from dlnlandscape.errors import TooExpensive
from dlnlandscape.model.config import Config
from dlnlandscape.pipeline.cost import MAX_SECONDS, estimate, guard

BIG = {"architecture": {"widths": [50, 50, 50]}, "data": {"samples": 3}}


def _config(widths: list[int], **sections: dict) -> Config:
    document = {"architecture": {"widths": widths}, "data": {"samples": 1}, **sections}
    return api.as_config(document)


def _write(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("widths", "measured_seconds"),
    [([2, 2, 2], 3.0), ([1, 2, 2, 1], 1.9), ([1, 2, 2, 2], 4.2), ([2, 2, 2, 2], 10.0), ([1, 3, 3, 1], 6.2)],
)
def test_estimates_are_within_ten_times_the_measured_monodromy_solves(widths, measured_seconds):
    cost = estimate(_config(widths))
    assert cost.method == "monodromy" and cost.feasible
    assert measured_seconds / 10 <= cost.seconds <= measured_seconds * 10


def test_linear_product_start_is_estimated_from_its_exact_path_count():
    cost = estimate(_config([3, 2, 3], regularization={"kind": "none"}))
    assert cost.method == "multihomogeneous start"
    assert round(10**cost.paths_log10) == 127_905
    assert 781 / 3 <= cost.seconds <= 781 * 3  # measured: 13 min


def test_fifty_wide_is_refused_at_once_with_estimate_largest_known_and_force():
    config = api.as_config(BIG)
    began = time.perf_counter()
    with pytest.raises(TooExpensive) as error:
        guard(config)
    assert time.perf_counter() - began < 0.5
    message = str(error.value)
    assert "\n" not in message and "5,000 unknowns" in message and "10^" in message
    assert "largest sizes known to finish" in message and "--force" in message and "nothing written" in message
    assert guard(config, force=True).seconds == math.inf
    assert TooExpensive.exit_code == 2


def test_dln_solve_refuses_in_one_line_with_exit_2_and_writes_nothing(tmp_path: Path):
    config = _write(tmp_path / "big.yaml", BIG)
    out = tmp_path / "out"
    began = time.perf_counter()
    result = CliRunner().invoke(main, ["solve", str(config), "--out", str(out)])
    assert time.perf_counter() - began < 5
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dln: error:") and "--force" in lines[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["big.yaml"]


def test_api_solve_refuses_too(tmp_path: Path):
    with pytest.raises(TooExpensive):
        api.solve(BIG)


def test_a_sweep_with_one_hopeless_point_is_refused_before_anything_runs(tmp_path: Path):
    sweep = _write(
        tmp_path / "s.yaml",
        {
            "name": "s",
            "base": {"data": {"samples": 1}, "solver": {"backend": "native"}},
            "grid": {"architecture.widths": [[1, 1, 1], [40, 40, 40]]},
            "output": {"dir": str(tmp_path / "out")},
        },
    )
    result = CliRunner().invoke(main, ["sweep", str(sweep)])
    assert result.exit_code == 2
    assert "grid point w40-40-40" in result.output and "--force" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("widths", [[50, 50, 50], [100, 100, 100, 100], [1000, 1000, 1000]])
def test_dln_check_answers_at_once_at_any_size(tmp_path: Path, widths: list[int]):
    config = _write(tmp_path / "c.yaml", {"architecture": {"widths": widths}, "data": {"samples": 3}})
    began = time.perf_counter()
    result = CliRunner().invoke(main, ["check", str(config)])
    assert time.perf_counter() - began < 3.0  # in-process, imports done: well under a second when idle
    assert result.exit_code == 0, result.output
    assert "≈ 10^" in result.output and "≤ 10^" in result.output and "dln solve refuses it" in result.output
    facts = json.loads(CliRunner().invoke(main, ["check", str(config), "--json"]).output)
    assert facts["bounds"]["bezout"] is None and facts["bounds"]["log10"]["bezout"] > 300
    assert facts["estimate"]["feasible"] is False


def test_check_shows_exact_bounds_and_a_feasible_estimate_on_the_quickstart():
    facts = api.check("configs/quickstart.yaml").facts
    assert (facts["bounds"]["bezout"], facts["bounds"]["multihomogeneous"]) == (6561, 1921)
    assert facts["estimate"]["feasible"] and facts["estimate"]["method"] == "monodromy"
    assert facts["estimate"]["seconds"] < MAX_SECONDS


@pytest.mark.parametrize(
    "widths", [(2, 2, 2), (1, 2, 2, 1), (3, 2, 3), (2, 3, 1, 2, 2), (1, 1, 1), (4, 1, 1, 4), (3, 1, 2)]
)
def test_layer_bezout_closed_form_equals_the_dynamic_programme(widths):
    import numpy as np

    sizes = [a * b for a, b in zip(widths[:-1], widths[1:])]
    H = len(sizes)
    degrees = np.array([[1 if j == i else 2 for j in range(H)] for i in range(H) for _ in range(sizes[i])])
    counts = {tuple(sizes): 1}
    for row in degrees:
        nxt: dict = {}
        for rem, c in counts.items():
            for g, d in enumerate(row):
                if rem[g] > 0:
                    key = rem[:g] + (rem[g] - 1,) + rem[g + 1 :]
                    nxt[key] = nxt.get(key, 0) + c * int(d)
        counts = nxt
    exact = counts[tuple(0 for _ in sizes)]
    assert layer_bezout(tuple(sizes)) == exact == multihomogeneous_bezout(degrees, np.array(sizes))
    assert log10_layer_bezout_bound(tuple(sizes)) >= math.log10(exact) - 1e-9


def test_fifty_wide_multihomogeneous_number_in_log_scale_only():
    b = architecture_bounds((50, 50, 50), False, 3, bkk="skip")
    assert b["bezout"] is None and b["multihomogeneous"] is None
    assert b["log10"]["bezout"] == pytest.approx(5000 * math.log10(3), abs=1e-3)
    assert 2383.85 <= b["log10"]["multihomogeneous"] <= 2386  # exact: 2383.86 (2,384 digits)
    json.dumps(b)  # plain JSON at any size
    assert describe_bound(None, 2385.6) == "≈ 10^2385.6" and describe_bound(None, 2385.6, upper=True) == "≤ 10^2385.6"
    assert describe_bound(1921, 3.28) == "1921"
