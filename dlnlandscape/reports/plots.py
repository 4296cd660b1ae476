"""The standard figures (matplotlib, Agg backend, imported lazily — optional extra ``plot``):

* `counts_figure`: complex and real critical-point counts against a parameter (a column of the
  `dln table` table: hidden_width, d0, dH, depth, m, unknowns, ...), with the Bézout and
  multihomogeneous bounds, log y;
* `morse_figure`: histogram of the Morse indices of one run's real critical points, by class;
* `loss_figure`: loss against Morse index for one run's real critical points.

The format follows the output file's extension (.png or .svg).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..common.atomic import check_result_file, result_file, starts_with
from ..errors import BackendUnavailable
from .tables import ResultsError

FORMATS = (".png", ".svg")
CLASS_COLORS = {
    "global_minimum": "#1b9e77",
    "local_minimum": "#66a61e",
    "saddle": "#7570b3",
    "maximum": "#d95f02",
    "degenerate": "#999999",
}


def load_pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise BackendUnavailable("dln plot needs matplotlib: pip install 'dlnlandscape[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_out(out: Path) -> None:
    if out.suffix.lower() not in FORMATS:
        raise ResultsError(f"{out}: the figure format follows the extension; use .png or .svg")


SIGNATURE = "dlnlandscape (dln plot)"
is_figure_file = starts_with(SIGNATURE.encode())


def check_out(out: Path, origin: str = "--out") -> None:
    """Refuse, before any work, a figure path holding a file the tool did not write."""
    _check_out(out)
    check_result_file(out, origin, is_figure_file)


def save_figure(fig: Any, out: Path, origin: str = "--out") -> Path:
    """Save atomically with the tool's signature in the file's metadata (PNG Software, SVG
    Creator), so a later `dln plot` may replace it and nothing else is ever overwritten."""
    metadata = {"Software": SIGNATURE} if out.suffix.lower() == ".png" else {"Creator": SIGNATURE}
    try:
        with result_file(out, origin, recognise=is_figure_file) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=out.suffix.lower()[1:], metadata=metadata)
    finally:
        load_pyplot().close(fig)
    return out


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def filter_rows(rows: list[dict[str, Any]], where: list[str]) -> list[dict[str, Any]]:
    """Keep rows matching every ``column=value`` condition (compared as text)."""
    from .tables import cell_text

    out = rows
    for condition in where:
        if "=" not in condition:
            raise ResultsError(f"--where {condition}: expected column=value, e.g. m=2")
        key, value = condition.split("=", 1)
        if rows and key not in rows[0]:
            raise ResultsError(f"--where {condition}: no column {key!r}; columns: {', '.join(rows[0])}")
        out = [r for r in out if cell_text(r.get(key)) == value or _number(r.get(key)) == _number(value) is not None]
    return out


def counts_figure(rows: list[dict[str, Any]], x: str, out: Path, title: str | None = None) -> Path:
    """Counts (complex, real) and bounds against column `x`; one marker per run.  Where several
    runs share an x value (other parameters differ), the line goes through their maximum."""
    _check_out(out)
    if not rows:
        raise ResultsError("no runs to plot (check --where)")
    if x not in rows[0]:
        raise ResultsError(f"--x {x}: no such column; e.g. hidden_width, d0, dH, depth, m, unknowns, widths, name")
    categories: list[str] = []
    if all(_number(r[x]) is not None for r in rows):
        points = [(r, float(r[x])) for r in rows]
    else:  # categorical (widths, name, ...): in the table's order (depth, widths, m)
        categories = list(dict.fromkeys(str(r[x]) for r in rows))
        points = [(r, float(categories.index(str(r[x])))) for r in rows]
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    series = (
        ("bezout", "Bézout bound", "#bbbbbb", "s", ":"),
        ("multihomogeneous", "multihomogeneous bound", "#888888", "D", "--"),
        ("complex", "complex critical points", "#1f77b4", "o", "-"),
        ("real", "real critical points", "#d62728", "^", "-"),
    )
    for key, label, color, marker, style in series:
        xs = [v for r, v in points if _number(r.get(key))]
        ys = [_number(r.get(key)) for r, v in points if _number(r.get(key))]
        if not xs:
            continue
        ax.scatter(xs, ys, color=color, marker=marker, s=18, alpha=0.7, zorder=3)
        best: dict[float, float] = defaultdict(float)
        for xv, yv in zip(xs, ys, strict=True):
            best[xv] = max(best[xv], yv or 0.0)
        line_x = sorted(best)
        ax.plot(line_x, [best[v] for v in line_x], color=color, linestyle=style, label=label, zorder=2)
    ax.set_yscale("log")
    _log_x_if_decades(ax, [v for _, v in points], categories)
    if categories:
        ax.set_xticks(range(len(categories)), categories, rotation=60 if len(categories) > 6 else 0, ha="right")
        fig.set_figwidth(max(6.4, 0.3 * len(categories)))
    ax.set_xlabel(x)
    ax.set_ylabel("count (log scale)")
    shared = len({v for _, v in points}) < len(points)
    ax.set_title(
        title or f"critical points against {x} ({len(rows)} runs{'; lines: maximum at each x' if shared else ''})"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bounds reach the top
    return save_figure(fig, out)


def read_points(run_dir: Path) -> list[dict[str, Any]]:
    """The real critical points of one run (its critical_points.csv)."""
    run_dir = Path(run_dir)
    path = run_dir if run_dir.is_file() else run_dir / "critical_points.csv"
    if not path.is_file():
        raise ResultsError(f"{run_dir}: no critical_points.csv; give a result directory of dln solve")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {"loss": float(r["loss"]), "index": int(float(r["hessian_index"])), "class": r["class"]}
        for r in rows
        if r.get("real", "").lower() in ("true", "1")
    ]


def _plottable_points(run_dir: Path, out: Path) -> list[dict[str, Any]]:
    """A run's real critical points, refusing a figure with nothing to show (or a bad format)."""
    _check_out(out)
    points = read_points(run_dir)
    if not points:
        raise ResultsError(f"{run_dir}: no real critical points to plot")
    return points


