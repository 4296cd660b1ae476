"""An instances run's files (`data.instances: N`): one critical-points table with an `instance`
column, instances.csv (a row per instance), summary.json and report.md; and its summary lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..common.atomic import result_directory
from .files import write_csv
from .points import critical_points_columns, critical_points_rows


def instances_columns(run: Any) -> list[str]:
    return ["instance", *critical_points_columns(run.problems[0])]


def instances_rows(run: Any) -> list[dict[str, Any]]:
    """Every instance's critical-point rows, an `instance` column first."""
    return [
        {"instance": i, **row}
        for i, (problem, points) in enumerate(zip(run.problems, run.points))
        for row in critical_points_rows(problem, points)
    ]


def per_instance_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of instances.csv: summary.json's per-instance records without the nested histogram."""
    return [{k: v for k, v in r.items() if k != "saddles_by_index"} for r in summary["per_instance"]]


def write_instances_outputs(run: Any, directory: Path, origin: str = "") -> Path:
    """critical_points.csv (one table, `instance` column first), instances.csv (one row per
    instance), summary.json and report.md — atomically, like a single solve."""
    with result_directory(directory, origin, kind="instances") as tmp:
        write_csv(tmp / "critical_points.csv", instances_columns(run), instances_rows(run))
        per = per_instance_rows(run.summary)
        write_csv(tmp / "instances.csv", list(per[0]), per)
        (tmp / "summary.json").write_text(json.dumps(run.summary, indent=2) + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(markdown(run.summary), encoding="utf-8")
    return Path(directory)


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['name']}: {summary['instances']} instances",
        "",
        f"Generic count (monodromy): {summary['generic_count']}; complete instances: "
        f"{summary['complete_instances']} of {summary['instances']}; {summary['seconds']} s.",
        "",
        "| quantity | distribution over instances (value: instances) |",
        "|---|---|",
    ]
    for key, hist in summary["distributions"].items():
        lines.append(f"| {key} | {', '.join(f'{v}: {c}' for v, c in hist.items())} |")
    for index, hist in summary["saddles_by_index"].items():
        lines.append(f"| saddles of index {index} | {', '.join(f'{v}: {c}' for v, c in hist.items())} |")
    if summary["warnings"]:
        lines += ["", "## Warnings", "", *[f"- {w}" for w in summary["warnings"]]]
    return "\n".join(lines) + "\n"


def summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What the terminal shows for an instances run."""
    dist = summary["distributions"]
    return [
        ("instances", f"{summary['instances']} (complete: {summary['complete_instances']})"),
        ("generic count", str(summary["generic_count"])),
        ("real critical points", ", ".join(f"{v} in {c}" for v, c in dist["real"].items())),
        ("local minima", ", ".join(f"{v} in {c}" for v, c in dist["local_minima"].items())),
        ("saddles", ", ".join(f"{v} in {c}" for v, c in dist["saddles"].items())),
        ("seconds", f"{summary['seconds']} (solve {summary['solve_seconds']})"),
        *[("warning", w) for w in summary["warnings"][:5]],
    ]
