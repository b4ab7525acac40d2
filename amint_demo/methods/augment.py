"""Training-time augmentation of normalised batches: random shifts (and horizontal flips where the dataset's
classes allow them), applied alike to members and external images so that the detector cannot tell them apart
by augmentation alone."""
from __future__ import annotations

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "shift", "shift-flip")
SHIFT = 2  # pixels, each way


def augment(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """x (B, C, H, W) -> the same shape, each image shifted by up to SHIFT pixels (edges replicated) and, for
    "shift-flip", mirrored left-right with probability 1/2."""
    if kind == "none":
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT), mode="replicate")
    dy, dx = (torch.randint(0, 2 * SHIFT + 1, (b,), generator=generator) for _ in range(2))
    rows = (dy.view(-1, 1) + torch.arange(h)).to(x.device)
    cols = (dx.view(-1, 1) + torch.arange(w)).to(x.device)
    if kind == "shift-flip":
        flip = (torch.rand(b, generator=generator) < 0.5).to(x.device).view(-1, 1)
        cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(b, device=x.device).view(-1, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows.unsqueeze(2), cols.unsqueeze(1)].permute(0, 3, 1, 2).contiguous()
