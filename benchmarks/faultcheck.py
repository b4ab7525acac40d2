"""Fault drills against a locally launched app (scripts/fault_test.py and tests/test_faults.py run them).

Each drill breaks something on purpose (kills the training worker, fails the pair write, cancels requests,
drops a connection mid-upload, queues a second training) and then checks what a visitor relies on: the
app still answers audits, no half-written pair is listed, and no temporary file is left behind.
"""
from __future__ import annotations

import os
import resource
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from amint_demo.runtime.worker import WORKER_MODULE
from benchmarks.local_server import LocalApp

WORKER_MARKER = WORKER_MODULE
LONG_TRAINING = ("from scratch", "MobileNetV3 (fast)", "middle", 1.0, 512, 512, 20, 1e-3, 32)
SHORT_TRAINING = ("from scratch", "MobileNetV3 (fast)", "middle", 1.0, 128, 128, 1, 1e-3, 32)
# sweep fast enough for a drill; few trainings per address (the flood drill)
DRILL_ENV = {"AMINT_HOUSEKEEPING_S": "1", "AMINT_UPLOAD_STALE_S": "1", "AMINT_TRAIN_MAX_PER_ADDRESS": "2"}


@dataclass
class DrillResult:
    name: str
    ok: bool = True
    notes: list[str] = field(default_factory=list)

    def check(self, condition: bool, what: str) -> None:
        self.notes.append(f"{'ok' if condition else 'FAILED'}: {what}")
        self.ok = self.ok and bool(condition)


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def _client(app: LocalApp):
    from gradio_client import Client

    return Client(app.url, verbose=False, download_files=False)


def _audit_works(app: LocalApp, pair: str, image: str) -> bool:
    from gradio_client import handle_file

    try:
        label, *_ = _client(app).predict(pair, handle_file(image), 0.5, api_name="/audit")
        return label.get("label") in ("member", "non-member")
    except Exception:  # noqa: BLE001 - a failure here is what the drill reports
        return False


def session_leftovers(app: LocalApp) -> dict[str, list[str]]:
    """Pair folders (complete or not) and hidden temporary entries under the app's session folder."""
    root = app.session_dir
    entries = [p for p in root.glob("*/*")] if root.is_dir() else []
    return {"pairs": sorted(p.name for p in entries if not p.name.startswith(".")),
            "hidden": sorted(p.name for p in entries if p.name.startswith("."))}


def _check_clean(result: DrillResult, app: LocalApp, pair: str, image: str) -> None:
    result.check(_audit_works(app, pair, image), "the app still answers /audit")
    result.check(wait_for(lambda: not app.children(WORKER_MARKER), 15), "no training worker process is left")
    left = session_leftovers(app)
    result.check(left == {"pairs": [], "hidden": []}, f"no pair and no temporary entry in the session folder {left}")


def _start_long_training(app: LocalApp, result: DrillResult):
    """Submit a long /train request and check that its worker process started; returns the job."""
    job = _client(app).submit(*LONG_TRAINING, [], api_name="/train")
    result.check(wait_for(lambda: app.children(WORKER_MARKER), 60), "the training worker started")
    return job


def kill_training_worker(app: LocalApp, pair: str, image: str) -> DrillResult:
    result = DrillResult("training worker killed mid-epoch")
    job = _start_long_training(app, result)

    def epoch_reported() -> bool:  # progress lines are strings; the rest are no-op updates
        return any(isinstance(output[0], str) and "epoch" in output[0] for output in job.outputs())

    result.check(wait_for(epoch_reported, 120), "training reported its first epoch")
    workers = app.children(WORKER_MARKER)
    result.check(len(workers) == 1, f"one worker process found ({workers})")
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    status = job.result(timeout=60)[0]
    result.check("stopped unexpectedly" in status and "nothing was saved" in status, f"the visitor is told: {status!r}")
    _check_clean(result, app, pair, image)
    return result


def cancel_training(app: LocalApp, pair: str, image: str) -> DrillResult:
    result = DrillResult("training request cancelled")
    job = _start_long_training(app, result)
    time.sleep(1.0)
    job.cancel()
    result.check(wait_for(lambda: not app.children(WORKER_MARKER), 30), "the worker ended after the cancel")
    _check_clean(result, app, pair, image)
    return result


def cancel_audit(app: LocalApp, pair: str, image: str) -> DrillResult:
    from gradio_client import handle_file

    result = DrillResult("audit requests cancelled")
    client = _client(app)
    jobs = [client.submit(pair, handle_file(image), 0.5, api_name="/audit") for _ in range(5)]
    for job in jobs:
        job.cancel()
    _check_clean(result, app, pair, image)
    return result


