"""Sweeps: a base config plus a grid of values, expanded into one solve per grid point.

A sweep file::

    name: one-hidden-layer
    base: {architecture: {widths: [1, 1, 1]}, data: {samples: 1, seed: 0}}   # or base_config: ../quickstart.yaml
    grid:
      architecture.widths: [[1, 1, 1], [2, 2, 2]]
      data.samples: [1, 2, 3]
    output: {dir: results/sweeps/one-hidden-layer}

Every point of the Cartesian product of the grid lists is the base config with those values set
(keys are dotted config paths), validated like any config, and solved into
``<output.dir>/<point name>/`` — the name is made from the point's parameters, so it is stable
from run to run.  A point whose directory already holds ``summary.json`` (written last and
atomically by `report.write_outputs`) is skipped, so an interrupted sweep resumes where it
stopped.  A point that raises gets ``error.json`` in its directory and the sweep goes on; a worker
process that dies outright (segfault, out of memory) breaks the process pool, and the points it
took down are rerun one process each, so only the point at fault is recorded as failed.

Points run in parallel in a `concurrent.futures.ProcessPoolExecutor`; with the optional Dask
distributed extra, the same task function runs on a Dask cluster through
`distributed.Client.get_executor()` (no scheduler of our own).
"""

from __future__ import annotations

import contextlib
import copy
import enum
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..common.atomic import (
    add_owned_file,
    check_owned_root,
    check_result_directory,
    clean_partial_leftovers,
    ensure_owned_root,
    owned_files,
    register,
    replace_text,
    result_directory,
)
from ..errors import ConfigError, OutputPathError
from ..model.config import SCHEMA, YamlLoader, parse_config, plain_data

SWEEP_KEYS = ("name", "base", "base_config", "grid", "output", "jobs")
# short labels for point names; other keys use their last component
LABELS = {
    "architecture.widths": "w",
    "architecture.residual": "res",
    "data.samples": "m",
    "data.seed": "dseed",
    "regularization.kind": "reg",
    "regularization.lambda": "lam",
    "regularization.seed": "rseed",
    "solver.seed": "seed",
}
SUMMARY = "summary.json"
MAX_NAME = 100
MAX_POINTS = 100_000  # grid points of one sweep: each is validated before anything runs
ERROR = "error.json"
SWEEP_KIND = "sweep"

Task = dict[str, Any]
Runner = Callable[[Task], dict[str, Any]]


class PointState(enum.Enum):
    """Where a grid point stands: DONE (summary.json of this very problem), STALE (summary.json of
    another problem — the base config or data changed since — so it is recomputed) or TODO."""

    DONE = "done"
    STALE = "stale"
    TODO = "todo"


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its name, output directory, the grid values and the full config document."""

    name: str
    directory: Path
    parameters: dict[str, Any]
    document: dict[str, Any]
    fingerprint: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def done(self) -> bool:
        """Finished with this very config (see `state`)."""
        return self.state() is PointState.DONE

    def state(self) -> PointState:
        """See `PointState`; a summary.json that cannot be read as ours is stale."""
        path = self.directory / SUMMARY
        if not path.is_file():
            return PointState.TODO
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError, TypeError):
            return PointState.STALE
        return PointState.DONE if fingerprint(stored) == self.fingerprint else PointState.STALE


FINGERPRINT_SOLVER = ("seed", "start", "certify", "verify")


def fingerprint(resolved: dict[str, Any]) -> dict[str, Any]:
    """What decides a point's results: architecture, data (drawn values included), regularisation
    (Λ included) and the solver's seed, start system, certification and verification.  The
    backend is left out (``--backend`` may override it); so are paths and names."""
    data = {k: v for k, v in resolved.get("data", {}).items() if k != "file"}
    solver = resolved.get("solver", {})
    return json.loads(
        json.dumps(
            {
                "architecture": resolved.get("architecture"),
                "data": data,
                "regularization": resolved.get("regularization"),
                "solver": {k: solver.get(k) for k in FINGERPRINT_SOLVER},
            },
            default=float,
        )
    )


@dataclass
class Sweep:
    name: str
    source: str
    base_dir: Path
    grid: dict[str, list[Any]]
    output_dir: Path
    jobs: int
    points: list[SweepPoint]
    output_origin: str = ""  # "--out" or "output.dir of <file>": named in output-path errors


@dataclass
class SweepOutcome:
    """What a sweep did: names of skipped (already done), stale (done for another config, so
    recomputed), computed and failed points."""

    skipped: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "skipped": len(self.skipped),
            "stale": len(self.stale),
            "computed": len(self.computed),
            "failed": len(self.failed),
            "failed_points": self.failed,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------------------------
# parsing and expansion


def load_sweep(path: str | Path, output_dir: str | Path | None = None) -> Sweep:
    """Read a sweep YAML file; errors are one-line `ConfigError`s naming the file and field."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, "", "no such file; give the path of a sweep YAML file")
    document = _read_yaml(path, source)
    return parse_sweep(document, source=source, base_dir=path.parent, default_name=path.stem, output_dir=output_dir)


