#!/usr/bin/env python3
"""Resources and fixtures for the CLIPTokenizer target (run from the repository root).

  python3 Scripts/fixtures_tokenizer.py [--datasets /work/shared/datasets]

Writes
  Sources/CLIPTokenizer/Resources/html5_entities.tsv   Python's html.entities.html5 (name TAB hex code points)
  Sources/CLIPTokenizer/Resources/ftfy_tables.json     ftfy 6.x data: charmaps, regexes flattened to ordered
                                                       alternatives of character classes, ligature/width/control maps
  Sources/CLIPTokenizer/Resources/unicode_tables.json  \\p{L}, \\p{N} ranges of the `regex` module, str.lower()
                                                       mappings, str.isspace() code points (the reference's Unicode data)
  Tests/CLIPTokenizerTests/Fixtures/tokenizer_datasets.json  every AGIQA-1k / AGIQA-3k prompt -> encode() ids
  Tests/CLIPTokenizerTests/Fixtures/tokenizer_handmade.json  hand-made + generated mojibake prompts -> ftfy.fix_text,
                                                       cleaned text, encode() ids
  Tests/CLIPTokenizerTests/Fixtures/tokenizer_tokenize.json  clip.tokenize rows (context length, truncate, error)

The reference is OpenAI CLIP's clip/simple_tokenizer.py (loaded by file path, since importing the `clip` package
needs torchvision) with ftfy, html and regex as installed; clip.tokenize is reproduced below line by line.
"""
import argparse
import csv
import html
import html.entities
import importlib.util
import json
import os
import random
import re._constants as C
import re._parser as sre_parse
import sys
import unicodedata

import ftfy
import ftfy.badness
import ftfy.chardata
import regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "Sources/CLIPTokenizer/Resources")
FIX = os.path.join(ROOT, "Tests/CLIPTokenizerTests/Fixtures")


def reference_module():
    spec = importlib.util.find_spec("clip")
    folder = os.path.dirname(spec.origin) if spec and spec.origin else None
    if folder is None:
        for p in sys.path:
            if os.path.isfile(os.path.join(p, "clip", "simple_tokenizer.py")):
                folder = os.path.join(p, "clip")
                break
    path = os.path.join(folder, "simple_tokenizer.py")
    s = importlib.util.spec_from_file_location("clip_simple_tokenizer", path)
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------- resources

def ranges_of(codepoints):
    out = []
    for c in sorted(set(codepoints)):
        if out and out[-1][1] + 1 == c:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def atom_of(op, av):
    """One single-character regex item -> {kind, ranges, negated, categories}."""
    if op is C.LITERAL:
        return {"kind": "set", "ranges": [[av, av]], "negated": False, "categories": []}
    if op is C.ANY:
        return {"kind": "any"}
    if op is C.AT:
        assert av is C.AT_BEGINNING, av
        return {"kind": "begin"}
    if op is C.IN:
        cps, negated, cats = [], False, []
        for o, a in av:
            if o is C.LITERAL:
                cps.append(a)
            elif o is C.RANGE:
                cps.extend(range(a[0], a[1] + 1))
            elif o is C.NEGATE:
                negated = True
            elif o is C.CATEGORY:
                cats.append({C.CATEGORY_SPACE: "space", C.CATEGORY_WORD: "word", C.CATEGORY_DIGIT: "digit"}[a])
            else:
                raise ValueError(f"unsupported class item {o}")
        return {"kind": "set", "ranges": ranges_of(cps), "negated": negated, "categories": cats}
    raise ValueError(f"unsupported regex op {op}")


def flatten(sub):
    """A loop-free regex -> ordered list of alternatives (lists of atoms), in backtracking order."""
    result = [[]]
    for op, av in sub:
        if op is C.BRANCH:
            alts = [a for b in av[1] for a in flatten(b)]
        elif op is C.SUBPATTERN:
            alts = flatten(av[-1])
        elif op is C.MAX_REPEAT:
            lo, hi, inner = av
            assert hi is not C.MAXREPEAT and hi <= 4, "unbounded repeat cannot be flattened"
            inner_alts = flatten(inner)
            alts = []
            for n in range(hi, lo - 1, -1):  # greedy: most repetitions first
                seqs = [[]]
                for _ in range(n):
                    seqs = [s + a for s in seqs for a in inner_alts]
                alts.extend(seqs)
        else:
            alts = [[atom_of(op, av)]]
        result = [r + a for r in result for a in alts]
    return result


