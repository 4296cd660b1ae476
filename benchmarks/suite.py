"""The benchmark suite: native engine (monodromy, multihomogeneous), Bertini 2, PHCpack and
msolve's exact count on a fixed list of architectures, one Markdown table.

Usage::

    python benchmarks/suite.py [--cases 2,2,2:3,2,2,2:1x100 ...] [--seeds 42,43,44,45,46]
                               [--peers | --no-peers] [--cap 600] [--threads 2]
                               [--max-paths 100000] [--out benchmarks/results-suite.md] [--reuse]

A case is `WIDTHS:M` (data and Λ drawn with seeds 0/1, generalised Λ in [0.1, 1), both rounded
to 3 decimals) or `WIDTHS:MxN` for N random instances (instance i: seeds i/1+i).  Per case:

- msolve's degree over a random prime (1 thread, capped) — the exact count every solver's
  distinct count is compared with; a second prime is tried when a solver disagrees;
- native `start: monodromy` once per solver seed (`--seeds`): the count must be the same for
  every seed (the "counts over seeds" column lists them all);
- native `start: multihomogeneous` (first seed), Bertini 2 and PHCpack (peer seed 1, one thread
  each), unless their multihomogeneous start system has more than `--max-paths` paths (a "not
  run" row says how many; PHCpack picks its own start system and always runs).

Every solver runs as its own process (native: `python -m dlnlandscape.cli solve --json`, so
interpreter and numba start-up are in the wall time; compiled kernels are warmed up once
before timing), killed at `--cap` seconds ("reached cap" rows, never dropped); peak memory is
the largest VmHWM of the process tree (`peers.run_capped`).  Native runs use
`solver.certify: false` (certification is not part of the solve being timed).  Instance cases:
the native monodromy solves all N in one process (`data.instances`); the other solvers have no
batching, so they run instance after instance until the cap is spent in total.

Each finished run is appended to a JSON-lines record file (default: `--out` with `.jsonl`);
`--reuse` takes runs with the same case, solver, seed, cap, threads and max-paths from it
instead of running them again (so a long peer run can be extended case by case).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from peers import peer_available, peer_version, run_capped, run_peer  # noqa: E402

from dlnlandscape import __version__  # noqa: E402
from dlnlandscape.engines.native.start_systems import multihomogeneous_bezout  # noqa: E402
from dlnlandscape.exact.msolve import MsolveError, degree_mod_p, find_msolve, msolve_version, random_prime  # noqa: E402
from dlnlandscape.model.config import parse_config  # noqa: E402
from dlnlandscape.model.problem import Problem  # noqa: E402
from dlnlandscape.model.sparse import gradient_system  # noqa: E402

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

DEFAULT_CASES = "2,2,2:3 1,2,2,1:1 2,2,2,2:1 1,2,2,2:1 3,2,3:3 1,3,3,1:1 3,3,3:3 2,2,2:1x100"
MONODROMY, MULTIHOM = "native monodromy", "native multihomogeneous"
PEERS = ("bertini2", "phcpack")
Record = dict[str, Any]


# --------------------------------------------------------------------------- cases and configs


@dataclass(frozen=True)
class Case:
    widths: tuple[int, ...]
    samples: int
    instances: int = 1

    @classmethod
    def parse(cls, spec: str) -> Case:
        try:
            widths, rest = spec.split(":")
            samples, _, count = rest.partition("x")
            case = cls(tuple(int(w) for w in widths.split(",")), int(samples), int(count or 1))
        except ValueError:
            raise SystemExit(
                f"suite.py: --cases: bad case {spec!r}; write WIDTHS:M or WIDTHS:MxN, e.g. 2,2,2:1x100"
            ) from None
        if len(case.widths) < 2 or min(case.widths) < 1 or case.samples < 1 or case.instances < 1:
            raise SystemExit(f"suite.py: --cases: bad case {spec!r}; widths and m must be >= 1")
        return case

    @property
    def spec(self) -> str:
        tail = f"x{self.instances}" if self.instances > 1 else ""
        return f"{','.join(map(str, self.widths))}:{self.samples}{tail}"

    @property
    def label(self) -> str:
        tail = f", {self.instances} instances" if self.instances > 1 else ""
        return f"({', '.join(map(str, self.widths))}) m={self.samples}{tail}"

    @property
    def unknowns(self) -> int:
        return sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:]))

    def document(self, *, start: str, seed: int, threads: int, instance: int | None = None) -> dict[str, Any]:
        """The config of one native run (instance i: data seed i, Λ seed 1 + i, as data.instances)."""
        shift = 0 if instance is None else instance
        return {
            "name": "suite-" + self.spec.replace(",", "-").replace(":", "_m"),
            "architecture": {"widths": list(self.widths)},
            "data": {
                "samples": self.samples,
                "seed": shift,
                "decimals": 3,
                "instances": self.instances if instance is None else 1,
            },
            "regularization": {"kind": "generalized", "seed": 1 + shift, "low": 0.1, "high": 1.0, "decimals": 3},
            "solver": {"backend": "native", "start": start, "seed": seed, "threads": threads, "certify": False},
        }

    def config(self, instance: int = 0) -> Any:
        doc = self.document(start="auto", seed=0, threads=1, instance=instance)
        return parse_config(doc, source=f"suite case {self.spec}")

    def multihomogeneous_paths(self) -> int:
        """Start paths of the multihomogeneous start system (`bounds()`'s number, without its BKK part,
        which may spend its 30 s time limit)."""
        problem = Problem.from_config(self.config())
        return int(multihomogeneous_bezout(problem.multidegrees, np.array(problem.group_sizes, dtype=np.int64)))


# --------------------------------------------------------------------------- machine


def meminfo_gib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_version() -> str:
    """HEAD of the repository, with `+dirty:<hash of the package diff>` for uncommitted changes
    under dlnlandscape/ (the engine may change between runs while others work on it)."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.decode(errors="replace") if out.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    diff = git("diff", "HEAD", "--", "dlnlandscape")
    untracked = git("ls-files", "--others", "--exclude-standard", "dlnlandscape").split()
    if not diff and not untracked:
        return head
    digest = hashlib.sha1(diff.encode())
    for name in sorted(untracked):
        with contextlib.suppress(OSError):
            digest.update(name.encode() + (ROOT / name).read_bytes())
    return f"{head}+dirty:{digest.hexdigest()[:8]}"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


