"""The compiled evaluation from the network's matrix products (kernel_network.py, modes NETWORK
and SLICE) against the sparse monomial form — compiled and NumPy — on many architectures:
values, Jacobians and ∂/∂t must agree to rounding; the tracker picks it by itself."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.engines.native.family import Family
from dlnlandscape.engines.native.homotopies.parameter import ParameterHomotopy
from dlnlandscape.engines.native.kernel import HAVE_NUMBA, CompiledSteps
from dlnlandscape.engines.native.kernel_data import KernelMode
from dlnlandscape.engines.native.trace_test import direction_slots, term_tables, trace_system
from dlnlandscape.engines.native.tracker import make_steps
from dlnlandscape.model.problem import Problem

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled kernel needs numba")

ARCHITECTURES = [
    ((2, 2, 2), 3, False),
    ((2, 2, 2, 2), 2, False),
    ((2, 3, 1, 2), 2, False),
    ((3, 3, 3), 3, False),
    ((1, 2, 2, 2, 2, 1), 1, False),
    ((3, 1, 2), 3, False),
    ((2, 2, 2), 2, True),
    ((2, 2, 3, 3), 1, True),
]


def _family(widths: tuple[int, ...], samples: int, residual: bool, seed: int = 1) -> Family:
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((widths[0], samples)), rng.standard_normal((widths[-1], samples))
    penalty = [rng.uniform(0.5, 1.5, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    return Family(Problem.from_data(widths, X, Y, penalty, residual=residual))


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _agree(structured: CompiledSteps, reference: list, y: np.ndarray, t: np.ndarray) -> None:
    got = structured.evaluate(y, t)
    for ref in reference:
        for mine, theirs in zip(got, ref, strict=True):
            assert _relative(mine, theirs) < 1e-12


@pytest.mark.parametrize("widths,samples,residual", ARCHITECTURES)
def test_network_mode_is_the_monomial_gradient_hessian_and_t_derivative(widths, samples, residual):
    family = _family(widths, samples, residual)
    rng = np.random.default_rng(3)
    points = [family.random_point(rng) for _ in range(4)]
    N = 30
    hom = family.homotopy([(points[i], points[i + 1]) for i in range(3)], rng.integers(0, 3, N))
    y = rng.standard_normal((N, family.problem.n)) + 1j * rng.standard_normal((N, family.problem.n))
    t = np.exp(1j * np.pi * rng.random(N))
    structured = CompiledSteps(hom)
    assert structured.data.mode == KernelMode.NETWORK and structured.name == "numba-network"
    monomial = CompiledSteps(hom, structured=False)
    assert monomial.data.mode == KernelMode.PARAMETER
    _agree(structured, [monomial.evaluate(y, t), hom.evaluate(y, t)], y, t)


def _symmetric_parameters(system, d0: int, rng: np.random.Generator) -> np.ndarray:
    """Random complex (S, T, C) with S symmetric, as every S of the family is."""
    z = rng.standard_normal(system.k) + 1j * rng.standard_normal(system.k)
    S = z[: d0 * d0].reshape(d0, d0)
    z[: d0 * d0] = (S + S.T).ravel()
    return z


@pytest.mark.parametrize("widths,samples,residual", ARCHITECTURES)
@pytest.mark.parametrize("all_slots", [False, True])
def test_slice_mode_is_the_monomial_slice_system(widths, samples, residual, all_slots):
    family = _family(widths, samples, residual)
    system = trace_system(family.system, None if all_slots else direction_slots(family.system, widths))
    rng = np.random.default_rng(4)
    n = family.problem.n
    qs = [
        system.parameters(
            _symmetric_parameters(system, widths[0], rng),
            _symmetric_parameters(system, widths[0], rng),
            rng.standard_normal(n) + 1j * rng.standard_normal(n),
            complex(rng.standard_normal()),
        )
        for _ in range(4)
    ]
    arcs = [(qs[i], qs[i + 1]) for i in range(3)]
    N = 30
    coefficients = np.stack([system.arc_coefficients(*arc) for arc in arcs])
    hom = ParameterHomotopy(
        system, term_tables(system.exponents), coefficients, rng.integers(0, 3, N), system.network_arcs(family, arcs)
    )
    y = rng.standard_normal((N, n + 1)) + 1j * rng.standard_normal((N, n + 1))
    t = np.exp(1j * np.pi * rng.random(N))
    structured = CompiledSteps(hom)
    assert structured.data.mode == KernelMode.SLICE
    _agree(structured, [CompiledSteps(hom, structured=False).evaluate(y, t), hom.evaluate(y, t)], y, t)


def test_the_tracker_takes_the_structured_form_unless_told_otherwise():
    family = _family((2, 2, 2, 2), 2, False)
    rng = np.random.default_rng(5)
    a, b = family.random_point(rng), family.random_point(rng)
    hom = family.homotopy([(a, b)], np.zeros(4, dtype=np.int64))
    assert make_steps(hom).name == "numba-network"
    assert make_steps(hom, "monomial").name == "numba"
    assert make_steps(hom, "numpy").name == "numpy"


def test_one_step_agrees_with_the_monomial_kernel_on_a_real_path():
    """A predictor–corrector step from a start pair (a true solution) lands on the same point."""
    family = _family((2, 2, 2, 2), 2, False)
    rng = np.random.default_rng(6)
    x0, q0 = family.start_pair(rng)
    q1 = family.random_point(rng)
    hom = family.homotopy([(q0, q1)], np.zeros(1, dtype=np.int64))
    y = x0[None]
    args = (np.zeros(1, complex), np.full(1, 1j * np.pi), np.full(1, 0.02))
    mine = CompiledSteps(hom).rk4_correct(y, *args)
    ref = CompiledSteps(hom, structured=False).rk4_correct(y, *args)
    assert np.abs(mine[0] - ref[0]).max() < 1e-12 and np.isfinite(mine[1]).all()


class _StepByStep:
    """CompiledSteps without its compiled loop: the tracker then runs its Python loop."""

    track_paths = None  # tracker.Steps: no compiled loop

    def __init__(self, steps: CompiledSteps) -> None:
        self.inner = steps
        self.name = steps.name

    def rk4_correct(self, *args, **kwargs):
        return self.inner.rk4_correct(*args, **kwargs)

    def newton_target(self, *args, **kwargs):
        return self.inner.newton_target(*args, **kwargs)


def test_the_compiled_tracking_loop_takes_the_python_loops_steps():
    """The whole step control compiled (kernel.track_paths) is the tracker's own rules path by
    path: same endpoints, statuses and step counts as the Python loop over batched steps."""
    from dlnlandscape.engines.native.family import ARC_END
    from dlnlandscape.engines.native.tracker import Tracker, TrackerOptions

    family = _family((2, 2, 2, 2), 2, False, seed=7)
    rng = np.random.default_rng(8)
    starts = [family.start_pair(rng) for _ in range(40)]
    q1 = family.random_point(rng)
    arcs = [(q0, q1) for _, q0 in starts]
    hom = family.homotopy(arcs, np.arange(len(arcs)))
    y0 = np.array([x0 for x0, _ in starts])
    N = y0.shape[0]
    options = TrackerOptions(reuse_tangent=False)
    runs = []
    for steps in (CompiledSteps(hom), _StepByStep(CompiledSteps(hom))):
        state = Tracker(hom, options, steps).track(y0, np.zeros(N, complex), np.full(N, ARC_END))
        runs.append(state)
    compiled, python = runs
    assert np.array_equal(compiled.status, python.status) and np.array_equal(compiled.steps, python.steps)
    assert np.abs(compiled.y - python.y).max() < 1e-12 * max(1.0, np.abs(python.y).max())
    assert (compiled.status == 4).sum() >= N - 2  # the arcs are ordinary: (almost) every path arrives
    # Reusing the tangent the last correction factored: the same endpoints and statuses, about
    # the same number of steps (the first stage is off by the second correction only), each
    # step one evaluation and one factorisation cheaper.
    arrived = python.status == 4
    for predictor in ("rk4", "cubic", "quintic"):
        options = TrackerOptions(predictor=predictor)
        reused = Tracker(hom, options, CompiledSteps(hom)).track(y0, np.zeros(N, complex), np.full(N, ARC_END))
        assert np.array_equal(reused.status == 4, arrived)
        assert np.abs(reused.y[arrived] - python.y[arrived]).max() < 1e-9 * max(1.0, np.abs(python.y).max())
        if predictor == "rk4":
            assert abs(int(reused.steps.sum()) - int(python.steps.sum())) <= 0.1 * python.steps.sum()
        else:  # two factorisations a step instead of five, for shorter steps — but not 2.5× shorter
            assert python.steps.sum() < reused.steps.sum() < 2.5 * python.steps.sum()


@pytest.mark.parametrize("used", [1, 2])
def test_the_extrapolating_predictor_is_exact_on_paths_of_its_degree(used: int):
    """`hermite_predict` through the point, its tangent and `used` points behind with theirs:
    exact on every polynomial path of degree 2·used + 1 (a wrong divided difference or node
    would not be), for uneven spacings and a step longer than the spacing; on degree
    2·used + 2 its error is the leading term's, (h − x₀)²(h − x₁)²… times the top coefficient."""
    from dlnlandscape.engines.native.kernel import hermite_predict

    rng = np.random.default_rng(3)
    k, degree = 4, 2 * used + 1
    back = np.array([0.3, 0.75])[:used]  # u-distances behind the current point
    h = 0.5
    for extra in (0, 1):
        coef = rng.standard_normal((degree + 1 + extra, k)) + 1j * rng.standard_normal((degree + 1 + extra, k))
        path = np.polynomial.polynomial.polyval(np.array([0.0, *(-back), h]), coef).T  # rows: u = 0, behind…, h
        slope = np.polynomial.polynomial.polyval(np.array([0.0, *(-back)]), np.polynomial.polynomial.polyder(coef)).T
        behind = np.empty((2 * used, k), complex)
        behind[0::2], behind[1::2] = path[1 : used + 1], slope[1:]
        z = np.empty(k, complex)
        hermite_predict(
            path[0], slope[0], behind, back, used, h, z, np.empty(2 * used + 2), np.empty(2 * used + 2, complex)
        )
        nodes = np.array([0.0, *(-back)])
        expected_error = extra * coef[-1] * np.prod((h - nodes) ** 2)
        assert np.abs(path[-1] - z - expected_error).max() < 1e-12 * np.abs(path[-1]).max()


