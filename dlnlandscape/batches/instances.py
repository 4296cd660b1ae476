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

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..analysis.certify import certify_points
from ..analysis.classify import CriticalPoints, analyse
from ..engines.base import SolveResult
from ..errors import ConfigError
from ..model.config import Config
from ..model.problem import Problem
from ..version import __version__


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
    from ..pipeline import resolve_trusted_count, summarize

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
    engine = NativeEngine()
    results = engine.solve_instances(problems, resolve_trusted_count(problems[0], config.solver, engine), progress)
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
    monodromy = results[0].monodromy
    if monodromy is None:
        raise ValueError("data.instances expects a native monodromy solve")
    generic = int(monodromy.base_solutions)
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
        "backend": {"engine": results[0].engine, "start_system": "monodromy", **results[0].backend_info()},
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


__all__ = ["InstancesRun", "solve_instances"]
