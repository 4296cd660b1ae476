"""How an engine got its path results: typed statistics, one record per kind of solve.

The summary's `backend` block reports how a solve went — how many paths were re-tracked, how
the monodromy loops stopped, which msolve or HomotopyContinuation.jl version ran.  Each engine
fills one of these records instead of a free-form dict, so the pipeline reads
`result.monodromy.base_solutions` (a typo is an AttributeError, not a silent `None`), and
`as_dict()` gives exactly the JSON the summary has always had, keys in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol


class EngineStats(Protocol):
    """What every statistics record offers: its summary.json form."""

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TrackingStats:
    """Linear-product tracking (native engine): re-tracking of failed paths and suspected path
    jumps, and how the start paths were split.  The optional fields are filled by whoever knows
    them (the engine: chunks, threads; a sampling engine: sampled_paths; the decomposition's
    penalty seeds: generic_count_proven) and left out of the summary when None."""

    kernel: str  # "numba" (compiled steps) or "numpy" (the reference)
    retracked: int = 0  # paths tracked again with tighter steps
    retrack_rounds: int = 0
    duplicate_nonsingular_paths: int = 0  # after re-tracking: paths sharing a nonsingular endpoint
    at_infinity_after_stalling: int = 0  # declared at infinity by their valuation after stalling
    chunks: int | None = None
    added_by_symmetry: int | None = None
    start_solutions: int | None = None
    threads: int | None = None
    sampled_paths: int | None = None  # only a random sample of the start paths was tracked
    tracked_paths: int | None = None  # a stopped solve (time limit, signal): start paths tracked by then
    generic_count_proven: bool | None = None  # penalty seeds: every pattern of the generic solve proven

    @classmethod
    def merge(cls, parts: list[TrackingStats]) -> TrackingStats:
        """Per-chunk statistics → one: the counts add up, the kernel is the first chunk's."""
        first = parts[0]
        return replace(
            first,
            retracked=sum(p.retracked for p in parts),
            retrack_rounds=sum(p.retrack_rounds for p in parts),
            duplicate_nonsingular_paths=sum(p.duplicate_nonsingular_paths for p in parts),
            at_infinity_after_stalling=sum(p.at_infinity_after_stalling for p in parts),
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "retracked": self.retracked,
            "retrack_rounds": self.retrack_rounds,
            "kernel": self.kernel,
            "duplicate_nonsingular_paths": self.duplicate_nonsingular_paths,
            "at_infinity_after_stalling": self.at_infinity_after_stalling,
        }
        optional = (
            "chunks",
            "added_by_symmetry",
            "start_solutions",
            "threads",
            "sampled_paths",
            "tracked_paths",
            "generic_count_proven",
        )
        out.update({name: getattr(self, name) for name in optional if getattr(self, name) is not None})
        return out


PATTERN_COMPLETENESS = {
    "trace_test": "the trace test passed: every solution of the pattern's component was found",
    "exact": "the origin: one solution for every parameter value",
    "singular_seed": "a singular seed: no isolated solutions for generic data",
    "trusted_count": "the total reached the trusted count",
    "heuristic": "stopped without news for several rounds (or at the loop limit): a heuristic",
    "none": "stopped before its loops ended (a time limit or a signal): nothing to rest on",
}


@dataclass(frozen=True)
class PatternStats:
    """One neuron pattern's monodromy run, and how its stop is justified."""

    active_coordinates: int
    solutions: int  # at the base point
    orbits: int  # sign-flip orbits among them (representatives tracked)
    loops: int
    stopped: str  # why the loops stopped
    history: tuple[int, ...]  # solutions known after each round
    completeness: str = ""  # a key of PATTERN_COMPLETENESS ("" before the pattern stopped)
    trace_deviation: float | None = None  # the last trace test's relative deviation from linearity
    trace_tolerance: float | None = None  # … and the tolerance it was held to (None: never run)
    trace_rounding: float | None = None  # … and the relative rounding its points' accuracies allow
    witnesses: int | None = None  # the trace test's witness points found (all images counted)
    witness_loops: int | None = None  # loops that grew the witnesses
    trace_extended: int | None = None  # fibre points the last trace test refined in extended precision
    base_moves: int = 0  # fresh base points the pattern moved to after a failed trace (loops: at the last)

    @property
    def proven(self) -> bool:
        """Whether the pattern's count rests on more than the heuristic."""
        return self.completeness in ("trace_test", "exact", "singular_seed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "active_coordinates": self.active_coordinates,
            "solutions": self.solutions,
            "orbits": self.orbits,
            "loops": self.loops,
            "stopped": self.stopped,
            "history": list(self.history),
            "completeness": self.completeness,
            "trace_deviation": self.trace_deviation,
            "trace_tolerance": self.trace_tolerance,
            "trace_rounding": self.trace_rounding,
            "witnesses": self.witnesses,
            "witness_loops": self.witness_loops,
            "trace_extended": self.trace_extended,
            "base_moves": self.base_moves,
        }


