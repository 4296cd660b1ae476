"""External peer solvers (Bertini 2, PHCpack) run on a `SparseSystem`, for benchmarks only.

Both peers are GPL programs.  They are run here strictly as external processes (subprocess),
never imported, never vendored; nothing in the `dlnlandscape` package imports this file.

Exactly what is run
-------------------
Each run gets a fresh temporary directory (deleted afterwards unless `keep=True`), so no peer
can answer from an earlier run's files.  Every process is started in its own session; at the
wall-clock cap (default 600 s) its whole process group, and any descendant that left it, gets
SIGTERM and then SIGKILL.  `seconds` is the wall time from launch to exit, start-up included.

Bertini 2 (`pip install bertini2`, v4.0.0).  The PyPI package `bertini2` is Bertini 2 itself:
a Python library imported as `bertini` (C++ core via Boost.Python) *and* the classic
blackbox command-line solver, a pure C++ binary shipped in the wheel at
`site-packages/bertini/_bin/bertini2` (the `bertini2` console script only `exec`s it).  It is
not Bertini 1.  We run the binary on a classic Bertini input file::

    CONFIG
    MPType: 0;                     % double precision
    RandomSeed: <seed>;
    END;
    INPUT
    variable_group w1_1_1, ...;    % one group per layer => multihomogeneous start system
    ...
    function f1, ..., fn;
    f1 = <terms, coefficients as repr(float): full double precision>;
    END;

The wheel's binary is linked against a vendored Open MPI 4.1.1 built for a RHEL layout (it
looks for its plugins in /usr/lib64/openmpi) and calls MPI_Init unconditionally, so on Debian
it aborts in `opal_init` before reading its input.  What works (and what this file does) is to
install Debian's Open MPI (`apt-get install -y openmpi-bin`), point the vendored library at
Debian's plugins, exclude the one plugin whose ABI differs (`op/avx`, which corrupts the heap),
and launch through Debian's `mpirun` with one rank (a bare singleton would need `orted` in
/usr/lib64/openmpi/bin)::

    OMPI_MCA_mca_base_component_path=/usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3 \
    OMPI_MCA_op=^avx BERTINI_NUM_THREADS=<threads> BERTINI_RECORDS_DIR=<tmp>/records \
    mpirun [--allow-run-as-root] -n 1 <site-packages>/bertini/_bin/bertini2 input

(If `mpirun` or those plugins are missing, the binary is run bare, which works only where the
wheel's own MPI layout exists.)  Bertini 2 writes the classic files `finite_solutions`,
`nonsingular_solutions`, `singular_solutions`, `real_finite_solutions`, `main_data`,
`raw_data`, and a "records" store (JSON lines, one line per completed path with its status
success/diverged/failed and its endpoint).  Paths and per-status counts come from the records
(`failed` = status failed, e.g. the endgame did not converge; `at_infinity` = status diverged,
i.e. the norm passed SecurityMaxNorm), finite/nonsingular/singular/real counts from the classic
files, and `distinct` is recounted here from `finite_solutions` (relative tolerance 1e-6).
Bertini 2 v4.0.0 also *recalls* a run already in its records instead of computing it (hence
the fresh directory), treats `RandomSeed: 0` as "draw a seed" (the runner defaults to seed 1
and reports the seed actually used), and uses every core unless BERTINI_NUM_THREADS is set
(the runner sets it, default 1 thread).

PHCpack (`apt-get install -y phcpack`, PHCv2.4.86)::

    phc -b -0<seed> input output       # blackbox solver, hardware double precision, 1 task

`input` is PHCpack's format (number of polynomials, then each polynomial ending in `;`).
The blackbox chooses its own start system (the smallest of its root counts; usually the
polyhedral homotopy here).  `paths` is the number of start solutions, `failed` the sum of
the `#fail` counts of the continuation summaries (PHC calls paths that diverge in the
polyhedral homotopy failures too), regular/singular/real the sums over its refined lists, and
`finite`/`distinct` are counted here from the final solution list that `phc -b` appends to
the input file (same tolerance).

Every runner returns a dict::

    {peer, version, status ('ok'|'timeout'|'unavailable'|'error'), seconds, paths, finite,
     distinct, failed, message, ...peer-specific extras (nonsingular, singular, ...)}

Run `python benchmarks/peers.py` for the self-check: both peers on d=(1,1,1), m=1 (exactly 5
complex critical points) and on d=(2,2,2), m=3 (225), generalised regularisation.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlnlandscape.model.sparse import SparseSystem  # noqa: E402

PEERS = ("bertini2", "phcpack")
DEFAULT_TIMEOUT = 600.0
DISTINCT_TOL = 1e-6
FINITE_THRESHOLD = 1e8  # PHC's own "solution at infinity" tolerance along the path

Result = dict[str, Any]

# Open MPI plugin directories of Debian/Ubuntu's libopenmpi3 (first existing one is used).
_OMPI_PLUGIN_DIRS = (
    "/usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3",
    "/usr/lib/aarch64-linux-gnu/openmpi/lib/openmpi3",
    "/usr/lib64/openmpi/lib/openmpi",
)


# --------------------------------------------------------------------------- formatting


def _coefficient(c: Any, *, imaginary: str) -> tuple[str, str]:
    """(sign, magnitude text) of a coefficient, in full precision."""
    if isinstance(c, Fraction):
        sign = "-" if c < 0 else "+"
        c = abs(c)
        text = str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"
        return sign, text if c.denominator == 1 else f"({text})"
    z = complex(c)
    if z.imag == 0.0:
        sign = "-" if z.real < 0 else "+"
        return sign, repr(abs(float(z.real)))
    return "+", f"({float(z.real)!r} + {float(z.imag)!r}*{imaginary})"


def _polynomial(exponents: np.ndarray, coefficients: np.ndarray, names: Sequence[str], *, imaginary: str) -> str:
    terms = []
    for row, c in zip(exponents, coefficients, strict=True):
        if c == 0:
            continue
        sign, mag = _coefficient(c, imaginary=imaginary)
        factors = [n if e == 1 else f"{n}^{int(e)}" for n, e in zip(names, row, strict=True) if e]
        body = "*".join([mag, *factors]) if mag != "1.0" or not factors else "*".join(factors)
        terms.append((sign, body))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    text = ("-" if first_sign == "-" else "") + first
    return text + "".join(f" {s} {b}" for s, b in terms[1:])


def bertini_input(
    system: SparseSystem, *, seed: int | None = None, mptype: int = 0, multihomogeneous: bool = True
) -> str:
    """A classic Bertini input file: double precision, one `variable_group` per layer."""
    names = system.variables
    lines = ["CONFIG", f"MPType: {mptype};"]
    if seed is not None:
        lines.append(f"RandomSeed: {int(seed)};")
    lines += ["END;", "INPUT"]
    groups = system.groups if multihomogeneous else (tuple(range(system.n)),)
    lines += [f"variable_group {', '.join(names[i] for i in g)};" for g in groups]
    fnames = [f"f{k + 1}" for k in range(len(system.equations))]
    lines.append(f"function {', '.join(fnames)};")
    for f, eq in zip(fnames, system.equations, strict=True):
        lines.append(f"{f} = {_polynomial(eq.exponents, eq.coefficients, names, imaginary='I')};")
    lines.append("END;")
    return "\n".join(lines) + "\n"


def phc_input(system: SparseSystem) -> str:
    """A PHCpack input file: the number of polynomials, then each polynomial ending in `;`."""
    names = system.variables
    if any(n[:1] in "eEiI" for n in names):
        raise ValueError("PHCpack reserves e, E, i, I: rename the variables")
    lines = [str(len(system.equations))]
    lines += [f" {_polynomial(eq.exponents, eq.coefficients, names, imaginary='i')};" for eq in system.equations]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- processes


def _descendants(root: int) -> list[int]:
    """Pids of all descendants of `root` (read from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM then SIGKILL the process group of `proc` and every descendant of it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def run_capped(
    cmd: Sequence[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, float, int | None, float | None]:
    """Run `cmd` in its own session, stdout/stderr to files in `cwd`, killed at `timeout` s.

    Returns (status 'ok'|'timeout'|'error', wall seconds, return code, peak RSS in MiB).  The
    peak is the largest `VmHWM` (high-water resident set) of the process or any descendant (so
    it covers the solver under `mpirun`), sampled from /proc while it runs — a lower bound for
    runs shorter than the sampling interval.  (`wait4`'s ru_maxrss is useless here: after
    fork+exec it starts at the Python parent's own peak.)"""
    with open(cwd / "stdout.txt", "wb") as out, open(cwd / "stderr.txt", "wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            err.write(f"cannot start {cmd[0]}: {exc}\n".encode())
            return "error", 0.0, None, None
        peak_kib = 0
        pids: list[int] = [proc.pid]
        next_scan = 0.0
        try:
            while True:
                done = proc.poll() is not None
                elapsed = time.perf_counter() - start
                if done:
                    break
                if elapsed >= timeout:
                    _terminate(proc)
                    return "timeout", time.perf_counter() - start, None, _mib(peak_kib)
                if elapsed >= next_scan:  # the process tree changes rarely: rescan it now and then
                    pids = [proc.pid, *_descendants(proc.pid)]
                    next_scan = elapsed + 0.25
                peak_kib = max(peak_kib, *(_vm_hwm_kib(pid) for pid in pids))
                time.sleep(min(0.02, max(0.0005, 0.01 * elapsed), timeout - elapsed))
        except BaseException:  # e.g. KeyboardInterrupt: never leave the peer running
            _terminate(proc)
            raise
    rc = proc.returncode
    return ("ok" if rc == 0 else "error"), elapsed, rc, _mib(peak_kib)


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM, KiB) of a live process; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _mib(kib: int) -> float | None:
    return kib / 1024.0 if kib else None


def _tail(path: Path, chars: int = 600) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " ".join(text[-chars:].split())


# --------------------------------------------------------------------------- availability


def _bertini_binary() -> str | None:
    """The C++ blackbox binary inside the bertini2 wheel (located, not imported)."""
    spec = importlib.util.find_spec("bertini")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            exe = Path(loc) / "_bin" / "bertini2"
            if exe.is_file() and os.access(exe, os.X_OK):
                return str(exe)
    return shutil.which("bertini2")


def _ompi_plugin_dir() -> str | None:
    return next((d for d in _OMPI_PLUGIN_DIRS if Path(d).is_dir()), None)


def _bertini_launch(exe: str, threads: int, records: Path) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env["BERTINI_NUM_THREADS"] = str(threads)
    env["BERTINI_RECORDS_DIR"] = str(records)
    mpirun = shutil.which("mpirun")
    plugins = _ompi_plugin_dir()
    if mpirun is None or plugins is None:
        return [exe, "input"], env
    env["OMPI_MCA_mca_base_component_path"] = plugins
    env["OMPI_MCA_op"] = "^avx"
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    return [mpirun, *root, "-n", "1", exe, "input"], env


def peer_version(name: str) -> str | None:
    """The installed version of a peer, or None when it is not installed."""
    if name == "bertini2":
        try:
            return importlib.metadata.version("bertini2")
        except importlib.metadata.PackageNotFoundError:
            return None
    if name == "phcpack":
        phc = shutil.which("phc")
        if phc is None:
            return None
        try:
            out = subprocess.run([phc, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        m = re.search(r"PHCv(\S+)", out)
        return m.group(1) if m else out.strip() or "unknown"
    raise ValueError(f"unknown peer {name!r}; choose from {PEERS}")


_PROBE = {  # x*y = 1, x^2 + y = 3: three solutions, 2-homogeneous root count 3
    "bertini2": "CONFIG\nMPType: 0;\nRandomSeed: 1;\nEND;\nINPUT\nvariable_group x;\nvariable_group y;\n"
    "function f1, f2;\nf1 = x*y - 1;\nf2 = x^2 + y - 3;\nEND;\n",
    "phcpack": "2\n x*y - 1;\n x^2 + y - 3;\n",
}


@functools.cache
def _probe(name: str) -> tuple[str | None, float | None]:
    """(None when the peer solves the probe system (3 solutions), else why not; its wall time).

    The probe's wall time estimates the peer's fixed start-up cost (MPI start-up for Bertini)."""
    if peer_version(name) is None:
        return f"{name} is not installed ({_INSTALL[name]})", None
    with tempfile.TemporaryDirectory(prefix=f"dln-probe-{name}-") as tmp:
        work = Path(tmp)
        (work / "input").write_text(_PROBE[name])
        if name == "bertini2":
            exe = _bertini_binary()
            if exe is None:
                return "bertini2 binary not found in the bertini2 wheel", None
            cmd, env = _bertini_launch(exe, 1, work / "records")
            status, seconds, rc, _ = run_capped(cmd, cwd=work, timeout=60, env=env)
            n = _leading_int(work / "finite_solutions")
        else:
            status, seconds, rc, _ = run_capped(
                [shutil.which("phc") or "phc", "-b", "-01", "input", "output"], cwd=work, timeout=60
            )
            n = _phc_summary(work / "output").get("refined")
        if status != "ok" or n != 3:
            hint = ""
            if name == "bertini2" and (shutil.which("mpirun") is None or _ompi_plugin_dir() is None):
                hint = " (the wheel's MPI needs Debian's Open MPI: apt-get install -y openmpi-bin)"
            why = f"{name} probe failed: status {status}, rc {rc}, {n} of 3 solutions{hint}: "
            return why + _tail(work / "stderr.txt", 300), seconds
    return None, seconds


def peer_available(name: str) -> bool:
    """True when the peer is installed *and* solves a tiny probe system (cached per process)."""
    return _probe(name)[0] is None


_INSTALL = {
    "bertini2": "pip install bertini2; apt-get install -y openmpi-bin",
    "phcpack": "apt-get install -y phcpack",
}


# --------------------------------------------------------------------------- parsing helpers


def _leading_int(path: Path) -> int | None:
    try:
        with open(path) as fh:
            first = fh.readline().split()
        return int(first[0]) if first else None
    except (OSError, ValueError):
        return None


def _read_bertini_points(path: Path) -> np.ndarray:
    """Points of a classic Bertini solutions file (count, then `re im` per coordinate)."""
    try:
        tokens = path.read_text().split()
    except OSError:
        return np.zeros((0, 0), dtype=complex)
    if not tokens:
        return np.zeros((0, 0), dtype=complex)
    count = int(tokens[0])
    values = np.array([float(t) for t in tokens[1:]])
    if count == 0:
        return np.zeros((0, 0), dtype=complex)
    n = len(values) // (2 * count)
    pairs = values[: 2 * n * count].reshape(count, n, 2)
    return pairs[..., 0] + 1j * pairs[..., 1]


def count_distinct(points: np.ndarray, tol: float = DISTINCT_TOL) -> int:
    """Number of distinct points: two agree when max|x−y| ≤ tol·max(1, |x|∞)."""
    reps: list[np.ndarray] = []
    for p in np.asarray(points, dtype=complex):
        scale = tol * max(1.0, float(np.max(np.abs(p)))) if p.size else tol
        if not any(np.max(np.abs(p - r)) <= scale for r in reps):
            reps.append(p)
    return len(reps)


def _result(peer: str, **fields: Any) -> Result:
    base: Result = {
        "peer": peer,
        "version": None,
        "status": "error",
        "seconds": None,
        "paths": None,
        "finite": None,
        "distinct": None,
        "failed": None,
        "message": "",
    }
    base.update(fields)
    return base


# --------------------------------------------------------------------------- Bertini 2


def _bertini_records(records: Path) -> tuple[int | None, Counter[str]]:
    """(paths announced by the run header, status counts of paths completed so far)."""
    announced = None
    for hist in sorted(records.glob("history/*.jsonl")):
        for line in hist.read_text().splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if obj.get("kind") == "run":
                announced = obj.get("num_paths", announced)
    statuses: Counter[str] = Counter()
    for res in sorted(records.glob("results/*/*.jsonl")):
        for line in res.read_text().splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # a path cut off mid-write by the cap
            if obj.get("kind") == "path":
                statuses[str(obj.get("status"))] += 1
    return announced, statuses


def run_bertini(
    system: SparseSystem,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int | None = 1,
    threads: int = 1,
    mptype: int = 0,
    multihomogeneous: bool = True,
    keep: bool = False,
) -> Result:
    """Solve `system` with the Bertini 2 blackbox (double precision, multihomogeneous start)."""
    peer = "bertini2"
    version = peer_version(peer)
    why, startup = _probe(peer)
    if why is not None:
        return _result(peer, version=version, status="unavailable", message=why)
    exe = _bertini_binary()
    assert exe is not None
    work = Path(tempfile.mkdtemp(prefix="dln-bertini-"))
    try:
        (work / "input").write_text(bertini_input(system, seed=seed, mptype=mptype, multihomogeneous=multihomogeneous))
        cmd, env = _bertini_launch(exe, threads, work / "records")
        status, seconds, rc, peak = run_capped(cmd, cwd=work, timeout=timeout, env=env)
        announced, statuses = _bertini_records(work / "records")
        done = sum(statuses.values())
        used = re.search(r"random seed = (\d+)", (work / "stdout.txt").read_text(errors="replace"))
        extra: Result = {
            "startup_seconds": startup,
            "peak_mib": peak,
            "threads": threads,
            "seed": int(used.group(1)) if used else seed,
            "mptype": mptype,
            "statuses": dict(statuses),
            "command": " ".join(cmd),
        }
        if keep:
            extra["workdir"] = str(work)
        if status == "timeout":
            return _result(
                peer,
                version=version,
                status="timeout",
                seconds=seconds,
                paths=announced,
                failed=statuses.get("failed", 0) if statuses else None,
                message=f"killed at the {timeout:g} s cap after {done} of {announced} paths ("
                + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                + ")",
                **extra,
            )
        if status != "ok" or not (work / "finite_solutions").exists():
            return _result(
                peer,
                version=version,
                status="error",
                seconds=seconds,
                paths=announced,
                message=f"rc {rc}: " + _tail(work / "stderr.txt"),
                **extra,
            )
        finite_pts = _read_bertini_points(work / "finite_solutions")
        nonsingular = _leading_int(work / "nonsingular_solutions")
        singular = _leading_int(work / "singular_solutions")
        real = _leading_int(work / "real_finite_solutions")
        return _result(
            peer,
            version=version,
            status="ok",
            seconds=seconds,
            paths=announced if announced is not None else done,
            finite=len(finite_pts),
            distinct=count_distinct(finite_pts),
            failed=statuses.get("failed", 0),
            at_infinity=statuses.get("diverged", 0),
            nonsingular=nonsingular,
            singular=singular,
            real=real,
            message=", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
            **extra,
        )
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- PHCpack

_NUM = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"


def _phc_summary(path: Path) -> dict[str, Any]:
    """Counts from a `phc -b` output file."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    out: dict[str, Any] = {}
    m = re.search(r"START SOLUTIONS :\s*\n\s*(\d+)\s+\d+", text)
    if m:
        out["start_solutions"] = int(m.group(1))
    counts = re.findall(r"== #regu : (\d+) = #sing : (\d+) = #clus : (\d+) = #infi : (\d+) = #fail : (\d+) ==", text)
    if counts:
        keys = ("regular", "singular", "clustered", "at_infinity", "failed")
        sums = [sum(int(c[k]) for c in counts) for k in range(5)]
        out["tracked"] = dict(zip(keys, sums, strict=True))
    blocks = re.findall(r"A list of (\d+) solutions has been refined :(.*?)={10}", text, re.S)
    if blocks:  # one block per stage (e.g. stable continuation for zero coordinates, then the torus)
        out["refined"] = sum(int(n) for n, _ in blocks)
        for key, label in (
            ("regular", "regular"),
            ("singular", "singular"),
            ("real", "real"),
            ("complex", "complex"),
            ("clustered", "clustered"),
            ("at_infinity", "solutions at infinity"),
            ("failures", "failures"),
        ):
            found = [re.search(rf"Number of {label}\s+(?:solutions\s+)?: (\d+)", body) for _, body in blocks]
            if any(found):
                out[f"refined_{key}"] = sum(int(mm.group(1)) for mm in found if mm)
    roots = {}
    for label, key in (
        ("total degree", "total_degree"),
        (r"\d+-homogeneous Bezout number", "multihomogeneous"),
        ("general linear-product Bezout number", "linear_product"),
        ("mixed volume", "mixed_volume"),
        ("stable mixed volume", "stable_mixed_volume"),
    ):
        mm = re.search(rf"^\s*{label} : (\d+)", text, re.M)
        if mm:
            roots[key] = int(mm.group(1))
    if roots:
        out["root_counts"] = roots
    m = re.search(r"^([A-Z0-9 -]+?) START SYSTEM :", text, re.M)
    if m:
        out["start_system"] = m.group(1).strip().lower()
    m = re.search(r"Seed used in random number generators : (\d+)", text)
    if m:
        out["seed"] = int(m.group(1))
    out["points"] = _phc_last_solutions(text)
    return out


def _phc_last_solutions(text: str) -> np.ndarray:
    """Coordinates of the last `THE SOLUTIONS :` list (PHC's refined solutions)."""
    idx = text.rfind("THE SOLUTIONS :")
    if idx < 0:
        return np.zeros((0, 0), dtype=complex)
    block = text[idx:]
    end = block.find("A list of ")
    block = block if end < 0 else block[:end]
    points = []
    for sol in re.split(r"\n(?:solution \d+ :|== \d+ =)", block)[1:]:
        body = sol.split("the solution for t :", 1)
        if len(body) < 2:
            continue
        coords = re.findall(rf"^\s*\S+ :\s+({_NUM})\s+({_NUM})\s*$", body[1].split("==", 1)[0], re.M)
        points.append([float(a) + 1j * float(b) for a, b in coords])
    if not points:
        return np.zeros((0, 0), dtype=complex)
    n = max(len(p) for p in points)
    return np.array([p for p in points if len(p) == n], dtype=complex)


def run_phc(
    system: SparseSystem,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int | None = 1,
    tasks: int = 0,
    keep: bool = False,
) -> Result:
    """Solve `system` with PHCpack's blackbox `phc -b` (double precision)."""
    peer = "phcpack"
    version = peer_version(peer)
    why, startup = _probe(peer)
    if why is not None:
        return _result(peer, version=version, status="unavailable", message=why)
    work = Path(tempfile.mkdtemp(prefix="dln-phc-"))
    try:
        (work / "input").write_text(phc_input(system))
        cmd = [shutil.which("phc") or "phc", "-b"]
        if seed is not None:
            cmd.append(f"-0{int(seed)}")
        if tasks:
            cmd.append(f"-t{int(tasks)}")
        cmd += ["input", "output"]
        status, seconds, rc, peak = run_capped(cmd, cwd=work, timeout=timeout)
        info = _phc_summary(work / "output")
        extra: Result = {
            "startup_seconds": startup,
            "peak_mib": peak,
            "tasks": tasks or 1,
            "seed": info.get("seed", seed),
            "command": " ".join(cmd),
            "start_system": info.get("start_system"),
            "root_counts": info.get("root_counts"),
            "tracked": info.get("tracked"),
        }
        if keep:
            extra["workdir"] = str(work)
        paths = info.get("start_solutions")
        if paths is None and info.get("tracked"):
            paths = sum(info["tracked"].values())
        if status == "timeout":
            return _result(
                peer,
                version=version,
                status="timeout",
                seconds=seconds,
                paths=paths,
                message=f"killed at the {timeout:g} s cap",
                **extra,
            )
        if status != "ok" or "refined" not in info:
            return _result(
                peer,
                version=version,
                status="error",
                seconds=seconds,
                paths=paths,
                message=f"rc {rc}: " + (_tail(work / "stderr.txt") or _tail(work / "stdout.txt")),
                **extra,
            )
        # phc -b appends its final list (all stages merged) to the input file; else use the output's
        appended = (work / "input").read_text(errors="replace")
        pts = _phc_last_solutions(appended) if "THE SOLUTIONS" in appended else info["points"]
        finite_mask = np.all(np.abs(pts) < FINITE_THRESHOLD, axis=1) if pts.size else np.zeros(0, bool)
        finite = pts[finite_mask]
        tracked = info.get("tracked") or {}
        failed = tracked.get("failed", info.get("refined_failures", 0))
        return _result(
            peer,
            version=version,
            status="ok",
            seconds=seconds,
            paths=paths,
            finite=len(finite),
            distinct=count_distinct(finite),
            failed=failed,
            nonsingular=info.get("refined_regular"),
            singular=info.get("refined_singular"),
            real=info.get("refined_real"),
            at_infinity=info.get("refined_at_infinity"),
            message=f"refined {info['refined']}: "
            + ", ".join(f"{k.removeprefix('refined_')} {v}" for k, v in info.items() if k.startswith("refined_")),
            **extra,
        )
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


RUNNERS = {"bertini2": run_bertini, "phcpack": run_phc}


def run_peer(name: str, system: SparseSystem, **kwargs: Any) -> Result:
    """Run one peer by name (`bertini2` or `phcpack`)."""
    if name not in RUNNERS:
        raise ValueError(f"unknown peer {name!r}; choose from {PEERS}")
    return RUNNERS[name](system, **kwargs)


# --------------------------------------------------------------------------- self-check


def bench_system(widths: Sequence[int], samples: int, *, seed: int = 0) -> SparseSystem:
    """The gradient system of a generalised-L2 benchmark architecture (float coefficients)."""
    from dlnlandscape.model.config import parse_config
    from dlnlandscape.model.sparse import gradient_system

    config = parse_config(
        {
            "architecture": {"widths": list(widths)},
            "data": {"samples": samples, "seed": seed},
            "regularization": {"kind": "generalized"},
        },
        source="bench",
    )
    return gradient_system(config, exact=False)


def _fmt(r: Result) -> str:
    secs = "-" if r["seconds"] is None else f"{r['seconds']:.2f}s"
    startup = r.get("startup_seconds")
    return (
        f"{r['peer']:9s} {str(r['version']):8s} {r['status']:11s} {secs:>9s} paths={r['paths']} "
        f"finite={r['finite']} distinct={r['distinct']} failed={r['failed']} "
        f"at_infinity={r.get('at_infinity')} nonsingular={r.get('nonsingular')} singular={r.get('singular')} "
        f"real={r.get('real')} startup={'-' if startup is None else f'{startup:.2f}s'} | {r['message']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Self-check; exit 1 when a run errors, when a peer reports *more* distinct solutions than
    the known count (a parsing bug), or when it misses one of the 5 of d=(1,1,1), which any
    working solver finds.  A peer missing solutions on a larger case is reported, not a failure."""
    import argparse

    parser = argparse.ArgumentParser(description="Self-check of the external peers (Bertini 2, PHCpack).")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="wall-clock cap per run (s)")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    parser.add_argument(
        "--case",
        action="append",
        metavar="WIDTHS:M",
        help="extra case, e.g. 1,2,2,1:1 (default: 1,1,1:1 and 2,2,2:3)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = parser.parse_args(argv)
    # (widths, samples, known complex count, must every working peer reach it?)
    cases: list[tuple[tuple[int, ...], int, int | None, bool]] = [
        ((1, 1, 1), 1, 5, True),
        ((2, 2, 2), 3, 225, False),
    ]
    for spec in args.case or []:
        w, m = spec.split(":")
        cases.append((tuple(int(x) for x in w.split(",")), int(m), None, False))
    ok = True
    for widths, m, expected, strict in cases:
        system = bench_system(widths, m)
        known = expected if expected is not None else "?"
        print(f"# d={widths} m={m}: n={system.n}, {known} complex critical points", flush=True)
        for name in args.peers:
            r = run_peer(name, system, timeout=args.timeout)
            print(json.dumps(r, default=str) if args.json else _fmt(r), flush=True)
            if r["status"] == "error":
                ok = False
            if r["status"] != "ok" or expected is None or r["distinct"] == expected:
                continue
            if r["distinct"] > expected or strict:
                ok = False
                print(f"  !! {name}: {r['distinct']} distinct solutions, expected {expected}", flush=True)
            else:
                print(f"  -- {name} missed {expected - r['distinct']} of {expected} solutions", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
