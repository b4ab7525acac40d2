"""Where the membership evidence lives: Grad-CAM of the membership logit over each tapped map."""
from __future__ import annotations

import torch

from amint_demo.methods.base import Detector
from amint_demo.models import AuditOutput, AuditableModel


def membership_cam(model: AuditableModel, detector: Detector, x: torch.Tensor,
                   labels: torch.Tensor | None = None) -> list[torch.Tensor] | None:
    """Per tap (B, H, W) in [0, 1]: ReLU(Σ_c mean_hw(∂logit/∂A_c) · A_c), normalised per image.

    x (B, C, H, W) normalised. None for a detector that does not explain maps (gradient MINT: its logit is itself
    a gradient).
    """
    if not detector.explains_maps:
        return None
    with torch.enable_grad():
        x = x.detach().requires_grad_(False)
        logits, maps = model.forward_maps(x)
        output = AuditOutput(logits, model.head(maps) if model.head is not None else None, maps)
        membership = detector.membership_logits(model, x, output, labels)
        grads = torch.autograd.grad(membership.sum(), maps, allow_unused=True)
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
