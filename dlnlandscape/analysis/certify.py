"""Rigorous certification of critical points: Krawczyk's test in ball arithmetic on the exact system.

A path endpoint is a floating-point approximation; "critical point" is a claim about the exact
system.  This module turns the claim into a proof for each nonsingular point x̃:

*Krawczyk's test* (Krawczyk 1969; uniqueness: Moore 1977, Rump 1983; in complex boxes as in
Breiding, Rose, Timme, "Certifying zeros of polynomial systems using interval arithmetic", ACM
TOMS 2023 — HomotopyContinuation.jl's `certify`).  For a box X = c + r·([−1,1] + i[−1,1])ⁿ and
any matrix Y (floating point is fine: it is used exactly as stored),

    K(X) = c − Y F(c) + (I − Y J(X)) (X − c).

If K(X) lies in the interior of X, then X contains exactly one zero of F, and that zero lies in
K(X).  F(c) and J(X) are evaluated in ball arithmetic (python-flint's `acb`, FLINT's arb), so
every rounding error is inside the balls and the conclusion is a theorem, not an estimate.  We
use Krawczyk rather than α-theory because it needs no bound on higher derivatives, and rather
than interval Newton because it needs no interval linear solve.

What is certified is the *exact* system — `Problem.exact_system()`, whose
rational coefficients enter as balls containing them — never the floating-point one the engine
tracked.  The steps, batched over points where FLINT allows (it has no batched API, so the
per-point work is a short loop over flint objects):

1. Y = J(x̃)⁻¹ in NumPy, for all points at once.
2. The centre c is x̃ refined by two simplified Newton steps c ← mid(c − Y F(c)) at 128 bits,
   so tiny boxes work even for ill-conditioned points.
3. Radius: first r = 2⁻³³·max(1, ‖x̃‖∞) (a relative 1e-10, far above the refined centre's error);
   on failure shrink by 10⁴ (at most three times, never below four Newton steps at c); after a
   success grow by 10³ (at most twice) and keep the largest box that passes — the bigger the box,
   the stronger "no other critical point nearby".  Monomials of J are built once per box with
   one multiplication each and combined by one `acb_mat` product for all pending points.
4. Accuracy: the zero lies in K(X), so its distance from the *reported* x̃ is bounded rigorously;
   a point counts as certified only if that distance is ≤ `tolerance`·max(1, ‖x̃‖∞) (a point
   moved by 1e-2 is not "a critical point", even if a zero is near).
5. Real: if c is real, X is closed under conjugation; F has real coefficients, so the conjugate
   of the unique zero in X is a zero in X, hence the zero itself: it is real.  If K(X) misses the
   real axis in some coordinate, the zero is provably non-real.
6. Distinct: the zero of point a lies within `accuracy[a]` of x̃_a (max-norm on real and
   imaginary parts).  Two such boxes that are disjoint (with a safe margin) prove two different
   zeros; overlapping pairs are listed, and their points are not counted as distinct.

Singular points (Jacobian singular at the zero) can never pass Krawczyk; they are skipped.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..model.options import CertifyMode
from ..model.problem import Problem
from ..model.sparse import SparseSystem
from .points import CriticalPoints

PRECISION = 128  # bits of the balls; Python overhead, not precision, dominates the cost
ACCURACY_TOL = 1e-8  # relative distance from the reported point to the proven zero
START_RADIUS = 2.0**-33  # relative
SHRINK, SHRINK_TRIES = 1e-4, 3
GROW, GROW_TRIES = 1e3, 2
MAX_RADIUS = 1e-2  # relative: never grow beyond
REFINE_STEPS = 2
# solver.certify: auto certifies when points × unknowns² is at most this.  Measured 25–50 µs per unit
# ((2,2,2) m=3: 225 × 8² in 0.5 s; (1,2,2,1) m=1: 129 × 8² in 0.4 s; (1,3,3) m=1: 245 × 12² in 0.9 s),
# so the limit costs at most ~10 s — small beside the solves that produce that many points.
AUTO_COST_LIMIT = 200_000
METHOD = "Krawczyk, python-flint acb, exact rational system"
_SAFE = 1.0 + 2.0**-40  # widens float bounds read back from balls (round-to-nearest)


@dataclass(frozen=True)
class Certification:
    """Per-point proofs (arrays over the points given) and the pairwise distinctness check."""

    certified: np.ndarray  # (k,) bool: a unique exact zero within `radius` of the point, at most `accuracy` away
    certified_real: np.ndarray  # (k,) bool: certified, and that zero is real
    certified_nonreal: np.ndarray  # (k,) bool: certified, and that zero is not real
    radius: np.ndarray  # (k,) the max-norm box of this radius around the point holds exactly one zero (0: none)
    accuracy: np.ndarray  # (k,) that zero is within this of the point, on Re and Im parts (inf: none)
    status: np.ndarray  # (k,) object: certified | singular (skipped) | Krawczyk failed | inaccurate | not finite
    overlapping_pairs: np.ndarray  # (p, 2) int: certified points whose zero-enclosures overlap
    distinct: bool  # no overlapping pair: the certified points are pairwise different zeros
    seconds: float
    method: str = METHOD

    @property
    def distinct_certified(self) -> np.ndarray:
        """Certified points that are proven different from every other certified point."""
        mask = self.certified.copy()
        mask[self.overlapping_pairs.ravel()] = False
        return mask

    def summary(self) -> dict[str, Any]:
        """The `certification` block of summary.json (plain JSON types)."""
        ok = self.distinct_certified
        k = len(ok)
        return {
            "certified": int(ok.sum()),
            "certified_real": int((ok & self.certified_real).sum()),
            "certified_nonreal": int((ok & self.certified_nonreal).sum()),
            "uncertified": int(k - ok.sum()),
            "skipped_singular": int(np.sum(self.status == "singular (skipped)")),
            "failed": int(np.sum((self.status == "Krawczyk failed") | (self.status == "not finite"))),
            "inaccurate": int(np.sum(self.status == "inaccurate")),
            "overlapping_pairs": self.overlapping_pairs.tolist(),
            "distinct": bool(self.distinct),
            "max_accuracy": float(self.accuracy[ok].max()) if ok.any() else None,
            "min_radius": float(self.radius[ok].min()) if ok.any() else None,
            "seconds": round(self.seconds, 3),
            "method": self.method,
        }


def auto_certify(points: int, unknowns: int) -> bool:
    """Whether `solver.certify: auto` certifies: when points × unknowns² ≤ AUTO_COST_LIMIT."""
    return points * unknowns * unknowns <= AUTO_COST_LIMIT


class CertificationStatus(str, enum.Enum):
    """Whether `solver.certify` ran: DONE (see the counts), SKIPPED (auto, too costly) or ERROR
    (python-flint missing)."""

    DONE = "done"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class CertificationOutcome:
    """`solver.certify` for one solve, as a value: the status, why it did not run, and the
    per-point proofs when it did."""

    status: CertificationStatus
    reason: str = ""
    result: Certification | None = None

    @property
    def certified(self) -> np.ndarray | None:
        """Per point: a proven, distinct exact critical point (None when certification did not run)."""
        return None if self.result is None else self.result.distinct_certified

    def summary(self) -> dict[str, Any]:
        """The summary.json keys: the `certification` block and the two certified counts."""
        if self.result is None:
            block: dict[str, Any] = {"status": self.status.value, "reason": self.reason}
            return {"certification": block, "certified_solutions": None, "certified_real_solutions": None}
        block = {"status": self.status.value, **self.result.summary()}
        return {
            "certification": block,
            "certified_solutions": block["certified"],
            "certified_real_solutions": block["certified_real"],
        }


def certify_points(problem: Problem, mode: CertifyMode, points: CriticalPoints) -> CertificationOutcome | None:
    """`solver.certify` (`mode`: auto | True | False) for one solve: certify the nonsingular points
    on the exact system.  None when off; the points are not changed (the pipeline attaches the
    per-point flags to a copy)."""
    n = points.solutions.shape[1]
    candidates = int(np.sum(~points.singular))
    if mode is False:
        return None
    if mode == "auto" and not auto_certify(candidates, n):
        reason = f"auto: {candidates} points × {n}² unknowns > {AUTO_COST_LIMIT:,}; set solver.certify: true"
        return CertificationOutcome(CertificationStatus.SKIPPED, reason)
    try:
        result = certify(problem.exact_system(), points.solutions, points.is_real, skip=points.singular)
    except ImportError:  # keep the solve's results; say why there is no proof
        return CertificationOutcome(
            CertificationStatus.ERROR, "python-flint is not installed (pip install python-flint)"
        )
    return CertificationOutcome(CertificationStatus.DONE, result=result)


def certify(
    system: SparseSystem,
    solutions: np.ndarray,
    is_real: np.ndarray | None = None,
    *,
    skip: np.ndarray | None = None,
    tolerance: float = ACCURACY_TOL,
    precision: int = PRECISION,
) -> Certification:
    """Prove each point an approximate zero of `system` with a unique exact zero nearby.

    `is_real` marks points to certify as real (default: exactly zero imaginary part); their
    imaginary parts are dropped from the centre.  `skip` (e.g. the singular mask) is never tried.
    """
    began = time.perf_counter()
    n = system.n
    x = np.asarray(solutions, dtype=complex).reshape(-1, n)
    k = len(x)
    real = np.all(x.imag == 0, axis=1) if is_real is None else np.asarray(is_real, dtype=bool)
    centre = np.where(real[:, None], x.real + 0j, x)
    scale = np.maximum(1.0, np.abs(x).max(axis=1, initial=0.0))
    status = np.full(k, "Krawczyk failed", dtype=object)
    finite = np.all(np.isfinite(x), axis=1)
    status[~finite] = "not finite"
    skipped = np.zeros(k, dtype=bool) if skip is None else np.asarray(skip, dtype=bool)
    status[skipped & finite] = "singular (skipped)"
    todo = np.flatnonzero(finite & ~skipped)
    radius = np.zeros(k)
    accuracy = np.full(k, np.inf)
    nonreal = np.zeros(k, dtype=bool)
    if todo.size:
        tables = _Tables(system)
        J = tables.jacobian_float(centre[todo])
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(J)
        invertible = np.isfinite(cond) & (cond < 1e15)
        status[todo[~invertible]] = "singular (skipped)"
        todo = todo[invertible]
        Y = np.linalg.inv(J[invertible])
        Y = np.where(real[todo, None, None], Y.real + 0j, Y)  # real points: real Y keeps c real
        with _precision(precision):
            proof = _krawczyk(tables, centre[todo], x[todo], real[todo], Y, scale[todo])
        for j, i in enumerate(todo):
            proved, r, rho, nr = proof[j]
            if not proved:
                continue
            if rho <= tolerance * scale[i] and rho < r:
                status[i], radius[i], accuracy[i], nonreal[i] = "certified", r, rho, nr
            else:
                status[i] = "inaccurate"
    certified = status == "certified"
    pairs = overlapping_pairs(x, accuracy, certified)
    return Certification(
        certified=certified,
        certified_real=certified & real,
        certified_nonreal=certified & nonreal,
        radius=radius,
        accuracy=accuracy,
        status=status,
        overlapping_pairs=pairs,
        distinct=not len(pairs),
        seconds=time.perf_counter() - began,
        method=METHOD if system.exact else METHOD.replace("exact rational", "floating-point"),
    )


def overlapping_pairs(x: np.ndarray, accuracy: np.ndarray, mask: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Pairs (a < b) of masked points whose boxes ‖z − x̃‖ ≤ accuracy (Re, Im parts) may meet.

    Disjoint needs one coordinate part with |Δ| > ρ_a + ρ_b; both sides get a relative margin
    that covers the rounding of the NumPy subtraction and addition, so "disjoint" is safe.
    """
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    parts = np.concatenate([x[idx].real, x[idx].imag], axis=1)
    rho = accuracy[idx]
    rows = max(1, chunk // (idx.size * parts.shape[1]))
    found = []
    for start in range(0, idx.size, rows):
        block = parts[start : start + rows]
        gap = np.abs(block[:, None, :] - parts[None, :, :]).max(axis=2) * (1 - 2.0**-50)
        reach = (rho[start : start + rows, None] + rho[None, :]) * (1 + 2.0**-50) + 1e-300
        a, b = np.nonzero(gap <= reach)
        a = a + start
        keep = a < b
        found.append(np.stack([idx[a[keep]], idx[b[keep]]], axis=1))
    return np.concatenate(found).astype(np.int64)


@contextmanager
def _precision(bits: int) -> Iterator[None]:
    """flint's working precision is global: set it for the proof and restore it."""
    from flint import ctx

    old = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = old


class _Tables:
    """The system as coefficient matrices over distinct monomials, with a build order in which
    every monomial is one earlier monomial times one variable (one multiplication each)."""

    def __init__(self, system: SparseSystem) -> None:
        n = self.n = system.n
        f_terms: dict[tuple[int, tuple[int, ...]], Any] = {}
        j_terms: dict[tuple[int, tuple[int, ...]], Any] = {}
        for i, eq in enumerate(system.equations):
            for row, c in zip(eq.exponents.tolist(), eq.coefficients):
                f_terms[(i, tuple(row))] = c
                for v, e in enumerate(row):
                    if e:
                        d = list(row)
                        d[v] -= 1
                        key = (i * n + v, tuple(d))
                        j_terms[key] = j_terms.get(key, 0) + c * e
        self.f_monos, self.f_coef = _coefficient_matrix(f_terms, n)
        self.j_monos, self.j_coef = _coefficient_matrix(j_terms, n * n)
        self.f_plan = _plan(self.f_monos, n)
        self.j_plan = _plan(self.j_monos, n)
        self._flint: tuple[Any, Any] | None = None

    def jacobian_float(self, x: np.ndarray) -> np.ndarray:
        """(P, n, n) Jacobians at points, in floating point (the preconditioner only)."""
        monos = _evaluate_float(self.j_plan, x)
        coef = np.array([[complex(c) for c in row] for row in self.j_coef])
        return (monos @ coef.T).reshape(-1, self.n, self.n)

    def flint_coefficients(self) -> tuple[Any, Any]:
        """acb_mat of F's and J's coefficients (each rational as a ball containing it)."""
        if self._flint is None:
            from flint import acb_mat

            self._flint = tuple(
                acb_mat(len(m), len(m[0]), [_ball(c) for row in m for c in row]) for m in (self.f_coef, self.j_coef)
            )
        return self._flint

    def evaluate(self, which: str, points: list[list[Any]]) -> list[list[Any]]:
        """F (n per point) or J (n² per point, row-major) at ball points, all points at once."""
        from flint import acb_mat

        f_coef, j_coef = self.flint_coefficients()
        plan, coef = (self.f_plan, f_coef) if which == "F" else (self.j_plan, j_coef)
        parent, var, wanted = plan
        count = len(points)
        values = [[0] * count for _ in range(len(parent))]
        values[0] = [1] * count
        for s in range(1, len(parent)):
            prev, v = values[parent[s]], var[s]
            values[s] = [p * pt[v] for p, pt in zip(prev, points)]
        monos = acb_mat(len(wanted), count, [value for s in wanted for value in values[s]])
        flat = (coef * monos).entries()
        return [flat[p::count] for p in range(count)]


def _coefficient_matrix(terms: dict[tuple[int, tuple[int, ...]], Any], rows: int) -> tuple[np.ndarray, list]:
    """Distinct monomials (K, n) and a dense (rows, K) coefficient table (exact values kept)."""
    monos = sorted({key[1] for key in terms}, key=lambda e: (sum(e), e))
    column = {e: j for j, e in enumerate(monos)}
    table: list[list[Any]] = [[0] * len(monos) for _ in range(rows)]
    for (row, e), c in terms.items():
        table[row][column[e]] = c
    return np.array(monos, dtype=np.int64).reshape(len(monos), -1), table


def _plan(monos: np.ndarray, n: int) -> tuple[list[int], list[int], list[int]]:
    """Build order: step s multiplies step parent[s] by variable var[s]; wanted[j] is monomial j's step."""
    index = {(0,) * n: 0}
    parent, var = [-1], [-1]

    def step(e: tuple[int, ...]) -> int:
        if e in index:
            return index[e]
        v = next(i for i, a in enumerate(e) if a)
        p = step(e[:v] + (e[v] - 1,) + e[v + 1 :])
        index[e] = len(parent)
        parent.append(p)
        var.append(v)
        return index[e]

    wanted = [step(tuple(int(a) for a in e)) for e in monos]
    return parent, var, wanted


def _evaluate_float(plan: tuple[list[int], list[int], list[int]], x: np.ndarray) -> np.ndarray:
    """(P, K) monomial values at points, vectorised over points."""
    parent, var, wanted = plan
    values = np.ones((len(parent), x.shape[0]), dtype=complex)
    for s in range(1, len(parent)):
        values[s] = values[parent[s]] * x[:, var[s]]
    return values[wanted].T


def _ball(c: Any) -> Any:
    """An acb containing the coefficient exactly (Fractions become balls around p/q)."""
    from flint import acb, arb, fmpq

    if c == 0:
        return 0
    if isinstance(c, Fraction):
        return acb(arb(fmpq(c.numerator, c.denominator)))
    if isinstance(c, int):
        return acb(arb(c))
    return acb(complex(c))


def _krawczyk(
    tables: _Tables, centre: np.ndarray, reported: np.ndarray, real: np.ndarray, Y: np.ndarray, scale: np.ndarray
) -> list[tuple[bool, float, float, bool]]:
    """Per point: (Krawczyk passed, uniqueness radius around the reported point, accuracy bound, provably
    non-real).  The proof is about a box around the refined centre; both numbers refer to the reported point."""
    from flint import acb, acb_mat, arb

    P, n = centre.shape
    identity = acb_mat(n, n, [1 if i == j else 0 for i in range(n) for j in range(n)])
    Ys = [acb_mat(n, n, [acb(complex(v)) for v in y.ravel()]) for y in Y]
    c = [[acb(complex(v)) for v in row] for row in centre]
    for _ in range(REFINE_STEPS):
        F = tables.evaluate("F", c)
        for p in range(P):
            new = acb_mat(n, 1, c[p]) - Ys[p] * acb_mat(n, 1, F[p])
            c[p] = [acb(new[i, 0].real.mid()) if real[p] else new[i, 0].mid() for i in range(n)]
    F = tables.evaluate("F", c)
    head = [acb_mat(n, 1, c[p]) - Ys[p] * acb_mat(n, 1, F[p]) for p in range(P)]  # c − Y F(c)
    newton = np.array([max(_upper(head[p][i, 0] - c[p][i]) for i in range(n)) for p in range(P)])
    r = START_RADIUS * scale
    floor = np.maximum(4 * newton, 1e-300)
    best = np.zeros(P)
    first_K: list[Any] = [None] * P
    shrinks = np.zeros(P, dtype=int)
    grows = np.zeros(P, dtype=int)
    pending = list(range(P))
    while pending:
        boxes = []
        for p in pending:
            rad = arb(0, float(r[p]))
            boxes.append([c[p][i] + acb(rad, rad) for i in range(n)])
        Jx = tables.evaluate("J", boxes)
        still = []
        for jx, p in zip(Jx, pending):
            rad = arb(0, float(r[p]))
            delta = acb_mat(n, 1, [acb(rad, rad)] * n)
            K = head[p] + (identity - Ys[p] * acb_mat(n, n, jx)) * delta
            # K ⊂ int(c + δ), tested as K − c ⊂ int(δ): safe even if forming c + δ rounded
            inside = all(delta[i, 0].contains_interior(K[i, 0] - c[p][i]) for i in range(n))
            if inside:
                best[p] = r[p]
                if first_K[p] is None:
                    first_K[p] = [K[i, 0] for i in range(n)]
                if grows[p] < GROW_TRIES and r[p] * GROW <= MAX_RADIUS * scale[p]:
                    grows[p] += 1
                    r[p] *= GROW
                    still.append(p)
            elif not best[p] and shrinks[p] < SHRINK_TRIES and r[p] * SHRINK >= floor[p]:
                shrinks[p] += 1
                r[p] *= SHRINK
                still.append(p)
        pending = still
    out = []
    for p in range(P):
        if not best[p]:
            out.append((False, 0.0, np.inf, False))
            continue
        x = [acb(complex(v)) for v in reported[p]]
        accuracy = max(_upper(first_K[p][i] - x[i]) for i in range(n))
        offset = max(_upper(c[p][i] - x[i]) for i in range(n))
        nonreal = any(not first_K[p][i].imag.contains(0) for i in range(n))
        out.append((True, max(best[p] / _SAFE - offset, 0.0), accuracy, nonreal))
    return out


def _upper(z: Any) -> float:
    """A float ≥ |Re z| and |Im z| on the whole ball (read back with a widening for float rounding)."""
    return max(float(z.real.abs_upper()), float(z.imag.abs_upper())) * _SAFE


__all__ = [
    "AUTO_COST_LIMIT",
    "METHOD",
    "Certification",
    "auto_certify",
    "certify",
    "certify_points",
    "overlapping_pairs",
]
