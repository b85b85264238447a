"""Writes the tiny-CLIP parity fixtures for Tests/CLIPTests (run: python3 Scripts/fixtures_clip.py).

A random ModifiedResNet CLIP small enough to commit, its weights rounded to fp16 (as OpenAI distributes them) and
stored in all three checkpoint formats, plus OpenAI's encode_image / encode_text outputs (float32 model) at the
native 64 px and at 96 px with the positional embedding interpolated."""
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import encode_image_at, load_openai_module, pattern_images

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "CLIPTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
model_py = load_openai_module("model")
torch.manual_seed(0)

model = model_py.CLIP(embed_dim=32, image_resolution=64, vision_layers=(1, 2, 1, 1), vision_width=4,
                      vision_patch_size=None, context_length=77, vocab_size=1000, transformer_width=64,
                      transformer_heads=1, transformer_layers=2)
with torch.no_grad():
    for p in model.parameters():
        p.add_(0.02 * torch.randn_like(p))  # break OpenAI's zero bn3 init so every block matters
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
            m.running_var.copy_(1 + 0.2 * torch.rand_like(m.running_var))
    for t in list(model.state_dict().values()):
        if t.is_floating_point():
            t.copy_(t.half().float())  # fp16-representable, so all formats hold identical values
model.eval()

state = {k: v.contiguous() for k, v in model.state_dict().items()}
save_file(state, os.path.join(OUT, "tiny_clip.safetensors"))
torch.save(state, os.path.join(OUT, "tiny_clip_state_dict.bin"))

# TorchScript archive the way OpenAI's RN50.pt was made: fp16 weights, traced.
half = model_py.CLIP(embed_dim=32, image_resolution=64, vision_layers=(1, 2, 1, 1), vision_width=4,
                     vision_patch_size=None, context_length=77, vocab_size=1000, transformer_width=64,
                     transformer_heads=1, transformer_layers=2)
half.load_state_dict(state)
model_py.convert_weights(half)
half.eval()


traced = torch.jit.trace_module(half, {"encode_text": torch.zeros(1, 77, dtype=torch.long)}, check_trace=False)
torch.jit.save(traced, os.path.join(OUT, "tiny_clip_torchscript.pt"))

tokens = torch.zeros(2, 77, dtype=torch.long)
tokens[0, :5] = torch.tensor([998, 17, 256, 3, 999])
tokens[1, :9] = torch.tensor([998, 5, 600, 601, 602, 42, 7, 8, 999])
with torch.no_grad():
    ref = {
        "tokens": tokens.tolist(),
        "text_embeddings": model.encode_text(tokens).tolist(),
        "image_embeddings_64": encode_image_at(model, pattern_images(2, 64)).tolist(),
        "image_embeddings_96": encode_image_at(model, pattern_images(2, 96)).tolist(),
        "logit_scale": model.logit_scale.item(),
    }
with open(os.path.join(OUT, "tiny_clip_reference.json"), "w") as f:
    json.dump(ref, f)
for name in sorted(os.listdir(OUT)):
    print(name, os.path.getsize(os.path.join(OUT, name)))
