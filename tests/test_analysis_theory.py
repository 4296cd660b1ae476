"""Theory columns on points with known answers: closed forms, hand-built critical points of the
unregularised loss (never solved with λ = 0 — those critical sets are positive-dimensional),
the Bharadwaj–Hoşten pattern on a real solve, and saddle typing on hand-made spectra."""

from __future__ import annotations

import numpy as np
import pytest

from dlnlandscape.analysis import second_order, theory
from dlnlandscape.analysis.classify import classify, eigen_signature, product_ranks
from dlnlandscape.model.problem import Problem
from dlnlandscape.pipeline import solve
from dlnlandscape.reports.files import write_outputs
from dlnlandscape.reports.points import COLUMNS
from dlnlandscape.reports.text import markdown_report, summary_lines, theory_lines

from .conftest import make_config


def _classify(problem: Problem, weights: list[list[np.ndarray]], symmetric: bool = False):
    x = np.array([problem.pack([w[None] for w in W])[0] for W in weights], dtype=complex)
    k = len(x)
    return classify(problem, x, np.ones(k, int), np.zeros(k, bool), np.zeros(k), np.ones(k), symmetric=symmetric)


def _plain(widths: tuple[int, ...], m: int = 5, seed: int = 0, Y: np.ndarray | None = None):
    """An unregularised problem with generic data, M = YXᵀ(XXᵀ)⁻¹ and Σ's eigenvectors (descending)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((widths[0], m))
    Y = rng.standard_normal((widths[-1], m)) if Y is None else Y
    p = Problem.from_data(widths, X, Y, [np.zeros((widths[i + 1], widths[i])) for i in range(len(widths) - 1)])
    M = p.T @ np.linalg.inv(p.S)
    lam, U = np.linalg.eigh(p.T @ np.linalg.solve(p.S, p.T.T))
    return p, M, U[:, ::-1]


# ------------------------------------------------------------------ ranks
def test_product_ranks_cover_every_partial_product_and_residual_layers_use_identity():
    rng = np.random.default_rng(2)
    widths = (2, 3, 2, 2)
    penalty = [np.ones((widths[i + 1], widths[i])) for i in range(3)]
    p = Problem.from_data(widths, rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), penalty)
    x = rng.standard_normal((4, p.n))
    x[1, p.offsets[1] : p.offsets[2]] = 0  # W_2 = 0: every product through layer 2 has rank 0
    x[2, : p.offsets[1]] = np.outer(rng.standard_normal(3), rng.standard_normal(2)).ravel()  # rank-one W_1
    ranks = product_ranks(p, x)
    assert set(ranks) == {(i, j) for i in range(1, 4) for j in range(i, 4)}
    weights = p.unpack(x)
    for (i, j), r in ranks.items():
        product = weights[i - 1]
        for layer in range(i, j):
            product = weights[layer] @ product
        assert r.tolist() == [np.linalg.matrix_rank(m) for m in product]
    assert ranks[(1, 3)][1] == 0 and ranks[(2, 2)][1] == 0 and ranks[(1, 1)][2] == 1
    # residual square layers are I + W_i: W = 0 gives full-rank products
    res = Problem.from_data((2, 2, 2), np.eye(2), np.eye(2), [np.ones((2, 2))] * 2, residual=True)
    assert all(r.tolist() == [2] for r in product_ranks(res, np.zeros((1, res.n))).values())


def test_filling_is_r_equal_min_of_end_widths():
    assert theory.filling((2, 2, 2)) == {"r": 2, "filling": True, "functional_space": "all 2x2 matrices"}
    assert theory.filling((3, 1, 1))["filling"] and theory.filling((1, 3, 1))["filling"]
    deep = theory.filling((3, 2, 1, 2, 3))
    assert deep["r"] == 1 and not deep["filling"] and "rank <= 1" in deep["functional_space"]


# ------------------------------------------------------------- zero classes
@pytest.mark.parametrize("sxy", [3.0, -0.2])
def test_closed_form_one_one_one_zero_classes_and_saddle_types(sxy):
    """(1,1,1), one sample (DOMAIN.md): origin + 4 points with both weights non-zero; 4 = 4·dH·d1
    one-active points. Real: 3 when |s_xy| > λ1λ2 (origin a strict saddle), else the origin alone
    (then the global minimum, no saddle type)."""
    x, l1, l2 = 1.5, 0.5, 0.7
    y = sxy / x
    p = Problem.from_data((1, 1, 1), [[x]], [[y]], [np.array([[l1**2]]), np.array([[l2**2]])])
    pts = [np.zeros(2, dtype=complex)]
    for eps in (1, -1):
        pp = (sxy - eps * l1 * l2) / x**2
        w1 = np.sqrt(complex(eps * pp * l2 / l1))
        pts += [np.array([s * w1, s * eps * (l1 / l2) * w1]) for s in (1, -1)]
    sols = np.array(pts)
    assert np.abs(p.gradient(sols)).max() < 1e-12
    cp = classify(p, sols, np.ones(5, int), np.zeros(5, bool), np.zeros(5), np.ones(5))
    assert cp.zero_class.tolist() == ["active=0,inactive=1,mixed=0"] + ["active=1,inactive=0,mixed=0"] * 4
    bh = theory.bharadwaj_hosten(p, cp.neuron_counts, "generalized")
    assert bh == {
        "applies": True,
        "pattern_ok": True,
        "one_active": 4,
        "expected_one_active": 4,
        "points_with_mixed_neurons": 0,
    }
    strict = abs(sxy) > l1 * l2
    assert cp.is_real.sum() == (3 if strict else 1)
    assert cp.saddle_type[0] == ("strict" if strict else "")
    assert set(cp.saddle_type[1:].tolist()) == {""}
    assert set(cp.pure_spurious[cp.is_real].tolist()) == {"n/a"} and set(cp.pure_spurious[~cp.is_real]) <= {""}
    assert set(cp.rank_criterion[cp.is_real].tolist()) == {"n/a"}


def test_neuron_classes_per_hidden_layer():
    p = Problem.from_data((1, 2, 2, 1), [[1.0]], [[1.0]], [np.ones((2, 1)), np.ones((2, 2)), np.ones((1, 2))])
    W1 = np.array([[0.5], [0.0]])
    W2 = np.array([[0.3, 0.0], [0.7, 0.0]])
    W3 = np.array([[0.9, 0.0]])
    cp = _classify(p, [[W1, W2, W3]])
    # layer 1: neuron 1 active (0.5 | 0.3, 0.7), neuron 2 inactive; layer 2: rows (0.3, 0) and (0.7, 0) are mixed
    assert cp.zero_class.tolist() == ["active=1,inactive=1,mixed=0|active=0,inactive=0,mixed=2"]
    assert cp.neuron_counts.tolist() == [[[1, 1, 0], [0, 0, 2]]]
    assert theory.bharadwaj_hosten(p, cp.neuron_counts, "generalized") == {"applies": False, "pattern_ok": None}


@pytest.fixture(scope="module")
def one_sample_run():
    return solve(make_config([2, 2, 2], samples=1))


def test_two_two_two_one_sample_bharadwaj_hosten(one_sample_run, tmp_path):
    """(2,2,2), m = 1, generic Λ: 33 complex critical points, 16 = 4·2·2 with one active neuron,
    none mixed. A point with one weight zeroed by hand breaks the check."""
    run = one_sample_run
    assert run.summary["complex_solutions"] == 33 and run.summary["complete"]
    th = run.summary["theory"]
    assert th["bharadwaj_hosten_pattern_ok"] is True
    assert th["bharadwaj_hosten"]["one_active"] == 16 and th["bharadwaj_hosten"]["points_with_mixed_neurons"] == 0
    assert th["zero_classes"]["all"] == {
        "active=0,inactive=2,mixed=0": 1,
        "active=1,inactive=1,mixed=0": 16,
        "active=2,inactive=0,mixed=0": 16,
    }
    assert sum(p["count"] for p in th["rank_patterns"]["real"]) == run.summary["real_solutions"]
    assert th["saddle_types"]["strict"] == run.summary["classes"]["by_class"]["saddle"]

    pts = run.points
    both = np.flatnonzero(pts.zero_class == "active=2,inactive=0,mixed=0")[0]
    tampered = pts.solutions.copy()
    tampered[both, 0] = 0.0
    k = len(tampered)
    cp = classify(run.problem, tampered, np.ones(k, int), np.zeros(k, bool), np.zeros(k), np.ones(k))
    bh = theory.bharadwaj_hosten(run.problem, cp.neuron_counts, "generalized")
    assert bh["pattern_ok"] is False and bh["points_with_mixed_neurons"] == 1

    two = Problem.from_config(make_config([2, 2, 2], samples=2))
    assert theory.bharadwaj_hosten(two, cp.neuron_counts, "generalized")["applies"] is False
    assert theory.bharadwaj_hosten(run.problem, cp.neuron_counts, "l2")["applies"] is False

    write_outputs(run, tmp_path / "out")
    header = (tmp_path / "out" / "critical_points.csv").read_text().splitlines()[0].split(",")
    for column in ("zero_class", "saddle_type", "pure_spurious", "eigen_subset", "rank_criterion"):
        assert column in COLUMNS and column in header
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| saddle type | zero class |" in report and "rank criterion |" not in report
    assert ("Bharadwaj–Hoşten", "ok: 16 point(s) with one active neuron (expected 16), 0 with a mixed neuron") in (
        summary_lines(run.summary)
    )


# --------------------------------------------------------- pure vs spurious
def test_pure_and_spurious_by_hand_filling():
    """(2,2,2) is filling: pure ⇔ ∇ℓ(P) = (PX − Y)Xᵀ = 0."""
    p, M, U = _plain((2, 2, 2))
    u1, u2 = U[:, :1], U[:, 1:]
    Z = np.zeros((2, 2))
    G = np.array([[2.0, 1.0], [0.5, 1.0]])
    pts = [
        [M, np.eye(2)],  # least squares optimum
        [G @ M, np.linalg.inv(G)],  # the same P, another factorisation
        [Z, Z],  # P = 0 while YXᵀ ≠ 0
        [np.vstack([u1.T @ M, 0 * u1.T]), np.hstack([u1, 0 * u1])],  # S = {1}: rank-constrained optimum
        [np.vstack([u2.T @ M, 0 * u2.T]), np.hstack([u2, 0 * u2])],  # S = {2}
    ]
    cp = _classify(p, pts)
    x = cp.solutions.real
    assert np.abs(p.gradient(x)).max() < 1e-10
    assert cp.pure_spurious.tolist() == ["pure", "pure", "spurious", "spurious", "spurious"]
    assert cp.eigen_subset.tolist() == ["1,2", "1,2", "", "1", "2"]
    assert cp.rank_criterion.tolist() == ["global_minimum"] * 2 + ["strict_saddle"] * 3
    assert cp.saddle_type.tolist() == ["", "", "strict", "strict", "strict"]
    assert theory.theory_summary(p, cp, "none")["pure_spurious"]["stratum_critical"] == 5  # PᵀG = 0 = GPᵀ
    # with YXᵀ = 0 the origin is a pure critical point (and the global minimum)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 5))
    Y = rng.standard_normal((2, 5)) @ (np.eye(5) - X.T @ np.linalg.solve(X @ X.T, X))
    q = Problem.from_data((2, 2, 2), X, Y, [np.zeros((2, 2))] * 2)
    origin = _classify(q, [[Z, Z]])
    assert origin.pure_spurious.tolist() == ["pure"] and origin.rank_criterion.tolist() == ["global_minimum"]


def test_pure_and_spurious_by_hand_non_filling():
    """(2,1,2), r = 1 < 2: a rank-one critical P is a smooth point of M_1, hence pure (even the
    saddle S = {2}); P = 0 is singular on M_1 and spurious. Every critical point satisfies the
    stratum condition, which is why it is not the default convention."""
    p, M, U = _plain((2, 1, 2), seed=1)
    u1, u2 = U[:, :1], U[:, 1:]
    cp = _classify(p, [[u1.T @ M, u1], [2 * u2.T @ M, u2 / 2], [np.zeros((1, 2)), np.zeros((2, 1))]])
    assert np.abs(p.gradient(cp.solutions.real)).max() < 1e-10
    assert cp.pure_spurious.tolist() == ["pure", "pure", "spurious"]
    assert cp.rank_criterion.tolist() == ["global_minimum", "strict_saddle", "strict_saddle"]
    assert cp.min_eigenvalue[1] < -1e-3 and cp.min_eigenvalue[2] < -1e-3
    stratum = theory.pure_spurious(p, cp.solutions, cp.product_ranks, cp.is_real, convention="stratum")
    assert stratum.tolist() == ["pure"] * 3
    summary = theory.theory_summary(p, cp, "none")
    assert summary["pure_spurious"] | {"reason": None} == {
        "applies": True,
        "reason": None,
        "convention": "normal_cone",
        "pure": 2,
        "spurious": 1,
        "stratum_critical": 3,
    }
    with pytest.raises(ValueError, match="convention"):
        theory.pure_spurious(p, cp.solutions, cp.product_ranks, cp.is_real, convention="other")


# ------------------------------------------------------------ rank criterion
def test_rank_criterion_three_layers_against_the_hessian():
    """(2,2,2,2): a rank-one point whose three layers all have rank one ("tightened") has a
    positive semidefinite Hessian — undecided by the rank tests, a non-strict candidate by second
    order; the same P with a full-rank middle layer, or with S = {2}, is a strict saddle."""
    p, M, U = _plain((2, 2, 2, 2), seed=3)
    u1, u2 = U[:, :1], U[:, 1:]
    e1 = np.array([[1.0], [0.0]])
    pts = [
        [M, np.eye(2), np.eye(2)],
        [e1 @ (u1.T @ M), e1 @ e1.T, u1 @ e1.T],
        [e1 @ (u1.T @ M), np.eye(2), u1 @ e1.T],
        [e1 @ (u2.T @ M), e1 @ e1.T, u2 @ e1.T],
        [np.zeros((2, 2))] * 3,
    ]
    cp = _classify(p, pts)
    assert np.abs(p.gradient(cp.solutions.real)).max() < 1e-10
    # AMG's Theorem 7 decides what statements 1-4 left undecided: tightened → non-strict
    assert cp.rank_criterion.tolist() == [
        "global_minimum",
        "non_strict_saddle",
        "strict_saddle",
        "strict_saddle",
        "non_strict_saddle",
    ]
    assert cp.tightened.tolist() == ["yes", "yes", "no", "yes", "yes"]
    assert np.all(cp.rank_margin > 6)
    assert cp.saddle_type.tolist() == ["", "non_strict_candidate", "strict", "strict", "non_strict_candidate"]
    assert cp.cls[1] == "degenerate" and cp.min_eigenvalue[1] > -1e-10
    assert cp.eigen_subset.tolist() == ["1,2", "1", "1", "2", ""]
    assert cp.pure_spurious.tolist() == ["pure"] + ["spurious"] * 4
    summary = theory.theory_summary(p, cp, "none")
    crit = summary["rank_criterion"]
    assert crit["counts"] == {"global_minimum": 1, "strict_saddle": 2, "non_strict_saddle": 2}
    assert crit["contradicts_hessian"] == 0 and crit["contradicts_statements"] == 0
    assert crit["method"] == theory.AMG and crit["weakest_margin_decades"] > 6
    assert summary["saddle_types"] == {"strict": 2, "non_strict_candidate": 2}


def test_rank_criterion_never_contradicts_the_hessian_on_random_critical_points():
    """Critical points W_i = R_i F_i R_{i−1}⁻¹ (F_i = I or a rank-s projector, R random) of
    P = Π_S M: 'strict_saddle' must come with a negative eigenvalue, 'global_minimum' and
    'non_strict_saddle' without."""
    rng = np.random.default_rng(7)
    seen: dict[str, int] = {}
    for _ in range(120):
        H, d = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        p, M, U = _plain((d,) * (H + 1), m=6, seed=int(rng.integers(1 << 30)))
        s = int(rng.integers(0, d + 1))
        S = sorted(rng.choice(d, s, replace=False).tolist()) if rng.random() < 0.5 else list(range(s))
        UH = U[:, S + [i for i in range(d) if i not in S]]
        E = np.diag([1.0] * s + [0.0] * (d - s))
        R = [np.linalg.inv(np.vstack([UH[:, :s].T @ M, rng.standard_normal((d - s, d))]))]
        R += [rng.standard_normal((d, d)) for _ in range(H - 1)] + [UH]
        bottleneck = set(rng.choice(H, int(rng.integers(1, H + 1)), replace=False).tolist())
        W = [R[i + 1] @ (E if i in bottleneck else np.eye(d)) @ np.linalg.inv(R[i]) for i in range(H)]
        cp = _classify(p, [W])
        if np.abs(p.gradient(cp.solutions.real)).max() > 1e-8:
            continue  # not every bottleneck placement is critical
        verdict = cp.rank_criterion[0]
        seen[verdict] = seen.get(verdict, 0) + 1
        if verdict == "strict_saddle":
            assert cp.hessian_index[0] > 0
        if verdict in ("global_minimum", "non_strict_saddle"):
            assert cp.min_eigenvalue[0] >= -1e-8 * cp.max_eigenvalue[0]
        assert cp.eigen_subset[0] == ",".join(str(i + 1) for i in sorted(S))
    assert set(seen) == {"global_minimum", "strict_saddle", "non_strict_saddle"}, seen


def test_rank_criterion_and_purity_need_an_unregularised_loss_and_invertible_xxt():
    p, M, U = _plain((3, 2, 2), m=2)  # m < d0: X Xᵀ singular
    _, _, reason = theory.data_spectrum(p)
    assert "singular" in reason
    q = Problem.from_data((1, 1, 1), [[1.0]], [[2.0]], [np.array([[0.25]]), np.array([[0.49]])])
    assert theory.data_spectrum(q)[2] == theory.NOT_F_OF_P
    cp = _classify(q, [[np.zeros((1, 1)), np.zeros((1, 1))]])
    summary = theory.theory_summary(q, cp, "generalized")
    assert summary["pure_spurious"]["applies"] is False and "Λ ≠ 0" in summary["pure_spurious"]["reason"]
    assert summary["rank_criterion"]["applies"] is False
    lines = dict(theory_lines(summary))
    assert lines["pure / spurious"].startswith("n/a: ") and "rank criterion" not in lines


# ----------------------------------------------------------------- saddles
def test_saddle_types_on_hand_made_spectra():
    eig = np.array(
        [
            [-1.0, 0.0, 2.0],  # negative eigenvalue: strict
            [0.0, 1e-12, 3.0],  # zeros, none negative: undecided by second order
            [-1e-12, 1.0, 2.0],  # −1e-12 is zero within EIGEN_TOL·2: candidate, not strict
            [1.0, 2.0, 3.0],  # positive definite
            [0.0, 1.0, 2.0],  # zero eigenvalue at the global minimum: not a candidate
            [-3.0, -2.0, -1.0],  # negative definite: strict by the literature's definition
        ]
    )
    neg, zero = eigen_signature(eig)
    assert neg.tolist() == [1, 0, 0, 0, 0, 3] and zero.tolist() == [1, 2, 1, 0, 1, 0]
    cls = np.array(["saddle", "degenerate", "degenerate", "local_minimum", "global_minimum", "maximum"], dtype=object)
    types = theory.saddle_types(np.ones(6, bool), neg, zero, cls)
    assert types.tolist() == ["strict", "non_strict_candidate", "non_strict_candidate", "", "", "strict"]
    assert theory.saddle_types(np.zeros(1, bool), np.array([-1]), np.array([-1]), np.array([""])).tolist() == [""]


def test_markdown_report_shows_theory_columns_when_they_apply(monkeypatch):
    import dlnlandscape.reports.text as report

    p, M, U = _plain((2, 1, 2), seed=1)
    cp = _classify(p, [[U[:, :1].T @ M, U[:, :1]]])
    checks = {"max_residual": 0, "within_bounds": True, "origin_found": False, "real_parity_ok": None}
    summary = {"name": "t", "checks": checks, "orbits": {"missing_images": 0}, "warnings": []}
    summary["theory"] = theory.theory_summary(p, cp, "none")
    row = {"id": 0, "real": True, "loss": 1.0, "hessian_index": 0, "class": "global_minimum", "zero_pattern": "11|11"}
    row |= {"rank_end_to_end": 1, "orbit": 0, "orbit_size": 1, "saddle_type": "", "pure_spurious": "pure"}
    row |= {"zero_class": "active=1,inactive=0,mixed=0", "rank_criterion": "global_minimum", "tightened": "yes"}
    monkeypatch.setattr(report, "summary_lines", lambda s: [])  # the header block needs a whole run
    text = markdown_report(summary, [row])
    assert "| pure / spurious | rank criterion | tightened |" in text
    assert text.rstrip().endswith("| active=1,inactive=0,mixed=0 | pure | global_minimum | yes |")


# ------------------------------------------------- AMG's Theorem 7 at random
def _critical_point(p: Problem, subset: list[int], tight: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """second_order.critical_point's random critical point (tightened or not), as layers."""
    found, _ = second_order.setting(p)
    assert found is not None
    return [layer[0] for layer in p.unpack(second_order.critical_point(p, found, subset, tight, rng)[None])]


