"""Kernels compiled when the wheel was built, handed to numba's cache on first use.

Why.  numba compiles the engine's kernels the first time they run: ~30 s on 2 cores, which a
newcomer's first `dln solve` would spend before solving anything.  `pip install .` builds a
wheel on the machine it installs to, so the package's build backend (`build_backend/`) compiles
the kernels then — `doctor.warm_up()`, a solve of the quickstart — and ships numba's cache
files, plus the BKK numbers that run computed, under ``dlnlandscape/_precompiled/``:

    _precompiled/manifest.json              numba version, Python, CPU they were compiled for
    _precompiled/numba/<package folder>/    numba's *.nbi (index) and *.nbc (data) files
    _precompiled/bkk-v2.json                the BKK disk cache of the warm-up

Why copying them is sound.  numba keys a cache entry on the source file's content hash (not its
mtime), the function's bytecode, its signature, the numba version and the CPU (name and
features); only the cache *folder* depends on where the package is installed
(``<folder name>_<sha1 of its absolute path>``).  So `seed_numba_cache` copies the shipped files
into the folder numba will look in for *this* install — only when the manifest matches this
numba, Python and CPU, and only where numba has no fresh index of its own (never over one
numba wrote after the source was installed).  Wherever they do not fit (a wheel built on
another machine, another numba), nothing is copied and numba compiles as it always did.
Editable and source-tree runs have no `_precompiled/`: they compile on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = Path(os.path.abspath(__file__)).parent.parent  # as numba sees it: abspath, symlinks kept
SHIPPED = PACKAGE / "_precompiled"
MANIFEST = "manifest.json"
NUMBA_FILES = ("*.nbi", "*.nbc")
BKK_FILE = "bkk-v2.json"  # the BKK disk cache's name, in the user cache (caches.bkk_cache_file) and here
PROVEN_DIR = "proven"  # proven solution sets (engines/native/proven.py), in the user cache and here


def numba_cache_folder(cache_dir: Path, source_folder: Path) -> Path:
    """Where numba keeps the cache of the functions of `source_folder`'s modules under
    NUMBA_CACHE_DIR (numba.core.caching: ``<folder name>_<sha1 of the folder's absolute path>``)."""
    folder = os.path.abspath(source_folder)
    return cache_dir / f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"


def python_tag() -> str:
    """The tag in numba's cache file names (``py311``) plus the ABI flags: files of another
    Python are never copied."""
    return f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"


def host() -> dict[str, Any]:
    """What numba's cache entries depend on besides the source: its version, the Python, and the
    CPU name and features numba compiles for (NUMBA_CPU_NAME / NUMBA_CPU_FEATURES when set)."""
    import llvmlite.binding as ll
    import numba

    return {
        "numba": numba.__version__,
        "python": python_tag(),
        "cpu": os.environ.get("NUMBA_CPU_NAME") or ll.get_host_cpu_name(),
        "cpu_features": os.environ.get("NUMBA_CPU_FEATURES") or ll.get_host_cpu_features().flatten(),
    }


def manifest(shipped: Path = SHIPPED) -> dict[str, Any] | None:
    """The shipped manifest, or None (no `_precompiled/`, or unreadable)."""
    try:
        data = json.loads((shipped / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stale_or_missing(index: Path, source_folder: Path) -> bool:
    """Whether numba's index at `index` is absent or older than every source of its folder
    (written before this install, so for other sources) — the same test `dln doctor` makes."""
    try:
        written = index.stat().st_mtime
    except OSError:
        return True
    module = source_folder / (index.name.split(".", 1)[0] + ".py")
    try:
        return written < module.stat().st_mtime
    except OSError:
        return False


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy through a temporary file and rename: a process reading the old file keeps it whole."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def seed_numba_cache(cache_dir: Path, package: Path = PACKAGE, shipped: Path = SHIPPED) -> list[Path]:
    """Copy the wheel's compiled kernels into numba's cache for this install (see the module
    docstring); returns the index files written (none when nothing is shipped, nothing fits, or
    numba's own files are already there).  Never raises: a copy that fails costs a compile."""
    tree = shipped / "numba"
    if not tree.is_dir():
        return []
    written: list[Path] = []
    try:
        wanted = []
        for index in sorted(tree.rglob("*.nbi")):
            source_folder = package / index.parent.relative_to(tree)
            if _stale_or_missing(numba_cache_folder(cache_dir, source_folder) / index.name, source_folder):
                wanted.append((index, source_folder))
        if not wanted:
            return []
        built_for = manifest(shipped)
        if built_for is None or built_for != host():
            return []
        for index, source_folder in wanted:
            target = numba_cache_folder(cache_dir, source_folder)
            target.mkdir(parents=True, exist_ok=True)
            stem = index.name[: -len(".nbi")]
            for data in sorted(index.parent.glob(f"{stem}.*.nbc")):  # the data first, the index last
                _copy_atomically(data, target / data.name)
            _copy_atomically(index, target / index.name)
            written.append(target / index.name)
    except (OSError, ImportError):  # ImportError: no numba (the package runs its NumPy reference then)
        pass
    return written


def cache_files(numba_cache: Path, package: Path = PACKAGE) -> dict[str, bytes]:
    """numba's cache files of `package`'s modules found under `numba_cache`, by their path in
    `_precompiled/` (``numba/<folder relative to the package>/<file>``): what a wheel ships, laid
    out as `seed_numba_cache` reads it back."""
    files: dict[str, bytes] = {}
    for folder in [package, *sorted(p for p in package.rglob("*") if p.is_dir())]:
        cached = numba_cache_folder(numba_cache, folder)
        if not cached.is_dir():
            continue
        relative = folder.relative_to(package).as_posix()
        prefix = "numba" if relative == "." else f"numba/{relative}"
        for path in sorted(cached.iterdir()):
            if path.suffix in (".nbi", ".nbc"):
                files[f"{prefix}/{path.name}"] = path.read_bytes()
    return files


def shipped_bkk(shipped: Path = SHIPPED) -> dict[str, Any]:
    """The BKK numbers computed while the wheel was built (architecture → result), or {}."""
    try:
        data = json.loads((shipped / BKK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
