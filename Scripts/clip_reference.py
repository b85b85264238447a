"""Shared helpers for the CLIP reference scripts: OpenAI's clip/model.py loaded by file path (importing the
`clip` package needs torchvision, whose wheels do not load beside torch+cpu), deterministic inputs, and the
positional-embedding interpolation IP-IQA applies for other resolutions."""
import importlib.util
import math
import os
import site

import torch
import torch.nn.functional as F


def load_openai_module(name):
    for base in site.getsitepackages() + [site.getusersitepackages()]:
        path = os.path.join(base, "clip", name + ".py")
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location("openai_clip_" + name, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit("clip-anytorch is not installed: pip install --no-deps clip-anytorch")


def pattern_images(n, size):
    """Deterministic NCHW 'preprocessed' images, reproduced in Swift by the same formula."""
    idx = torch.arange(size * size, dtype=torch.float64).reshape(size, size)
    out = torch.empty(n, 3, size, size, dtype=torch.float64)
    for b in range(n):
        for c in range(3):
            out[b, c] = 1.5 * torch.sin(0.1 * idx + 1.3 * c + 0.7 * b) + 0.25 * torch.cos(0.037 * idx * (c + 1))
    return out.float()


def interpolate_positional_embedding(pos, grid):
    """Keep row 0 (mean token), reshape the g×g rows, bicubic align_corners=False to grid×grid, flatten back."""
    g = round(math.sqrt(pos.shape[0] - 1))
    if g == grid:
        return pos
    spatial = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    spatial = F.interpolate(spatial, size=(grid, grid), mode="bicubic", align_corners=False)
    spatial = spatial.permute(0, 2, 3, 1).reshape(grid * grid, -1)
    return torch.cat([pos[:1], spatial], dim=0)


def encode_image_at(model, images):
    """encode_image with the attention pool's positional embedding interpolated to the input's grid."""
    pool = model.visual.attnpool
    original = pool.positional_embedding.data.clone()
    grid = images.shape[-1] // 32
    pool.positional_embedding.data = interpolate_positional_embedding(original, grid)
    try:
        return model.encode_image(images)
    finally:
        pool.positional_embedding.data = original
