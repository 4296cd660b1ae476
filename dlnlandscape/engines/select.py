"""Engine selection: which engine runs, and why (recorded in summary.json).

Engines are imported lazily so that `import dlnlandscape` never starts Julia or looks for
msolve.
"""

from __future__ import annotations

from ..errors import BackendUnavailable
from ..model.options import SolverOptions
from .base import Engine


def select_engine(options: SolverOptions) -> tuple[Engine, str]:
    """The engine for `solver.backend`, and the reason it was chosen."""
    backend = options.backend
    if backend == "native":
        from .native.engine import NativeEngine

        return NativeEngine(), "requested with backend: native"
    if backend == "julia":
        from .julia.engine import JuliaEngine

        return JuliaEngine(), "requested with backend: julia"
    if backend == "exact":
        from .exact import ExactEngine

        return ExactEngine(), "requested with backend: exact"
    if options.executor == "dask":
        from .native.engine import NativeEngine

        return NativeEngine(), "auto: solver.executor dask runs the built-in engine's paths on the cluster"
    # auto: HC.jl only when a Julia installation is already there (no download), else native
    reason = "auto: no Julia installation found without a download, so the built-in engine runs"
    try:
        from .julia.runtime import julia_available

        found, why = julia_available()
        if found:
            from .julia.engine import JuliaEngine

            return JuliaEngine(), f"auto: {why}"
        reason = f"auto: {why}; the built-in engine runs"
    except (ImportError, BackendUnavailable):
        pass
    from .native.engine import NativeEngine

    return NativeEngine(), reason
