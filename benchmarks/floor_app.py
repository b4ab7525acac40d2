"""Gradio's own floor for an audit round trip: the same inputs as the app's /audit, a handler that only reads the
image and returns a label. `python benchmarks/floor_app.py` serves it (port from GRADIO_SERVER_PORT)."""
from __future__ import annotations

import gradio as gr
from PIL import Image


def audit(pair: str, image_path: str, opacity: float) -> dict:
    with Image.open(image_path) as image:
        image.load()
    return {"member": 0.5, "non-member": 0.5}


with gr.Blocks() as demo:
    pair = gr.Textbox(label="pair")
    image = gr.Image(type="filepath", label="image")
    opacity = gr.Number(0.5, label="opacity")
    verdict = gr.Label(label="Verdict")
    gr.Button("audit").click(audit, [pair, image, opacity], verdict, api_name="audit", concurrency_limit=8)

if __name__ == "__main__":
    demo.queue(max_size=64).launch()
