"""Writing results without ever destroying what the tool did not write.

Every file and directory the tool writes goes through this module, under one rule:

* a **result directory** is written into a private temporary directory first and only then put
  in place, so an interrupted run never leaves a half-written result that a script could take for
  a real one.  The target may be absent (it is created), an empty directory (filled), or an
  earlier result of the tool's own (replaced).  "Own" is decided by the marker file
  ``.dlnlandscape`` written with every result: it names the files the tool wrote, and the
  directory must hold nothing else.  Anything else — a directory with the user's files, a file, a
  symlink — is refused with a one-line `OutputPathError` (exit 2) naming the path and where it
  came from (``--out`` or ``output.dir`` of a config); nothing is moved, nothing is written.
* a **result file** (``dln table --out``, ``dln plot --out``, caches) is written to a temporary
  name in the same directory and renamed onto the target.  An existing file is replaced only when
  it carries the tool's signature (a recognising function the writer supplies); otherwise it is
  refused the same way.

Why an in-place swap of the files rather than a rename of the whole directory: the target may be
the working directory (``--out .``) or a mount point, and its own permissions and owner belong to
the user.  The new files are renamed in one after another, ``summary.json`` and the marker last,
so a reader that trusts ``summary.json`` (the sweep's "done" test) never sees a new summary next
to old data.  Temporary directories carry their own marker (``.dlnlandscape-partial``) and a
distinctive prefix, so leftovers of a killed run can be recognised and cleaned without touching
anything of the user's.  New files and directories get the permissions the umask gives, not the
0700 of ``tempfile.mkdtemp``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import OutputPathError
from ..version import __version__

MARKER = ".dlnlandscape"
PARTIAL_MARKER = ".dlnlandscape-partial"
PARTIAL_PREFIX = ".dlnlandscape-partial-"
# Files an earlier version wrote before the marker existed: a directory holding only these and a
# readable summary.json of ours is recognised as an earlier result too.
LEGACY_RESULT_FILES = frozenset(
    {
        "critical_points.csv",
        "solutions.npz",
        "summary.json",
        "report.md",
        "instances.csv",
        "components.json",
        "components.md",
        "error.json",
    }
)
# Renamed into place last, in this order: readers trust summary.json, the marker says "ours".
LAST = ("summary.json", MARKER)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _partial_directory(parent: Path, name: str) -> Path:
    """A fresh temporary directory in `parent`, recognisably the tool's, with umask permissions."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{name}.", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    (tmp / PARTIAL_MARKER).write_text(f"dlnlandscape {__version__}: result being written\n", encoding="utf-8")
    return tmp


