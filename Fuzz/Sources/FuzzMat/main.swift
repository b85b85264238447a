import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.mat` (see FuzzDriver).
runFuzzer(.mat)
