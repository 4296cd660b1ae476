"""One `dln solve` in a process of its own, for the benchmark scripts: its peak memory and its
start-up are its own, and a crash is a row, not the end of the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"


def solve_in_process(document: dict[str, Any], time_limit: float, prefix: str) -> tuple[dict[str, Any], str | None]:
    """`dln solve CONFIG --quiet --force --time-limit T` on the config `document`: summary.json
    with the command's wall time added (`wall`), and its text; or {"error", "wall"} and None."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(yaml.safe_dump(document), encoding="utf-8")
        out = Path(tmp) / "result"
        command = [sys.executable, "-m", "dlnlandscape.cli", "solve", str(config), "--out", str(out)]
        command += ["--quiet", "--force", "--time-limit", f"{time_limit:g}"]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - began
        if done.returncode != 0 or not (out / "summary.json").is_file():
            return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1], "wall": wall}, None
        text = (out / "summary.json").read_text()
    return {**json.loads(text), "wall": wall}, text
