"""The training loop and the pieces it calls: the step, the optimiser and its LR schedule, EMA, frozen stages, stop
signals, the running sums a checkpoint carries, and the model and data built from a config."""
