"""engines/native/homotopies: which protocol each homotopy meets, and that the tracker and the
compiled kernel ask for capabilities by type."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.engines.native.engine import build_homotopy
from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.homotopies.base import CompiledHomotopy, EndgameHomotopy, Homotopy
from dlnlandscape.engines.native.kernel import HAVE_NUMBA
from dlnlandscape.engines.native.kernel_data import KernelMode
from dlnlandscape.engines.native.tracker import REACHED_END, NumpySteps, Tracker, make_steps
from dlnlandscape.model.problem import Problem

from .conftest import make_config


class LineHomotopy:
    """H(y, t) = y − (t a + (1 − t) b) per path: the simplest homotopy meeting only the protocol
    (as decomposition's slice homotopy does), one (a, b) pair per path."""

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = a, b

    def evaluate(self, y, t, *, derivative_t=True, index=None):
        rows = np.arange(y.shape[0]) if index is None else index
        a, b = self.a[rows], self.b[rows]
        values = y - (t[:, None] * a + (1 - t[:, None]) * b)
        jac = np.broadcast_to(np.eye(y.shape[1], dtype=complex), (y.shape[0], y.shape[1], y.shape[1])).copy()
        return values, jac, (b - a if derivative_t else None)


def test_each_homotopy_meets_the_protocols_it_should():
    problem = Problem.from_config(make_config([2, 2, 2], samples=3))
    projective = build_homotopy(problem, "multihomogeneous", np.random.default_rng(0))
    family = Family(problem)
    rng = np.random.default_rng(1)
    parameter = family.homotopy([(family.random_point(rng), family.random_point(rng))], np.zeros(3, dtype=int))
    line = LineHomotopy(np.ones((2, 2)), np.zeros((2, 2)))
    assert all(isinstance(h, Homotopy) for h in (projective, parameter, line))
    assert isinstance(projective, EndgameHomotopy) and isinstance(projective, CompiledHomotopy)
    assert isinstance(parameter, CompiledHomotopy) and not isinstance(parameter, EndgameHomotopy)
    assert not isinstance(line, CompiledHomotopy) and not isinstance(line, EndgameHomotopy)
    assert projective.kernel_data().mode == KernelMode.GAMMA
    assert parameter.kernel_data().mode == KernelMode.NETWORK  # a network's gradient: matrix products
    assert parameter.kernel_data(structured=False).mode == KernelMode.PARAMETER
    assert isinstance(make_steps(line), NumpySteps)  # nothing to compile: the NumPy reference
    if HAVE_NUMBA:
        assert make_steps(parameter).name == "numba-network"
        assert make_steps(parameter, "monomial").name == "numba"
    with pytest.raises(RuntimeError, match="kernel_data"):
        make_steps(line, kernel="numba")


def test_the_tracker_follows_a_protocol_only_homotopy_with_one_arc_per_path():
    a = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=complex)
    b = np.array([[0.0, 0.0], [1.0, 1.0]], dtype=complex)
    tracker = Tracker(LineHomotopy(a, b))
    # s from 0 to iπ: t = e^s runs from 1 to −1, so y(t) = t a + (1 − t) b ends at 2b − a
    state = tracker.track(a.copy(), np.zeros(2, dtype=complex), np.full(2, 1j * np.pi))
    assert np.all(state.status == REACHED_END)
    np.testing.assert_allclose(state.y, 2 * b - a, atol=1e-8)
    with pytest.raises(TypeError, match="EndgameHomotopy"):
        tracker.track(a.copy(), np.zeros(2, dtype=complex), np.full(2, -1.0 + 0j), endgame=True)
