import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.csv` (see FuzzDriver).
runFuzzer(.csv)