def _log_x_if_decades(ax: Any, xs: list[float], categories: list[str]) -> None:
    """A log x axis when a numeric x (a regularisation scale) spans more than a decade."""
    if not categories and xs and min(xs) > 0 and max(xs) / min(xs) >= 10:
        ax.set_xscale("log")


def saddle_index_counts(rows: list[dict[str, Any]], x: str) -> dict[Any, dict[int, float]]:
    """Real saddles of index 1, 2 and ≥ 3 (key 3) per value of column x, pooled over the runs
    sharing it, in increasing x."""
    numeric = all(_number(r[x]) is not None for r in rows)
    pooled: dict[Any, dict[int, float]] = {}
    for r in rows:
        key = float(r[x]) if numeric else str(r[x])
        counts = pooled.setdefault(key, {1: 0.0, 2: 0.0, 3: 0.0})
        for column, value in r.items():
            if column.startswith("saddles_index_") and _number(value):
                counts[min(int(column.rsplit("_", 1)[1]), 3)] += float(value or 0)
    return dict(sorted(pooled.items()))


def indices_figure(rows: list[dict[str, Any]], x: str, out: Path, title: str | None = None) -> Path:
    """Across runs (a sweep): the share of real saddles of Morse index 1, 2 and ≥ 3 against a
    table column — Mehta et al.'s observation that high-index saddles are rare, and how that
    changes with the regularisation scale or the widths.  Runs sharing an x value are pooled;
    runs with degenerate points (whose split by index the summary does not know) are left out
    and counted in the title."""
    _check_out(out)
    if not rows:
        raise ResultsError("no runs to plot (check --where)")
    if x not in rows[0]:
        raise ResultsError(f"--x {x}: no such column; e.g. scale, hidden_width, m, unknowns, widths")
    usable = [r for r in rows if not r.get("degenerate")]
    numeric = all(_number(r[x]) is not None for r in usable)
    pooled = saddle_index_counts(usable, x)
    keys = list(pooled)
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    positions = keys if numeric else list(range(len(keys)))
    totals = [sum(pooled[k].values()) for k in keys]
    for index, label, color in ((1, "index 1", "#7570b3"), (2, "index 2", "#e7298a"), (3, "index ≥ 3", "#d95f02")):
        shares = [pooled[k][index] / t if t else float("nan") for k, t in zip(keys, totals, strict=True)]
        ax.plot(positions, shares, marker="o", color=color, label=label)
    if numeric:
        _log_x_if_decades(ax, [float(k) for k in keys], [])
    else:
        ax.set_xticks(positions, [str(k) for k in keys], rotation=60 if len(keys) > 6 else 0, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(x)
    ax.set_ylabel("share of real saddles")
    left_out = len(rows) - len(usable)
    ax.set_title(
        title
        or f"saddles by Morse index against {x} ({len(usable)} runs"
        + (f"; {left_out} with degenerate points left out" if left_out else "")
        + ")",
        fontsize=10,
    )
    for position, total in zip(positions, totals, strict=True):
        ax.annotate(
            f"{int(total)}",
            (position, 1.0),
            textcoords="offset points",
            xytext=(0, 2),
            ha="center",
            fontsize=7,
            color="#555555",
        )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, out)


def morse_figure(run_dir: Path, out: Path, title: str | None = None) -> Path:
    """Bars: number of real critical points per Morse index, stacked by class."""
    points = _plottable_points(run_dir, out)
    plt = load_pyplot()
    indices = list(range(0, max(p["index"] for p in points) + 1))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    bottom = [0] * len(indices)
    for cls, color in CLASS_COLORS.items():
        heights = [sum(1 for p in points if p["index"] == i and p["class"] == cls) for i in indices]
        if any(heights):
            ax.bar(indices, heights, bottom=bottom, color=color, label=cls.replace("_", " "), edgecolor="black")
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    from matplotlib.ticker import MaxNLocator

    ax.set_xticks(indices)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(bottom) * 1.15)
    ax.set_xlabel("Morse index (negative Hessian eigenvalues)")
    ax.set_ylabel("real critical points")
    ax.set_title(title or f"{Path(run_dir).name}: {len(points)} real critical points")
    ax.legend(fontsize="small")
    return save_figure(fig, out)


def loss_figure(run_dir: Path, out: Path, title: str | None = None) -> Path:
    """Scatter: loss of each real critical point against its Morse index, coloured by class."""
    points = _plottable_points(run_dir, out)
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for cls, color in CLASS_COLORS.items():
        chosen = [p for p in points if p["class"] == cls]
        if chosen:
            ax.scatter(
                [p["index"] for p in chosen],
                [p["loss"] for p in chosen],
                color=color,
                label=f"{cls.replace('_', ' ')} ({len(chosen)})",
                edgecolor="black",
                zorder=3,
            )
    ax.set_xticks(sorted({p["index"] for p in points}))
    ax.set_xlabel("Morse index (points of one sign-flip orbit share a loss and overlap)")
    ax.set_ylabel("loss")
    ax.set_title(title or f"{Path(run_dir).name}: loss against Morse index")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, out)
