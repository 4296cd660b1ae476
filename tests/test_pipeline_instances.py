"""data.instances: one monodromy solve, a parameter homotopy per instance, one table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlnlandscape.cli import main
from dlnlandscape.errors import ConfigError
from dlnlandscape.pipeline import solve, solve_instances

from .conftest import make_config


def _config(instances: int, **solver: object):
    return make_config(
        [2, 2, 2],
        1,
        0,
        data={"decimals": 3, "instances": instances},
        regularization={"decimals": 3},
        solver={"seed": 5, **solver},
    )


def test_every_instance_reaches_the_generic_count_and_matches_a_solve_of_its_own():
    run = solve_instances(_config(6))
    s = run.summary
    assert s["instances"] == 6 and s["generic_count"] == 33
    assert s["complete"] and s["complete_instances"] == 6
    assert all(r["complex"] == 33 and r["failed_paths"] == 0 for r in s["per_instance"])
    assert sum(s["distributions"]["complex"].values()) == 6
    # instance 4 alone (its own seeds), solved by the multihomogeneous homotopy: same real points
    alone = solve(run.configs[4].with_solver(start="multihomogeneous"))
    row = s["per_instance"][4]
    assert (row["data_seed"], row["regularization_seed"]) == (4, 5)
    assert alone.summary["complex_solutions"] == 33
    assert alone.summary["real_solutions"] == row["real"]
    assert alone.summary["classes"]["by_class"]["saddle"] == row["saddles"]
    assert abs(alone.summary["global_minimum_loss"] - row["global_minimum_loss"]) < 1e-9


def test_instances_cli_writes_one_table_with_an_instance_column(tmp_path: Path):
    config = tmp_path / "inst.yaml"
    config.write_text(
        "architecture: {widths: [2, 1, 2]}\n"
        "data: {samples: 2, seed: 3, instances: 4, decimals: 3}\n"
        "regularization: {kind: generalized, decimals: 3}\n"
        f"output: {{dir: {tmp_path / 'out'}}}\n"
    )
    result = CliRunner().invoke(main, ["solve", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["generic_count"] == 17 and summary["complete_instances"] == 4
    with open(tmp_path / "out" / "critical_points.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 17 and sorted({r["instance"] for r in rows}) == ["0", "1", "2", "3"]
    with open(tmp_path / "out" / "instances.csv", newline="") as handle:
        assert [int(r["complex"]) for r in csv.DictReader(handle)] == [17] * 4


@pytest.mark.parametrize(
    "data,message",
    [
        ({"instances": 0}, "data.instances"),
        ({"instances": "many"}, "data.instances"),
        ({"instances": 3, "X": [[1.0]], "Y": [[1.0]], "samples": 1}, "data.instances"),
    ],
)
def test_bad_instances(data, message):
    with pytest.raises(ConfigError, match=message):
        make_config([1, 1, 1], 1, data=data)


def test_instances_need_a_generic_family():
    config = make_config([2, 2, 2], 1, data={"instances": 3}, regularization={"kind": "l2", "lambda": 0.5})
    with pytest.raises(ConfigError, match="data.instances"):
        solve_instances(config)
