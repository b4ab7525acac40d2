"""Heatmap overlays for the page: an activation map blended over the image the model saw."""
from __future__ import annotations

import numpy as np
from PIL import Image


def overlay(model_input: np.ndarray, heat: np.ndarray, opacity: float = 0.5, size: int = 224) -> Image.Image:
    """model_input uint8 (S, S) or (S, S, 3), heat (H, W) in [0, 1] -> RGB image of size×size."""
    base = Image.fromarray(model_input).convert("RGB").resize((size, size), Image.NEAREST)
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    h = np.asarray(heat_img, dtype=np.float32) / 255.0
    colour = np.stack([np.clip(1.5 - np.abs(4 * h - 3), 0, 1), np.clip(1.5 - np.abs(4 * h - 2), 0, 1),
                       np.clip(1.5 - np.abs(4 * h - 1), 0, 1)], axis=-1)  # jet colour map
    blended = (1 - opacity) * np.asarray(base, dtype=np.float32) / 255.0 + opacity * colour
    return Image.fromarray((blended * 255).clip(0, 255).astype(np.uint8))