def is_partial_leftover(path: Path) -> bool:
    """A temporary directory or file that a killed writer of this tool left behind (the
    distinctive prefix, and for a directory its partial marker too)."""
    if not path.name.startswith(PARTIAL_PREFIX) or path.is_symlink():
        return False
    return path.is_file() or (path.is_dir() and (path / PARTIAL_MARKER).is_file())


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The marker of a result directory, or None when there is none (or it is not ours)."""
    try:
        marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("written_by") != "dlnlandscape":
        return None
    if not isinstance(marker.get("files"), list):
        return None
    return marker


def _legacy_result(directory: Path, entries: set[str]) -> bool:
    """A result of an earlier version (no marker): only known result files and our summary.json."""
    if not entries or not entries <= LEGACY_RESULT_FILES:
        return False
    for name in ("summary.json", "error.json"):
        if name in entries:
            try:
                data = json.loads((directory / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            return isinstance(data, dict) and ("config" in data or data.get("status") == "failed")
    return False


def owned_files(directory: Path) -> list[str] | None:
    """The entries of `directory` the tool wrote, if every entry is one of them; None when the
    directory holds anything else (then it is the user's and must not be touched)."""
    entries = {entry.name for entry in directory.iterdir() if not is_partial_leftover(entry)}
    if not entries:
        return []
    marker = read_marker(directory)
    if marker is not None:
        known = set(marker["files"]) | {MARKER}
        return sorted(entries) if entries <= known else None
    return sorted(entries) if _legacy_result(directory, entries) else None


def _where(path: Path, origin: str) -> str:
    """How an error names a path: with the flag or config field it came from."""
    return f"{origin} {path}" if origin else str(path)


def _refuse_link_or_file(directory: Path, where: str) -> None:
    """A symbolic link or a file where a directory is wanted is never followed or replaced."""
    if directory.is_symlink():
        raise OutputPathError(f"{where}: is a symbolic link; give the real directory or a new path (nothing written)")
    if directory.exists() and not directory.is_dir():
        raise OutputPathError(
            f"{where}: a file of that name exists; the tool never replaces it — choose another path (nothing written)"
        )


def check_result_directory(directory: Path, origin: str) -> None:
    """Raise `OutputPathError` unless `directory` may receive a result: absent, empty, or an
    earlier result of the tool's own.  Called before any work, and again just before writing."""
    directory = Path(directory)
    where = _where(directory, origin)
    _refuse_link_or_file(directory, where)
    if not directory.exists():
        parent = _existing_ancestor(directory)
        if not parent.is_dir():
            raise OutputPathError(f"{where}: {parent} is not a directory; choose another path (nothing written)")
        return
    if owned_files(directory) is None:
        raise OutputPathError(
            f"{where}: holds files the tool did not write; choose a new or empty directory (nothing written, "
            "nothing moved)"
        )


@contextlib.contextmanager
def _filesystem_errors(target: Path, origin: str) -> Iterator[None]:
    """A failure of the file system (read-only place, no space, permission) is one line naming
    the path and where it came from, exit 2 — never a traceback; what was there is unchanged."""
    try:
        yield
    except OutputPathError:
        raise
    except OSError as error:
        where = _where(target, origin)
        what = error.strerror or type(error).__name__
        culprit = f" ({error.filename})" if error.filename and str(error.filename) != str(target) else ""
        raise OutputPathError(
            f"{where}: cannot be written: {what}{culprit}; choose another path (anything already there is unchanged)"
        ) from error


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists():
        path = path.parent
    return path


@contextlib.contextmanager
def result_directory(
    directory: Path, origin: str = "", kind: str = "result", keep: Iterable[str] = ()
) -> Iterator[Path]:
    """Yield a temporary directory to write a result into; when the block succeeds, its files
    replace those of an earlier result at `directory` (see the module docstring).  When the block
    fails, the temporary directory is removed and `directory` is left exactly as it was.  Files
    of the tool's own at `directory` named in `keep` (a partial result's checkpoint) stay, listed
    in the new marker."""
    directory = Path(directory)
    check_result_directory(directory, origin)
    exists = directory.is_dir()
    kept = sorted(set(keep) & set(owned_files(directory) or ())) if exists else []
    with _filesystem_errors(directory, origin):
        if not exists:
            directory.parent.mkdir(parents=True, exist_ok=True)
        # In place for an existing target (the working directory, a mount point), beside it otherwise.
        tmp = _partial_directory(directory if exists else directory.parent, directory.name or "result")
    try:
        with _filesystem_errors(directory, origin):
            yield tmp
            files = sorted(
                (entry.name for entry in tmp.iterdir() if entry.name not in (PARTIAL_MARKER, MARKER)),
                key=lambda name: (name in LAST, name),
            )
            kept = [name for name in kept if name not in files]
            listed = sorted([*files, *kept], key=lambda name: (name in LAST, name))
            marker = {"written_by": "dlnlandscape", "version": __version__, "kind": kind, "files": listed}
            (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            _install(tmp, directory, files, origin, kept)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _install(tmp: Path, directory: Path, files: list[str], origin: str, kept: Iterable[str] = ()) -> None:
    """Put the files of `tmp` at `directory`: a rename of the whole directory when nothing is
    there, else file by file, summary.json and the marker last, then the earlier result's own
    files that the new one does not have (and does not keep) are removed."""
    for entry in tmp.iterdir():
        if entry.is_file():
            os.chmod(entry, 0o666 & ~_umask())
    if not directory.exists():
        (tmp / PARTIAL_MARKER).unlink()
        os.rename(tmp, directory)
        return
    check_result_directory(directory, origin)  # it may have changed while the solve ran
    previous = set(owned_files(directory) or ())
    for name in [*files, MARKER]:
        target = directory / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)  # an earlier result's own subdirectory (listed in its marker)
        os.replace(tmp / name, target)
    for name in previous - set(files) - set(kept) - {MARKER}:
        stale = directory / name
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)


