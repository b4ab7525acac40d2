"""The Gradio page: pair choice on top, then the Audit, Layer depth, Train and About tabs."""
from __future__ import annotations

import os

import gradio as gr
import torch

from amint_demo.ui import about_tab, audit_tab, explore_tab, housekeeping, registry, train_tab

MAX_UPLOAD = "25mb"
CACHE_CLEANUP = (600, 3600)  # (every s, older than s)
QUEUE_MAX = 64  # requests waiting beyond this get "queue full" at once instead of a long wait
# Small dataset images (28 px) are shown enlarged with crisp pixels.
CSS = """
#audit-image img, #example-gallery img, #activation-maps img { image-rendering: pixelated; }
#audit-image img { width: 100%; height: 100%; object-fit: contain; }
"""


def build_demo() -> gr.Blocks:
    # Small per-request work: one intra-op thread each (requests run side by side); more threads on a busy
    # 2-core machine oversubscribe OpenMP and made one audit 50× slower in our measurement.
    torch.set_num_threads(int(os.environ.get("AMINT_TORCH_THREADS", "1")))
    choices = registry.choices()
    housekeeping.start()  # now and every minute, off the main thread: expired pairs, abandoned partial uploads
    # Gradio's copies of uploads and outputs: checked every 10 minutes, deleted after an hour.
    with gr.Blocks(title="aMINT: was this image used to train the model?", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# Was this image used to train the model?\nA **Membership Inference Test** reads a model's "
                    "activations and answers with a probability. Pick an image below: the answer comes first, "
                    "the explanation after.")
        session = gr.State([])
        pair = gr.Dropdown(choices, value=registry.default_pair(), label="Model pair (family · method · tap · "
                           "AUC and accuracy on held-out images)", elem_id="pair")
        with gr.Tabs():
            with gr.Tab("Audit an image", id="audit"):
                image = audit_tab.build(pair, session)
            with gr.Tab("Layer depth & methods", id="explore"):
                explore_tab.build(image, session)
            with gr.Tab("Train your own", id="train"):
                train_tab.build(pair, session)
            with gr.Tab("About", id="about"):
                about_tab.build()
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX)
    return demo


def launch_kwargs() -> dict:
    # The gallery's files may be served wherever the app is started from (nothing else outside its cache).
    return {"max_file_size": MAX_UPLOAD, "theme": gr.themes.Soft(), "css": CSS,
            "allowed_paths": [str(registry.EXAMPLES_DIR), str(registry.ROOT / "assets" / "photos")]}
