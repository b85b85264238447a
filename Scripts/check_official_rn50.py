"""The interop check at full RN50 size, outside the test suite (it needs PyTorch, the official repository and a few
minutes). Driven by Scripts/check_official_rn50.sh; phases:

  prepare       a random-weight RN50 CLIP (OpenAI's CLIP class, saved fp16 like RN50.pt), PNG images with prompts,
                and an official checkpoint of the REAL official class (unmodified: 2048/1024 widths, 512 px, two
                outputs, MLP head, qa_token) with perturbed trainable weights, saved by the trainer's save logic;
                the official forward's scores on the images (its eval transform: PIL bicubic resize to 512x512,
                ToTensor, CLIP mean/std) go to official_scores.json.
  compare       our scores (ipiqa score --format jsonl of the imported model) against official_scores.json.
  check-export  an `ipiqa export --format official` file loaded into the official class as its trainer's
                `_reload_best_model` does (torch.load weights_only=True, load_state_dict strict=False): reports the
                unexpected keys (must be none) and compares the official forward's scores with ours.
Prints max relative differences (max |ours - official| / max |official|, and the largest per-value ratio)."""
import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from official_ipiqa import load_official, make_optimizer, model_config, repo_path, save_checkpoint

MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
PROMPTS = ["a red bicycle leaning on a brick wall", "two cats sleeping on a sofa, oil painting",
           "a castle at dusk under a purple sky", "a bowl of ramen, studio lighting, 4k",
           "an astronaut riding a horse on the moon", "a watercolor of a lighthouse in a storm"]
SIZES = [(300, 200), (256, 256), (180, 320), (400, 300), (224, 224), (333, 250)]


def preprocess(path, size):
    """ImageEvalProcessor: Resize((size, size), BICUBIC) on the PIL image, ToTensor, Normalize(CLIP mean/std)."""
    img = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
    return (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


def images(work):
    rows = [l.strip().split(",", 1) for l in open(os.path.join(work, "images.csv")).read().splitlines()[1:]]
    return [os.path.join(work, r[0]) for r in rows], [r[1].rsplit(",", 1)[0].strip('"') for r in rows]


def official_scores(model, work, resolution):
    paths, prompts = images(work)
    model.eval()
    with torch.no_grad():
        return model(torch.stack([preprocess(p, resolution) for p in paths]), prompts)


def relative(ours, theirs):
    """max |ours - theirs| / max |theirs|, and the same for the image-dependent part (minus the mean over images):
    random weights give scores dominated by the head's biases, so the second number is the sharper test."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    co, ct = ours - ours.mean(0), theirs - theirs.mean(0)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max()), float(np.abs(co - ct).max() / np.abs(ct).max())


def prepare(repo, work):
    os.makedirs(os.path.join(work, "images"), exist_ok=True)
    g = torch.Generator().manual_seed(0)
    ipiqa, clip = load_official(repo)
    torch.manual_seed(0)
    rn50 = clip.model.CLIP(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64,
                           vision_patch_size=None, context_length=77, vocab_size=49408, transformer_width=512,
                           transformer_heads=8, transformer_layers=12)
    sd = {}
    for k, v in rn50.state_dict().items():
        if v.is_floating_point():
            if k.endswith("bn3.weight"):                     # OpenAI zero-initialises them; give the blocks a say
                v = torch.rand(v.shape, generator=g) * 0.3
            elif k.endswith("running_var"):
                v = 0.5 + torch.rand(v.shape, generator=g)
            elif k.endswith("running_mean"):
                v = torch.randn(v.shape, generator=g) * 0.05
            v = v.half()
        sd[k] = v
    clip_path = os.path.join(work, "RN50-random.pt")
    torch.save(sd, clip_path)
    with open(os.path.join(work, "images.csv"), "w") as f:
        f.write("image,prompt,mos\n")
        for i, ((w, h), prompt) in enumerate(zip(SIZES, PROMPTS)):
            yy, xx = np.mgrid[0:h, 0:w]
            rgb = np.stack([127.5 + 120 * np.sin(0.05 * xx * (c + 1) + 0.07 * yy * (i % 3 + 1) + 1.3 * i + c) for c in range(3)], -1)
            Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8)).save(os.path.join(work, "images", f"img{i}.png"))
            f.write(f"images/img{i}.png,\"{prompt}\",{1 + 0.5 * i}\n")
    cfg = model_config(512, 2, True, True, base_ckpt=clip_path)
    model = ipiqa.IPIQA.from_config(cfg["model"])
    with torch.no_grad():                                    # perturb what the official trainer trains, relative to scale
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.1 * (p.std() if p.numel() > 1 else 1.0))
    scores = official_scores(model, work, 512)
    save_checkpoint(model, make_optimizer(model), cfg, None, 0, os.path.join(work, "checkpoint_best.pth"))
    json.dump(scores.tolist(), open(os.path.join(work, "official_scores.json"), "w"))
    print("official scores", scores.tolist())


def ours(path):
    return [[v for k, v in row.items() if k not in ("image", "prompt")] for row in map(json.loads, open(path))]


def compare(work, jsonl):
    theirs = json.load(open(os.path.join(work, "official_scores.json")))
    print("import (RN50, 512 px, 2 outputs, MLP head, qa_token): max relative difference %.3g (image-dependent part %.3g)"
          % relative(ours(jsonl), theirs))


def check_export(repo, work, exported, jsonl):
    ckpt = torch.load(exported, map_location="cpu", weights_only=True)
    cfg = dict(ckpt["config"]["model"], base_ckpt=os.path.join(work, "RN50-random.pt"))
    ipiqa, _ = load_official(repo)
    model = ipiqa.IPIQA.from_config(cfg)
    msg = model.load_state_dict(ckpt["model"], strict=False)
    print("export: torch.load(weights_only=True) ok; load_state_dict(strict=False): %d unexpected key(s) %s, %d missing "
          "(the frozen text encoder, not saved by the official trainer either: %s)"
          % (len(msg.unexpected_keys), msg.unexpected_keys, len(msg.missing_keys),
             sorted({k.split(".")[0] for k in msg.missing_keys})))
    theirs = official_scores(model, work, cfg["input_resolution"])
    print("export (%d px, %s head, qa_token %s): official forward vs ours: max relative difference %.3g (image-dependent part %.3g)"
          % ((cfg["input_resolution"], "MLP" if cfg["use_mlp_head"] else "linear", cfg["qa_token"]) + relative(ours(jsonl), theirs.tolist())))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["prepare", "compare", "check-export"])
    ap.add_argument("--official-repo")
    ap.add_argument("--work", required=True)
    ap.add_argument("--scores", help="ipiqa score --format jsonl output")
    ap.add_argument("--exported", help="ipiqa export --format official output")
    a = ap.parse_args()
    if a.phase == "prepare":
        prepare(repo_path(a.official_repo), a.work)
    elif a.phase == "compare":
        compare(a.work, a.scores)
    else:
        check_export(repo_path(a.official_repo), a.work, a.exported, a.scores)
