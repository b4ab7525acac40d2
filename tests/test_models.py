"""Backbones of the four families, tap resolution from feature metadata, hook release, heads."""
from __future__ import annotations

import threading

import pytest
import torch

from amint_demo.errors import InvalidConfig
from amint_demo.models import AuditableModel, BackboneSpec, resolve_taps, stages, tokens_to_grid
from amint_demo.models.taps import ActivationCapture
from tests.conftest import TINY_TIMM


@pytest.mark.parametrize("family", sorted(TINY_TIMM))
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32), (3, 64)])
def test_every_family_gives_maps_and_logits(family: str, channels: int, size: int) -> None:
    arch, kwargs = TINY_TIMM[family]
    model = AuditableModel(BackboneSpec(arch, channels, 10, size, timm_kwargs=kwargs), "middle").eval()
    out = model(torch.randn(2, channels, size, size))
    assert out.class_logits.shape == (2, 10)
    assert out.mint_logits.shape == (2,)
    assert len(out.maps) == 2 and all(m.ndim == 4 and m.shape[0] == 2 for m in out.maps)
    assert [m.shape[1] for m in out.maps] == model.tap_channels


def test_depth_names_pick_consecutive_stages_from_feature_info() -> None:
    backbone = BackboneSpec("resnet18", 1, 10, 28, timm_kwargs=TINY_TIMM["resnet"][1]).build()
    assert [s["module"] for s in stages(backbone)] == ["layer1", "layer2", "layer3", "layer4"]
    assert resolve_taps(backbone, "entry") == ["layer1", "layer2"]
    assert resolve_taps(backbone, "middle") == ["layer2", "layer3"]
    assert resolve_taps(backbone, "output") == ["layer3", "layer4"]
    assert resolve_taps(backbone, "layer4") == ["layer4"]
    vit = BackboneSpec("vit_tiny_patch16_224", 1, 10, 28, timm_kwargs={"depth": 8, "embed_dim": 32, "num_heads": 2}).build()
    assert resolve_taps(vit, "entry") == ["blocks.1", "blocks.2"]
    assert resolve_taps(vit, "output") == ["blocks.5", "blocks.6"]


def test_head_channels_follow_the_backbone_not_constants() -> None:
    narrow = AuditableModel(BackboneSpec("resnet18", 1, 10, 28, timm_kwargs={"channels": [8, 16, 32, 64]}), "output")
    wide = AuditableModel(BackboneSpec("resnet18", 1, 10, 28, timm_kwargs={"channels": [16, 32, 64, 128]}), "output")
    assert narrow.tap_channels == [32, 64] and wide.tap_channels == [64, 128]


def test_small_input_stem_keeps_resolution() -> None:
    kwargs = TINY_TIMM["resnet"][1]
    small = AuditableModel(BackboneSpec("resnet18", 1, 10, 28, True, kwargs), "entry").eval()
    imagenet = AuditableModel(BackboneSpec("resnet18", 1, 10, 28, False, kwargs), "entry").eval()
    x = torch.randn(1, 1, 28, 28)
    assert small(x).maps[0].shape[-1] == 28
    assert imagenet(x).maps[0].shape[-1] == 7


def test_capture_releases_hooks_even_on_error() -> None:
    model = BackboneSpec("resnet18", 1, 10, 28, timm_kwargs=TINY_TIMM["resnet"][1]).build()
    with pytest.raises(RuntimeError):
        with ActivationCapture(model, ["layer2"]):
            model(torch.randn(1, 3, 28, 28))  # wrong channel count
    assert not model.layer2._forward_hooks
    with ActivationCapture(model, ["layer2", "layer3"]) as capture:
        model(torch.randn(1, 1, 28, 28))
    assert set(capture.outputs) == {"layer2", "layer3"}
    assert not model.layer2._forward_hooks and not model.layer3._forward_hooks


def test_capture_ignores_forward_passes_of_other_threads() -> None:
    model = BackboneSpec("resnet18", 1, 10, 28, timm_kwargs=TINY_TIMM["resnet"][1]).build().eval()
    with torch.no_grad(), ActivationCapture(model, ["layer2"]) as capture:
        other = threading.Thread(target=model, args=(torch.randn(1, 1, 28, 28),))
        other.start()
        other.join()
        assert capture.outputs == {}  # another request's forward pass, not ours
        model(torch.randn(1, 1, 28, 28))
    assert set(capture.outputs) == {"layer2"}


def test_concurrent_requests_on_one_model_get_their_own_maps() -> None:
    model = AuditableModel(BackboneSpec("resnet18", 1, 10, 28, timm_kwargs=TINY_TIMM["resnet"][1]), "middle").eval()
    inputs = [torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    with torch.no_grad():
        expected = [model(x).mint_logits for x in inputs]
    got: dict[int, list[torch.Tensor]] = {i: [] for i in range(8)}
    start = threading.Barrier(8)

    def request(i: int) -> None:
        start.wait()
        with torch.no_grad():
            for _ in range(20):
                got[i].append(model(inputs[i]).mint_logits)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(8):
        assert len(got[i]) == 20 and all(torch.allclose(g, expected[i], atol=1e-5) for g in got[i])
    assert all(not module._forward_hooks for module in model.modules())


def test_tokens_to_grid_drops_prefix_tokens() -> None:
    tokens = torch.arange(2 * 50 * 3, dtype=torch.float32).reshape(2, 50, 3)
    grid = tokens_to_grid(tokens, 1)
    assert grid.shape == (2, 3, 7, 7)
    assert torch.equal(grid[0, :, 0, 0], tokens[0, 1])


@pytest.mark.parametrize("taps", ["nonsense", "layer1,layer2,layer3", ""])
def test_bad_taps_are_refused(taps: str) -> None:
    with pytest.raises(InvalidConfig):
        AuditableModel(BackboneSpec("resnet18", 1, 10, 28, timm_kwargs=TINY_TIMM["resnet"][1]), taps)


@pytest.mark.parametrize("kwargs", [{"arch": "efficientnet_b0"}, {"in_chans": 2}, {"img_size": 4}, {"num_classes": 1}])
def test_bad_specs_are_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidConfig):
        BackboneSpec(**({"arch": "resnet18", "in_chans": 1, "num_classes": 10, "img_size": 28} | kwargs))
