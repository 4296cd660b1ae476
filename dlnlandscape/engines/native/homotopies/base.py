"""What the tracker needs from a homotopy, as protocols: the contract every homotopy meets.

A homotopy H(y, t) is a square system in the tracked coordinates y for every value of the
parameter t.  The tracker (tracker.py) only ever *evaluates* it — values, the Jacobian in y and
the derivative in t — for a batch of points at per-point parameters; the same batch may follow
several homotopies at once (one arc of parameters per path, as monodromy loops and witness-set
moves do), so `evaluate` is told which paths of the tracked batch the points are.  That is the
whole `Homotopy` protocol; decomposition's slice homotopy implements it too.

Two capabilities are optional and declared separately, so the tracker asks for them by type
instead of probing attributes:

* `EndgameHomotopy` — tracking towards t = 0 with an endgame needs the target system alone
  (Newton at t = 0) and a measure of divergence (homogenising coordinates → 0): only the
  projective γ-trick homotopy has both.
* `CompiledHomotopy` — a homotopy that can describe itself as the flat arrays the compiled
  kernel reads (kernel.py), and says which arc each path follows.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..kernel_data import KernelData

Evaluation = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # H (N, k), ∂H/∂y (N, k, k), ∂H/∂t (N, k)


@runtime_checkable
class Homotopy(Protocol):
    """H(y, t) for a batch of points."""

    def evaluate(
        self, y: np.ndarray, t: np.ndarray, *, derivative_t: bool = True, index: np.ndarray | None = None
    ) -> Evaluation:
        """H, ∂H/∂y and (with `derivative_t`) ∂H/∂t at points y (N, k) and parameters t (N,);
        `index` are the rows of the tracked batch these points are (None: all, in order)."""
        ...


@runtime_checkable
class EndgameHomotopy(Homotopy, Protocol):
    """A homotopy whose paths can be ended at t = 0: the target system alone, and how close
    each path is to infinity (the ratios |h_g| / ‖y_g‖ of its G homogenising coordinates)."""

    G: int

    def evaluate_target(self, y: np.ndarray, jacobian: bool = True) -> tuple[np.ndarray, np.ndarray | None]: ...

    def homogenizing_ratio(self, y: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class CompiledHomotopy(Homotopy, Protocol):
    """A homotopy the compiled kernel can evaluate: its flat description, and the arc (set of
    coefficients in the description) each path of the tracked batch follows (None: one)."""

    arc_of_path: np.ndarray | None

    def kernel_data(self, structured: bool = True) -> KernelData:
        """The flat description; `structured=False` asks for the sparse monomial form even
        where a structured evaluation exists."""
        ...


__all__ = ["CompiledHomotopy", "EndgameHomotopy", "Evaluation", "Homotopy"]
