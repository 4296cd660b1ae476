"""Outputs: critical_points.csv, solutions.npz, summary.json, report.md — and the terminal view.

Files are written into a temporary directory and put in place at the end (`common.atomic`), so an
interrupted run never leaves a half-written result, and nothing of the user's is ever replaced.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.classify import CriticalPoints
from ..common.atomic import result_directory
from ..model.problem import Problem

COLUMNS = (
    "id",
    "real",
    "loss",
    "loss_imag",
    "hessian_index",
    "class",
    "zero_eigenvalues",
    "min_eigenvalue",
    "max_eigenvalue",
    "singular",
    "multiplicity",
    "residual",
    "condition",
    "rank_end_to_end",
    "partial_ranks",
    "zero_pattern",
    "zero_count",
    "zero_class",
    "saddle_type",
    "pure_spurious",
    "eigen_subset",
    "rank_criterion",
    "orbit",
    "orbit_size",
    "certified",
)


def _order(points: CriticalPoints) -> np.ndarray:
    """Real points first, by loss; then the rest by |loss|."""
    key_real = np.where(points.is_real, 0, 1)
    return np.lexsort((np.abs(points.loss), points.loss.real, key_real))


def critical_points_rows(problem: Problem, points: CriticalPoints) -> list[dict[str, Any]]:
    rows = []
    order = _order(points)
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    names = problem.variable_names
    for new_id, i in enumerate(order):
        real = bool(points.is_real[i])
        row: dict[str, Any] = {
            "id": new_id,
            "real": real,
            "loss": float(points.loss[i].real),
            "loss_imag": float(points.loss[i].imag),
            "hessian_index": int(points.hessian_index[i]) if real else "",
            "class": points.cls[i],
            "zero_eigenvalues": int(points.zero_eigenvalues[i]) if real else "",
            "min_eigenvalue": float(points.min_eigenvalue[i]) if real else "",
            "max_eigenvalue": float(points.max_eigenvalue[i]) if real else "",
            "singular": bool(points.singular[i]),
            "multiplicity": int(points.multiplicity[i]),
            "residual": float(points.residual[i]),
            "condition": float(points.condition[i]),
            "rank_end_to_end": int(points.rank_end_to_end[i]),
            "partial_ranks": points.partial_ranks[i],
            "zero_pattern": points.zero_pattern[i],
            "zero_count": int(points.zero_count[i]),
            "zero_class": points.zero_class[i],
            "saddle_type": points.saddle_type[i],
            "pure_spurious": points.pure_spurious[i],
            "eigen_subset": points.eigen_subset[i],
            "rank_criterion": points.rank_criterion[i],
            "orbit": int(renumber[points.orbit[i]]),
            "orbit_size": int(points.orbit_size[i]),
            "certified": "" if points.certified is None else bool(points.certified[i]),
        }
        for name, value in zip(names, points.solutions[i]):
            row[name] = float(value.real)
            row[f"{name}_imag"] = float(value.imag)
        rows.append(row)
    return rows


def write_outputs(run: Any, directory: Path, origin: str = "") -> Path:
    """Write all result files of a solve into `directory` through `common.atomic.result_directory`
    (an earlier result of the tool's own is replaced; anything of the user's is refused)."""
    with result_directory(directory, origin, kind="solve") as tmp:
        write_result_files(run, tmp)
    return Path(directory)


def write_result_files(run: Any, tmp: Path) -> None:
    """critical_points.csv, solutions.npz, summary.json and report.md of one solve into `tmp`."""
    rows = critical_points_rows(run.problem, run.points)
    fields = list(COLUMNS) + [f"{name}{suffix}" for name in run.problem.variable_names for suffix in ("", "_imag")]
    write_csv(tmp / "critical_points.csv", fields, rows)
    order = _order(run.points)
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


def summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The few numbers a reader wants first, as (label, value) pairs."""
    from ..analysis.bkk import describe

    paths = summary["paths"]
    bounds = summary["bounds"]
    by_class = summary["classes"]["by_class"]
    by_index = summary["classes"]["by_morse_index"]
    lines = [
        ("architecture", " x ".join(str(w) for w in summary["config"]["architecture"]["widths"])),
        ("samples", str(summary["config"]["data"]["samples"])),
        ("regularization", summary["config"]["regularization"]["kind"]),
        ("unknowns", str(summary["unknowns"])),
        (
            "complex critical points",
            f"{summary['complex_solutions']} distinct"
            + (f" ({summary['singular_solutions']} singular)" if summary["singular_solutions"] else ""),
        ),
        ("real critical points", str(summary["real_solutions"])),
        ("minima", f"{by_class['global_minimum']} global, {by_class['local_minimum']} local"),
        (
            "saddles",
            f"{by_class['saddle']} (by Morse index: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(by_index.items(), key=lambda kv: int(kv[0])) if k != "0")
            + ")",
        ),
        ("maxima / degenerate", f"{by_class['maximum']} / {by_class['degenerate']}"),
        (
            "paths",
            f"{paths['tracked']} tracked: {paths['finite']} finite, {paths['at_infinity']} at infinity, "
            f"{paths['singular']} singular, {paths['failed']} failed"
            + (
                f"; {paths['added_by_symmetry']} more points added as sign-flip images"
                if paths.get("added_by_symmetry")
                else ""
            ),
        ),
        (
            "bounds",
            f"Bézout {bounds['bezout']}, multihomogeneous {bounds['multihomogeneous']}"
            + (f", {describe(bounds['bkk'])}" if bounds.get("bkk") else ""),
        ),
        ("backend", f"{summary['backend']['engine']} ({summary['backend']['start_system']}), seed {summary['seed']}"),
        *_monodromy_lines(summary["backend"].get("monodromy")),
        ("seconds", f"{summary['seconds']:.2f}"),
        ("complete", "yes" if summary["complete"] else "NO — " + "; ".join(summary["warnings"])),
    ]
    if summary.get("theory"):
        lines.extend(_theory_lines(summary["theory"]))
    cert = summary.get("certification")
    if cert:
        lines.append(("certification", _certification_line(cert, summary["complex_solutions"])))
    verification = summary.get("verification")
    if verification:
        lines.append(("verification", verification.get("message", verification.get("status", ""))))
    return lines


