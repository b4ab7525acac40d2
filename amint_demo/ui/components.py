"""Components tuned for untrusted uploads."""
from __future__ import annotations

import gradio as gr


class UploadedImage(gr.Image):
    """An image input whose upload reaches the library's decoder (`load_image`) untouched, as a file path:
    bad files then get the library's one-line reason (not an image, truncated, too many pixels, ...) instead
    of failing inside the component. Same front end as gr.Image (a template component)."""

    is_template = True

    def preprocess(self, payload) -> str | None:  # payload: gradio.data_classes.ImageData | None
        return None if payload is None else payload.path
