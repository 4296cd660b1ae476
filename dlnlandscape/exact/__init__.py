"""Exact cross-checks with msolve, an external Gröbner-basis solver.

msolve is GPL-licensed; this package only *runs* its binary as a separate program (found on the
machine, never shipped, vendored or imported), writes the gradient system to it exactly and
reads back its answer: the degree of the ideal over a prime field and certified isolating boxes
of the real solutions over the rationals.
"""

from __future__ import annotations

from .msolve import (
    MsolveCrashError,
    MsolveError,
    MsolveOutputError,
    MsolveResult,
    MsolveTimeoutError,
    PositiveDimensionalError,
    degree_mod_p,
    find_msolve,
    msolve_info,
    msolve_version,
    real_solutions,
    write_input,
)
from .verify import verify

__all__ = [
    "MsolveCrashError",
    "MsolveError",
    "MsolveOutputError",
    "MsolveResult",
    "MsolveTimeoutError",
    "PositiveDimensionalError",
    "degree_mod_p",
    "find_msolve",
    "msolve_info",
    "msolve_version",
    "real_solutions",
    "verify",
    "write_input",
]