@dataclass(frozen=True)
class FinalPassStats:
    """One pass of the final parameter homotopy to the target(s) (engines/native/targets.py)."""

    kind: str  # "direct", "retrack" (same arcs, tighter steps) or "detour" (a new route)
    paths: int  # paths tracked in this pass
    refined: int  # endpoints confirmed only by Newton in extended precision
    found: int  # orbits this pass found that no earlier pass had
    missing: int  # orbits still missing after it (over all targets and patterns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "paths": self.paths,
            "refined": self.refined,
            "found": self.found,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class MonodromyStats:
    """The monodromy solve: loops at the base points, then the final parameter homotopy to the
    target (summary.json's `backend.monodromy`)."""

    patterns: int
    base_solutions: int  # solutions at the base points, over all patterns
    trusted_count: int | None  # stop once the total reaches this (solver.trusted_count)
    reached_trusted_count: bool
    stopped: tuple[str, ...]  # the distinct reasons the patterns stopped, sorted
    loops: int
    loop_arcs_tracked: int
    loop_arcs_failed: int
    final_paths: int
    final_paths_lost_first_pass: int
    final_retracked: int
    final_detoured: int
    final_failed: int
    path_steps: int  # predictor–corrector steps over all paths (the trace test's too): the unit of work
    tracker_calls: int
    loop_seconds: float
    seconds: float
    per_pattern: tuple[PatternStats, ...]
    trusted_count_source: str | None = None  # "config", or msolve's degree and primes
    final_refined: int = 0  # endpoints confirmed only in extended precision
    final_passes: tuple[FinalPassStats, ...] = ()
    path_steps_per_second: float | None = None  # path_steps over the solve's seconds
    stopped_early: str | None = None  # a time limit or a signal ended the solve: a partial result
    carried_to_target: bool = True  # False: stopped before the base solutions reached the target
    resumed_at_round: int | None = None  # continued from a checkpoint written after this round
    checkpoint: str | None = None  # the checkpoint file this solve wrote last
    trace_test: bool = False  # whether patterns were to stop by the trace test
    trace_path_steps: int = 0  # the trace test's share of path_steps (witness loops, trace arcs)
    trace_arcs_tracked: int = 0
    trace_evaluations: int = 0
    # orbits the final homotopy found beyond a base point's set, carried back to it and added
    # before the trace test was read again (monodromy.MonodromySolver.take_back)
    taken_back: int = 0
    # the earlier run whose proven set this one started from (engines/native/proven.py: its
    # solver seed, date, version, path steps, file) — no loops ran here; None: solved here
    reused: dict[str, Any] | None = None
    kept: str | None = None  # the file this run's proven set was kept in for later runs

    def as_dict(self) -> dict[str, Any]:
        return {
            "patterns": self.patterns,
            "base_solutions": self.base_solutions,
            "trusted_count": self.trusted_count,
            "reached_trusted_count": self.reached_trusted_count,
            "stopped": list(self.stopped),
            "loops": self.loops,
            "loop_arcs_tracked": self.loop_arcs_tracked,
            "loop_arcs_failed": self.loop_arcs_failed,
            "final_paths": self.final_paths,
            "final_paths_lost_first_pass": self.final_paths_lost_first_pass,
            "final_retracked": self.final_retracked,
            "final_detoured": self.final_detoured,
            "final_failed": self.final_failed,
            "path_steps": self.path_steps,
            "tracker_calls": self.tracker_calls,
            "loop_seconds": self.loop_seconds,
            "seconds": self.seconds,
            "per_pattern": [p.as_dict() for p in self.per_pattern],
            "trusted_count_source": self.trusted_count_source,
            "final_refined": self.final_refined,
            "final_passes": [p.as_dict() for p in self.final_passes],
            "path_steps_per_second": self.path_steps_per_second,
            "stopped_early": self.stopped_early,
            "carried_to_target": self.carried_to_target,
            "resumed_at_round": self.resumed_at_round,
            "checkpoint": self.checkpoint,
            "trace_test": self.trace_test,
            "trace_path_steps": self.trace_path_steps,
            "trace_arcs_tracked": self.trace_arcs_tracked,
            "trace_evaluations": self.trace_evaluations,
            "taken_back": self.taken_back,
            "reused": self.reused,
            "kept": self.kept,
        }


