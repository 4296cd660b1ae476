"""The homotopies the native tracker follows: the protocol (base), the γ-trick homotopy on
projective space (projective) and the parameter homotopy along arcs of data (parameter)."""
