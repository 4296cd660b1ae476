"""What a decomposition returns: one `Component` per irreducible component, in a `Decomposition`.

Results are values: a component knows its dimension, witness points (whose number is its
degree), how the witness set was proven complete (the trace test), its loss and the ranks of
the network's products on it; the decomposition adds the initial solve's counts, the
closed-form comparison and what could not be explained.  `as_dict` is exactly components.json,
`lines` the plain-text table the command line prints (and components.md holds); writing files is
reports/components.py's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from ..pipeline import Run
from .closed_form import ClosedFormMatch, ClosedFormValue
from .slicing import Slicing


class UnexplainedSeed(TypedDict):
    """A singular endpoint of the initial solve on no component found."""

    loss: float
    loss_imag: float
    norm: float  # max-norm of the point


@dataclass(frozen=True, eq=False)
class Component:
    """One irreducible component of the critical set (k = 0: an isolated critical point)."""

    dimension: int
    witness_points: np.ndarray  # (degree, n) on the slice {A x = b₀} (k = 0: the point)
    trace_passed: bool | None  # None for isolated points (nothing to prove)
    trace_error: float
    loops: int  # monodromy loops run
    loss: complex
    loss_spread: float  # max |L(w) − loss| over the witness points
    rank_end_to_end: int
    partial_ranks: str  # "i-j:r;…" ranks of W_j⋯W_i at a generic witness point
    seeds: int = 0  # distinct endpoints of the initial solve on this component
    real_seeds: int = 0
    seed_loss_spread: float = 0.0  # max |L(seed) − loss| over those endpoints
    closed_form: ClosedFormMatch | None = None
    slicing: Slicing | None = None  # the witness slice {A x = b₀} and randomisation R (k > 0)
    second_order: dict[str, Any] | None = None  # AMG's class at a generic point (analysis.second_order)
    real_class: dict[str, Any] | None = None  # real points found and the Hessian's class there (real_points.py)

    @property
    def degree(self) -> int:
        return int(self.witness_points.shape[0])

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "degree": self.degree,
            "trace_test": None if self.trace_passed is None else ("passed" if self.trace_passed else "failed"),
            "trace_error": _finite(self.trace_error),
            "monodromy_loops": self.loops,
            "loss": float(self.loss.real),
            "loss_imag": float(self.loss.imag),
            "loss_spread": float(self.loss_spread),
            "rank_end_to_end": self.rank_end_to_end,
            "partial_ranks": self.partial_ranks,
            "seeds": self.seeds,
            "real_seeds": self.real_seeds,
            "seed_loss_spread": float(self.seed_loss_spread),
            "closed_form": self.closed_form,
            "second_order": self.second_order,
            "real_class": self.real_class,
            "witness_points": [[[float(v.real), float(v.imag)] for v in row] for row in self.witness_points],
        }


@dataclass(frozen=True, eq=False)
class Decomposition:
    """The components found, the closed-form comparison and what could not be explained."""

    name: str
    widths: tuple[int, ...]
    regularization: str
    residual: bool
    components: list[Component]  # highest dimension first, then by loss
    closed_form: list[ClosedFormValue] | None  # every closed-form value, with `found`
    solve_counts: dict[str, int]  # path counts of the initial solve
    seeds: int  # distinct finite endpoints of the initial solve
    seeds_lost: int  # seeds whose tracking to the witness slice failed: placed by membership, or unexplained
    unexplained: list[UnexplainedSeed]  # singular seeds on no component found (see notes)
    seconds: dict[str, float]
    # False when the seeds are a generic penalty's critical points whose count monodromy did not
    # prove (heuristic stop): a component reached only by the missing points would be missing
    seeds_proven: bool = True
    notes: list[str] = field(default_factory=list)
    run: Run | None = field(default=None, repr=False)  # the initial solve, when there was one
    # Prop. 8: tightened points per r < r_max, their classes and components (tightened.py)
    tightened: list[dict[str, Any]] = field(default_factory=list)

    @property
    def all_trace_tests_passed(self) -> bool:
        return all(c.trace_passed is not False for c in self.components)

    def incomplete_reasons(self) -> list[str]:
        """Why the decomposition is not known to be complete ([] when it is): a closed-form
        critical value with no component, a witness set that failed its trace test, singular
        endpoints on no component, seeds from a generic count that is not proven."""
        reasons = []
        missing = [v for v in self.closed_form or [] if not v["found"]]
        if missing:
            reasons.append(
                f"{len(missing)} closed-form critical value(s) without a component ("
                + ", ".join(f"S={v['subsets'][0]}: {v['value']:.10g}" for v in missing)
                + ")"
            )
        if not self.all_trace_tests_passed:
            reasons.append("a witness set failed its trace test (its degree may be too small)")
        if self.unexplained:
            reasons.append(f"{len(self.unexplained)} seed(s) on no component found")
        if not self.seeds_proven:
            reasons.append("the generic penalty's count behind the seeds is not proven (heuristic stop)")
        lost = sum(c < 0 for row in self.tightened if row["rank"] > 0 for c in row["on_components"])
        if lost:
            reasons.append(f"{lost} tightened critical point(s) (Prop. 8) on no component found")
        return reasons

    @property
    def complete(self) -> bool:
        return not self.incomplete_reasons()

    def classes(self) -> dict[str, Any]:
        """The components' classes from their real points, how many are bad local minima, and
        how often the Hessian's class contradicts AMG's Theorem 7 (must be 0): a strict saddle
        needs a negative eigenvalue, a global minimum none with corank = dimension, a
        non-strict saddle none with corank above it; AMG allows no bad local minimum."""
        expected = {
            "global_minimum": ("minimum",),  # per point; the component is then ranked global or local
            "strict_saddle": ("strict_saddle",),
            "non_strict_saddle": ("degenerate",),
        }
        tally: dict[str, int] = {}
        contradictions = 0
        bad_pure = 0  # bad local-minimum components all of whose real points are pure
        checked = 0  # components AMG's theorem applies to and that have real points
        reasons = set()
        for c in self.components:
            if c.second_order and not c.second_order.get("applies"):
                reasons.add(c.second_order.get("reason", ""))
            real = c.real_class
            if real is None:
                continue
            tally[real["class"]] = tally.get(real["class"], 0) + 1
            told = real.get("pure_spurious", {})
            bad_pure += int(real["class"] == "local_minimum" and told.get("pure", 0) == real["real_points"] > 0)
            amg = c.second_order
            if amg and amg.get("applies") and real["real_points"]:
                checked += 1
                seen = {name.split(" (")[0] for name in real["classes"]}
                contradictions += int(not seen <= set(expected[amg["class"]]) or real["class"] == "local_minimum")
        return {
            "by_class": dict(sorted(tally.items())),
            "bad_local_minima": tally.get("local_minimum", 0),
            "bad_local_minima_pure": bad_pure,
            "amg_contradictions": contradictions,
            "amg_checked": checked,
            "amg_reason": None if checked or not reasons else sorted(reasons)[0],
        }

    def as_dict(self) -> dict[str, Any]:
        """components.json."""
        return {
            "name": self.name,
            "widths": list(self.widths),
            "regularization": self.regularization,
            "residual": self.residual,
            "components": [c.as_dict() for c in self.components],
            "by_dimension": by_dimension(self.components),
            "all_trace_tests_passed": self.all_trace_tests_passed,
            "complete": self.complete,
            "incomplete_reasons": self.incomplete_reasons(),
            "closed_form": self.closed_form,
            "classes": self.classes(),
            "tightened": self.tightened,
            "initial_solve": {
                "paths": self.solve_counts,
                "seeds": self.seeds,
                "seeds_lost": self.seeds_lost,
                "seeds_proven": self.seeds_proven,
                "unexplained": self.unexplained,
            },
            "seconds": {key: round(value, 3) for key, value in self.seconds.items()},
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """A plain-text report: one line per component, then the closed-form comparison."""
        out = [
            f"dln components: {self.name} — widths {'x'.join(map(str, self.widths))}, "
            f"regularization {self.regularization}{', residual' if self.residual else ''}",
            self._seed_line(),
            f"{'dim':>3} {'degree':>6} {'trace test':>16} {'loss':>22} {'spread':>8} {'rank P':>6} "
            f"{'seeds (real)':>12}  {'partial ranks':<18} closed form",
        ]
        for c in self.components:
            trace = "—" if c.trace_passed is None else ("passed" if c.trace_passed else "FAILED")
            if c.trace_passed is not None:
                trace += f" {c.trace_error:.0e}"
            loss = f"{c.loss.real:.14g}" + (f"{c.loss.imag:+.2e}i" if abs(c.loss.imag) > 1e-9 else "")
            cf = ""
            if c.closed_form is not None:
                cf = f"S={c.closed_form['subset']} rel.diff {c.closed_form['relative_difference']:.1e}"
            elif self.closed_form is not None:
                cf = "no closed-form value"
            if c.real_class is not None:
                real = c.real_class
                found = real["real_points"]
                purity = {k: v for k, v in real.get("pure_spurious", {}).items() if k in ("pure", "spurious")}
                told = ", " + ", ".join(f"{v} {k}" for k, v in purity.items()) if purity else ""
                cf += f"; real: {real['class']} ({found} pt{told})" if found else "; no real point"
            if c.second_order is not None and c.second_order.get("applies"):
                amg = c.second_order
                cf += f"; AMG: {amg['class']} (tightened {amg['tightened']}, margin {amg['margin_decades']:.1f})"
            out.append(
                f"{c.dimension:>3} {c.degree:>6} {trace:>16} {loss:>22} {c.loss_spread:>8.1e} "
                f"{c.rank_end_to_end:>6} {f'{c.seeds} ({c.real_seeds})':>12}  {c.partial_ranks:<18} {cf}"
            )
        if self.closed_form is not None:
            found = [v for v in self.closed_form if v["found"]]
            out.append(f"closed-form critical values (Achour et al.): {len(found)} of {len(self.closed_form)} found")
            for v in self.closed_form:
                status = f"found (rel.diff {v['relative_difference']:.1e})" if v["found"] else "NOT FOUND"
                out.append(f"  S={v['subsets'][0]}: {v['value']:.14g}  {status}")
        classes = self.classes()
        out.append(
            "classes from real points: "
            + (", ".join(f"{name} {count}" for name, count in classes["by_class"].items()) or "none")
            + f"; bad local-minimum components: {classes['bad_local_minima']}"
            + (f" ({classes['bad_local_minima_pure']} pure)" if classes["bad_local_minima"] else "")
            + (
                f"; AMG's Theorem 7 {classes['amg_reason']}"
                if classes["amg_reason"]
                else f"; contradictions with AMG's Theorem 7: {classes['amg_contradictions']}"
            )
        )
        out.extend(self._tightened_lines())
        reasons = self.incomplete_reasons()
        out.append("complete: " + ("yes" if not reasons else "NO — " + "; ".join(reasons)))
        out.extend(f"note: {n}" for n in self.notes)
        out.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return out

    def _tightened_lines(self) -> list[str]:
        """Prop. 8's lines (none when it does not apply): per r, the tightened points' classes and
        where they lie."""
        rows = self.tightened
        if not rows:
            return []
        out = ["Prop. 8 — tightened critical points built per r < r_max (S = {1..r}): AMG's class, the Hessian's index"]
        for row in rows:
            where = (
                "the origin: on every P = 0 component (cones), not located"
                if row["rank"] == 0
                else ", ".join(
                    f"on table row {c + 1} (general point: {cls})" if c >= 0 else "on NO component found"
                    for c, cls in zip(row["on_components"], row["component_classes"])
                )
            )
            out.append(
                f"  r={row['rank']}: {row['points']} point(s), {', '.join(sorted(set(row['amg'])))}, Hessian index "
                f"{sorted(set(row['hessian_index']))}, {row['contradictions']} contradiction(s); {where}"
            )
        return out

    def _seed_line(self) -> str:
        counts = self.solve_counts
        line = f"{self.seeds} distinct critical points used as seeds"
        if counts:
            line = (
                f"initial solve: {counts['tracked']} paths, {counts['finite']} finite ({counts['singular']} "
                f"singular); {line}"
            )
        lost = f", {self.seeds_lost} did not reach the witness slice (placed by membership or unexplained)"
        return line + (lost if self.seeds_lost else "")


def by_dimension(components: list[Component]) -> dict[str, dict[str, int]]:
    """Per dimension (as a string key, for JSON): how many components and their total degree."""
    out: dict[str, dict[str, int]] = {}
    for c in components:
        entry = out.setdefault(str(c.dimension), {"components": 0, "total_degree": 0})
        entry["components"] += 1
        entry["total_degree"] += c.degree
    return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


__all__ = ["Component", "Decomposition", "UnexplainedSeed", "by_dimension"]
