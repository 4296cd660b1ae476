"""The `dln` command line: a thin click layer over the Python API (api.py) and the reports.

Exit codes: 0 success; 1 anything unexpected; 2 bad config or usage; 3 backend unavailable;
4 verification mismatch with --strict.  Every error is one line on stderr, never a traceback
(set DLN_DEBUG=1 to see one).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .errors import EXIT_OTHER, DLNError, VerificationMismatch
from .version import __version__

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 unexpected error; 2 bad config or usage; "
    "3 backend unavailable; 4 verification mismatch (with --strict)."
)


@contextlib.contextmanager
def _errors(interrupted: str = "dln: interrupted") -> Iterator[None]:
    """Every command's failure is one line and the documented exit code (130 on Ctrl-C)."""
    try:
        yield
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo(interrupted, err=True)
        sys.exit(130)
    except BaseException as error:  # noqa: BLE001 - one line, right exit code
        _fail(error)


def _config_to_write(config_path: Path, out: Path | None, **solver: Any) -> Any:
    """The config with CLI overrides, its output path checked before any work starts (a long
    solve must not end in "cannot write there")."""
    from . import api
    from .common.atomic import check_result_directory

    config = api.as_config(config_path, **solver)
    if out is not None:
        config = config.with_output(out)
    check_result_directory(config.output_dir, config.output_origin)
    return config