def _read_yaml(path: Path, source: str) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=YamlLoader)  # noqa: S506
    except OSError as error:
        raise ConfigError(
            source, "", f"cannot be read ({error.strerror or type(error).__name__}); check its permissions or copy it"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ConfigError(source, where, "malformed YAML; fix the syntax") from None


def parse_sweep(
    document: Any,
    *,
    source: str = "<sweep>",
    base_dir: Path | None = None,
    default_name: str = "sweep",
    output_dir: str | Path | None = None,
) -> Sweep:
    """Validate a sweep document and expand its grid into validated points."""
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    if not isinstance(document, dict):
        raise ConfigError(source, "", "expected a mapping with keys " + ", ".join(SWEEP_KEYS))
    for key in document:
        if key not in SWEEP_KEYS:
            raise ConfigError(source, str(key), f"unknown key; allowed sweep keys: {', '.join(SWEEP_KEYS)}")
    name = document.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigError(source, "name", "must be a non-empty string without '/'")
    base, config_dir = _base(document, source, base_dir)
    grid = _grid(document.get("grid"), source)
    jobs = document.get("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(source, "jobs", f"got {jobs!r}; must be an integer >= 1")
    out = _output_dir(document.get("output"), source, name, base_dir, output_dir)
    origin = "--out" if output_dir is not None else f"output.dir of {source}"
    points = expand(base, grid, out, source=source, config_dir=config_dir)
    return Sweep(
        name=name,
        source=source,
        base_dir=config_dir,
        grid=grid,
        output_dir=out,
        jobs=jobs,
        points=points,
        output_origin=origin,
    )


def _base(document: dict[str, Any], source: str, base_dir: Path) -> tuple[dict[str, Any], Path]:
    if "base" in document and "base_config" in document:
        raise ConfigError(
            source, "base_config", "give either base (a config mapping) or base_config (a path), not both"
        )
    if "base_config" in document:
        value = document["base_config"]
        if not isinstance(value, str) or not value:
            raise ConfigError(source, "base_config", "must be the path of a config YAML file (relative to the sweep)")
        path = (base_dir / value).resolve()
        if not path.is_file():
            raise ConfigError(source, "base_config", f"{path} does not exist; give a config YAML file")
        base = _read_yaml(path, str(path))
        if not isinstance(base, dict):
            raise ConfigError(str(path), "", "expected a config mapping")
        base.setdefault("name", path.stem)
        return base, path.parent
    base = document.get("base", {})
    if base is None:
        base = {}
    if not isinstance(base, dict):
        raise ConfigError(source, "base", "must be a config mapping (architecture, data, regularization, solver)")
    return copy.deepcopy(base), base_dir


def _grid(grid: Any, source: str) -> dict[str, list[Any]]:
    if grid is None:
        return {}
    if not isinstance(grid, dict):
        raise ConfigError(source, "grid", "must map dotted config paths (e.g. data.samples) to lists of values")
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        where = f"grid.{key}"
        parts = str(key).split(".")
        if len(parts) != 2 or parts[0] not in SCHEMA or parts[1] not in SCHEMA[parts[0]]:
            allowed = ", ".join(f"{s}.<{'|'.join(keys)}>" for s, keys in SCHEMA.items() if s != "output")
            raise ConfigError(source, where, f"unknown config path; use one of {allowed}")
        if parts[0] == "output":
            raise ConfigError(source, where, "output is set per point by the sweep; set the sweep's output.dir")
        if not isinstance(values, list) or not values:
            raise ConfigError(source, where, "must be a non-empty list of values")
        out[str(key)] = values
    points = math.prod(len(v) for v in out.values())
    if points > MAX_POINTS:
        raise ConfigError(source, "grid", f"{points:,} points (limit {MAX_POINTS:,}); split the sweep into smaller")
    return out


def _output_dir(output: Any, source: str, name: str, base_dir: Path, override: str | Path | None) -> Path:
    if override is not None:
        return Path(override)
    if output is None:
        return Path("results") / "sweeps" / name
    if not isinstance(output, dict) or set(output) - {"dir"}:
        raise ConfigError(source, "output", "must be a mapping with one key, dir")
    value = output.get("dir")
    if not isinstance(value, str) or not value:
        raise ConfigError(source, "output.dir", "must be a directory path (a string)")
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(value)


def expand(
    base: dict[str, Any],
    grid: dict[str, list[Any]],
    output_dir: Path,
    *,
    source: str = "<sweep>",
    config_dir: Path | None = None,
) -> list[SweepPoint]:
    """The Cartesian product of the grid over the base config, each point validated."""
    keys = list(grid)
    points: list[SweepPoint] = []
    seen: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*(grid[k] for k in keys)):
        parameters = dict(zip(keys, combo, strict=True))
        name = point_name(parameters, base.get("name", "point"))
        if name in seen:
            raise ConfigError(source, "grid", f"two grid points have the same name {name!r}; remove duplicate values")
        document = copy.deepcopy(base)
        for key, value in parameters.items():
            section, entry = key.split(".")
            block = document.get(section)
            if block is None:
                block = document[section] = {}
            if not isinstance(block, dict):
                raise ConfigError(source, f"base.{section}", "must be a mapping of keys to values")
            block[entry] = copy.deepcopy(value)
        document["name"] = name
        document.setdefault("output", {})
        if not isinstance(document["output"], dict):
            raise ConfigError(source, "base.output", "must be a mapping")
        directory = output_dir / name
        document["output"]["dir"] = str(directory)
        # validate now: a bad value is an error before anything runs, naming point and field
        config = parse_config(document, source=f"{source} (grid point {name})", base_dir=config_dir, default_name=name)
        seen[name] = parameters
        points.append(
            SweepPoint(
                name=name,
                directory=directory,
                parameters=parameters,
                document=document,
                fingerprint=fingerprint(config.resolved()),
            )
        )
    return points


def point_name(parameters: dict[str, Any], default: str = "point") -> str:
    """A stable, filesystem-safe name from a point's parameters, e.g. ``w2-2-2_m3``."""
    if not parameters:
        return _safe(str(default))
    parts = []
    for key, value in parameters.items():
        label = LABELS.get(key, key.split(".")[-1])
        parts.append(label + _format(value))
    name = "_".join(parts)
    if len(name) > MAX_NAME:  # e.g. explicit matrices in the grid: keep a readable prefix, stay unique
        digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10]
        name = f"{name[: MAX_NAME - 11]}-{digest}"
    return name


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return "-".join(_format(v) for v in value)
    text = getattr(value, "text", None) or str(value)  # LiteralFloat keeps its literal
    return _safe(text)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "", text.replace(" ", "")) or "x"


