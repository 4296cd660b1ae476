"""The decomposition's tolerances and loop limits as one small frozen record.

Every stage reads the same record (the local dimension test, moving points between slices,
monodromy, the trace test, membership), so it lives below all of them; `run.py` takes it
as an argument and passes it down.  The defaults were tuned on (2,2,2) and (3,2,3) with Λ = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engines.native.tracker import TrackerOptions


@dataclass(frozen=True)
class ComponentOptions:
    """Tolerances and loop limits of the decomposition (defaults tuned on (2,2,2) and (3,2,3))."""

    move: float = 1e-3  # relative step off a seed before slicing (the local dimension test)
    corank_tol: float = 1e-4  # generous: candidate dimensions are tested, not trusted
    residual_tol: float = 1e-10  # critical_residual (per-layer backward error) on the critical set
    # … and at the dimension test's Newton-converged point, where a k too large leaves ∇L ≈ h ε
    # (h: the Hessian's near-zero eigenvalues; (2,2,2,2) m=3 with μ₂ = 4e-5: 1.5e-12–1e-10, true ≤ 4e-16)
    dimension_residual_tol: float = 1e-13
    # random kernel directions tried per candidate dimension (each with both steps) before a seed
    # is judged not that dimensional: on (2,2,2,2) with X = I, Y = diag(1, 1e-5) one seed of twelve
    # on a 7-dimensional component drew a direction whose slice met the component at a singular
    # point (condition 4.5e16) for both steps and came out isolated; two of five directions do that
    dimension_directions: int = 3
    same_loss: float = 1e-8  # relative loss difference of points of one component (the loss is constant on it)
    newton_tol: float = 1e-10  # relative last Newton step of a converged point
    max_condition: float = 1e12  # equilibrated condition of the sliced Jacobian (÷ 100 in the dimension test)
    slice_offset: float = 0.1  # |b₀| relative to the critical points' balanced size
    loop_size: float = 0.3  # monodromy loops and trace-test translations, relative to that size
    loops_per_round: int = 4  # monodromy loops tracked together in one batch
    stall_rounds: int = 4  # give up after this many rounds with no new point and a failed trace test …
    max_loops: int = 80  # … or after this many loops
    trace_tol: float = 1e-7  # relative deviation of the trace from an affine function of τ
    tracker: TrackerOptions = field(default_factory=lambda: TrackerOptions(tol=1e-4, max_step=0.25, max_steps=1000))
    membership_steps: int = 600  # step cap when moving a witness set to a (special) seed's slice


__all__ = ["ComponentOptions"]
