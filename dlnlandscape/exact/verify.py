"""Compare a numerical solve with msolve: the degree over a prime field and the certified real
solutions over Q.

A homotopy solve can lose paths without noticing; the exact answer cannot.  The comparison is
reported, never assumed: a timeout, a crash or a positive-dimensional ideal gives `agrees=None`
with a status saying why, so "no answer" is never read as "agreement".
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common.points import real_mask
from ..model.sparse import SparseSystem
from .msolve import (
    DEFAULT_TIMEOUT,
    IdealStatus,
    MsolveError,
    MsolveResult,
    MsolveTimeoutError,
    PositiveDimensionalError,
    degree_mod_p,
    find_msolve,
    msolve_version,
    random_prime,
    real_solutions,
)

METHODS = ("degree", "real")


class VerificationStatus(str, enum.Enum):
    """The outcome of a cross-check; only AGREES and MISMATCH are verdicts."""

    AGREES = "agrees"
    MISMATCH = "mismatch"
    TIMEOUT = "timeout"
    ERROR = "error"
    POSITIVE_DIMENSIONAL = "positive_dimensional"


@dataclass(frozen=True)
class Verification:
    """msolve's answer beside the numerical one: a status, a one-line message, and the details
    (degree and primes, certified real boxes, unmatched points and boxes) as summary.json's
    `verification` block."""

    status: VerificationStatus
    message: str
    details: dict[str, Any]

    @property
    def agrees(self) -> bool | None:
        """True or False when msolve gave a verdict; None when it could not (timeout, error, …)."""
        if self.status in (VerificationStatus.AGREES, VerificationStatus.MISMATCH):
            return self.status is VerificationStatus.AGREES
        return None

    def as_dict(self) -> dict[str, Any]:
        return {**self.details, "agrees": self.agrees, "status": self.status.value, "message": self.message}

    @classmethod
    def failed(cls, method: str, message: str) -> Verification:
        """No verdict: msolve could not be run or read (the numerical results stand alone)."""
        return cls(VerificationStatus.ERROR, message, {"method": method})
MATCH_TOLERANCE = 1e-6  # relative ∞-distance from a numerical point to a certified box
MAX_LISTED = 50  # unmatched items listed in the report (the counts are always complete)


def consensus_degree(
    system: SparseSystem,
    *,
    seed: int,
    deadline: float,
    threads: int = 1,
    expected: int | None = None,
    min_primes: int = 1,
    max_primes: int = 3,
    binary: str | Path | None = None,
) -> tuple[int, list[int], list[int], float]:
    """Degree over random primes until it is settled: (degree, primes, degrees, seconds).

    One prime can be unlucky, so a degree is accepted when two primes agree, or when the
    first one equals `expected` (an unlucky prime landing exactly on the numerical count is
    not a realistic failure).  Raises `PositiveDimensionalError` for a positive-dimensional
    ideal and
    `MsolveError` when three primes give no majority.
    """
    primes: list[int] = []
    degrees: list[int] = []
    seconds = 0.0
    while len(primes) < max_primes:
        p = random_prime(seed, system=system, avoid=primes)
        result = degree_mod_p(system, prime=p, timeout=_remaining(deadline), threads=threads, binary=binary)
        seconds += result.seconds
        if result.status is IdealStatus.POSITIVE_DIMENSIONAL:
            raise PositiveDimensionalError(f"msolve: the ideal is positive-dimensional over F_{p}")
        primes.append(p)
        degrees.append(int(result.degree or 0))
        if len(primes) < min_primes:
            continue
        if len(primes) == 1 and (expected is None or degrees[0] == expected) and min_primes <= 1:
            return degrees[0], primes, degrees, seconds
        values, counts = np.unique(degrees, return_counts=True)
        if counts.max() >= 2:
            return int(values[np.argmax(counts)]), primes, degrees, seconds
    raise MsolveError(f"msolve gave different degrees {degrees} over primes {primes}; no majority")


def _remaining(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise MsolveTimeoutError("msolve's time budget ran out before the next run (raise the timeout)")
    return left


def box_distances(points: np.ndarray, lower: np.ndarray, upper: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(points, boxes) relative ∞-distance from each point to each box (0 inside the box).

    Per coordinate the gap outside [lo, hi] is divided by max(1, |x|), so large and small
    coordinates are judged on the same footing as the numerical solver's own accuracy.
    """
    points = np.asarray(points, dtype=float).reshape(-1, lower.shape[1] if lower.ndim == 2 else 0)
    out = np.empty((points.shape[0], lower.shape[0]), dtype=float)
    for start in range(0, points.shape[0], chunk):
        x = points[start : start + chunk, None, :]
        gap = np.maximum(np.maximum(lower[None] - x, x - upper[None]), 0.0)
        out[start : start + chunk] = (gap / np.maximum(1.0, np.abs(x))).max(axis=2, initial=0.0)
    return out


