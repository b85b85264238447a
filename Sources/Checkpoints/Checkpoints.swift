// Checkpoints target: see the issue tracker.
