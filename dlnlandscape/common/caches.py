"""Where the tool keeps what it can recompute: one user cache directory, never the install.

Two caches: numba's compiled kernels (`engines/native/kernel.py`, `analysis/bkk.py`; a cold
start compiles for ~30 s) and the BKK mixed volumes (`analysis/bkk.py`; they depend on the
architecture only).  Both live under one root:

* ``DLN_CACHE_DIR`` when set, else the platform's user cache directory — ``$XDG_CACHE_HOME`` or
  ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows — plus
  ``dlnlandscape``;
* numba's files in ``<root>/numba`` unless the user set ``NUMBA_CACHE_DIR`` (theirs wins).

Why not numba's default.  numba writes its cache beside the source, into
``site-packages/dlnlandscape/**/__pycache__``: files pip does not know about.  A later
``pip install -e .`` in the same environment then leaves ``dlnlandscape/`` behind as a
directory without ``__init__.py`` — a namespace package that shadows the editable install, and
``dln`` fails with "cannot import name '__version__' from 'dlnlandscape' (unknown location)";
a read-only site-packages (a system or container install) cannot hold the cache at all.

A wheel built by `pip install .` carries the kernels already compiled for the machine it was
built on; `prepare_numba` copies them into numba's cache the first time (`common/precompiled.py`).

`prepare_numba` must run before numba is imported (numba reads ``NUMBA_CACHE_DIR`` at import,
and picks a function's cache location when the function is decorated); it is called at the top
of the two modules that compile.  When neither the chosen directory nor a per-user directory
under the system's temporary directory can be written, caching is switched off (kernels are
compiled in every process, slower but correct) rather than failing.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from .precompiled import BKK_FILE, PROVEN_DIR, numba_cache_folder, seed_numba_cache

APP = "dlnlandscape"


def user_cache_root() -> Path:
    """The platform's per-user cache directory for this tool (not created here)."""
    override = os.environ.get("DLN_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP


def fallback_root() -> Path:
    """A per-user directory under the system's temporary directory (when the home is read-only)."""
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"{APP}-cache-{user}"


def writable(directory: Path) -> bool:
    """Whether files can be created in `directory` (made if missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def cache_root() -> Path:
    """The root the caches are written to: the user cache directory, or the temporary fallback
    when that cannot be written (what `dln doctor` reports)."""
    root = user_cache_root()
    if writable(root):
        return root
    fallback = fallback_root()
    return fallback if writable(fallback) else root


def numba_cache_dir() -> tuple[Path | None, str]:
    """Where numba's cache goes and why: the user's NUMBA_CACHE_DIR, else `<cache_root>/numba`;
    None when nothing writable was found (caching off)."""
    own = os.environ.get("NUMBA_CACHE_DIR")
    if own:
        return Path(own), "NUMBA_CACHE_DIR (set by the user)"
    for root, why in ((user_cache_root(), "user cache directory"), (fallback_root(), "temporary fallback")):
        if writable(root / "numba"):
            return root / "numba", why
    return None, "no writable cache directory: kernels are compiled in every process"


_PREPARED: bool | None = None


def prepare_numba() -> bool:
    """Point numba's cache at the user cache directory (before numba is imported); returns
    whether caching can be used (`cache=` of every `numba.njit` of the package).  Idempotent."""
    global _PREPARED
    if _PREPARED is not None:
        return _PREPARED
    directory, _ = numba_cache_dir()
    if directory is not None and not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(directory)
    if "numba" in sys.modules:  # imported earlier (a notebook): make it read the variable again
        with contextlib.suppress(Exception):
            sys.modules["numba"].core.config.reload_config()
    _PREPARED = directory is not None and writable(directory)
    if _PREPARED:  # a wheel built on this machine carries its kernels compiled (common/precompiled.py)
        seed_numba_cache(directory)
    return _PREPARED


def bkk_cache_file() -> Path:
    """The BKK disk cache (JSON, architecture → mixed volumes)."""
    return cache_root() / BKK_FILE


def proven_cache_dir() -> Path:
    """The proven solution sets later solves start from (engines/native/proven.py), one file per
    architecture family."""
    return cache_root() / PROVEN_DIR


def tolerate_broken_cache(namespace: dict[str, object]) -> None:
    """Make a corrupt or foreign numba cache cost a recompile, not the run.

    numba loads a cached kernel by unpickling its index and data files and lets any error escape
    (a truncated or overwritten file gives "UnpicklingError: invalid load key" in the middle of a
    solve), and it saves through the same index.  For every numba dispatcher in `namespace` (a
    module's globals, after its kernels are defined), a failed load drops the function's index
    (numba's own `flush`) and compiles afresh, which rewrites the files; a failed save is ignored
    (the kernel is compiled and in memory; only the next process pays again).  numba's cache
    object is reached through the dispatcher's `_cache` attribute; without one nothing changes."""
    for value in list(namespace.values()):
        cache = getattr(value, "_cache", None)
        if cache is None or not hasattr(cache, "load_overload") or getattr(cache, "_dln_tolerant", False):
            continue
        load, save = cache.load_overload, cache.save_overload

        def load_overload(*args: object, _load=load, _cache=cache) -> object:  # type: ignore[no-untyped-def]
            try:
                return _load(*args)
            except Exception:  # noqa: BLE001 - unreadable cache: a miss
                with contextlib.suppress(Exception):
                    _cache.flush()
                return None

        def save_overload(*args: object, _save=save) -> None:  # type: ignore[no-untyped-def]
            with contextlib.suppress(Exception):
                _save(*args)

        cache.load_overload, cache.save_overload = load_overload, save_overload
        cache._dln_tolerant = True


# The compiled functions a solve calls from Python, per module: numba caches each of them with
# everything it calls compiled in, so these being cached is what "warm" means.  (Helpers inlined
# into them are never cached on their own; the γ-trick's Newton step and the one-step RK4 compile
# when a start system or a test first uses them.)
FIRST_COMPILE = "~30 s on 2 cores, once per installation"  # the quickstart: benchmarks/results-first-run.md
TRACKING_MODULE = "engines/native/kernel.py"
COMPILED = {
    TRACKING_MODULE: ("track_paths",),
    "analysis/bkk.py": ("_filter_all", "_child_region", "_feasible"),
}


def compiled_functions(source: Path, names: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
    """(name, first line) of the numba-decorated functions of a module (all, or those `names`);
    numba names its cache files `<module>.<name>-<first line>.py<ver>.nbi`, the first line being
    the decorator's."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        wanted = isinstance(node, ast.FunctionDef) and (names is None or node.name in names)
        if wanted and any("njit" in ast.unparse(d) for d in node.decorator_list):
            out.append((node.name, min(d.lineno for d in node.decorator_list)))
    return out


def cache_entries(cache_dir: Path, modules: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    """(module, function, "cached" | "stale" | "missing") for every function of COMPILED (or of
    its `modules` only: each module is parsed to find its functions' lines)."""
    package = Path(__file__).resolve().parent.parent  # the dlnlandscape package
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    out = []
    for relative, names in COMPILED.items():
        if modules is not None and relative not in modules:
            continue
        source = package / relative
        if not source.is_file():
            continue
        sub = numba_cache_folder(cache_dir, source.parent)
        for name, line in compiled_functions(source, names):
            index = sub / f"{source.stem}.{name}-{line}.{tag}.nbi"
            state = "missing"
            if index.is_file():
                state = "stale" if index.stat().st_mtime < source.stat().st_mtime else "cached"
            out.append((relative, name, state))
    return out


def first_run_notice() -> str | None:
    """What to tell before a native solve whose tracking kernel is not in numba's cache yet (else
    None): without it a newcomer's first `dln solve` sits silent through the compile.  (The BKK
    kernels compile only for an architecture whose bound is not in the BKK cache: a few seconds.)"""
    prepare_numba()  # copies a wheel's precompiled kernels into the cache first, where they fit
    cache, _ = numba_cache_dir()
    if cache is None:
        return "numba cannot cache here (no writable cache directory): this solve compiles the engine's kernels first"
    # the kernel module only: every native solve asks, and parsing bkk.py too doubled the cost
    tracking = [state for _, name, state in cache_entries(cache, (TRACKING_MODULE,)) if name == "track_paths"]
    if tracking and tracking[0] == "cached":
        return None
    return f"compiling the engine's kernels first ({FIRST_COMPILE}; `dln doctor` shows the cache state)"
