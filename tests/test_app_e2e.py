"""End to end: the real app (`python app.py`) in a subprocess, driven over HTTP with gradio_client.

One server for the whole module (start-up is the expensive part, ~15 s on 2 cores). Everything goes through the
public named endpoints (/audit, /compare, /explore, /train) exactly as a remote client would: uploads, queue,
pre/post-processing, errors raised with gr.Error arriving as `AppError` carrying the one-line message.
"""
from __future__ import annotations

import base64
import io
import json
import re
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from amint_demo.methods import list_methods
from amint_demo.ui.audit_tab import percent
from benchmarks.local_server import LocalApp
from tests.imagegen import noise, png_chunk

pytestmark = pytest.mark.slow  # one app process for the module, training sessions through it

ROOT = Path(__file__).resolve().parents[1]
PAIR = "fmnist-mobilenetv3-amint-middle"  # committed pairs are named by folder on the page and in the API
EXAMPLES = ROOT / "assets" / "examples"
TRUTH = json.loads((EXAMPLES / "ground_truth.json").read_text())["images"]
EXAMPLE = str(EXAMPLES / "example-01.png")
START_TIMEOUT_S = 120
# Pinned so the limits the tests expect do not depend on whether the machine has a GPU.
LIMITS = {"AMINT_TRAIN_MAX_MEMBERS": "2000", "AMINT_TRAIN_MAX_EXTERNAL": "2000", "AMINT_TRAIN_MAX_STEPS": "400",
          "AMINT_TRAIN_MAX_UPLOADS": "32", "AMINT_TRAIN_MAX_BATCH": "128"}
MOBILENET = "MobileNetV3 (fast)"
SCRATCH = "from scratch"



@contextmanager
def _serving(root: Path, cwd: Path = ROOT) -> Iterator[LocalApp]:
    """The app on a free port (session folder and Gradio cache under `root`); fails the test if it does not serve."""
    env = LIMITS | {"PYTHONUNBUFFERED": "1"}
    with ExitStack() as stack:
        try:
            app = stack.enter_context(LocalApp(root, cwd=cwd, timeout=START_TIMEOUT_S, env=env))
        except RuntimeError as err:
            pytest.fail(str(err))
        yield app


