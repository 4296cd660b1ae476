"""Aggregate many runs' ``summary.json`` files into one tidy table (one row per run), as CSV
or Markdown.  Used by ``dln table`` and by ``dln plot counts``."""

from __future__ import annotations

import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

from ..common.atomic import result_file
from ..errors import EXIT_USAGE, DLNError

SUMMARY = "summary.json"

BASE_COLUMNS = (
    "name",
    "widths",
    "depth",
    "d0",
    "dH",
    "hidden_width",
    "residual",
    "m",
    "loss",
    "regularization",
    "lambda",
    "low",
    "high",
    "scale",
    "unknowns",
    "bezout",
    "multihomogeneous",
    "complex",
    "real",
    "verification",
    "verified_degree",
    "verified_real",
    "certified",
    "global_minima",
    "local_minima",
    "saddles",
    "maxima",
    "degenerate",
)
TAIL_COLUMNS = (
    "paths",
    "at_infinity",
    "singular_paths",
    "failed_paths",
    "complete",
    "seconds",
    "backend",
    "seed",
    "dir",
)


class ResultsError(DLNError):
    """No results, or unreadable results, were given to `dln table` / `dln plot`."""

    exit_code = EXIT_USAGE


def find_summaries(results: list[str | Path]) -> list[Path]:
    """summary.json files from directories (searched recursively), globs, or the files themselves."""
    found: list[Path] = []
    for item in results:
        path = Path(item)
        candidates = [path] if path.exists() else [Path(p) for p in sorted(glob.glob(str(item), recursive=True))]
        if not candidates:
            raise ResultsError(f"{item}: no such file or directory, and no match as a glob")
        for candidate in candidates:
            if candidate.is_file():
                found.append(candidate)
            elif (candidate / SUMMARY).is_file():
                found.append(candidate / SUMMARY)
            elif candidate.is_dir():
                found.extend(
                    p
                    for p in sorted(candidate.rglob(SUMMARY))
                    if not any(part.startswith(".") for part in p.parts[-3:-1])
                )
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ResultsError(
            f"no {SUMMARY} found in {', '.join(str(r) for r in results)}; run dln solve or dln sweep first"
        )
    return unique


def load_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResultsError(f"{path}: not a readable summary.json ({type(error).__name__}: {error})") from None
    if not isinstance(summary, dict) or "config" not in summary or "classes" not in summary:
        raise ResultsError(f"{path}: not a dln summary.json (no config/classes block)")
    return summary


def row(summary: dict[str, Any], directory: str = "") -> dict[str, Any]:
    """One tidy row from one summary."""
    config = summary["config"]
    widths = [int(w) for w in config["architecture"]["widths"]]
    reg = config.get("regularization", {})
    kind = reg.get("kind", "")
    classes = summary["classes"]
    by_class = classes.get("by_class", {})
    paths = summary.get("paths", {})
    bounds = summary.get("bounds", {})
    backend = summary.get("backend", {})
    check = summary.get("verification") or {}
    out: dict[str, Any] = {
        "name": summary.get("name", ""),
        "widths": "x".join(str(w) for w in widths),
        "depth": len(widths) - 1,
        "d0": widths[0],
        "dH": widths[-1],
        "hidden_width": sum(widths[1:-1]),
        "residual": bool(config["architecture"].get("residual", False)),
        "m": int(config["data"]["samples"]),
        "loss": (config.get("loss") or {}).get("kind", "square"),
        "regularization": kind,
        "lambda": reg.get("lambda") if kind == "l2" else None,
        "low": reg.get("low") if kind == "generalized" else None,
        "high": reg.get("high") if kind == "generalized" else None,
        "scale": reg.get("scale", 1) if kind in ("generalized", "l2") else None,
        "unknowns": summary.get("unknowns"),
        "bezout": bounds.get("bezout"),
        "multihomogeneous": bounds.get("multihomogeneous"),
        "complex": summary.get("complex_solutions"),
        "real": summary.get("real_solutions"),
        "verification": check.get("status"),
        "verified_degree": check.get("degree") if isinstance(check.get("degree"), int) else None,
        "verified_real": check.get("real") if isinstance(check.get("real"), int) else None,
        "certified": summary.get("certified_solutions", backend.get("certified")),
        "global_minima": by_class.get("global_minimum", 0),
        "local_minima": by_class.get("local_minimum", 0),
        "saddles": by_class.get("saddle", 0),
        "maxima": by_class.get("maximum", 0),
        "degenerate": by_class.get("degenerate", 0),
    }
    # saddles by Morse index: saddles are the real points of index 1 .. n-1 that are not degenerate;
    # by_morse_index counts all real points, so take the points of class saddle from it when
    # there are no degenerate points (otherwise the split by index is not known from the summary)
    out.update(_saddles_by_index(summary))
    out.update(
        {
            "paths": paths.get("tracked"),
            "at_infinity": paths.get("at_infinity"),
            "singular_paths": paths.get("singular"),
            "failed_paths": paths.get("failed"),
            "complete": summary.get("complete"),
            "seconds": summary.get("seconds"),
            "backend": f"{backend.get('engine', '')} ({backend.get('start_system', '')})".replace(" ()", ""),
            "seed": summary.get("seed"),
            "dir": directory,
        }
    )
    return out


