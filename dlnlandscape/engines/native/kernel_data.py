"""A homotopy as the compiled kernel reads it: one flat, typed record.

The compiled steps (kernel.py) cannot call back into Python objects, so a homotopy describes
itself once as plain arrays — its terms in sparse monomial form, the start system's linear
factors, the charts — in a `KernelData` record, built by the homotopy (`kernel_data()` in
homotopies/).  It is a named tuple so that numba passes it as one typed value whose fields the
compiled code reads by name, and its `mode` says which homotopy the arrays describe.  This
module has no numba in it: building the record never compiles anything.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np


class KernelMode(enum.IntEnum):
    """Which homotopy the kernel evaluates (passed into compiled code as its int value)."""

    GAMMA = 0  # H = (1 − t) F + t γ S: γ-trick from a linear-product start, projective
    PARAMETER = 1  # H = Σ_terms c(t) x^e, c(t) = c₀ + t c₁ + t² c₂ per arc: parameter homotopy, affine
    NETWORK = 2  # the same parameter homotopy of ∇L, evaluated from the network's matrix products
    SLICE = 3  # the trace test's slice system along arcs, from the network's matrix products


class KernelData(NamedTuple):
    """Flat arrays describing one homotopy, in the layout the compiled kernels read (a named
    tuple: numba passes it as one typed record, fields read by name).  Built by the homotopies
    (`kernel_data()`); fields a mode does not use are empty placeholders of the right type."""

    mode: int  # a KernelMode value
    n: int  # target equations (the unknowns are n plus one homogenising coordinate per group)
    gamma: complex  # GAMMA: the γ of the γ-trick
    max_power: int  # highest exponent of any variable in any term
    term_vars: np.ndarray  # (T, L) int64: variables of each term, −1 padded
    term_exps: np.ndarray  # (T, L) int64: their exponents
    term_coef: np.ndarray  # (T,) complex: GAMMA: term coefficients, equation scaling included
    term_eq: np.ndarray  # (T,) int64: equation of each term
    factor_cols: np.ndarray  # (n, F, K) int64: GAMMA: columns of each start factor, −1 padded
    factor_coef: np.ndarray  # (n, F, K) complex: their coefficients, start scaling folded into factor 0
    factor_count: np.ndarray  # (n,) int64: factors per start equation
    chart_cols: np.ndarray  # (G, K) int64: GAMMA: columns of each chart
    chart_coef: np.ndarray  # (G, K) complex
    coef_poly: np.ndarray  # (arcs, 3, T) complex: PARAMETER: c₀, c₁, c₂ of every arc
    widths: np.ndarray  # (H + 1,) int64: NETWORK, SLICE: the layer widths (a placeholder [1] otherwise)
    residual_layers: np.ndarray  # (H,) int64: NETWORK, SLICE: 1 where the layer is I + W
    s_poly: np.ndarray  # (arcs, 3, d0, d0) complex: NETWORK: S(t) = S₀ + t S₁ + t² S₂ (SLICE: (arcs, 4, ·),
    #                     S_p₀, S_p₁, S_v₀, S_v₁ of the data p + λv)
    t_poly: np.ndarray  # (arcs, 3 or 4, dH, d0) complex: T likewise
    c_poly: np.ndarray  # (arcs, 3 or 4, n) complex: the penalties C likewise
    pencil_poly: np.ndarray  # (arcs, 2, n + 2) complex: SLICE: (a, b, t) of the pencil, c₀ and c₁


class PathBatch(NamedTuple):
    """Some paths of one tracking run, as the compiled step loop reads and updates them: plain
    arrays indexed by path, no Python objects — so a batch can be copied into another process
    (a Dask worker: engines/native/executors.py), advanced there and copied back, and every
    path ends exactly where it would in this process (each path's steps depend on its own state
    only)."""

    y: np.ndarray  # (N, k) complex: the points
    u: np.ndarray  # (N,) float: progress along the arc, in [0, 1]
    du: np.ndarray  # (N,) float: the next step in u
    status: np.ndarray  # (N,) int8: tracker.PathStatus values
    steps: np.ndarray  # (N,) int64: steps taken
    s_a: np.ndarray  # (N,) complex: where each path's segment starts, in s = log t
    s_b: np.ndarray  # (N,) complex: and ends
    length: np.ndarray  # (N,) float: |s_b − s_a|
    arc: np.ndarray  # (N,) int64: each path's arc of the homotopy (0 when it has one)
    # (N, k) complex: the first RK4 stage at (y, u), where `tangent_ready` — the tangent the last
    # correction left (kernel._rk4_one); kept with the path so that its course does not depend
    # on how its steps are cut into calls and batches.  None: none ready (advance_paths makes them)
    tangent: np.ndarray | None = None
    tangent_ready: np.ndarray | None = None  # (N,) bool
    # (N, 2·history, k) complex: the accepted points before y on this arc, nearest first, each
    # followed by its tangent, where `behind_u` (their u) is not NaN — what the extrapolating
    # predictors start from (kernel.py; history 0, RK4: no points, nothing to carry)
    behind: np.ndarray | None = None
    behind_u: np.ndarray | None = None  # (N, history) float

    @property
    def tracking(self) -> np.ndarray:
        """Rows still moving (status 0, tracker.PathStatus.TRACKING)."""
        return np.flatnonzero(self.status == 0)


# the fields indexed by arc first (KernelData above); every other field is shared by all arcs
ARC_FIELDS = ("coef_poly", "s_poly", "t_poly", "c_poly", "pencil_poly")


def for_arcs(data: KernelData, arc: np.ndarray) -> tuple[KernelData, np.ndarray]:
    """The record cut to the arcs `arc` uses, and `arc` renumbered into it: what a batch of
    paths needs to travel with (a run over 10⁴ instances has 4·10⁴ arcs, a batch a few).  The
    kept arcs' coefficients are the same arrays' rows, so a path's steps do not change."""
    used, local = np.unique(arc, return_inverse=True)
    cut = {name: np.ascontiguousarray(getattr(data, name)[used]) for name in ARC_FIELDS if getattr(data, name).shape[0]}
    return data._replace(**cut), np.ascontiguousarray(local.reshape(arc.shape), dtype=np.int64)


def no_network() -> dict[str, np.ndarray]:
    """Placeholders for the NETWORK fields of a record in another mode (typed like the real ones)."""
    return {
        "widths": np.ones(1, dtype=np.int64),
        "residual_layers": np.zeros(0, dtype=np.int64),
        "s_poly": np.zeros((0, 3, 1, 1), dtype=complex),
        "t_poly": np.zeros((0, 3, 1, 1), dtype=complex),
        "c_poly": np.zeros((0, 3, 1), dtype=complex),
        "pencil_poly": np.zeros((0, 2, 1), dtype=complex),
    }


__all__ = ["ARC_FIELDS", "KernelData", "KernelMode", "PathBatch", "for_arcs", "no_network"]
