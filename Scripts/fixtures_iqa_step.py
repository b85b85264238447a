"""Writes the one-training-step parity fixture for Tests/IQATests (run: python3 Scripts/fixtures_iqa_step.py).

A tiny IP-IQA model in PyTorch: OpenAI's CLIP ModifiedResNet + text Transformer (clip/model.py, loaded by path), the
official IP-IQA TextAttentionPool2d / MultiHeadCrossAttention / MLPHead (github Coobiw/IP-IQA ipiqa/models/utils.py,
re-implemented here; dropout 0 for determinism), and the paper's [QA] token (a trainable vector, initialised from the
end-of-text embedding row, replacing the embedding at each prompt's end-of-text position). The attention pool's
positional embedding is interpolated (bicubic) from the native 2x2 grid to 3x3 for 96-px inputs, as IP-IQA does.

One step: trunk BatchNorm in train mode, frozen text path in eval mode, MSE on the raw MOS, AdamW (wd 0) with the
head at 10x the base learning rate. Exported:
  iqa_step_model.safetensors  the initial weights in IPIQACheckpoint's format (keys, layout, config metadata);
  iqa_step.json               inputs (tokens, targets), the loss, and for a few tensors: gradient samples/norms and
                              values after the step (conv weights permuted to the engine's [Cout, kh, kw, Cin]).
Images are pattern_images(4, 96) (Scripts/clip_reference.py), regenerated in Swift by the same formula."""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from clip_reference import interpolate_positional_embedding, load_openai_module, pattern_images

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "IQATests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
model_py = load_openai_module("model")
torch.manual_seed(0)

CLIP_CONFIG = dict(embedDim=16, imageResolution=64, visionLayers=[1, 1, 1, 1], visionWidth=2, visionHeads=1,
                   contextLength=77, vocabSize=100, transformerWidth=32, transformerHeads=1, transformerLayers=1)
RESOLUTION, CROSS_HEADS, OUTPUTS = 96, 4, 2
LR, HEAD_SCALE = 1e-4, 10.0
IQA_CONFIG = dict(outputs=OUTPUTS, outputNames=["quality", "alignment"], resolution=RESOLUTION, useText=True,
                  qaToken="token", head="mlp", dropout=0.0, crossHeads=CROSS_HEADS, seed=42)


