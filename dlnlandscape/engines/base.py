"""What every engine returns: path results as arrays, and the protocol engines implement.

Like HomotopyContinuation.jl's `PathResult`, a path's outcome is data — a return code, the
endpoint, its residual, condition number and winding number — and counting or filtering is a
function over those arrays.  Here the arrays hold all paths at once (`(paths,)` and
`(paths, n)`), so analysis stays vectorised and never needs to know which engine ran.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..model.options import SolverOptions
from ..model.problem import Problem
from .control import RunControl
from .stats import EngineStats, MonodromySolveStats, MonodromyStats


class ReturnCode(enum.IntEnum):
    """How a path ended."""

    SUCCESS = 0  # finite, nonsingular endpoint, refined by Newton
    SINGULAR = 1  # finite endpoint with a singular Jacobian (multiple root or positive-dimensional)
    AT_INFINITY = 2  # the path diverged (in projective coordinates: a homogenising coordinate → 0)
    FAILED = 3  # the tracker gave up (step size underflow, too many steps, no convergence)


@dataclass
class PathResults:
    """All tracked paths of one solve.  Affine coordinates; NaN where a path is at infinity."""

    solutions: np.ndarray  # (paths, n) complex
    return_code: np.ndarray  # (paths,) int8, values of ReturnCode
    residual: np.ndarray  # (paths,) ‖∇L‖∞ at the endpoint
    condition: np.ndarray  # (paths,) condition number of the Jacobian at the endpoint
    winding_number: np.ndarray  # (paths,) int, 1 when not computed
    steps: np.ndarray  # (paths,) int, accepted + rejected steps
    accuracy: np.ndarray | None = None  # (paths,) last Newton update norm
    certified: np.ndarray | None = None  # (paths,) bool, when an engine certifies
    added_by_symmetry: np.ndarray | None = None  # (rows,) bool: a sign-flip image, not a tracked path

    def __len__(self) -> int:
        return int(self.return_code.shape[0])

    def mask(self, code: ReturnCode) -> np.ndarray:
        return self.return_code == int(code)

    def is_success(self) -> np.ndarray:
        return self.mask(ReturnCode.SUCCESS)

    def is_singular(self) -> np.ndarray:
        return self.mask(ReturnCode.SINGULAR)

    def is_at_infinity(self) -> np.ndarray:
        return self.mask(ReturnCode.AT_INFINITY)

    def is_failed(self) -> np.ndarray:
        return self.mask(ReturnCode.FAILED)

    def is_tracked(self) -> np.ndarray:
        if self.added_by_symmetry is None:
            return np.ones(len(self), dtype=bool)
        return ~self.added_by_symmetry

    def counts(self) -> dict[str, int]:
        """Path counts in the `paths` block of summary.json (tracked paths only; points added
        as sign-flip images of tracked ones are counted apart)."""
        tracked = self.is_tracked()
        return {
            "tracked": int(np.sum(tracked)),
            "finite": int(np.sum((self.is_success() | self.is_singular()) & tracked)),
            "nonsingular": int(np.sum(self.is_success() & tracked)),
            "singular": int(np.sum(self.is_singular() & tracked)),
            "at_infinity": int(np.sum(self.is_at_infinity() & tracked)),
            "failed": int(np.sum(self.is_failed() & tracked)),
            "added_by_symmetry": int(np.sum(~tracked)),
        }

    @classmethod
    def empty(cls, n: int) -> PathResults:
        """No paths (a solve stopped before its first chunk finished)."""
        return cls(
            solutions=np.zeros((0, n), dtype=complex),
            return_code=np.zeros(0, dtype=np.int8),
            residual=np.zeros(0),
            condition=np.zeros(0),
            winding_number=np.zeros(0, dtype=np.int64),
            steps=np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def concatenate(cls, parts: list[PathResults]) -> PathResults:
        def cat(name: str) -> np.ndarray | None:
            values = [getattr(p, name) for p in parts]
            if any(v is None for v in values):
                return None
            return np.concatenate(values)

        return cls(**{name: cat(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def take(self, index: np.ndarray) -> PathResults:
        return PathResults(
            **{
                name: (None if getattr(self, name) is None else getattr(self, name)[index])
                for name in self.__dataclass_fields__
            }
        )


@dataclass
class SolveResult:
    """An engine's answer: path results plus how they were obtained (for the summary)."""

    paths: PathResults
    engine: str
    start_system: str
    seed: int
    seconds: float
    stats: EngineStats | None = None  # how the engine got there (stats.py)
    exact_degree: int | None = None  # the exact complex count, when the engine computes it (msolve)
    stopped_early: str | None = None  # a partial result: why the engine stopped (control.py)

    @property
    def monodromy(self) -> MonodromyStats | None:
        """The monodromy record of a native monodromy solve (the pipeline checks its counts)."""
        return self.stats.monodromy if isinstance(self.stats, MonodromySolveStats) else None

    def backend_info(self) -> dict[str, Any]:
        """The engine's part of summary.json's `backend` block (the pipeline adds the engine,
        why it was chosen and the start system)."""
        return {} if self.stats is None else self.stats.as_dict()


class Progress(Protocol):
    """What an engine may report while it runs (the CLI's progress bar): the number of paths or
    solutions to expect (0: unknown), how many more are done, a line saying what it knows (a
    monodromy round: solutions per pattern, loops, pace), and the end."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def note(self, text: str) -> None: ...

    def notice(self, text: str) -> None:
        """A one-off line for the person waiting (e.g. that the kernels compile first)."""

    def finish(self) -> None: ...


class Engine(Protocol):
    """An engine takes a problem and solver options and returns path results; nothing more.
    `control` (a time limit, a checkpoint directory, signals received) is honoured by the engines
    that can stop early and continue — the native monodromy solve — and ignored by the others."""

    name: str

    def solve(
        self,
        problem: Problem,
        options: SolverOptions,
        progress: Progress | None = None,
        control: RunControl | None = None,
    ) -> SolveResult: ...
