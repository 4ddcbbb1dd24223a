"""Use cases. Each owns its transaction; none knows about HTTP or Flask."""