def flatten_regex(pattern):
    return flatten(sre_parse.parse(pattern.pattern, pattern.flags))


def utf8_detector(pattern):
    """UTF8_DETECTOR_RE = (?<![strict]) ( [first2][cont] | [first3][cont]{2} | [first4][cont]{3} )+ -> its classes.
    The Swift port hand-codes this shape; the asserts fail if ftfy changes it."""
    (op1, av1), (op2, av2) = sre_parse.parse(pattern.pattern, pattern.flags)
    assert op1 is C.ASSERT_NOT and av1[0] == -1 and len(av1[1]) == 1, "lookbehind changed"
    assert op2 is C.MAX_REPEAT and av2[0] == 1 and av2[1] is C.MAXREPEAT, "repeat changed"
    (sop, sav), = av2[2]
    (bop, bav), = sav[-1]
    assert sop is C.SUBPATTERN and bop is C.BRANCH and len(bav[1]) == 3
    firsts, conts = [], []
    for n, branch in enumerate(bav[1], start=2):
        first, rest = branch[0], branch[1:]
        firsts.append(atom_of(*first))
        if n == 2:
            assert len(rest) == 1
            conts.append(atom_of(*rest[0]))
        else:
            (rop, (lo, hi, inner)), = rest
            assert rop is C.MAX_REPEAT and lo == hi == n - 1 and len(inner) == 1
            conts.append(atom_of(*inner[0]))
    assert conts[0] == conts[1] == conts[2]
    return {"utf8FirstOf2": firsts[0], "utf8FirstOf3": firsts[1], "utf8FirstOf4": firsts[2],
            "utf8Continuation": conts[0], "utf8ContinuationStrict": atom_of(*av1[1][0])}


def charmap(name):
    high = bytes(range(0x80, 0x100)).decode(name)
    sub = bytes([0x1A]).decode(name)
    low = bytes(range(0x80)).decode(name)
    assert low == "".join(map(chr, range(0x80)))[:0x1A] + sub + "".join(map(chr, range(0x1B, 0x80))), name
    allchars = [ord(c) for c in high] + [ord(sub)]
    assert len(set(allchars)) == len(allchars), f"{name} maps two bytes to one character"
    return {"name": name, "high": [ord(c) for c in high], "substitute": ord(sub)}


def write_resources():
    # Python's HTML5 entity table (PSF licence, see LICENSE-PSF-html5-entities).
    lines = [f"{name}\t{' '.join('%X' % ord(c) for c in value)}" for name, value in sorted(html.entities.html5.items())]
    write_atomic(os.path.join(RES, "html5_entities.tsv"), "\n".join(lines) + "\n")

    cd, bd = ftfy.chardata, ftfy.badness
    strict1252 = []
    for b in range(0x80, 0x100):
        try:
            strict1252.append(ord(bytes([b]).decode("windows-1252")))
        except UnicodeDecodeError:
            strict1252.append(-1)
    tables = {
        "source": f"ftfy {ftfy.__version__} (Apache-2.0), generated by Scripts/fixtures_tokenizer.py",
        "charmaps": [charmap(n) for n in cd.CHARMAP_ENCODINGS],
        "strictWindows1252": strict1252,
        "ligatures": [{"from": k, "to": [ord(c) for c in v]} for k, v in sorted(cd.LIGATURES.items())],
        "widthMap": [{"from": k, "to": [ord(c) for c in v]} for k, v in sorted(cd.WIDTH_MAP.items())],
        "controlChars": sorted(cd.CONTROL_CHARS.keys()),
        "badness": flatten_regex(bd.BADNESS_RE),
        "alteredUTF8": flatten_regex(cd.ALTERED_UTF8_RE),
        "lossyUTF8": flatten_regex(cd.LOSSY_UTF8_RE),
        **utf8_detector(cd.UTF8_DETECTOR_RE),
    }
    write_atomic(os.path.join(RES, "ftfy_tables.json"), json.dumps(tables, separators=(",", ":")))

    letter = regex.compile(r"[\p{L}]", regex.IGNORECASE)
    number = regex.compile(r"[\p{N}]", regex.IGNORECASE)
    other = regex.compile(r"[^\s\p{L}\p{N}]", regex.IGNORECASE)
    space = regex.compile(r"\s")
    L, N, O, S, lower, isspace, isdecimal = [], [], [], [], [], [], []
    for c in range(0x110000):
        ch = chr(c)
        if letter.match(ch):
            L.append(c)
        if number.match(ch):
            N.append(c)
        if not other.match(ch) and not letter.match(ch) and not number.match(ch):
            O.append(c)  # matched by none of CLIP's classes: skipped like whitespace
        if space.match(ch):
            S.append(c)
        lo = ch.lower()
        if lo != ch:
            lower.append([c, [ord(x) for x in lo]])
        if ch.isspace():
            isspace.append(c)
    unicode_tables = {
        "source": f"Python {sys.version.split()[0]} (unicodedata {unicodedata.unidata_version}), regex {regex.__version__}",
        "letters": ranges_of(L), "numbers": ranges_of(N), "skipped": ranges_of(O), "regexSpace": ranges_of(S),
        "pythonSpace": ranges_of(isspace), "lowercase": lower,
    }
    write_atomic(os.path.join(RES, "unicode_tables.json"), json.dumps(unicode_tables, separators=(",", ":")))


