import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.xlsx` (see FuzzDriver).
runFuzzer(.xlsx)
