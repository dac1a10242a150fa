"""Processing algorithms, one module per engine operation, on one marshalling base."""
