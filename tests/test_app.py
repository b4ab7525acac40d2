"""The Gradio page's handlers, called directly (no server is launched)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from amint_demo.methods import get_method, list_methods
from amint_demo.pairs import MANIFEST_FILE, load_pair
from amint_demo.ui.app import build_demo
from amint_demo.ui.audit_tab import AuditTab, rerender
from tests.conftest import make_runtime

METHODS = tuple(list_methods())


@pytest.fixture(scope="module")
def zoo(tiny_pairs, tmp_path_factory) -> Path:
    """The tiny pairs under neutral names (so a label naming the method is not just the folder name),
    plus one broken pair that must not be offered."""
    root = tmp_path_factory.mktemp("zoo")
    for i, method in enumerate(METHODS):
        shutil.copytree(tiny_pairs[method], root / f"pair{i}")
    broken = root / "broken"
    shutil.copytree(tiny_pairs["amint"], broken)
    (broken / MANIFEST_FILE).write_text("{")
    return root


@pytest.fixture
def runtime(zoo, tmp_path_factory):
    """The page over the zoo as its committed pairs; test pairs in pytest's temporary folder count as session
    pairs (the page only opens committed and session pairs)."""
    return make_runtime(zoo, tmp_path_factory.getbasetemp())


@pytest.fixture
def audit_tab(runtime) -> AuditTab:
    return AuditTab(runtime)


def _save(image: Image.Image, path: Path) -> str:
    image.save(path)
    return str(path)


def _noise_file(tmp_path: Path, name: str = "noise.png", size=(28, 28), mode: str = "L", seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    return _save(Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode), tmp_path / name)


# --------------------------------------------------------------------------- pair choices

def test_choices_label_each_loadable_pair_with_its_method(zoo, runtime):
    registry = runtime.pairs
    choices = registry.choices()
    assert len(choices) == len(METHODS)  # the broken pair is not offered
    by_value = {value: label for label, value in choices}
    assert set(by_value) == {f"pair{i}" for i in range(len(METHODS))}  # named by folder, not by server path
    for i, method in enumerate(METHODS):
        label = by_value[f"pair{i}"]
        assert f"(pair{i})" in label
        assert f" {method} " in label
        tap = "no tap" if not get_method(method).reads_taps else "middle tap"  # the same tap as the dropdown's
        assert "resnet" in label and tap in label and "AUC" in label
    assert [label.split(" · ")[1] for label, _ in choices] == list(METHODS)  # registry order, aMINT first
    for _, value in choices:
        load_pair(registry.resolve(value), device="cpu")  # every offered choice can be audited with


def test_choices_of_a_missing_folder_is_empty(tmp_path):
    registry = make_runtime(tmp_path / "nowhere", tmp_path).pairs
    assert registry.choices() == []
    assert registry.default_pair() is None


def test_default_pair_is_the_amint_pair(runtime):
    assert runtime.pairs.default_pair() == "pair0"


def test_session_pairs_are_offered_too(zoo, tmp_path):
    choices = make_runtime(tmp_path / "empty", zoo).pairs.choices([str(zoo / "pair1")])
    assert [path for _, path in choices] == [str(zoo / "pair1")]


def test_a_path_outside_the_pair_and_session_folders_is_refused(runtime, tiny_pairs, tmp_path):
    from amint_demo.errors import InvalidPair

    elsewhere = tmp_path.parent / "elsewhere-pair"
    registry = make_runtime(runtime.pairs.pairs_dir, tmp_path).pairs  # session folder: tmp_path only
    shutil.copytree(tiny_pairs["amint"], elsewhere, dirs_exist_ok=True)
    with pytest.raises(InvalidPair, match="unknown pair"):
        registry.resolve(str(elsewhere))
    for value in ("../pair0", "/etc", ".."):
        with pytest.raises(InvalidPair, match="unknown pair"):
            registry.resolve(value)


def test_rewritten_pair_is_reloaded(tiny_pairs, tmp_path, runtime):
    registry = runtime.pairs
    path = tmp_path / "pair"
    shutil.copytree(tiny_pairs["amint"], path)
    first = registry.get_pair(str(path))
    assert registry.get_pair(str(path)) is first  # cached
    shutil.rmtree(path)
    shutil.copytree(tiny_pairs["loss"], path)
    manifest = path / MANIFEST_FILE
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert registry.get_pair(str(path)).manifest.method == "loss"


# --------------------------------------------------------------------------- the audit handler

def _check_result(result, pair_path: str):
    """Every output of an audit agrees with itself and with the pair's taps."""
    label, text, activations, membership, verdict = result
    assert len(label) == 2
    assert sum(label.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in label.values())
    assert label["member"] == pytest.approx(verdict.membership_probability)
    assert "member" in text.lower()
    taps = load_pair(pair_path, device="cpu").manifest.taps
    images, captions = _figures(activations)
    assert len(images) == len(taps)
    for image, caption, tap in zip(images, captions, taps):
        assert image.mode == "RGB" and image.size == (84, 84)
        assert tap in caption
    images, captions = _figures(membership)
    assert all(any(tap in caption for tap in taps) for caption in captions)
    return label, text, activations, membership, verdict


