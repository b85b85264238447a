#!/usr/bin/env python3
"""Reference fixture of the CLIP-IQA baseline (CLIP CLIPIQAScorer) on the tiny CLIP of Scripts/fixtures_clip.py.

CLIP-IQA (Wang, Chan and Loy, AAAI 2023; pyiqa `clipiqa_arch.py`, `pos_embedding=False`): OpenAI model.py's
ModifiedResNet with the attention pool's positional-embedding line left out, text features of an antonym pair,
logits = 100 · cos, softmax over the pair, probability of the positive prompt. The tiny CLIP's 1,000-id vocabulary
cannot hold "Good photo." / "Bad photo.", so two fixed token rows stand in for them (the tokenizer has its own tests).
The tiny model's antonym cosines differ by ≈ 0.25, so at scale 100 the probabilities are ≈ 1e-11; the fixture
also holds the scale-1 probabilities and the cosine differences, which the test compares at 1e-5.
Inputs: pattern_images at 64 px (native grid 2), 96 px (grid 3: no interpolation needed) and a 64 × 96 crop.

Writes Tests/CLIPTests/Fixtures/clipiqa_reference.json. Usage: python3 Scripts/fixtures_clipiqa.py (repository root).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import load_openai_module, pattern_images  # noqa: E402
from fixtures_inference import load_tiny_clip  # noqa: E402

OUT = os.path.join("Tests", "CLIPTests", "Fixtures")


def pool_without_positional_embedding(pool, x):
    x = x.flatten(start_dim=2).permute(2, 0, 1)
    x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
    x, _ = F.multi_head_attention_forward(
        query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=pool.num_heads,
        q_proj_weight=pool.q_proj.weight, k_proj_weight=pool.k_proj.weight, v_proj_weight=pool.v_proj.weight,
        in_proj_weight=None, in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
        bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0, out_proj_weight=pool.c_proj.weight,
        out_proj_bias=pool.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False)
    return x.squeeze(0)


def trunk(visual, x):
    x = visual.relu1(visual.bn1(visual.conv1(x)))
    x = visual.relu2(visual.bn2(visual.conv2(x)))
    x = visual.relu3(visual.bn3(visual.conv3(x)))
    x = visual.avgpool(x)
    return visual.layer4(visual.layer3(visual.layer2(visual.layer1(x))))


def main():
    model = load_tiny_clip(load_openai_module("model"))
    tokens = torch.zeros(2, 77, dtype=torch.long)
    tokens[0, :5] = torch.tensor([998, 17, 256, 3, 999])
    tokens[1, :7] = torch.tensor([998, 400, 12, 77, 5, 123, 999])
    inputs = {"native_64": pattern_images(3, 64), "grid3_96": pattern_images(2, 96),
              "nonsquare_64x96": pattern_images(1, 96)[:, :, :64, :]}
    out = {"tokens": tokens.tolist(), "logit_scale": 100.0}
    with torch.no_grad():
        text = model.encode_text(tokens)
        text = text / text.norm(dim=-1, keepdim=True)
        for name, x in inputs.items():
            image = pool_without_positional_embedding(model.visual.attnpool, trunk(model.visual, x))
            image = image / image.norm(dim=-1, keepdim=True)
            out[name + "_embedding"] = image.double().tolist()
            if name == "native_64":
                with_pe = model.encode_image(x)
                gap = (with_pe / with_pe.norm(dim=-1, keepdim=True) - image).abs().max().item()
                assert gap > 1e-3, gap  # the positional embedding matters, so the test can tell
            cos = image @ text.t()
            out[name] = (100.0 * cos).softmax(dim=-1)[:, 0].double().tolist()
            out[name + "_scale1"] = cos.softmax(dim=-1)[:, 0].double().tolist()
            out[name + "_difference"] = (cos[:, 0] - cos[:, 1]).double().tolist()
    with open(os.path.join(OUT, "clipiqa_reference.json"), "w") as f:
        json.dump(out, f)
    print(json.dumps({k: v for k, v in out.items() if k != "tokens" and not k.endswith("_embedding")}))


if __name__ == "__main__":
    main()
