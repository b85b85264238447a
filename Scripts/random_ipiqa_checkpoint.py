"""Writes an UNTRAINED IP-IQA model file (the `ipiqa score --model` format) around a CLIP RN checkpoint, to try the
scoring CLI end to end without training. Its scores mean nothing.

    python3 Scripts/random_ipiqa_checkpoint.py CLIP.safetensors OUT.safetensors [--resolution 512] [--outputs 2]
                                               [--image-only]

The format (Sources/IQA/IPIQACheckpoint.swift): one safetensors file, PyTorch layout, keys `clip.<CLIP key>` (the
attention pool's positional embedding interpolated to resolution/32 as IP-IQA does at construction), `qa_token`
(the end-of-text embedding row), `txt_attnpool.positional_embedding`, `txt_attnpool.cross_attn.{q,k,v,out}_proj.*`,
`head.dense.*`, `head.out_proj.*`; metadata `ipiqa_format`, `ipiqa_config` and `clip_config` (JSON).
"""
import argparse
import json
import math
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import interpolate_positional_embedding  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip")
    ap.add_argument("out")
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--outputs", type=int, default=2)
    ap.add_argument("--cross-heads", type=int, default=32)
    ap.add_argument("--image-only", action="store_true")
    args = ap.parse_args()
    sd = {k: v.float() for k, v in load_file(args.clip).items()
          if v.is_floating_point() and not k.endswith("num_batches_tracked")}
    grid = args.resolution // 32
    sd["visual.attnpool.positional_embedding"] = interpolate_positional_embedding(sd["visual.attnpool.positional_embedding"], grid)
    out = {"clip." + k: v.contiguous() for k, v in sd.items()}
    embed, width = sd["text_projection"].shape[1], sd["ln_final.weight"].shape[0]
    channels = sd["visual.attnpool.k_proj.weight"].shape[0]
    vocab = sd["token_embedding.weight"].shape[0]
    g = torch.Generator().manual_seed(42)

    def linear(name, n_in, n_out):
        bound = 1 / math.sqrt(n_in)
        out[name + ".weight"] = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound
        out[name + ".bias"] = (torch.rand(n_out, generator=g) * 2 - 1) * bound

    if not args.image_only:
        out["qa_token"] = sd["token_embedding.weight"][vocab - 1].clone()
        out["txt_attnpool.positional_embedding"] = torch.randn(grid * grid + 1, channels, generator=g) / math.sqrt(channels)
        linear("txt_attnpool.cross_attn.q_proj", embed, channels)
        linear("txt_attnpool.cross_attn.k_proj", channels, channels)
        linear("txt_attnpool.cross_attn.v_proj", channels, channels)
        linear("txt_attnpool.cross_attn.out_proj", channels, embed)
    head_in = embed * (1 if args.image_only else 2)
    linear("head.dense", head_in, head_in)
    linear("head.out_proj", head_in, args.outputs)

    layers = [len({k.split(".")[2] for k in sd if k.startswith(f"visual.layer{b}.")}) for b in range(1, 5)]
    vision_width = sd["visual.layer1.0.conv1.weight"].shape[0]
    clip_config = {"embedDim": embed, "imageResolution": 32 * round(math.sqrt(load_file(args.clip)["visual.attnpool.positional_embedding"].shape[0] - 1)),
                   "visionLayers": layers, "visionWidth": vision_width, "visionHeads": vision_width * 32 // 64,
                   "contextLength": sd["positional_embedding"].shape[0], "vocabSize": vocab, "transformerWidth": width,
                   "transformerHeads": width // 64,
                   "transformerLayers": len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})}
    names = ["quality", "alignment"] if args.outputs == 2 else (["score"] if args.outputs == 1 else [f"score{i}" for i in range(args.outputs)])
    config = {"outputs": args.outputs, "outputNames": names, "resolution": args.resolution, "useText": not args.image_only,
              "qaToken": "token", "head": "mlp", "dropout": 0.5, "crossHeads": args.cross_heads, "seed": 42}
    meta = {"format": "pt", "ipiqa_format": "ipiqa-model-v1", "ipiqa_config": json.dumps(config, sort_keys=True),
            "clip_config": json.dumps(clip_config, sort_keys=True), "note": "untrained (Scripts/random_ipiqa_checkpoint.py)"}
    save_file({k: v.contiguous() for k, v in out.items()}, args.out, metadata=meta)
    print(f"wrote {args.out}: {len(out)} tensors, config {config}")


if __name__ == "__main__":
    main()
