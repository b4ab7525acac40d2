"""Audit tab: one image, one pair -> verdict, class, activation heatmaps, membership map, method comparison."""
from __future__ import annotations

import gradio as gr

from amint_demo.data import load_image
from amint_demo.errors import AmintError
from amint_demo.pairs import AuditVerdict
from amint_demo.runtime import Runtime
from amint_demo.ui.components import UploadedImage
from amint_demo.ui.figures import compare_figure
from amint_demo.ui.heatmap import figures_html, overlay

# Audits in flight at once, shared by the button and the image-change listener (each takes ~25 ms of one
# thread); more wait in the queue, and Gradio shows a waiting visitor their place in it.
AUDIT_CONCURRENCY = 8


def render_maps(verdict: AuditVerdict, opacity: float) -> tuple[str, str]:
    """(activation overlays, membership-map overlays) as inline HTML fragments."""
    activations = [(overlay(verdict.model_input, heat, opacity), f"activation · {tap}") for tap, heat in verdict.maps.items()]
    membership = [(overlay(verdict.model_input, heat, opacity), f"membership evidence · {tap}")
                  for tap, heat in (verdict.membership_maps or {}).items()]
    return figures_html(activations, "amint-maps"), figures_html(membership, "amint-maps")


def percent(p: float) -> str:
    """A probability for people: never "100%" or "0%" for what is only nearly certain."""
    if p >= 0.995:
        return "over 99.5%"
    if 0 < p < 0.005:
        return "under 0.5%"
    return f"{p:.0%}"


def verdict_text(verdict: AuditVerdict, truth: dict | None) -> str:
    p = verdict.membership_probability
    if not verdict.in_distribution:
        lines = [f"**Not a member: this image is unlike anything in this model's training data,** so it cannot be "
                 f"one of its members (its score against the training images' pixel statistics is "
                 f"{verdict.ood_score:.0f}, above the {verdict.ood_threshold:.0f} that 99.5% of held-out training "
                 f"images stay under). The membership detector alone would have said "
                 f"{percent(verdict.detector_probability or 0.0)}. "
                 f"The model sees a **{verdict.predicted_label}** ({verdict.confidence:.0%} confident)."]
    else:
        lines = [f"**{'Member' if verdict.is_member else 'Not a member'}.** "
                 f"The probability that this image was in the model's training set is **{percent(p)}**. "
                 f"The model sees a **{verdict.predicted_label}** ({verdict.confidence:.0%} confident)."]
    if truth is not None:
        actual = "was" if truth["member"] else "was **not**"
        right = (truth["member"] == verdict.is_member)
        lines.append(f"**Ground truth:** this image {actual} in the training set (a {truth['label']}) — "
                     f"the test is **{'right' if right else 'wrong'}** here.")
    if verdict.membership_maps is None:
        lines.append("_This method's score is not read from the activation maps: no membership map for it._")
    return "\n\n".join(lines)


def rerender(verdict: AuditVerdict | None, opacity: float):
    if verdict is None:
        return gr.skip(), gr.skip()
    return render_maps(verdict, opacity)


class AuditTab:
    """The audit tab's handlers over one app's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _verdict(self, pair_value: str | None, image_path: str | None) -> AuditVerdict:
        if not pair_value:
            raise gr.Error("Choose a model pair first.")
        if not image_path:
            raise gr.Error("Upload, paste or pick an image first.")
        try:
            return self.runtime.pairs.get_pair(pair_value).audit([load_image(image_path)], explain=True)[0]
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None

    def audit(self, pair_value: str | None, image_path: str | None, opacity: float = 0.5):
        """API `audit`: (pair, image file) -> (verdict label, text, activation maps, membership maps, state)."""
        verdict = self._verdict(pair_value, image_path)
        truth = self.runtime.gallery.example_truth(image_path)
        activations, membership = render_maps(verdict, opacity)
        label = {"member": verdict.membership_probability, "non-member": 1 - verdict.membership_probability}
        return label, verdict_text(verdict, truth), activations, membership, verdict

    def audit_on_change(self, pair_value: str | None, image_path: str | None, opacity: float):
        """The same audit when the image changes; an emptied image clears the results."""
        return self.audit(pair_value, image_path, opacity) if pair_value and image_path else (None, "", "", "", None)

    def compare_methods(self, pair_value: str | None, image_path: str | None, session_pairs: list[str] | None = None):
        """API `compare`: the image's membership probability under every pair of the chosen pair's family."""
        if not pair_value or not image_path:
            raise gr.Error("Choose a pair and an image first.")
        pairs = self.runtime.pairs
        try:
            family = pairs.family_of_pair(pair_value)
            image = load_image(image_path)
            rows = []
            for summary in pairs.summaries(session_pairs):
                if summary.manifest.family == family:
                    verdict = pairs.get_pair(str(summary.path)).audit([image])[0]
                    rows.append((f"{summary.manifest.method} · {summary.manifest.tap_label}",
                                 verdict.membership_probability))
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None
        return compare_figure(rows)

    def pick_example(self, evt: gr.SelectData) -> str:
        return self.runtime.gallery.examples()[0][evt.index]

    def build(self, pair: gr.Dropdown, session: gr.State) -> gr.Image:
        """Lay out the tab; returns the image input (the explorer reuses it)."""
        gallery_paths, _ = self.runtime.gallery.examples()
        with gr.Row():
            with gr.Column(scale=1):
                image = UploadedImage(type="filepath", label="Image to audit", sources=["upload", "clipboard", "webcam"],
                                      height=260, elem_id="audit-image")
                audit_button = gr.Button("Was it in the training set?", variant="primary")
                if gallery_paths:
                    gallery = gr.Gallery(gallery_paths, label="Members and non-members: click one, then guess",
                                         columns=5, height="auto", allow_preview=False, elem_id="example-gallery")
                    gallery.select(self.pick_example, None, image, api_visibility="private")
                photos = self.runtime.gallery.upload_examples()
                if photos:
                    gr.Examples(photos, inputs=image, label="Photos no model has seen")
            with gr.Column(scale=1):
                verdict_label = gr.Label(label="Verdict", num_top_classes=2, elem_id="verdict")
                text = gr.Markdown(elem_id="verdict-text", label="Explanation")
                opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Heatmap opacity")
                gr.Markdown("**Activations the verdict was read from**")
                activation_maps = gr.HTML(elem_id="activation-maps", js_on_load=None, label="Activation maps")
                gr.Markdown("**Where the membership evidence is** (Grad-CAM of the MINT score)")
                membership_maps = gr.HTML(elem_id="membership-maps", js_on_load=None, label="Membership maps")
        with gr.Accordion("Compare methods on this image", open=False):
            compare_button = gr.Button("Score this image with every method and tap of the family")
            comparison = gr.Plot(label="Membership probability by method")
        last = gr.State(None)
        outputs = [verdict_label, text, activation_maps, membership_maps, last]
        audit_button.click(self.audit, [pair, image, opacity], outputs, api_name="audit",
                           concurrency_limit=AUDIT_CONCURRENCY, concurrency_id="audit")
        image.change(self.audit_on_change, [pair, image, opacity], outputs, api_visibility="private",
                     concurrency_limit=AUDIT_CONCURRENCY, concurrency_id="audit")
        opacity.release(rerender, [last, opacity], [activation_maps, membership_maps], api_visibility="private")
        compare_button.click(self.compare_methods, [pair, image, session], comparison, api_name="compare",
                             concurrency_limit=4)
        return image
