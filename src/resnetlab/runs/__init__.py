"""A run's folder and what it writes: the resolved config, the checkpoints (atomic, digest-checked), the metrics log,
the plots."""