class MultiHeadCrossAttention(nn.Module):
    """Official ipiqa/models/utils.py MultiHeadCrossAttention (no mask)."""

    def __init__(self, embed_dim, query_dim, kv_dim, num_heads, output_dim):
        super().__init__()
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.q_proj = nn.Linear(query_dim, embed_dim)
        self.k_proj = nn.Linear(kv_dim, embed_dim)
        self.v_proj = nn.Linear(kv_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, output_dim)

    def forward(self, query, key, value):
        b = query.size(0)
        q = self.q_proj(query).reshape(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(key).reshape(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(value).reshape(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        attn = F.softmax(torch.matmul(q, k.transpose(-2, -1)) / (self.head_dim ** 0.5), dim=-1)
        context = torch.matmul(attn, v).transpose(1, 2).reshape(b, -1, self.embed_dim)
        return self.out_proj(context)


class TextAttentionPool2d(nn.Module):
    """Official TextAttentionPool2d: tokens [mean; F] + P, one query (the text feature)."""

    def __init__(self, spacial_dim, embed_dim, txt_dim, num_heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.cross_attn = MultiHeadCrossAttention(embed_dim, txt_dim, embed_dim, num_heads, output_dim)

    def forward(self, x, txt_feat):
        x = x.flatten(start_dim=2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x = x.permute(1, 0, 2).contiguous()
        return self.cross_attn(txt_feat.unsqueeze(1), x, x).squeeze(1)


class MLPHead(nn.Module):
    """Official MLPHead: out_proj(dropout(tanh(dense(dropout(x)))))."""

    def __init__(self, in_dim, out_dim, drop_rate=0.0):
        super().__init__()
        self.dense = nn.Linear(in_dim, in_dim)
        self.dropout = nn.Dropout(drop_rate)
        self.out_proj = nn.Linear(in_dim, out_dim)

    def forward(self, x):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(x)))))


c = CLIP_CONFIG
clip = model_py.CLIP(embed_dim=c["embedDim"], image_resolution=c["imageResolution"], vision_layers=tuple(c["visionLayers"]),
                     vision_width=c["visionWidth"], vision_patch_size=None, context_length=c["contextLength"],
                     vocab_size=c["vocabSize"], transformer_width=c["transformerWidth"],
                     transformer_heads=c["transformerHeads"], transformer_layers=c["transformerLayers"])
with torch.no_grad():
    for p in clip.parameters():
        p.add_(0.02 * torch.randn_like(p))  # break the zero bn3 init so every block matters
    for m in clip.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
            m.running_var.copy_(1 + 0.2 * torch.rand_like(m.running_var))
grid = RESOLUTION // 32
pool = clip.visual.attnpool
pool.positional_embedding = nn.Parameter(interpolate_positional_embedding(pool.positional_embedding.data, grid))
clip.visual.attnpool = nn.Identity()  # the trunk, as the official code does

channels = c["visionWidth"] * 32
txt_pool = TextAttentionPool2d(grid, channels, c["embedDim"], CROSS_HEADS, c["embedDim"])
head = MLPHead(2 * c["embedDim"], OUTPUTS, 0.0)
EOT = c["vocabSize"] - 1
qa_token = nn.Parameter(clip.token_embedding.weight.data[EOT].clone())

# Frozen text path (eval mode; CLIP's text tower has no dropout anyway).
for name, p in clip.named_parameters():
    p.requires_grad = name.startswith("visual.")
clip.train()
for m in [clip.transformer, clip.ln_final, clip.token_embedding]:
    m.eval()

# The initial weights in IPIQACheckpoint's file format.
state = {}
for k, v in clip.state_dict().items():
    if k.endswith("num_batches_tracked"):
        continue
    state["clip." + k] = v
for k, v in pool.state_dict().items():
    state["clip.visual.attnpool." + k] = v
for k, v in txt_pool.state_dict().items():
    state["txt_attnpool." + k] = v
for k, v in head.state_dict().items():
    state["head." + k] = v
state["qa_token"] = qa_token.data
state = {k: v.detach().clone().contiguous().float() for k, v in state.items()}
before = {k: v.clone() for k, v in state.items()}
metadata = {"format": "pt", "ipiqa_format": "ipiqa-model-v1",
            "ipiqa_config": json.dumps(IQA_CONFIG, sort_keys=True), "clip_config": json.dumps(CLIP_CONFIG, sort_keys=True)}
save_file(state, os.path.join(OUT, "iqa_step_model.safetensors"), metadata=metadata)

# Inputs.
images = pattern_images(4, RESOLUTION)
tokens = torch.zeros(4, 77, dtype=torch.long)
rows = [[98, 17, 56, 3, 99], [98, 5, 60, 61, 62, 42, 7, 8, 99], [98, 11, 99], [98, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 99]]
for i, r in enumerate(rows):
    tokens[i, :len(r)] = torch.tensor(r)
targets = torch.tensor([[3.2, 2.1], [1.4, 4.0], [2.7, 2.2], [4.5, 3.3]])


def encode_text(tokens):
    x = clip.token_embedding(tokens)
    eot = tokens.argmax(dim=-1)
    at_eot = F.one_hot(eot, tokens.shape[1]).bool()[:, :, None]
    x = torch.where(at_eot, qa_token[None, None, :].expand_as(x), x)
    x = x + clip.positional_embedding
    x = clip.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = clip.ln_final(x)
    return x[torch.arange(x.shape[0]), eot] @ clip.text_projection


feat = clip.visual(images)
scores = head(torch.cat([pool(feat), txt_pool(feat, encode_text(tokens))], dim=-1))
loss = F.mse_loss(scores, targets)
loss.backward()

params = {"clip.visual." + n: p for n, p in clip.visual.named_parameters() if p.requires_grad}
params.update({"clip.visual.attnpool." + n: p for n, p in pool.named_parameters()})
params.update({"txt_attnpool." + n: p for n, p in txt_pool.named_parameters()})
params.update({"head." + n: p for n, p in head.named_parameters()})
params["qa_token"] = qa_token
base = [p for n, p in params.items() if not n.startswith("head.")]
heads = [p for n, p in params.items() if n.startswith("head.")]
opt = torch.optim.AdamW([{"params": base, "lr": LR}, {"params": heads, "lr": LR * HEAD_SCALE}],
                        lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
grads = {n: p.grad.detach().clone() for n, p in params.items()}
opt.step()


def engine(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


checked = ["qa_token", "clip.visual.conv1.weight", "clip.visual.bn1.weight", "clip.visual.layer4.0.conv3.weight",
           "clip.visual.layer4.0.bn3.bias", "clip.visual.attnpool.positional_embedding", "clip.visual.attnpool.q_proj.weight",
           "txt_attnpool.positional_embedding", "txt_attnpool.cross_attn.q_proj.weight", "txt_attnpool.cross_attn.out_proj.bias",
           "head.dense.weight", "head.out_proj.weight", "head.out_proj.bias"]
SAMPLES = 24
reference = {
    "tokens": tokens.tolist(),
    "targets": targets.tolist(),
    "scores": scores.detach().tolist(),
    "loss": loss.item(),
    "learning_rate": LR,
    "head_scale": HEAD_SCALE,
    "parameters": {},
    "buffers_after": {k: engine(v).flatten()[:SAMPLES].tolist() for k, v in
                      [("clip.visual.bn1.running_mean", clip.visual.bn1.running_mean),
                       ("clip.visual.layer4.0.bn3.running_var", clip.visual.layer4[0].bn3.running_var)]},
    "frozen_unchanged": ["clip.transformer.resblocks.0.attn.in_proj_weight", "clip.token_embedding.weight",
                         "clip.text_projection", "clip.ln_final.weight", "clip.positional_embedding"],
}
for name in checked:
    g = engine(grads[name]).flatten()
    after = engine(params[name].detach()).flatten()
    reference["parameters"][name] = {
        "grad_norm": g.norm().item(),
        "grad": g[:SAMPLES].tolist(),
        "after": after[:SAMPLES].tolist(),
        "before": engine(before[name]).flatten()[:SAMPLES].tolist(),
    }
with open(os.path.join(OUT, "iqa_step.json"), "w") as f:
    json.dump(reference, f, indent=1)
print("loss", loss.item(), "tensors", len(state), "floats", sum(v.numel() for v in state.values()))