# --------------------------------------------------------------------------------------------
# running


def solve_point(task: Task) -> dict[str, Any]:
    """Solve one point (in a worker process): config → run → files.  Never raises: an
    exception is written to ``error.json`` and returned as a failed result."""
    began = time.perf_counter()
    directory = Path(task["directory"])
    try:
        clean_partial_leftovers(directory)
        from ..engines.native.executors import dask_worker_address
        from ..model.config import parse_config as parse
        from ..pipeline import solve
        from ..pipeline.cost import guard
        from ..reports.files import write_outputs

        config = parse(
            task["document"], source=task["source"], base_dir=Path(task["base_dir"]), default_name=task["name"]
        )
        if task.get("backend"):
            config = config.with_solver(backend=task["backend"])
        if config.solver.executor == "dask" and dask_worker_address():
            # the sweep's cluster already spreads the points; a point does not start a cluster
            # of its own inside a worker (summary.json's config.solver says executor: threads)
            config = config.with_solver(executor="threads")
        guard(config, bool(task.get("force")))
        run = solve(config, began=began)
        write_outputs(run, directory, task.get("origin", ""))
        return {
            "name": task["name"],
            "status": "computed",
            "seconds": round(time.perf_counter() - began, 3),
            "complex": run.summary["complex_solutions"],
            "real": run.summary["real_solutions"],
            "complete": run.summary["complete"],
        }
    except BaseException as error:  # noqa: BLE001 - recorded, the sweep goes on
        if isinstance(error, KeyboardInterrupt):
            raise
        return record_failure(task, f"{type(error).__name__}: {error}", traceback.format_exc(), began)


