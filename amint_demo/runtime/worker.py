"""`train_pair` in a child process, so that a crash, a kill or a cancelled request never takes its caller down.

The parent writes a job folder (job.json, and extra.safetensors when a user's images join the members), starts
`python -m amint_demo.runtime.worker JOB_DIR`, and reads JSON lines from the child's stdout:
{"event": "stage"|"step"|"epoch"|"done"|"stopped"|"error", ...}. SIGTERM asks the child to stop after the
current step; the child also stops when its parent goes away. Whatever happens, `close()` leaves no process
and no temporary folder behind, and a pair appears at `out` only if it was saved completely (save_pair is atomic).
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from amint_demo.data import ExtraMembers
from amint_demo.errors import AmintError
from amint_demo.methods import TrainCallbacks, TrainConfig, TrainingStopped
from amint_demo.pairs import train_pair
from amint_demo.settings import Settings

WORKER_MODULE = "amint_demo.runtime.worker"
FINAL_EVENTS = ("done", "stopped", "error")
STEP_EVENT_INTERVAL_S = 0.25


def remove_partial_saves(out: Path) -> None:
    """Delete the temporary siblings save_pair leaves when its process dies mid-write (`.NAME.*.tmp`, `.NAME.old`)."""
    if out.parent.is_dir():
        for stray in list(out.parent.glob(f".{out.name}.*.tmp")) + [out.parent / f".{out.name}.old"]:
            shutil.rmtree(stray, ignore_errors=True)


class TrainingProcess:
    """One training run in a child process. Iterate `events()`; always `close()` (or use as a context manager)."""

    def __init__(self, config: TrainConfig, out: str | Path, extra: ExtraMembers | None = None,
                 threads: int = 1, max_seconds: float | None = None) -> None:
        self.out = Path(out).resolve()
        for attempt in range(3):  # a session sweep may remove the (empty) parent between the two calls
            self.out.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.job_dir = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.job.", dir=self.out.parent))
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        job = {"config": config.to_dict(), "out": str(self.out), "extra": None, "threads": threads,
               "max_seconds": max_seconds}
        if extra is not None:
            save_file({"images": extra.images.contiguous(), "labels": extra.labels.contiguous()},
                      str(self.job_dir / "extra.safetensors"))
            job["extra"] = "extra.safetensors"
        (self.job_dir / "job.json").write_text(json.dumps(job))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.process = subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(self.job_dir)],
                                        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def events(self, poll_s: float = 0.5) -> Iterator[dict]:
        """Events until the final one (done / stopped / error). A child that dies without a final event
        yields an error naming its exit code. Yields {"event": "idle"} every `poll_s` without news."""
        while True:
            try:
                line = self._lines.get(timeout=poll_s)
            except queue.Empty:
                yield {"event": "idle"}
                continue
            if line is None:
                code = self.process.wait()
                yield {"event": "error", "message": f"the training worker stopped unexpectedly (exit code {code}); "
                                                    f"nothing was saved"}
                return
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield event
            if event.get("event") in FINAL_EVENTS:
                return

    def stop(self) -> None:
        """Ask the child to stop after its current step (nothing is saved)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def close(self, grace_s: float = 10.0) -> None:
        """Stop the child (politely, then by force), then remove the job folder and any partial save."""
        if self.process.poll() is None:
            self.stop()
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.job_dir, ignore_errors=True)
        remove_partial_saves(self.out)

    def __enter__(self) -> TrainingProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _run_job(job_dir: Path, emit, settings: Settings) -> None:
    """The child's work: train, evaluate and save the job's pair, reporting through `emit(dict)`."""
    job = json.loads((job_dir / "job.json").read_text())
    torch.set_num_threads(int(job["threads"]))
    extra = None
    if job["extra"]:
        tensors = load_file(str(job_dir / job["extra"]))
        extra = ExtraMembers(tensors["images"], tensors["labels"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    last_step = [0.0]
    started, budget = time.monotonic(), job.get("max_seconds")

    def on_step(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_step[0] >= STEP_EVENT_INTERVAL_S or done == total:
            last_step[0] = now
            emit({"event": "step", "done": done, "total": total})

    callbacks = TrainCallbacks(on_step=on_step, on_epoch=lambda record: emit({"event": "epoch", "record": record}),
                               should_stop=lambda: stop.is_set() or os.getppid() != parent,
                               time_is_up=lambda: budget is not None and time.monotonic() > started + budget,
                               stage=lambda name: emit({"event": "stage", "name": name}))
    try:
        path = train_pair(TrainConfig.from_dict(job["config"]), job["out"], callbacks, extra=extra, settings=settings)
        emit({"event": "done", "path": str(path)})
    except TrainingStopped:
        emit({"event": "stopped"})
    except AmintError as err:
        emit({"event": "error", "message": str(err)})
    except Exception as err:  # noqa: BLE001 - any failure becomes one message for the page
        emit({"event": "error", "message": f"training failed: {err.__class__.__name__}: {err}"})


def main() -> None:
    """Child entry point: `python -m amint_demo.runtime.worker JOB_DIR` (events on stdout, logs on stderr)."""
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing else may write to the event stream

    def emit(event: dict) -> None:
        events.write(json.dumps(event) + "\n")

    _run_job(Path(sys.argv[1]), emit, Settings.from_env())


if __name__ == "__main__":
    main()
