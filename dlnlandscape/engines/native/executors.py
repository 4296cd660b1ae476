"""Where the tracker's compiled step loop runs: in this process, or on the workers of a Dask
cluster (`solver.executor`).

Why here.  Every path tracked by a monodromy solve — its loops, the trace test's witness
loops, the final parameter homotopy to the data, every instance of `data.instances` — goes
through one call, `Tracker.track` with the compiled step loop, and each path's steps depend on
its own state alone (kernel.track_paths).  So a tracking run splits into batches of paths that
can be advanced anywhere: a batch is plain arrays (kernel_data.PathBatch) plus the homotopy's
KernelData record, and `kernel.advance_paths` advances it in whichever process holds it.  The
orchestration (monodromy, the trace test, deduplication, the summary) stays in the client; only
the batches travel.  The result does not depend on the executor: the same paths take the same
steps, bit for bit (tested against a real LocalCluster).

* `InProcessExecutor` (`executor: threads`, the default): the whole run in this process, paths
  spread over numba's threads (solver.threads), `COMPILED_ROUNDS` steps per call so stop
  requests and progress are heard between calls.
* `DaskExecutor` (`executor: dask`): batches of at most `batch_paths` paths are submitted to the
  workers and streamed back as they finish; a batch whose paths are still moving after its
  rounds is submitted again at once (no barrier between workers).  A batch lost with its worker
  (process killed, machine gone) is submitted again from the client's copy of its paths — the
  client never updates a path until its batch returns — so a lost worker costs time, never a
  path.  A batch that raises an error of its own is not retried: the error is the kernel's.
  The γ-trick homotopies of `start: total_degree/multihomogeneous` (small systems; their endgame
  checks run in Python between steps) stay in the client.

`executor_for(options)` opens the executor a solve asks for (a Dask client, a LocalCluster for
`address: local`; the one already current if a caller opened it) and `current_executor()` is
what Tracker.track uses — and `map`, which runs independent per-item work (the classification
and certification of every instance of `data.instances`) on the same workers; the engine makes its
executor current for the duration of a solve (`using`), so the many classes that build trackers
(monodromy, trace test, targets, decomposition) need no executor argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...errors import BackendUnavailable
from .kernel_data import PathBatch, for_arcs

# A task runs at most this many steps per path before it returns (and its still-moving paths
# are sent again): bounds how long a stop request waits, and lets a worker that finished early
# take over part of a straggler's work.
DASK_ROUNDS = 512
# Below this many moving paths a run stays in the client: a round trip costs ~10 ms.
MIN_REMOTE_PATHS = 64
# A batch lost with its worker is sent again at most this many times before the run fails.
MAX_RESUBMITS = 5


class Executor(Protocol):
    """Runs a tracker's compiled step loop over all its tracking paths (see module docstring)."""

    name: str

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]: ...

    def track(
        self,
        steps: Any,
        st: Any,
        length: np.ndarray,
        options: Any,
        rounds: int,
        check: Callable[[], None] | None,
        progress: Callable[[int], None] | None,
    ) -> None: ...


class InProcessExecutor:
    """The compiled loop in this process, on numba's threads: `rounds` steps per call."""

    name = "threads"

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """`function` of every item, in order (here, one after the other)."""
        return [function(item) for item in items]

    def track(
        self,
        steps: Any,
        st: Any,
        length: np.ndarray,
        options: Any,
        rounds: int,
        check: Callable[[], None] | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        done_before = int(np.sum(st.status != 0))
        while True:
            idx = np.flatnonzero(st.status == 0)
            if idx.size == 0:
                return
            if check is not None:
                check()
            steps.track_paths(st, idx, length[idx], options, rounds)
            if progress is not None:
                done = int(np.sum(st.status != 0))
                progress(done - done_before)
                done_before = done


IN_PROCESS = InProcessExecutor()  # the default executor, and the one a Dask run keeps small runs on


@dataclass
class DaskStats:
    """What a Dask executor did over a solve (summary.json `executor`): batches sent, batches
    sent again after their worker was lost, tracking runs sent and kept in the client, the
    seconds the client waited on the cluster and the seconds the workers computed (their
    difference over the batches is the overhead per batch: benchmarks/dask_scaling.py)."""

    batches: int = 0
    resubmitted: int = 0
    remote_paths: int = 0
    remote_runs: int = 0
    local_runs: int = 0
    seconds: float = 0.0
    task_seconds: float = 0.0
    workers_seen: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "resubmitted_after_worker_loss": self.resubmitted,
            "remote_paths": self.remote_paths,
            "runs_sent": self.remote_runs,
            "runs_kept_in_client": self.local_runs,
            "seconds_waiting": round(self.seconds, 3),
            "task_seconds": round(self.task_seconds, 3),
            "workers_used": len(self.workers_seen),
        }


def _map_chunk(function: Callable[[Any], Any], chunk: list[Any]) -> tuple[list[Any], float]:
    began = time.perf_counter()
    return [function(item) for item in chunk], time.perf_counter() - began


