// IQA target: see the issue tracker.