@pytest.mark.parametrize("widths", [(2, 2, 2), (3, 2, 2), (2, 2, 2, 2), (3, 3, 2, 2), (2, 2, 2, 2, 2), (3, 2, 3, 2, 2)])
def test_amg_theorem_7_on_random_critical_points_against_the_hessian(widths):
    """Random critical points of every kind (each S ⊂ {1..d_H} with |S| ≤ r_max, tightened and
    not): the verdict never contradicts the Hessian (strict saddle ⇔ a negative eigenvalue, a
    non-strict saddle and a minimum have none) nor statements 2-4; for H = 2 every saddle is
    strict; for H ≥ 3 every r < r_max has both kinds (Prop. 8)."""
    from itertools import combinations

    p, _, _ = _plain(widths, m=6, seed=len(widths) * 10 + widths[0])
    rng = np.random.default_rng(5)
    r_max = min(widths)
    points, leading_rank = [], []
    for r in range(r_max + 1):
        for subset in combinations(range(widths[-1]), r):
            for tight in (True, False):
                points.append(_critical_point(p, list(subset), tight, rng))
                leading_rank.append(r if list(subset) == list(range(r)) else -1)
    cp = _classify(p, points)
    x = cp.solutions.real
    assert np.abs(p.gradient(x)).max() < 1e-9 * max(1.0, np.abs(x).max()) ** (2 * p.depth)
    summary = theory.theory_summary(p, cp, "none")["rank_criterion"]
    assert summary["method"] == theory.AMG
    assert summary["contradicts_hessian"] == 0 and summary["contradicts_statements"] == 0
    verdict, saddle = cp.rank_criterion, cp.saddle_type
    assert set(verdict) <= {"global_minimum", "strict_saddle", "non_strict_saddle"}
    assert np.all((verdict == "strict_saddle") == (saddle == "strict"))
    assert np.all(cp.rank_margin > 4)
    leading_rank = np.array(leading_rank)
    assert np.all((verdict == "global_minimum") == (leading_rank == r_max))
    for r in range(r_max):
        kinds = set(verdict[leading_rank == r])
        assert kinds == ({"strict_saddle"} if p.depth == 2 else {"strict_saddle", "non_strict_saddle"}), (r, kinds)


@pytest.mark.parametrize(
    "kwargs,reason",
    [
        ({"widths": (2, 3), "m": 4}, "H = 1"),
        ({"widths": (2, 2, 3), "m": 4}, "more outputs than inputs"),
        ({"widths": (3, 2, 2), "m": 2}, "X Xᵀ is singular"),
    ],
)
def test_amg_says_which_assumption_fails(kwargs, reason):

    p, _, _ = _plain(kwargs["widths"], m=kwargs["m"])
    found, why = second_order.setting(p)
    assert found is None and why.startswith("not applicable: ") and reason in why
    penalised = Problem.from_data((2, 2, 2), np.eye(2), np.eye(2), [np.ones((2, 2))] * 2)
    assert "Λ ≠ 0" in second_order.setting(penalised)[1]
    residual = Problem.from_data((2, 2, 2), np.eye(2), np.diag([2.0, 1.0]), [np.zeros((2, 2))] * 2, residual=True)
    assert "residual" in second_order.setting(residual)[1]
