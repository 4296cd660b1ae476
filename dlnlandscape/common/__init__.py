"""What every layer shares and nothing here imports from above: atomic writes, and (soon) point
equality, the sign-flip group, Newton, ranks and the data spectrum."""
