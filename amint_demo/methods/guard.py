"""The out-of-distribution guard: an image unlike anything in the model's training data cannot be a member.

A density model of the training images in the model's input space: every pixel position's intensity histogram
(16 bins, Laplace-smoothed) over the members, and an image's score is its negative log-likelihood under those
histograms taken independently. Threshold: a high quantile of the scores of held-out training images (never T,
never an out-of-distribution image), so about 1 - quantile of in-distribution images are flagged. A user's own
member images are exceptions: an image within a small pixel distance of one is in distribution.

Scores read from the model's features (Mahalanobis or nearest-neighbour distances of pre-logit or tapped features)
are compared with this density on a committed pair by scripts/measure_trust_choices.py (README, "Why you can trust
a verdict"): at the same threshold they catch almost none of the check set's photos.
"""
from __future__ import annotations

import torch
from torch import nn

QUANTILE = 0.995
BINS = 16
EXCEPTION_TOLERANCE = 8 / 255  # mean absolute pixel difference within which an image counts as a user's member
MAX_FIT_IMAGES = 20_000


def _bins(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> int64 (B, C·H·W) histogram bins."""
    return (pixels.flatten(1).long() * BINS) // 256


class PixelDensityGuard(nn.Module):
    """log_prob (P, BINS) per pixel position; `exceptions` (E, P) a user's member images in [0, 1]."""

    def __init__(self, positions: int, exceptions: int, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("log_prob", torch.full((positions, BINS), -float(torch.log(torch.tensor(BINS)))))
        self.register_buffer("threshold", torch.tensor(float("inf")))
        self.register_buffer("exceptions", torch.zeros(exceptions, positions))
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def pixels(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (B, C, H, W) -> uint8 pixels as the dataset stores them."""
        return ((x.float() * self.std + self.mean) * 255).round().clamp(0, 255).to(torch.uint8)

    def score(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, H, W) -> (B,) negative log-likelihood (higher: less like the training images)."""
        bins = _bins(pixels)
        return -self.log_prob.gather(1, bins.T).T.sum(1)

    def in_distribution(self, pixels: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
        """(B,) bool: within the threshold, or a copy (up to EXCEPTION_TOLERANCE) of a user's member image."""
        inside = score <= self.threshold
        if len(self.exceptions):
            flat = pixels.flatten(1).float() / 255
            nearest = torch.cdist(flat, self.exceptions, p=1).amin(1) / flat.shape[1]
            inside = inside | (nearest <= EXCEPTION_TOLERANCE)
        return inside

    def section(self) -> dict:
        return {"positions": int(self.log_prob.shape[0]), "exceptions": int(self.exceptions.shape[0]),
                "threshold": float(self.threshold)}


def fit_guard(member_pixels: torch.Tensor, held_out_pixels: torch.Tensor, mean: tuple[float, ...],
              std: tuple[float, ...], extra_pixels: torch.Tensor | None = None,
              quantile: float = QUANTILE) -> tuple[PixelDensityGuard, dict]:
    """member_pixels (N, C, H, W) and held_out_pixels (M, C, H, W) uint8 of in-distribution images (held out: no
    detector trained on them), extra_pixels (E, C, H, W) a user's own members. Returns the guard and its record."""
    bins = _bins(member_pixels)
    counts = torch.zeros(bins.shape[1], BINS).scatter_add_(1, bins.T, torch.ones_like(bins.T, dtype=torch.float32))
    extras = torch.zeros(0, bins.shape[1]) if extra_pixels is None else extra_pixels.flatten(1).float() / 255
    guard = PixelDensityGuard(bins.shape[1], len(extras), mean, std)
    guard.log_prob.copy_(torch.log((counts + 1) / (counts.sum(1, keepdim=True) + BINS)))
    guard.exceptions.copy_(extras)
    held_out = guard.score(held_out_pixels)
    guard.threshold.fill_(float(torch.quantile(held_out.double(), quantile)))
    record = guard.section() | {"quantile": quantile, "n_fit": len(member_pixels), "n_threshold": len(held_out),
                                "held_out_flagged": float((held_out > guard.threshold).float().mean())}
    return guard, record
