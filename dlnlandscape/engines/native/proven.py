"""Proven solution sets, kept: an architecture solved once is every later solve's start.

Why.  The generic critical points of one *family* — an architecture, its loss and sample
count, with the data and penalties free — are one set, whatever data a config draws.  A
monodromy solve grows that set at a random base point and proves it complete there (the trace
test, trace_test.py); only the final parameter homotopy to the real data (targets.py) depends
on the config.  A shell loop over data seeds, the tool's everyday use, paid the proof on every
run: (2,2,2,2) m = 2 takes 70–240 s to prove and 3 s in all when it starts from a kept proof, the
quickstart 4.0 s against 0.8 s (benchmarks/results-reuse.md, results-first-run-install*.md).
Kept, the proof is paid once per family and machine (`data.instances` does the same within one
run).

What is kept.  Only a set each of whose neuron patterns stopped on a proof (PatternStats.proven:
the trace test, the origin, a seed without isolated solutions): per pattern its base point,
its orbit representatives and the statistics it was proven with (trace deviation, tolerance,
witnesses, loops), and where the proof came from (solver seed, date, the tool's version, its
path steps).  A heuristic stop, a trusted count, a stop request, orbits at the target beyond
the base set that could not be proven in: nothing is kept.

Why a reused count is as sound as a fresh one.  A fresh solve proves its set complete at its
base point and then carries it to the target; a reused solve does the second half with the same
code from a base point proven the same way, in another process.  The summary says which
(`completeness.reused`).  Should the target show orbits beyond the kept set — the proof
contradicted — those patterns fall back to `heuristic`, the run says so, and the entry is
removed.

The key.  A hash of what fixes the family: the gradient family's terms and parameter map (a
change in how the tool builds the system is a new family), widths, residual layers, data scale,
sample count, loss kind, and for a loss other than the square one the real X (that family keeps
X, family.py) — and FORMAT.  Not the data, the penalties or the seed.

Where.  `<cache root>/proven/<key>.npz` (common/caches.py): arrays without pickles and the
record as JSON (records.py), written through a temporary file and a rename; an
unreadable file is ignored (and replaced by the next proof), a file the tool did not write is
never touched.  `solver.reuse: false`, `dln solve --fresh` or the environment's DLN_REUSE=0
solve from scratch and keep nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...common.atomic import OutputPathError, result_file
from ...common.caches import proven_cache_dir
from ...common.precompiled import PROVEN_DIR, SHIPPED
from ...model.problem import Problem
from ...version import __version__
from ..stats import PatternStats
from .family import DataPoint, Family
from .records import pack_record, unpack_record

FORMAT = 1
SIGNATURE = "dlnlandscape-proven-set"  # in the manifest: how the tool knows a file of its own
# `dln check` answers at once at any size: it looks for a kept set only where building the family
# is instant (monodromy's reach ends well below: (3,3,3) has 18 unknowns)
MAX_CHECKED_UNKNOWNS = 64


@dataclass(frozen=True)
class ProvenPattern:
    """One neuron pattern of a proven set: where it was proven and what it holds."""

    active: np.ndarray  # coordinate mask
    base: DataPoint
    representatives: np.ndarray  # one per sign-flip orbit
    stats: PatternStats  # as proven (trace deviation, witnesses, loops …)


@dataclass(frozen=True)
class ProvenSet:
    """A family's complete generic solution set and the record of its proof."""

    patterns: list[ProvenPattern]
    origin: dict[str, Any]  # solver_seed, written, version, path_steps, loop_seconds (and file, once read)


def family_key(family: Family) -> str:
    """The hash that names a family's entry (module docstring, "The key")."""
    problem, system = family.problem, family.system
    digest = hashlib.sha256()
    shape = (FORMAT, problem.widths, problem.residual, float(problem.scale), problem.regularization)
    digest.update(repr((shape, problem.data_loss.kind, problem.X.shape, problem.Y.shape, system.operator)).encode())
    for array in (system.exponents, system.equation, system.coefficient_map):
        digest.update(np.ascontiguousarray(array).tobytes())
    if family.operator == "K":  # that family keeps the real X
        digest.update(np.ascontiguousarray(problem.X, dtype=float).tobytes())
    return digest.hexdigest()[:32]


