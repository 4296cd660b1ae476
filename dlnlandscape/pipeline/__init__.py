"""From a config to a finished run: `solve` (one solve, run.py) and `solve_instances`
(`data.instances: N`, instances.py), both through the same analysis, certification,
verification, verdict (verdict.py) and summary (summary.py)."""

from .instances import InstancesRun, solve_instances
from .run import Run, finish, solve

__all__ = ["InstancesRun", "Run", "finish", "solve", "solve_instances"]