def record_failure(task: Task, message: str, trace: str, began: float) -> dict[str, Any]:
    """``error.json`` for a point that raised.  An earlier result of the point stays beside it
    (the next successful run replaces both); a directory of the user's is never written into."""
    directory = Path(task["directory"])
    record = {
        "name": task["name"],
        "status": "failed",
        "error": message.splitlines()[0] if message else "unknown error",
        "traceback": trace,
        "parameters": task.get("parameters", {}),
        "seconds": round(time.perf_counter() - began, 3),
    }
    text = json.dumps(record, indent=2, default=str) + "\n"
    with contextlib.suppress(OutputPathError):
        if directory.is_dir() and owned_files(directory):
            add_owned_file(directory, ERROR, text, task.get("origin", ""))
        else:
            with result_directory(directory, task.get("origin", ""), kind="failed") as tmp:
                (tmp / ERROR).write_text(text, encoding="utf-8")
    return record


def tasks(sweep: Sweep, backend: str | None = None, force: bool = False) -> list[Task]:
    return [
        {
            "name": p.name,
            "directory": str(p.directory),
            "document": p.document,
            "parameters": p.parameters,
            "fingerprint": p.fingerprint,
            "source": f"{sweep.source} (grid point {p.name})",
            "base_dir": str(sweep.base_dir),
            "backend": backend,
            "force": force,
            "origin": f"sweep point {p.name} under {sweep.output_origin}",
        }
        for p in sweep.points
    ]


def check_outputs(sweep: Sweep) -> None:
    """Refuse, before anything runs or is written, a sweep whose output directory or any of
    whose point directories holds something the tool did not write (`OutputPathError`)."""
    check_owned_root(sweep.output_dir, sweep.output_origin, SWEEP_KIND, legacy=_legacy_root)
    for point in sweep.points:
        check_result_directory(point.directory, f"sweep point {point.name} under {sweep.output_origin}")


def check_costs(sweep: Sweep, force: bool = False) -> None:
    """Refuse, before anything runs, a sweep with a point whose estimated cost is beyond what can
    finish (`pipeline.cost.guard`: one line naming the point and the estimate), unless `force`."""
    if force:
        return
    from ..pipeline.cost import guard

    for point in sweep.points:
        source = f"{sweep.source} (grid point {point.name})"
        guard(parse_config(point.document, source=source, base_dir=sweep.base_dir, default_name=point.name))


def _legacy_root(directory: Path) -> bool:
    """A sweep directory an earlier version wrote (no marker): its manifest is there."""
    try:
        manifest = json.loads((directory / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"name", "grid", "points"} <= manifest.keys()


def write_manifest(sweep: Sweep) -> Path:
    """``sweep.json`` in the output directory: the grid and every point's parameters.  The
    directory is claimed for the sweep (a marker listing the manifest and the points)."""
    ensure_owned_root(sweep.output_dir, sweep.output_origin, SWEEP_KIND, legacy=_legacy_root)
    manifest = {
        "name": sweep.name,
        "source": sweep.source,
        "grid": sweep.grid,
        "points": [{"name": p.name, "directory": p.name, "parameters": p.parameters} for p in sweep.points],
    }
    path = sweep.output_dir / "sweep.json"
    replace_text(path, json.dumps(manifest, indent=2, default=float) + "\n")
    register(sweep.output_dir, SWEEP_KIND, ["sweep.json", *(p.name for p in sweep.points)])
    return path


def run_sweep(
    sweep: Sweep,
    jobs: int | None = None,
    *,
    backend: str | None = None,
    runner: Runner = solve_point,
    executor: Executor | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    force: bool = False,
) -> SweepOutcome:
    """Run every point not done yet.  ``jobs == 1`` (and no executor) runs in this process;
    otherwise a process pool of ``jobs`` workers (or the given executor, e.g. Dask's)."""
    began = time.perf_counter()
    jobs = jobs or sweep.jobs
    outcome = SweepOutcome()
    check_outputs(sweep)
    write_manifest(sweep)
    todo = []
    for task, point in zip(tasks(sweep, backend, force), sweep.points, strict=True):
        state = point.state()
        if state is PointState.DONE:
            outcome.skipped.append(point.name)
        else:
            if state is PointState.STALE:
                outcome.stale.append(point.name)
            todo.append(task)

    def record(result: dict[str, Any]) -> None:
        outcome.results.append(result)
        (outcome.computed if result["status"] == "computed" else outcome.failed).append(result["name"])
        if on_result is not None:
            on_result(result)

    if executor is not None:
        for result in _run_executor(executor, todo, runner):
            record(result)
    elif jobs == 1:
        for task in todo:
            record(runner(task))
    else:
        for result in _run_pool(todo, runner, jobs):
            record(result)
    outcome.seconds = time.perf_counter() - began
    return outcome


def _run_executor(executor: Executor, todo: list[Task], runner: Runner) -> Iterable[dict[str, Any]]:
    futures: dict[Future[dict[str, Any]], Task] = {executor.submit(runner, task): task for task in todo}
    for future in as_completed(futures):
        task = futures[future]
        try:
            yield future.result()
        except Exception as error:  # noqa: BLE001 - e.g. a Dask worker lost
            yield record_failure(task, f"{type(error).__name__}: {error}", traceback.format_exc(), time.perf_counter())


# spawn, not fork: a parent that has run numba's OpenMP threading layer must not fork
_CONTEXT = multiprocessing.get_context("spawn")


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=_CONTEXT, initializer=die_with_parent, initargs=(os.getpid(),)
    )


