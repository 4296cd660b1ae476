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
from dataclasses import dataclass
from typing import Any

from ..engines.base import SolveResult
from ..engines.native.engine import NativeEngine
from ..engines.native.executors import current_executor, executor_for, using, with_executor_record
from ..errors import ConfigError
from ..model.config import Config
from ..model.problem import Problem
from .run import Run, finish, resolve_trusted_count
from .summary import build_instances_summary, instance_row
from .verdict import decide_instances, instance_complete

REASON = "data.instances: monodromy + parameter homotopies"


@dataclass(frozen=True)
class InstancesRun:
    """Every instance's solve (each a `Run`, through the same `finish` as a single solve) and the
    summary over all of them."""

    config: Config
    runs: list[Run]
    summary: dict[str, Any]

    @property
    def configs(self) -> list[Config]:
        return [run.config for run in self.runs]

    @property
    def problems(self) -> list[Problem]:
        return [run.problem for run in self.runs]

    @property
    def points(self) -> list[Any]:
        return [run.points for run in self.runs]


def solve_instances(config: Config, progress: Any = None) -> InstancesRun:
    """Solve every instance of `config` (see the module docstring)."""
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
    # one executor for both stages: the paths of every instance, then every instance's
    # classification and certification (independent, ~30 ms each: 10⁴ instances are minutes)
    with executor_for(config.solver) as executor, using(executor):
        options = resolve_trusted_count(problems[0], config.solver, engine)
        results = engine.solve_instances(problems, options, progress)
        runs = current_executor().map(finish_instance, list(zip(configs, problems, results, strict=True)))
        results[0] = with_executor_record(results[0], executor)  # the record with the classification's tasks
    monodromy = results[0].monodromy
    if monodromy is None:
        raise ValueError("data.instances expects a native monodromy solve")
    generic = int(monodromy.base_solutions)
    rows = []
    for i, run in enumerate(runs):
        complete = instance_complete(run.verdict, run.summary["complex_solutions"], generic)
        rows.append(instance_row(i, run.config, run.summary, complete))
    verdict = decide_instances(rows, generic, results[0])
    summary = build_instances_summary(config, rows, generic, verdict, results[0], time.perf_counter() - began)
    return InstancesRun(config, runs, summary)


def finish_instance(item: tuple[Config, Problem, SolveResult]) -> Run:
    """One instance's `finish` (module-level: it runs on Dask workers too); its seconds count
    from here, in the process that runs it."""
    config, problem, result = item
    return finish(config, problem, result, REASON, time.perf_counter())


__all__ = ["InstancesRun", "finish_instance", "solve_instances"]
