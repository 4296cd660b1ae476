"""Solve one config with its paths on SLURM jobs: a dask-jobqueue cluster, `dln`'s Dask executor.

Run it on the login node (it is the client: it keeps the orchestration and writes the result):

    pip install 'dlnlandscape[cluster]'          # dask distributed + dask-jobqueue
    cp docs/examples/jobqueue.yaml ~/.config/dask/jobqueue.yaml     # then adapt the SITE lines
    python docs/examples/slurm_solve.py frontier.yaml --jobs 4 --out results/frontier

Each SLURM job starts `cores` single-threaded workers; the solve begins once `--min-workers` of
them are up and uses any that join later.  A job that ends (walltime, pre-emption) loses only
the batches it was running, which are sent again to the others.
"""

from __future__ import annotations

import argparse

import dlnlandscape as dln


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("--jobs", type=int, default=2, help="SLURM jobs to request")
    parser.add_argument("--min-workers", type=int, default=1, help="start solving once this many workers are up")
    parser.add_argument("--out", required=True, help="result directory (new or an earlier result of dln's)")
    args = parser.parse_args()

    from dask_jobqueue import SLURMCluster
    from distributed import Client

    with SLURMCluster(config_name="slurm") as cluster, Client(cluster) as client:
        print(cluster.job_script())
        cluster.scale(jobs=args.jobs)
        client.wait_for_workers(args.min_workers)
        result = dln.solve(args.config, executor="dask", dask_address=cluster.scheduler_address)
        print(result)
        print("saved to", result.save(args.out))


if __name__ == "__main__":
    main()
