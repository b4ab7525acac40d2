"""Where the membership evidence lives: Grad-CAM of the membership logit over each tapped map."""
from __future__ import annotations

import torch


def grad_cam(membership_logits: torch.Tensor, maps: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per tap (B, H, W) in [0, 1]: ReLU(Σ_c mean_hw(∂logit/∂A_c) · A_c), normalised per image.

    `membership_logits` (B,) must have been computed from `maps` (per tap (B, C, H, W)) with autograd on; a tap the
    logit does not depend on gets zeros.
    """
    grads = torch.autograd.grad(membership_logits.sum(), maps, allow_unused=True)
    cams = []
    for activation, grad in zip(maps, grads):
        if grad is None:
            cams.append(torch.zeros(activation.shape[0], *activation.shape[-2:]))
            continue
        weights = grad.mean(dim=(-2, -1), keepdim=True)
        cam = torch.relu((weights * activation).sum(1)).detach()
        peak = cam.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
        cams.append((cam / peak).cpu())
    return cams
