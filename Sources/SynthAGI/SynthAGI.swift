// SynthAGI target: see the issue tracker.
