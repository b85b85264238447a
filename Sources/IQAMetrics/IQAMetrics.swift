// IQAMetrics target: see the issue tracker.
