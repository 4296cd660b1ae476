"""A decomposition's files: the initial solve's usual outputs plus components.json and components.md.

All of them are written into one temporary directory and put in place together
(`common.atomic.result_directory`, kind "components"), under the same rule as a solve's files:
an earlier result of the tool's own is replaced, anything of the user's is refused, and an
interrupted run leaves nothing half-written.  components.json is `Decomposition.as_dict()`
exactly; components.md is the plain-text table the command line prints.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..common.atomic import result_directory
from ..decomposition.result import Decomposition
from .files import write_result_files


def components_markdown(result: Decomposition) -> str:
    """components.md: the text report in a code block under a title."""
    return f"# Components of the critical set: {result.name}\n\n```\n" + "\n".join(result.lines()) + "\n```\n"


def write_components(result: Decomposition, directory: Path, origin: str = "") -> Path:
    """The initial solve's usual outputs plus components.json and components.md, all put in
    place together (`common.atomic.result_directory`)."""
    directory = Path(directory)
    with result_directory(directory, origin, kind="components") as tmp:
        if result.run is not None:
            write_result_files(result.run, tmp)
        (tmp / "components.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
        (tmp / "components.md").write_text(components_markdown(result), encoding="utf-8")
    return directory


__all__ = ["components_markdown", "write_components"]
