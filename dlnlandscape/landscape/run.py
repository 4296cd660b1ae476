"""`dln landscape`: solve, connect every index-1 saddle to the minima it joins, build the
disconnectivity tree.  The pipeline of this package: pipeline.solve → connections.connect →
graph.build_tree; files are reports/landscape.py's business."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.config import Config
from ..pipeline import Run, solve
from .connections import Connections, connect
from .graph import Tree, build_tree


@dataclass(frozen=True, eq=False)
class Landscape:
    """The real critical points' connections and the tree, with what could not be accounted for."""

    name: str
    points: np.ndarray  # (k, n) real critical points, table order (table index = row)
    loss: np.ndarray  # (k,)
    index: np.ndarray  # (k,) Morse index
    orbit: np.ndarray  # (k,) sign-flip orbit id (a table index)
    classes: np.ndarray  # (k,) class names
    connections: Connections
    tree: Tree
    seconds: float
    run: Run | None = field(default=None, repr=False)

    def connection_rows(self) -> list[dict[str, Any]]:
        """connections.csv: one row per index-1 saddle."""
        c = self.connections
        rows = []
        for i, s in enumerate(c.saddles):
            row: dict[str, Any] = {
                "saddle": int(s),
                "saddle_loss": float(self.loss[s]),
                "integrated": bool(c.integrated[i]),
            }
            for side in range(2):
                end = int(c.ends[i, side])
                row[f"end_{side + 1}"] = end
                row[f"end_{side + 1}_class"] = str(self.classes[end]) if end >= 0 else self.unknown_end(i, side)
                row[f"end_{side + 1}_loss"] = float(self.loss[end]) if end >= 0 else ""
                row[f"barrier_{side + 1}"] = float(self.loss[s] - self.loss[end]) if end >= 0 else ""
            rows.append(row)
        return rows

    def unknown_end(self, row: int, side: int) -> str:
        """What a branch that matched no table point ended at."""
        if not self.connections.arrived[row, side]:
            return "unfinished (the flow did not settle)"
        return "MISSING: a critical point not in the table"

    def missing(self) -> int:
        """Branches that converged to a critical point the solve did not list."""
        c = self.connections
        return int(np.sum((c.ends < 0) & c.arrived))

    def summary(self) -> dict[str, Any]:
        c = self.connections
        joined = {(int(a), int(b)) for a, b in c.ends if a >= 0 and b >= 0}
        return {
            "name": self.name,
            "real_critical_points": int(self.points.shape[0]),
            "minima": int(np.sum(self.index == 0)),
            "index_1_saddles": int(c.saddles.size),
            "integrated": int(c.integrated.sum()),
            "branches_to_minima": int(np.sum(np.isin(c.ends, np.flatnonzero(self.index == 0)))),
            "branches_missing_point": self.missing(),
            "branches_unfinished": int(np.sum(~c.arrived)),
            "pairs_joined": len(joined),
            "trees": len(self.tree.roots),
            "solve_complete": self.solve_completeness(),
            "tree": self.tree.as_dict(),
            "seconds": round(self.seconds, 3),
        }

    def solve_completeness(self) -> str:
        """How the table the connections are matched against was established (a missing critical
        point would show as a branch ending off the table)."""
        if self.run is None:
            return "unknown (no solve attached)"
        summary = self.run.summary
        method = summary.get("completeness", {}).get("method", "")
        return ("yes" if summary.get("complete") else "NO") + (f" ({method})" if method else "")

    def lines(self) -> list[str]:
        s = self.summary()
        out = [
            f"dln landscape: {self.name} — {s['real_critical_points']} real critical points, {s['minima']} minima, "
            f"{s['index_1_saddles']} index-1 saddles ({s['integrated']} integrated, the rest their sign-flip images)",
            f"descent branches: {s['branches_to_minima']} of {2 * s['index_1_saddles']} end at a minimum; "
            f"{s['branches_missing_point']} at a critical point NOT in the table; "
            f"{s['branches_unfinished']} unfinished",
            f"the table of critical points: complete {self.solve_completeness()}",
        ]
        levels = self.tree.barrier_to_lowest
        lowest = min(levels, key=lambda leaf: self.tree.nodes[leaf].level) if levels else -1
        for leaf, barrier in sorted(levels.items(), key=lambda kv: self.tree.nodes[kv[0]].level):
            node = self.tree.nodes[leaf]
            what = "the lowest" if leaf == lowest else f"barrier {barrier:.6g} to the lowest"
            out.append(f"  minimum orbit at loss {node.level:.10g} (x{len(node.minima)}): {what}")
        unjoined = len(self.tree.roots) - 1
        if unjoined > 0:
            out.append(f"  {unjoined} set(s) of minima joined to the lowest by no index-1 saddle found")
        out.append(f"seconds: {self.seconds:.1f}")
        return out


def landscape(config: Config, run: Run | None = None) -> Landscape:
    """Solve `config` (unless `run` is given) and connect its real critical points."""
    began = time.perf_counter()
    run = run if run is not None else solve(config)
    pts = run.points
    real = np.flatnonzero(pts.is_real)
    order = real[np.argsort(pts.loss[real].real, kind="stable")]
    x = pts.solutions[order].real
    loss = pts.loss[order].real
    index = pts.hessian_index[order]
    renumber = {int(old): new for new, old in enumerate(order)}
    orbit = np.array([renumber.get(int(pts.orbit[i]), new) for new, i in enumerate(order)])
    connections = connect(run.problem, x, index)
    tree = build_tree(np.flatnonzero(index == 0), orbit, loss, connections.saddles, connections.ends)
    return Landscape(
        name=config.name,
        points=x,
        loss=loss,
        index=index,
        orbit=orbit,
        classes=pts.cls[order],
        connections=connections,
        tree=tree,
        seconds=time.perf_counter() - began,
        run=run,
    )


__all__ = ["Landscape", "landscape"]
