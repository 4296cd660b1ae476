"""`dln table` (one tidy row per run from summary.json files) and `dln plot` figures, on a tiny
sweep solved for real."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlnlandscape.cli import main
from dlnlandscape.reports.tables import collect, row, to_csv, to_markdown

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------- table


def test_table_aggregates_real_values(tiny_sweep: Path):
    rows = collect([str(tiny_sweep / "out")])
    assert [r["name"] for r in rows] == ["w1-1-1_m1", "w1-1-1_m2", "w2-1-2_m1", "w2-1-2_m2"]
    last = rows[-1]
    assert last["widths"] == "2x1x2" and last["depth"] == 2 and last["m"] == 2 and last["unknowns"] == 4
    assert (last["bezout"], last["multihomogeneous"], last["paths"]) == (81, 33, 33)
    assert (last["complex"], last["real"]) == (17, 3)
    assert (last["global_minima"], last["local_minima"], last["saddles"], last["saddles_index_1"]) == (2, 0, 1, 1)
    assert last["failed_paths"] == 0 and last["complete"] is True and last["backend"] == "native (multihomogeneous)"
    assert rows[0]["complex"] == 5 and rows[0]["multihomogeneous"] == 5 and rows[2]["complex"] == 9

    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[3]["complex"] == "17" and parsed[3]["saddles_index_1"] == "1" and parsed[0]["saddles_index_1"] == "0"
    assert parsed[3]["regularization"] == "generalized" and parsed[3]["low"] == "0.1"
    markdown = to_markdown(rows).splitlines()
    assert len(markdown) == 6 and markdown[0].startswith("| name | widths |")
    assert "| w2-1-2_m2 | 2x1x2 |" in markdown[5]

    # globs and the CLI, CSV to a file
    target = tiny_sweep / "table.csv"
    result = CliRunner().invoke(
        main, ["table", str(tiny_sweep / "out" / "w2-*"), "--format", "csv", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in csv.DictReader(target.open())] == ["w2-1-2_m1", "w2-1-2_m2"]


def test_table_row_verification_certified_and_degenerate_columns():
    summary = {
        "name": "x",
        "config": {
            "architecture": {"widths": [2, 2, 2], "residual": False},
            "data": {"samples": 3},
            "regularization": {"kind": "l2", "lambda": 0.5},
        },
        "classes": {
            "by_class": {"global_minimum": 4, "local_minimum": 0, "saddle": 5, "maximum": 0, "degenerate": 0},
            "by_morse_index": {"0": 4, "1": 4, "2": 1},
        },
        "unknowns": 8,
        "bounds": {"bezout": 6561, "multihomogeneous": 1921},
        "complex_solutions": 225,
        "real_solutions": 9,
        "paths": {"tracked": 1921, "at_infinity": 1696, "singular": 0, "failed": 0},
        "verification": {"status": "agrees", "degree": 225, "real": 9},
        "backend": {"engine": "julia", "start_system": "polyhedral", "certified": 225},
        "complete": True,
        "seconds": 8.0,
    }
    r = row(summary)
    assert (r["saddles_index_1"], r["saddles_index_2"]) == (4, 1)
    assert (r["verification"], r["verified_degree"], r["verified_real"], r["certified"]) == ("agrees", 225, 9, 225)
    assert r["lambda"] == 0.5 and r["low"] is None and r["backend"] == "julia (polyhedral)"
    # a degenerate point whose index is unknown: the per-index split is not claimed
    summary["classes"]["by_class"].update(saddle=4, degenerate=1)
    assert "saddles_index_1" not in row(summary)


def test_table_errors_are_one_line(tmp_path: Path):
    result = CliRunner().invoke(main, ["table", str(tmp_path / "nothing*")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = CliRunner().invoke(main, ["table", str(tmp_path)])
    assert result.exit_code == 2 and "no summary.json" in result.output


# ---------------------------------------------------------------------------------- plots


def test_plots_are_written(tiny_sweep: Path):
    pytest.importorskip("matplotlib")
    out = tiny_sweep / "figures"
    runner = CliRunner()
    result = runner.invoke(
        main, ["plot", "counts", str(tiny_sweep / "out"), "--x", "unknowns", "--out", str(out / "c.png")]
    )
    assert result.exit_code == 0, result.output
    data = (out / "c.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    result = runner.invoke(main, ["plot", "morse", str(tiny_sweep / "out" / "w2-1-2_m2"), "--out", str(out / "m.svg")])
    assert result.exit_code == 0, result.output
    assert b"<svg" in (out / "m.svg").read_bytes()
    result = runner.invoke(main, ["plot", "loss", str(tiny_sweep / "out" / "w2-1-2_m2"), "--out", str(out / "l.png")])
    assert result.exit_code == 0 and (out / "l.png").stat().st_size > 5000
    result = runner.invoke(
        main, ["plot", "counts", str(tiny_sweep / "out"), "--where", "m=2", "--x", "d0", "--out", str(out / "m2.png")]
    )
    assert result.exit_code == 0 and (out / "m2.png").stat().st_size > 5000
    result = runner.invoke(
        main, ["plot", "counts", str(tiny_sweep / "out"), "--x", "widths", "--out", str(out / "w.svg")]
    )
    assert result.exit_code == 0 and b"2x1x2" in (out / "w.svg").read_bytes()
    result = runner.invoke(main, ["plot", "counts", str(tiny_sweep / "out"), "--out", str(out / "c.jpg")])
    assert result.exit_code == 2 and ".png or .svg" in result.output


def test_indices_figure_pools_runs_by_x_and_leaves_out_degenerate_ones(tmp_path):
    """dln plot indices: shares of index 1, 2, >= 3 saddles against a column; a run with
    degenerate points (its split by index unknown) is left out and said so."""
    from dlnlandscape.reports import plots

    rows = [
        {"scale": 1.0, "degenerate": 0, "saddles_index_1": 2, "saddles_index_2": 1},
        {"scale": 0.5, "degenerate": 0, "saddles_index_1": 6, "saddles_index_2": 4, "saddles_index_3": 2},
        {"scale": 0.5, "degenerate": 0, "saddles_index_1": 0, "saddles_index_4": 2},
        {"scale": 0.25, "degenerate": 1, "saddles_index_1": 9},
    ]
    usable = [r for r in rows if not r["degenerate"]]
    assert plots.saddle_index_counts(usable, "scale") == {0.5: {1: 6, 2: 4, 3: 4}, 1.0: {1: 2, 2: 1, 3: 0}}
    out = plots.indices_figure(rows, "scale", tmp_path / "indices.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(plots.ResultsError, match="--x nope"):
        plots.indices_figure(rows, "nope", tmp_path / "x.png")
