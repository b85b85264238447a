// IQAData target: see the issue tracker.
