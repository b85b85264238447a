// Imaging target: see the issue tracker.
