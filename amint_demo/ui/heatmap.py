"""Heatmap overlays for the page: an activation map blended over the image the model saw, delivered inline.

The page's maps travel inside the response as small PNG data URIs (one HTML fragment), never as files in Gradio's
shared cache: Gradio 6.31 writes output images to a path named by their content and rewrites that file in place,
so two visitors auditing the same image could read each other's half-written file (tests/test_gradio_cache.py).
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image
from plotly.colors import sample_colorscale, unlabel_rgb

# Plotly's "Jet" colour scale as a 256-entry lookup table (RGB in [0, 1]), the same scale as the page's plots.
COLOUR_TABLE = np.array([unlabel_rgb(c) for c in sample_colorscale("Jet", list(np.linspace(0, 1, 256)))],
                        dtype=np.float32) / 255.0
OVERLAY_SIZE = 84  # pixels of each overlay (three times a 28 px input); the page scales it up with crisp pixels
SHOWN_SIZE = 168


def overlay(model_input: np.ndarray, heat: np.ndarray, opacity: float = 0.5, size: int = OVERLAY_SIZE) -> Image.Image:
    """model_input uint8 (S, S) or (S, S, 3), heat (H, W) in [0, 1] -> RGB image of size×size."""
    base = Image.fromarray(model_input).convert("RGB").resize((size, size), Image.NEAREST)
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    colour = COLOUR_TABLE[np.asarray(heat_img)]
    blended = (1 - opacity) * np.asarray(base, dtype=np.float32) / 255.0 + opacity * colour
    return Image.fromarray((blended * 255).clip(0, 255).astype(np.uint8))


def data_uri(image: Image.Image) -> str:
    """A PNG data URI of `image`."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figures_html(items: list[tuple[Image.Image, str]], css_class: str) -> str:
    """Images with captions as one HTML fragment of inline images."""
    cells = [f'<figure><img src="{data_uri(image)}" width="{SHOWN_SIZE}" height="{SHOWN_SIZE}" alt="{html.escape(caption)}">'
             f"<figcaption>{html.escape(caption)}</figcaption></figure>" for image, caption in items]
    return f'<div class="{css_class}">{"".join(cells)}</div>'