@pytest.mark.parametrize("structured", [True, False])
def test_a_batch_cut_to_its_own_arcs_takes_the_same_steps(structured: bool):
    """kernel_data.for_arcs (what a Dask batch carries): the record cut to the arcs the batch's
    paths use, renumbered, advances every path exactly as the whole record does."""
    from dlnlandscape.engines.native.kernel import advance_paths, step_control
    from dlnlandscape.engines.native.kernel_data import PathBatch, for_arcs
    from dlnlandscape.engines.native.tracker import TrackerOptions

    family = _family((2, 2, 2, 2), 2, False)
    rng = np.random.default_rng(4)
    starts = [family.start_pair(rng) for _ in range(5)]  # (x₀, p₀): x₀ solves the system at p₀
    N = 40
    arc = rng.choice([1, 3], N)  # two of the five arcs, each from its start pair's p₀
    arcs = [(q0, family.random_point(rng)) for _, q0 in starts]
    steps = CompiledSteps(family.homotopy(arcs, arc), structured=structured)
    y = np.array([starts[a][0] for a in arc]) * (1 + 1e-9 * rng.standard_normal((N, 1)))  # on the paths

    def batch(arcs: np.ndarray) -> PathBatch:
        return PathBatch(
            y.copy(), np.zeros(N), np.full(N, 0.05), np.zeros(N, np.int8), np.zeros(N, np.int64),
            np.zeros(N, complex), np.ones(N, complex), np.ones(N), arcs.astype(np.int64),
        )  # fmt: skip

    cut, local = for_arcs(steps.data, arc)
    assert cut.coef_poly.shape[0] == 2 and sorted(set(local)) == [0, 1]
    assert np.array_equal(cut.coef_poly[local], steps.data.coef_poly[arc])
    control = step_control(TrackerOptions(predictor="quintic"))  # the points behind travel too
    whole = advance_paths(steps.data, batch(arc), control, 6)
    alone = advance_paths(cut, batch(local), control, 6)
    assert whole.steps.min() >= 1
    fields = ("y", "u", "du", "status", "steps", "tangent", "tangent_ready", "behind", "behind_u")
    for name in (*fields, "s_a", "s_b", "length"):
        assert np.array_equal(getattr(whole, name), getattr(alone, name), equal_nan=name == "behind_u")
    # the tangent a step leaves and the points behind travel with the path: six steps in one
    # call or in calls of four and two (as the in-process loop and a Dask batch cut them) end
    # identically
    halves = advance_paths(steps.data, advance_paths(steps.data, batch(arc), control, 4), control, 2)
    assert whole.tangent_ready.any() and np.isfinite(whole.behind_u).all(axis=1).any()  # quintic steps ran
    for name in fields:
        assert np.array_equal(getattr(whole, name), getattr(halves, name), equal_nan=name == "behind_u")


