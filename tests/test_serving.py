"""Serving guarantees, unit by unit: fair training line, hardened session folder, bounded uploads, refused links,
a public API with only what a program calls."""
from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from pathlib import Path

import gradio as gr
import pytest

from amint_demo.errors import InvalidConfig
from amint_demo.runtime import sessions
from amint_demo.runtime.fairness import TrainingLine
from amint_demo.runtime.uploads import UploadLimit, cap_folder
from amint_demo.ui.components import LINK_REFUSED, UploadedFiles, UploadedImage
from tests.conftest import REPO, make_runtime


# --------------------------------------------------------------------------- the training line

def test_one_place_per_visitor_a_few_per_address_and_a_bounded_line():
    line = TrainingLine(max_waiting=3, per_address=2)
    first = line.enter("a", "10.0.0.1")
    with pytest.raises(InvalidConfig, match="already have a training"):
        line.enter("a", "10.0.0.9")  # the same visitor from anywhere
    line.enter("b", "10.0.0.1")
    with pytest.raises(InvalidConfig, match="from your network"):
        line.enter("c", "10.0.0.1")
    line.enter("d", "10.0.0.2")
    line.enter("e", "10.0.0.3")
    with pytest.raises(InvalidConfig, match="already waiting"):
        line.enter("f", "10.0.0.4")
    assert first.position == 0
    first.leave()
    line.enter("a", "10.0.0.1")  # a visitor whose training ended may queue again


def test_the_line_is_first_come_first_served():
    line = TrainingLine(max_waiting=8, per_address=8)
    tickets = [line.enter(str(i), "x") for i in range(3)]
    order = []

    def run(ticket):
        assert ticket.wait(10)
        order.append(ticket.session)
        time.sleep(0.05)
        ticket.leave()

    threads = [threading.Thread(target=run, args=(t,)) for t in reversed(tickets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["0", "1", "2"]
    assert not tickets[1].wait(0) if tickets[1] in line._line else True


# --------------------------------------------------------------------------- the session folder

def _pair(root: Path, session: str, name: str, age_s: float) -> Path:
    folder = root / session / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    stamp = time.time() - age_s
    os.utime(folder / "manifest.json", (stamp, stamp))
    return folder


def test_the_session_root_is_private_and_must_be_ours(tmp_path):
    root = sessions.secure_root(tmp_path / "sessions")
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    assert stat.S_IMODE(sessions.secure_root(loose).stat().st_mode) == 0o700
    (tmp_path / "link").symlink_to(loose)
    with pytest.raises(PermissionError, match="not a real folder"):
        sessions.secure_root(tmp_path / "link")
    if os.getuid() == 0:  # only root can give a folder away
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        os.chown(foreign, 65534, 65534)
        with pytest.raises(PermissionError, match="another user"):
            sessions.secure_root(foreign)


def test_cleaning_never_follows_a_planted_link(tmp_path):
    root = sessions.secure_root(tmp_path / "sessions")
    outside = tmp_path / "outside"
    precious = _pair(outside, "victim", "data", age_s=10 * 3600)  # looks like an expired pair
    (root / "planted").symlink_to(outside / "victim")  # a "session" that is a link out of the root
    (root / "real").mkdir()
    (root / "real" / "pair-link").symlink_to(precious)
    removed = sessions.prune(root, sessions.SessionPolicy(ttl_s=60))
    assert removed == [] and precious.is_dir() and (precious / "manifest.json").is_file()
    assert not (root / "planted").exists() and not (root / "planted").is_symlink()  # the links went, not their targets


def test_one_visitor_cannot_push_out_everyone_elses_pairs(tmp_path):
    root = tmp_path / "sessions"
    others = [_pair(root, f"visitor{i}", "pair", age_s=100 + i) for i in range(3)]
    greedy = [_pair(root, "greedy", f"pair{i:02d}", age_s=50 - i) for i in range(12)]
    policy = sessions.SessionPolicy(ttl_s=3600, max_pairs=40, max_pairs_per_session=5)
    sessions.prune(root, policy, reserve=1, session="greedy")
    assert all(p.is_dir() for p in others)
    assert sorted(p.name for p in (root / "greedy").iterdir()) == [p.name for p in greedy[-4:]]  # its newest 4 + 1 to come


# --------------------------------------------------------------------------- uploads

def _asgi_post(app, path: str, body: bytes, declared: int | None) -> tuple[int, bytes]:
    sent, received = [], {"status": 200}

    async def app_inner(scope, receive, send):
        total = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                received["status"] = 499
                break
            total += message.get("body", b"")
            if not message.get("more_body"):
                break
        received["bytes"] = len(total)
        await send({"type": "http.response.start", "status": received["status"], "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(UploadLimit(app_inner if app is None else app, max_bytes=2**20)(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_upload_request_over_the_limit_is_refused_by_size_and_by_what_it_sends():
    status, body = _asgi_post(None, "/gradio_api/upload", b"x" * (2 * 2**20), declared=2 * 2**20)
    assert status == 413 and b"at most 1 MiB" in body
    status, _ = _asgi_post(None, "/gradio_api/upload", b"x" * (2 * 2**20), declared=100)  # a lying length
    assert status == 499  # the route saw a client that left, and stored nothing
    assert _asgi_post(None, "/gradio_api/upload", b"x" * 1000, declared=1000)[0] == 200
    assert _asgi_post(None, "/gradio_api/queue/join", b"x" * (2 * 2**20), declared=2 * 2**20)[0] == 200  # not an upload


def test_the_upload_folder_is_kept_under_its_cap_oldest_first(tmp_path):
    now = time.time()
    files = []
    for i in range(6):
        path = tmp_path / f"d{i}" / "file.png"
        path.parent.mkdir()
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - 1000 + i, now - 1000 + i))
        files.append(path)
    fresh = tmp_path / "fresh.png"
    fresh.write_bytes(b"x" * 5000)  # being written: never swept
    (tmp_path / "link.png").symlink_to(files[0])
    removed = cap_folder(tmp_path, max_bytes=7000, now=now)
    assert removed == files[:4] and fresh.exists() and all(p.exists() for p in files[4:])


@pytest.mark.parametrize("component", [UploadedImage, UploadedFiles])
@pytest.mark.parametrize("link", ["https://example.com/huge.png", "http://169.254.169.254/latest", "HTTP://X/y"])
def test_links_in_place_of_uploads_are_refused(component, link):
    with pytest.raises(gr.Error, match=LINK_REFUSED):
        asyncio.run(component().async_move_resource_to_block_cache(link))


# --------------------------------------------------------------------------- the page and its API

def test_the_public_api_is_what_a_program_calls_with_named_outputs(tmp_path):
    from amint_demo.ui.app import build_demo, launch_kwargs

    runtime = make_runtime(REPO / "pretrained", tmp_path)
    demo = build_demo(runtime)
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"audit", "compare", "explore", "train"}
    for fn in demo.fns.values():
        if fn.api_visibility == "public":
            assert all(getattr(block, "label", None) for block in fn.outputs
                       if not isinstance(block, gr.State)), fn.api_name
    assert launch_kwargs(runtime)["run_history"] is False


def test_the_depth_tab_shows_the_chosen_pairs_family_on_arrival(tmp_path):
    from amint_demo.ui.app import build_demo

    runtime = make_runtime(REPO / "pretrained", tmp_path)
    demo = build_demo(runtime)
    family = runtime.pairs.family_of_pair(runtime.pairs.default_pair())
    plots = [b for b in demo.blocks.values() if isinstance(b, gr.Plot) and b.label == "Metrics against tap depth"]
    assert plots and plots[0].value is not None and family in str(plots[0].value)
