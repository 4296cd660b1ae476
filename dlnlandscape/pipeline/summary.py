"""summary.json, built in exactly one place from the values a solve produced.

Everything a report, a table or a script reads about a run is here, as plain JSON types:
counts, the verdict and its reasons, path counts, bounds, classes, orbit and invariant checks,
the engine's own statistics, the theory columns' tallies, certification, verification, and the
resolved config (every default and random draw filled in, so the run can be repeated).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..analysis.certify import CertificationOutcome
from ..analysis.points import CriticalPoints
from ..analysis.theory import theory_summary
from ..engines.base import SolveResult
from ..exact.verify import Verification
from ..model.config import Config
from ..model.problem import Problem
from ..version import __version__
from .verdict import Verdict


def build_summary(
    config: Config,
    problem: Problem,
    result: SolveResult,
    points: CriticalPoints,
    bounds: dict[str, Any],
    verdict: Verdict,
    certification: CertificationOutcome | None,
    verification: Verification | None,
    reason: str,
    seconds: float,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The contents of summary.json for one solve.  `seconds` is the whole command's wall time
    (from the CLI/API entry), `timings` its split by stage (pipeline/timings.py)."""
    k = len(points)
    real = points.is_real
    orbit_ids = np.unique(points.orbit) if k else np.zeros(0)
    global_loss = points.loss[points.cls == "global_minimum"].real
    bkk = bounds.get("bkk", {})
    summary: dict[str, Any] = {
        "name": config.name,
        "version": __version__,
        "complex_solutions": int(result.exact_degree) if result.exact_degree is not None else k,
        "nonsingular_solutions": int(np.sum(~points.singular)),
        "singular_solutions": int(np.sum(points.singular)),
        "real_solutions": int(np.sum(real)),
        "complete": bool(verdict.complete),
        "warnings": list(verdict.reasons),
        "stopped_early": result.stopped_early,  # a partial result: why (time limit, signal), else null
        "completeness": verdict.completeness.as_dict(),
        "paths": result.paths.counts(),
        "bounds": bounds,
        "classes": points.class_counts(),
        "global_minimum_loss": float(global_loss.min()) if global_loss.size else None,
        "orbits": {
            "count": int(orbit_ids.size),
            "real": int(np.unique(points.orbit[real]).size),
            "missing_images": int(points.orbit_missing),
            "group": "hidden-neuron sign flips" if not any(problem.residual_layers) else "none (residual)",
        },
        "checks": {
            "max_residual": float(np.max(points.residual)) if k else None,
            "origin_found": bool(k and np.any(np.abs(points.solutions).max(axis=1) < 1e-10)),
            "real_parity_ok": bool((np.sum(real) - k) % 2 == 0) if not np.any(points.singular) else None,
            "within_bounds": bool(bounds["multihomogeneous"] is None or k <= bounds["multihomogeneous"]),
            "within_bkk": bool(k <= bkk["affine"]) if bkk.get("status") == "computed" else None,
        },
        "backend": {
            "engine": result.engine,
            "reason": reason,
            "start_system": result.start_system,
            **result.backend_info(),
        },
        "seed": result.seed,
        "seconds": round(seconds, 3),
        "timings": timings or {},
        "peak_memory_mib": peak_memory_mib(),
        "solve_seconds": round(result.seconds, 3),
        "unknowns": problem.n,
        "equations": problem.n,
        "theory": theory_summary(problem, points, config.regularization),
        "config": config.resolved(),
    }
    if certification is not None:
        summary.update(certification.summary())
    if verification is not None:
        summary["verification"] = verification.as_dict()
    return summary


def instance_row(index: int, config: Config, summary: dict[str, Any], complete: bool) -> dict[str, Any]:
    """One row of instances.csv (and of summary.json's `per_instance`)."""
    by_class = summary["classes"]["by_class"]
    by_index = {k: v for k, v in summary["classes"]["by_morse_index"].items() if k != "0"}
    return {
        "instance": index,
        "data_seed": config.raw["data"]["seed"],
        "regularization_seed": config.raw["regularization"].get("seed"),
        "complex": summary["complex_solutions"],
        "real": summary["real_solutions"],
        "global_minima": by_class["global_minimum"],
        "local_minima": by_class["local_minimum"],
        "saddles": by_class["saddle"],
        "saddles_by_index": by_index,
        "failed_paths": summary["paths"]["failed"],
        "certified": summary.get("certified_solutions"),
        "complete": complete,
        "global_minimum_loss": summary["global_minimum_loss"],
    }


def build_instances_summary(
    config: Config,
    rows: list[dict[str, Any]],
    generic: int,
    verdict: Verdict,
    result: SolveResult,
    seconds: float,
) -> dict[str, Any]:
    """The contents of summary.json for a `data.instances` run: distributions over instances."""
    return {
        "name": config.name,
        "version": __version__,
        "instances": len(rows),
        "generic_count": generic,
        "complete_instances": sum(1 for r in rows if r["complete"]),
        "complete": verdict.complete,
        "warnings": list(verdict.reasons),
        "completeness": verdict.completeness.as_dict(),
        "distributions": {
            key: _histogram([r[key] for r in rows])
            for key in ("complex", "real", "global_minima", "local_minima", "saddles", "certified")
        },
        "saddles_by_index": {
            str(k): _histogram([r["saddles_by_index"].get(str(k), 0) for r in rows])
            for k in sorted({int(k) for r in rows for k in r["saddles_by_index"]})
        },
        "per_instance": rows,
        "backend": {"engine": result.engine, "start_system": "monodromy", **result.backend_info()},
        "seed": result.seed,
        "seconds": round(seconds, 3),
        "solve_seconds": round(result.seconds, 3),
        "unknowns": int(sum(a * b for a, b in zip(config.widths[1:], config.widths[:-1]))),
        "config": config.resolved(),
    }


def _histogram(values: list[Any]) -> dict[str, int]:
    counts = Counter(values)
    return {str(k): counts[k] for k in sorted(counts, key=lambda v: (v is None, v))}


def peak_memory_mib() -> float | None:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)
    except (ImportError, OSError):  # pragma: no cover - not on every platform
        return None