def _session_dir(server: LocalApp) -> Path:
    return Path(server.env["AMINT_SESSION_DIR"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with _serving(tmp_path_factory.mktemp("app")) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False, download_files=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uploads")


# --------------------------------------------------------------------------- helpers

def _audit(client: Client, image: str, pair: str = PAIR, opacity: float = 0.5):
    return client.predict(pair, handle_file(image), opacity, api_name="/audit")


def _check_verdict(result, n_taps: int = 2) -> tuple[dict, str]:
    """The /audit outputs as a client sees them (the verdict State is not part of the API)."""
    assert len(result) == 4
    label, text, activations, membership = result
    probs = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert set(probs) == {"member", "non-member"}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert label["label"] == max(probs, key=probs.get)
    if text.startswith("**Not a member: this image is unlike anything"):  # the guard ruled it out
        assert probs["member"] == 0.0 and "The membership detector alone would have said" in text
    else:
        assert f"**{percent(probs['member'])}**" in text  # the text states the label's probability
    assert "The model sees a **" in text
    for fragment, kind in ((activations, "activation"), (membership, "membership evidence")):
        images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', fragment)
        captions = re.findall(r"<figcaption>([^<]*)</figcaption>", fragment)
        assert len(images) == len(captions) == n_taps  # one overlay per tap, inline: no file is served for it
        assert all(caption.startswith(kind) for caption in captions)
        assert all(Image.open(io.BytesIO(base64.b64decode(data))).size == (84, 84) for data in images)
    return probs, text


def _error(call) -> str:
    """The message of the AppError a call raises (gr.Error text, as a remote client receives it)."""
    with pytest.raises(AppError) as caught:
        call()
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def _bomb_png(path: Path, side: int = 20000) -> str:
    """A valid 1-bit PNG of side² pixels (400 MP for 20000) whose file is tens of KB: a decompression bomb.
    Written directly (as PIL's Image.new("1", (20000, 20000)).save would, without the 50 MB in memory)."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
                     + png_chunk(b"IEND", b""))
    return str(path)


def _save(image: Image.Image, path: Path, **params) -> str:
    image.save(path, **params)
    return str(path)


# --------------------------------------------------------------------------- the page is up

def test_api_lists_the_named_endpoints(client):
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/audit", "/compare", "/explore", "/train"} <= named


# --------------------------------------------------------------------------- audit

@pytest.mark.parametrize("name", ["example-01.png", "example-04.png"])
def test_audit_a_gallery_example(client, name):
    _check_verdict(_audit(client, str(EXAMPLES / name)))


# Gradio hands handlers a copy of every file in its cache (…/<sha256>/example-01.png), both for API uploads and
# for a gallery click in the page: the ground truth must be found from the image itself, not its folder.
@pytest.mark.parametrize("name", ["example-01.png", "example-04.png"])
def test_uploaded_gallery_example_shows_its_ground_truth(client, name):
    probs, text = _check_verdict(_audit(client, str(EXAMPLES / name)))
    truth = TRUTH[name]
    assert "**Ground truth:**" in text
    assert f"(a {truth['label']})" in text
    assert ("was **not** in the training set" in text) == (not truth["member"])
    right = truth["member"] == (probs["member"] >= 0.5)
    assert f"the test is **{'right' if right else 'wrong'}** here" in text


def test_a_renamed_copy_of_an_example_still_shows_its_ground_truth(client, files):
    copy = files / "my-photo.png"
    copy.write_bytes(Path(EXAMPLE).read_bytes())
    assert "**Ground truth:**" in _check_verdict(_audit(client, str(copy)))[1]


def test_a_non_example_image_shows_no_ground_truth(client, files):
    image = Image.open(EXAMPLE)
    image.load()
    shifted = files / "example-01.png"  # same name as an example, different pixels
    _save(Image.fromarray(255 - np.asarray(image)), shifted)
    assert "Ground truth" not in _check_verdict(_audit(client, str(shifted)))[1]


def _queue_call(server, session_hash: str, api_name: str, data: list, event_data=None):
    """One event through the queue as the browser sends it (the client cannot send event data)."""
    config = httpx.get(server.url + "config", timeout=10).json()
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    joined = httpx.post(server.url + "gradio_api/queue/join", timeout=10, json={
        "data": data, "event_data": event_data, "fn_index": fn, "trigger_id": None, "session_hash": session_hash})
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", server.url + "gradio_api/queue/data", params={"session_hash": session_hash},
                      timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    assert message["success"], message
                    return message["output"]["data"]
    raise AssertionError("the queue closed without a result")


def test_clicking_a_gallery_example_shows_its_ground_truth(server):
    [image] = _queue_call(server, "e2e-gallery", "pick_example", [], {"index": 0, "value": None})
    assert Path(image["path"]).name == next(iter(TRUTH))  # the gallery's first image
    assert "/gradio_api/file=" in image["url"]  # the page gets a cached copy, not the assets/ path
    _, text, *_ = _queue_call(server, "e2e-gallery", "audit", [PAIR, image, 0.5])
    assert "**Ground truth:**" in text and f"(a {TRUTH[next(iter(TRUTH))]['label']})" in text


def test_gallery_click_works_when_the_app_is_started_from_another_folder(tmp_path):
    with _serving(tmp_path, cwd=tmp_path) as other:
        try:
            [image] = _queue_call(other, "e2e-cwd", "pick_example", [], {"index": 0, "value": None})
        except AssertionError:
            raise AssertionError(f"gallery click failed; server log:\n{other.log(4000)}") from None
        assert Path(image["path"]).name == next(iter(TRUTH))


# --------------------------------------------------------------------------- bad uploads

def _text_as_png(d: Path) -> str:
    (d / "notes.png").write_text("Shopping list: milk, eggs.\nThis is not a picture.\n")
    return str(d / "notes.png")


def _empty_png(d: Path) -> str:
    (d / "empty.png").write_bytes(b"")
    return str(d / "empty.png")


def _truncated_png(d: Path) -> str:
    buffer = io.BytesIO()
    noise(64, 64).save(buffer, "PNG")
    data = buffer.getvalue()
    (d / "cut.png").write_bytes(data[: len(data) // 2])
    return str(d / "cut.png")


BAD = {
    "text-renamed-png": (_text_as_png, ("not an image", "text")),
    "zero-bytes": (_empty_png, ("empty",)),
    "truncated-png": (_truncated_png, ("truncated",)),
    "decompression-bomb": (lambda d: _bomb_png(d / "bomb.png"), ("pixel", "80,000,000")),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_upload_is_a_one_line_error_and_the_server_keeps_serving(client, files, case):
    make, words = BAD[case]
    path = make(files)
    message = _error(lambda: _audit(client, path))
    assert message.startswith(Path(path).name + ":"), message  # names the file
    for word in words:
        assert word in message, message
    _check_verdict(_audit(client, EXAMPLE))  # the next request is served normally


def test_bomb_is_small_on_disk_but_huge(files, monkeypatch):
    path = _bomb_png(files / "bomb-check.png")
    assert os.path.getsize(path) < 200_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # PIL's own bomb guard would trip at open
    with Image.open(path) as image:  # a genuine PNG of 400 MP
        assert image.size == (20000, 20000)
        assert image.size[0] * image.size[1] > 80_000_000


def test_bad_upload_in_compare_and_explore_is_a_one_line_error(client, files):
    path = _truncated_png(files)
    assert "truncated" in _error(lambda: client.predict(PAIR, handle_file(path), api_name="/compare"))
    assert "truncated" in _error(lambda: client.predict(PAIR, "amint", handle_file(path), api_name="/explore"))


def test_oversized_upload_is_refused_before_upload(client, files):
    big = files / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(26 * 2**20))  # over the app's 25 MB upload limit
    with pytest.raises(Exception, match="maximum file size"):
        _audit(client, str(big))
    _check_verdict(_audit(client, EXAMPLE))


def test_audit_of_a_pair_that_is_not_offered_is_refused(client, files):
    message = str(pytest.raises(Exception, _audit, client, EXAMPLE, str(files)).value)
    assert "not in the list of choices" in message


# --------------------------------------------------------------------------- odd but legal images

def _animated_gif(d: Path) -> str:
    frames = [noise(32, 32, "RGB", seed).convert("P") for seed in range(3)]
    path = d / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    return str(path)


def _cmyk_jpeg(d: Path) -> str:
    path = _save(noise(50, 40).convert("CMYK"), d / "cmyk.jpg", quality=90)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    return path


def _grey16_png(d: Path) -> str:
    values = np.random.default_rng(1).integers(0, 65536, (30, 30), dtype=np.uint16)
    path = _save(Image.fromarray(values), d / "grey16.png")
    with Image.open(path) as check:
        assert check.mode.startswith("I")  # "I;16" or "I" depending on the Pillow version
    return path


def _rgba_png(d: Path) -> str:
    image = noise(40, 30).convert("RGBA")
    alpha = np.zeros((30, 40), dtype=np.uint8)
    alpha[:, :20] = 255
    image.putalpha(Image.fromarray(alpha, "L"))
    return _save(image, d / "rgba.png")


ODD = {
    "animated-gif": _animated_gif,
    "cmyk-jpeg": _cmyk_jpeg,
    "grey16-png": _grey16_png,
    "rgba-png": _rgba_png,
    "1x1-png": lambda d: _save(Image.new("RGB", (1, 1), (200, 30, 30)), d / "one.png"),
}


@pytest.mark.parametrize("case", list(ODD))
def test_odd_but_legal_image_gets_a_verdict(client, files, case):
    _check_verdict(_audit(client, ODD[case](files)))


# --------------------------------------------------------------------------- compare and explore

def _plot(value) -> dict:
    assert value["type"] == "plotly"
    figure = json.loads(value["plot"])
    assert figure["data"]
    return figure


def test_compare_scores_every_pair_of_the_family(client):
    bars = _compare_bars(client, PAIR, EXAMPLE)
    # pretrained/ may gain pairs of the family (it is read at each call): at least the two committed ones
    assert len(bars["x"]) == len(bars["y"]) >= 2 and {"amint · middle", "loss · n/a"} <= set(bars["y"])
    assert all(0.0 <= p <= 1.0 for p in bars["x"])
    assert all(label.split(" · ")[0] in list_methods() for label in bars["y"])


def _compare_bars(client: Client, pair: str, image: str) -> dict:
    return _plot(client.predict(pair, handle_file(image), api_name="/compare"))["data"][0]


def test_explore_without_an_image_gives_the_four_plots(client):
    depth, roc, reliability, histogram, table, maps = client.predict(PAIR, "amint", None, api_name="/explore")
    for figure in (depth, roc, reliability, histogram):
        _plot(figure)
    assert "ECE" in _plot(reliability)["layout"]["title"]["text"]
    assert table == "" and maps == ""


def test_explore_with_an_image_gives_a_row_per_depth(client):
    depth, roc, reliability, histogram, table, maps = client.predict(PAIR, "amint", handle_file(EXAMPLE),
                                                                     api_name="/explore")
    _plot(depth)
    _plot(roc)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| tap depth")
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["entry", "middle", "output"]
    scored = []
    for row in rows[1:]:
        depth, probability, verdict = (cell.strip() for cell in row.strip("|").split("|"))
        if "no amint pair" in probability:
            assert verdict == ""
        else:
            assert probability.endswith("%") and 0 <= float(probability[:-1]) <= 100
            assert verdict in ("member", "non-member")
            scored.append(depth)
    assert "middle" in scored  # the committed middle-tap pair scores the image
    depths = [caption.split(" · ")[0] for caption in re.findall(r"<figcaption>([^<]*)</figcaption>", maps)]
    assert set(depths) == set(scored) and depths.count("middle") == 2  # one map per tap of each scored pair


# --------------------------------------------------------------------------- train

def _train(client: Client, *, start=SCRATCH, arch=MOBILENET, taps="middle", mint_weight=1, members=16, external=16,
           epochs=1, lr=0.001, batch_size=8, uploads=()):
    return client.submit(start, arch, taps, mint_weight, members, external, epochs, lr, batch_size,
                         [handle_file(u) for u in uploads], api_name="/train")


def test_train_a_tiny_session_then_audit_with_it(server):
    client = Client(server.url, verbose=False, download_files=False)  # its own session (session pairs)
    uploads = [str(EXAMPLES / "example-01.png"), str(EXAMPLES / "example-04.png")]
    before = len(_compare_bars(client, PAIR, uploads[0])["x"])
    job = _train(client, uploads=uploads)
    status, curves, result, uploaded, controls, download, pair_update = job.result(timeout=300)

    assert status.startswith("**Done.**")
    assert _plot(curves)
    assert "AUC" in result and "your 2 images called members" in result and "task accuracy" in result
    assert "control: 1000 held-out fashion-mnist images (T), called members" in result  # clothing: clothing controls
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", uploaded)
    assert len(captions) == 2 and all("·" in caption for caption in captions)
    # the download is a zip of the new pair
    archive = Path(download["path"])
    assert archive.suffix == ".zip" and zipfile.is_zipfile(archive)
    with zipfile.ZipFile(archive) as z:
        assert any(name.endswith("manifest.json") for name in z.namelist())
    # the pair list now offers (and selects) the new pair, saved under AMINT_SESSION_DIR
    new_pair = pair_update["value"]
    assert Path(new_pair).is_dir() and Path(new_pair).resolve().is_relative_to(_session_dir(server).resolve())
    assert (Path(new_pair) / "manifest.json").is_file()
    offered = [path for _, path in pair_update["choices"]]
    assert new_pair in offered and PAIR in offered
    assert len([p for p in offered if Path(p).resolve().is_relative_to(_session_dir(server).resolve())]) == 1
    # intermediate yields: one per epoch, then the final one (the rest are no-op updates that let a cancel through)
    progress = [output for output in job.outputs() if isinstance(output[0], str)]
    assert len(progress) == 2 and "epoch 1 done" in progress[0][0]

    # the new pair audits one of the uploaded images (this session's choices include it)
    _check_verdict(_audit(client, uploads[0], pair=new_pair))
    # the session list holds exactly the one new pair: /compare sees the family's committed pairs plus it
    assert len(_compare_bars(client, new_pair, uploads[0])["x"]) == before + 1
    # another visitor's session is not offered this pair
    other = Client(server.url, verbose=False, download_files=False)
    assert "not in the list of choices" in str(pytest.raises(Exception, _audit, other, uploads[0], new_pair).value)


def test_a_crafted_session_hash_cannot_write_outside_the_session_folder(server):
    escape = _session_dir(server).parent / "escaped-e2e"
    data = [SCRATCH, MOBILENET, "middle", 1, 16, 16, 1, 0.001, 8, [], []]
    try:
        _queue_call(server, "../escaped-e2e", "train", data)
    except AssertionError:
        pass  # refusing such a session is fine too
    assert not escape.exists(), f"the pair was written to {escape}"


@pytest.mark.parametrize("changes, words", [
    ({"batch_size": 10_000}, ("10000", "128")),
    ({"members": 10**6}, ("1000000", "2000")),
    ({"external": 10**6}, ("1000000", "2000")),
    ({"members": 2000, "epochs": 50}, ("12500 training steps", "allows 400")),
    ({"lr": 5.0}, ("5", "maximum value 1")),
], ids=["batch", "members", "external", "steps", "lr"])
def test_out_of_range_training_setting_names_the_limit(client, changes, words):
    message = _error(lambda: _train(client, **changes).result(timeout=60))
    for word in words:
        assert word in message, message


def test_training_upload_that_is_not_an_image_is_refused(client, files):
    path = _text_as_png(files)
    message = _error(lambda: _train(client, uploads=[path]).result(timeout=60))
    assert "notes.png" in message and "not an image" in message


def test_too_many_training_uploads_names_the_limit(client):
    message = _error(lambda: _train(client, uploads=[EXAMPLE] * 33).result(timeout=60))
    assert "at most 32 images" in message
