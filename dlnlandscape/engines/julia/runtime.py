"""Julia start-up for the `julia` engine — the only module that imports juliacall.

juliacall reads its `PYTHON_JULIACALL_*` options once, when it is first imported, so this
module sets them (threads from `solver.threads`, and the signal handling that Julia's
multithreaded garbage collector needs) right before that import, and nothing else in
dlnlandscape imports juliacall: `import dlnlandscape` stays free of Julia.

Finding Julia must never hang or download behind the user's back.  `detect()` only asks
`julia --version` and juliapkg's dry run, each in a subprocess with a time limit.  `start()`
runs the first-use install (juliapkg fetching Julia if needed, then HomotopyContinuation.jl)
in a subprocess with a time limit too, and imports juliacall only once everything is in place;
every failure becomes one `BackendUnavailable` line saying what failed and how to fix it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...errors import BackendUnavailable

MIN_JULIA = (1, 10)  # HomotopyContinuation.jl 2.x needs Julia 1.10
DETECT_TIMEOUT = 30.0  # seconds for each probe of `detect`
INSTALL_TIMEOUT = 3600.0  # seconds for the first-use install (override: DLN_JULIA_INSTALL_TIMEOUT)
MODULE_FILE = "DLNLandscape.jl"

FIX = (
    "fix: set PYTHON_JULIACALL_EXE and PYTHON_JULIACALL_PROJECT (Julia >= 1.10 and a project with "
    "HomotopyContinuation and PythonCall), or point JULIA_DEPOT_PATH at an existing depot, "
    "or use --backend native"
)

# Run in a subprocess with this process's sys.path, so juliapkg sees the same juliapkg.json
# files as the juliacall import later will (it resolves again if the set differs).
_PROBE = """
import json, sys
sys.path[:] = json.loads(sys.argv[1])
import juliapkg
from juliapkg.state import STATE
out = {"project": STATE.get("project"), "install": STATE.get("install")}
try:
    out["resolved"] = bool(juliapkg.resolve(dry_run=True))
    out["executable"] = juliapkg.executable() if out["resolved"] else None
except Exception as exc:
    out["resolved"], out["error"] = False, f"{type(exc).__name__}: {exc}"
print("\\n" + json.dumps(out))
"""
_INSTALL = """
import json, sys
sys.path[:] = json.loads(sys.argv[1])
try:
    import juliapkg
    juliapkg.resolve()
except BaseException as exc:
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(f"{type(exc).__name__}: {exc}")
    sys.exit(1)
