// NN target: see the issue tracker.
