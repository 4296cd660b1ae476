"""A solve's files: critical_points.csv, solutions.npz, summary.json and report.md.

Files are written into a temporary directory and put in place at the end (`common.atomic`), so an
interrupted run never leaves a half-written result, and nothing of the user's is ever replaced.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic import result_directory
from .points import critical_points_columns, critical_points_rows, point_order
from .text import markdown_report


def write_outputs(run: Any, directory: Path, origin: str = "") -> Path:
    """Write all result files of a solve into `directory` through `common.atomic.result_directory`
    (an earlier result of the tool's own is replaced; anything of the user's is refused).  A
    partial result keeps the checkpoint its solve wrote there (for `dln solve --resume`); a
    complete one removes it."""
    keep: tuple[str, ...] = ()
    mono = run.result.monodromy
    if run.result.stopped_early and mono is not None and mono.checkpoint:
        written = Path(mono.checkpoint)
        if written.parent.resolve() == Path(directory).resolve():
            keep = (written.name,)
    with result_directory(directory, origin, kind="solve", keep=keep) as tmp:
        write_result_files(run, tmp)
    return Path(directory)


def write_result_files(run: Any, tmp: Path) -> None:
    """critical_points.csv, solutions.npz, summary.json and report.md of one solve into `tmp`."""
    rows = critical_points_rows(run.problem, run.points)
    write_csv(tmp / "critical_points.csv", critical_points_columns(run.problem), rows)
    order = point_order(run.points)
    np.savez_compressed(
        tmp / "solutions.npz",
        solutions=run.points.solutions[order],
        is_real=run.points.is_real[order],
        loss=run.points.loss[order],
        hessian_index=run.points.hessian_index[order],
        eigenvalues=run.points.eigenvalues[order],
        variables=np.array(run.problem.variable_names),
        path_endpoints=run.result.paths.solutions,
        path_return_codes=run.result.paths.return_code,
        X=run.config.X,
        Y=run.config.Y,
        **{f"Lambda_{i + 1}": lam for i, lam in enumerate(run.config.Lambda)},
    )
    (tmp / "summary.json").write_text(json.dumps(run.summary, indent=2) + "\n", encoding="utf-8")
    (tmp / "report.md").write_text(markdown_report(run.summary, rows), encoding="utf-8")


def write_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


