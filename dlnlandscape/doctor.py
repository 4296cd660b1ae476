"""`dln doctor`: what this installation has and where it keeps things, in one screen.

A newcomer's first questions — which Python, is numba's compile done yet (a cold first solve
spends ~30 s compiling), is msolve or Julia there, can solves and sweeps use Dask, where do the caches
live — answered without solving anything and without starting Julia.  Each line is a name, a
state and, when something is missing or wrong, the fix.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common.caches import (
    FIRST_COMPILE,
    bkk_cache_file,
    cache_entries,
    cache_root,
    numba_cache_dir,
    prepare_numba,
    proven_cache_dir,
    user_cache_root,
)
from .version import __version__


@dataclass(frozen=True)
class Finding:
    """One line of the report: `ok` False when something is missing or wrong (with the fix)."""

    name: str
    state: str
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "ok": self.ok}


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def numba_cache_state(cache_dir: Path | None) -> tuple[str, bool]:
    """Whether the compiled kernels are in numba's cache: warm, partly, cold or stale."""
    if cache_dir is None:
        return "caching off (no writable cache directory): every process compiles its kernels", False
    entries = cache_entries(cache_dir)
    expected = len(entries)
    cached = sum(1 for *_, state in entries if state != "missing")
    stale = sum(1 for *_, state in entries if state == "stale")
    if expected and cached == expected and not stale:
        return f"warm: all {expected} compiled functions cached", True
    if cached == 0:
        cold = f"cold: none of {expected} compiled functions cached; the first solve compiles them ({FIRST_COMPILE})"
        return cold, True
    note = f", {stale} older than their source (recompiled on first use)" if stale else ""
    state = f"partly warm: {cached} of {expected} compiled functions cached (the rest compile when first used)"
    return state + note, True


def leftovers_in_install() -> list[Path]:
    """numba cache files inside the installed package (written by versions before the caches
    moved to the user cache directory): they make a later `pip install -e .` leave a namespace
    package behind."""
    package = Path(__file__).resolve().parent
    return sorted(p for pattern in ("*.nbi", "*.nbc") for p in package.rglob(f"__pycache__/{pattern}"))