def match_points_to_boxes(
    points: np.ndarray, lower: np.ndarray, upper: np.ndarray, tolerance: float = MATCH_TOLERANCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matching of numerical real points to certified boxes.

    A pair matches when each is the other's nearest and their distance is within tolerance
    (mutual nearest neighbours: two close solutions cannot both claim one box).  Returns
    (pairs (k, 2) of point and box indices, unmatched point indices, unmatched box indices).
    """
    k, m = points.shape[0], lower.shape[0]
    if k == 0 or m == 0:
        return np.empty((0, 2), dtype=np.int64), np.arange(k), np.arange(m)
    D = box_distances(points, lower, upper)
    nearest_box = D.argmin(axis=1)
    nearest_point = D.argmin(axis=0)
    rows = np.arange(k)
    ok = (nearest_point[nearest_box] == rows) & (D[rows, nearest_box] <= tolerance)
    pairs = np.stack([rows[ok], nearest_box[ok]], axis=1)
    unmatched_points = rows[~ok]
    box_used = np.zeros(m, dtype=bool)
    box_used[pairs[:, 1]] = True
    return pairs, unmatched_points, np.flatnonzero(~box_used)


def verify(
    system: SparseSystem,
    solutions: np.ndarray,
    multiplicities: np.ndarray | None = None,
    is_real: np.ndarray | None = None,
    method: str = "degree",
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = 0,
    *,
    threads: int = 1,
    tolerance: float = MATCH_TOLERANCE,
    second_prime: bool = True,
) -> Verification:
    """Cross-check a numerical result with msolve.

    `solutions` are the distinct finite critical points (k, n) (complex), `multiplicities`
    their multiplicities (1 for nonsingular; default all 1), `is_real` which of them are real.
    - "degree": msolve's degree over a random prime (a second prime when the first disagrees)
      against the sum of multiplicities.
    - "real": additionally, msolve's certified real boxes over Q against the real points, one
      to one; unmatched points and boxes are listed.
    `timeout` caps msolve's total time.  Raises `BackendUnavailable` when msolve is missing
    (the CLI's exit 3); every other failure is reported in the block with `agrees=None`.
    """
    if method not in METHODS:
        raise ValueError(f"verification method {method!r}; choose one of {', '.join(METHODS)}")
    location = find_msolve()
    solutions = np.asarray(solutions, dtype=complex).reshape(-1, system.n)
    k = solutions.shape[0]
    multiplicities = (
        np.ones(k, dtype=np.int64) if multiplicities is None else np.asarray(multiplicities, dtype=np.int64)
    )
    if is_real is None:
        is_real = real_mask(solutions)
    is_real = np.asarray(is_real, dtype=bool)
    if multiplicities.shape != (k,) or is_real.shape != (k,):
        raise ValueError("multiplicities and is_real must have one entry per solution")
    count = int(multiplicities.sum())
    real_index = np.flatnonzero(is_real)
    start = time.perf_counter()
    deadline = start + float(timeout)
    report: dict[str, Any] = {
        "method": method,
        "msolve": str(location.path),
        "version": msolve_version(location.path),
        "primes": [],
        "degrees": [],
        "degree": None,
        "real": None,
        "numerical_count": count,
        "numerical_real": int(real_index.size),
        "degree_agrees": None,
        "real_agrees": None,
        "seconds": 0.0,
        "timeout": float(timeout),
        "agrees": None,
        "status": "error",
        "message": "",
        "unmatched_numerical": [],
        "unmatched_exact": [],
    }
    try:
        degree, primes, degrees, sec = consensus_degree(
            system,
            seed=seed,
            deadline=deadline,
            threads=threads,
            expected=count,
            max_primes=3 if second_prime else 1,
            binary=location.path,
        )
        report.update(primes=primes, degrees=degrees, degree=degree, seconds_degree=round(sec, 3))
        report["degree_agrees"] = degree == count
        if method == "real":
            exact = real_solutions(system, timeout=_remaining(deadline), threads=threads, binary=location.path)
            if exact.status is IdealStatus.POSITIVE_DIMENSIONAL:
                raise PositiveDimensionalError("msolve: the ideal is positive-dimensional over Q")
            report["seconds_real"] = round(exact.seconds, 3)
            _compare_real(report, solutions, real_index, exact, tolerance)
    except PositiveDimensionalError as exc:
        status, message = (
            VerificationStatus.POSITIVE_DIMENSIONAL,
            f"{exc}: the critical points are not isolated, so they are not counted "
            "(use regularization kind generalized)",
        )
    except MsolveTimeoutError as exc:
        status, message = VerificationStatus.TIMEOUT, f"{exc}; no verdict"
    except MsolveError as exc:
        status, message = VerificationStatus.ERROR, f"{exc}; no verdict"
    else:
        agrees = bool(report["degree_agrees"]) and report["real_agrees"] is not False
        status = VerificationStatus.AGREES if agrees else VerificationStatus.MISMATCH
        message = _message(report)
    report["seconds"] = round(time.perf_counter() - start, 3)
    return Verification(status, message, report)


def _compare_real(
    report: dict[str, Any],
    solutions: np.ndarray,
    real_index: np.ndarray,
    exact: MsolveResult,
    tolerance: float,
) -> None:
    points = solutions[real_index].real
    lower, upper = exact.bounds()
    pairs, lost_points, lost_boxes = match_points_to_boxes(points, lower, upper, tolerance)
    report["real"] = int(lower.shape[0])
    report["real_agrees"] = bool(lost_points.size == 0 and lost_boxes.size == 0)
    report["matched"] = int(pairs.shape[0])
    report["match_tolerance"] = tolerance
    D = box_distances(points, lower, upper) if points.size and lower.size else None
    mids = exact.midpoints()
    report["unmatched_numerical"] = [
        {
            "index": int(real_index[i]),
            "point": points[i].tolist(),
            "distance_to_nearest_box": None if D is None else float(D[i].min()),
        }
        for i in lost_points[:MAX_LISTED]
    ]
    report["unmatched_exact"] = [
        {
            "box": int(j),
            "midpoint": mids[j].tolist(),
            "lower": lower[j].tolist(),
            "upper": upper[j].tolist(),
            "distance_to_nearest_point": None if D is None else float(D[:, j].min()),
        }
        for j in lost_boxes[:MAX_LISTED]
    ]
    report["n_unmatched_numerical"] = int(lost_points.size)
    report["n_unmatched_exact"] = int(lost_boxes.size)


def _message(report: dict[str, Any]) -> str:
    primes = ", ".join(str(p) for p in report["primes"])
    deg, count = report["degree"], report["numerical_count"]
    relation = "=" if report["degree_agrees"] else "≠"
    parts = [f"msolve degree {deg} (prime {primes}) {relation} {count} numerical (with multiplicity)"]
    if deg == 0 and count:
        parts.append("msolve found no solution at all, which suggests the input was misread")
    if report["real_agrees"] is not None:
        if report["real_agrees"]:
            parts.append(f"all {report['real']} certified real solutions matched one to one")
        else:
            parts.append(
                f"real: {report['numerical_real']} numerical vs {report['real']} certified, "
                f"{report['n_unmatched_numerical']} numerical points and "
                f"{report['n_unmatched_exact']} msolve boxes unmatched"
            )
    return "; ".join(parts)
