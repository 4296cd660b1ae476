"""The public Python API (dlnlandscape.solve / components / check): results agree with the
closed form, with the files `save` writes and with the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import dlnlandscape as dln
from dlnlandscape.cli import main

ROOT = Path(__file__).resolve().parents[1]
ONE_ONE_ONE = {
    "name": "one-one-one",
    "architecture": {"widths": [1, 1, 1]},
    "data": {"samples": 3, "X": [[1.0, 2.0, -1.0]], "Y": [[0.5, 1.5, 0.25]]},
    "regularization": {"kind": "generalized", "Lambda": [[[0.3]], [[0.7]]]},
    "solver": {"backend": "native", "seed": 3},
}


def test_solve_from_a_dict_matches_the_closed_form():
    result = dln.solve(ONE_ONE_ONE)
    # DOMAIN.md: 5 complex critical points; |s_xy| = 3.25 > λ1λ2 = 0.21, so 3 real
    assert result.complex_solutions == 5 and result.real_solutions == 3
    assert result.complete and result.reasons == []
    x, y = np.array([1.0, 2.0, -1.0]), np.array([0.5, 1.5, 0.25])
    sxx, sxy, l1, l2 = x @ x, x @ y, 0.3, 0.7
    eps = np.sign(sxy)
    p = (sxy - eps * l1 * l2) / sxx
    w1 = np.sqrt(eps * p * l2 / l1)
    expected = {(0.0, 0.0), (w1, eps * (l1 / l2) * w1), (-w1, -eps * (l1 / l2) * w1)}
    real = result.real_points
    found = {(round(a, 9), round(b, 9)) for a, b in zip(real["w1_1_1"], real["w2_1_1"])}
    assert found == {(round(a, 9), round(b, 9)) for a, b in expected}
    assert result.classes["global_minimum"] == 2 and result.classes["saddle"] == 1
    assert result.solutions.shape == (5, 2)
    assert result.bounds["bezout"] == 9


def test_points_have_the_csv_columns_and_save_writes_the_same(tmp_path: Path):
    result = dln.solve(ONE_ONE_ONE, seed=5)
    assert result.summary["seed"] == 5  # solver keywords override the config
    frame = result.points
    out = result.save(tmp_path / "res")
    with open(out / "critical_points.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(frame.columns) == list(rows[0])
    assert len(frame) == len(rows) == 5
    assert [float(r["loss"]) for r in rows] == pytest.approx(frame["loss"].tolist(), rel=1e-12)
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(result.summary))
    assert frame["real"].sum() == result.real_solutions


def test_a_config_path_and_the_cli_give_the_same_summary(tmp_path: Path):
    config = ROOT / "configs" / "quickstart.yaml"
    result = dln.solve(config)
    assert result.complex_solutions == 225 and result.complete
    cli = CliRunner().invoke(main, ["solve", str(config), "--out", str(tmp_path / "q"), "--json"])
    assert cli.exit_code == 0, cli.output
    via_cli = json.loads(cli.output)
    for key in ("complex_solutions", "real_solutions", "classes", "bounds", "paths", "complete", "warnings"):
        assert via_cli[key] == json.loads(json.dumps(result.summary[key])), key
    text = repr(result)
    assert "225 complex" in text and "complete" in text
    assert "<table>" in result._repr_html_() and "complex critical points" in result._repr_html_()


def test_a_config_object_works_and_save_refuses_a_users_directory(tmp_path: Path):
    config = dln.load_config(ROOT / "configs" / "quickstart.yaml").with_solver(seed=42)
    result = dln.solve(config)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(dln.OutputPathError, match="save\\(\\) .*did not write"):
        result.save(mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_bad_input_is_a_config_error():
    with pytest.raises(dln.ConfigError, match="architecture.widths"):
        dln.solve({"architecture": {"widths": "wide"}, "data": {"samples": 1}})
    with pytest.raises(dln.ConfigError, match="solver.backend"):
        dln.solve(ONE_ONE_ONE, backend="gpu")
    with pytest.raises(dln.ConfigError, match="give a path, a dict or a Config"):
        dln.solve(42)  # type: ignore[arg-type]


def test_check_reports_sizes_and_bounds():
    facts = dln.check(ROOT / "configs" / "quickstart.yaml")
    assert facts["unknowns"] == 8 and facts["degree"] == 3
    assert facts["bounds"]["bezout"] == 3**8 and facts["bounds"]["multihomogeneous"] == 1921
    assert facts["engines"]["native"].startswith("available")
    assert "8 unknowns" in repr(facts)


def test_instances_give_one_table_with_an_instance_column(tmp_path: Path):
    document = {
        "architecture": {"widths": [2, 1, 2]},
        "data": {"samples": 2, "seed": 3, "instances": 3, "decimals": 3},
        "regularization": {"kind": "generalized", "decimals": 3},
    }
    result = dln.solve(document)
    assert isinstance(result, dln.InstancesResult)
    assert result.summary["generic_count"] == 17 and result.complete
    assert list(result.instances["complex"]) == [17, 17, 17]
    frame = result.points
    assert frame.columns[0] == "instance" and sorted(set(frame["instance"])) == [0, 1, 2] and len(frame) == 51
    out = result.save(tmp_path / "inst")
    assert (out / "instances.csv").is_file() and (out / "critical_points.csv").is_file()


def test_components_of_the_one_one_one_curve(tmp_path: Path):
    document = {**ONE_ONE_ONE, "regularization": {"kind": "none"}}
    result = dln.components(document)
    dims = sorted((c["dimension"], c["degree"]) for c in result.components)
    assert dims == [(0, 1), (1, 2)]  # the isolated origin and the hyperbola w1 w2 = s_xy / s_xx
    assert all(c["trace_test"] == "passed" for c in result.components if c["dimension"] > 0)
    assert "component" in repr(result)
    out = result.save(tmp_path / "comp")
    assert json.loads((out / "components.json").read_text()) == json.loads(json.dumps(result.summary))
