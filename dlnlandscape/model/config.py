"""Architecture configs: parse, validate and resolve a YAML file into a `Config`.

Unknown keys are errors (they are usually typos), and every error names the file, the field and
the fix.  Decimal literals keep the text they were written with, so the exact cross-check can
turn `0.1` into 1/10 rather than into the binary float nearest to it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError
from .loss import LOSS_KINDS, SQUARE, DataLoss
from .options import DEFAULTS as SOLVER_DEFAULTS
from .options import SolverOptions, parse_solver_options

REGULARIZATION_KINDS = ("none", "l2", "generalized")
CONVENTIONS = ("squared", "linear")
NORMALIZATIONS = ("sum", "mean")

SCHEMA: dict[str, dict[str, Any]] = {
    "architecture": {"widths": None, "residual": False},
    "data": {
        "samples": None,
        "seed": 0,
        "X": None,
        "Y": None,
        "file": None,
        "normalization": "sum",
        "decimals": None,
        "instances": 1,
    },
    "regularization": {
        "kind": "generalized",
        "lambda": None,
        "low": 0.1,
        "high": 1.0,
        "seed": 1,
        "Lambda": None,
        "convention": "squared",
        "decimals": None,
        "scale": 1,
    },
    # the data term (model/loss.py); low, high, seed and decimals draw weights or Q when not given
    "loss": {"kind": "square", "weights": None, "Q": None, "low": None, "high": None, "seed": None, "decimals": None},
    "solver": dict(SOLVER_DEFAULTS),
    "output": {"dir": None},
}
MAX_FORM_ROWS = 1000  # the loss's form Q is (dH·m)², dense: beyond this many rows it is itself the problem
LOSS_DRAW = {"low": 0.1, "high": 1.0, "seed": 3}  # drawn weights: uniform on [low, high], this seed
TOP_LEVEL = ("name", *SCHEMA)
# Unknowns (weights) or data entries a config may ask for: beyond it even drawing the numbers
# takes memory and minutes, for systems nothing can solve (`pipeline/cost.py`).
MAX_ENTRIES = 10_000_000


class LiteralFloat(float):
    """A float that remembers the decimal text it was written as (for exact conversion)."""

    text: str

    def __new__(cls, text: str) -> LiteralFloat:
        value = super().__new__(cls, float(text.replace("_", "")))
        value.text = text.replace("_", "")
        return value

    def __reduce__(self) -> tuple[type, tuple[str]]:  # copies keep the literal
        return (LiteralFloat, (self.text,))


class YamlLoader(yaml.SafeLoader):
    """Safe YAML loader whose floats keep their literal text, and which reads numbers as YAML
    1.2 does: PyYAML follows YAML 1.1, where `1e-3`, `1E5` and `.5e-2` are *strings* (1.1 wants
    a dot and a signed exponent) — but that is how people write small regularisers."""


# YAML 1.2 core-schema floats (and 1.1's underscores); an integer without dot or exponent stays int.
YAML12_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT, list("-+0123456789."))


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if np.isfinite(value):
        try:
            Fraction(str(text).replace("_", ""))
            return LiteralFloat(str(text))
        except (ValueError, ZeroDivisionError):
            return value
    return value


YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def to_fraction(value: Any) -> Fraction:
    """Exact rational of a config number: decimal literals as written, floats bit for bit."""
    if isinstance(value, LiteralFloat):
        return Fraction(value.text)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("booleans are not numbers")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(float(value))


@dataclass(frozen=True)
class Config:
    """A validated, resolved config.  Arrays are float64; `*_exact` hold the same numbers as
    object arrays of `Fraction` (decimal literals as written, generated floats exactly).

    The exact arrays are built on first use: a `Fraction` per entry costs ~2 µs, seconds for a
    large architecture that `dln check` only sizes up.  Where the config wrote numbers (inline
    data, explicit Λ, `decimals`, `lambda`) they are kept as given (`given_exact`); elsewhere
    they are the floats' exact values."""

    name: str
    source: str
    widths: tuple[int, ...]
    residual: bool
    samples: int
    X: np.ndarray
    Y: np.ndarray
    normalization: str
    regularization: str
    convention: str
    Lambda: tuple[np.ndarray, ...]
    penalty: tuple[np.ndarray, ...]
    solver: SolverOptions
    output_dir: Path
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    instances: int = 1  # data.instances: random instances of the architecture solved together
    output_origin: str = ""  # where output_dir came from ("--out", "output.dir of <file>"), for errors
    # exact X, Y and penalty where the config wrote them (None: the floats' exact values, built lazily)
    given_exact: tuple[Any, Any, Any] = field(repr=False, default=(None, None, None))
    loss: DataLoss = SQUARE  # the data term, with float weights or Q (loss.py)
    loss_exact: DataLoss = SQUARE  # the same with exact rationals (as written, or the floats' exact values)

    @cached_property
    def X_exact(self) -> np.ndarray:
        return self.given_exact[0] if self.given_exact[0] is not None else _exact_of(self.X)

    @cached_property
    def Y_exact(self) -> np.ndarray:
        return self.given_exact[1] if self.given_exact[1] is not None else _exact_of(self.Y)

    @cached_property
    def penalty_exact(self) -> tuple[np.ndarray, ...]:
        if self.given_exact[2] is not None:
            return self.given_exact[2]
        exact = tuple(_exact_of(lam) for lam in self.Lambda)  # Λ drawn: its floats exactly
        return tuple(m * m for m in exact) if self.convention == "squared" else exact

    @property
    def depth(self) -> int:
        """H, the number of weight matrices."""
        return len(self.widths) - 1

    def resolved(self) -> dict[str, Any]:
        """The config as plain JSON-able data, with every default and random draw filled in."""
        out = copy.deepcopy(self.raw)
        out["name"] = self.name
        out["data"]["X"] = self.X.tolist()
        out["data"]["Y"] = self.Y.tolist()
        out["regularization"]["Lambda"] = [lam.tolist() for lam in self.Lambda]
        if self.loss.weights is not None:
            out["loss"]["weights"] = self.loss.weights.tolist()
        if self.loss.Q is not None:
            out["loss"]["Q"] = self.loss.Q.tolist()
        out["output"]["dir"] = str(self.output_dir)
        return plain_data(out)

    def with_solver(self, **overrides: Any) -> Config:
        """A copy with solver keys replaced (CLI flags such as --seed and --backend; None keeps
        the config's value), validated like the config's own."""
        solver = self.solver.with_overrides(**overrides)
        raw = copy.deepcopy(self.raw)
        raw["solver"] = solver.as_dict()
        return replace(self, solver=solver, raw=raw)

    def instance(self, i: int) -> Config:
        """Instance i of `data.instances`: data seed and regularisation seed shifted by i (instance
        0 is the config itself), everything else equal."""
        document = copy.deepcopy(self.raw)
        document["data"]["instances"] = 1
        document["data"]["seed"] = int(document["data"]["seed"]) + i
        if document["regularization"].get("seed") is not None:
            document["regularization"]["seed"] = int(document["regularization"]["seed"]) + i
        document["solver"] = self.solver.as_dict()
        return replace(
            parse_config(document, source=self.source),
            name=self.name,
            output_dir=self.output_dir,
            output_origin=self.output_origin,
        )

    def with_output(self, directory: Path, origin: str = "--out") -> Config:
        """A copy writing to `directory`; `origin` names the flag or field it came from in errors."""
        raw = copy.deepcopy(self.raw)
        raw["output"]["dir"] = str(directory)
        return replace(self, output_dir=Path(directory), raw=raw, output_origin=origin)


