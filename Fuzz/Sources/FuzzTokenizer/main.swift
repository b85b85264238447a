import FuzzDriver

// libFuzzer target: every input goes to `FuzzEntry.tokenizer` (see FuzzDriver).
runFuzzer(.tokenizer)