"""

_module: Any = None  # the included Julia module, once per process


@dataclass(frozen=True)
class JuliaStatus:
    """What `detect` found.  `found`: a Julia is usable without downloading Julia itself;
    `ready`: packages are installed too, so starting downloads nothing at all."""

    found: bool
    ready: bool
    executable: str | None
    version: str | None
    source: str  # which rule found it (or failed)
    detail: str  # one line for messages and summary.json

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def julia_module_path() -> Path:
    """The bundled Julia module: package data in a wheel, top-level `julia/` in a checkout."""
    package = Path(__file__).resolve().parents[2]  # dlnlandscape/, whose julia/ is the shipped copy
    for candidate in (package / "julia" / MODULE_FILE, package.parent / "julia" / MODULE_FILE):
        if candidate.is_file():
            return candidate
    raise BackendUnavailable(
        f"julia backend unavailable: {MODULE_FILE} is missing from the installation; "
        "reinstall dlnlandscape, or use --backend native"
    )


def julia_version(executable: str, timeout: float = DETECT_TIMEOUT) -> tuple[int, ...] | None:
    """`julia --version` as a tuple, or None if it is not a working Julia."""
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=timeout, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"julia version (\d+)\.(\d+)\.(\d+)", out, re.IGNORECASE)
    return tuple(int(g) for g in match.groups()) if match else None


def _version_text(version: tuple[int, ...] | None) -> str | None:
    return None if version is None else ".".join(map(str, version))


def _run_python(code: str, *args: str, timeout: float, stdout: Any = subprocess.PIPE) -> Any:
    """Run `code` in a fresh interpreter (own process group, killed whole on timeout)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(sys.path), *args],
        stdout=stdout,
        stderr=subprocess.PIPE if stdout is subprocess.PIPE else stdout,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # juliapkg's julia children too
        else:
            proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _probe_juliapkg(timeout: float) -> dict[str, Any]:
    try:
        result = _run_python(_PROBE, timeout=timeout)
        return json.loads(result.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return {"resolved": False, "error": f"juliapkg did not answer within {timeout:.0f} s"}
    except (OSError, ValueError, IndexError):
        return {"resolved": False, "error": "juliapkg could not be queried"}


def detect(timeout: float = DETECT_TIMEOUT) -> JuliaStatus:
    """Whether Julia can run without a download (bounded time, no side effects but juliapkg's
    empty project folder)."""
    if importlib.util.find_spec("juliacall") is None:
        missing = "the Python package juliacall is not installed (pip install 'dlnlandscape[julia]')"
        return JuliaStatus(False, False, None, None, "juliacall", missing)
    exe, project = os.environ.get("PYTHON_JULIACALL_EXE"), os.environ.get("PYTHON_JULIACALL_PROJECT")
    if exe or project:
        if not (exe and project):
            return JuliaStatus(
                False,
                False,
                exe,
                None,
                "PYTHON_JULIACALL_EXE",
                "PYTHON_JULIACALL_EXE and PYTHON_JULIACALL_PROJECT must be set together",
            )
        version = julia_version(exe, timeout)
        ok = version is not None and version[:2] >= MIN_JULIA and Path(project).is_dir()
        detail = (
            f"Julia {_version_text(version)} at {exe} with project {project}"
            if ok
            else f"PYTHON_JULIACALL_EXE={exe} is not a Julia >= 1.10, or {project} is not a folder"
        )
        return JuliaStatus(ok, ok, exe, _version_text(version), "PYTHON_JULIACALL_EXE", detail)
    probe = _probe_juliapkg(timeout)
    if probe.get("resolved") and probe.get("executable"):
        version = julia_version(probe["executable"], timeout)
        return JuliaStatus(
            True,
            True,
            probe["executable"],
            _version_text(version),
            "juliapkg",
            f"existing juliapkg environment {probe.get('project')}",
        )
    candidates = [
        ("PYTHON_JULIAPKG_EXE", os.environ.get("PYTHON_JULIAPKG_EXE")),
        ("juliapkg install", str(Path(probe["install"]) / "bin" / "julia") if probe.get("install") else None),
        ("PATH", shutil.which("julia")),
    ]
    for source, candidate in candidates:
        if not candidate:
            continue
        version = julia_version(candidate, timeout)
        if version is not None and version[:2] >= MIN_JULIA:
            detail = f"Julia {_version_text(version)} found; first use installs HomotopyContinuation.jl"
            return JuliaStatus(True, False, candidate, _version_text(version), source, detail)
    reason = probe.get("error") or "no Julia >= 1.10 (PYTHON_JULIAPKG_EXE, juliapkg's own install, PATH)"
    return JuliaStatus(False, False, None, None, "none", _one_line(f"no usable Julia: {reason}"))


def julia_available(allow_package_install: bool = False) -> tuple[bool, str]:
    """For `--backend auto`: (usable, why).  By default only when starting downloads nothing at
    all (`ready`); with `allow_package_install` a Julia that still needs HC.jl counts too."""
    status = detect()
    usable = status.ready or (allow_package_install and status.found)
    why = status.detail
    if status.found and not status.ready:
        why += "; run once with --backend julia to install it" if not usable else ""
    return usable, f"{why} [{status.source}]"


def first_use_note(status: JuliaStatus) -> str:
    """What starting will download, said on stderr before it starts."""
    what = "Julia and HomotopyContinuation.jl" if not status.found else "HomotopyContinuation.jl"
    return (
        f"julia backend: first use downloads and precompiles {what} (several minutes, once); "
        "the first solve in each session then compiles for tens of seconds"
    )


def configure_environment(threads: int) -> dict[str, str]:
    """Set juliacall's options before its import: threads (solver.threads), and Julia's own
    signal handling, without which a multithreaded Julia segfaults in its GC (juliacall docs,
    multi-threading).  A user's own PYTHON_JULIACALL_THREADS (e.g. `auto`, or what a scheduler
    granted) wins over solver.threads; summary.json shows the threads Julia really has."""
    own = os.environ.get("PYTHON_JULIACALL_THREADS", "").strip()
    settings = {"PYTHON_JULIACALL_THREADS": own or str(int(threads))}
    multithreaded = own.lower() == "auto" or (own.isdigit() and int(own) > 1) or (not own and threads > 1)
    if multithreaded and not os.environ.get("PYTHON_JULIACALL_HANDLE_SIGNALS"):
        settings["PYTHON_JULIACALL_HANDLE_SIGNALS"] = "yes"
    os.environ.update(settings)
    return settings


def unavailable(what: str) -> BackendUnavailable:
    """The one-line error: what failed, then how to fix it."""
    return BackendUnavailable(f"julia backend unavailable: {_one_line(what)}; {FIX}")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _stderr_target() -> Any:
    """Our stderr for a child's output when it is a real file (not under pytest capture)."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return subprocess.DEVNULL


def _install(timeout: float) -> None:
    """juliapkg's first-use resolve (Julia if needed, then the packages), out of process."""
    with tempfile.TemporaryDirectory() as tmp:
        error_file = Path(tmp) / "error.txt"
        try:
            result = _run_python(_INSTALL, str(error_file), timeout=timeout, stdout=_stderr_target())
        except subprocess.TimeoutExpired:
            what = f"installing Julia packages took over {timeout:.0f} s (see DLN_JULIA_INSTALL_TIMEOUT)"
            raise unavailable(what) from None
        if result.returncode != 0:
            reason = error_file.read_text(encoding="utf-8") if error_file.exists() else "juliapkg failed"
            raise unavailable(f"installing Julia/HomotopyContinuation.jl failed ({reason})")


def start(
    threads: int = 1, *, notify: Callable[[str], None] | None = None, install_timeout: float | None = None
) -> Any:
    """Start Julia (once per process), load HomotopyContinuation.jl and the bundled module, and
    return that module.  Raises `BackendUnavailable` with one line on any failure."""
    global _module
    if _module is not None:
        return _module
    if "juliacall" not in sys.modules:
        status = detect()
        if status.source == "juliacall" or (status.source == "PYTHON_JULIACALL_EXE" and not status.ready):
            raise unavailable(status.detail)
        if not status.ready:
            (notify or _print_stderr)(first_use_note(status))
            timeout = float(os.environ.get("DLN_JULIA_INSTALL_TIMEOUT", install_timeout or INSTALL_TIMEOUT))
            _install(timeout)
        configure_environment(threads)
    path = julia_module_path()
    try:
        import juliacall  # the one place juliacall is imported
    except Exception as exc:  # juliacall raises plain Exceptions when Julia cannot start
        raise unavailable(f"juliacall could not start Julia ({exc})") from None
    try:
        _module = juliacall.Main.include(str(path))
    except Exception as exc:
        raise unavailable(f"loading HomotopyContinuation.jl failed ({exc})") from None
    return _module


def _print_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
