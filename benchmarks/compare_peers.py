"""Side-by-side wall time: `dln solve` (native engine) against Bertini 2 and PHCpack, same system.

Usage::

    python benchmarks/compare_peers.py [CONFIG ...] [--seeds 42,43,44] [--cap 600] [--out FILE]

For every config, in one run: `dln solve CONFIG --json` in a subprocess (one numba thread, so
"one core"; start-up included; the kernels are compiled once beforehand so compilation is not
timed), then each installed peer on the *same* gradient system (the config's data, written
with full double precision).  The Markdown table it writes gives seconds, paths, distinct
finite solutions, failures and the ratio peer / native, measured side by side.  A peer past the
cap is reported as such.  Peers are GPL programs run as external processes only
(benchmarks/peers.py); nothing here is imported by the package.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import peer_available, run_peer  # noqa: E402

from dlnlandscape.common.atomic import check_result_file, result_file, starts_with  # noqa: E402
from dlnlandscape.errors import DLNError  # noqa: E402
from dlnlandscape.model.config import load_config  # noqa: E402
from dlnlandscape.model.sparse import gradient_system  # noqa: E402

# Every solve here is measured from scratch: no run starts from a solution set an earlier run
# proved and kept (engines/native/proven.py), in this process or in the ones it starts.
os.environ["DLN_REUSE"] = "0"

is_peer_table = starts_with(b"benchmarks/compare_peers.py")  # its command line, in the first lines


def native(config: Path, seed: int, threads: int = 1) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "dlnlandscape.cli",
                "solve",
                str(config),
                "--json",
                "--quiet",
                "--seed",
                str(seed),
                "--backend",
                "native",
                "--out",
                out,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - began
    if proc.returncode != 0:
        return {"status": "error", "seconds": seconds, "message": proc.stderr.strip()}
    summary = json.loads(proc.stdout)
    return {
        "status": "ok",
        "seconds": seconds,
        "paths": summary["paths"]["tracked"],
        "distinct": summary["complex_solutions"],
        "real": summary["real_solutions"],
        "failed": summary["paths"]["failed"],
        "complete": summary["complete"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=[str(HERE.parent / "configs" / "quickstart.yaml")])
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--peer-seed", type=int, default=1)
    parser.add_argument("--cap", type=float, default=600.0)
    parser.add_argument("--peers", default="bertini2,phcpack")
    parser.add_argument("--out", default=str(HERE / "results-peers.md"))
    args = parser.parse_args()
    try:  # before any run: an --out holding someone else's file is refused, nothing written
        check_result_file(Path(args.out), "--out", is_peer_table)
    except DLNError as error:
        parser.error(str(error))
    seeds = [int(s) for s in args.seeds.split(",")]
    peers = [p for p in args.peers.split(",") if p]
    available = {p: peer_available(p) for p in peers}
    # compile the numba kernels once, outside the timing
    subprocess.run([sys.executable, "-c", "import dlnlandscape.engines.native.kernel"], check=False)
    lines = [
        "| config | solver | seconds | paths | distinct | failed | real | seconds / native (mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config_path in map(Path, args.configs):
        config = load_config(config_path)
        runs = [native(config_path, seed) for seed in seeds]
        for seed, r in zip(seeds, runs):
            print(f"{config.name} native seed {seed}: {r}", flush=True)
            lines.append(
                f"| {config.name} | native (seed {seed}) | {r['seconds']:.2f} | {r.get('paths')} | {r.get('distinct')} "
                f"| {r.get('failed')} | {r.get('real')} | 1 |"
            )
        mean = sum(r["seconds"] for r in runs) / len(runs)
        system = gradient_system(config, exact=False)
        for peer in peers:
            if not available[peer]:
                lines.append(f"| {config.name} | {peer} | not installed | | | | | |")
                continue
            r = run_peer(peer, system, timeout=args.cap, seed=args.peer_seed)
            print(f"{config.name} {peer}: {r}", flush=True)
            shown = f"> {args.cap:.0f} (cap)" if r["status"] == "timeout" else f"{r['seconds']:.2f}"
            lines.append(
                f"| {config.name} | {peer} {r.get('version') or ''} | {shown} | {r.get('paths')} | {r.get('distinct')} "
                f"| {r.get('failed')} | {r.get('real')} | {r['seconds'] / mean:.1f} |"
            )
    table = "\n".join(lines) + "\n"
    with result_file(Path(args.out), "--out", is_peer_table) as tmp:
        tmp.write_text(
            f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; native with one numba thread, "
            f"peers single-threaded; command: python benchmarks/compare_peers.py {' '.join(sys.argv[1:])}\n\n" + table
        )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
