// CLIP target: see the issue tracker.
