"""The problem as given: a validated config (config.py) with its solver options (options.py), the
loss with its gradient and Hessian evaluated batched (problem.py), and the gradient system in
exact sparse form for msolve, certification and the compiled kernels (sparse.py)."""
