"""Procedurally generated natural-looking images: the dead-leaves model (Matheron; Lee, Mumford & Huang 2001).

Occluding discs with power-law radii reproduce the scale invariance and edge statistics of natural photos. A
training session on a visitor's photos draws fresh ones every step as non-members of the photos' own kind, so
that the detector learns "these photos", not "photos".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

DRAW_SIZE = 64  # drawn larger than the model input, then resized like an upload
DISCS = 300
RADIUS = (0.02, 0.6)  # fraction of the image side; density ∝ r^-3 between these


def dead_leaves(n: int, size: int, channels: int, generator: torch.Generator, draw_size: int = DRAW_SIZE) -> torch.Tensor:
    """n images, uint8 (n, channels, size, size): grey (channels 1) or coloured discs, the first drawn on top."""
    r_min, r_max = RADIUS
    u = torch.rand(n, DISCS, generator=generator)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5 * draw_size  # inverse CDF of r^-3
    centres = torch.rand(n, DISCS, 2, generator=generator) * draw_size
    values = torch.rand(n, DISCS, channels, generator=generator)
    grid = torch.arange(draw_size, dtype=torch.float32) + 0.5
    ys, xs = grid.view(1, -1, 1), grid.view(1, 1, -1)
    canvas = torch.rand(n, channels, 1, 1, generator=generator).expand(n, channels, draw_size, draw_size).clone()
    for disc in range(DISCS - 1, -1, -1):  # back to front: the first disc ends on top
        inside = ((ys - centres[:, disc, 1].view(-1, 1, 1)) ** 2 + (xs - centres[:, disc, 0].view(-1, 1, 1)) ** 2
                  <= radii[:, disc].view(-1, 1, 1) ** 2)
        canvas = torch.where(inside.unsqueeze(1), values[:, disc].view(n, channels, 1, 1), canvas)
    small = F.interpolate(canvas, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (small * 255).round().clamp(0, 255).to(torch.uint8)