# --------------------------------------------------------------------------- exact counts


def exact_degree(case: Case, cap: float, *, prime_seed: int = 0) -> Record:
    """msolve's degree over a random prime for every instance of the case (cumulative cap)."""
    degrees: list[int] = []
    primes: list[int] = []
    began = time.perf_counter()
    status, message = "ok", ""
    for i in range(case.instances):
        left = cap - (time.perf_counter() - began)
        if left <= 0:
            status, message = "timeout", f"cap reached after {i} of {case.instances} instances"
            break
        system = gradient_system(case.config(i), exact=True)
        prime = random_prime(prime_seed, system=system)
        try:
            result = degree_mod_p(system, prime=prime, timeout=left)
        except MsolveError as error:
            status = "timeout" if "did not finish" in str(error) else "error"
            message = str(error)
            break
        degrees.append(int(result.degree))
        primes.append(prime)
    return {
        "status": status,
        "degrees": degrees,
        "primes": primes,
        "seconds": time.perf_counter() - began,
        "message": message,
        "prime_seed": prime_seed,
    }


# --------------------------------------------------------------------------- runs


def native_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_native_process(document: dict[str, Any], cap: float, threads: int) -> tuple[Record, dict[str, Any] | None]:
    """`dln solve` on one config in its own process: (timing record, summary.json or None)."""
    with tempfile.TemporaryDirectory(prefix="dln-suite-") as tmp:
        work = Path(tmp)
        (work / "config.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        cmd = [sys.executable, "-m", "dlnlandscape.cli", "solve", "config.yaml", "--json", "--quiet", "--out", "out"]
        status, seconds, rc, peak = run_capped(cmd, cwd=work, timeout=cap, env=native_env(threads))
        summary = None
        message = ""
        if status == "ok":
            try:
                summary = json.loads((work / "stdout.txt").read_text())
            except (OSError, json.JSONDecodeError) as error:
                status, message = "error", f"unreadable summary: {error}"
        elif status == "error":
            message = f"rc {rc}: " + " ".join((work / "stderr.txt").read_text(errors="replace")[-400:].split())
        else:
            message = f"killed at the {cap:g} s cap"
    if summary is not None and summary.get("peak_memory_mib"):
        peak = max(peak or 0.0, float(summary["peak_memory_mib"]))
    return {"status": status, "wall": seconds, "peak_mib": peak, "message": message}, summary


def native_record(case: Case, solver: str, seed: int, cap: float, threads: int) -> Record:
    """One native run on the case (all instances in one process for monodromy)."""
    start = "monodromy" if solver == MONODROMY else "multihomogeneous"
    document = case.document(start=start, seed=seed, threads=threads)
    rec, s = run_native_process(document, cap, threads)
    if s is None:
        return rec
    mono = s.get("backend", {}).get("monodromy", {})
    rec.update(
        solve_seconds=s.get("solve_seconds"),
        loop_arcs=mono.get("loop_arcs_tracked"),
        loop_arcs_failed=mono.get("loop_arcs_failed"),
        path_steps=mono.get("path_steps"),
        loops=mono.get("loops"),
        threads_used=s.get("backend", {}).get("threads"),
    )
    if case.instances > 1:
        rows = s["per_instance"]
        rec.update(
            paths=mono.get("final_paths"),
            distinct=s["generic_count"],
            counts=[r["complex"] for r in rows],
            reals=[r["real"] for r in rows],
            failed=sum(r["failed_paths"] for r in rows),
            complete=s["complete"],
            complete_instances=s["complete_instances"],
            done=len(rows),
        )
    else:
        paths = s["paths"]
        rec.update(
            paths=paths["tracked"],
            added_by_symmetry=paths.get("added_by_symmetry"),
            at_infinity=paths.get("at_infinity"),
            distinct=s["complex_solutions"],
            real=s["real_solutions"],
            failed=paths["failed"],
            complete=s["complete"],
        )
    return rec


def instance_loop(case: Case, cap: float, one: Callable[[int, float], Record]) -> Record:
    """Solvers without batching on an instance case: instance after instance, `cap` in total."""
    began = time.perf_counter()
    runs: list[Record] = []
    for i in range(case.instances):
        left = cap - (time.perf_counter() - began)
        if left <= 0:
            break
        r = one(i, left)
        runs.append(r)
        if r["status"] != "ok":
            break
    finished = [r for r in runs if r["status"] == "ok"]
    status = (
        "ok" if len(finished) == case.instances else ("timeout" if runs and runs[-1]["status"] != "error" else "error")
    )
    peaks = [r["peak_mib"] for r in runs if r.get("peak_mib")]
    return {
        "status": status,
        "wall": time.perf_counter() - began,
        "solve_seconds": _sum_or_none(r.get("solve_seconds") for r in finished),
        "peak_mib": max(peaks) if peaks else None,
        "paths": _sum_or_none(r.get("paths") for r in finished),
        "counts": [r.get("distinct") for r in finished],
        "reals": [r.get("real") for r in finished],
        "failed": _sum_or_none(r.get("failed") for r in finished),
        "done": len(finished),
        "distinct": None,
        "message": f"instance {len(runs) - 1} (cut at the {cap:g} s total): {runs[-1].get('message', '')}"
        if runs and runs[-1]["status"] != "ok"
        else "",
    }


def _sum_or_none(values: Any) -> Any:
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def peer_record(case: Case, peer: str, cap: float, seed: int) -> Record:
    def one(i: int, timeout: float) -> Record:
        r = run_peer(peer, gradient_system(case.config(i), exact=False), timeout=timeout, seed=seed)
        return {
            "status": r["status"],
            "wall": r["seconds"],
            "peak_mib": r.get("peak_mib"),
            "paths": r.get("paths"),
            "distinct": r.get("distinct"),
            "real": r.get("real"),
            "failed": r.get("failed"),
            "at_infinity": r.get("at_infinity"),
            "version": r.get("version"),
            "message": r.get("message", ""),
            "command": r.get("command"),
        }

    rec = instance_loop(case, cap, one) if case.instances > 1 else one(0, cap)
    rec["version"] = peer_version(peer)
    return rec


def multihom_instances(case: Case, seed: int, cap: float, threads: int) -> Record:
    def one(i: int, timeout: float) -> Record:
        single = Case(case.widths, case.samples)
        doc = single.document(start="multihomogeneous", seed=seed, threads=threads)
        doc["data"]["seed"], doc["regularization"]["seed"] = i, 1 + i
        rec, s = run_native_process(doc, timeout, threads)
        if s is not None:
            rec.update(
                solve_seconds=s["solve_seconds"],
                paths=s["paths"]["tracked"],
                distinct=s["complex_solutions"],
                real=s["real_solutions"],
                failed=s["paths"]["failed"],
            )
        return rec

    return instance_loop(case, cap, one)


def warm_up(threads: int) -> None:
    """Compile (or load from numba's disk cache) every kernel once, outside the timing."""
    for start in ("monodromy", "multihomogeneous"):
        doc = Case((2, 1, 2), 2).document(start=start, seed=0, threads=threads)
        rec, _ = run_native_process(doc, 900.0, threads)
        say(f"warm-up ({start}): {rec['status']} in {rec['wall']:.1f} s")


# --------------------------------------------------------------------------- records


def record_key(rec: Record) -> tuple[Any, ...]:
    return (rec["case"], rec["solver"], rec["seed"], rec["cap"], rec["threads"], rec["max_paths"])


def load_records(path: Path) -> dict[tuple[Any, ...], Record]:
    out: dict[tuple[Any, ...], Record] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("kind") == "run" and rec["status"] in ("ok", "timeout", "not run"):
                out[record_key(rec)] = rec
            elif rec.get("kind") == "exact":
                out[("exact", rec["case"], rec["cap"], rec["prime_seed"])] = rec
            elif rec.get("kind") == "exact-second":
                out[("exact-second", rec["case"], rec["cap"])] = rec["second"]
    return out


# --------------------------------------------------------------------------- table


def fmt_s(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def spread(values: Sequence[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    if len(vals) == 1:
        return fmt_s(vals[0])
    return f"{fmt_s(statistics.mean(vals))} ({fmt_s(min(vals))}–{fmt_s(max(vals))})"


def versus(count: int | None, exact: int | None) -> str:
    if count is None:
        return ""
    if exact is None:
        return "exact unknown"
    if count == exact:
        return "= exact"
    return f"missing {exact - count}" if count < exact else f"{count - exact} extra (!)"


def versus_instances(counts: list[int], degrees: list[int]) -> str:
    pairs = list(zip(counts, degrees))
    if not pairs:
        return "exact unknown" if counts else ""
    same = sum(c == d for c, d in pairs)
    text = f"= exact on {same}/{len(pairs)}"
    bad = [(i, c, d) for i, (c, d) in enumerate(pairs) if c != d]
    if bad:
        text += (
            " (" + ", ".join(f"inst. {i}: {c} vs {d}" for i, c, d in bad[:4]) + (", …" if len(bad) > 4 else "") + ")"
        )
    return text


def histogram(values: Sequence[Any]) -> str:
    counts = Counter(v for v in values if v is not None)
    return ", ".join(f"{k}: {counts[k]}×" for k in sorted(counts))


def case_rows(case: Case, exact: Record, runs: list[Record], native_mean: float | None) -> tuple[list[str], list[str]]:
    """(main-table rows, detail rows) of one case."""
    degrees = exact["degrees"]
    if case.instances > 1:
        dist = histogram(degrees)
        exact_cell = (
            f"{dist} ({len(degrees)}/{case.instances}; {fmt_s(exact['seconds'])} s)"
            if exact["status"] == "ok"
            else f"{exact['status']} after {len(degrees)} instances ({fmt_s(exact['seconds'])} s)"
        )
    else:
        exact_cell = (
            f"{degrees[0]} ({fmt_s(exact['seconds'])} s)"
            if degrees
            else f"{exact['status']} (> {fmt_s(exact['seconds'])} s)"
        )
        if exact.get("second"):
            exact_cell += f"; 2nd prime {exact['second']['degrees'][0] if exact['second']['degrees'] else '?'}"
    exact_count = degrees[0] if degrees and case.instances == 1 else None
    head = f"| {case.label} | {case.unknowns} | {exact_cell}"
    rows, details = [], []
    solvers: dict[str, list[Record]] = {}
    for r in runs:
        solvers.setdefault(r["solver"], []).append(r)
    for solver, recs in solvers.items():
        name = solver if not recs[0].get("version") else f"{solver} {recs[0]['version']}"
        seeds = ", ".join(str(r["seed"]) for r in recs)
        if recs[0]["status"] in ("not run", "no record"):
            rows.append(f"{head} | {name} | | {recs[0]['message']} | | | | | | | | | |")
            continue
        if recs[0]["status"] == "unavailable":
            rows.append(f"{head} | {name} | | unavailable: {recs[0]['message']} | | | | | | | | | |")
            continue
        ok = [r for r in recs if r["status"] == "ok"]
        capped = [r for r in recs if r["status"] == "timeout"]
        errors = [r for r in recs if r["status"] == "error"]
        wall = spread([r["wall"] for r in ok])
        if case.instances > 1 and capped:
            wall = (
                f"reached cap ({recs[0]['cap']:.0f} s) after {capped[0].get('done', 0)} of {case.instances} instances"
            )
        elif capped:
            wall = (
                (wall + "; " if wall else "")
                + f"reached cap ({recs[0]['cap']:.0f} s)"
                + (f" for {len(capped)} of {len(recs)} seeds" if len(recs) > 1 else "")
            )
        if errors:
            wall = (wall + "; " if wall else "") + f"error ({len(errors)}): {errors[0]['message'][:120]}"
        solve = spread([r.get("solve_seconds") for r in ok])
        if solver == MONODROMY:
            paths = spread_int([r.get("paths") for r in ok]) + (
                f" + {spread_int([r.get('loop_arcs') for r in ok])} loop arcs" if ok else ""
            )
        elif case.instances > 1:
            paths = spread_int([r.get("paths") for r in recs if r.get("done")])
        else:
            paths = spread_int([r.get("paths") for r in recs])
        if case.instances > 1:
            if solver == MONODROMY:
                distinct = ", ".join(
                    sorted({f"{r['distinct']} generic ({r['complete_instances']}/{r['done']} complete)" for r in ok})
                )
                vs = "; ".join(sorted({versus_instances(r["counts"], degrees) for r in ok}))
            else:
                counts = [c for r in recs for c in r.get("counts") or []]
                distinct = histogram(counts)
                vs = versus_instances(counts, degrees)
            real = "; ".join(sorted({histogram(r.get("reals") or []) for r in recs if r.get("reals")}))
            counts_seeds = (
                ", ".join(f"{r['distinct']} ({r['complete_instances']}/{r['done']})" for r in ok)
                if solver == MONODROMY
                else ""
            )
        else:
            values = [r.get("distinct") for r in ok]
            distinct = spread_int(values)
            vs = "; ".join(sorted({versus(v, exact_count) for v in values}))
            real = spread_int([r.get("real") for r in ok])
            counts_seeds = ", ".join(str(r.get("distinct")) if r["status"] == "ok" else r["status"] for r in recs)
        failed = spread_int([r.get("failed") for r in ok])
        if solver == MONODROMY and ok:
            failed += f" (+{spread_int([r.get('loop_arcs_failed') for r in ok])} arcs)"
        peaks = [r.get("peak_mib") for r in recs if r.get("peak_mib")]
        peak = f"{max(peaks):.0f}" if peaks else ""
        ratio = ""
        if native_mean:
            if capped and not ok:
                ratio = f"> {recs[0]['cap'] / native_mean:.0f}"
            elif ok:
                ratio = f"{statistics.mean(r['wall'] for r in ok) / native_mean:.2g}"
        rows.append(
            f"{head} | {name} | {seeds} | {wall} | {solve} | {paths} | {distinct} | {vs} | {real} | {failed} "
            f"| {peak} | {counts_seeds} | {ratio} |"
        )
        for r in recs:
            details.append(detail_row(case, r, degrees))
    return rows, details


def spread_int(values: Sequence[Any]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def detail_row(case: Case, r: Record, degrees: list[int]) -> str:
    count = r.get("distinct")
    if case.instances > 1:
        vs = versus_instances(r.get("counts") or [], degrees)
        count = f"{count} generic" if count is not None else histogram(r.get("counts") or [])
        real = histogram(r.get("reals") or [])
    else:
        vs = versus(count, degrees[0] if degrees else None) if r["status"] == "ok" else ""
        real = _cell(r.get("real"))
    return (
        f"| {case.label} | {r['solver']} | {r['seed']} | {r['status']} | {fmt_s(r.get('wall'))} "
        f"| {fmt_s(r.get('solve_seconds'))} | {_cell(r.get('paths'))} | {_cell(r.get('loop_arcs'))} "
        f"| {_cell(r.get('path_steps'))} | {_cell(count)} | {vs} | {real} | {_cell(r.get('failed'))} "
        f"| {_cell(r.get('complete'))} | {fmt_s(r.get('peak_mib'))} | {r.get('load', '')} | {r.get('when', '')} "
        f"| {r.get('code', '')} |"
    )


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


MAIN_HEADER = [
    "| case | unknowns | exact (msolve degree, s) | solver | seeds | wall s | solve s | paths tracked | distinct "
    "| vs exact | real | failed paths | peak MiB | counts over seeds | × native monodromy |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]
DETAIL_HEADER = [
    "| case | solver | seed | status | wall s | solve s | paths | loop arcs | path steps | distinct | vs exact "
    "| real | failed | complete | peak MiB | load (1 min) at start | started | code |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def write_table(path: Path, header: str, rows: list[str], details: list[str], exact_rows: list[str]) -> None:
    text = "\n".join(
        [
            header,
            "",
            *MAIN_HEADER,
            *rows,
            "",
            "### msolve (exact count)",
            "",
            "| case | unknowns | status | degree(s) | prime(s) | seconds |",
            "|---|---|---|---|---|---|",
            *exact_rows,
            "",
            "### Every run",
            "",
            *DETAIL_HEADER,
            *details,
            "",
        ]
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def exact_row(case: Case, exact: Record) -> str:
    degrees = exact["degrees"]
    shown = histogram(degrees) if case.instances > 1 else ", ".join(map(str, degrees))
    primes = f"{len(exact['primes'])} primes" if case.instances > 1 else ", ".join(map(str, exact["primes"]))
    row = f"| {case.label} | {case.unknowns} | {exact['status']} | {shown} | {primes} | {fmt_s(exact['seconds'])} |"
    if exact.get("second"):
        s = exact["second"]
        row += f"\n| {case.label} (2nd prime) | {case.unknowns} | {s['status']} | {', '.join(map(str, s['degrees']))} "
        row += f"| {', '.join(map(str, s['primes']))} | {fmt_s(s['seconds'])} |"
    return row


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES.split(), help="WIDTHS:M or WIDTHS:MxN")
    parser.add_argument("--seeds", default="42,43,44,45,46", help="solver seeds of native monodromy")
    parser.add_argument("--peer-seed", type=int, default=1)
    parser.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True, help="run Bertini 2/PHCpack")
    parser.add_argument("--multihomogeneous", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--cap", type=float, default=600.0, help="wall-clock cap per run (s)")
    parser.add_argument("--threads", type=int, default=2, help="native kernel threads (peers: 1)")
    parser.add_argument("--max-paths", type=int, default=100_000, help="skip multihomogeneous starts above this")
    parser.add_argument("--out", type=Path, default=HERE / "results-suite.md")
    parser.add_argument("--records", type=Path, help="JSON-lines record of every run (default: OUT.jsonl)")
    parser.add_argument("--reuse", action="store_true", help="reuse matching runs from the record file")
    parser.add_argument(
        "--table-only", action="store_true", help="run nothing: write the table from the record file (implies --reuse)"
    )
    args = parser.parse_args(argv)
    cases = [Case.parse(spec) for spec in args.cases]
    seeds = [int(s) for s in args.seeds.split(",")]
    records_path = args.records or args.out.with_suffix(".jsonl")
    previous = load_records(records_path) if args.reuse or args.table_only else {}
    command = "python benchmarks/suite.py " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    load_start, started = loadavg(), now()
    peers = {p: args.table_only or peer_available(p) for p in PEERS} if args.peers else {}
    try:
        msolve = f"msolve {msolve_version(find_msolve())}"
    except MsolveError as error:
        msolve = f"msolve unavailable ({error})"
    say(f"suite: {len(cases)} cases, seeds {seeds}, threads {args.threads}, cap {args.cap:g} s; peers {peers}")
    if not args.table_only:
        warm_up(args.threads)

    def header(load_end: str, finished: str) -> str:
        cpus = os.cpu_count()
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
        peer_text = ", ".join(f"{p} {peer_version(p)}" for p, ok in peers.items() if ok) or "not run (--no-peers)"
        return "\n".join(
            [
                "## Benchmark suite",
                "",
                f"- Started {started}, finished {finished}."
                if not args.table_only
                else f"- Table written {started} from the record file `{records_path.name}` (`--table-only`); "
                f"runs started between {span[0]} and {span[1]}; load averages: see the last table.",
                f"- Command: `{command}`",
                f"- Machine: {cpus} CPUs (usable {affinity}; `nproc`), {cpu_model()}, "
                f"{meminfo_gib():.1f} GiB RAM (/proc/meminfo MemTotal); Python {platform.python_version()}, "
                f"dlnlandscape {__version__}.",
                f"- Load average (1/5/15 min, /proc/loadavg): {load_start} at start, {load_end} at the end"
                " (other jobs may share the cores)."
                if not args.table_only
                else "- Load average: the 1-minute value at the start of every run is in the last table.",
                f"- Native: {args.threads} kernel thread(s) (`solver.threads`, NUMBA_NUM_THREADS), "
                "`solver.certify: false`, one process per run (interpreter + numba cache load in *wall s*; "
                "*solve s* is summary.json `solve_seconds`); monodromy seeds "
                f"{', '.join(map(str, seeds))}; multihomogeneous seed {seeds[0]}.",
                f"- Peers: {peer_text}; one thread each, peer seed {args.peer_seed}. Exact count: {msolve}, "
                "degree over one random prime (a second when a solver disagrees), 1 thread.",
                f"- Cap {args.cap:g} s per run (instance cases: per solver in total); multihomogeneous starts "
                f"(native, Bertini 2) above {args.max_paths:,} paths are not run.",
                "- Data and Λ drawn with seeds 0/1 (instance i: i/1+i), generalised Λ in [0.1, 1), both to 3 decimals.",
                "- Code (git HEAD, `+dirty:<hash>` for uncommitted package changes; per run in the last table): "
                + ", ".join(sorted({r["code"] for r in all_runs if r.get("code")}) or [code_version()])
                + ".",
            ]
        )

    stamps = sorted(r["when"] for r in previous.values() if isinstance(r, dict) and r.get("when"))
    span = (stamps[0], stamps[-1]) if stamps else ("?", "?")
    rows: list[str] = []
    details: list[str] = []
    all_runs: list[Record] = []
    exact_rows: list[str] = []
    with open(records_path, "a") as log:

        def keep(rec: Record) -> Record:
            log.write(json.dumps(rec, default=str) + "\n")
            log.flush()
            return rec

        for case in cases:
            say(f"== {case.label}: {case.unknowns} unknowns")
            ekey = ("exact", case.spec, args.cap, 0)
            exact = previous.get(ekey)
            if exact is None and args.table_only:
                exact = {"status": "no record", "degrees": [], "primes": [], "seconds": 0.0}
            elif exact is None:
                exact = keep({"kind": "exact", "case": case.spec, "cap": args.cap, **exact_degree(case, args.cap)})
            second = previous.get(("exact-second", case.spec, args.cap))
            if second is not None:
                exact["second"] = second
            say(
                f"{case.label} msolve: {exact['status']} degree(s) {histogram(exact['degrees'])} "
                f"in {exact['seconds']:.1f} s"
            )
            mh_paths = case.multihomogeneous_paths()
            plan: list[tuple[str, int]] = [(MONODROMY, s) for s in seeds]
            if args.multihomogeneous:
                plan.append((MULTIHOM, seeds[0]))
            plan += [(p, args.peer_seed) for p in peers]
            runs: list[Record] = []
            for solver, seed in plan:
                base = {
                    "kind": "run",
                    "case": case.spec,
                    "solver": solver,
                    "seed": seed,
                    "cap": args.cap,
                    "threads": args.threads if solver in (MONODROMY, MULTIHOM) else 1,
                    "max_paths": args.max_paths,
                }
                old = previous.get(record_key(base))
                if old is not None:
                    runs.append(old)
                    say(f"{case.label} {solver} seed {seed}: reused ({old['status']}, {old.get('when')})")
                    continue
                if solver in PEERS and not peers[solver]:
                    runs.append({**base, "status": "unavailable", "message": "not installed or probe failed"})
                    continue
                if solver in (MULTIHOM, "bertini2") and mh_paths > args.max_paths:
                    rec = {
                        **base,
                        "status": "not run",
                        "message": f"not run: {mh_paths:,} start paths > {args.max_paths:,}",
                    }
                    runs.append(rec if args.table_only else keep(rec))
                    say(f"{case.label} {solver}: {rec['message']}")
                    continue
                if args.table_only:
                    runs.append({**base, "status": "no record", "message": "no record"})
                    continue
                info = {"load": loadavg().split()[0], "when": now(), "code": code_version()}
                if solver in (MONODROMY, MULTIHOM) and (solver == MONODROMY or case.instances == 1):
                    rec = native_record(case, solver, seed, args.cap, args.threads)
                elif solver == MULTIHOM:
                    rec = multihom_instances(case, seed, args.cap, args.threads)
                else:
                    rec = peer_record(case, solver, args.cap, seed)
                rec = keep({**base, **info, **rec})
                runs.append(rec)
                say(progress_line(case, rec, exact))
            degrees = exact["degrees"]
            disagree = (
                case.instances == 1
                and degrees
                and any(r["status"] == "ok" and r.get("distinct") not in (None, degrees[0]) for r in runs)
            )
            if disagree and not exact.get("second") and not args.table_only:
                exact["second"] = exact_degree(case, args.cap, prime_seed=1)
                keep({**exact, "kind": "exact-second"})
                say(f"{case.label} msolve second prime: {exact['second']['degrees']}")
            monos = [r["wall"] for r in runs if r["solver"] == MONODROMY and r["status"] == "ok"]
            r_main, r_detail = case_rows(case, exact, runs, statistics.mean(monos) if monos else None)
            rows += r_main
            all_runs.extend(runs)
            details += r_detail
            exact_rows.append(exact_row(case, exact))
            write_table(args.out, header(loadavg(), "(running)"), rows, details, exact_rows)
    write_table(args.out, header(loadavg(), now()), rows, details, exact_rows)
    say(f"wrote {args.out} (records in {records_path})")
    print(args.out.read_text())
    return 0


def progress_line(case: Case, r: Record, exact: Record) -> str:
    text = f"{case.label} {r['solver']} seed {r['seed']}: {r['status']} {r['wall']:.1f} s"
    if r.get("solve_seconds") is not None:
        text += f" (solve {r['solve_seconds']:.1f} s)"
    if case.instances > 1 and r.get("counts") is not None:
        text += f", {r.get('done')} instances, {versus_instances(r['counts'], exact['degrees'])}"
    elif r.get("distinct") is not None:
        text += f", {r['distinct']} distinct ({versus(r['distinct'], (exact['degrees'] or [None])[0])})"
    real = histogram(r["reals"]) if case.instances > 1 and r.get("reals") is not None else r.get("real")
    text += f", real {real}, failed {r.get('failed')}, paths {r.get('paths')}"
    if r.get("loop_arcs") is not None:
        text += f" + {r['loop_arcs']} arcs"
    if r.get("peak_mib"):
        text += f", {r['peak_mib']:.0f} MiB"
    if r.get("message"):
        text += f" — {r['message'][:200]}"
    return text


if __name__ == "__main__":
    raise SystemExit(main())
