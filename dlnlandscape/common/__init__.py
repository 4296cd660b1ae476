"""What every layer shares, below everything (nothing here imports from the rest of the package):
atomic writes that never destroy what the tool did not write (atomic.py), point equality and
de-duplication (points.py), the sign-flip group (symmetry.py), batched Newton (newton.py), and
linear algebra with one tolerance rule each — solves, numerical rank, the data spectrum (linalg.py)."""
