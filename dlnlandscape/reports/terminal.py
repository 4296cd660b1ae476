"""The terminal view: a short rich table of the summary, and a progress bar for long solves."""

from __future__ import annotations

import sys
import time
from typing import Any

from .text import summary_lines


def print_summary(summary: dict[str, Any], console: Any) -> None:
    """A short rich table on the terminal."""
    from rich.table import Table

    table = Table(title=f"dln solve: {summary['name']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value in summary_lines(summary):
        style = "red" if label == "complete" and not summary["complete"] else None
        table.add_row(label, value, style=style)
    console.print(table)


class Progress:
    """Progress bar on stderr, shown only on a terminal and only once a solve runs > 2 s.

    With a known total (paths to track, a trusted count) it is a bar; without one (monodromy
    without a trusted count) a counter.  The engine's `note` — for monodromy the round, the
    solutions per pattern, loops and path-steps per second — is the bar's description."""

    def __init__(self, enabled: bool) -> None:
        self.speaks = enabled  # notices go to stderr on a terminal or not; the bar only on one
        self.enabled = enabled and sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.began = 0.0
        self.text = "tracking paths"
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.began = time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        self._show()

    def notice(self, text: str) -> None:
        """A line on stderr (the engine says it once it runs: input refused before stays a
        one-line error)."""
        if self.speaks:
            sys.stderr.write(f"dln: {text}\n")
            sys.stderr.flush()

    def note(self, text: str) -> None:
        self.text = text
        self._show()

    def _show(self) -> None:
        if not self.enabled:
            return
        if self._bar is None and time.monotonic() - self.began > 2.0:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.text, total=self.total or None, completed=self.done)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=self.text)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_result(summary: dict[str, Any], directory: Any) -> None:
    """The summary table of a solve (or of an instances run) and where its files are."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "per_instance" in summary:
        from .instances import summary_lines as instances_lines

        table = Table(title=f"dln solve: {summary['name']}", show_header=False)
        for label, value in instances_lines(summary):
            table.add_row(label, value)
        console.print(table)
        files = "critical_points.csv, instances.csv, summary.json, report.md"
    else:
        print_summary(summary, console)
        files = "critical_points.csv, solutions.npz, summary.json, report.md"
    console.print(f"results in {directory}/ ({files})")
