"""Errors the CLI turns into one-line messages and documented exit codes.

Every user-facing failure is one of these, so the CLI can print a single line naming the file,
the field and the fix, and exit with the right code — never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_MISMATCH = 4


class DLNError(Exception):
    """Base class: an error with a one-line message and an exit code."""

    exit_code = EXIT_OTHER


class ConfigError(DLNError):
    """A config file is malformed, incomplete or inconsistent."""

    exit_code = EXIT_USAGE

    def __init__(self, source: str, field: str, reason: str) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + reason)


class BackendUnavailable(DLNError):
    """The requested engine (julia, msolve, ...) cannot run on this machine."""

    exit_code = EXIT_BACKEND


class VerificationMismatch(DLNError):
    """`--strict` was given and the exact cross-check disagreed with the numerical count."""

    exit_code = EXIT_MISMATCH


class OutputPathError(DLNError):
    """An output path holds something the tool did not write (or cannot be written): refused
    before anything is moved or written."""

    exit_code = EXIT_USAGE


class TooExpensive(DLNError):
    """The estimated cost of a solve is beyond what can finish (`pipeline/cost.py`): refused
    before it starts, unless forced (`--force`)."""

    exit_code = EXIT_USAGE