def test_the_kernels_lu_solves_like_numpy_and_serves_two_right_hand_sides():
    """`_lu_factor` + `_lu_apply` (what every step's factorisations use) against NumPy's solve,
    on systems whose pivots must swap rows (a zero leading entry, a badly scaled row), and the
    Newton update that also solves for the next tangent with the same factors."""
    from dlnlandscape.engines.native.kernel import _lu_solve, _newton_update

    rng = np.random.default_rng(9)
    for k in (2, 5, 13):
        A = rng.standard_normal((k, k)) + 1j * rng.standard_normal((k, k))
        A[0, 0] = 0.0  # the first pivot must come from another row
        A[-1] *= 1e-6
        b = rng.standard_normal(k) + 1j * rng.standard_normal(k)
        c = rng.standard_normal(k) + 1j * rng.standard_normal(k)
        expected_b, expected_c = np.linalg.solve(A, b), np.linalg.solve(A, c)
        x = b.copy()
        assert _lu_solve(A.copy(), x) and np.allclose(x, expected_b, rtol=1e-9, atol=1e-12)
        z, values, cc = np.zeros(k, complex), b.copy(), c.copy()
        norm = _newton_update(z, values, A.copy(), cc, True)
        assert np.allclose(z, -expected_b, rtol=1e-9, atol=1e-12) and np.allclose(cc, expected_c, rtol=1e-9)
        assert norm == pytest.approx(np.linalg.norm(expected_b), rel=1e-9)
    assert not _lu_solve(np.zeros((3, 3), complex), np.ones(3, complex))