def _saddles_by_index(summary: dict[str, Any]) -> dict[str, int]:
    """``saddles_index_k`` for every index k of a saddle.  The summary counts real points by
    Morse index over all classes; minima have index 0 and maxima index n, so the indices strictly
    between hold saddles and degenerate points.  Degenerate points are subtracted only when they
    cannot be placed (then the per-index split is reported for non-degenerate runs exactly)."""
    by_index = {int(k): int(v) for k, v in summary["classes"].get("by_morse_index", {}).items()}
    n = int(summary.get("unknowns") or 0)
    inner = {k: v for k, v in sorted(by_index.items()) if 0 < k < n and v}
    by_class = summary["classes"].get("by_class", {})
    if by_class.get("degenerate", 0) and sum(inner.values()) != by_class.get("saddle", 0):
        return {}
    return {f"saddles_index_{k}": v for k, v in inner.items()}


def collect(results: list[str | Path]) -> list[dict[str, Any]]:
    """Rows for every summary found, sorted by depth, widths, m, regularisation, name."""
    rows = []
    for path in find_summaries(results):
        rows.append(row(load_summary(path), str(path.parent)))
    rows.sort(
        key=lambda r: (r["depth"], [int(w) for w in r["widths"].split("x")], r["m"], r["regularization"], r["name"])
    )
    return rows


def columns(rows: list[dict[str, Any]]) -> list[str]:
    indices = sorted({int(k.rsplit("_", 1)[1]) for r in rows for k in r if k.startswith("saddles_index_")})
    return [*BASE_COLUMNS, *(f"saddles_index_{k}" for k in indices), *TAIL_COLUMNS]


def cell_text(value: Any) -> str:
    """A table cell's text: empty for None, true/false, floats in %g."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> str:
    cols = columns(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        # a saddle index absent from a run that has no degenerate points is 0 saddles there
        writer.writerow([cell_text(r.get(c, _missing(r, c))) for c in cols])
    return buffer.getvalue()


def _missing(r: dict[str, Any], column: str) -> Any:
    if column.startswith("saddles_index_") and not r.get("degenerate"):
        return 0
    return None


MD_DROP = (
    "d0",
    "dH",
    "hidden_width",
    "lambda",
    "low",
    "high",
    "scale",
    "seed",
    "dir",
    "verified_degree",
    "verified_real",
)


def to_markdown(rows: list[dict[str, Any]], drop: tuple[str, ...] = MD_DROP) -> str:
    """A Markdown table; columns empty in every row (and the wordy ones in `drop`) are left out."""
    cols = [c for c in columns(rows) if c not in drop]
    cols = [c for c in cols if any(cell_text(r.get(c, _missing(r, c))) != "" for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(cell_text(r.get(c, _missing(r, c))) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def is_table_file(path: Path) -> bool:
    """A file `dln table --out` wrote (its header row), which a new table may replace."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first.startswith(("name,widths,depth,", "| name | widths | depth |"))


def write_table(text: str, out: Path, origin: str = "--out") -> Path:
    """Write a rendered table to `out` atomically; an existing file is replaced only if it is a
    table of ours (`is_table_file`), anything else is refused (`OutputPathError`)."""
    with result_file(out, origin, recognise=is_table_file) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "md":
        return to_markdown(rows)
    raise ResultsError(f"--format {fmt}: choose csv or md")
