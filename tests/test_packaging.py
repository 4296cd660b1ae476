"""pyproject.toml lists every package of the source tree: a missing one installs fine with
`pip install -e .` (the source tree is on the path) and breaks `pip install .` at the first
import — as `dlnlandscape.pipeline` and `dlnlandscape.engines.native.homotopies` once did."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is Python 3.11+")
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "dlnlandscape").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set()
