"""The Gradio page: pair choice on top, then the Audit, Layer depth, Train and About tabs."""
from __future__ import annotations

import gradio as gr
import torch
from starlette.middleware import Middleware

from amint_demo.runtime import Runtime, housekeeping
from amint_demo.runtime.memory import return_large_allocations
from amint_demo.runtime.uploads import UploadLimit
from amint_demo.ui import about_tab
from amint_demo.ui.audit_tab import AuditTab
from amint_demo.ui.explore_tab import ExploreTab
from amint_demo.ui.train_tab import TrainTab

MAX_UPLOAD = "25mb"
CACHE_CLEANUP = (300, 900)  # (every s, older than s): Gradio's copies of uploads and outputs
QUEUE_MAX = 64  # requests waiting beyond this get "queue full" at once instead of a long wait
# Small dataset images (28 px) are shown enlarged with crisp pixels.
CSS = """
#audit-image img, #example-gallery img, .amint-maps img { image-rendering: pixelated; }
#audit-image img { width: 100%; height: 100%; object-fit: contain; }
.amint-maps { display: flex; flex-wrap: wrap; gap: 8px; }
.amint-maps figure { margin: 0; text-align: center; font-size: 0.85em; }
"""


def build_demo(runtime: Runtime) -> gr.Blocks:
    """The whole page over `runtime` (its pairs, pictures, sessions and settings); starts the housekeeping."""
    # Small per-request work: one intra-op thread each by default (requests run side by side); more threads on a
    # busy 2-core machine oversubscribe OpenMP and made one audit 50× slower in our measurement.
    torch.set_num_threads(runtime.settings.torch_threads)
    return_large_allocations()  # large uploads' decoded pixels go back to the system once freed
    choices = runtime.pairs.choices()
    housekeeping.start(runtime.settings)  # now and every minute, off the main thread
    # Gradio's copies of uploads and outputs: checked every 5 minutes, deleted after 15.
    with gr.Blocks(title="aMINT: was this image used to train the model?", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# Was this image used to train the model?\nA **Membership Inference Test** reads a model's "
                    "activations and answers with a probability. Pick an image below: the answer comes first, "
                    "the explanation after.")
        session = gr.State([])
        pair = gr.Dropdown(choices, value=runtime.pairs.default_pair(), label="Model pair (family · method · tap · "
                           "AUC and accuracy on held-out images)", elem_id="pair")
        with gr.Tabs():
            with gr.Tab("Audit an image", id="audit"):
                image = AuditTab(runtime).build(pair, session)
            with gr.Tab("Layer depth & methods", id="explore"):
                ExploreTab(runtime).build(pair, image, session)
            with gr.Tab("Train your own", id="train"):
                TrainTab(runtime).build(pair, session)
            with gr.Tab("About", id="about"):
                about_tab.build()
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX)
    return demo


def launch_kwargs(runtime: Runtime) -> dict:
    """`demo.launch` arguments: upload caps (per file, per request), theme, the picture folders the page may serve,
    and no run history (it would keep visitors' images in a shared browser, e.g. a conference laptop)."""
    max_request = int(runtime.settings.upload_max_request_mb * 2**20)
    return {"max_file_size": MAX_UPLOAD, "theme": gr.themes.Soft(), "css": CSS, "run_history": False,
            "allowed_paths": runtime.gallery.served_folders(),
            "app_kwargs": {"middleware": [Middleware(UploadLimit, max_bytes=max_request)]}}
