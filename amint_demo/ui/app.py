"""The Gradio page: choose a pair, give an image, read the verdict and the activation maps."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import gradio as gr
from PIL import Image

from amint_demo.errors import AmintError
from amint_demo.pairs import Pair, list_pairs, load_pair
from amint_demo.ui.heatmap import overlay

ROOT = Path(__file__).resolve().parents[2]
PAIR_ROOT = Path(os.environ.get("AMINT_PAIRS", ROOT / "pretrained"))
EXAMPLES_DIR = ROOT / "assets" / "examples"


def pair_choices(root: Path = PAIR_ROOT) -> list[tuple[str, str]]:
    """(label, path) of every loadable pair, labelled with method, family, tap and headline metrics."""
    choices = []
    for summary in list_pairs(root) if root.is_dir() else []:
        if summary.problem is None:
            row = summary.row()
            auc = f", AUC {row['auc']:.2f}" if row.get("auc") is not None else ""
            label = f"{row['pair']} — {row['method']}, {row['family']}, {row['taps']} tap{auc}"
            choices.append((label, str(summary.path)))
    return choices


@lru_cache(maxsize=8)
def cached_pair(path: str) -> Pair:
    return load_pair(path, device="cpu")


def audit_image(pair_path: str, image: Image.Image | None, opacity: float = 0.5) -> tuple[dict, str, list]:
    """Gradio handler: (pair, PIL image) -> ({verdict: prob}, text, gallery of (overlay, caption))."""
    if not pair_path:
        raise gr.Error("Choose a model pair first.")
    if image is None:
        raise gr.Error("Upload or pick an image first.")
    try:
        pair = cached_pair(pair_path)
        verdict = pair.audit([image])[0]
    except AmintError as err:
        raise gr.Error(str(err)) from None
    p = verdict.membership_probability
    label = {"member (used in training)": p, "non-member": 1 - p}
    text = (f"**{'Member' if verdict.is_member else 'Not a member'}** of the training set "
            f"(membership probability {p:.1%}). The model sees a **{verdict.predicted_label}** "
            f"({verdict.confidence:.0%} confident).")
    gallery = [(overlay(verdict.model_input, heat, opacity), f"activations at {tap}") for tap, heat in verdict.maps.items()]
    return label, text, gallery


def build_demo(root: Path = PAIR_ROOT) -> gr.Blocks:
    choices = pair_choices(root)
    examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*.png")) if EXAMPLES_DIR.is_dir() else []
    with gr.Blocks(title="aMINT: was this image used to train the model?") as demo:
        gr.Markdown("# Was this image used to train the model?\nPick a model pair and an image: a Membership "
                    "Inference Test reads the model's activations and answers with a probability.")
        with gr.Row():
            with gr.Column():
                pair = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Model pair")
                image = gr.Image(type="pil", label="Image", sources=["upload", "clipboard", "webcam"])
                opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Heatmap opacity")
                button = gr.Button("Audit", variant="primary")
                if examples:
                    gr.Examples(examples, inputs=image, label="Examples")
            with gr.Column():
                verdict = gr.Label(label="Verdict", num_top_classes=2)
                explanation = gr.Markdown()
                maps = gr.Gallery(label="Activation maps the verdict was read from", columns=2, height="auto")
        button.click(audit_image, [pair, image, opacity], [verdict, explanation, maps], api_name="audit")
    return demo