def diagnose() -> list[Finding]:
    """Every finding, in the order `dln doctor` prints them."""
    out = [
        Finding("dlnlandscape", f"{__version__} at {Path(__file__).resolve().parent}"),
        Finding("python", f"{platform.python_version()} ({sys.executable})"),
        Finding("platform", f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"),
    ]
    for name in ("numpy", "python-flint", "click", "pyyaml"):
        version = _version(name)
        out.append(Finding(name, version or "MISSING: pip install dlnlandscape again", version is not None))
    numba = _version("numba")
    directory, why = numba_cache_dir()
    if numba is None:
        out.append(Finding("numba", "MISSING: pip install numba (the native engine runs uncompiled, slowly)", False))
    else:
        prepare_numba()  # a wheel's precompiled kernels are copied in first, as a solve would
        state, ok = numba_cache_state(directory)
        out.append(Finding("numba", f"{numba}; cache {directory or '-'} ({why}); {state}", ok))
        out.append(_precompiled())
    stray = leftovers_in_install()
    if stray:
        folder = Path(__file__).resolve().parent
        installed = any(part in ("site-packages", "dist-packages") for part in folder.parts)
        out.append(
            Finding(
                "old numba cache" + (" in the install" if installed else ""),
                f"{len(stray)} files under {folder}/**/__pycache__ from an earlier version, no longer used; remove "
                f"them (find {folder} -name '*.nb[ic]' -delete)"
                + (" before a `pip install -e .` in this environment" if installed else ""),
                not installed,
            )
        )
    out.append(_msolve())
    out.append(_julia())
    out.append(_dask())
    for name, what in (("pandas", "result.points"), ("matplotlib", "dln plot")):
        version = _version(name)
        out.append(Finding(name, version or f"not installed (optional, for {what}): pip install '.[{_extra(name)}]'"))
    root = cache_root()
    moved = "" if root == user_cache_root() else f" ({user_cache_root()} is not writable: temporary fallback)"
    out.append(Finding("cache directory", f"{root}{moved}; override with DLN_CACHE_DIR"))
    bkk = bkk_cache_file()
    out.append(Finding("BKK cache", f"{bkk} ({_entries(bkk)})"))
    out.append(_proven_sets())
    return out


def _proven_sets() -> Finding:
    """The proven solution sets later solves start from (engines/native/proven.py)."""
    from .common.precompiled import PROVEN_DIR, SHIPPED

    folder = proven_cache_dir()
    kept = list(folder.glob("*.npz"))
    shipped = len(list((SHIPPED / PROVEN_DIR).glob("*.npz")))
    size = sum(path.stat().st_size for path in kept) / 2**20
    return Finding(
        "proven sets",
        f"{folder} ({len(kept)} architecture(s), {size:.1f} MiB"
        + (f"; {shipped} shipped with the wheel" if shipped else "")
        + "): solves of those architectures start there (dln solve --fresh does not); remove the folder to forget them",
    )


def _precompiled() -> Finding:
    """Whether the install carries kernels compiled when its wheel was built, and whether they
    fit this machine (`common/precompiled.py`)."""
    from .common.precompiled import host, manifest

    built = manifest()
    if built is None:
        return Finding("precompiled kernels", "none in this install (editable or source): compiled on first use")
    mine = host()
    differs = [key for key in ("numba", "python", "cpu", "cpu_features") if built.get(key) != mine.get(key)]
    where = f"numba {built.get('numba')}, {built.get('python')}, CPU {built.get('cpu')}"
    if not differs:
        return Finding("precompiled kernels", f"in the wheel, for this machine ({where}): copied into the cache")
    return Finding(
        "precompiled kernels",
        f"in the wheel for {where}; this machine differs in {', '.join(differs)}: compiled on first use instead",
    )


def _extra(name: str) -> str:
    return {"matplotlib": "plot"}.get(name, name)


def _entries(path: Path) -> str:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "empty"
    except (OSError, ValueError) as error:
        return f"unreadable ({type(error).__name__}); it is rebuilt when removed"
    return f"{sum(1 for k in data if k != 'schema')} architectures" if isinstance(data, dict) else "not ours"


def _msolve() -> Finding:
    try:
        from .exact.msolve import msolve_info

        info = msolve_info()
    except Exception as error:  # noqa: BLE001 - a broken optional install is reported, not raised
        return Finding("msolve", f"not usable: {error}", False)
    if info["available"]:
        return Finding("msolve", f"{info['version']} at {info['path']} ({info['source']})")
    return Finding("msolve", f"not found (optional, for --verify): {info['message']}")


def _julia() -> Finding:
    if importlib.util.find_spec("juliacall") is None:
        return Finding("julia", "juliacall not installed (optional): pip install '.[julia]'")
    try:
        from .engines.julia.runtime import julia_available

        found, why = julia_available()
    except Exception as error:  # noqa: BLE001
        return Finding("julia", f"not usable: {error}", False)
    return Finding("julia", ("ready: " if found else "not ready: ") + why)


def _dask() -> Finding:
    version = _version("distributed")
    if version is None:
        return Finding("dask", "not installed (optional, for dln solve/sweep --dask): pip install '.[dask]'")
    return Finding("dask", f"distributed {version} (dln solve/sweep --dask local, or --dask tcp://host:8786)")


WARM_UP: dict[str, Any] = {  # the quickstart (configs/quickstart.yaml), which a newcomer runs first
    "name": "warm-up",
    "architecture": {"widths": [2, 2, 2], "residual": False},
    "data": {"samples": 3, "seed": 0, "decimals": 3},
    "regularization": {"kind": "generalized", "low": 0.1, "high": 1.0, "seed": 1, "decimals": 3},
    "solver": {"backend": "native", "start": "auto", "seed": 42},
}


# The quickstart's own start (monodromy) and the multihomogeneous one that `auto` takes for
# regularisation none or l2: the latter compiles the γ-trick's Newton step and RK4 of its own
# (~9 s on 2 cores at a first multihomogeneous solve otherwise).  Total degree needs nothing more.
WARM_UP_STARTS = ("auto", "multihomogeneous")


def warm_up(into: str | Path) -> int:
    """Compile the kernels solves need by solving the quickstart with each of WARM_UP_STARTS,
    then write into `into` what a wheel ships under `_precompiled/` (`common/precompiled.py`):
    numba's cache files of the package, the manifest of the machine they were compiled for, the
    BKK numbers the solves computed, and the quickstart's proven solution set (engines/native/
    proven.py: a newcomer's first solve starts from it, unless DLN_REUSE=0 during the build).
    The build backend runs it from a freshly built wheel with NUMBA_CACHE_DIR and DLN_CACHE_DIR
    pointing into the build (build_backend/dln_build.py).
    Returns the number of critical points every start agreed on (225), or -1 when they disagree."""
    from .api import solve
    from .common.precompiled import BKK_FILE, MANIFEST, PROVEN_DIR, cache_files, host

    counts = {
        int(solve({**WARM_UP, "solver": {**WARM_UP["solver"], "start": start}}).complex_solutions)
        for start in WARM_UP_STARTS
    }
    directory, _ = numba_cache_dir()
    files = cache_files(directory) if directory is not None else {}
    files[MANIFEST] = (json.dumps(host(), indent=1) + "\n").encode()
    bkk = bkk_cache_file()
    if bkk.is_file():
        files[BKK_FILE] = bkk.read_bytes()
    for kept in sorted(proven_cache_dir().glob("*.npz")):  # the quickstart's proven set
        files[f"{PROVEN_DIR}/{kept.name}"] = kept.read_bytes()
    for name, data in files.items():
        target = Path(into) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return counts.pop() if len(counts) == 1 else -1
