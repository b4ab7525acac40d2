"""A backbone with its taps and (optionally) a MINT head over the tapped activations."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from amint_demo.models.backbones import BackboneSpec
from amint_demo.models.heads import MAP_HEADS
from amint_demo.models.taps import ActivationCapture, resolve_taps, tap_channels


class AuditOutput(NamedTuple):
    class_logits: torch.Tensor  # (B, K)
    mint_logits: torch.Tensor | None  # (B,) or None without a map head
    maps: list[torch.Tensor]  # per tap (B, C, H, W); ViT tokens reshaped to their grid


def tokens_to_grid(tokens: torch.Tensor, num_prefix_tokens: int) -> torch.Tensor:
    """ViT block output (B, prefix + H*W, D) -> (B, D, H, W), prefix (class) tokens dropped."""
    patches = tokens[:, num_prefix_tokens:, :]
    side = int(round(patches.shape[1] ** 0.5))
    if side * side != patches.shape[1]:
        raise ValueError(f"{patches.shape[1]} patch tokens do not form a square grid")
    return patches.transpose(1, 2).reshape(patches.shape[0], patches.shape[2], side, side)


class AuditableModel(nn.Module):
    """backbone (timm) + tap module names + optional map head ("cnn" or "mlp").

    forward(x (B, C, H, W) normalised) -> AuditOutput.
    """

    def __init__(self, spec: BackboneSpec, taps: str | Sequence[str], head: str | None = "cnn",
                 head_width: int = 64, head_hidden: int = 128) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = spec.build()
        self.taps = resolve_taps(self.backbone, taps)
        self.num_prefix_tokens = int(getattr(self.backbone, "num_prefix_tokens", 0))
        self.head_kind = head
        probe = torch.zeros(1, spec.in_chans, spec.img_size, spec.img_size)
        self.tap_channels = tap_channels(self.backbone, self.taps, probe)
        self.head = MAP_HEADS[head](self.tap_channels, head_width, head_hidden) if head else None

    def _as_map(self, activation: torch.Tensor) -> torch.Tensor:
        return tokens_to_grid(activation, self.num_prefix_tokens) if activation.ndim == 3 else activation

    def forward_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Class logits (B, K) and the tapped maps, without the head."""
        with ActivationCapture(self.backbone, self.taps) as capture:
            logits = self.backbone(x)
        return logits, [self._as_map(capture.outputs[name]) for name in self.taps]

    def forward(self, x: torch.Tensor) -> AuditOutput:
        logits, maps = self.forward_maps(x)
        return AuditOutput(logits, self.head(maps) if self.head is not None else None, maps)
