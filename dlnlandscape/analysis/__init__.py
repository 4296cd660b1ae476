"""From an engine's path results to classified critical points: de-duplication, loss, Hessian
signature and class (classify.py into points.py's record), the literature's statements per
point (theory.py), Krawczyk certification on the exact system (certify.py), and the bounds on
the count (bounds.py, with the BKK mixed volume in bkk.py)."""