# ----------------------------------------------------------------------------------------------- fixtures

def clip_tokenize(tok, texts, context_length=77, truncate=False):
    """clip/clip.py tokenize(), without torch: rows without the zero padding, or an error string."""
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    out = []
    for text in texts:
        tokens = [sot] + tok.encode(text) + [eot]
        if len(tokens) > context_length:
            if truncate:
                tokens = tokens[:context_length]
                tokens[-1] = eot
            else:
                out.append({"error": f"Input {text} is too long for context length {context_length}"})
                continue
        out.append({"row": tokens})
    return out


def dataset_prompts(root):
    import openpyxl
    prompts = []
    wb = openpyxl.load_workbook(os.path.join(root, "AGIQA-1k/AIGC_MOS_Zscore.xlsx"), read_only=True)
    rows = wb.active.iter_rows(values_only=True)
    header = next(rows)
    col = header.index("Prompt")
    prompts += [str(r[col]) for r in rows if r[col] is not None]
    with open(os.path.join(root, "AGIQA-3k/data.csv"), encoding="utf-8", newline="") as f:
        prompts += [r["prompt"] for r in csv.DictReader(f)]
    seen, unique = set(), []
    for p in prompts:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


HANDMADE = [
    # accents, NFC/NFD
    "Café crème brûlée on a marble table", "Cafe\u0301 cre\u0300me bru\u0302le\u0301e", "Ångström, Øresund, Ærø",
    "Straße in München, ÄÖÜ äöü ß ẞ", "İstanbul at dusk, ıIiİ", "ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ in a storm", "ΣΑΣ Σ σς",
    "Dvořák's Ústí nad Labem", "Łódź, Gdańsk, Kraków", "résumé naïve coöperate", "français ñandú pingüino",
    # curly quotes, dashes, ellipsis
    "\u201cA dog\u201d \u2018sitting\u2019 on a couch", "it\u2019s the cat\u2019s pajamas\u2026",
    "\u201ehigh\u201c \u00abquoted\u00bb \u2039single\u203a", "an em\u2014dash and an en\u2013dash",
    "don't won't they're we've I'm you'll he'd", "DON'T WON'T THEY'RE", "it\u02bcs modifier apostrophe",
    # full-width / half-width / ligatures
    "ＬＯＵＤ　ＮＯＩＳＥＳ ＡＴ ＮＩＧＨＴ", "ｆｕｌｌ－ｗｉｄｔｈ　１２３", "Ｕﾀｰﾝ halfwidth katakana ｶﾀｶﾅ",
    "ﬂuﬃeﬆ ﬁsh ﬂowers", "Ĳsselmeer ĳs ǅ Ǉ", "oﬃce ﬆyle",
    # HTML entities, numeric refs, invalid refs
    "Tom &amp; Jerry &lt;3", "Tom &amp;amp; Jerry", "&quot;quoted&quot; &apos;x&apos;", "caf&eacute; cr&egrave;me",
    "P&EACUTE;REZ BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;", "&#x2019;s &#8217;s &#39;s",
    "&amp &lt &gt &copy2023 &notit; &not", "&#0; &#x80; &#x9f; &#xD800; &#1114112; &#65535; &#x1F600;",
    "&#99999999999999999999; &#x; &#; &zzzz; &", "a <b>bold</b> &amp; move", "&hellip;&nbsp;&mdash;&trade;",
    "&Jscr;ohn &HilbertSpace;ancock &checkmark;", "fish &amp;&amp; chips &AMP; peas",
    # mojibake (UTF-8 read as Latin-1 / Windows-1252 / others)
    "CafÃ© crÃ¨me brÃ»lÃ©e", "âœ” No problems", "Itâ€™s a â€œniceâ€\x9d day", "&macr;\\_(ã\x83\x84)_/&macr;",
    "voilÃ le travail", "Ã  la carte", "sÃ³ isso", "â€œ like this â€\ufffd", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€",
    "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.", "Ã¢â‚¬Å“mixedÃ¢â‚¬Â",
    "ä¸­æ–‡ mojibake", "ðŸ˜€ emoji mojibake", "Ñ\x81Ð¾Ð±Ð°ÐºÐ° (dog)", "l'Ã©tÃ© et l’hiver",
    "\x93curly C1\x94 and \x85 ellipsis", "Ã\x81rvÃ\xadztÅ±rÅ‘ tÃ¼kÃ¶rfÃºrÃ³gÃ©p",
    "This is normal text with ½ and ² and ©", "a 1Â°C day, 5Â½ kg", "schÃ¶n",
    # emoji, CJK, other scripts, symbols
    "a cat 🐱 wearing a hat 🎩", "👨\u200d👩\u200d👧 family emoji with ZWJ", "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f flag of Wales",
    "東京の夜景、桜の木", "一只可爱的猫", "서울의 야경", "Москва зимой", "مدينة في الليل", "नमस्ते दुनिया", "ภาษาไทย",
    "①②③ ⅠⅡⅢ ½ ¾ ²³ ١٢٣ ४५६", "Ⓐ circled ⓑ and ℌ𝔢𝔩𝔩𝔬", "x² + y² = z², 30°C, 5µm, ±3",
    "ℕ ℝ ∑ ∫ ≈ ≠ ≤ ≥ →", "price: $5, €10, £3, ¥100", "tab\tnew\nline\r\nCR\rLS\u2028PS\u2029end",
    "nbsp\u00a0thin\u2009ideographic\u3000space", "zero\u200bwidth\u200csp\u200dace\ufeffBOM",
    "\x1b[36;44mcolored\x1b[0m terminal", "ctl\x00\x07\x0b\x7f chars \u206a\ufff9", "\u0345 ypogegrammeni alone",
    "'ſ long s 'ſtartoftext <|ſtartoftext|>", "<|startoftext|>hello<|endoftext|>", "<|STARTOFTEXT|> caps",
    "'s 't 're 've 'm 'll 'd ''s '''", "snake_case and CamelCase and kebab-case", "!!!???... ---___",
    "   leading and trailing spaces   ", "", " ", "a", "A", "42", "3.14159", "#hashtag @mention http://x.y/z?q=1&r=2",
    "Ǳ ǲ ǳ ﬀ ﬅ", "갸ﾦ halfwidth jongseong composes with an LV syllable", "\u1100\u1161\u11ad jamo", "\U0001d400\U0001d401 math bold", "Ǆemal", "ǈjubljana",
]

