import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.zip` (see FuzzDriver).
runFuzzer(.zip)
