"""common/caches.py: numba's cache and the BKK cache live in a user cache directory, never in
the install, and a read-only or corrupt cache costs a recompile, not the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlnlandscape.common import caches

PACKAGE = Path(caches.__file__).resolve().parents[1]
REPO = PACKAGE.parent


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "DLN_CACHE_DIR")}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _python(code: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_user_cache_root_follows_the_platform_and_the_overrides(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("DLN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert caches.user_cache_root() == tmp_path / "xdg" / "dlnlandscape"
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path / "mine"))
    assert caches.user_cache_root() == tmp_path / "mine"
    assert caches.bkk_cache_file() == tmp_path / "mine" / "bkk-v2.json"


def test_the_users_numba_cache_dir_wins(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "theirs"))
    assert caches.numba_cache_dir() == (tmp_path / "theirs", "NUMBA_CACHE_DIR (set by the user)")


def test_an_unwritable_cache_directory_falls_back_to_the_temporary_one(monkeypatch, tmp_path: Path):
    """Simulated read-only place (as root, chmod does not stop writes): a path under a file."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("DLN_CACHE_DIR", str(blocker / "cache"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    directory, why = caches.numba_cache_dir()
    assert why == "temporary fallback" and directory is not None and str(directory).startswith(str(tmp_path / "tmp"))
    assert caches.cache_root() == caches.fallback_root()


def test_compiled_functions_are_cached_in_the_user_cache_directory_not_the_package(tmp_path: Path):
    probe = """
        import dlnlandscape.analysis.bkk as bkk, dlnlandscape.engines.native.kernel as kernel
        print(bkk._feasible._cache.cache_path)
        print(kernel._target._cache.cache_path)
    """
    done = _python(probe, _env(DLN_CACHE_DIR=str(tmp_path / "c")))
    assert done.returncode == 0, done.stderr
    paths = done.stdout.split()
    assert len(paths) == 2 and all(p.startswith(str(tmp_path / "c" / "numba")) for p in paths)
    assert not any(p.startswith(str(PACKAGE)) for p in paths)


def test_a_read_only_cache_location_still_runs(tmp_path: Path):
    """The user cache and the temporary fallback both unwritable (read-only home and /tmp): the
    package imports with caching off (numba's NullCache), a compiled function runs, and nothing
    lands in the package."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "probe.py").write_text(MODULE.format(offset=1))
    probe = f"""
        import tempfile
        tempfile.tempdir = {str(blocker / "t")!r}
        from dlnlandscape.common.caches import prepare_numba
        import dlnlandscape.analysis.bkk as bkk, dlnlandscape.engines.native.kernel as kernel
        import probe
        print(prepare_numba(), type(bkk._feasible._cache).__name__, type(kernel._target._cache).__name__)
        print(probe.value(1))
    """
    before = set(PACKAGE.rglob("*.nb[ic]"))
    env = _env(DLN_CACHE_DIR=str(blocker / "c"), PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    done = _python(probe, env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "NullCache", "NullCache", "2"]
    assert set(PACKAGE.rglob("*.nb[ic]")) == before


MODULE = """
from dlnlandscape.common.caches import prepare_numba, tolerate_broken_cache
prepare_numba()
import numba

@numba.njit(cache=True)
def value(x):
    return x + {offset}

tolerate_broken_cache(globals())
"""


@pytest.mark.parametrize(
    "damage", ["both", pytest.param("index", marks=pytest.mark.slow), pytest.param("data", marks=pytest.mark.slow)]
)
def test_a_corrupt_numba_cache_costs_a_recompile_not_the_run(tmp_path: Path, damage: str):
    (tmp_path / "probe.py").write_text(MODULE.format(offset=1))
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "nc"), PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    first = _python("import probe; print(probe.value(1))", env, cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "2", first.stderr
    files = list((tmp_path / "nc").rglob("probe.value-*"))
    assert {f.suffix for f in files} == {".nbi", ".nbc"}
    for f in files:
        if damage == "both" or (damage == "index") == (f.suffix == ".nbi"):
            f.write_bytes(b"\x13garbage, as a full disk or a crash leaves it")
    again = _python("import probe; print(probe.value(1))", env, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip() == "2", again.stderr
    third = _python("import probe; print(probe.value(1))", env, cwd=tmp_path)  # rewritten: loads again
    assert third.returncode == 0 and third.stdout.strip() == "2", third.stderr


def test_a_stale_numba_cache_is_not_used(tmp_path: Path):
    """The source changed after the cache was written (same function, same line): the new code runs."""
    (tmp_path / "probe.py").write_text(MODULE.format(offset=1))
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "nc"), PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    assert _python("import probe; print(probe.value(1))", env, cwd=tmp_path).stdout.strip() == "2"
    (tmp_path / "probe.py").write_text(MODULE.format(offset=10))
    assert _python("import probe; print(probe.value(1))", env, cwd=tmp_path).stdout.strip() == "11"


def test_the_bkk_cache_goes_to_the_cache_directory_and_survives_garbage(tmp_path: Path, monkeypatch):
    """A garbled cache file is not recognisably the tool's, so it is left alone (never destroy
    what the tool did not write): the bound is recomputed, and `dln doctor` names the file."""
    from dlnlandscape.analysis.bkk import bkk_bound, cached_bkk
    from dlnlandscape.doctor import diagnose

    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path))
    assert bkk_bound((1, 1, 1))["affine"] == 5
    assert json.loads((tmp_path / "bkk-v2.json").read_text())["schema"] == "dlnlandscape-bkk-v2"
    (tmp_path / "bkk-v2.json").write_text("{ not json")
    assert cached_bkk((1, 1, 1)) is None
    assert bkk_bound((1, 1, 1))["affine"] == 5
    assert (tmp_path / "bkk-v2.json").read_text() == "{ not json"
    line = next(f for f in diagnose() if f.name == "BKK cache")
    assert "unreadable" in line.state and "rebuilt when removed" in line.state


@pytest.mark.slow
def test_pip_install_then_editable_install_in_one_environment(tmp_path: Path):
    """The reported failure: `pip install .`, a first solve, then `pip install -e .` in the same
    environment left a namespace package (numba's files in site-packages/dlnlandscape) and `dln`
    failed.  Now the first solve writes nothing into the install, and the editable install works."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-deps"]  # build isolation: a current setuptools
    subprocess.run([*pip, str(REPO)], check=True, timeout=600)
    env = _env(DLN_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=None)
    site = subprocess.run(
        [str(python), "-c", "import dlnlandscape, os; print(os.path.dirname(dlnlandscape.__file__))"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "site-packages" in site
    solved = subprocess.run(
        [
            str(venv / "bin" / "dln"),
            "solve",
            str(REPO / "configs" / "quickstart.yaml"),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert solved.returncode == 0, solved.stderr
    # the wheel's own precompiled kernels (in its RECORD, so pip removes them) and nothing else
    assert [p for p in Path(site).rglob("*.nb[ic]") if "_precompiled" not in p.parts] == []
    assert list((tmp_path / "cache" / "numba").rglob("*.nbi"))
    subprocess.run([*pip, "-e", str(REPO)], check=True, timeout=600, cwd=tmp_path)
    version = subprocess.run(
        [str(venv / "bin" / "dln"), "--version"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert version.returncode == 0 and "dln" in version.stdout, version.stderr
