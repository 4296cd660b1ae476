"""common/linalg.py: batched solves, the one numerical-rank rule, the data spectrum Σ = T S⁻¹ Tᵀ."""

from __future__ import annotations

import numpy as np

from dlnlandscape.common.linalg import RANK_TOL, data_spectrum, numerical_rank, solve


def _with_singular_values(rng: np.random.Generator, m: int, k: int, values: list[float]) -> np.ndarray:
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((k, k)))
    D = np.zeros((m, k))
    D[np.arange(len(values)), np.arange(len(values))] = values
    return U @ D @ V.T


def test_rank_of_constructed_low_rank_matrices():
    rng = np.random.default_rng(0)
    stack = np.stack(
        [
            _with_singular_values(rng, 4, 3, [3.0, 1e-3, 0.0]),  # rank 2
            _with_singular_values(rng, 4, 3, [5.0, 2.0, 1.0]),  # rank 3
            _with_singular_values(rng, 4, 3, [2.0, 1e-10, 1e-12]),  # rank 1: below RANK_TOL · 2
            np.zeros((4, 3)),  # rank 0
        ]
    )
    assert numerical_rank(stack).tolist() == [2, 3, 1, 0]


def test_the_rank_rule_has_an_absolute_floor():
    rng = np.random.default_rng(1)
    tiny = _with_singular_values(rng, 3, 3, [1e-9, 5e-10, 2e-10])  # all below RANK_TOL · 1
    assert numerical_rank(tiny) == 0
    assert numerical_rank(tiny, floor=0.0) == 3  # purely relative: well conditioned
    at_floor = _with_singular_values(rng, 3, 3, [1.0, 2 * RANK_TOL, 0.5 * RANK_TOL])
    assert numerical_rank(at_floor) == 2
    assert numerical_rank(np.zeros((0, 2, 2))).shape == (0,)


def test_batched_solve_gives_nan_for_singular_systems_only():
    A = np.array([[[2.0, 0.0], [0.0, 4.0]], [[1.0, 2.0], [2.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]])
    b = np.array([[2.0, 2.0], [1.0, 1.0], [3.0, 5.0]])
    x = solve(A, b)
    np.testing.assert_allclose(x[0], [1.0, 0.5])
    assert np.all(np.isnan(x[1]))
    np.testing.assert_allclose(x[2], [5.0, 3.0])


def test_spectrum_against_the_closed_form():
    # X = I (d0 = m = 3): S = s I and T = s Y, so Σ = T S⁻¹ Tᵀ = s Y Yᵀ.  With Y = [diag(3, 1) 0]
    # the eigenvalues are s·9 and s·1, eigenvectors e₁ and e₂.
    s = 1 / 3
    X = np.eye(3)
    Y = np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    spectrum = data_spectrum(s * X @ X.T, s * Y @ X.T, s * float(np.sum(Y**2)))
    assert spectrum is not None
    np.testing.assert_allclose(spectrum.values, [3.0, 1 / 3], rtol=1e-14)
    np.testing.assert_allclose(np.abs(spectrum.vectors), np.eye(2), atol=1e-14)


def test_spectrum_of_random_data_and_exact_zeros():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 5))
    Y = rng.standard_normal((1, 5))
    Y = np.vstack([Y, 2 * Y])  # rank one: one eigenvalue is exactly 0
    S, T = X @ X.T, Y @ X.T
    spectrum = data_spectrum(S, T, float(np.sum(Y**2)))
    assert spectrum is not None
    # Σ = Y P Yᵀ with P the projector onto the row space of X; its one non-zero eigenvalue is
    # ‖P y‖² (1 + 4) for y the first row of Y
    P = X.T @ np.linalg.solve(X @ X.T, X)
    expected = 5 * float(Y[0] @ P @ Y[0])
    np.testing.assert_allclose(spectrum.values[0], expected, rtol=1e-12)
    assert spectrum.values[1] == 0.0
    np.testing.assert_allclose(spectrum.vectors[:, 0] ** 2, [0.2, 0.8], rtol=1e-12)


def test_singular_S_has_no_spectrum():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 2))  # fewer samples than inputs
    Y = rng.standard_normal((2, 2))
    assert data_spectrum(X @ X.T, Y @ X.T, float(np.sum(Y**2))) is None