class ProvenStore:
    """The kept proof of one family, in one file of the user cache (module docstring)."""

    def __init__(self, family: Family, directory: Path | None = None, shipped: Path | None = SHIPPED) -> None:
        self.key = family_key(family)
        self.directory = Path(directory) if directory is not None else proven_cache_dir()
        # a wheel built by `pip install .` ships the quickstart's proof (doctor.warm_up): read after the user's
        self.shipped = None if shipped is None else shipped / PROVEN_DIR / f"{self.key}.npz"

    @property
    def path(self) -> Path:
        return self.directory / f"{self.key}.npz"

    def load(self) -> ProvenSet | None:
        """The kept set — the user's, else the one the wheel shipped — or None (none, or one that
        cannot be read or is not this family's)."""
        for path in (self.path, self.shipped):
            if path is not None and path.is_file():
                return self._read(path)
        return None

    def _read(self, path: Path) -> ProvenSet | None:
        classes = {"ProvenPattern": ProvenPattern, "PatternStats": PatternStats, "DataPoint": DataPoint}
        try:
            manifest, record = unpack_record(path, classes)
            if manifest.get("signature") != SIGNATURE or manifest.get("key") != self.key:
                return None
            patterns = [p for p in record["patterns"] if isinstance(p, ProvenPattern)]
            if len(patterns) != len(record["patterns"]) or not all(p.stats.proven for p in patterns):
                return None
            return ProvenSet(patterns, {**record["origin"], "file": str(path)})
        except Exception:  # a damaged or foreign file only costs the proof again
            return None

    def save(self, patterns: list[ProvenPattern], origin: dict[str, Any]) -> Path | None:
        """Keep a proven set (every pattern proven, else nothing); the file, or None when the
        cache cannot be written (a read-only cache only costs the proof next time)."""
        if not patterns or not all(p.stats.proven for p in patterns):
            return None
        stamp = {"written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "version": __version__}
        record = {"patterns": patterns, "origin": {**origin, **stamp}}
        data = pack_record({"signature": SIGNATURE, "key": self.key, "format": FORMAT}, record)
        with contextlib.suppress(OSError, OutputPathError):
            with result_file(self.path, recognise=is_proven_file) as tmp:
                tmp.write_bytes(data)
            return self.path
        return None

    def drop(self) -> None:
        """Remove the user's entry (its proof was contradicted at a target); only ever the tool's
        file, and never the installed package's (a contradicted shipped proof is said so on
        every run that starts from it; `--fresh` avoids it)."""
        if is_proven_file(self.path):
            with contextlib.suppress(OSError):
                self.path.unlink()


def kept_origin(problem: Problem) -> dict[str, Any] | None:
    """Where the proven set a solve of `problem` would start from came from (the proving run's
    solver seed, date, version, path steps, file, and the count it holds), or None — for
    `dln check`, without the Newton check a solve makes (proven.py's docstring); the caller keeps
    to MAX_CHECKED_UNKNOWNS."""
    if problem.regularization != "generalized":
        return None
    kept = ProvenStore(Family(problem)).load()
    if kept is None:
        return None
    return {**kept.origin, "solutions": int(sum(p.stats.solutions for p in kept.patterns))}


def is_proven_file(path: Path) -> bool:
    """Whether `path` is a proven-set file the tool wrote (its manifest carries SIGNATURE)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["manifest"])).get("signature") == SIGNATURE
    except Exception:
        return False


def refuted(stats: PatternStats, extra_orbits: int) -> PatternStats:
    """A kept pattern's statistics once the target showed orbits beyond it: the proof does not
    hold, so the pattern's count rests on nothing better than the heuristic."""
    note = (
        f"; the target showed {extra_orbits} orbit(s) beyond this set kept as proven in an earlier run: "
        "that proof is contradicted (the entry is removed; solve with --fresh)"
    )
    return replace(stats, completeness="heuristic", stopped=stats.stopped + note)


__all__ = [
    "FORMAT",
    "ProvenPattern",
    "ProvenSet",
    "ProvenStore",
    "family_key",
    "is_proven_file",
    "kept_origin",
    "refuted",
]
