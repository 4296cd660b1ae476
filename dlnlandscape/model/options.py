"""The solver options as one frozen, validated record: what an engine and the pipeline may ask.

Parsed once from the `solver:` block of a config (`model.config`), then passed down; no module
reads solver options by string key.  The choices are `Literal` types, so a typo in code is a
type error and a typo in a config is a one-line `ConfigError` naming the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from ..errors import ConfigError

Backend = Literal["auto", "native", "julia", "exact"]
Start = Literal["auto", "total_degree", "multihomogeneous", "polyhedral", "monodromy"]
VerifyMethod = Literal["none", "degree", "real"]
CertifyMode = Literal["auto", True, False]
ExecutorName = Literal["threads", "dask"]

BACKENDS: tuple[str, ...] = get_args(Backend)
STARTS: tuple[str, ...] = get_args(Start)
VERIFY_METHODS: tuple[str, ...] = get_args(VerifyMethod)
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)

DEFAULTS: dict[str, Any] = {
    "backend": "auto",
    "start": "auto",
    "seed": 42,
    "threads": "auto",
    "certify": "auto",
    "verify": "none",
    "verify_timeout": 600.0,
    "loops_without_progress": 5,
    "trusted_count": None,
    "time_limit": None,
    "executor": "threads",
    "dask_address": "local",
    "batch_paths": 2048,
    "reuse": None,  # None: the environment's DLN_REUSE, else true
}
REUSE_ENV = "DLN_REUSE"  # 0/false/no: no run reuses or keeps proven sets (test suites, benchmarks)


@dataclass(frozen=True)
class SolverOptions:
    """Validated `solver:` keys (see the README's config reference for what each does)."""

    backend: Backend = "auto"
    start: Start = "auto"
    seed: int = 42
    threads: int = 1  # `auto` is resolved to the cores available when parsed
    certify: CertifyMode = "auto"
    verify: VerifyMethod = "none"
    verify_timeout: float = 600.0
    loops_without_progress: int = 5
    trusted_count: int | Literal["msolve"] | None = None
    time_limit: float | None = None  # seconds; a monodromy solve then stops with a partial result
    executor: ExecutorName = "threads"  # where paths are tracked: this process, or a Dask cluster
    dask_address: str = "local"  # executor dask: local (LocalCluster of `threads` workers), an address, a file
    batch_paths: int = 2048  # executor dask: at most this many paths per task
    # start a monodromy solve from the set an earlier run proved for the same family, and keep
    # this run's proven set (engines/native/proven.py); false: solve from scratch, keep nothing
    reuse: bool = True
    # Not options but provenance, so neither in `as_dict()` nor in comparisons: where the
    # options came from (engines name it in a ConfigError), and where an integer trusted_count
    # came from ("config", or msolve's degree once the pipeline has computed it).
    source: str = field(default="<options>", compare=False, repr=False)
    trusted_count_source: str = field(default="config", compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The options as plain data (summary.json's `config.solver`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.compare}

    def with_overrides(self, **overrides: Any) -> SolverOptions:
        """A copy with the given keys replaced (CLI flags); None means "keep", and the new values
        are validated like the config's."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        changed = parse_solver_options({**self.as_dict(), **given}, "command line")
        return replace(changed, source=self.source, trusted_count_source=self.trusted_count_source)

    def replace(self, **changes: Any) -> SolverOptions:
        return replace(self, **changes)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(value: Any, choices: tuple[str, ...], source: str, field: str) -> str:
    if value not in choices:
        raise ConfigError(source, field, f"got {value!r}; choose one of {', '.join(choices)}")
    return value


def parse_solver_options(solver: dict[str, Any], source: str) -> SolverOptions:
    """Validate a `solver:` block (defaults already filled in) into `SolverOptions`."""
    if not _is_int(solver["seed"]) or solver["seed"] < 0:
        raise ConfigError(source, "solver.seed", f"got {solver['seed']!r}; must be an integer >= 0")
    threads = solver["threads"]
    if threads == "auto":  # every core; results do not depend on the thread count
        threads = available_cores()
    elif not _is_int(threads) or threads < 1:
        raise ConfigError(source, "solver.threads", f"got {threads!r}; must be auto or an integer >= 1")
    loops = solver["loops_without_progress"]
    if not _is_int(loops) or loops < 1:
        raise ConfigError(source, "solver.loops_without_progress", f"got {loops!r}; must be an integer >= 1")
    trusted = solver["trusted_count"]
    if not (trusted is None or trusted == "msolve" or (_is_int(trusted) and trusted >= 1)):
        raise ConfigError(
            source, "solver.trusted_count", f"got {trusted!r}; give an integer >= 1, msolve, or leave it out"
        )
    if not (isinstance(solver["certify"], bool) or solver["certify"] == "auto"):
        raise ConfigError(source, "solver.certify", f"got {solver['certify']!r}; choose auto, true or false")
    timeout = solver["verify_timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(source, "solver.verify_timeout", f"got {timeout!r}; must be a number > 0")
    limit = solver["time_limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0):
        raise ConfigError(source, "solver.time_limit", f"got {limit!r}; give seconds > 0, or leave it out")
    backend = _choice(solver["backend"], BACKENDS, source, "solver.backend")
    executor = _choice(solver["executor"], EXECUTORS, source, "solver.executor")
    address = solver["dask_address"]
    if not isinstance(address, str) or not address.strip():
        raise ConfigError(
            source, "solver.dask_address", f"got {address!r}; give local, a scheduler address or a scheduler file"
        )
    batch = solver["batch_paths"]
    if not _is_int(batch) or batch < 16:
        raise ConfigError(source, "solver.batch_paths", f"got {batch!r}; must be an integer >= 16")
    reuse = solver["reuse"]
    if reuse is None:
        reuse = _reuse_from_environment()
    elif not isinstance(reuse, bool):
        raise ConfigError(
            source, "solver.reuse", f"got {reuse!r}; choose true (reuse proven sets) or false (solve from scratch)"
        )
    if executor == "dask" and backend not in ("auto", "native"):
        raise ConfigError(
            source,
            "solver.executor",
            f"dask runs the built-in engine's paths; backend {backend!r} cannot use it (use auto or native)",
        )
    return SolverOptions(
        backend=backend,  # type: ignore[arg-type]
        start=_choice(solver["start"], STARTS, source, "solver.start"),  # type: ignore[arg-type]
        seed=int(solver["seed"]),
        threads=int(threads),
        certify=solver["certify"],
        verify=_choice(solver["verify"], VERIFY_METHODS, source, "solver.verify"),  # type: ignore[arg-type]
        verify_timeout=float(timeout),
        loops_without_progress=int(loops),
        trusted_count=trusted,
        time_limit=None if limit is None else float(limit),
        executor=executor,  # type: ignore[arg-type]
        dask_address=address.strip(),
        batch_paths=int(batch),
        reuse=reuse,
        source=source,
    )


def _reuse_from_environment() -> bool:
    """`solver.reuse` when the config leaves it out: DLN_REUSE if set (0/false/no, 1/true/yes),
    else true."""
    value = os.environ.get(REUSE_ENV, "").strip().lower()
    if value in ("", "1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ConfigError("environment", REUSE_ENV, f"got {value!r}; set it to 0 or 1 (or unset it)")
