import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.image` (see FuzzDriver).
runFuzzer(.image)