@dataclass(frozen=True)
class MonodromySolveStats:
    """A native monodromy solve of one target: the monodromy record, the kernel threads, how
    many of the target's points were added as sign-flip images, and the Dask executor's record
    when the paths ran on a cluster."""

    monodromy: MonodromyStats
    threads: int
    added_by_symmetry: int
    executor: dict[str, Any] | None = None  # solver.executor dask: what the cluster did (executors.DaskStats)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "monodromy": self.monodromy.as_dict(),
            "threads": self.threads,
            "added_by_symmetry": self.added_by_symmetry,
        }
        if self.executor is not None:
            out["executor"] = self.executor
        return out


@dataclass(frozen=True)
class MsolveStats:
    """The exact engine: msolve's degree over prime fields and its real isolation."""

    degree: int  # the complex count (with multiplicity), agreed on by `primes`
    real_boxes: int
    primes: tuple[int, ...]
    degrees: tuple[int, ...]  # the degree modulo each prime
    msolve: str  # the binary's path
    msolve_source: str  # where it was found
    version: str
    seconds_degree: float
    seconds_real: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "degree": self.degree,
            "real_boxes": self.real_boxes,
            "prime": self.primes[0],
            "primes": list(self.primes),
            "degrees": list(self.degrees),
            "complex_count": self.degree,
            "non_real_computed": False,
            "msolve": self.msolve,
            "msolve_source": self.msolve_source,
            "version": self.version,
            "seconds_degree": self.seconds_degree,
            "seconds_real": self.seconds_real,
        }


@dataclass(frozen=True)
class JuliaStats:
    """HomotopyContinuation.jl: versions, the generic solve it moved from, the origin check
    (HC.jl #647) and HC.jl's own return codes."""

    julia_version: str
    hc_version: str
    threads_requested: int
    threads_julia: int
    system: str  # "structured" or "sparse"
    method: str
    generic: Mapping[str, Any] | None  # the Julia module's account of the generic solve
    generic_cached: bool | None
    origin: Mapping[str, Any]  # ensure_origin's finding: found, added, or not a critical point
    julia_seconds: float
    startup_seconds: float
    instances_in_call: int
    return_codes: Mapping[str, int]
    real: int
    max_multiplicity: int
    certified: int | None = None
    certified_real: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": "HomotopyContinuation.jl",
            "versions": {"julia": self.julia_version, "HomotopyContinuation": self.hc_version},
            "threads": {"requested": self.threads_requested, "julia": self.threads_julia},
            "system": self.system,
            "method": self.method,
            "generic": self.generic,
            "generic_cached": self.generic_cached,
            "origin": dict(self.origin),
            "julia_seconds": self.julia_seconds,
            "startup_seconds": self.startup_seconds,
            "instances_in_call": self.instances_in_call,
            "return_codes": dict(self.return_codes),
            "real": self.real,
            "max_multiplicity": self.max_multiplicity,
        }
        if self.certified is not None:
            out["certified"] = self.certified
            out["certified_real"] = self.certified_real
        return out

    def monodromy_runs(self) -> list[Mapping[str, Any]]:
        """The generic monodromy solve's runs, one per neuron pattern, as julia/DLNLandscape.jl's
        `monodromy_generic` reports them (trace_test: passed, failed, not_computed, not_run);
        empty for the other starts."""
        return list((self.generic or {}).get("monodromy_runs") or [])

    @property
    def trusted_count(self) -> int | None:
        value = (self.generic or {}).get("trusted_count")
        return None if value is None else int(value)


__all__ = [
    "EngineStats",
    "FinalPassStats",
    "JuliaStats",
    "MonodromySolveStats",
    "MonodromyStats",
    "MsolveStats",
    "PATTERN_COMPLETENESS",
    "PatternStats",
    "TrackingStats",
]
