"""`dln plot plane RUN`: the loss on the plane through three real critical points.

Why.  A table says a local minimum sits 0.02 below its saddle; a picture of the loss around
the two minima and the saddle between them shows the basin, the pass and how narrow it is
(Goodfellow et al.'s 1-D interpolations and Li et al.'s 2-D loss surfaces are the deep-learning
habit; for linear networks the critical points make the plane's choice canonical).

The plane.  Through points a, b, c (rows of the run's critical_points.csv, real points, by
`id`): orthonormal coordinates with a at the origin and b on the first axis.  Default
(`default_triple`): a = the global minimum, b = a higher minimum joined to it, c = the index-1
saddle joining them, from `dln landscape`'s connections.csv when the run has one.
Contours of log₁₀(L − L_min + ε) on a 160 × 160 grid reaching half the triangle's size beyond
it; every real critical point within PLANE_TOL of the plane is marked by its Morse index.
The problem is rebuilt from the run's own summary.json config (same seeds, same data)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..model.config import parse_config
from ..model.problem import Problem
from .plots import check_out, load_pyplot, save_figure
from .tables import ResultsError

GRID = 160
PLANE_TOL = 1e-6  # distance to the plane, relative to the triangle's size, of a point marked on it


def run_points(run_dir: Path) -> tuple[Problem, np.ndarray, np.ndarray, np.ndarray]:
    """The run's problem and its real critical points in table order (ids): points, loss, index."""
    run_dir = Path(run_dir)
    summary_path, npz_path = run_dir / "summary.json", run_dir / "solutions.npz"
    if not summary_path.is_file() or not npz_path.is_file():
        raise ResultsError(f"{run_dir}: no summary.json and solutions.npz; give a result directory of dln solve")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    config = parse_config(summary["config"], source=str(summary_path), base_dir=run_dir)
    problem = Problem.from_config(config)
    with np.load(npz_path) as data:
        real = data["is_real"]
        return problem, data["solutions"][real].real, data["loss"][real].real, data["hessian_index"][real]


def default_triple(run_dir: Path, loss: np.ndarray, index: np.ndarray) -> tuple[int, int, int]:
    """(global minimum a, another minimum b, the saddle c between them): with `dln landscape`'s
    connections.csv in the run, the saddle joining a to a higher minimum at the lowest loss (to
    another member of a's orbit if no higher minimum is joined) and that minimum; without it, the
    lowest higher minimum (else a's orbit partner) and the lowest index-1 saddle."""
    minima = np.flatnonzero(index == 0)
    saddles = np.flatnonzero(index == 1)
    if minima.size < 2 or saddles.size == 0:
        raise ResultsError(
            f"{run_dir}: the default plane needs two minima and an index-1 saddle "
            f"({minima.size} and {saddles.size} here); choose three points with --points I,J,K"
        )
    ranked = minima[np.argsort(loss[minima], kind="stable")]
    a = int(ranked[0])
    tied = np.isclose(loss[ranked], loss[a], rtol=1e-9, atol=0.0)
    connections = Path(run_dir) / "connections.csv"
    if connections.is_file():
        with open(connections, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["end_1"] != "-1" and r["end_2"] != "-1"]
        joins = [
            (
                not np.isclose(loss[int(r["end_1"]) + int(r["end_2"]) - a], loss[a], rtol=1e-9, atol=0.0),
                -float(r["saddle_loss"]),
                int(r["saddle"]),
                int(r["end_1"]) + int(r["end_2"]) - a,
            )
            for r in rows
            if a in (int(r["end_1"]), int(r["end_2"])) and r["end_1"] != r["end_2"]
        ]
        if joins:
            _, _, c, b = max(joins)  # a higher minimum first, then the lowest saddle
            return a, b, c
    b = int(ranked[~tied][0]) if (~tied).any() else int(ranked[1])
    return a, b, int(saddles[np.argmin(loss[saddles])])


