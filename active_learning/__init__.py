"""Active learning: fit on accepted labels, score the pool, pick the batch worth labeling."""