def clean_partial_leftovers(directory: Path) -> int:
    """Remove the temporary directories that killed writers of `directory` left in it or beside
    it: only directories named for `directory` and carrying the partial marker are touched (so
    other writers' work in the same parent, and anything of the user's, is left alone)."""
    directory = Path(directory)
    prefix = f"{PARTIAL_PREFIX}{directory.name or 'result'}."
    removed = 0
    for place in (directory, directory.parent):
        if not place.is_dir() or place.is_symlink():
            continue
        for entry in place.iterdir():
            if entry.name.startswith(prefix) and entry.is_dir() and is_partial_leftover(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def check_owned_root(
    directory: Path, origin: str, kind: str, legacy: Callable[[Path], bool] | None = None
) -> None:
    """Raise `OutputPathError` unless `directory` may be a root the tool keeps adding results to
    (a sweep's output): absent, empty, carrying a marker of the same kind, or recognised by
    `legacy` as one an earlier version wrote.  Nothing is ever removed from a root."""
    directory = Path(directory)
    where = _where(directory, origin)
    _refuse_link_or_file(directory, where)
    if not directory.exists():
        return
    if not any(directory.iterdir()):
        return
    marker = read_marker(directory)
    if marker is not None and marker.get("kind") == kind:
        return
    if marker is None and legacy is not None and legacy(directory):
        return
    raise OutputPathError(
        f"{where}: holds files the tool did not write (no {kind} marker); choose a new or empty directory "
        "(nothing written, nothing moved)"
    )


def ensure_owned_root(
    directory: Path, origin: str, kind: str, legacy: Callable[[Path], bool] | None = None
) -> Path:
    """`check_owned_root`, then create the directory (umask permissions) and its marker if needed."""
    directory = Path(directory)
    check_owned_root(directory, origin, kind, legacy)
    with _filesystem_errors(directory, origin):
        directory.mkdir(parents=True, exist_ok=True)
        if read_marker(directory) is None:
            _write_marker(directory, kind, [])
    return directory


def register(directory: Path, kind: str, names: Iterable[str]) -> None:
    """Add entries the tool wrote to a directory's marker."""
    marker = read_marker(directory) or {"files": []}
    _write_marker(directory, marker.get("kind", kind), sorted(set(marker["files"]) | set(names)))


def add_owned_file(directory: Path, name: str, text: str, origin: str = "") -> None:
    """Add one file to an earlier result of the tool's own (a sweep point's error.json beside its
    older result), listed in its marker so the directory stays recognisably the tool's."""
    check_result_directory(directory, origin)
    if read_marker(directory) is None:  # an earlier version's result: give it a marker first
        _write_marker(directory, "result", owned_files(directory) or [])
    register(directory, "result", [name])  # listed before it appears: a kill in between leaves it ours
    replace_text(directory / name, text)


def keep_file(directory: Path, name: str, data: bytes, origin: str = "", kind: str = "result") -> Path:
    """Write one file the tool keeps in a result directory while a result is still on its way —
    a long solve's checkpoint — under the result directory's rule: `directory` is created (with a
    marker) when absent, and must otherwise be empty or the tool's own.  The marker lists the file
    before it appears, and the file is replaced by a rename, so a kill at any moment leaves the
    directory recognisably the tool's and the previous checkpoint whole."""
    directory = Path(directory)
    check_result_directory(directory, origin)
    with _filesystem_errors(directory, origin):
        directory.mkdir(parents=True, exist_ok=True)
        if read_marker(directory) is None:
            _write_marker(directory, kind, owned_files(directory) or [])
        register(directory, kind, [name])
        replace_bytes(directory / name, data)
    return directory / name


def _write_marker(directory: Path, kind: str, files: list[str]) -> None:
    text = json.dumps({"written_by": "dlnlandscape", "version": __version__, "kind": kind, "files": files}, indent=2)
    replace_text(directory / MARKER, text + "\n")


def replace_text(path: Path, text: str) -> None:
    """Write `text` to a temporary name beside `path` and rename it onto `path` (callers have
    established that `path` is the tool's to replace)."""
    replace_bytes(path, text.encode("utf-8"))


def replace_bytes(path: Path, data: bytes) -> None:
    """`replace_text` for bytes."""
    fd, tmp = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_result_file(path: Path, origin: str, recognise: Callable[[Path], bool]) -> None:
    """Raise `OutputPathError` unless `path` is absent or a file the tool wrote (`recognise`)."""
    path = Path(path)
    where = _where(path, origin)
    if path.is_symlink():
        raise OutputPathError(f"{where}: is a symbolic link; give a new path (nothing written)")
    if path.is_dir():
        raise OutputPathError(f"{where}: is a directory; give a file path (nothing written)")
    if path.exists() and not recognise(path):
        raise OutputPathError(
            f"{where}: a file the tool did not write exists there; choose another path or remove it yourself "
            "(nothing written)"
        )
    parent = _existing_ancestor(path.parent)
    if not parent.is_dir():
        raise OutputPathError(f"{where}: {parent} is not a directory; choose another path (nothing written)")


@contextlib.contextmanager
def result_file(path: Path, origin: str = "", recognise: Callable[[Path], bool] = lambda _: False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; renamed onto `path` when the block
    succeeds (an existing file only if `recognise` says the tool wrote it), removed otherwise."""
    path = Path(path)
    check_result_file(path, origin, recognise)
    with _filesystem_errors(path, origin):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}", suffix=path.suffix, dir=path.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with _filesystem_errors(path, origin):
            yield tmp
            check_result_file(path, origin, recognise)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def starts_with(signature: bytes, within: int = 4096) -> Callable[[Path], bool]:
    """A recogniser: the file's first `within` bytes contain `signature`."""

    def recognise(path: Path) -> bool:
        try:
            with open(path, "rb") as handle:
                return signature in handle.read(within)
        except OSError:
            return False

    return recognise


def write_cache_json(path: Path, data: dict[str, Any], schema: str) -> None:
    """Replace a cache file of the tool's (a JSON object whose "schema" is `schema`) atomically;
    a file of another schema or the user's is left alone, and a read-only cache only costs
    recomputation, so failures are silent."""

    def ours(candidate: Path) -> bool:
        try:
            return json.loads(candidate.read_text(encoding="utf-8")).get("schema") == schema
        except (OSError, ValueError, AttributeError):
            return False

    with contextlib.suppress(OSError, OutputPathError), result_file(path, recognise=ours) as tmp:
        tmp.write_text(json.dumps({**data, "schema": schema}), encoding="utf-8")
