"""doctor.py (`dln doctor`): what the installation has and where it keeps things."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlnlandscape import doctor
from dlnlandscape.cli import main
from dlnlandscape.common import caches


def test_dln_doctor_lists_every_part_and_the_cache_places(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    names = [line[2:].split("  ")[0].strip() for line in result.output.splitlines()]
    for name in ("python", "numba", "msolve", "julia", "dask", "cache directory", "BKK cache"):
        assert name in names, result.output
    assert str(tmp_path / "cache") in result.output
    findings = json.loads(CliRunner().invoke(main, ["doctor", "--json"]).output)
    assert {f["name"] for f in findings} >= {"python", "numba", "dask"} and all("ok" in f for f in findings)


def _index_files(cache: Path) -> list[Path]:
    package = Path(doctor.__file__).resolve().parent
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    out = []
    for relative, names in caches.COMPILED.items():
        source = package / relative
        sub = cache / f"{source.parent.name}_{hashlib.sha1(str(source.parent).encode()).hexdigest()}"
        functions = caches.compiled_functions(source, names)
        out += [sub / f"{source.stem}.{name}-{line}.{tag}.nbi" for name, line in functions]
    return out


def test_numba_cache_state_tells_cold_partly_warm_and_stale(tmp_path: Path):
    assert doctor.numba_cache_state(None)[1] is False
    assert doctor.numba_cache_state(tmp_path)[0].startswith("cold")
    files = _index_files(tmp_path)
    # the entry points a solve calls (their callees are compiled into them)
    assert sorted(f.name.split("-")[0] for f in files) == [
        "bkk._child_region",
        "bkk._feasible",
        "bkk._filter_all",
        "kernel.track_paths",
    ]
    for f in files[:3]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    assert doctor.numba_cache_state(tmp_path)[0].startswith("partly warm: 3 of 4")
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    assert doctor.numba_cache_state(tmp_path)[0].startswith("warm")
    os.utime(files[0], (0, 0))  # older than its source: numba recompiles it
    assert "older than their source" in doctor.numba_cache_state(tmp_path)[0]


def test_a_solve_tells_first_that_it_compiles_until_the_tracking_kernel_is_cached(tmp_path: Path, monkeypatch):
    """The first native solve compiles for ~30 s: it says so on stderr before it starts, and not
    once the tracking kernel (which embeds every evaluator) is cached."""
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    cache, _ = caches.numba_cache_dir()
    assert "compiling the engine's kernels first" in (caches.first_run_notice() or "")
    track = next(f for f in _index_files(cache) if ".track_paths-" in f.name)
    track.parent.mkdir(parents=True, exist_ok=True)
    track.write_bytes(b"")
    assert caches.first_run_notice() is None
    os.utime(track, (0, 0))  # older than kernel.py: numba recompiles it
    assert caches.first_run_notice() is not None


def test_the_engine_tells_a_progress_with_notice_and_spares_one_without(monkeypatch):
    """The native engine's compile notice goes to `progress.notice`; a caller's own progress
    object without that method (the Python API takes any) gets nothing and no error."""
    from dlnlandscape.engines.native.engine import _announce_compile

    monkeypatch.setattr(caches, "first_run_notice", lambda: "compiling (test)")
    heard: list[str] = []

    class Speaks:
        def notice(self, text: str) -> None:
            heard.append(text)

    class Silent:
        def note(self, text: str) -> None:
            heard.append("note: " + text)

    _announce_compile(Speaks())
    _announce_compile(Silent())
    _announce_compile(None)
    assert heard == ["compiling (test)"]


def test_the_names_looked_for_are_those_numba_writes():
    """The index files in this machine's real numba cache (written by the other tests' solves)
    all carry names doctor expects — numba's own naming, not a guess."""
    from dlnlandscape.common.caches import numba_cache_dir

    cache, _ = numba_cache_dir()
    if cache is None or not any(cache.rglob("*.nbi")):
        pytest.skip("numba's cache is empty here (nothing compiled yet)")
    expected = {p.relative_to(cache) for p in _index_files(cache)}
    written = {
        p.relative_to(cache) for p in cache.rglob("*.nbi") if p.parent.name.split("_")[0] in ("native", "analysis")
    }
    package = Path(doctor.__file__).resolve().parent
    ours = {
        p
        for p in written
        if p.parts[0].endswith(hashlib.sha1(str(package / "analysis").encode()).hexdigest())
        or p.parts[0].endswith(hashlib.sha1(str(package / "engines" / "native").encode()).hexdigest())
    }
    assert ours, "no index file of this package's kernels where doctor looks"
    current = {p for p in ours if p in expected}
    assert current, sorted(map(str, ours))[:5]


def test_the_build_warm_up_solves_the_quickstart_config():
    """doctor.WARM_UP is what `pip install .` compiles the kernels with (build_backend/): the
    quickstart a newcomer runs first, kept in step with configs/quickstart.yaml."""
    import yaml

    quickstart = yaml.safe_load(
        (Path(doctor.__file__).resolve().parents[1] / "configs" / "quickstart.yaml").read_text()
    )
    for key in ("architecture", "data", "regularization"):
        assert doctor.WARM_UP[key] == quickstart[key], key
    assert doctor.WARM_UP["solver"] == {**quickstart["solver"], "backend": "native"}
