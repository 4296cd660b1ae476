"""Positive-dimensional critical sets (`dln components`): a numerical irreducible decomposition.

Without a generic regulariser the critical points of L are not isolated, so instead of counting
them the critical set V(∇L) is split into irreducible components, each with its dimension,
degree (a witness set, proven complete by the trace test) and loss.  One concept per module,
in the order the pipeline uses them:

* `options.py` — `ComponentOptions`, the tolerances and loop limits;
* `slicing.py` — random slices, the randomised square system, its Newton method and homotopy;
* `local_dimension.py` — the Hessian's corank proposes a dimension, slicing tests it;
* `witness.py` — moving points between slices, monodromy, the trace test, merging, membership;
* `closed_form.py` — the critical values of the Λ = 0 loss in closed form, and matching;
* `sampled_starts.py` — an engine for the initial solve that tracks a random sample of paths;
* `result.py` — `Component` and `Decomposition`, the typed results (components.json);
* `run.py` — one decomposition, end to end: initial solve → seeds → dimensions → witness sets → report.

Writing the result files is `reports/components.py`.
"""

from .options import ComponentOptions
from .result import Component, Decomposition
from .run import decompose, decompose_points

__all__ = ["Component", "ComponentOptions", "Decomposition", "decompose", "decompose_points"]
