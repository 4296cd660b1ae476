"""Kernels compiled when the wheel is built (build_backend/dln_build.py) and copied into numba's
cache on first use (common/precompiled.py): numba must *load* them at the new install path without
compiling, only where they fit, and never over numba's own fresh files; the rewritten wheel must
stay a valid wheel (RECORD)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from dlnlandscape.common import precompiled

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "build_backend"))
dln_build = pytest.importorskip("dln_build", reason="the build backend needs setuptools")

MODULE = """
import numba

@numba.njit(cache=True)
def value(x):
    return x + 1
"""
CALL = (
    "from pkg import mod; s = mod.value.stats; "
    "print(mod.value(1), sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
)


def _call(root: Path, cache: Path) -> tuple[int, int, int]:
    """value(1), cache hits, cache misses of a fresh process importing pkg.mod from `root`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env.update(NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-c", CALL], env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, hits, misses = (int(v) for v in done.stdout.split())
    return first, hits, misses


def _package(root: Path) -> Path:
    package = root / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(textwrap.dedent(MODULE))
    return package


def _ship(built: Path, cache: Path, into: Path, host: dict) -> Path:
    """What the build does: the cache files numba wrote for `built` (a package), as they would sit
    in the wheel, and a manifest for `host`; returns the shipped directory."""
    shipped = into / dln_build.SHIPPED
    for name, data in precompiled.cache_files(cache, package=built).items():
        target = shipped / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (shipped / precompiled.MANIFEST).write_text(json.dumps(host))
    return shipped


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A package compiled at one path with its numba cache in another (the build's temporary dirs)."""
    root = tmp_path_factory.mktemp("build")
    _package(root / "site")
    assert _call(root / "site", root / "numba") == (2, 0, 1)  # compiled, and saved
    return root / "site" / "pkg", root / "numba"


def _installed(tmp_path: Path, built: tuple[Path, Path], host: dict) -> tuple[Path, Path, Path]:
    """The package installed at a new path, its shipped files, and an empty user cache."""
    package, numba_cache = built
    install = tmp_path / "venv" / "site-packages"
    shutil.copytree(package, install / "pkg")
    shipped = _ship(package, numba_cache, tmp_path / "wheel", host)
    return install, shipped, tmp_path / "user-cache"


def test_a_kernel_compiled_at_build_time_loads_at_the_install_path_without_compiling(tmp_path: Path, built):
    install, shipped, cache = _installed(tmp_path, built, precompiled.host())
    assert _call(install, cache)[2] == 1  # not seeded: the new path has nothing, numba compiles
    shutil.rmtree(cache)
    written = precompiled.seed_numba_cache(cache, package=install / "pkg", shipped=shipped)
    assert [p.name for p in written] == [p.name for p in (shipped / "numba").rglob("*.nbi")]
    assert written[0].parent == precompiled.numba_cache_folder(cache, install / "pkg")
    assert _call(install, cache) == (2, 1, 0)  # loaded from the copied files, nothing compiled
    assert precompiled.seed_numba_cache(cache, package=install / "pkg", shipped=shipped) == []  # numba's own now


@pytest.mark.parametrize("field", ["numba", "python", "cpu", "cpu_features"])
def test_files_built_for_another_numba_python_or_cpu_are_not_copied(tmp_path: Path, built, field: str):
    host = {**precompiled.host(), field: "something else"}
    install, shipped, cache = _installed(tmp_path, built, host)
    assert precompiled.seed_numba_cache(cache, package=install / "pkg", shipped=shipped) == []
    assert not cache.exists() or not list(cache.rglob("*.nbi"))


def test_numbas_own_fresh_index_is_kept_and_a_stale_one_replaced(tmp_path: Path, built):
    install, shipped, cache = _installed(tmp_path, built, precompiled.host())
    folder = precompiled.numba_cache_folder(cache, install / "pkg")
    folder.mkdir(parents=True)
    index = folder / next((shipped / "numba").rglob("*.nbi")).name
    index.write_bytes(b"numba's own index")
    source = install / "pkg" / "mod.py"
    os.utime(index, (source.stat().st_mtime + 10,) * 2)  # written after the install: fresh
    assert precompiled.seed_numba_cache(cache, package=install / "pkg", shipped=shipped) == []
    assert index.read_bytes() == b"numba's own index"
    os.utime(index, (source.stat().st_mtime - 10,) * 2)  # from before this install: stale
    assert precompiled.seed_numba_cache(cache, package=install / "pkg", shipped=shipped) == [index]
    assert _call(install, cache) == (2, 1, 0)


def test_nothing_shipped_nothing_copied(tmp_path: Path):
    assert precompiled.seed_numba_cache(tmp_path / "c", package=tmp_path, shipped=tmp_path / "none") == []
    assert not (tmp_path / "c").exists()


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_files_added_to_a_wheel_are_in_its_record_with_their_hashes(tmp_path: Path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    original = {"demo/__init__.py": b"x = 1\n", "demo-1.0.dist-info/METADATA": b"Name: demo\n"}
    record = "".join(f"{n},{_hash(d)},{len(d)}\n" for n, d in original.items()) + "demo-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in original.items():
            archive.writestr(name, data)
        archive.writestr("demo-1.0.dist-info/RECORD", record)
    added = {"demo/_precompiled/numba/m.f-3.py311.nbi": b"\x80index", "demo/_precompiled/manifest.json": b"{}"}
    dln_build.add_to_wheel(wheel, added)
    with zipfile.ZipFile(wheel) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    rows = list(csv.reader(io.StringIO(contents.pop("demo-1.0.dist-info/RECORD").decode())))
    assert rows[-1] == ["demo-1.0.dist-info/RECORD", "", ""]
    assert contents == {**original, **added}
    assert {row[0]: (row[1], int(row[2])) for row in rows[:-1]} == {n: (_hash(d), len(d)) for n, d in contents.items()}


def test_the_shipped_bkk_numbers_are_read_under_the_users(tmp_path: Path, monkeypatch):
    """The wheel's BKK file answers an architecture the user's cache does not have; the user's
    own entry wins where both have one."""
    from dlnlandscape.analysis import bkk

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    entry = {"status": "computed", "affine": 5, "torus": 4}
    own = {**entry, "affine": 7}
    (shipped / precompiled.BKK_FILE).write_text(json.dumps({"schema": bkk.CACHE_SCHEMA, "9-9": entry, "1-1": entry}))
    monkeypatch.setattr(bkk, "shipped_bkk", lambda: precompiled.shipped_bkk(shipped))
    monkeypatch.setenv("DLN_CACHE_DIR", str(tmp_path / "user"))
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "bkk-v2.json").write_text(json.dumps({"schema": bkk.CACHE_SCHEMA, "1-1": own}))
    cache = bkk._disk_cache()
    assert cache["9-9"] == entry and cache["1-1"] == own


@pytest.mark.slow
def test_pip_wheel_carries_the_tracking_kernel_compiled_for_this_machine(tmp_path: Path):
    """`pip wheel .` (build isolation: the backend installs the runtime dependencies and solves the
    quickstart) ships the tracking kernel's cache files, a manifest of this machine and the
    quickstart's proven set (a build as a user runs it: without the test suite's DLN_REUSE=0)."""
    from dlnlandscape.engines.native.family import Family
    from dlnlandscape.engines.native.proven import family_key
    from dlnlandscape.model.config import load_config
    from dlnlandscape.model.problem import Problem

    env = {k: v for k, v in os.environ.items() if k != "DLN_REUSE"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("dlnlandscape-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        built_for = json.loads(archive.read("dlnlandscape/_precompiled/manifest.json"))
    assert built_for == precompiled.host()
    assert any(n.startswith("dlnlandscape/_precompiled/numba/engines/native/kernel.track_paths-") for n in names)
    assert "dlnlandscape/_precompiled/bkk-v2.json" in names
    quickstart = Family(Problem.from_config(load_config(REPO / "configs" / "quickstart.yaml")))
    assert f"dlnlandscape/_precompiled/proven/{family_key(quickstart)}.npz" in names