def _monodromy_lines(info: dict[str, Any] | None) -> list[tuple[str, str]]:
    """How a monodromy solve stopped — a heuristic stop is said to be one."""
    if not info:
        return []
    trusted = info.get("trusted_count")
    how = (
        f"reached the trusted count {trusted} ({info.get('trusted_count_source')})"
        if info.get("reached_trusted_count")
        else "every pattern stopped after rounds without new solutions (heuristic: --verify degree "
        "or solver.trusted_count: msolve makes it exact)"
    )
    return [
        (
            "monodromy",
            f"{info['base_solutions']} solutions at base points over {info['patterns']} neuron patterns, "
            f"{info['loops']} loops, {info['path_steps']:,} path steps; {how}",
        )
    ]


def _certification_line(cert: dict[str, Any], total: int) -> str:
    """One line: how many points were proven exact critical points, and how."""
    if cert.get("status") != "done":
        return f"not run ({cert['reason']})"
    overlap = "" if cert["distinct"] else f", {len(cert['overlapping_pairs'])} overlapping pair(s)"
    return (
        f"{cert['certified']} of {total} proven ({cert['certified_real']} real, "
        f"{cert['certified_nonreal']} non-real){overlap}; {cert['method']}, {cert['seconds']:.2f} s"
    )


def _md(value: Any) -> str:
    """A Markdown table cell: '|' escaped."""
    return str(value).replace("|", r"\|")


