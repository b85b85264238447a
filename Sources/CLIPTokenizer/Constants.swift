/// Named constants of CLIP's byte-level BPE vocabulary (openai/CLIP clip/simple_tokenizer.py, clip.py).
public enum CLIPVocabularyConstants {
    /// 256 byte symbols + 256 end-of-word byte symbols + 48 894 merges + 2 special tokens.
    public static let vocabularySize = 49_408
    /// Number of merge lines used: `49152 - 256 - 2` (lines 1...48894 of the file; line 0 is a header).
    public static let mergeCount = 49_152 - 256 - 2
    /// `<|startoftext|>`, the last-but-one id.
    public static let startOfText = "<|startoftext|>"
    /// `<|endoftext|>`, the last id.
    public static let endOfText = "<|endoftext|>"
    /// End-of-word marker appended to the last symbol of every pre-token.
    public static let endOfWord = "</w>"
    /// CLIP's text context length.
    public static let defaultContextLength = 77
    /// The longest row `tokenize` makes (rows are allocated up front; CLIP itself uses 77).
    public static let maxContextLength = 4096
    /// Bundled vocabulary file.
    public static let vocabularyFile = "bpe_simple_vocab_16e6.txt.gz"
    /// Characters of an over-long text quoted in `TokenizerError.textTooLong`.
    static let errorTextPrefixLength = 60
    /// ftfy splits text into segments of at most this many code points (`max_decode_length`).
    static let ftfyMaxSegmentLength = 1_000_000
    /// The BPE cache is cleared when it grows beyond this many words (results do not depend on it).
    static let bpeCacheLimit = 200_000
}
