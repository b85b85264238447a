import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.jsonConfig` (see FuzzDriver).
runFuzzer(.jsonConfig)
