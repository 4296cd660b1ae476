"""The public Python API: what a researcher calls from a notebook, and what the CLI is a thin
layer over.

    import dlnlandscape as dln
    result = dln.solve("configs/quickstart.yaml", seed=43)
    result.complete, result.reasons        # how far the count can be trusted, and why not
    result.points                          # pandas DataFrame, the columns of critical_points.csv
    result.save("results/quickstart")      # the same files as `dln solve`

A config is a path to a YAML file, a dict in the YAML schema (README, "Config reference") or a
`Config`; keyword arguments override `solver:` keys (`seed`, `backend`, `start`, `verify`,
`certify`, `threads`, ...), as the CLI flags do.  Nothing is written until `save` is called, and
`save` follows the tool's one rule for output paths (`common.atomic`): a new or empty directory,
or an earlier result of the tool's own — never anything of the user's.

Why result objects rather than the dicts: a notebook wants `result.points.query("real")`, a short
repr that says whether the count is complete, and the summary as the exact `summary.json` dict
for anything else — all three without knowing the pipeline's internals.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BackendUnavailable, ConfigError
from .model.config import Config, load_config, parse_config

ConfigLike = str | Path | Mapping[str, Any] | Config


def as_config(config: ConfigLike, **solver: Any) -> Config:
    """A `Config` from a path, a dict in the YAML schema or a `Config`, with solver overrides."""
    if isinstance(config, Config):
        parsed = config
    elif isinstance(config, (str, Path)):
        parsed = load_config(config)
    elif isinstance(config, Mapping):
        parsed = parse_config(dict(config), source="<dict>")
    else:
        raise ConfigError("<argument>", "config", f"got a {type(config).__name__}; give a path, a dict or a Config")
    return parsed.with_solver(**solver) if solver else parsed


def _dataframe(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise BackendUnavailable(
            "result.points needs pandas: pip install 'dlnlandscape[pandas]' (or use result.summary / result.save)"
        ) from None
    return pd.DataFrame(rows, columns=columns)


def _count_line(summary: Mapping[str, Any]) -> str:
    classes = summary["classes"]["by_class"]
    return (
        f"{summary['complex_solutions']} complex, {summary['real_solutions']} real critical points "
        f"({classes['global_minimum']} global min, {classes['local_minimum']} local min, {classes['saddle']} saddles)"
    )


class _RunView:
    """What every solve result shows the same way: the summary, and the verdict read from it."""

    run: Any

    @property
    def summary(self) -> dict[str, Any]:
        """Exactly the summary.json written by `save`."""
        return self.run.summary

    @property
    def complete(self) -> bool:
        """Whether the count is established as complete (see `reasons` when it is not)."""
        return bool(self.summary["complete"])

    @property
    def reasons(self) -> list[str]:
        """Why the count is not (or is only heuristically) complete; empty when it is."""
        return list(self.summary["warnings"])


@dataclass(frozen=True)
class SolveResult(_RunView):
    """One solve: counts, completeness with its reasons, bounds, the critical points, the summary.

    `summary` is exactly the dict written to `summary.json`; the properties are views of it and
    of the classified points, so nothing here can disagree with the files `save` writes."""

    run: Any  # pipeline.Run: config, problem, engine result, classified points, summary

    @property
    def config(self) -> Config:
        return self.run.config

    @property
    def complex_solutions(self) -> int:
        return int(self.summary["complex_solutions"])

    @property
    def real_solutions(self) -> int:
        return int(self.summary["real_solutions"])

    @property
    def bounds(self) -> dict[str, Any]:
        """Bézout, multihomogeneous and (where computed) BKK bounds on the count."""
        return self.summary["bounds"]

    @property
    def classes(self) -> dict[str, int]:
        """Real critical points by class (global_minimum, local_minimum, saddle, maximum, degenerate)."""
        return dict(self.summary["classes"]["by_class"])

    @property
    def solutions(self) -> np.ndarray:
        """The distinct critical points' coordinates, (points, unknowns) complex, in the order of
        `points` (real first, by loss)."""
        from .reports.points import point_order

        return self.run.points.solutions[point_order(self.run.points)]

    @property
    def points(self) -> Any:
        """Every distinct critical point as a pandas DataFrame with the columns of
        critical_points.csv (pandas is an optional extra)."""
        from .reports.points import critical_points_columns, critical_points_rows

        problem = self.run.problem
        return _dataframe(critical_points_rows(problem, self.run.points), critical_points_columns(problem))

    @property
    def real_points(self) -> Any:
        """The real critical points (a DataFrame, as `points`)."""
        frame = self.points
        return frame[frame["real"]].reset_index(drop=True)

    def save(self, directory: str | Path, origin: str = "save()") -> Path:
        """Write critical_points.csv, solutions.npz, summary.json and report.md, as `dln solve`
        does (only into a new or empty directory or over an earlier result of the tool's own;
        `origin` names the path's source in the error otherwise)."""
        from .reports.files import write_outputs

        return write_outputs(self.run, Path(directory), origin)

    def __repr__(self) -> str:
        s = self.summary
        state = "complete" if self.complete else "NOT complete: " + "; ".join(self.reasons[:2])
        return f"<SolveResult {s['name']}: {_count_line(s)}; {state}>"

    def _repr_html_(self) -> str:
        from .reports.text import summary_lines

        cell = "style='text-align:left'"
        rows = "".join(
            f"<tr><th {cell}>{html.escape(k)}</th><td {cell}>{html.escape(v)}</td></tr>"
            for k, v in summary_lines(self.summary)
        )
        return f"<table><caption>dlnlandscape: {html.escape(self.summary['name'])}</caption>{rows}</table>"


@dataclass(frozen=True)
class InstancesResult(_RunView):
    """`data.instances: N`: one table over N random instances, with distributions."""

    run: Any  # pipeline.instances.InstancesRun

    @property
    def points(self) -> Any:
        """Every instance's critical points in one DataFrame (an `instance` column first)."""
        from .reports.instances import instances_columns, instances_rows

        return _dataframe(instances_rows(self.run), instances_columns(self.run))

    @property
    def instances(self) -> Any:
        """One row per instance (the columns of instances.csv)."""
        from .reports.instances import per_instance_rows

        rows = per_instance_rows(self.summary)
        return _dataframe(rows, list(rows[0]) if rows else [])

    def save(self, directory: str | Path, origin: str = "save()") -> Path:
        """critical_points.csv (with an `instance` column), instances.csv, summary.json, report.md."""
        from .reports.instances import write_instances_outputs

        return write_instances_outputs(self.run, Path(directory), origin)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<InstancesResult {s['name']}: {s['instances']} instances, generic count {s['generic_count']}, "
            f"{s['complete_instances']} complete>"
        )


