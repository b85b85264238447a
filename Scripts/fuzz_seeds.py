#!/usr/bin/env python3
"""Seed corpora (Fuzz/Corpus/<target>) and regression inputs (Fuzz/Regressions/<target>) for the libFuzzer targets.

Seeds are small valid and nearly-valid inputs taken from the test fixtures plus a few synthesised ones; regression
inputs are the hostile files of the safety review (model metadata that lies, NaN weights, duplicate keys, a ZIP64
member claiming 5 GiB, a 1 GiB-declared member backing a small storage). Pure standard library; run from the
repository root: python3 Scripts/fuzz_seeds.py
"""
import gzip, io, json, os, shutil, struct, zipfile, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "Fuzz")


def out(kind, target, name, data):
    folder = os.path.join(FUZZ, kind, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy(target, path, name=None):
    with open(os.path.join(ROOT, path), "rb") as f:
        out("Corpus", target, name or os.path.basename(path), f.read())


def read_safetensors(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write_safetensors(header, data, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


# Checkpoints: every small checkpoint fixture.
for name in ["bad_opcode.pt", "cut_pickle.pt", "evil_global.pt", "tiny_text_bf16.safetensors", "tiny_text_f16.safetensors",
             "tiny_text_f32.safetensors", "tiny_text_sd.pt", "tiny_text_wrapped.pt"]:
    copy("FuzzCheckpoint", "Tests/CheckpointsTests/Fixtures/" + name)
copy("FuzzCheckpoint", "Tests/CLIPTests/Fixtures/evil_clip.bin")

# Model files: the PyTorch-made IP-IQA model, and the review's hostile variants of it as regressions.
MODEL = "Tests/IQATrainingTests/Fixtures/iqa_step_model.safetensors"
copy("FuzzModelFile", MODEL, "model.safetensors")
header, data = read_safetensors(MODEL)
meta = header["__metadata__"]


def variant(name, iqa=None, clip=None, corpus=False, raw=None, data_edit=None):
    h = json.loads(json.dumps(header))
    if iqa:
        c = json.loads(meta["ipiqa_config"]); c.update(iqa); h["__metadata__"]["ipiqa_config"] = json.dumps(c, sort_keys=True)
    if clip:
        c = json.loads(meta["clip_config"]); c.update(clip); h["__metadata__"]["clip_config"] = json.dumps(c, sort_keys=True)
    d = data_edit(h, data) if data_edit else data
    out("Corpus" if corpus else "Regressions", "FuzzModelFile", name, write_safetensors(h, d, raw(h) if raw else None))


for heads in [2 ** 62, 0, -1, 3, 7, 255]:
    variant(f"cross_heads_{heads}.safetensors", iqa={"crossHeads": heads})
variant("text_heads_0.safetensors", clip={"transformerHeads": 0})
variant("vision_layers_huge.safetensors", clip={"visionLayers": [1000000, 1, 1, 1]})
variant("resolution_huge.safetensors", iqa={"resolution": 9223372036854775776})
variant("output_names_short.safetensors", iqa={"outputNames": ["quality"]})
variant("output_names_duplicate.safetensors", iqa={"outputNames": ["quality", "quality"]}, corpus=True)


def nan_weight(h, d):
    key = sorted(k for k in h if k != "__metadata__")[0]
    begin = h[key]["data_offsets"][0]
    return d[:begin] + struct.pack("<f", float("nan")) + d[begin + 4:]


variant("nan_weight.safetensors", data_edit=nan_weight)
variant("duplicate_config_key.safetensors",
        raw=lambda h: json.dumps(h, separators=(",", ":")).replace('"ipiqa_config":"{', '"ipiqa_config":"{\\"crossHeads\\": 7, ', 1).encode())

# Zip / gzip: workbooks and torch zips, small gzip streams, and the review's zip bombs (as regressions).
for name in ["good.xlsx", "badxml.xlsx", "truncated.xlsx"]:
    copy("FuzzZip", "Tests/IQADataTests/Fixtures/" + name)
copy("FuzzZip", "Tests/CheckpointsTests/Fixtures/tiny_text_sd.pt")
out("Corpus", "FuzzZip", "hello.gz", gzip.compress(b"hello, world\n" * 20, mtime=0))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("a/data.pkl", b"\x80\x02}q\x00.")
    z.writestr("a/data/0", bytes(range(256)) * 4)
out("Corpus", "FuzzZip", "deflated.zip", buf.getvalue())


def zip_member(payload, method, crc, csize, usize, name=b"archive/data/0"):
    big = csize >= 0xFFFFFFFF or usize >= 0xFFFFFFFF
    extra = struct.pack("<HHQQ", 1, 16, usize, csize) if big else b""
    c32, u32 = (0xFFFFFFFF, 0xFFFFFFFF) if big else (csize, usize)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, crc, c32, u32, len(name), len(extra)) + name + extra + payload
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0, crc, c32, u32, len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + eocd


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


five_gib = raw_deflate(b"\0" * (8 << 20))  # a stream far shorter than its 5 GiB ZIP64 claim (the 5 MB original of
# the review is built in Tests/ArchiveTests/BoundedInflateTests.swift instead of being committed)
out("Regressions", "FuzzZip", "zip64_5gib_claim.zip", zip_member(five_gib, 8, 0, len(five_gib), 5 << 30))
gib = raw_deflate(b"\0" * (1 << 20))
out("Regressions", "FuzzZip", "one_gib_claim.zip", zip_member(gib, 8, 0, len(gib), 1 << 30))
out("Regressions", "FuzzZip", "past_declared_size.zip", zip_member(raw_deflate(b"x" * 5000), 8, zlib.crc32(b"x" * 5000), len(raw_deflate(b"x" * 5000)), 100))

# Workbooks.
for name in ["good.xlsx", "badxml.xlsx", "missingsheet.xlsx", "truncated.xlsx", "notazip.xlsx"]:
    copy("FuzzXlsx", "Tests/IQADataTests/Fixtures/" + name)

# CSV label files.
copy("FuzzCsv", "Tests/IQADataTests/Fixtures/good.csv")
copy("FuzzCsv", "Tests/IQADataTests/Fixtures/bad.csv")
with open(os.path.join(ROOT, "Sources/IQAData/Resources/AGIQA-3k/data.csv"), "rb") as f:
    out("Corpus", "FuzzCsv", "agiqa3k_head.csv", b"".join(f.readlines()[:20]))
out("Corpus", "FuzzCsv", "header_only.csv", b"image,prompt,mos\n")
out("Corpus", "FuzzCsv", "quotes.csv", b'image,prompt,mos\n"a.png","a ""quoted"", prompt\nwith a newline",3.5\r\nb.png,plain,x\n')

# JSON configurations.
out("Corpus", "FuzzJsonConfig", "ipiqa_config.json", meta["ipiqa_config"].encode())
out("Corpus", "FuzzJsonConfig", "clip_config.json", meta["clip_config"].encode())
out("Corpus", "FuzzJsonConfig", "training.json", json.dumps({"epochs": 2, "splits": 1, "resolution": 64, "crossHeads": 4,
                                                             "batchSize": 8, "learningRate": 1e-4, "fusion": "paper"}).encode())
out("Corpus", "FuzzJsonConfig", "splits.json", json.dumps({"splits": [{"train": ["a.png", "b.png"], "test": ["c.png"]}]}).encode())
out("Regressions", "FuzzJsonConfig", "duplicate_key.json", b'{"epochs": 2, "epochs": 3, "crossHeads": 7}')
out("Regressions", "FuzzJsonConfig", "deep.json", b"[" * 100000)
out("Regressions", "FuzzJsonConfig", "clip_zero_heads.json", json.dumps(dict(json.loads(meta["clip_config"]), transformerHeads=0)).encode())

# Images: every small decode fixture (not the raw .rgb references) and the corrupt ones.
for folder in ["decode", "bad"]:
    base = os.path.join(ROOT, "Tests/ImagingTests/Fixtures", folder)
    for name in sorted(os.listdir(base)):
        if not name.endswith(".rgb") and os.path.getsize(os.path.join(base, name)) <= 16384:
            copy("FuzzImage", f"Tests/ImagingTests/Fixtures/{folder}/{name}", f"{folder}_{name}")

# Prompts for the tokenizer's cleaning.
for i, text in enumerate(["a photo of a cat", "Caf\u00c3\u00a9 &amp; cr\u00e8me &lt;b&gt; br\u00fbl\u00e9e", "\u2018quoted\u2019 \u2014 em dash\u2026 &#x1F600;",
                          "  lots   of\tspace\n\nand lines ", "\ud83d\ude00 emoji and \u00e9\u0301 combining", "&notanentity; &#99999999; &amp"]):
    out("Corpus", "FuzzTokenizer", f"prompt_{i}.txt", text.encode("utf-8", "surrogatepass"))
print("wrote", FUZZ)

# MAT-files: the reader's fixtures (Scripts/fixtures_matfile.py), uncompressed, compressed, typed, big-endian, a cell.
for name in ("plain.mat", "compressed.mat", "typed.mat", "bigendian.mat", "cell.mat", "aigciqa2023/DATA/MOS/mosz2.mat"):
    copy("FuzzMat", "Tests/IQADataTests/Fixtures/MAT/" + name, name.replace("/", "_"))
