import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.checkpoint` (see FuzzDriver).
runFuzzer(.checkpoint)