def _figures(fragment: str) -> tuple[list[Image.Image], list[str]]:
    """The inline images and captions of a maps fragment."""
    import base64
    import io
    import re

    images = [Image.open(io.BytesIO(base64.b64decode(data)))
              for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', fragment)]
    return images, re.findall(r"<figcaption>([^<]*)</figcaption>", fragment)


@pytest.mark.parametrize("method", METHODS)
def test_audit_gives_a_verdict(tiny_pairs, tmp_path, method, audit_tab):
    path = str(tiny_pairs[method])
    image = _noise_file(tmp_path)
    label, text, _, membership, verdict = _check_result(audit_tab.audit(path, image, 0.5), path)
    expected = load_pair(path, device="cpu").audit([image])[0]
    assert verdict.membership_probability == pytest.approx(expected.membership_probability, abs=1e-6)
    assert expected.predicted_label in text
    assert ("Not a member" in text) == (not expected.is_member)
    if not get_method(method).build_detector(load_pair(path).manifest.detector).explains_maps:
        assert _figures(membership) == ([], []) and "no membership map" in text
    else:
        assert len(_figures(membership)[0]) == len(expected.maps)


@pytest.mark.parametrize("make", [
    lambda d: _save(Image.new("RGB", (1, 1), (255, 255, 255)), d / "one.png"),
    lambda d: _save(Image.new("RGBA", (40, 30), (255, 0, 0, 0)), d / "rgba.png"),
    lambda d: _noise_file(d, "wide.jpg", (300, 200), "RGB"),
], ids=["1x1", "rgba", "rgb-300x200-jpeg"])
def test_odd_uploads_give_verdicts(tiny_pairs, tmp_path, make, audit_tab):
    path = str(tiny_pairs["amint"])
    _check_result(audit_tab.audit(path, make(tmp_path), 0.5), path)


def test_opacity_changes_the_overlay_not_the_verdict(tiny_pairs, tmp_path, audit_tab):
    path, image = str(tiny_pairs["amint"]), _noise_file(tmp_path, seed=4)
    label_0, text_0, maps_0, _, verdict = audit_tab.audit(path, image, 0.0)
    label_1, text_1, maps_1, _, _ = audit_tab.audit(path, image, 1.0)
    assert label_0 == label_1 and text_0 == text_1
    first_0, first_1 = _figures(maps_0)[0][0], _figures(maps_1)[0][0]
    assert not np.array_equal(np.asarray(first_0), np.asarray(first_1))
    # at opacity 0 the overlay is the grey image the model saw, scaled up
    base = np.asarray(first_0)
    assert np.array_equal(base[..., 0], base[..., 1]) and np.array_equal(base[..., 1], base[..., 2])
    assert abs(float(base.mean()) - float(verdict.model_input.mean())) < 2.0
    # re-rendering from the stored verdict gives the same overlays as a fresh audit
    rerendered, _ = rerender(verdict, 1.0)
    assert np.array_equal(np.asarray(_figures(rerendered)[0][0]), np.asarray(first_1))


@pytest.mark.parametrize("image", [None, ""])
def test_no_image_is_a_user_error(tiny_pairs, image, audit_tab):
    with pytest.raises(gr.Error):
        audit_tab.audit(str(tiny_pairs["amint"]), image, 0.5)


@pytest.mark.parametrize("pair", [None, ""])
def test_no_pair_is_a_user_error(tmp_path, pair, audit_tab):
    with pytest.raises(gr.Error):
        audit_tab.audit(pair, _noise_file(tmp_path), 0.5)


def test_broken_pair_is_a_user_error(zoo, tmp_path, audit_tab):
    with pytest.raises(gr.Error):
        audit_tab.audit(str(zoo / "broken"), _noise_file(tmp_path), 0.5)


def test_corrupt_upload_is_a_one_line_user_error(tiny_pairs, tmp_path, audit_tab):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    with pytest.raises(gr.Error) as caught:
        audit_tab.audit(str(tiny_pairs["amint"]), str(bad), 0.5)
    message = caught.value.message
    assert "corrupt.png" in message and "\n" not in message and "Traceback" not in message


# --------------------------------------------------------------------------- the page

def test_build_demo_constructs_without_launching(runtime):
    demo = build_demo(runtime)
    assert isinstance(demo, gr.Blocks)
    dropdowns = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown) and b.elem_id == "pair"]
    assert len(dropdowns) == 1
    offered = {value for _, value in dropdowns[0].choices}
    assert offered == {f"pair{i}" for i in range(len(METHODS))}
    assert dropdowns[0].value == "pair0"  # the (only) aMINT pair is the default
    assert {"audit", "compare", "explore", "train"} <= {fn.api_name for fn in demo.fns.values()}
    radios = [b for b in demo.blocks.values() if isinstance(b, gr.Radio) and b.label == "Method for the image row"]
    assert [value for _, value in radios[0].choices] == list(METHODS)  # the explorer enumerates the registry


def test_build_demo_with_no_pairs(tmp_path):
    assert isinstance(build_demo(make_runtime(tmp_path / "no-pairs", tmp_path)), gr.Blocks)


# --------------------------------------------------------------------------- training session: Stop


class _Request:
    session_hash = "stop-test"


@pytest.mark.slow
def test_stop_ends_a_training_session_and_leaves_nothing(tmp_path, zoo):
    from amint_demo.runtime.training import ARCHS, SCRATCH
    from amint_demo.ui.train_tab import TrainTab

    train_tab = TrainTab(make_runtime(zoo, tmp_path / "sessions"))
    request = _Request()
    run = train_tab.run_training(SCRATCH, list(ARCHS)[0], "middle", 1.0, 64, 64, 3, 1e-3, 32,
                                 [], [], request, progress=lambda *args, **kwargs: None)
    first = next(out for out in run if isinstance(out[0], str) and "epoch" in out[0])  # other yields are skips
    assert "epoch 1" in first[0]
    assert "Stopping" in train_tab.request_stop(request)
    outputs = list(run)
    assert outputs[-1][0] == "Training stopped: nothing was saved."
    assert outputs[-1][5] is None  # no download
    assert not [p for p in (tmp_path / "sessions").rglob("*") if p.is_file()], "a stopped session left files"
