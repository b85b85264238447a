"""Writes the fixtures of the inference tests (run from the repository root: python3 Scripts/fixtures_inference.py).

Tests/CLIPTests/Fixtures:
  bad_pickle_clip.bin      a torch.save-shaped zip whose data.pkl is the tiny CLIP state dict's pickle with a byte in
                           the middle replaced by the unknown opcode 0xff (zip CRCs valid; storages left out: the
                           pickle error must come first).
  evil_clip.bin            a torch.save-shaped zip whose pickle calls subprocess.check_output (must be refused).
  vit_clip.bin             torch.save state dict of a tiny Vision-Transformer CLIP (OpenAI model.py), not supported.
  clipscore_image.png      a 80×70 RGB pattern image.
  clipscore_reference.json CLIPScore of tiny_clip.safetensors for clipscore_image.png (OpenAI preprocessing: PIL bicubic
                           resize of the shorter side to 64, centre crop, normalise) against two token rows, and of the
                           pattern images of Scripts/clip_reference.py against the same rows:
                           cosine = cos(encode_image, encode_text), score = 2.5 · max(cosine, 0).
Tests/IQATests/Fixtures:
  score_a.png (48×40), score_b.png (32×56)   small pattern images for the Scorer tests.
"""
import io
import json
import os
import sys
import zipfile

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import load_openai_module, pattern_images  # noqa: E402

CLIP_OUT = os.path.join("Tests", "CLIPTests", "Fixtures")
IQA_OUT = os.path.join("Tests", "IQATests", "Fixtures")
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def torch_like_zip(path, pickle_bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in [("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little"), ("archive/version", b"3\n")]:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def pattern_png(path, width, height, seed):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([127.5 + 127.5 * np.sin(0.21 * x + 0.13 * y + seed + 1.1 * c) * np.cos(0.05 * (x - y) * (c + 1))
                    for c in range(3)], axis=-1)
    img = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")
    img.save(path)
    return img


def clip_input(img, size):
    w, h = img.size
    nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    r = img.resize((nw, nh), Image.BICUBIC)
    left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    r = r.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.asarray(r, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    return (x - MEAN) / STD


def load_tiny_clip(model_py):
    from safetensors.torch import load_file
    model = model_py.CLIP(embed_dim=32, image_resolution=64, vision_layers=(1, 2, 1, 1), vision_width=4,
                          vision_patch_size=None, context_length=77, vocab_size=1000, transformer_width=64,
                          transformer_heads=1, transformer_layers=2)
    model.load_state_dict(load_file(os.path.join(CLIP_OUT, "tiny_clip.safetensors")))
    return model.eval()


def main():
    os.makedirs(CLIP_OUT, exist_ok=True)
    os.makedirs(IQA_OUT, exist_ok=True)
    model_py = load_openai_module("model")

    with zipfile.ZipFile(os.path.join(CLIP_OUT, "tiny_clip_state_dict.bin")) as z:
        pkl = bytearray(z.read(next(n for n in z.namelist() if n.endswith("/data.pkl"))))
    pkl[len(pkl) // 2] = 0xFF
    torch_like_zip(os.path.join(CLIP_OUT, "bad_pickle_clip.bin"), bytes(pkl))
    evil = b"\x80\x02csubprocess\ncheck_output\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
    torch_like_zip(os.path.join(CLIP_OUT, "evil_clip.bin"), evil)

    torch.manual_seed(0)
    vit = model_py.CLIP(embed_dim=8, image_resolution=8, vision_layers=1, vision_width=64, vision_patch_size=4,
                        context_length=8, vocab_size=16, transformer_width=8, transformer_heads=2, transformer_layers=1)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in vit.state_dict().items()},
               os.path.join(CLIP_OUT, "vit_clip.bin"))

    model = load_tiny_clip(model_py)
    img = pattern_png(os.path.join(CLIP_OUT, "clipscore_image.png"), 80, 70, 0)
    tokens = torch.zeros(2, 77, dtype=torch.long)
    tokens[0, :5] = torch.tensor([998, 17, 256, 3, 999])
    tokens[1, :7] = torch.tensor([998, 400, 12, 77, 5, 123, 999])
    with torch.no_grad():
        text = model.encode_text(tokens).double()
        png = model.encode_image(clip_input(img, 64)).double()
        patterns = model.encode_image(pattern_images(2, 64)).double()

    def scores(image_rows):
        cos = torch.nn.functional.cosine_similarity(image_rows, text, dim=1)
        return cos.tolist(), (2.5 * cos.clamp(min=0)).tolist()

    png_cos, png_score = scores(png.expand(2, -1))
    pat_cos, pat_score = scores(patterns)
    ref = {"tokens": tokens.tolist(), "png_cosine": png_cos, "png_score": png_score,
           "pattern_cosine": pat_cos, "pattern_score": pat_score}
    with open(os.path.join(CLIP_OUT, "clipscore_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)

    pattern_png(os.path.join(IQA_OUT, "score_a.png"), 48, 40, 1)
    pattern_png(os.path.join(IQA_OUT, "score_b.png"), 32, 56, 2)
    for d in (CLIP_OUT, IQA_OUT):
        for name in sorted(os.listdir(d)):
            print(os.path.join(d, name), os.path.getsize(os.path.join(d, name)))
    print(json.dumps({k: v for k, v in ref.items() if k != "tokens"}))


if __name__ == "__main__":
    main()
