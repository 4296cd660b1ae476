"""Shared helpers: small configs built in memory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from dlnlandscape.model.config import Config, parse_config

# Every test solves from scratch: a proven set kept by an earlier test (or by the developer's own
# runs) would let a solve skip the loops and the trace test that the test means to exercise.
# Subprocesses inherit it; tests of the reuse itself set `solver.reuse: true` and their own store.
os.environ["DLN_REUSE"] = "0"


def make_config(widths: list[int], samples: int = 1, seed: int = 0, **sections: Any) -> Config:
    document: dict[str, Any] = {
        "architecture": {"widths": widths},
        "data": {"samples": samples, "seed": seed},
        "regularization": {"kind": "generalized"},
    }
    for key, value in sections.items():
        document.setdefault(key, {}).update(value)
    return parse_config(document, source="test")


@pytest.fixture
def config_factory():
    return make_config


TINY = {
    "name": "tiny",
    "base": {"data": {"seed": 0}, "solver": {"backend": "native", "seed": 42}},
    "grid": {"architecture.widths": [[1, 1, 1], [2, 1, 2]], "data.samples": [1, 2]},
}


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny sweep solved for real once (4 points, < 1 s with compiled kernels)."""
    root = tmp_path_factory.mktemp("tiny")
    sweep_file = write_yaml(root / "tiny.yaml", {**TINY, "output": {"dir": str(root / "out")}})
    from dlnlandscape.cli import main

    result = CliRunner().invoke(main, ["sweep", str(sweep_file), "--jobs", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["computed"] == 4
    return root