LONG = [
    " ".join(["a photo of a very detailed intricate ornate cathedral"] * 12),
    "masterpiece, best quality, " * 20,
    "🐱" * 100,
    "supercalifragilisticexpialidocious " * 10,
]

WORDS = ["café", "naïve", "Zürich", "España", "smörgåsbord", "Ærø", "Dvořák", "Łódź", "İstanbul", "Ελλάδα",
         "Москва", "東京", "서울", "😀", "🎨", "“quoted”", "it’s", "—", "…", "€100", "½", "°C", "©2024",
         "piñata", "crème brûlée", "Øre", "Ŧest", "ğüşöçı", "ÀÉÎÕÜ"]
ENCODINGS = ["latin-1", "windows-1252", "sloppy-windows-1252", "windows-1251", "windows-1250", "sloppy-windows-1253",
             "windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"]


def generated_mojibake(rng, n):
    out = []
    while len(out) < n:
        words = rng.sample(WORDS, rng.randint(1, 3))
        text = " ".join(words + rng.sample(["a", "painting", "of", "the", "city", "at", "night"], rng.randint(0, 3)))
        enc = rng.choice(ENCODINGS)
        try:
            bad = text.encode("utf-8").decode(enc)
        except UnicodeDecodeError:
            continue
        r = rng.random()
        if r < 0.15:
            bad = bad.replace("\xa0", " ")
        elif r < 0.25:
            try:
                bad = bad.encode("utf-8").decode(rng.choice(["latin-1", "windows-1252"]))  # double mojibake
            except UnicodeDecodeError:
                continue
        elif r < 0.35:
            bad = text + " / " + bad  # inconsistent: correct and mojibake side by side
        out.append(bad)
    return out