def plain_data(value: Any) -> Any:
    """JSON/YAML-safe plain values: literal floats and NumPy scalars become Python floats."""
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    if isinstance(value, LiteralFloat):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a config file; raise `ConfigError` naming file and field."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise ConfigError(source, "", "no such file; give the path of a YAML config")
    if path.is_dir():
        raise ConfigError(source, "", "is a directory; give the path of a YAML config file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise ConfigError(
            source, "", f"cannot be read ({error.strerror or type(error).__name__}); check its permissions or copy it"
        ) from None
    if not text.strip():
        raise ConfigError(source, "", "the file is empty; start from configs/quickstart.yaml")
    try:
        document = yaml.load(text, Loader=YamlLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(source, where, f"malformed YAML ({problem}); fix the syntax") from None
    return parse_config(document, source=source, base_dir=path.parent, default_name=path.stem)


def parse_config(
    document: Any,
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    default_name: str = "config",
) -> Config:
    """Validate a parsed YAML document (a dict) and resolve data and Λ."""
    if not isinstance(document, dict):
        raise ConfigError(source, "", "expected a mapping with keys " + ", ".join(TOP_LEVEL))
    for key in document:
        if key not in TOP_LEVEL:
            raise ConfigError(source, str(key), f"unknown key; allowed top-level keys: {', '.join(TOP_LEVEL)}")
    raw: dict[str, Any] = {"name": document.get("name", default_name)}
    for section, defaults in SCHEMA.items():
        given = document.get(section, {})
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise ConfigError(source, section, "must be a mapping of keys to values")
        for key in given:
            if key not in defaults:
                raise ConfigError(
                    source,
                    f"{section}.{key}",
                    f"unknown key; allowed under {section}: {', '.join(defaults)}",
                )
        raw[section] = {**defaults, **given}
    if "architecture" not in document:
        raise ConfigError(source, "architecture", "missing; add architecture.widths: [d0, ..., dH]")
    if "data" not in document:
        raise ConfigError(source, "data", "missing; add data.samples and data.seed (or X and Y)")

    name = raw["name"]
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigError(source, "name", "must be a non-empty string without '/'")

    widths = _widths(raw["architecture"]["widths"], source)
    residual = _bool(raw["architecture"]["residual"], source, "architecture.residual")
    X, Y, X_exact, Y_exact, samples = _data(raw["data"], widths, source, base_dir)
    instances = raw["data"]["instances"]
    if not _is_int(instances) or instances < 1:
        raise ConfigError(source, "data.instances", f"got {instances!r}; must be an integer >= 1")
    if instances > 1 and (raw["data"]["X"] is not None or raw["data"]["file"] is not None):
        raise ConfigError(source, "data.instances", "instances draw random data from data.seed; remove data.X/Y/file")
    if instances > 1 and raw["regularization"]["Lambda"] is not None:
        raise ConfigError(
            source, "data.instances", "instances draw Λ from regularization.seed; remove regularization.Lambda"
        )
    normalization = _choice(raw["data"]["normalization"], NORMALIZATIONS, source, "data.normalization")
    kind, convention, Lambda, penalty, penalty_exact = _regularization(raw["regularization"], widths, source)
    loss, loss_exact = _loss(raw["loss"], widths[-1], samples, source)
    solver = parse_solver_options(raw["solver"], source)
    out = raw["output"]["dir"]
    if out is None:
        out = f"results/{name}"
    if not isinstance(out, str) or not out:
        raise ConfigError(source, "output.dir", "must be a directory path (a string)")
    raw["output"]["dir"] = out
    raw["solver"] = solver.as_dict()
    return Config(
        name=name,
        source=source,
        widths=widths,
        residual=residual,
        samples=samples,
        X=X,
        Y=Y,
        normalization=normalization,
        regularization=kind,
        convention=convention,
        Lambda=Lambda,
        penalty=penalty,
        solver=solver,
        output_dir=Path(out),
        raw=raw,
        instances=int(instances),
        output_origin=f"output.dir of {source}",
        given_exact=(X_exact, Y_exact, penalty_exact),
        loss=loss,
        loss_exact=loss_exact,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _bool(value: Any, source: str, field: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(source, field, f"must be true or false, got {value!r}")
    return value


def _choice(value: Any, choices: tuple[str, ...], source: str, field: str) -> str:
    if value not in choices:
        raise ConfigError(source, field, f"got {value!r}; choose one of {', '.join(choices)}")
    return str(value)


def _widths(value: Any, source: str) -> tuple[int, ...]:
    field = "architecture.widths"
    if value is None:
        raise ConfigError(source, field, "missing; give a list [d0, hidden..., dH]")
    if not isinstance(value, list) or len(value) < 2:
        raise ConfigError(source, field, "must be a list of at least two widths [d0, ..., dH]")
    for k, w in enumerate(value):
        if not _is_int(w) or w < 1:
            raise ConfigError(source, f"{field}[{k}]", f"got {w!r}; every width is an integer >= 1")
    n = sum(int(a) * int(b) for a, b in zip(value[:-1], value[1:]))
    if n > MAX_ENTRIES:
        raise ConfigError(
            source,
            field,
            f"{n:,} unknowns: too many to even set up (limit {MAX_ENTRIES:,}; systems solved here have tens of "
            "unknowns, see `dln check`); use smaller widths",
        )
    return tuple(int(w) for w in value)


def _matrix(value: Any, shape: tuple[int, int], source: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    """A nested list of numbers of the given shape, as floats and as exact Fractions."""
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ConfigError(source, field, f"must be a {shape[0]} x {shape[1]} list of lists")
    rows = len(value)
    cols = {len(row) for row in value}
    if rows != shape[0] or cols != {shape[1]}:
        got = f"{rows} x {sorted(cols)[0] if len(cols) == 1 else 'ragged'}"
        raise ConfigError(source, field, f"has shape {got}, expected {shape[0]} x {shape[1]}")
    for i, row in enumerate(value):
        for j, entry in enumerate(row):
            if not _is_number(entry) or not np.isfinite(float(entry)):
                raise ConfigError(source, f"{field}[{i}][{j}]", f"got {entry!r}; must be a finite number")
    exact = np.array([[to_fraction(e) for e in row] for row in value], dtype=object).reshape(shape)
    return np.array(value, dtype=float).reshape(shape), exact


def _decimals(value: Any, source: str, field: str) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 1 <= value <= 15:
        raise ConfigError(source, field, f"got {value!r}; must be an integer from 1 to 15 (or omitted)")
    return int(value)


def _rounded(values: np.ndarray, decimals: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Generated numbers, optionally rounded to short decimals that convert to small exact
    rationals (msolve's exact verification is much faster on those than on 53-bit floats)."""
    if decimals is None:
        return values, None  # the floats' exact values, built when needed (Config.X_exact)
    exact = np.array([Fraction(format(v, f".{decimals}f")) for v in values.ravel()], dtype=object)
    exact = exact.reshape(values.shape)
    return np.array([float(f) for f in exact.ravel()]).reshape(values.shape), exact


def _exact_of(array: np.ndarray) -> np.ndarray:
    return np.array([Fraction(float(v)) for v in array.ravel()], dtype=object).reshape(array.shape)


def _data(
    data: dict[str, Any], widths: tuple[int, ...], source: str, base_dir: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    d0, dH = widths[0], widths[-1]
    samples = data["samples"]
    inline = data["X"] is not None or data["Y"] is not None
    if inline and data["file"] is not None:
        raise ConfigError(source, "data.file", "give either inline X and Y or a file, not both")
    if samples is None:
        if inline and isinstance(data["X"], list) and data["X"] and isinstance(data["X"][0], list):
            samples = len(data["X"][0])
        elif not inline and data["file"] is None:
            raise ConfigError(source, "data.samples", "missing; give the number of samples m >= 1")
    if samples is not None and (not _is_int(samples) or samples < 1):
        raise ConfigError(source, "data.samples", f"got {samples!r}; must be an integer >= 1")
    if samples is not None and (d0 + dH) * samples > MAX_ENTRIES:
        raise ConfigError(
            source, "data.samples", f"{samples:,} samples: over {MAX_ENTRIES:,} numbers of data; use fewer"
        )
    if inline:
        if data["X"] is None or data["Y"] is None:
            missing = "data.X" if data["X"] is None else "data.Y"
            raise ConfigError(source, missing, "inline data needs both X (d0 x m) and Y (dH x m)")
        X, X_exact = _matrix(data["X"], (d0, samples), source, "data.X")
        Y, Y_exact = _matrix(data["Y"], (dH, samples), source, "data.Y")
        return X, Y, X_exact, Y_exact, samples
    if data["file"] is not None:
        return _data_file(data["file"], d0, dH, samples, source, base_dir)
    rng = _seeded(data["seed"], source, "data.seed")
    decimals = _decimals(data["decimals"], source, "data.decimals")
    X, X_exact = _rounded(rng.standard_normal((d0, samples)), decimals)
    Y, Y_exact = _rounded(rng.standard_normal((dH, samples)), decimals)
    return X, Y, X_exact, Y_exact, samples


def _data_file(
    name: Any, d0: int, dH: int, samples: int | None, source: str, base_dir: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    if not isinstance(name, str):
        raise ConfigError(source, "data.file", "must be the path of an .npz file with arrays X and Y")
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise ConfigError(source, "data.file", f"{path} does not exist; give an .npz with X and Y")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive or "Y" not in archive:
                raise ConfigError(source, "data.file", f"{path} must contain arrays named X and Y")
            X = np.asarray(archive["X"], dtype=float)
            Y = np.asarray(archive["Y"], dtype=float)
    except ConfigError:
        raise
    except OSError as exc:  # permission, a directory, an I/O error: the file system's, not the format's
        what = exc.strerror or type(exc).__name__
        raise ConfigError(
            source, "data.file", f"cannot read {path} ({what}); check its permissions, or give another .npz file"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a config error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            source, "data.file", f"cannot read {path} as .npz ({first}); give an .npz with arrays X and Y"
        ) from None
    m = X.shape[1] if X.ndim == 2 else -1
    if X.ndim != 2 or X.shape[0] != d0:
        raise ConfigError(source, "data.file", f"X in {path} has shape {X.shape}, expected ({d0}, m)")
    if Y.shape != (dH, m):
        raise ConfigError(source, "data.file", f"Y in {path} has shape {Y.shape}, expected ({dH}, {m})")
    if samples is not None and samples != m:
        raise ConfigError(source, "data.samples", f"is {samples} but {path} holds {m} samples")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ConfigError(source, "data.file", f"{path} contains NaN or infinite values")
    return X, Y, None, None, m


def _seeded(seed: Any, source: str, field: str) -> np.random.Generator:
    """The generator of a config's `seed` field (an integer >= 0)."""
    if not _is_int(seed) or seed < 0:
        raise ConfigError(source, field, f"got {seed!r}; must be an integer >= 0")
    return np.random.default_rng(seed)


def _uniform_draws(
    section: str, low: Any, high: Any, seed: Any, decimals: Any, shapes: list, source: str, entry: str
) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], int | None]:
    """Positive numbers drawn uniform in [low, high) from `seed`, one array per shape, rounded to
    `decimals` (`_rounded`: floats and exact values) — Λ's and drawn loss weights alike — and the
    decimals; each field of `section` checked in turn, a draw rounded to 0 refused."""
    low = _positive(low, source, f"{section}.low")
    high = _positive(high, source, f"{section}.high")
    if high <= low:
        raise ConfigError(source, f"{section}.high", f"must exceed low ({low}), got {high}")
    rng = _seeded(seed, source, f"{section}.seed")
    digits = _decimals(decimals, source, f"{section}.decimals")
    pairs = [_rounded(rng.uniform(low, high, size=s), digits) for s in shapes]
    if any(np.any(p[0] <= 0) for p in pairs):
        raise ConfigError(source, f"{section}.decimals", f"rounding made {entry} 0; use more decimals")
    return pairs, digits


def _positive(value: Any, source: str, field: str, allow_zero: bool = False) -> float:
    ok = _is_number(value) and np.isfinite(float(value)) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(source, field, f"got {value!r}; must be a number {bound}")
    return float(value)


def _regularization(
    reg: dict[str, Any], widths: tuple[int, ...], source: str
) -> tuple[str, str, tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...] | None]:
    """Λ per layer, and the gradient's penalty coefficients C_i (Λ∘Λ, or Λ with the linear
    convention) as floats and as exact Fractions — every Λ entry times `scale`, so that a sweep
    over the scale keeps one random pattern of Λ while the regularisation shrinks (Mehta et
    al.'s experiment: more critical points as it decreases)."""
    kind, convention, Lambda, penalty, exact = _unscaled_regularization(reg, widths, source)
    scale = _positive(reg["scale"], source, "regularization.scale")
    if scale == 1:
        return kind, convention, Lambda, penalty, exact
    if kind == "none":
        raise ConfigError(source, "regularization.scale", "only used with kind: l2 or generalized (kind is none)")
    exact_scale = to_fraction(reg["scale"])
    power = 1 if convention == "linear" and kind == "generalized" else 2  # C = Λ, or C = Λ∘Λ (l2: λ = Λ²)
    Lambda = tuple(m * scale for m in Lambda)
    penalty = tuple(c * scale**power for c in penalty)
    if exact is not None:
        exact = tuple(c * exact_scale**power for c in exact)
    if any(np.any(c <= 0) or not np.all(np.isfinite(c)) for c in penalty):
        raise ConfigError(source, "regularization.scale", f"{reg['scale']!r} makes a penalty 0 or infinite")
    return kind, convention, Lambda, penalty, exact


def _unscaled_regularization(
    reg: dict[str, Any], widths: tuple[int, ...], source: str
) -> tuple[str, str, tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...] | None]:
    """`_regularization` before the scale."""
    kind = _choice(reg["kind"], REGULARIZATION_KINDS, source, "regularization.kind")
    convention = _choice(reg["convention"], CONVENTIONS, source, "regularization.convention")
    shapes = [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    if kind != "l2" and reg["lambda"] is not None:
        raise ConfigError(source, "regularization.lambda", f"only used with kind: l2 (kind is {kind})")
    if kind != "generalized" and reg["Lambda"] is not None:
        raise ConfigError(source, "regularization.Lambda", f"only used with kind: generalized (kind is {kind})")
    if kind == "none":
        zeros = tuple(np.zeros(s) for s in shapes)
        exact = tuple(np.full(s, Fraction(0), dtype=object) for s in shapes)
        return kind, convention, zeros, zeros, exact
    if kind == "l2":
        if reg["lambda"] is None:
            raise ConfigError(source, "regularization.lambda", "missing; kind l2 needs lambda > 0")
        lam = _positive(reg["lambda"], source, "regularization.lambda")
        # Every Λ entry is sqrt(lambda), so the penalty is lambda/2 Σ‖W_i‖² in either convention.
        Lambda = tuple(np.full(s, np.sqrt(lam)) for s in shapes)
        penalty = tuple(np.full(s, lam) for s in shapes)
        exact = tuple(np.full(s, to_fraction(reg["lambda"]), dtype=object) for s in shapes)
        return kind, convention, Lambda, penalty, exact
    if reg["Lambda"] is not None:
        given = reg["Lambda"]
        if not isinstance(given, list) or len(given) != len(shapes):
            raise ConfigError(
                source,
                "regularization.Lambda",
                f"must be a list of {len(shapes)} matrices (one per weight matrix)",
            )
        pairs = [_matrix(m, s, source, f"regularization.Lambda[{i}]") for i, (m, s) in enumerate(zip(given, shapes))]
        for i, (values, _) in enumerate(pairs):
            if np.any(values <= 0):
                raise ConfigError(source, f"regularization.Lambda[{i}]", "entries must be > 0")
        Lambda = tuple(p[0] for p in pairs)
        Lambda_exact = tuple(p[1] for p in pairs)
    else:
        pairs, decimals = _uniform_draws(
            "regularization", reg["low"], reg["high"], reg["seed"], reg["decimals"], shapes, source, "an entry"
        )
        Lambda = tuple(p[0] for p in pairs)
        if decimals is None:  # the floats' exact values, built when needed (Config.penalty_exact)
            return kind, convention, Lambda, tuple(m * m for m in Lambda) if convention == "squared" else Lambda, None
        Lambda_exact = tuple(p[1] for p in pairs)
    if convention == "squared":
        return kind, convention, Lambda, tuple(m * m for m in Lambda), tuple(m * m for m in Lambda_exact)
    return kind, convention, Lambda, Lambda, Lambda_exact


def _loss(section: dict[str, Any], dH: int, m: int, source: str) -> tuple[DataLoss, DataLoss]:
    """The `loss:` section as float and exact `DataLoss`es: weights (dH × m, positive) or Q
    ((dH·m)², symmetric positive definite), given or drawn from `seed` (model/loss.py)."""
    kind = _choice(section["kind"], LOSS_KINDS, source, "loss.kind")
    owner = {"weights": "weighted", "low": "weighted", "high": "weighted", "Q": "quadratic_form"}
    for key, wanted in owner.items():
        if section[key] is not None and kind != wanted:
            raise ConfigError(source, f"loss.{key}", f"only used with kind: {wanted} (kind is {kind})")
    for key in ("seed", "decimals"):
        if section[key] is not None and kind == "square":
            raise ConfigError(source, f"loss.{key}", "only used with kind: weighted or quadratic_form (kind is square)")
    if kind == "square":
        return SQUARE, SQUARE
    size = dH * m
    if size > MAX_FORM_ROWS:  # the form Q is kept as a dense (dH·m)² matrix (model/loss.py)
        raise ConfigError(
            source,
            "loss.kind",
            f"{kind} on {size:,} residual entries (dH·m) needs a {size:,}² form; "
            f"at most {MAX_FORM_ROWS:,}: use fewer samples (or kind: square)",
        )
    given = section["weights" if kind == "weighted" else "Q"]
    if given is not None:
        for key in ("seed", "decimals", "low", "high"):
            if section[key] is not None:
                what = "weights" if kind == "weighted" else "Q"
                raise ConfigError(source, f"loss.{key}", f"draws {what}, which loss.{what} already gives; remove one")
    seed = LOSS_DRAW["seed"] if section["seed"] is None else section["seed"]
    if kind == "weighted":
        if given is not None:
            weights, exact = _matrix(given, (dH, m), source, "loss.weights")
            bad = np.argwhere(weights <= 0)
            if bad.size:
                i, j = bad[0]
                raise ConfigError(source, f"loss.weights[{i}][{j}]", f"got {given[i][j]!r}; every weight must be > 0")
        else:
            low, high = (LOSS_DRAW[k] if section[k] is None else section[k] for k in ("low", "high"))
            pairs, _ = _uniform_draws("loss", low, high, seed, section["decimals"], [(dH, m)], source, "a weight")
            weights, exact = pairs[0]
        exact = _exact_of(weights) if exact is None else exact
        return DataLoss("weighted", weights=weights), DataLoss("weighted", weights=exact)
    if given is not None:
        Q, exact = _matrix(given, (size, size), source, "loss.Q")
        for i, j in zip(*np.triu_indices(size, 1)):
            if exact[i, j] != exact[j, i]:
                raise ConfigError(
                    source,
                    f"loss.Q[{i}][{j}]",
                    f"is {given[i][j]!r} but Q[{j}][{i}] is {given[j][i]!r}; Q must be symmetric",
                )
        what = "Q"
    else:
        rng = _seeded(seed, source, "loss.seed")
        decimals = _decimals(section["decimals"], source, "loss.decimals")
        A = rng.standard_normal((size, size))
        drawn = np.eye(size) + A @ A.T / size  # a random inner product, condition number ~ 5
        upper, upper_exact = _rounded(np.triu(drawn), decimals)
        Q = upper + np.triu(upper, 1).T
        exact = None if upper_exact is None else upper_exact + np.triu(upper_exact, 1).T
        what = "the drawn Q (loss.decimals)"
    smallest = float(np.linalg.eigvalsh(Q).min())
    if not smallest > 1e-12 * max(1.0, float(np.abs(Q).max())):
        raise ConfigError(
            source,
            "loss.Q",
            f"{what} is not positive definite (smallest eigenvalue {smallest:.3g}); give an inner product",
        )
    exact = _exact_of(Q) if exact is None else exact
    return DataLoss("quadratic_form", Q=Q), DataLoss("quadratic_form", Q=exact)