def _theory_lines(theory: dict[str, Any], most: int = 4) -> list[tuple[str, str]]:
    """Filling, saddle types, pure/spurious, rank criterion, zero classes and rank patterns."""

    def top(tally: dict[str, int]) -> str:
        items = sorted(tally.items(), key=lambda kv: -kv[1])
        more = f"; … {len(items) - most} more" if len(items) > most else ""
        return "; ".join(f"{k or '—'}: {v}" for k, v in items[:most]) + more

    fill = theory["filling"]
    saddles = theory["saddle_types"]
    pure = theory["pure_spurious"]
    lines = [
        ("functional space", f"{'filling' if fill['filling'] else 'not filling'}: {fill['functional_space']}"),
        ("saddle types", f"{saddles['strict']} strict, {saddles['non_strict_candidate']} non-strict candidate(s)"),
        (
            "pure / spurious",
            f"{pure['pure']} pure, {pure['spurious']} spurious ({pure['convention']} convention)"
            if pure["applies"]
            else f"n/a: {pure['reason']}",
        ),
    ]
    crit = theory["rank_criterion"]
    if crit["applies"]:
        lines.append(("rank criterion", top(crit["counts"]) + f"; contradicts Hessian: {crit['contradicts_hessian']}"))
    bh = theory["bharadwaj_hosten"]
    if bh["applies"]:
        lines.append(
            (
                "Bharadwaj–Hoşten",
                f"{'ok' if bh['pattern_ok'] else 'VIOLATED'}: {bh['one_active']} point(s) with one active neuron "
                f"(expected {bh['expected_one_active']}), {bh['points_with_mixed_neurons']} with a mixed neuron",
            )
        )
    lines.append(("zero classes", top(theory["zero_classes"]["all"])))
    patterns = {
        ",".join(f"{k}:{v}" for k, v in p["ranks"].items()): p["count"] for p in theory["rank_patterns"]["real"]
    }
    lines.append(("rank patterns (real)", top(patterns) if patterns else "none"))
    return lines


def markdown_report(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write(f"# Critical points: {summary['name']}\n\n")
    out.write("| quantity | value |\n|---|---|\n")
    for label, value in summary_lines(summary):
        out.write(f"| {label} | {value} |\n")
    checks = summary["checks"]
    out.write("\n## How this was checked\n\n")
    out.write(
        f"- every reported point was refined by Newton on ∇L; largest residual ‖∇L‖∞ = {checks['max_residual']}\n"
    )
    out.write(f"- count within the multihomogeneous Bézout bound: {checks['within_bounds']}\n")
    if checks.get("within_bkk") is not None:
        out.write(f"- count within the BKK bound (mixed volume with the origin): {checks['within_bkk']}\n")
    out.write(f"- origin (always critical) found: {checks['origin_found']}\n")
    if checks["real_parity_ok"] is not None:
        out.write(f"- #real ≡ #complex (mod 2): {checks['real_parity_ok']}\n")
    out.write(f"- sign-flip images missing: {summary['orbits']['missing_images']}\n")
    if summary["warnings"]:
        out.write("\n## Warnings\n\n" + "".join(f"- {w}\n" for w in summary["warnings"]))
    real_rows = [r for r in rows if r["real"]]
    out.write(f"\n## Real critical points ({len(real_rows)})\n\n")
    theory = summary.get("theory") or {}
    extra = [
        (title, key)
        for title, key, shown in (
            ("saddle type", "saddle_type", True),
            ("zero class", "zero_class", True),
            ("pure / spurious", "pure_spurious", theory.get("pure_spurious", {}).get("applies")),
            ("rank criterion", "rank_criterion", theory.get("rank_criterion", {}).get("applies")),
        )
        if shown and theory
    ]
    header = ["id", "loss", "Morse index", "class", "zero pattern", "rank P", "orbit (size)", *(t for t, _ in extra)]
    out.write("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|\n")
    for r in real_rows:
        pattern = r["zero_pattern"].replace("|", r"\|")
        cells = "".join(f" {_md(r[key])} |" for _, key in extra)
        out.write(
            f"| {r['id']} | {r['loss']:.10g} | {r['hessian_index']} | {r['class']} | `{pattern}` "
            f"| {r['rank_end_to_end']} | {r['orbit']} ({r['orbit_size']}) |{cells}\n"
        )
    return out.getvalue()


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
