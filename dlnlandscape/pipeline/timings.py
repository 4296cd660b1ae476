"""Where a command's wall time went: one clock from the command's entry (the CLI command or the
API call), read at the end of each stage.

summary.json's `seconds` is the whole command up to the summary (parsing and checking the config
included; only writing the files comes after), and `timings` splits it: `parse` (config read,
validated, output path checked — everything before the pipeline), `solve` (problem set-up,
engine choice, path tracking), `analysis` (classification), `certification`, `verification`,
`bounds`.  A stage that did not run is 0.
"""

from __future__ import annotations

import time

STAGES = ("parse", "solve", "analysis", "certification", "verification", "bounds")


class Timings:
    """A stopwatch started at `began` (time.perf_counter()); `lap(stage)` charges the time since
    the previous lap (or the start) to `stage`."""

    def __init__(self, began: float | None = None) -> None:
        self.began = time.perf_counter() if began is None else float(began)
        self.last = self.began
        self.stages: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.began

    def as_dict(self) -> dict[str, float]:
        return {stage: round(seconds, 3) for stage, seconds in self.stages.items()}
