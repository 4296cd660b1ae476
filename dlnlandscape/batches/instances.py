"""Many random instances of one architecture (`data.instances: N`) in one run.

The literature solves 100 random instances per architecture and reports distributions (how many
real critical points, minima, saddles by index).  Every instance belongs to the same parameter
family, so one monodromy solve at generic base points is enough: a parameter homotopy then
carries those solutions to each instance — all instances' paths in one batch — and any path that
fails or jumps is re-tracked (tighter steps, then a detour).  An instance is complete when it
reaches the generic count; one that does not says how many of its paths failed.

Instance i uses data seed `data.seed + i` and regularisation seed `regularization.seed + i`
(instance 0 is the config itself), so every instance can be re-run alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis.certify import certify_points
from ..analysis.classify import CriticalPoints, analyse
from ..common.atomic import result_directory
from ..engines.base import SolveResult
from ..errors import ConfigError
from ..model.config import Config
from ..model.problem import Problem
from ..reports.files import COLUMNS, critical_points_rows, write_csv


@dataclass
class InstancesRun:
    config: Config
    configs: list[Config]
    problems: list[Problem]
    results: list[SolveResult]
    points: list[CriticalPoints]
    summaries: list[dict[str, Any]]
    summary: dict[str, Any]


def solve_instances(config: Config, progress: Any = None) -> InstancesRun:
    """Solve every instance of `config` (see the module docstring)."""
    from ..engines.native.engine import NativeEngine
    from ..pipeline import summarize

    if config.solver.backend not in ("auto", "native"):
        raise ConfigError(
            config.source, "solver.backend", "data.instances runs on the native engine; use auto or native"
        )
    if config.solver.start not in ("auto", "monodromy"):
        raise ConfigError(config.source, "solver.start", "data.instances uses monodromy; use auto or monodromy")
    if config.solver.verify != "none":
        raise ConfigError(config.source, "solver.verify", "not available with data.instances; verify an instance alone")
    began = time.perf_counter()
    configs = [config.instance(i) for i in range(config.instances)]
    problems = [Problem.from_config(c) for c in configs]
    results = NativeEngine().solve_instances(problems, config, progress)
    points, summaries = [], []
    for c, problem, result in zip(configs, problems, results):
        pts = analyse(problem, result.paths)
        summary = summarize(c, problem, result, pts, "data.instances: monodromy + parameter homotopies", 0.0)
        summary.update(certify_points(c, pts))
        points.append(pts)
        summaries.append(summary)
    summary = _summary(config, configs, results, summaries, time.perf_counter() - began)
    return InstancesRun(config, configs, problems, results, points, summaries, summary)


def _summary(
    config: Config, configs: list[Config], results: list[SolveResult], summaries: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    info = results[0].engine_info["monodromy"]
    generic = int(info["base_solutions"])
    rows = [_instance_row(i, c, s, generic) for i, (c, s) in enumerate(zip(configs, summaries))]
    complete = [r for r in rows if r["complete"]]
    warnings = [
        f"instance {r['instance']}: {r['complex']} of {generic} found, {r['failed_paths']} path(s) failed"
        for r in rows
        if not r["complete"]
    ]
    return {
        "name": config.name,
        "version": __version__,
        "instances": len(rows),
        "generic_count": generic,
        "complete_instances": len(complete),
        "complete": len(complete) == len(rows),
        "warnings": warnings,
        "distributions": {
            key: _histogram([r[key] for r in rows])
            for key in ("complex", "real", "global_minima", "local_minima", "saddles", "certified")
        },
        "saddles_by_index": {
            str(k): _histogram([r["saddles_by_index"].get(str(k), 0) for r in rows])
            for k in sorted({int(k) for r in rows for k in r["saddles_by_index"]})
        },
        "per_instance": rows,
        "backend": {"engine": results[0].engine, "start_system": "monodromy", **results[0].engine_info},
        "seed": results[0].seed,
        "seconds": round(seconds, 3),
        "solve_seconds": round(results[0].seconds, 3),
        "unknowns": int(sum(a * b for a, b in zip(config.widths[1:], config.widths[:-1]))),
        "config": config.resolved(),
    }


def _instance_row(i: int, config: Config, s: dict[str, Any], generic: int) -> dict[str, Any]:
    by_class = s["classes"]["by_class"]
    by_index = {k: v for k, v in s["classes"]["by_morse_index"].items() if k != "0"}
    return {
        "instance": i,
        "data_seed": config.raw["data"]["seed"],
        "regularization_seed": config.raw["regularization"].get("seed"),
        "complex": s["complex_solutions"],
        "real": s["real_solutions"],
        "global_minima": by_class["global_minimum"],
        "local_minima": by_class["local_minimum"],
        "saddles": by_class["saddle"],
        "saddles_by_index": by_index,
        "failed_paths": s["paths"]["failed"],
        "certified": s.get("certified_solutions"),
        "complete": bool(s["complete"]) and s["complex_solutions"] == generic,
        "global_minimum_loss": s["global_minimum_loss"],
    }


def _histogram(values: list[Any]) -> dict[str, int]:
    counts = Counter(values)
    return {str(k): counts[k] for k in sorted(counts, key=lambda v: (v is None, v))}


def write_instances_outputs(run: InstancesRun, directory: Path, origin: str = "") -> Path:
    """critical_points.csv (one table, `instance` column first), instances.csv (one row per
    instance), summary.json and report.md — atomically, like a single solve."""
    with result_directory(directory, origin, kind="instances") as tmp:
        names = run.problems[0].variable_names
        fields = ["instance", *COLUMNS] + [f"{n}{suffix}" for n in names for suffix in ("", "_imag")]
        rows = [
            {"instance": i, **row}
            for i, (problem, points) in enumerate(zip(run.problems, run.points))
            for row in critical_points_rows(problem, points)
        ]
        write_csv(tmp / "critical_points.csv", fields, rows)
        per = [{k: v for k, v in r.items() if k != "saddles_by_index"} for r in run.summary["per_instance"]]
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


__all__ = ["InstancesRun", "solve_instances", "write_instances_outputs"]