def disconnect_mid_upload(app: LocalApp, pair: str, image: str) -> DrillResult:
    """A client announces a 5 MB upload, sends 200 kB, and vanishes."""
    result = DrillResult("client disconnects mid-upload")
    before = sorted(p for p in app.gradio_dir.rglob("*") if p.is_file()) if app.gradio_dir.is_dir() else []
    url = urlparse(app.url)
    boundary = "amintboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall((f"POST /gradio_api/upload HTTP/1.1\r\nHost: {url.netloc}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {5 * 2**20}\r\n\r\n").encode() + head + b"\x89PNG" + b"\0" * 200_000)
        time.sleep(0.5)

    def leftovers() -> list[str]:
        after = sorted(p for p in app.gradio_dir.rglob("*") if p.is_file()) if app.gradio_dir.is_dir() else []
        return [p.name for p in after if p not in before and p.exists()]

    # The drill's app sweeps every second and calls an upload abandoned after one (see DRILL_ENV).
    wait_for(lambda: not leftovers(), 15)
    new = leftovers()
    result.check(not new, f"the partial upload is removed from Gradio's cache (left: {new})")
    _check_clean(result, app, pair, image)
    return result


def _waiting_message(job) -> str | None:
    return next((out[0] for out in job.outputs() if isinstance(out[0], str) and out[0].startswith("Waiting")), None)


def queue_position(app: LocalApp, pair: str, image: str) -> DrillResult:
    """While one training runs, a second visitor's training waits and is told its place in the line."""
    result = DrillResult("second training waits in line and sees its place")
    first = _start_long_training(app, result)
    second = _client(app).submit(*SHORT_TRAINING, [], api_name="/train")
    result.check(wait_for(lambda: _waiting_message(second), 30),
                 f"the waiting visitor is told its place: {_waiting_message(second)!r}")
    result.check(len(app.children(WORKER_MARKER)) == 1, "only one training runs at a time")
    result.check(_audit_works(app, pair, image), "audits are not blocked by the training queue")
    for job in (second, first):
        job.cancel()
    _check_clean(result, app, pair, image)
    return result


def limit_file_size(max_bytes: int) -> Callable[[], None]:
    """A preexec_fn: the app and its workers cannot write files over `max_bytes` (as when a disk fills up)."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


def failed_pair_write(app: LocalApp, pair: str, image: str) -> DrillResult:
    """Run against an app started with `limit_file_size(1 MiB)`: the pair's weights cannot be written."""
    result = DrillResult("pair write fails (file size limit, as on a full disk)")
    status = _client(app).predict(*SHORT_TRAINING, [], api_name="/train")[0]
    result.check(status.startswith("Error: cannot write the pair") and "File too large" in status,
                 f"the visitor is told: {status!r}")
    _check_clean(result, app, pair, image)
    return result


def training_flood(app: LocalApp, pair: str, image: str) -> DrillResult:
    """One address floods /train from several sessions while a second client audits: the flood gets its few
    places and one-line refusals at once, the audits all answer, and Gradio's queue never fills."""
    from gradio_client import handle_file

    result = DrillResult("a training flood from one address does not starve another client's audits")
    flooders = [_client(app) for _ in range(3)]
    jobs = [client.submit(*LONG_TRAINING, [], api_name="/train") for client in flooders for _ in range(10)]
    refused = wait_for(lambda: sum(job.done() for job in jobs) >= len(jobs) - FLOOD_PLACES, 60)
    errors = [str(job.exception())[:80] for job in jobs if job.done() and job.exception() is not None]
    result.check(refused and len(errors) >= len(jobs) - FLOOD_PLACES,
                 f"{len(errors)} of {len(jobs)} flood requests refused at once ({errors[:1]})")
    victim, answered, slowest = _client(app), 0, 0.0
    for _ in range(10):
        began = time.perf_counter()
        label, *_ = victim.predict(pair, handle_file(image), 0.5, api_name="/audit")
        answered += label.get("label") in ("member", "non-member")
        slowest = max(slowest, time.perf_counter() - began)
    result.check(answered == 10, f"the other client's audits answered: {answered}/10 (slowest {slowest:.2f} s)")
    for job in jobs:
        job.cancel()
    _check_clean(result, app, pair, image)
    return result


FLOOD_PLACES = 2  # AMINT_TRAIN_MAX_PER_ADDRESS in the drills' app: one running, one waiting
DRILLS: dict[str, Callable[[LocalApp, str, str], DrillResult]] = {
    "kill-worker": kill_training_worker, "cancel-training": cancel_training, "cancel-audit": cancel_audit,
    "disconnect-upload": disconnect_mid_upload, "queue-position": queue_position, "training-flood": training_flood,
}


def run_drills(workdir: Path, pair: str, image: str, names: list[str] | None = None) -> list[DrillResult]:
    """The chosen drills (default: all) on one app, then the failed write on a second, file-size-limited app."""
    names = list(DRILLS) + ["failed-write"] if names is None else names
    results = []
    shared = [n for n in names if n in DRILLS]
    if shared:
        with LocalApp(workdir / "app", env=DRILL_ENV) as app:
            results += [DRILLS[name](app, pair, image) for name in shared]
    if "failed-write" in names:
        with LocalApp(workdir / "limited", preexec_fn=limit_file_size(2**20)) as app:
            results.append(failed_pair_write(app, pair, image))
    return results
