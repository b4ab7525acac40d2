"""Layer-depth explorer: metrics against tap depth per method, log-log ROC, one image at every depth."""
from __future__ import annotations

import gradio as gr

from amint_demo.data import load_image
from amint_demo.errors import AmintError
from amint_demo.methods import get_method, list_methods
from amint_demo.pairs import NO_TAP
from amint_demo.reporting import DEPTH_ORDER, depth_summary
from amint_demo.runtime import Runtime
from amint_demo.ui.figures import depth_figure, histogram_figure, reliability_figure, roc_figure
from amint_demo.ui.heatmap import figures_html, overlay

GUIDE = """**What to look for.** Each point is a pair evaluated on held-out images it never saw (T) against the
same number of training members. *Entry* taps read early, local features; *output* taps read features close to
the decision. In the aMINT paper the *middle* taps are best or tied in most cases — check whether that holds
here. Then read the ROC on log axes: a test that is only good "on average" (AUC) can still be useless at a 1%
false-positive rate, which is what matters when you accuse a model of training on someone's image."""

CALIBRATION_GUIDE = """**Reading the probability.** The probability shown is calibrated on held-out training images that no
detector trained on (never on T): among images shown about 80%, about 80% were members, and the reliability diagram
checks it on members against T (its ECE is the average gap). The histograms show where members and held-out
non-members land against the 0.5 threshold."""


class ExploreTab:
    """The layer-depth tab's handlers over one app's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def rows(self, session_pairs: list[str] | None = None) -> list[dict]:
        return depth_summary({str(s.path): s.manifest for s in self.runtime.pairs.summaries(session_pairs)})

    def families(self, session_pairs: list[str] | None = None) -> list[str]:
        return sorted({r["family"] for r in self.rows(session_pairs)})

    def explore(self, pair_value: str | None, method: str, image_path: str | None,
                session_pairs: list[str] | None = None):
        """API `explore`: (pair, method, image) -> the pair's family's metrics against tap depth and log-log ROC, the
        pair's reliability diagram and score histograms, and the image's score and maps at each depth."""
        rows = self.rows(session_pairs)
        if not rows:
            raise gr.Error("No evaluated pairs to explore.")
        pairs = self.runtime.pairs
        try:
            chosen = pairs.get_pair(pair_value) if pair_value else None
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None
        family = chosen.manifest.family if chosen else rows[0]["family"]
        metrics = chosen.manifest.metrics.members_vs_test if chosen and chosen.manifest.metrics else None
        name = chosen.name if chosen else family
        table, maps = "", ""
        if image_path:
            try:
                table, maps = self._image_at_each_depth(rows, family, method, load_image(image_path))
            except AmintError as err:
                raise gr.Error(str(err), print_exception=False) from None
        return (depth_figure(rows, family), roc_figure(rows, family), reliability_figure(metrics, name),
                histogram_figure(metrics, name), table, maps)

    def _image_at_each_depth(self, rows: list[dict], family: str, method: str, image) -> tuple[str, list]:
        lines = ["| tap depth | membership probability | verdict |", "|---|---|---|"]
        maps, verdicts = [], {}
        for depth in DEPTH_ORDER:
            match = [r for r in rows if r["family"] == family and r["method"] == method and r["tap"] in (depth, NO_TAP)]
            if not match:
                lines.append(f"| {depth} | – (no {method} pair at this depth) | |")
                continue
            if match[0]["pair"] not in verdicts:  # a method that reads no tap is one pair for every depth
                verdicts[match[0]["pair"]] = self.runtime.pairs.get_pair(match[0]["pair"]).audit([image])[0]
            verdict = verdicts[match[0]["pair"]]
            lines.append(f"| {depth} | {verdict.membership_probability:.1%} | {verdict.verdict} |")
            maps += [(overlay(verdict.model_input, heat, 0.5), f"{depth} · {tap}") for tap, heat in verdict.maps.items()]
        return "\n".join(lines), figures_html(maps, "amint-maps")

    def build(self, pair: gr.Dropdown, image: gr.Image, session: gr.State) -> None:
        gr.Markdown(GUIDE)
        methods = list_methods()
        rows = self.rows()
        first = self.explore(pair.value, methods[0], None) if rows else (None,) * 6
        with gr.Row():
            method = gr.Radio([(get_method(m).title, m) for m in methods], value=methods[0],
                              label="Method for the image row")
            run = gr.Button("Show the audit tab's image at each depth", variant="primary")
        gr.Markdown("The plots follow the pair chosen at the top: its family's pairs by tap depth, then the chosen "
                    "pair's calibration and scores.")
        with gr.Row():
            depth_plot = gr.Plot(first[0], label="Metrics against tap depth")
            roc_plot = gr.Plot(first[1], label="ROC, log-log")
        with gr.Row():
            reliability_plot = gr.Plot(first[2], label="Reliability: is the probability a probability?")
            histogram_plot = gr.Plot(first[3], label="Scores of members and non-members")
        gr.Markdown(CALIBRATION_GUIDE)
        table = gr.Markdown(label="Image at each depth")
        maps = gr.HTML(elem_id="depth-maps", js_on_load=None, label="Activation maps at each depth")
        outputs = [depth_plot, roc_plot, reliability_plot, histogram_plot, table, maps]
        run.click(self.explore, [pair, method, image, session], outputs, api_name="explore", concurrency_limit=4)
        pair.change(self.explore, [pair, method, gr.State(None), session], outputs, api_visibility="private",
                    concurrency_limit=4)
