"""Gradio 6.31's `processing_utils.save_pil_to_cache` names an output image by its content and rewrites that file in
place, so a request streaming it can read a truncated file while another request with the same image writes it
(peer closed connection; `h11 LocalProtocolError: Too little data for declared Content-Length`). The page never
writes output images to that cache (its maps are inline, `ui.heatmap`). This reproduction is expected to fail; when a
Gradio upgrade makes it pass, the workaround may no longer be needed."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Gradio 6.31 rewrites same-content output images in place")
def test_an_output_image_is_never_seen_half_written(tmp_path):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    path = processing_utils.save_pil_to_cache(image, str(tmp_path), format="bmp")
    full = os.path.getsize(path)
    sizes: set[int] = set()
    done = threading.Event()

    def rewrite() -> None:  # other requests producing the same image
        for _ in range(40):
            processing_utils.save_pil_to_cache(image, str(tmp_path), format="bmp")
        done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    while not done.is_set():  # a request serving the file meanwhile
        try:
            sizes.add(os.path.getsize(path))
        except FileNotFoundError:
            sizes.add(-1)
    writer.join()
    assert sizes <= {full}, f"sizes seen while serving: {sorted(sizes)[:5]} (complete: {full})"
