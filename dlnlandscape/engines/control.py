"""Stopping a long solve — on a time limit or a signal — so that it ends with what it found.

A solve that runs for hours must not end with nothing: the caller gives the engine a
`RunControl` (a time limit, where to keep checkpoints, whether to resume from one), and the
engine asks it, at safe points, whether to stop.  Stopping is cooperative: a signal handler
only records the signal (`stop_on_signals`), the engine notices it between tracker steps,
restores its last consistent state and returns a *partial* result — `SolveResult.stopped_early`
says why, and the verdict (pipeline/verdict.py) marks the run incomplete with that reason.

Escalation, for an impatient user or a scheduler's grace period:

1. the first SIGINT/SIGTERM (or the time limit) stops the search — the native monodromy solve
   writes its checkpoint first — and the solutions known so far are carried to the target;
2. a second signal abandons that final homotopy: the result then holds the counts only;
3. a third raises KeyboardInterrupt at once (the checkpoint is already on disk).

With a time limit the search stops early enough to leave the final homotopy the time it is
estimated to need (`reserve`, which the engine keeps up to date — but never more than half the
limit, so that a resumed run always advances the search); that homotopy stops at the limit
itself.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class StopRequested(Exception):
    """Raised inside an engine when its RunControl says stop; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RunControl:
    """What the caller lets an engine know while it runs (see the module docstring)."""

    time_limit: float | None = None  # seconds from `began`
    checkpoint_dir: Path | None = None  # where the engine keeps its checkpoint (None: nowhere)
    checkpoint_origin: str = ""  # how the directory was named (--out, output.dir of a config) for errors
    resume: bool = False  # continue from the checkpoint in checkpoint_dir, if there is one
    checkpoint_every: float = 60.0  # seconds between checkpoints of a running search
    began: float = field(default_factory=time.monotonic)
    reserve: float = 0.0  # seconds the engine expects to need after the search (the final homotopy)
    signals: list[str] = field(default_factory=list)  # names of the signals received, in order

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def interrupt(self, name: str) -> None:
        """Record a stop request (a signal's name, or any word for a programmatic stop)."""
        self.signals.append(name)

    def stop_reason(self, *, reserve: bool = True, since: int = 0) -> str:
        """Why the engine should stop now, or "" to go on: more than `since` signals, or the time
        limit (less `reserve` when asked, so the final homotopy still fits)."""
        if len(self.signals) > since:
            return f"interrupted by {self.signals[since]}"
        if self.time_limit is not None:  # the search keeps at least half the time, even when resumed
            margin = min(self.reserve, 0.5 * self.time_limit) if reserve else 0.0
            if self.elapsed() + margin >= self.time_limit:
                return f"time limit of {self.time_limit:g} s reached"
        return ""

    def checker(self, *, reserve: bool = True, since: int = 0) -> Callable[[], None]:
        """A function for the tracker to call between steps: raises StopRequested once
        `stop_reason` (with these arguments) is non-empty."""

        def check() -> None:
            reason = self.stop_reason(reserve=reserve, since=since)
            if reason:
                raise StopRequested(reason)

        return check


@contextlib.contextmanager
def stop_on_signals(control: RunControl) -> Iterator[RunControl]:
    """While the block runs, SIGINT and SIGTERM are recorded in `control` instead of killing the
    process; the third one raises KeyboardInterrupt.  Outside the main thread (where Python
    cannot install handlers) the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield control
        return

    def handler(signum: int, frame: object) -> None:
        control.interrupt(signal.Signals(signum).name)
        if len(control.signals) >= 3:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield control
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


__all__ = ["RunControl", "StopRequested", "stop_on_signals"]
