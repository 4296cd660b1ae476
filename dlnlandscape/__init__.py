"""dlnlandscape: all critical points of deep linear network losses, classified.

The Python API (see the README, "Python API"):

    import dlnlandscape as dln
    result = dln.solve("configs/quickstart.yaml")
    result.complete, result.complex_solutions, result.real_solutions
    result.points            # a pandas DataFrame, the columns of critical_points.csv
    result.save("results/quickstart")

`solve`, `components` and `check` take a config path, a dict in the YAML schema or a `Config`.
Importing the package starts no engine: Julia, numba kernels and msolve load on first use.
"""

from .api import (
    CheckResult,
    ComponentsResult,
    InstancesResult,
    SolveResult,
    check,
    components,
    solve,
)
from .errors import BackendUnavailable, ConfigError, DLNError, OutputPathError, VerificationMismatch
from .model.config import Config, load_config, parse_config
from .version import __version__

__all__ = [
    "BackendUnavailable",
    "CheckResult",
    "ComponentsResult",
    "Config",
    "ConfigError",
    "DLNError",
    "InstancesResult",
    "OutputPathError",
    "SolveResult",
    "VerificationMismatch",
    "__version__",
    "check",
    "components",
    "load_config",
    "parse_config",
    "solve",
]
