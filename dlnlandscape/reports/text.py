"""The words of a result: the summary lines every view shows first (terminal, report.md,
notebook HTML) and the Markdown report."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..analysis.bkk import describe


def _non_square(config: dict[str, Any]) -> bool:
    return (config.get("loss") or {}).get("kind", "square") != "square"


def loss_line(loss: dict[str, Any]) -> str:
    """The data term in a few words: the kind and the range of its weights or Q's spectrum."""
    if loss["kind"] == "weighted":
        w = np.asarray(loss["weights"], dtype=float)
        return f"weighted: ½ Σ w·(PX − Y)², weights {w.min():.3g}..{w.max():.3g}"
    Q = np.asarray(loss["Q"], dtype=float)
    eig = np.linalg.eigvalsh(Q)
    size = f"{Q.shape[0]}x{Q.shape[0]}"
    return f"quadratic form: ½ vec(PX − Y)ᵀ Q vec(PX − Y), Q {size}, eigenvalues {eig.min():.3g}..{eig.max():.3g}"


def summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The few numbers a reader wants first, as (label, value) pairs."""
    paths = summary["paths"]
    bounds = summary["bounds"]
    by_class = summary["classes"]["by_class"]
    by_index = summary["classes"]["by_morse_index"]
    lines = [
        ("architecture", " x ".join(str(w) for w in summary["config"]["architecture"]["widths"])),
        ("samples", str(summary["config"]["data"]["samples"])),
        ("regularization", summary["config"]["regularization"]["kind"]),
        *([("loss", loss_line(summary["config"]["loss"]))] if _non_square(summary["config"]) else []),
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
        *_executor_lines(summary["backend"].get("executor")),
        ("seconds", f"{summary['seconds']:.2f}"),
        ("complete", _complete_line(summary)),
    ]
    if summary.get("theory"):
        lines.extend(theory_lines(summary["theory"]))
    cert = summary.get("certification")
    if cert:
        lines.append(("certification", _certification_line(cert, summary["complex_solutions"])))
    verification = summary.get("verification")
    if verification:
        lines.append(("verification", verification.get("message", verification.get("status", ""))))
    return lines


def _complete_line(summary: dict[str, Any]) -> str:
    """yes or NO, and what a yes rests on — a heuristic yes says it is one."""
    if not summary["complete"]:
        return "NO — " + "; ".join(summary["warnings"])
    completeness = summary.get("completeness") or {}
    method = completeness.get("method")
    worst = completeness.get("max_trace_deviation")
    if method == "heuristic":
        heuristic = sum(1 for p in completeness.get("patterns", []) if p["method"] == "heuristic")
        return (
            f"yes, by the monodromy heuristic only — NOT proven ({heuristic} neuron pattern(s) stopped after "
            "rounds without new solutions; --verify degree or solver.trusted_count: msolve makes it exact)"
        )
    if method == "trace_test":
        deviation = f"; largest deviation {worst:.1e}" if worst is not None else ""
        reused = completeness.get("reused")
        if reused:
            deviation += (
                f" (proven in an earlier run, solver seed {reused.get('solver_seed')}, {reused.get('written')}; "
                "this run carried that set to the data — --fresh proves it again)"
            )
        return f"yes, proven by the trace test on every neuron pattern{deviation}"
    if method == "exact_degree":
        return "yes, msolve's exact degree agrees"
    if method == "trusted_count":
        return "yes, monodromy reached the trusted count"
    return "yes"


def _monodromy_lines(info: dict[str, Any] | None) -> list[tuple[str, str]]:
    """How a monodromy solve stopped — a heuristic stop is said to be one."""
    if not info:
        return []
    trusted = info.get("trusted_count")
    if info.get("reached_trusted_count"):
        how = f"reached the trusted count {trusted} ({info.get('trusted_count_source')})"
    else:
        methods = [p.get("completeness") or "none" for p in info.get("per_pattern", [])]
        traced = sum(1 for m in methods if m == "trace_test")
        heuristic = sum(1 for m in methods if m == "heuristic")
        early = sum(1 for m in methods if m == "none")
        parts = []
        if early:
            parts.append(f"{early} pattern(s) stopped early (partial result)")
        if traced:
            parts.append(f"{traced} pattern(s) stopped by the trace test (proof of completeness)")
        if heuristic:
            parts.append(
                f"{heuristic} pattern(s) after rounds without new solutions (heuristic: --verify degree "
                "or solver.trusted_count: msolve makes it exact)"
            )
        how = "; ".join(parts) or "no pattern needed loops"
    if info.get("taken_back"):
        how += f"; {info['taken_back']} orbit(s) a detour found at the target carried back to the base points"
    reused = info.get("reused")
    if reused:
        how += (
            f"; no loops here: the set an earlier run proved was reused ({reused.get('path_steps', 0):,} path "
            f"steps there, solver seed {reused.get('solver_seed')})"
        )
    return [
        (
            "monodromy",
            f"{info['base_solutions']} solutions at base points over {info['patterns']} neuron patterns, "
            f"{info['loops']} loops, {info['path_steps']:,} path steps; {how}",
        )
    ]


def _executor_lines(info: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Where the paths ran, when not in this process (solver.executor: dask)."""
    if not info:
        return []
    resent = info["resubmitted_after_worker_loss"]
    return [
        (
            "executor",
            f"Dask at {info['address']}: {info['workers_used']} worker(s) ran {info['batches']:,} tasks "
            f"({info['remote_paths']:,} paths), {info['runs_kept_in_client']} small run(s) kept here; "
            + (f"{resent} task(s) sent again after a lost worker" if resent else "no worker lost"),
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


def theory_lines(theory: dict[str, Any], most: int = 4) -> list[tuple[str, str]]:
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
        how = crit.get("method") or ""
        margin = crit.get("weakest_margin_decades")
        if margin is not None:
            how += f"; weakest rank decision {margin:.1f} decades from the threshold"
        checks = f"contradicts Hessian: {crit['contradicts_hessian']}"
        if "contradicts_statements" in crit:
            checks += f", statements 2-4: {crit['contradicts_statements']}"
        lines.append(("rank criterion", top(crit["counts"]) + (f" ({how})" if how else "") + f"; {checks}"))
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
            ("tightened", "tightened", bool(theory.get("rank_criterion", {}).get("tightened"))),
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
