"""Config parsing: defaults, exact literals, and one clear error per kind of bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dlnlandscape.errors import ConfigError
from dlnlandscape.model.config import load_config, parse_config, to_fraction

from .conftest import make_config


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_and_seeded_data(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "architecture: {widths: [2, 3, 1]}\ndata: {samples: 4, seed: 7}\n"))
    assert cfg.name == "c" and cfg.widths == (2, 3, 1) and cfg.samples == 4
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(cfg.X, rng.standard_normal((2, 4)))
    np.testing.assert_array_equal(cfg.Y, rng.standard_normal((1, 4)))
    assert cfg.regularization == "generalized"
    lam = np.random.default_rng(1)
    expected = [lam.uniform(0.1, 1.0, size=s) for s in [(3, 2), (1, 3)]]
    for got, want in zip(cfg.Lambda, expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(cfg.penalty[0], expected[0] ** 2)
    assert cfg.solver.seed == 42 and cfg.solver.backend == "auto"
    assert str(cfg.output_dir) == "results/c"


def test_decimal_literals_convert_exactly(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "architecture: {widths: [1, 1, 1]}\ndata: {X: [[0.1]], Y: [[2]]}\n"
            "regularization: {kind: generalized, Lambda: [[[0.5]], [[0.3]]]}\n",
        )
    )
    assert cfg.X_exact[0, 0] == Fraction(1, 10)
    assert cfg.penalty_exact[1][0, 0] == Fraction(9, 100)
    assert to_fraction(0.1) != Fraction(1, 10)  # a plain float is converted bit for bit
    assert cfg.samples == 1


@pytest.mark.parametrize(
    ("literal", "exact"),
    [
        ("1e-3", Fraction(1, 1000)),
        ("1E-3", Fraction(1, 1000)),
        ("1e3", Fraction(1000)),
        ("1E+3", Fraction(1000)),
        (".5e-2", Fraction(1, 200)),
        ("5.e-1", Fraction(1, 2)),
        ("2.5e-1", Fraction(1, 4)),
        ("+1e-1", Fraction(1, 10)),
        (".25", Fraction(1, 4)),
        ("3.", Fraction(3)),
        ("0.1", Fraction(1, 10)),
        ("1_000.5", Fraction(2001, 2)),
    ],
)
def test_numbers_as_people_write_them(tmp_path: Path, literal: str, exact: Fraction) -> None:
    """YAML 1.2 numbers (PyYAML's YAML 1.1 reads 1e-3 as a string) everywhere a number goes,
    converted exactly as written."""
    cfg = load_config(
        write(
            tmp_path,
            f"architecture: {{widths: [1, 1, 1]}}\ndata: {{X: [[{literal}]], Y: [[{literal}]]}}\n"
            f"regularization: {{kind: l2, lambda: {literal}}}\nsolver: {{verify_timeout: {literal}}}\n",
        )
    )
    assert cfg.X_exact[0, 0] == exact and cfg.Y_exact[0, 0] == exact
    assert cfg.penalty_exact[0][0, 0] == exact and cfg.penalty[0][0, 0] == float(exact)
    assert cfg.solver.verify_timeout == float(exact)


def test_l2_penalty_and_linear_convention() -> None:
    cfg = parse_config(
        {"architecture": {"widths": [2, 2]}, "data": {"samples": 1}, "regularization": {"kind": "l2", "lambda": 0.25}}
    )
    assert np.all(cfg.penalty[0] == 0.25) and cfg.penalty_exact[0][0, 0] == Fraction(1, 4)
    lin = parse_config(
        {
            "architecture": {"widths": [1, 1]},
            "data": {"samples": 1},
            "regularization": {"kind": "generalized", "Lambda": [[[0.5]]], "convention": "linear"},
        }
    )
    assert lin.penalty[0][0, 0] == 0.5


BAD = [
    ("", "", "empty"),
    ("architecture: [widths\n", "line", "malformed YAML"),
    ("architecture: {widths: [2, 2]}\n", "data", "missing"),
    ("architecture: {widths: [2, 2]}\ndata: {samples: 1}\nsolvr: {}\n", "solvr", "unknown key"),
    ("architecture: {widths: [2, 2], resid: true}\ndata: {samples: 1}\n", "architecture.resid", "unknown key"),
    ("architecture: {widths: [2, 0]}\ndata: {samples: 1}\n", "architecture.widths[1]", ">= 1"),
    ("architecture: {widths: [2, -3]}\ndata: {samples: 1}\n", "architecture.widths[1]", ">= 1"),
    ("architecture: {widths: [2, 1.5]}\ndata: {samples: 1}\n", "architecture.widths[1]", "integer"),
    ("architecture: {widths: [2]}\ndata: {samples: 1}\n", "architecture.widths", "at least two"),
    ("architecture: {widths: [2, 2]}\ndata: {samples: 0}\n", "data.samples", ">= 1"),
    ("architecture: {widths: [2, 2]}\ndata: {X: [[1, 2]], Y: [[1, 2], [3, 4]]}\n", "data.X", "shape"),
    ("architecture: {widths: [1, 1]}\ndata: {samples: 2, X: [[1, 2]], Y: [[1]]}\n", "data.Y", "shape"),
    ("architecture: {widths: [1, 1]}\ndata: {file: nowhere.npz}\n", "data.file", "does not exist"),
    (
        "architecture: {widths: [1, 1]}\ndata: {samples: 1}\nregularization: {kind: l3}\n",
        "regularization.kind",
        "choose",
    ),
    ("architecture: {widths: [1, 1]}\ndata: {samples: 1}\nsolver: {backend: gpu}\n", "solver.backend", "choose"),
    (
        "architecture: {widths: [1, 1]}\ndata: {samples: 1}\nregularization: {kind: l2}\n",
        "regularization.lambda",
        "missing",
    ),
    (
        "architecture: {widths: [1, 1]}\ndata: {samples: 1}\nregularization: {kind: none, lambda: 1}\n",
        "regularization.lambda",
        "only used",
    ),
    (
        "architecture: {widths: [1, 1]}\ndata: {samples: 1}\nregularization: {low: 1, high: 0.5}\n",
        "regularization.high",
        "exceed",
    ),
    ("- just\n- a list\n", "", "mapping"),
]


@pytest.mark.parametrize("text,field,words", BAD)
def test_bad_input_names_file_field_and_reason(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert field in message and words in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="directory"):
        load_config(tmp_path)


def test_data_file(tmp_path: Path) -> None:
    X = np.arange(6.0).reshape(2, 3)
    Y = np.ones((1, 3))
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    cfg = load_config(write(tmp_path, "architecture: {widths: [2, 1]}\ndata: {file: d.npz}\n"))
    assert cfg.samples == 3 and np.array_equal(cfg.X, X)
    np.savez(tmp_path / "bad.npz", X=X, Z=Y)
    with pytest.raises(ConfigError, match="arrays named X and Y"):
        load_config(write(tmp_path, "architecture: {widths: [2, 1]}\ndata: {file: bad.npz}\n", "b.yaml"))


@pytest.mark.parametrize("value", [0, -1, "soon", True])
def test_bad_time_limit(value):
    with pytest.raises(ConfigError, match="solver.time_limit"):
        make_config([2, 2, 2], 1, solver={"time_limit": value})


def test_time_limit_in_seconds():
    assert make_config([2, 2, 2], 1, solver={"time_limit": 90}).solver.time_limit == 90.0
    assert make_config([2, 2, 2], 1).solver.time_limit is None


def test_regularisation_scale_multiplies_lambda_exactly() -> None:
    """regularization.scale multiplies every Λ entry: the squared penalty by scale², the linear
    one by scale, exactly (Fractions) when the draw is rounded; l2's λ by scale²."""
    base = make_config([2, 2, 2], 2, data={"decimals": 3}, regularization={"seed": 1, "decimals": 3})
    half = make_config([2, 2, 2], 2, data={"decimals": 3}, regularization={"seed": 1, "decimals": 3, "scale": 0.5})
    for a, b in zip(base.Lambda, half.Lambda):
        np.testing.assert_allclose(b, 0.5 * a, rtol=1e-15)
    for a, b in zip(base.penalty_exact, half.penalty_exact):
        assert all(y == Fraction(1, 4) * x for x, y in zip(a.ravel(), b.ravel()))
    linear = make_config([2, 2, 2], 2, regularization={"convention": "linear", "scale": 3})
    plain = make_config([2, 2, 2], 2, regularization={"convention": "linear"})
    np.testing.assert_allclose(linear.penalty[0], 3 * plain.penalty[0], rtol=1e-15)
    l2 = make_config([2, 2, 2], 2, regularization={"kind": "l2", "lambda": 0.5, "scale": 2})
    np.testing.assert_allclose(l2.penalty[0], np.full((2, 2), 2.0), rtol=1e-15)


@pytest.mark.parametrize(
    "reg,words",
    [
        ({"kind": "none", "scale": 2}, "only used with kind: l2 or generalized"),
        ({"scale": True}, "must be a number > 0"),
        ({"scale": 0}, "must be a number > 0"),
        ({"scale": 1e-200}, "makes a penalty 0"),
    ],
)
def test_bad_regularisation_scale(reg: dict, words: str) -> None:
    with pytest.raises(ConfigError, match="regularization.scale") as error:
        make_config([2, 2, 2], 2, regularization=reg)
    assert words in str(error.value)
