"""Many solves: a sweep is a base config and a grid of values, one resumable solve per point, in
parallel processes or on a Dask cluster (sweep.py)."""
