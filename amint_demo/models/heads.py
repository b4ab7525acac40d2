"""MINT heads: read activations (or gradient features) and return one membership logit."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class _TapBranch(nn.Module):
    """conv 3×3 → ReLU → max-pool 2 → conv 3×3 → ReLU → global max-pool: (B, C, H, W) -> (B, width)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        if min(x.shape[-2:]) >= 2:
            x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        return torch.amax(x, dim=(-2, -1))


class CnnMintHead(nn.Module):
    """The aMINT paper's head for spatial maps, one branch per tap, fused by concatenation.

    Input: a list of (B, C_i, H_i, W_i) maps; output: (B,) logits.
    """

    kind = "cnn"

    def __init__(self, in_channels: Sequence[int], width: int = 64, hidden: int = 128) -> None:
        super().__init__()
        self.branches = nn.ModuleList(_TapBranch(c, width) for c in in_channels)
        self.classifier = nn.Sequential(nn.Linear(width * len(in_channels), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, maps: Sequence[torch.Tensor]) -> torch.Tensor:
        features = torch.cat([branch(m) for branch, m in zip(self.branches, maps)], dim=1)
        return self.classifier(features).squeeze(1)


class MlpMintHead(nn.Module):
    """MLP on globally average-pooled taps: list of (B, C_i, H_i, W_i) -> (B,) logits."""

    kind = "mlp"

    def __init__(self, in_channels: Sequence[int], width: int = 64, hidden: int = 128) -> None:
        super().__init__()
        del width  # same signature as CnnMintHead; the MLP has no convolutional width
        self.classifier = nn.Sequential(nn.LayerNorm(sum(in_channels)), nn.Linear(sum(in_channels), hidden),
                                        nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, maps: Sequence[torch.Tensor]) -> torch.Tensor:
        pooled = torch.cat([m.mean(dim=(-2, -1)) for m in maps], dim=1)
        return self.classifier(pooled).squeeze(1)


class VectorMintHead(nn.Module):
    """MLP on a feature vector (gradient MINT): (B, D) -> (B,) logits."""

    kind = "vector"

    def __init__(self, in_features: int, hidden: int = 128) -> None:
        super().__init__()
        self.classifier = nn.Sequential(nn.LayerNorm(in_features), nn.Linear(in_features, hidden), nn.ReLU(),
                                        nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(features).squeeze(1)


MAP_HEADS: dict[str, type[nn.Module]] = {"cnn": CnnMintHead, "mlp": MlpMintHead}
