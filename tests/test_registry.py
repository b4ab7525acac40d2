"""A new method is one module: registered, it trains, saves, loads and audits, and the CLI, the app and the
reports offer it, without a change anywhere else."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from amint_demo import load_pair
from amint_demo.errors import InvalidConfig
from amint_demo.methods import Detector, Method, TrainedModel, get_method, list_methods, registry
from amint_demo.methods.joint import start_model
from amint_demo.pairs import train_pair
from tests.conftest import tiny_config


class ConfidenceDetector(Detector):
    """A made-up method for this test: members are the images the model is sure about (logit = scale·max p)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(()))

    def membership_logits(self, model, x, output, labels):
        return self.scale * torch.softmax(output.class_logits.float(), 1).amax(1)



class Confidence(Method):
    name = "confidence"
    title = "Confidence (test only)"
    help = "a test method: the model's top class probability"
    reads_taps = False

    def fit(self, run) -> TrainedModel:
        model = start_model(run.config, run.dataset, run.init, with_head=False).to(run.device)
        return TrainedModel(model, ConfidenceDetector().to(run.device), {"fit": [{"epoch": 1}]})

    def build_detector(self, section) -> Detector:
        return ConfidenceDetector()


@pytest.fixture
def with_confidence(monkeypatch):
    monkeypatch.setitem(registry._METHODS, Confidence.name, Confidence())
    return Confidence.name


def test_unknown_methods_are_refused_with_the_known_ones():
    with pytest.raises(InvalidConfig, match="known: " + ", ".join(list_methods())):
        get_method("oracle")


def test_a_registered_method_trains_saves_loads_and_audits(with_confidence, tmp_path):
    path = train_pair(tiny_config(with_confidence), tmp_path / "pair", allow_download=False)
    pair = load_pair(path, device="cpu")
    assert pair.manifest.method == "confidence" and pair.manifest.tap_label == "n/a"
    assert "calibration" in pair.manifest.history  # calibration is generic: any logit
    verdict = pair.audit([Image.new("L", (28, 28))])[0]
    assert verdict.verdict in ("member", "non-member")


def test_the_cli_and_the_page_offer_a_registered_method(with_confidence, tmp_path, capsys):
    from amint_demo.cli import main
    from amint_demo.ui.explore_tab import ExploreTab
    from tests.conftest import make_runtime

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "confidence" in capsys.readouterr().out
    import gradio as gr

    with gr.Blocks() as page:
        ExploreTab(make_runtime(tmp_path / "none", tmp_path)).build(gr.Dropdown(), gr.Image(), gr.State([]))
    (radio,) = [b for b in page.blocks.values() if isinstance(b, gr.Radio)]
    assert "confidence" in [value for _, value in radio.choices]
