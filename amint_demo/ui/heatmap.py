"""Heatmap overlays for the page: an activation map blended over the image the model saw."""
from __future__ import annotations

import numpy as np
from PIL import Image
from plotly.colors import sample_colorscale, unlabel_rgb

# Plotly's "Jet" colour scale as a 256-entry lookup table (RGB in [0, 1]), the same scale as the page's plots.
COLOUR_TABLE = np.array([unlabel_rgb(c) for c in sample_colorscale("Jet", list(np.linspace(0, 1, 256)))],
                        dtype=np.float32) / 255.0


def overlay(model_input: np.ndarray, heat: np.ndarray, opacity: float = 0.5, size: int = 224) -> Image.Image:
    """model_input uint8 (S, S) or (S, S, 3), heat (H, W) in [0, 1] -> RGB image of size×size."""
    base = Image.fromarray(model_input).convert("RGB").resize((size, size), Image.NEAREST)
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    colour = COLOUR_TABLE[np.asarray(heat_img)]
    blended = (1 - opacity) * np.asarray(base, dtype=np.float32) / 255.0 + opacity * colour
    return Image.fromarray((blended * 255).clip(0, 255).astype(np.uint8))
