"""What a person or a script reads: a solve's files (files.py; the points table in points.py, the
text of report.md in text.py), an instances run's and a decomposition's files (instances.py,
components.py), the terminal view (terminal.py), tables over many runs (tables.py) and figures
(plots.py).  Reports read results; they never compute them."""
