import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.modelFile` (see FuzzDriver).
runFuzzer(.modelFile)
