"""Checkpoints of a monodromy solve: stop a long run, continue it later, end with the same count.

What is saved.  The solver's whole state (monodromy.py): every neuron pattern's Component —
base point, known solutions, representatives, loops and how far each loop has carried the
representatives, stagnation and history — the random generator's state, the scale of the loop
points, the work counters and, inside a round, how far the round has got (RoundProgress: the
(pattern, loop) jobs tracked and their verified endpoints).  A round is tracked in chunks of
jobs, and a path's course does not depend on its batch, so a run stopped between two chunks —
or inside one, whose half-done tracking is then dropped — and resumed tracks exactly the paths
an uninterrupted run would have, and ends with the same solutions, not merely the same count.
Why not only between rounds: on (3,3,3) m = 3 one round outlasts a five-minute limit, and a run
that could only save rounds would repeat that round for ever.

Where.  `checkpoint.npz` in the result directory, written through common/atomic.py
(`keep_file`): the directory's marker lists it before it appears and it is replaced by a
rename, so a kill at any moment leaves the previous checkpoint whole and the directory the
tool's.  The final result of a complete run does not keep it (atomic.result_directory removes
the earlier files it does not list); a partial result does.

Format.  One uncompressed `.npz` (records.py: NumPy arrays, `allow_pickle=False` — loading a
checkpoint runs no code — a digest of the arrays, and a JSON manifest): the format number, a
fingerprint of the problem and of every option that changes the path of the search (not
threads, not the time limit), and the state with arrays replaced by references.  Components are
encoded field by field, whatever fields the dataclass has, so the record follows monodromy.py's
without a second list of names to keep in step; a field marked `DERIVED` (a slice's witness
images) is rebuilt on reading instead of written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...common.atomic import keep_file
from ...errors import ConfigError
from ...model.loss import DataLoss
from ...model.options import SolverOptions
from ...model.problem import Problem
from .family import DataPoint
from .records import decode, pack_record, read_record
from .trace_test import Slice, TraceOutcome

CHECKPOINT = "checkpoint.npz"
FORMAT = 2


@dataclass
class RoundProgress:
    """How far the round under way has got: its first `jobs_done` (pattern, loop) jobs are
    tracked, and `found` holds their verified endpoints, per open pattern."""

    jobs_done: int
    found: list[Any]  # np.ndarray (k, n) per open pattern


@dataclass
class MonodromyState:
    """A monodromy solve after `rounds` complete rounds and, when `round` is set, part of the
    next one (see the module docstring)."""

    rounds: int
    rng_state: dict[str, Any]
    c_scale: float
    counters: dict[str, float]  # arcs_tracked, arcs_failed, path_steps, tracker_calls, loop_seconds
    components: list[Any]  # monodromy.Component
    round: RoundProgress | None = None


def fingerprint(problem: Problem, options: SolverOptions, *settings: Any) -> str:
    """What a checkpoint must have been written for: the problem's data and penalties, the solver
    options that change the search (seed, start, loops_without_progress, trusted_count), and
    `settings` (the engine's tracker and monodromy options)."""
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, problem.widths, problem.residual, problem.scale, problem.regularization)).encode())
    digest.update(problem.data_loss.kind.encode())
    extra = () if problem.K is None else (problem.K, problem.data_form())
    for array in (problem.X, problem.Y, problem.S, problem.T, *problem.penalty, *extra):
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
    digest.update(
        repr((options.seed, options.start, options.loops_without_progress, options.trusted_count, settings)).encode()
    )
    return digest.hexdigest()[:32]


class Checkpointer:
    """Saves and loads one solve's checkpoint in `directory` (see the module docstring)."""

    def __init__(
        self, directory: Path, origin: str, fingerprint: str, component_type: type, every: float = 60.0
    ) -> None:
        self.directory = Path(directory)
        self.origin = origin
        self.fingerprint = fingerprint
        self.component_type = component_type
        self.every = every
        self.last = time.monotonic()
        self.written: Path | None = None

    @property
    def path(self) -> Path:
        return self.directory / CHECKPOINT

    def due(self) -> bool:
        """Whether `every` seconds have passed since the last save (or since the start)."""
        return time.monotonic() - self.last >= self.every

    def save(self, state: MonodromyState) -> Path:
        header = {"format": FORMAT, "fingerprint": self.fingerprint, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        data = pack_record(header, {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}, "state")
        self.written = keep_file(self.directory, CHECKPOINT, data, self.origin, kind="solve")
        self.last = time.monotonic()
        return self.written

    def load(self) -> MonodromyState | None:
        """The saved state, or None when the directory holds no checkpoint; a checkpoint written
        for another problem or other solver settings is refused (ConfigError, exit 2)."""
        if not self.path.is_file():
            return None
        where = f"{self.origin} {self.path}" if self.origin else str(self.path)
        try:
            manifest, arrays = read_record(self.path)
        except (OSError, ValueError, KeyError) as error:
            raise ConfigError(
                where, "--resume", f"not a readable checkpoint ({error}); remove it to start afresh"
            ) from None
        if manifest.get("format") != FORMAT or manifest.get("fingerprint") != self.fingerprint:
            raise ConfigError(
                where,
                "--resume",
                "this checkpoint was written for another problem, seed or solver setting (or another version); "
                "resume with the config that wrote it, or remove the file to start afresh",
            )
        classes = {
            "DataPoint": DataPoint,
            "DataLoss": DataLoss,
            "Problem": Problem,
            "RoundProgress": RoundProgress,
            "Slice": Slice,
            "TraceOutcome": TraceOutcome,
            self.component_type.__name__: self.component_type,
        }
        state = decode(manifest["state"], arrays, classes)
        return MonodromyState(**state)


def capture(solver: Any, components: list[Any], rounds: int) -> MonodromyState:
    """The state of a MonodromySolver (monodromy.py) after `rounds` complete rounds."""
    return MonodromyState(
        rounds=rounds,
        rng_state=solver.rng.bit_generator.state,
        c_scale=solver.c_scale,
        counters={
            "arcs_tracked": solver.arcs_tracked,
            "arcs_failed": solver.arcs_failed,
            "path_steps": solver.arcs.path_steps,
            "tracker_calls": solver.arcs.calls,
            "loop_seconds": solver.loop_seconds(),
            **(solver.trace.counters() if solver.trace is not None else {}),
        },
        components=components,
        round=None
        if solver.round_progress is None
        else RoundProgress(solver.round_progress.jobs_done, list(solver.round_progress.found)),
    )


def restore(solver: Any, state: MonodromyState) -> tuple[list[Any], int, RoundProgress | None]:
    """Put a saved state back into a fresh MonodromySolver (its loop scale too); its components,
    complete rounds and the round it stopped inside (None between rounds)."""
    solver.rng.bit_generator.state = state.rng_state
    solver.c_scale = state.c_scale
    solver.arcs_tracked = int(state.counters["arcs_tracked"])
    solver.arcs_failed = int(state.counters["arcs_failed"])
    solver.arcs.path_steps = int(state.counters["path_steps"])
    solver.arcs.calls = int(state.counters["tracker_calls"])
    solver.seconds_before = float(state.counters["loop_seconds"])
    solver.resumed_at = state.rounds
    if solver.trace is not None:
        solver.trace.restore_counters(state.counters)
    return state.components, state.rounds, state.round


__all__ = [
    "CHECKPOINT",
    "Checkpointer",
    "MonodromyState",
    "RoundProgress",
    "capture",
    "fingerprint",
    "restore",
]