def plane_figure(
    run_dir: Path, out: Path, chosen: tuple[int, int, int] | None = None, title: str | None = None
) -> Path:
    """The figure (module docstring); `chosen` ids of critical_points.csv, else the default."""
    check_out(out)
    problem, x, loss, index = run_points(run_dir)
    a, b, c = chosen if chosen is not None else default_triple(run_dir, loss, index)
    for i in (a, b, c):
        if not 0 <= i < x.shape[0]:
            raise ResultsError(f"--points: {i} is not the id of a real critical point (0..{x.shape[0] - 1})")
    e1 = x[b] - x[a]
    size = float(np.linalg.norm(e1))
    e2 = x[c] - x[a] - (e1 @ (x[c] - x[a])) / max(size**2, 1e-300) * e1
    if size == 0 or np.linalg.norm(e2) <= 1e-9 * max(size, 1.0):
        raise ResultsError(f"--points {a},{b},{c}: the three points are collinear; choose another third point")
    e1, e2 = e1 / size, e2 / np.linalg.norm(e2)
    coords = (x - x[a]) @ np.stack([e1, e2], axis=1)  # every point's (u, v)
    tri = coords[[a, b, c]]
    low, high = tri.min(axis=0), tri.max(axis=0)
    pad = 0.5 * (high - low).max()
    u = np.linspace(low[0] - pad, high[0] + pad, GRID)
    v = np.linspace(low[1] - pad, high[1] + pad, GRID)
    U, V = np.meshgrid(u, v)
    grid = x[a][None] + U.reshape(-1, 1) * e1[None] + V.reshape(-1, 1) * e2[None]
    L = problem.loss(grid).real.reshape(GRID, GRID)
    floor = float(min(L.min(), loss.min()))
    eps = 1e-3 * max(float(np.ptp(L)), 1e-12)
    distance = np.linalg.norm((x - x[a]) - coords @ np.stack([e1, e2]), axis=1)
    on_plane = np.flatnonzero(distance <= PLANE_TOL * max(size, 1.0))
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    filled = ax.contourf(U, V, np.log10(L - floor + eps), levels=30, cmap="viridis")
    ax.contour(U, V, np.log10(L - floor + eps), levels=30, colors="white", linewidths=0.3, alpha=0.5)
    fig.colorbar(filled, ax=ax, label=f"log10(loss − {floor:.6g} + {eps:.1e})")
    marker = {0: ("o", "#ffffff"), 1: ("^", "#ff7f0e")}
    for i in on_plane:
        shape, color = marker.get(int(index[i]), ("s", "#d62728"))
        ax.scatter(*coords[i], marker=shape, color=color, edgecolor="black", s=60, zorder=3)
        ax.annotate(
            f"{i} (index {index[i]})", coords[i], textcoords="offset points", xytext=(6, 6), fontsize=8, color="white"
        )
    ax.set_xlabel(f"along {a} → {b}")
    ax.set_ylabel(f"towards {c}")
    ax.set_title(title or f"{Path(run_dir).name}: loss on the plane through points {a}, {b}, {c}", fontsize=10)
    ax.set_aspect("equal")
    return save_figure(fig, out)


def profile_figure(run_dir: Path, out: Path, saddle: int | None = None, title: str | None = None) -> Path:
    """The loss along the descent path through one index-1 saddle, from the minimum its first
    branch reaches, over the saddle (arclength 0), to the second's — from `dln landscape`'s
    profiles.npz.  Default saddle: the lowest one joining two minima of different loss (the
    barrier of a non-global minimum), else the lowest one."""
    check_out(out)
    path = Path(run_dir) / "profiles.npz"
    if not path.is_file():
        raise ResultsError(f"{run_dir}: no profiles.npz; run dln landscape CONFIG --out {run_dir} first")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    _, _, loss, _ = run_points(run_dir)
    saddles = sorted({int(key.split("_")[1]) for key in arrays})
    if not saddles:
        raise ResultsError(f"{run_dir}: the landscape has no index-1 saddle")
    if saddle is None:

        def ends(s: int) -> tuple[int, int]:
            return int(arrays[f"saddle_{s}_branch_1_end"]), int(arrays[f"saddle_{s}_branch_2_end"])

        separating = [s for s in saddles if min(ends(s)) >= 0 and not np.isclose(*loss[list(ends(s))], rtol=1e-9)]
        saddle = min(separating or saddles, key=lambda s: loss[s])
    if saddle not in saddles:
        raise ResultsError(f"--saddle {saddle}: not an index-1 saddle of the landscape; one of {saddles}")
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    arc1, loss1 = arrays[f"saddle_{saddle}_branch_1_arclength"], arrays[f"saddle_{saddle}_branch_1_loss"]
    arc2, loss2 = arrays[f"saddle_{saddle}_branch_2_arclength"], arrays[f"saddle_{saddle}_branch_2_loss"]
    ax.plot(np.concatenate([-arc1[::-1], arc2]), np.concatenate([loss1[::-1], loss2]), color="#1f77b4")
    ax.scatter(
        [0.0], [loss[saddle]], marker="^", color="#ff7f0e", edgecolor="black", zorder=3, label=f"saddle {saddle}"
    )
    for arc, values, side in ((-arc1[-1], loss1[-1], 1), (arc2[-1], loss2[-1], 2)):
        end = int(arrays[f"saddle_{saddle}_branch_{side}_end"])
        ax.scatter([arc], [values], marker="o", color="white", edgecolor="black", zorder=3)
        ax.annotate(
            f"{end if end >= 0 else 'not in the table'}",
            (arc, values),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.set_xlabel("arclength along steepest descent (through the saddle at 0)")
    ax.set_ylabel("loss")
    ax.set_title(title or f"{Path(run_dir).name}: descent path through saddle {saddle}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return save_figure(fig, out)


__all__ = ["default_triple", "plane_figure", "profile_figure", "run_points"]