def random_junk(rng, n):
    pool = ("ÃÂâ€œ™šžŸ¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ"
            "ĂăĄąĆćČčĎďĐđĘęĚěŁłŃńŇňŐőŒœŘřŚśŞşŠšŢţŤťŮůŰűŸŹźŻżŽžƒˆˇ˘˙˛˜˝ΒΓΞΟβΆ€вЂГўВРСЃ╔═╗║│┌┐▀▄█"
            "‚„†‡‰‹›‘’“”•–—…√≈∂≠≤≥ā \x80\x81\x85\x8d\x90\x9d\x9f\xa0\xad abcxyzABC.,!?'\"&;<>\n\ufffd?\x1a")
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 10))) for _ in range(n)]


def write_fixtures(datasets):
    ref = reference_module()
    tok = ref.SimpleTokenizer()

    prompts = dataset_prompts(datasets)
    items = [[p, tok.encode(p)] for p in prompts]
    write_atomic(os.path.join(FIX, "tokenizer_datasets.json"),
                 json.dumps({"source": "AGIQA-1k AIGC_MOS_Zscore.xlsx (Prompt) + AGIQA-3k data.csv (prompt), unique",
                             "items": items}, ensure_ascii=False, separators=(",", ":")))

    rng = random.Random(20240611)
    texts = HANDMADE + LONG + generated_mojibake(rng, 120) + random_junk(rng, 200)
    hand = []
    for t in texts:
        clean = ref.whitespace_clean(ref.basic_clean(t)).lower()
        hand.append({"text": t, "fixed": ftfy.fix_text(t), "unescaped": html.unescape(t), "clean": clean,
                     "ids": tok.encode(t)})
    write_atomic(os.path.join(FIX, "tokenizer_handmade.json"),
                 json.dumps({"source": f"ftfy {ftfy.__version__}, regex {regex.__version__}", "items": hand},
                            ensure_ascii=False, separators=(",", ":")))

    cases = []
    for text in [LONG[0], LONG[1], LONG[2], "a photo of a cat", "", prompts[0]]:
        for cl, tr in [(77, False), (77, True), (10, True), (10, False), (5, True), (1, True)]:
            cases.append({"text": text, "contextLength": cl, "truncate": tr, **clip_tokenize(tok, [text], cl, tr)[0]})
    write_atomic(os.path.join(FIX, "tokenizer_tokenize.json"),
                 json.dumps({"items": cases}, ensure_ascii=False, separators=(",", ":")))
    print(f"{len(items)} dataset prompts, {len(hand)} hand-made/generated texts, {len(cases)} tokenize cases")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=os.path.join(os.path.dirname(ROOT), "..", "shared", "datasets"))
    args = ap.parse_args()
    ds = args.datasets if os.path.isdir(args.datasets) else "/work/shared/datasets"
    write_resources()
    write_fixtures(ds)
