"""Shared helpers: small configs built in memory."""

from __future__ import annotations

from typing import Any

import pytest

from dlnlandscape.model.config import Config, parse_config


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