def dask_worker_address() -> str:
    """The address of the Dask worker running the calling task; "" outside a task (this
    process, Client.run) or without Dask installed."""
    try:
        from distributed import get_worker
    except ImportError:
        return ""
    try:
        return str(get_worker().address)
    except ValueError:  # "No worker found": not running in a Dask task
        return ""


def _advance_remote(
    data: Any, batch: PathBatch, control: np.ndarray, rounds: int, threads: int
) -> tuple[PathBatch, float, str]:
    """The task a Dask worker runs (module-level so that it pickles by reference): the advanced
    batch, the seconds it took and the worker's address."""
    from .kernel import advance_paths

    began = time.perf_counter()
    advanced = advance_paths(data, batch, control, rounds, threads)
    return advanced, time.perf_counter() - began, dask_worker_address()


class DaskExecutor:
    """Batches of paths on a Dask `distributed` cluster (see module docstring).

    `batch_paths` caps the paths per task; a run is cut into at least two batches per worker
    thread so that every worker has work, and `threads_per_task` numba threads advance one
    batch (1 for workers started with `--nthreads 1`, the recommended layout)."""

    name = "dask"

    def __init__(self, client: Any, batch_paths: int = 2048, threads_per_task: int = 1, address: str = "") -> None:
        self.client = client
        self.batch_paths = int(batch_paths)
        self.threads_per_task = int(threads_per_task)
        self.address = address
        self.stats = DaskStats()
        self.workers_at_start = len(client.nthreads())
        self.kernel_load_seconds: float | None = None  # the first run's warm-up on every worker

    def record(self) -> dict[str, Any]:
        """What this executor did, for summary.json (engine stats `executor`)."""
        return {
            "name": self.name,
            "address": self.address,
            "workers_at_start": self.workers_at_start,
            "batch_paths": self.batch_paths,
            "kernel_load_seconds": None if self.kernel_load_seconds is None else round(self.kernel_load_seconds, 3),
            **self.stats.as_dict(),
        }

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """`function` of every item, in order, on the workers: chunks of items per task (two per
        worker thread at least), a chunk lost with its worker sent again like a batch of paths.
        `function` must pickle (a module-level function, or a partial of one)."""
        from distributed import wait

        results: list[Any] = [None] * len(items)
        size = max(1, math.ceil(len(items) / (2 * self.slots())))
        pending: dict[Any, tuple[int, int]] = {}  # future → (first item, resubmits so far)

        def submit(first: int, resubmits: int) -> None:
            chunk = items[first : first + size]
            pending[self.client.submit(_map_chunk, function, chunk, pure=False)] = (first, resubmits)
            self.stats.batches += 1  # counted with the batches of paths: tasks, their seconds, the wait

        for first in range(0, len(items), size):
            submit(first, 0)
        began = time.perf_counter()
        try:
            while pending:
                finished, _ = wait(list(pending), return_when="FIRST_COMPLETED")
                for future in finished:
                    first, resubmits = pending.pop(future)
                    if future.status == "finished":
                        chunk, seconds = future.result()
                        results[first : first + len(chunk)] = chunk
                        self.stats.task_seconds += seconds
                        continue
                    error = future.exception() if future.status == "error" else None
                    if not _lost_with_worker(error) or resubmits >= MAX_RESUBMITS:
                        raise error if error is not None else RuntimeError("a Dask task was lost too often")
                    self.stats.resubmitted += 1
                    submit(first, resubmits + 1)
        finally:
            if pending:
                self.client.cancel(list(pending))
            self.stats.seconds += time.perf_counter() - began
        return results

    def slots(self) -> int:
        """Task slots of the cluster now (threads over all workers; at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def batch_size(self, paths: int) -> int:
        return max(16, min(self.batch_paths, math.ceil(paths / (2 * self.slots()))))

    def track(
        self,
        steps: Any,
        st: Any,
        length: np.ndarray,
        options: Any,
        rounds: int,
        check: Callable[[], None] | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        from distributed import wait

        from .kernel import step_control

        idx = np.flatnonzero(st.status == 0)
        if idx.size < MIN_REMOTE_PATHS:
            self.stats.local_runs += 1
            IN_PROCESS.track(steps, st, length, options, rounds, check, progress)
            return
        began = time.perf_counter()
        self.stats.remote_runs += 1
        control = step_control(options)
        data = steps.data
        pending: dict[Any, tuple[np.ndarray, int]] = {}  # future → (rows of st, resubmits so far)

        def submit(rows: np.ndarray, resubmits: int) -> None:
            size = self.batch_size(rows.size)
            for first in range(0, rows.size, size):
                part = rows[first : first + size]
                batch = steps.batch(st, part, length[part])
                own, arc = for_arcs(data, batch.arc)  # only the arcs these paths run along travel
                batch = batch._replace(arc=arc)
                future = self.client.submit(
                    _advance_remote, own, batch, control, DASK_ROUNDS, self.threads_per_task, pure=False
                )
                pending[future] = (part, resubmits)
                self.stats.batches += 1
                self.stats.remote_paths += int(part.size)

        if self.kernel_load_seconds is None:
            # every worker loads the compiled kernel (numba's cache) now, with zero steps, so
            # that no batch's time includes it (task_seconds stays the tracking's alone)
            warm = time.perf_counter()
            first = steps.batch(st, idx[:1], length[idx[:1]])
            own, arc = for_arcs(data, first.arc)
            self.client.run(_advance_remote, own, first._replace(arc=arc), control, 0, 1)
            self.kernel_load_seconds = time.perf_counter() - warm
        submit(idx, 0)
        try:
            while pending:
                try:
                    finished, _ = wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED")
                except (TimeoutError, asyncio.TimeoutError):  # nothing back yet: hear stop requests
                    finished = set()
                if check is not None:
                    check()
                for future in finished:
                    rows, resubmits = pending.pop(future)
                    if future.status == "finished":
                        batch, seconds, worker = future.result()
                        self.stats.task_seconds += seconds
                        self.stats.workers_seen.add(worker)
                        steps.store(st, rows, batch)
                        moving = rows[batch.tracking]
                        if progress is not None and rows.size > moving.size:
                            progress(int(rows.size - moving.size))
                        if moving.size:
                            submit(moving, resubmits)
                        continue
                    error = future.exception() if future.status == "error" else None  # lost, cancelled: None
                    if not _lost_with_worker(error) or resubmits >= MAX_RESUBMITS:
                        raise (
                            error
                            if error is not None
                            else RuntimeError(
                                f"a Dask batch was lost {resubmits + 1} times (its workers keep dying: out of memory?)"
                            )
                        )
                    self.stats.resubmitted += 1
                    submit(rows, resubmits + 1)
        finally:
            if pending:
                self.client.cancel(list(pending))
            self.stats.seconds += time.perf_counter() - began


def _lost_with_worker(error: BaseException | None) -> bool:
    """Whether a batch failed because its worker went away, not because its own code raised:
    Dask reports that as a lost or cancelled future (no error), KilledWorker (the scheduler gave
    up on the task after workers died running it), or a closed connection."""
    if error is None:
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError"})


_CURRENT: ContextVar[Executor | None] = ContextVar("dlnlandscape_executor", default=None)


def current_executor() -> Executor:
    """The executor tracker runs use now (in-process unless a solve made another current)."""
    return _CURRENT.get() or IN_PROCESS


@contextlib.contextmanager
def using(executor: Executor | None) -> Iterator[None]:
    """Make `executor` current for the block (None: leave the current one)."""
    if executor is None:
        yield
        return
    token = _CURRENT.set(executor)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def dask_client(address: str, workers: int, connect_timeout: float = 20.0) -> Iterator[Any]:
    """A Dask client: to the scheduler at `address` (tcp://host:port, or a scheduler file
    path ending in .json), or to a LocalCluster of `workers` single-threaded processes
    (`address` local), closed with the block.  A scheduler that does not answer within
    `connect_timeout` seconds is a BackendUnavailable naming solver.dask_address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BackendUnavailable(
            "solver.executor: dask needs Dask distributed: pip install 'dlnlandscape[dask]'"
        ) from None
    if address == "local":
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    where = {"address": address}
    if address.endswith(".json"):
        scheduler_file = Path(address).expanduser()
        if not scheduler_file.is_file():
            raise BackendUnavailable(
                f"solver.dask_address: scheduler file {scheduler_file} does not exist "
                "(start one: dask scheduler --scheduler-file FILE), or use local"
            )
        where = {"scheduler_file": str(scheduler_file)}
    try:
        client = Client(**where, timeout=connect_timeout)
    except (OSError, TimeoutError, asyncio.TimeoutError) as error:
        raise BackendUnavailable(
            f"solver.dask_address: no Dask scheduler answered at {address} within {connect_timeout:g} s "
            f"({type(error).__name__}); start one (dask scheduler) or use local"
        ) from None
    with client:
        yield client