@dataclass(frozen=True)
class ComponentsResult:
    """`components`: the positive-dimensional critical set, component by component."""

    decomposition: Any  # decomposition.Decomposition

    @property
    def summary(self) -> dict[str, Any]:
        """Exactly components.json."""
        return self.decomposition.as_dict()

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.summary["components"])

    def save(self, directory: str | Path, origin: str = "save()") -> Path:
        """components.json and components.md beside the initial solve's files."""
        from .reports.components import write_components

        return write_components(self.decomposition, Path(directory), origin)

    def __str__(self) -> str:
        return "\n".join(self.decomposition.lines())

    def __repr__(self) -> str:
        parts = ", ".join(f"dim {c['dimension']} degree {c['degree']}" for c in self.components[:4])
        more = f", … {len(self.components) - 4} more" if len(self.components) > 4 else ""
        return f"<ComponentsResult {self.decomposition.name}: {len(self.components)} component(s): {parts}{more}>"


def solve(
    config: ConfigLike,
    progress: Any = None,
    *,
    force: bool = False,
    began: float | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    control: Any = None,
    **solver: Any,
) -> SolveResult | InstancesResult:
    """Solve a config's gradient system and classify every critical point.

    `solver` keywords override the config's `solver:` keys.  A config with `data.instances > 1`
    gives an `InstancesResult` (one monodromy solve, a parameter homotopy per instance).  A solve
    whose estimated cost is beyond what can finish raises `TooExpensive` before it starts
    (`pipeline/cost.py`) unless `force`.  `began` (time.perf_counter() at the caller's entry, as
    the CLI passes it) starts summary.json's `seconds`; by default it is this call.

    Long monodromy solves: `time_limit=SECONDS` (a solver key) stops the search in time to carry
    what it found to the target and returns a partial result (`complete` False, the reason first
    in `reasons`).  `checkpoint=DIR` keeps the search's state in DIR/checkpoint.npz (every minute
    and on a stop; the directory rule of `save` applies) and `resume=True` continues from it —
    ending with the same solutions as an uninterrupted run.  `control` (an
    `engines.control.RunControl`) is for callers that handle signals themselves, as the CLI."""
    from .engines.control import RunControl
    from .pipeline import solve as solve_one
    from .pipeline import solve_instances
    from .pipeline.cost import guard

    began = time.perf_counter() if began is None else began
    parsed = as_config(config, **solver)
    guard(parsed, force)
    if parsed.instances > 1:
        return InstancesResult(solve_instances(parsed, progress=progress))
    if checkpoint is not None or resume:
        control = control or RunControl()
        if control.checkpoint_dir is None:
            control.checkpoint_dir = Path(checkpoint) if checkpoint is not None else parsed.output_dir
            control.checkpoint_origin = "checkpoint" if checkpoint is not None else parsed.output_origin
        control.resume = control.resume or resume
    return SolveResult(solve_one(parsed, progress=progress, began=began, control=control))


