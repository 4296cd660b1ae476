"""The quickstart's first run (numba's cache empty) and its warm runs, revisions side by side.

Why: a newcomer's first `dln solve configs/quickstart.yaml` compiles the engine's kernels before
it solves anything, and every later run pays the start-up (imports, numba loading its cache).
Both are measured here as a user meets them: `dln solve CONFIG --json` in a fresh process, the
first with an empty DLN_CACHE_DIR, then more with that cache filled; each revision (a git
revision of this repository, checked out into a temporary worktree and run with PYTHONPATH
pointing at it — the installed dependencies are shared) gets its own empty cache, and the
revisions alternate run by run so that a slower minute of the machine hits them alike.  The
whole sequence is repeated `--cold` times, each with fresh caches.

    python benchmarks/first_run.py --revisions 50695a8,HEAD --cold 2 --warm 3

With `--install`, the same is measured as a newcomer installs: for each revision, two fresh
virtual environments, one `pip install <checkout>` as it comes (the build backend compiles the
kernels into the wheel, build_backend/dln_build.py) and one with DLN_PRECOMPILE=0 (the plain
wheel), each install timed, then the runs with `<venv>/bin/dln`:

    python benchmarks/first_run.py --install --revisions HEAD --cold 1 --warm 3 --out /tmp/install.md

Reported per revision: every first run's wall seconds, every second run's (a kernel that the
first run compiled but could not cache compiles again there), the later runs' median and
range, and the counts the runs printed (they must agree).  Since proven sets are kept
(engines/native/proven.py), the first run of a sequence proves the quickstart's count and the
later runs start from its kept set, as a user's later runs do ("reused" beside the counts);
`--fresh` passes `--fresh` to every run: each proves the count itself.  Nothing is written but
`--out` (refused, before any run, when it holds a file this script did not write).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with
from dlnlandscape.errors import DLNError

REPO = Path(__file__).resolve().parent.parent
is_first_run_table = starts_with(b"benchmarks/first_run.py")  # its command line, in the first line


def checkout(revision: str, into: Path) -> Path:
    """`revision` of this repository as a detached worktree under `into` (removed at the end)."""
    path = into / revision.replace("/", "_")
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(path), revision], check=True)
    return path


def environment(source: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(source), "DLN_CACHE_DIR": str(cache)}
    env.pop("NUMBA_CACHE_DIR", None)
    return env


def check_imports_from(source: Path, scratch: Path) -> None:
    """Raise unless a process started as `one_run` starts them imports dlnlandscape from `source`
    (`python -m` puts its working directory first on sys.path: run from a checkout, every
    revision would have been that checkout's code)."""
    probe = [sys.executable, "-c", "import dlnlandscape; print(dlnlandscape.__file__)"]
    env = environment(source, scratch / "probe-cache")
    where = subprocess.run(probe, env=env, cwd=scratch, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(source.resolve()):
        raise RuntimeError(f"dlnlandscape imported from {where}, not from {source}")


def one_run(source: Path, cache: Path, config: Path, out: Path, fresh: bool = False) -> tuple[float, dict]:
    """Wall seconds of `dln solve config --json` in a fresh process on `source`'s code (started in
    the scratch directory beside `cache`, where no other dlnlandscape is): a checkout run with
    PYTHONPATH, or a virtual environment's own `dln` (`--install`)."""
    if (source / "bin" / "dln").is_file():
        command, env = [str(source / "bin" / "dln")], environment(source, cache)
        env.pop("PYTHONPATH")
    else:
        command, env = [sys.executable, "-m", "dlnlandscape.cli"], environment(source, cache)
    command += ["solve", str(config), "--json", "--out", str(out)] + (["--fresh"] if fresh else [])
    began = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cache.parent, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{source}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
    return seconds, json.loads(done.stdout)


INSTALLS = {"precompiled": "1", "plain": "0"}  # DLN_PRECOMPILE of the two `--install` variants


def install(checkout: Path, venv: Path, precompile: str) -> float:
    """A fresh virtual environment at `venv` with `pip install checkout` (build isolation, as a
    newcomer's); returns the install's wall seconds."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "DLN_PRECOMPILE": precompile}
    env.pop("PYTHONPATH", None)
    began = time.perf_counter()
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(checkout)], env=env, check=True
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", default="HEAD", help="comma-separated git revisions (default HEAD)")
    parser.add_argument("--config", default=str(REPO / "configs" / "quickstart.yaml"))
    parser.add_argument("--cold", type=int, default=2, help="sequences, each starting from empty caches")
    parser.add_argument("--warm", type=int, default=3, help="runs per revision and sequence after the first")
    parser.add_argument(
        "--install", action="store_true", help="fresh venvs and `pip install`, with and without precompiling"
    )
    parser.add_argument("--fresh", action="store_true", help="every run proves the count itself (dln solve --fresh)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-first-run.md")))
    args = parser.parse_args()
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_first_run_table)
    except DLNError as error:
        parser.error(str(error))
    revisions = [r.strip() for r in args.revisions.split(",") if r.strip()]
    config = Path(args.config).resolve()
    with tempfile.TemporaryDirectory(prefix="dln-first-run-") as scratch:
        root = Path(scratch)
        checkouts, sources, commits, installed = {}, {}, {}, {}
        for revision in revisions:
            checkouts[revision] = checkout(revision, root)
            commit = subprocess.run(
                ["git", "-C", str(checkouts[revision]), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            if not args.install:
                sources[revision], commits[revision] = checkouts[revision], commit
                check_imports_from(sources[revision], root)
                continue
            for variant, precompile in INSTALLS.items():
                name = f"{revision} ({variant})"
                sources[name], commits[name] = root / f"venv-{commit}-{variant}", commit
                installed[name] = install(checkouts[revision], sources[name], precompile)
                print(f"{name}: installed in {installed[name]:.1f} s", file=sys.stderr)
        revisions = list(sources)
        try:
            times: dict[str, list[list[float]]] = {r: [] for r in revisions}
            counts: dict[str, set] = {r: set() for r in revisions}
            for sequence in range(args.cold):
                for revision in revisions:
                    times[revision].append([])
                for run in range(1 + args.warm):  # run 0 is the first (empty cache)
                    for revision in revisions:
                        tag = f"{commits[revision]}-{sequence}"
                        out = root / f"out-{tag}-{run}"
                        seconds, summary = one_run(sources[revision], root / f"cache-{tag}", config, out, args.fresh)
                        times[revision][-1].append(seconds)
                        completeness = summary.get("completeness", {}).get("method", "?")
                        if summary.get("completeness", {}).get("reused"):
                            completeness += " (reused)"
                        counts[revision].add((summary["complex_solutions"], summary["real_solutions"], completeness))
                        print(f"{revision} sequence {sequence} run {run}: {seconds:.1f} s", file=sys.stderr)
        finally:
            for path in checkouts.values():
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=False)
    text = [
        f"Command: `python benchmarks/first_run.py {'--install ' if args.install else ''}"
        f"{'--fresh ' if args.fresh else ''}--revisions {args.revisions} "
        f"--cold {args.cold} --warm {args.warm}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numba {numba.__version__}.  Config: {config.name}.  Each run: `dln solve CONFIG --json` "
        + (
            "in a fresh process (`<venv>/bin/dln`, after `pip install` of the revision into a fresh venv, "
            "DLN_PRECOMPILE=1 or 0), wall seconds; variants alternate run by run."
            if args.install
            else "in a fresh process (`python -m dlnlandscape.cli`), wall seconds; revisions alternate run by run."
        ),
        "",
        "| revision | commit | first runs (empty cache) s | second runs s | later runs s (median, range) "
        "| complex, real, completeness |" + (" pip install s |" if args.install else ""),
        "|---|---|---|---|---|---|" + ("---|" if args.install else ""),
    ]
    for revision in revisions:
        firsts = ", ".join(f"{runs[0]:.1f}" for runs in times[revision])
        seconds = ", ".join(f"{runs[1]:.1f}" for runs in times[revision] if len(runs) > 1) or "–"
        later = [t for runs in times[revision] for t in runs[2:]]
        spread = f"{statistics.median(later):.2f} ({min(later):.2f}–{max(later):.2f})" if later else "–"
        agreed = "; ".join(f"{c:,}, {r:,}, {m}" for c, r, m in sorted(counts[revision]))
        took = f" {installed[revision]:.1f} |" if revision in installed else ""
        text.append(f"| {revision} | {commits[revision]} | {firsts} | {seconds} | {spread} | {agreed} |{took}")
    with result_file(Path(args.out), "--out", is_first_run_table) as tmp:
        tmp.write_text("\n".join(text) + "\n", encoding="utf-8")
    print("\n".join(text))


if __name__ == "__main__":
    main()