@contextlib.contextmanager
def executor_for(options: Any) -> Iterator[Executor | None]:
    """The executor `options` (SolverOptions) ask for, open for the block: None for `threads`
    (the current, in-process one), a DaskExecutor on a client for `dask`."""
    if options.executor != "dask":
        yield None
        return
    if isinstance(current_executor(), DaskExecutor):  # a caller opened it already (instances)
        yield current_executor()
        return
    with dask_client(options.dask_address, options.threads) as client:
        yield DaskExecutor(client, options.batch_paths, address=options.dask_address)


def with_executor_record(result: Any, executor: Executor | None) -> Any:
    """A monodromy SolveResult with what the Dask executor has done so far (summary.json's
    `backend.executor`); other results and executors unchanged."""
    from dataclasses import replace

    from ..stats import MonodromySolveStats

    if not isinstance(executor, DaskExecutor) or not isinstance(result.stats, MonodromySolveStats):
        return result
    return replace(result, stats=replace(result.stats, executor=executor.record()))


__all__ = [
    "DASK_ROUNDS",
    "DaskExecutor",
    "DaskStats",
    "Executor",
    "InProcessExecutor",
    "current_executor",
    "dask_client",
    "dask_worker_address",
    "executor_for",
    "using",
    "with_executor_record",
]