def components(
    config: ConfigLike, *, sample_paths: int | None = None, seeds: str = "auto", **solver: Any
) -> ComponentsResult:
    """Decompose a positive-dimensional critical set (regularization none or l2, residual
    networks): dimension, degree and loss of every component, each witness set trace-tested.
    `seeds`: "auto", "penalty" (a generic penalty's critical points carried to the config's) or
    "start_system" (a linear-product solve's endpoints)."""
    from .decomposition import decompose

    return ComponentsResult(decompose(as_config(config, **solver), sample_paths=sample_paths, seeds=seeds))


@dataclass(frozen=True)
class CheckResult:
    """`check`: the validated config's size, degrees and bounds, and which engines can run."""

    facts: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.facts[key]

    def __repr__(self) -> str:
        from .analysis.bounds import describe_bound

        f = self.facts
        return (
            f"<CheckResult {f['name']}: widths {f['widths']}, {f['unknowns']} unknowns, degree {f['degree']}, "
            f"Bézout {describe_bound(f['bounds']['bezout'], f['bounds']['log10']['bezout'])}, multihomogeneous "
            f"{describe_bound(f['bounds']['multihomogeneous'], f['bounds']['log10']['multihomogeneous'], upper=True)}>"
        )


def engine_availability() -> dict[str, str]:
    """Which engines can run here, and where they were found (never starts Julia)."""
    states = {"native": "available (built in)"}
    try:
        from .engines.julia.runtime import julia_available

        found, why = julia_available()
        states["julia"] = ("available: " if found else "not available: ") + why
    except Exception as error:  # noqa: BLE001 - a broken optional install is reported, not raised
        states["julia"] = f"not available: {error}"
    try:
        from .exact.msolve import msolve_info

        info = msolve_info()
        states["msolve"] = (
            f"available: {info['path']} ({info['source']}, {info['version']})"
            if info["available"]
            else f"not available: {info['message']}"
        )
    except Exception as error:  # noqa: BLE001
        states["msolve"] = f"not available: {error}"
    return states


def check(config: ConfigLike, *, bkk: bool = False) -> CheckResult:
    """Validate a config and report its unknowns, equations, degrees, bounds and the estimated
    cost of solving it (no solving; closed forms only, so it answers at once at any size).  The
    BKK bound comes from the disk cache or a small budget; `bkk=True` computes it in full (and
    caches it for later runs)."""
    from .analysis.bounds import architecture_bounds
    from .pipeline.cost import estimate

    parsed = as_config(config)
    H = parsed.depth
    n = sum(a * b for a, b in zip(parsed.widths[:-1], parsed.widths[1:]))
    return CheckResult(
        {
            "name": parsed.name,
            "widths": list(parsed.widths),
            "samples": parsed.samples,
            "regularization": parsed.regularization,
            "residual": parsed.residual,
            "unknowns": n,
            "equations": n,
            "degree": 2 * H - 1,
            # equations of layer i: degree 1 in layer i's weights, 2 in every other layer's
            "multidegrees_per_layer": [[1 if j == i else 2 for j in range(H)] for i in range(H)],
            "loss": parsed.loss.kind,
            "bounds": architecture_bounds(
                parsed.widths, parsed.residual, parsed.samples, "full" if bkk else "budget", parsed.loss.kind
            ),
            "estimate": estimate(parsed).as_dict(),
            "engines": engine_availability(),
            "proven_set": _kept_proof(parsed, n),
        }
    )


def _kept_proof(config: Config, unknowns: int) -> dict[str, Any] | None:
    """The proven set an earlier run kept for this config's architecture (engines/native/proven.py),
    which a solve would start from — None when there is none or reuse is off."""
    from .engines.native.proven import MAX_CHECKED_UNKNOWNS, kept_origin

    if not config.solver.reuse or unknowns > MAX_CHECKED_UNKNOWNS:  # `check` answers at once at any size
        return None
    from .model.problem import Problem

    return kept_origin(Problem.from_config(config))


__all__ = [
    "CheckResult",
    "ComponentsResult",
    "InstancesResult",
    "SolveResult",
    "as_config",
    "check",
    "components",
    "engine_availability",
    "solve",
]
