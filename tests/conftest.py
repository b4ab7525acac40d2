"""Shared fixtures: tiny models on the embedded Fashion-MNIST subset, so the suite runs offline on 2 cores."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(1)  # tiny models, and app servers started by some tests share the 2 cores

# The app's housekeeping thread would prune whatever SESSION_ROOT a test patched in; tests call its sweep
# directly, and the fault drill turns it on for its own app.
os.environ.setdefault("AMINT_HOUSEKEEPING_S", "0")
from amint_demo.methods import TrainConfig  # noqa: E402
from amint_demo.pairs import train_pair  # noqa: E402
from amint_demo.runtime import Runtime  # noqa: E402
from amint_demo.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TINY_TIMM = {
    "resnet": ("resnet18", {"channels": [8, 16, 32, 64], "layers": [1, 1, 1, 1]}),
    "mobilenet": ("mobilenetv3_small_050", {}),
    "densenet": ("densenet121", {"growth_rate": 8, "block_config": [1, 1, 1, 1]}),
    "vit": ("vit_tiny_patch16_224", {"depth": 4, "embed_dim": 32, "num_heads": 2}),
}


def tiny_config(method: str = "amint", family: str = "resnet", **changes) -> TrainConfig:
    """A few optimiser steps of a tiny model on 200 / 200 / 200 images of the embedded subset."""
    arch, kwargs = TINY_TIMM[family]
    settings = dict(method=method, arch=arch, timm_kwargs=kwargs, dataset="fashion-mnist-mini", n_members=200,
                    n_external=200, n_test=200, epochs=1, max_steps=3, batch_size=16, head_epochs=1, device="cpu",
                    calibration_size=200)
    return TrainConfig(**(settings | changes))


def make_runtime(pairs_dir: Path, session_dir: Path, **settings) -> Runtime:
    """An app runtime over `pairs_dir` (committed pairs) and `session_dir` (visitors' pairs), with the checkout's
    pictures and no housekeeping thread."""
    return Runtime.from_settings(Settings(pairs_dir=pairs_dir, session_dir=session_dir, app_root=REPO,
                                          housekeeping_s=0, **settings))


@pytest.fixture(scope="session")
def repo_runtime() -> Runtime:
    """The runtime of the app in this checkout: its committed pairs and pictures."""
    return make_runtime(REPO / "pretrained", Path(os.environ.get("TMPDIR", "/tmp")) / "amint-test-sessions")


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved pair per method (amint, loss, passive, gradient), tiny ResNet."""
    root = tmp_path_factory.mktemp("pairs")
    return {method: train_pair(tiny_config(method), root / method, allow_download=False)
            for method in ("amint", "loss", "passive", "gradient")}


@pytest.fixture(scope="session")
def served_app(tmp_path_factory):
    """One app process (its own session and Gradio cache folders) shared by the load and hostile-input tests."""
    from benchmarks.local_server import LocalApp

    with LocalApp(tmp_path_factory.mktemp("served")) as app:
        yield app
