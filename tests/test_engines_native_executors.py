"""solver.executor: dask on a real distributed.LocalCluster (worker processes): a monodromy solve,
an instances run and a sweep give the in-process results, and a worker killed in the middle
changes nothing in them."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlnlandscape import api
from dlnlandscape.errors import ConfigError
from dlnlandscape.model.config import parse_config

from .conftest import TINY, make_config, write_yaml

distributed = pytest.importorskip("distributed")


def _cluster(**config: Any) -> Any:
    import dask

    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
        )


@pytest.fixture(scope="module")
def cluster() -> Any:
    with _cluster() as running:
        yield running


# (2,2,2) m=3, generalised L2: 225 critical points, 17 real (the quickstart's family) by monodromy;
# batches of at most 64 paths, so every loop is spread over both workers
QUICK = {
    "architecture": {"widths": [2, 2, 2]},
    "data": {"samples": 3, "seed": 0, "decimals": 3},
    "regularization": {"kind": "generalized", "seed": 1, "decimals": 3},
    "solver": {"seed": 42, "start": "monodromy", "batch_paths": 64},
}


def _solve(document: dict[str, Any], **solver: Any) -> Any:
    return api.solve({**document, "solver": {**document["solver"], **solver}})


@pytest.fixture(scope="module")
def in_process() -> Any:
    return _solve(QUICK)


def _same_result(a: Any, b: Any) -> None:
    """Same counts, same classes, same points (to 1e-10), same monodromy work."""
    for key in ("complex_solutions", "real_solutions", "complete", "global_minimum_loss"):
        assert a.summary[key] == b.summary[key], key
    assert a.summary["classes"] == b.summary["classes"]
    assert a.solutions.shape == b.solutions.shape
    assert np.max(np.abs(a.solutions - b.solutions)) <= 1e-10
    steps = [r.summary["backend"]["monodromy"]["path_steps"] for r in (a, b)]
    assert steps[0] == steps[1]


def test_a_monodromy_solve_on_the_cluster_is_the_in_process_one(cluster: Any, in_process: Any):
    assert in_process.summary["complex_solutions"] == 225 and in_process.summary["complete"]
    on_cluster = _solve(QUICK, executor="dask", dask_address=cluster.scheduler_address)
    _same_result(in_process, on_cluster)
    record = on_cluster.summary["backend"]["executor"]
    assert record["name"] == "dask" and record["workers_at_start"] == 2
    assert record["batches"] > 20 and record["workers_used"] == 2
    assert record["resubmitted_after_worker_loss"] == 0
    assert on_cluster.summary["config"]["solver"]["executor"] == "dask"
    assert "executor" not in in_process.summary["backend"]


def test_instances_on_the_cluster_are_the_in_process_ones(cluster: Any):
    config = make_config(
        [2, 2, 2], 1, 0, data={"decimals": 3, "instances": 12}, regularization={"decimals": 3}, solver={"seed": 5}
    )
    local = api.solve(config)
    remote = api.solve(config, executor="dask", dask_address=cluster.scheduler_address, batch_paths=64)
    assert local.summary["generic_count"] == remote.summary["generic_count"] == 33
    assert local.summary["per_instance"] == remote.summary["per_instance"]
    assert remote.summary["complete_instances"] == 12
    for a, b in zip(local.run.runs, remote.run.runs, strict=True):
        assert np.array_equal(a.points.solutions, b.points.solutions)


def _kill_a_busy_worker(cluster: Any, done: threading.Event, timeout: float = 60.0) -> bool:
    """SIGKILL the process of a worker while it runs one of our batches (the nanny starts a new
    one); False when no batch was seen running before the solve ended."""
    with distributed.Client(cluster.scheduler_address) as spy:
        pids = spy.run(os.getpid)
        end = time.monotonic() + timeout
        while time.monotonic() < end and not done.is_set():
            busy = [w for w, keys in spy.processing().items() if any("advance_remote" in str(k) for k in keys)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                return True
            time.sleep(0.02)
    return False


def test_a_worker_killed_in_the_middle_changes_nothing(in_process: Any):
    # allowed-failures 0: the scheduler gives up on a task at its first lost worker, so the
    # executor itself must send the batch again from the client's copy of its paths
    with _cluster(**{"distributed.scheduler.allowed-failures": 0}) as fragile:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["result"] = _solve(QUICK, executor="dask", dask_address=fragile.scheduler_address)
            except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
                outcome["error"] = error
            finally:
                done.set()

        solver = threading.Thread(target=run)
        solver.start()
        killed = _kill_a_busy_worker(fragile, done)
        solver.join(300)
    assert killed, "the solve ended before a batch could be seen running"
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    _same_result(in_process, result)
    assert result.summary["backend"]["executor"]["resubmitted_after_worker_loss"] >= 1


def test_a_sweep_survives_a_killed_worker(tmp_path: Path, cluster: Any):
    from dlnlandscape.batches.sweep import dask_executor, parse_sweep, run_sweep

    sweep = dict(TINY)  # four small points: a worker is killed while it runs one
    reference = run_sweep(parse_sweep(sweep, source="ref", output_dir=tmp_path / "ref"), jobs=1)
    done = threading.Event()
    killer = threading.Thread(target=lambda: _kill_any_busy_worker(cluster, done))
    killer.start()
    try:
        with dask_executor(cluster.scheduler_address) as pool:
            outcome = run_sweep(parse_sweep(sweep, source="dask", output_dir=tmp_path / "dask"), executor=pool)
    finally:
        done.set()
        killer.join()
    assert outcome.failed == [] and sorted(outcome.computed) == sorted(reference.computed)
    counts = {r["name"]: (r["complex"], r["real"], r["complete"]) for r in reference.results}
    assert {r["name"]: (r["complex"], r["real"], r["complete"]) for r in outcome.results} == counts


def _kill_any_busy_worker(cluster: Any, done: threading.Event) -> None:
    with distributed.Client(cluster.scheduler_address) as spy:
        pids = spy.run(os.getpid)
        while not done.is_set():
            busy = [w for w, keys in spy.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.02)


def test_an_error_of_the_batch_itself_is_not_retried(cluster: Any):
    """A batch that raises on its worker (here: points with fewer coordinates than the record's
    equations, refused by kernel.fits_record) fails the run at once with its own error; only
    batches lost with their worker are sent again."""
    from dlnlandscape.engines.native.executors import DaskExecutor
    from dlnlandscape.engines.native.family import Family
    from dlnlandscape.engines.native.kernel import CompiledSteps
    from dlnlandscape.engines.native.tracker import TrackerOptions, TrackState
    from dlnlandscape.model.problem import Problem

    rng = np.random.default_rng(0)
    family = Family(Problem.from_data((2, 2, 2), rng.standard_normal((2, 1)), rng.standard_normal((2, 1)), [1.0, 1.0]))
    steps = CompiledSteps(family.homotopy([(family.random_point(rng), family.random_point(rng))], np.zeros(200, int)))
    N = 200
    state = TrackState(
        y=np.zeros((N, 1), complex), u=np.zeros(N), du=np.full(N, 0.05), status=np.zeros(N, np.int8),
        steps=np.zeros(N, np.int64), s_a=np.zeros(N, complex), s_b=np.ones(N, complex),
    )  # fmt: skip
    with distributed.Client(cluster.scheduler_address) as client:
        executor = DaskExecutor(client, batch_paths=64)
        executor.kernel_load_seconds = 0.0  # no warm-up: the batches themselves must fail
        with pytest.raises(ValueError, match="does not fit its homotopy record: points of 1 coordinates"):
            executor.track(steps, state, np.ones(N), TrackerOptions(), 64, None, None)
    assert executor.stats.resubmitted == 0 and executor.stats.batches == 4


@pytest.mark.parametrize(
    ("solver", "field"),
    [
        ({"executor": "mpi"}, "solver.executor"),
        ({"executor": "dask", "backend": "julia"}, "solver.executor"),
        ({"executor": "dask", "backend": "exact"}, "solver.executor"),
        ({"dask_address": ""}, "solver.dask_address"),
        ({"dask_address": 8786}, "solver.dask_address"),
        ({"batch_paths": 8}, "solver.batch_paths"),
        ({"batch_paths": True}, "solver.batch_paths"),
    ],
)
def test_bad_executor_settings_name_the_field(solver: dict[str, Any], field: str):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        parse_config({**QUICK, "solver": solver}, source="cfg.yaml")


def test_dln_solve_dask_flag(tmp_path: Path, cluster: Any):
    from click.testing import CliRunner

    from dlnlandscape.cli import main

    config = write_yaml(tmp_path / "q.yaml", {**QUICK, "output": {"dir": str(tmp_path / "out")}})
    result = CliRunner().invoke(main, ["solve", str(config), "--quiet", "--json", "--dask", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    import json

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complex_solutions"] == 225 and summary["backend"]["executor"]["batches"] > 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"Dask at {cluster.scheduler_address}: 2 worker(s) ran" in report and "no worker lost" in report


def test_an_unreachable_scheduler_is_one_line_naming_the_field(tmp_path: Path):
    from dlnlandscape.engines.native.executors import dask_client
    from dlnlandscape.errors import BackendUnavailable

    unreachable = dask_client("tcp://127.0.0.1:9", 1, connect_timeout=1.0)
    with pytest.raises(BackendUnavailable, match=r"solver\.dask_address: no Dask scheduler answered at tcp://"):
        unreachable.__enter__()
    missing = dask_client(str(tmp_path / "missing.json"), 1)
    with pytest.raises(BackendUnavailable, match=r"solver\.dask_address: scheduler file .*missing\.json does not"):
        missing.__enter__()


def test_the_slurm_example_asks_for_single_threaded_workers():
    """docs/examples/jobqueue.yaml, read by dask-jobqueue: one worker process per core, one
    thread each, the environment activated, BLAS and numba on one thread."""
    jobqueue = pytest.importorskip("dask_jobqueue")
    import dask
    import yaml

    example = Path(__file__).parents[1] / "docs" / "examples" / "jobqueue.yaml"
    settings = yaml.safe_load(example.read_text())["jobqueue"]["slurm"]  # merged over the defaults
    merged = dask.config.set({f"jobqueue.slurm.{key}": value for key, value in settings.items()})  # as dask does
    with merged, jobqueue.SLURMCluster(config_name="slurm", scheduler_options={"dashboard_address": ":0"}) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --cpus-per-task=32" in script and "--nworkers 32" in script
    assert script.count("--nthreads 1") == 1 and "NUMBA_NUM_THREADS=1" in script
    assert "activate" in script and "\npython -m distributed.cli.dask_worker" in script
