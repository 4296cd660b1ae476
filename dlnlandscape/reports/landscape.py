"""`dln landscape`'s files: connections.csv, landscape.json, disconnectivity.png/svg and the
solve's own files, put in place together (`common.atomic.result_directory`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic import result_directory
from ..landscape import Landscape
from ..landscape.graph import leaf_positions
from .files import write_csv, write_result_files
from .plots import load_pyplot

CONNECTION_COLUMNS = [
    "saddle",
    "saddle_loss",
    "integrated",
    *(name.format(side) for side in (1, 2) for name in ("end_{}", "end_{}_class", "end_{}_loss", "barrier_{}")),
]
SCALES = ("linear", "log")


def disconnectivity_figure(result: Landscape, scale: str = "linear") -> Any:
    """The tree: a leaf per minimum orbit at its loss (label: ×orbit size), vertical lines up to
    the saddle where it joins, horizontal bars at the saddles.  `log`: loss − lowest + 1e-3·range,
    on a log axis, so barriers that differ by decades stay visible."""
    plt = load_pyplot()
    tree = result.tree
    x = leaf_positions(tree)
    levels = np.array([n.level for n in tree.nodes]) if tree.nodes else np.zeros(1)
    low, span = float(levels.min()), float(np.ptp(levels)) or 1.0

    def y(value: float) -> float:
        return value - low + 1e-3 * span if scale == "log" else value

    parent = {c: n.id for n in tree.nodes for c in n.children}
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(x) + 2), 4.5))
    for node in tree.nodes:
        top = tree.nodes[parent[node.id]].level if node.id in parent else node.level + 0.08 * span
        ax.plot([x[node.id]] * 2, [y(node.level), y(top)], color="black", lw=1.2)
        if node.children:
            xs = [x[c] for c in node.children]
            ax.plot([min(xs), max(xs)], [y(node.level)] * 2, color="black", lw=1.2)
            ax.annotate(
                f"{node.level:.6g}",
                (max(xs), y(node.level)),
                textcoords="offset points",
                xytext=(4, 2),
                fontsize=7,
                color="#555555",
            )
        else:
            ax.annotate(
                f"×{len(node.minima)}",
                (x[node.id], y(node.level)),
                textcoords="offset points",
                xytext=(0, -12),
                ha="center",
                fontsize=8,
            )
    ax.set_xticks([])
    if scale == "log":
        ax.set_yscale("log")
        ax.set_ylabel(f"loss − {low:.6g} (+{1e-3 * span:.1e})")
    else:
        ax.set_ylabel("loss")
    orbits = sum(1 for n in tree.nodes if not n.children)
    ax.set_title(f"{result.name}\ndisconnectivity graph, {orbits} minimum orbit(s)", fontsize=10)
    fig.tight_layout()
    return fig


def profile_arrays(result: Landscape) -> dict[str, np.ndarray]:
    """profiles.npz: per saddle id (table index) and branch, the arclength from the saddle and
    the loss along the descent path, with the id of the critical point it ends at."""
    c = result.connections
    out: dict[str, np.ndarray] = {}
    for row, (s1, l1, s2, l2) in c.profiles.items():
        saddle = int(c.saddles[row])
        for side, (arc, loss) in enumerate(((s1, l1), (s2, l2)), start=1):
            out[f"saddle_{saddle}_branch_{side}_arclength"] = arc
            out[f"saddle_{saddle}_branch_{side}_loss"] = loss
            out[f"saddle_{saddle}_branch_{side}_end"] = np.array(int(c.ends[row, side - 1]))
    return out


def write_landscape(result: Landscape, directory: Path, origin: str = "", scale: str = "linear") -> Path:
    """All of `dln landscape`'s files into `directory`, replacing only an earlier result of the tool's."""
    directory = Path(directory)
    figure = disconnectivity_figure(result, scale)
    try:
        with result_directory(directory, origin, kind="landscape") as tmp:
            if result.run is not None:
                write_result_files(result.run, tmp)
            write_csv(tmp / "connections.csv", CONNECTION_COLUMNS, result.connection_rows())
            (tmp / "landscape.json").write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
            np.savez_compressed(tmp / "profiles.npz", **profile_arrays(result))
            for suffix in (".png", ".svg"):
                figure.savefig(tmp / f"disconnectivity{suffix}", dpi=150)
    finally:
        load_pyplot().close(figure)
    return directory


__all__ = ["CONNECTION_COLUMNS", "SCALES", "disconnectivity_figure", "write_landscape"]