def _one_line(text: str) -> str:
    """Control characters (a key written with a tab or a line separator in it) escaped, so an
    error stays one line whatever the config holds."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _fail(error: BaseException) -> None:
    if os.environ.get("DLN_DEBUG"):
        raise error
    if isinstance(error, DLNError):
        click.echo(f"dln: error: {_one_line(str(error))}", err=True)
        sys.exit(error.exit_code)
    message = _one_line(str(error).splitlines()[0]) if str(error) else type(error).__name__
    click.echo(f"dln: internal error: {type(error).__name__}: {message} (DLN_DEBUG=1 shows a traceback)", err=True)
    sys.exit(EXIT_OTHER)


@click.group(help="Find and classify all critical points of deep linear network losses.\n\n" + EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="dln")
def main() -> None:
    pass


@main.command(help="Solve CONFIG's gradient system and classify every critical point.\n\n" + EXIT_CODES_HELP)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Output directory (default: output.dir)."
)
@click.option("--backend", type=click.Choice(["auto", "native", "julia", "exact"]), help="Override solver.backend.")
@click.option("--seed", type=click.IntRange(min=0), help="Override solver.seed.")
@click.option(
    "--verify",
    type=click.Choice(["none", "degree", "real"]),
    help="Override solver.verify: cross-check with msolve (degree over a prime, or certified real points).",
)
@click.option("--strict", is_flag=True, help="Exit 4 when the verification finds a mismatch.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout (for shell batches).")
@click.option("--quiet", is_flag=True, help="No table and no progress bar.")
@click.option("--force", is_flag=True, help="Run even when the estimated cost is beyond what can finish.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Override solver.time_limit: stop a native solve in time and write a partial result "
    "(complete: false, with the reason); a monodromy solve also writes a checkpoint for --resume.",
)
@click.option(
    "--resume", is_flag=True, help="Continue the monodromy solve whose checkpoint is in the output directory."
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Solve from scratch: do not start from a solution set an earlier run proved for the same "
    "architecture, and keep nothing for later runs (solver.reuse: false).",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Track the paths on a Dask cluster: 'local' (a LocalCluster of solver.threads worker processes), "
    "a scheduler address (tcp://host:8786) or a scheduler file (*.json).  Sets solver.executor: dask.",
)
def solve(
    config_path: Path,
    out: Path | None,
    backend: str | None,
    seed: int | None,
    verify: str | None,
    strict: bool,
    as_json: bool,
    quiet: bool,
    force: bool,
    time_limit: float | None,
    resume: bool,
    fresh: bool,
    dask_address: str | None,
) -> None:
    began = time.perf_counter()  # summary.json's `seconds`: the whole command
    with _errors("dln: interrupted; no result was written (a checkpoint already written stays, for --resume)"):
        from . import api
        from .engines.control import RunControl, stop_on_signals
        from .engines.native.checkpoint import CHECKPOINT
        from .reports.terminal import Progress, print_result

        control = RunControl()  # the time limit counts from here
        overrides: dict[str, Any] = {"executor": "dask", "dask_address": dask_address} if dask_address else {}
        if fresh:
            overrides["reuse"] = False
        config = _config_to_write(
            config_path, out, backend=backend, seed=seed, verify=verify, time_limit=time_limit, **overrides
        )
        control.checkpoint_dir, control.checkpoint_origin = config.output_dir, config.output_origin
        control.resume = resume
        held = (config.output_dir / CHECKPOINT).is_file()
        if resume and not held:
            click.echo(f"dln: {config.output_dir} holds no checkpoint: solving from the beginning", err=True)
        elif held and not resume:
            click.echo(
                f"dln: {config.output_dir} holds the checkpoint of an unfinished solve; starting afresh replaces "
                "it (--resume continues it)",
                err=True,
            )
        with stop_on_signals(control):  # SIGINT/SIGTERM: a partial result instead of nothing
            result = api.solve(
                config,
                progress=Progress(enabled=not quiet and not as_json),
                force=force,
                began=began,
                control=control,
            )
            directory = result.save(config.output_dir, origin=config.output_origin)
        stopped = result.summary.get("stopped_early")
        if stopped and not quiet:
            click.echo(
                f"dln: partial result ({stopped}) in {directory}/; continue: dln solve {config_path} --resume", err=True
            )
        if as_json:
            click.echo(json.dumps(result.summary, indent=2))
        elif not quiet:
            print_result(result.summary, directory)
        check = result.summary.get("verification")
        if strict and check and check.get("status") == "mismatch":
            raise VerificationMismatch(f"verification mismatch (--strict): {check.get('message')}")


@main.command(
    help="Validate CONFIG and print its unknowns, equations, degrees, bounds and the estimated cost of "
    "solving it (no solving; answers at once at any size).\n\n" + EXIT_CODES_HELP
)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@click.option(
    "--bkk", is_flag=True, help="Compute the BKK bound in full (can take minutes; cached for every later run)."
)
def check(config_path: Path, as_json: bool, bkk: bool) -> None:
    with _errors():
        from . import api
        from .analysis.bkk import describe
        from .analysis.bounds import describe_bound

        facts = api.check(config_path, bkk=bkk).facts
        if as_json:
            click.echo(json.dumps(facts, indent=2))
            return
        click.echo(f"{config_path}: valid")
        for key in (
            "name",
            "widths",
            "samples",
            "regularization",
            "loss",
            "residual",
            "unknowns",
            "equations",
            "degree",
        ):
            click.echo(f"  {key}: {facts[key]}")
        b = facts["bounds"]
        click.echo(
            f"  bounds: Bézout {describe_bound(b['bezout'], b['log10']['bezout'])}, multihomogeneous "
            f"{describe_bound(b['multihomogeneous'], b['log10']['multihomogeneous'], upper=True)}"
            + (f", {describe(b['bkk'])}" if b.get("bkk") else "")
        )
        if "one_hidden_layer_one_sample" in b:
            o = b["one_hidden_layer_one_sample"]
            click.echo(f"  one hidden layer, one sample: all {o['all']}, no zero coordinate {o['no_zero_coordinate']}")
        cost = facts["estimate"]
        click.echo(f"  estimated solve: {_estimate_line(cost)}")
        kept = facts.get("proven_set")
        if kept:
            click.echo(
                f"  proven set: kept by an earlier run (solver seed {kept.get('solver_seed')}, {kept.get('written')}; "
                f"{kept['solutions']:,} solutions): a solve tracks the final homotopy only (--fresh proves it again)"
            )
        for name, state in facts["engines"].items():
            click.echo(f"  engine {name}: {state}")


def _estimate_line(cost: dict[str, Any]) -> str:
    from .pipeline.cost import duration, power

    what = "paths" if "start" in cost["method"] else "critical points"
    line = f"~{duration(cost['seconds_log10'])} ({cost['method']}, ~{power(cost['paths_log10'])} {what})"
    return line + ("" if cost["feasible"] else "; beyond what can finish: dln solve refuses it without --force")


@main.command(
    help="Solve CONFIG, follow steepest descent from every real index-1 saddle to the minima it joins, "
    "and draw the disconnectivity graph: connections.csv, landscape.json, disconnectivity.png/svg beside "
    "the solve's files.\n\n" + EXIT_CODES_HELP
)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Output directory (default: output.dir)."
)
@click.option(
    "--loss-scale",
    type=click.Choice(["linear", "log"]),
    default="linear",
    show_default=True,
    help="The graph's loss axis; log shows loss − lowest on a log scale.",
)
@click.option("--json", "as_json", is_flag=True, help="Print landscape.json to stdout.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def landscape(config_path: Path, out: Path | None, loss_scale: str, as_json: bool, quiet: bool) -> None:
    with _errors("dln: interrupted"):
        from .landscape import landscape as connect_landscape
        from .reports.landscape import write_landscape

        config = _config_to_write(config_path, out)
        result = connect_landscape(config)
        directory = write_landscape(result, config.output_dir, origin=config.output_origin, scale=loss_scale)
        if as_json:
            click.echo(json.dumps(result.summary(), indent=2))
        elif not quiet:
            click.echo("\n".join(result.lines()))
            click.echo(
                f"results in {directory}/ (connections.csv, landscape.json, disconnectivity.png/svg, the solve's files)"
            )


@main.command(
    help="Decompose CONFIG's positive-dimensional critical set (regularization none or l2, residual "
    "networks): dimension, degree (witness set, trace test) and loss of every component found, beside "
    "the closed-form critical values when Λ = 0.\n\n" + EXIT_CODES_HELP
)
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Output directory (default: output.dir)."
)
@click.option("--seed", type=click.IntRange(min=0), help="Override solver.seed (solve, slices and loops).")
@click.option(
    "--sample-paths",
    type=click.IntRange(min=1),
    help="Track only this many randomly chosen start paths of the initial solve (seeds need only touch "
    "every component).",
)
@click.option(
    "--seeds",
    type=click.Choice(["auto", "penalty", "start_system"]),
    default="auto",
    show_default=True,
    help="Where the seeds come from: a generic penalty's critical points (monodromy) carried to the config's "
    "penalty, or a linear-product solve's endpoints; auto: the first beyond 10,000 start paths.",
)
@click.option("--json", "as_json", is_flag=True, help="Print components.json to stdout.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def components(
    config_path: Path,
    out: Path | None,
    seed: int | None,
    sample_paths: int | None,
    seeds: str,
    as_json: bool,
    quiet: bool,
) -> None:
    with _errors("dln: interrupted"):
        from . import api

        config = _config_to_write(config_path, out, seed=seed)
        result = api.components(config, sample_paths=sample_paths, seeds=seeds)
        directory = result.save(config.output_dir, origin=config.output_origin)
        if as_json:
            click.echo(json.dumps(result.summary, indent=2))
        elif not quiet:
            click.echo(str(result))
            click.echo(f"results in {directory}/ (components.json, components.md and the solve's files)")


@main.command(
    help="Run every point of SWEEP (a base config and a grid of values), skipping points already done.\n\n"
    + EXIT_CODES_HELP
)
@click.argument("sweep_path", metavar="SWEEP", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: the sweep's jobs, else 1).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Output directory of the sweep.")
@click.option("--backend", type=click.Choice(["auto", "native", "julia", "exact"]), help="Override solver.backend.")
@click.option("--dry-run", is_flag=True, help="List the points (done or to do) and exit.")
@click.option(
    "--dask", "dask_address", metavar="ADDRESS", help="Run on a Dask cluster (optional extra; 'local' for a local one)."
)
@click.option(
    "--export-configs",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each point as a config file into this directory (for a shell loop over dln solve) and exit.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome (counts of skipped/computed/failed) as JSON.")
@click.option("--force", is_flag=True, help="Run points even when their estimated cost is beyond what can finish.")
def sweep(
    sweep_path: Path,
    jobs: int | None,
    out: Path | None,
    backend: str | None,
    dry_run: bool,
    dask_address: str | None,
    export_dir: Path | None,
    as_json: bool,
    force: bool,
) -> None:
    with _errors("dln: interrupted; finished points are kept, rerun to resume"):
        import contextlib
        import signal

        from .batches.sweep import check_costs, check_outputs, dask_executor, export_configs, load_sweep, run_sweep

        def _terminated(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _terminated)  # a killed sweep stops its workers and keeps what is done

        plan = load_sweep(sweep_path, output_dir=out)
        if not dry_run and export_dir is None:
            check_outputs(plan)
            check_costs(plan, force)
        states = [point.state().value for point in plan.points]
        done = states.count("done")
        if dry_run:
            for point, state in zip(plan.points, states, strict=True):
                click.echo(f"{state:5}  {point.directory}")
            click.echo(
                f"{len(plan.points)} points: {done} done, {len(plan.points) - done} to run"
                + (f" ({states.count('stale')} stale: done for another config)" if "stale" in states else "")
            )
            return
        if export_dir is not None:
            written = export_configs(plan, export_dir)
            click.echo(f"wrote {len(written)} configs to {export_dir}/")
            return
        executor: contextlib.AbstractContextManager[Any] = contextlib.nullcontext(None)
        if dask_address:
            executor = dask_executor(None if dask_address == "local" else dask_address)
        if not as_json:
            click.echo(
                f"dln sweep: {plan.name}: {len(plan.points)} points, {done} already done, "
                f"{len(plan.points) - done} to run -> {plan.output_dir}/",
                err=True,
            )

        def report(result: dict[str, Any]) -> None:
            if as_json:
                return
            if result["status"] == "computed":
                click.echo(
                    f"  done    {result['name']}: {result['complex']} complex, {result['real']} real "
                    f"({result['seconds']:.1f} s){'' if result['complete'] else ', INCOMPLETE'}",
                    err=True,
                )
            else:
                click.echo(f"  FAILED  {result['name']}: {result['error']}", err=True)

        with executor as pool:
            outcome = run_sweep(plan, jobs, backend=backend, executor=pool, on_result=report, force=force)
        if as_json:
            click.echo(json.dumps(outcome.as_dict(), indent=2))
        else:
            click.echo(
                f"{plan.name}: {len(outcome.computed)} computed"
                + (f" ({len(outcome.stale)} of them stale: the config had changed)" if outcome.stale else "")
                + f", {len(outcome.skipped)} skipped (already done), "
                f"{len(outcome.failed)} failed in {outcome.seconds:.1f} s; results in {plan.output_dir}/"
            )
        if outcome.failed:
            click.echo(
                f"dln: error: {len(outcome.failed)} points failed (see error.json in their directories)", err=True
            )
            sys.exit(EXIT_OTHER)


@main.command(help="Aggregate the summary.json files under RESULTS (directories, files or globs) into one table.")
@click.argument("results", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "md"]), default="md", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file (default stdout).")
def table(results: tuple[str, ...], fmt: str, out: Path | None) -> None:
    with _errors():
        from .common.atomic import check_result_file
        from .reports.tables import collect, is_table_file, render, write_table

        if out is not None:
            check_result_file(out, "--out", is_table_file)
        text = render(collect(list(results)), fmt)
        if out is None:
            click.echo(text, nl=False)
        else:
            write_table(text, out)
            click.echo(f"wrote {out}", err=True)


def _three_ids(text: str | None) -> tuple[int, int, int] | None:
    """--points I,J,K → three ids (None: the default plane)."""
    if text is None:
        return None
    from .reports.tables import ResultsError

    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise ResultsError(f"--points {text}: give three ids of critical_points.csv, e.g. 0,3,5")
    a, b, c = (int(p) for p in parts)
    if len({a, b, c}) < 3:
        raise ResultsError(f"--points {text}: the three points must differ")
    return a, b, c


@main.command(
    help="Draw a figure (PNG or SVG, by the extension of --out).\n\n"
    "counts RESULTS...: complex/real counts and bounds against --x (log y).  indices RESULTS...: the share of "
    "real saddles of Morse index 1, 2, >= 3 against --x (e.g. --x scale for a regularisation sweep).  "
    "morse RUN: histogram of Morse indices.  loss RUN: loss against Morse index.  plane RUN: the loss on the "
    "plane through three real critical points (--points; default: the global minimum, the lowest other minimum "
    "and the saddle between them).  profile RUN: the loss along the descent path through an index-1 saddle "
    "(--saddle; needs dln landscape's files in RUN)."
)
@click.argument("kind", type=click.Choice(["counts", "indices", "morse", "loss", "plane", "profile"]))
@click.argument("results", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="figure.png|.svg")
@click.option("--x", "x", default="hidden_width", show_default=True, help="counts: the table column on the x axis.")
@click.option("--where", multiple=True, help="counts: keep runs with column=value (repeatable), e.g. --where m=2.")
@click.option("--points", "chosen", help="plane: three ids of critical_points.csv (real points), e.g. 0,3,5.")
@click.option("--saddle", type=click.IntRange(min=0), help="profile: the id of an index-1 saddle.")
@click.option("--title", help="Figure title.")
def plot(
    kind: str,
    results: tuple[str, ...],
    out: Path,
    x: str,
    where: tuple[str, ...],
    chosen: str | None,
    saddle: int | None,
    title: str | None,
) -> None:
    with _errors():
        from .reports import plots
        from .reports.tables import ResultsError, collect

        plots.check_out(out)
        if kind in ("counts", "indices"):
            figure = plots.counts_figure if kind == "counts" else plots.indices_figure
            path = figure(plots.filter_rows(collect(list(results)), list(where)), x, out, title)
        else:
            if len(results) != 1:
                raise ResultsError(f"dln plot {kind} takes one run directory, got {len(results)}")
            if kind == "plane":
                from .reports.planes import plane_figure

                path = plane_figure(Path(results[0]), out, _three_ids(chosen), title)
            elif kind == "profile":
                from .reports.planes import profile_figure

                path = profile_figure(Path(results[0]), out, saddle, title)
            else:
                figure = plots.morse_figure if kind == "morse" else plots.loss_figure
                path = figure(Path(results[0]), out, title)
        click.echo(f"wrote {path}")


@main.command(
    help="List what this installation has and where it keeps things: Python, numba (and whether its "
    "compile cache is warm), msolve, Julia, Dask, the cache directories.  Solves nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    with _errors():
        from .doctor import diagnose

        findings = diagnose()
        if as_json:
            click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
            return
        width = max(len(f.name) for f in findings)
        for f in findings:
            click.echo(f"{'  ' if f.ok else '! '}{f.name:<{width}}  {f.state}")


if __name__ == "__main__":  # pragma: no cover
    main()
