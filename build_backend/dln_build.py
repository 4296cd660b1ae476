"""The package's build backend: setuptools' wheel, with the engine's kernels compiled into it.

Why.  numba compiles the native engine's kernels the first time they run (~30 s on 2 cores);
without this, a newcomer's first `dln solve` pays that.  `pip install .` builds a wheel on the
machine it then installs to, so the kernels are compiled here instead: the freshly built wheel is
unpacked into a temporary directory, a separate process solves the quickstart from it
(`dlnlandscape.doctor.warm_up`) with numba's and the tool's caches pointed into that
directory, and the cache files it leaves are added to the wheel under
``dlnlandscape/_precompiled/`` (with a manifest of the numba, Python and CPU they are for, and the
BKK numbers of the run).  On first use the package copies them into numba's cache for the
install (`precompiled.seed_numba_cache`) — only where the manifest matches.

Everything else is setuptools' (`setuptools.build_meta`): sdists, editable installs (they compile
on first use), metadata.  The warm-up needs the runtime dependencies in the build environment, so
`get_requires_for_build_wheel` adds them ([project].dependencies of pyproject.toml).  It costs
~40 s of the build; DLN_PRECOMPILE=0 (or ``--config-settings precompile=0``) builds the plain
wheel, and so does any failure of the warm-up, after saying why.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401 - re-exported: the hooks this backend does not change
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - declared in [build-system].requires for Python 3.10
    import tomli as tomllib

PACKAGE = "dlnlandscape"
SHIPPED = f"{PACKAGE}/_precompiled"
WARM_UP_TIMEOUT = 1800  # seconds; the warm-up takes ~40 s on 2 cores


def _wanted(config_settings: dict | None) -> bool:
    setting = (config_settings or {}).get("precompile", os.environ.get("DLN_PRECOMPILE", "1"))
    return str(setting).strip().lower() not in ("0", "false", "no", "off")


def _say(message: str) -> None:
    print(f"dlnlandscape build: {message}", file=sys.stderr, flush=True)


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    requires = list(_setuptools.get_requires_for_build_wheel(config_settings))
    if _wanted(config_settings):
        with open("pyproject.toml", "rb") as handle:
            requires += tomllib.load(handle)["project"]["dependencies"]
    return requires


def build_wheel(
    wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None
) -> str:
    name = _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    if _wanted(config_settings):
        wheel = Path(wheel_directory) / name
        try:
            added = precompile_into(wheel)
        except Exception as error:  # noqa: BLE001 - the plain wheel is still a working wheel
            _say(f"kernels not precompiled ({error}); the first solve compiles them (~30 s)")
        else:
            _say(f"kernels precompiled into the wheel ({added} files)")
    return name


def precompile_into(wheel: Path) -> int:
    """Warm the kernels from `wheel`'s own code and add what the warm-up wrote (numba's cache
    files, the manifest, the BKK numbers: `dlnlandscape.doctor.warm_up`) to it under
    `_precompiled/`; returns how many files were added.  Raises when the warm-up fails or leaves
    no kernel behind."""
    with tempfile.TemporaryDirectory(prefix="dln-precompile-") as scratch:
        root = Path(scratch)
        site, shipped = root / "site", root / "shipped"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(root / "numba"), "DLN_CACHE_DIR": str(root / "dln")}
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
        code = f"import sys; from {PACKAGE}.doctor import warm_up; print(warm_up(sys.argv[1]))"
        _say("compiling the engine's kernels into the wheel (~40 s; DLN_PRECOMPILE=0 skips this)")
        run = subprocess.run(
            [sys.executable, "-c", code, str(shipped)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=WARM_UP_TIMEOUT,
        )
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the warm-up solve failed: {last}")
        files = {
            f"{SHIPPED}/{path.relative_to(shipped).as_posix()}": path.read_bytes()
            for path in sorted(shipped.rglob("*"))
            if path.is_file()
        }
        if not any(name.endswith(".nbi") for name in files):
            raise RuntimeError("the warm-up left no numba cache files")
        add_to_wheel(wheel, files)
        return len(files)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def add_to_wheel(wheel: Path, files: dict[str, bytes]) -> None:
    """Rewrite `wheel` with `files` (path in the wheel → bytes) added and its RECORD (PEP 376:
    path, sha256, size of every file) extended to list them."""
    with zipfile.ZipFile(wheel) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    record = next(info.filename for info, _ in entries if info.filename.endswith(".dist-info/RECORD"))
    rows = [row for info, data in entries if info.filename == record for row in csv.reader(io.StringIO(data.decode()))]
    rows = [row for row in rows if row and row[0] != record and row[0] not in files]
    rows += [[name, _record_hash(data), str(len(data))] for name, data in files.items()]
    rows.append([record, "", ""])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    temporary = wheel.with_name(wheel.name + ".part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            if info.filename != record and info.filename not in files:
                archive.writestr(info, data)
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(record, text.getvalue())
    os.replace(temporary, wheel)