def die_with_parent(parent: int, every: float = 1.0) -> None:
    """In a worker: exit when the sweep that started it is gone (killed with SIGKILL, which it
    cannot pass on), instead of computing on as an orphan — its point is rerun on resume."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _run_pool(todo: list[Task], runner: Runner, jobs: int) -> Iterable[dict[str, Any]]:
    """Process pool; when a worker dies the pool breaks, and the points it took down are rerun
    each in a fresh one-worker pool so that only the point at fault is marked failed.  On an
    interrupt (Ctrl-C, SIGTERM) the workers are stopped at once; finished points stay done."""
    suspects: list[Task] = []
    pool = _pool(jobs)
    try:
        futures = {pool.submit(runner, task): task for task in todo}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                suspects.append(futures[future])
                continue
            yield result
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown()
    for task in suspects:
        began = time.perf_counter()
        single = _pool(1)
        try:
            result = single.submit(runner, task).result()
        except BrokenProcessPool:
            result = record_failure(
                task, "worker process died (crash or out of memory) while solving this point", "", began
            )
        except BaseException:
            _terminate(single)
            raise
        single.shutdown()
        yield result


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool without waiting for running points (concurrent.futures has no public way
    before Python 3.14, hence the private process table)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


def export_configs(sweep: Sweep, directory: str | Path, origin: str = "--export-configs") -> list[Path]:
    """Write every point as a plain config file ``<directory>/<name>.yaml`` (output.dir set to
    the point's directory), for a shell loop over ``dln solve`` or a cluster's job array.  The
    folder is a result of its own: absent, empty or an earlier export, never the user's."""
    directory = Path(directory)
    names = []
    with result_directory(directory, origin, kind="configs") as tmp:
        for point in sweep.points:
            document = plain_data(copy.deepcopy(point.document))
            data = document.get("data") or {}
            if isinstance(data.get("file"), str) and not Path(data["file"]).is_absolute():
                data["file"] = str((sweep.base_dir / data["file"]).resolve())
            document["output"]["dir"] = str(Path(point.directory).resolve())
            header = f"# point {point.name} of sweep {sweep.name} ({sweep.source}): {json.dumps(point.parameters)}\n"
            names.append(f"{point.name}.yaml")
            (tmp / names[-1]).write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return [directory / name for name in names]


@contextlib.contextmanager
def dask_executor(address: str | None) -> Iterator[Executor]:
    """A concurrent.futures executor on a Dask cluster (optional extra: ``dask[distributed]``);
    ``address`` None starts a local cluster.  The client is closed on exit."""
    try:
        from distributed import Client  # type: ignore[import-not-found]
    except ImportError:
        from ..errors import BackendUnavailable

        raise BackendUnavailable("the dask executor needs Dask distributed: pip install 'dask[distributed]'") from None
    client = Client(address) if address else Client(processes=True)
    try:
        yield client.get_executor()
    finally:
        client.close()
