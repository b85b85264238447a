// CLIPTokenizer target: see the issue tracker.
