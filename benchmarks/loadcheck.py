"""Load and memory checks of the served app, driven by concurrent gradio_client users (scripts/load_test.py,
scripts/memory_test.py and the test suite call these with different sizes)."""
from __future__ import annotations

import base64
import io
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from amint_demo.pairs import Pair


def latency_stats(seconds: list[float]) -> dict:
    """{"n", "p50_ms", "p95_ms", "mean_ms", "min_ms", "max_ms"} of request durations in seconds."""
    ms = sorted(1000 * s for s in seconds)
    p95 = statistics.quantiles(ms, n=100, method="inclusive")[94] if len(ms) > 1 else ms[0]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "mean_ms": round(statistics.fmean(ms), 1), "min_ms": round(ms[0], 1), "max_ms": round(ms[-1], 1)}


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def library_throughput(pair: Pair, images: list[str], repeats: int = 4, batch_size: int = 64) -> float:
    """Images per second of the library's own batch audit (`Pair.audit`, this process's torch threads):
    the ceiling the app's audit throughput is compared with."""
    batch = (images * (batch_size // max(1, len(images)) + 1))[:batch_size]
    pair.audit(batch, batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        pair.audit(batch, batch_size=batch_size)
    return repeats * len(batch) / (time.perf_counter() - started)


@dataclass
class LoadResult:
    users: int
    audits_per_user: int
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    training: str = ""
    training_s: float = 0.0

    @property
    def requests(self) -> int:
        return self.users * self.audits_per_user

    def summary(self) -> dict:
        answered = len(self.latencies)
        return {"users": self.users, "audits_per_user": self.audits_per_user, "requests": self.requests,
                "answered": answered, "failed": len(self.failures), "lost": self.requests - answered - len(self.failures),
                "wall_s": round(self.wall_s, 2), "requests_per_s": round(answered / self.wall_s, 2),
                "latency": latency_stats(self.latencies) if answered else None,
                "failure_examples": self.failures[:5], "training_outcome": self.training,
                "training_s": round(self.training_s, 1)}


def answer_problem(label: dict, activations: str, membership: str) -> str | None:
    """What is wrong with one /audit answer, or None: a verdict, and every inline map image complete (a truncated
    PNG fails to decode)."""
    if label.get("label") not in ("member", "non-member"):
        return f"unexpected answer {label!r}"
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', activations + membership)
    if not images:
        return "no map image in the answer"
    for data in images:
        try:
            Image.open(io.BytesIO(base64.b64decode(data))).load()
        except Exception as err:  # noqa: BLE001 - a broken image is the failure being counted
            return f"a map image does not decode: {err.__class__.__name__}"
    return None


def _audit_user(url: str, pair: str, images: list[str], n: int, seed: int, result: LoadResult,
                lock: threading.Lock, start: threading.Barrier) -> None:
    from gradio_client import Client, handle_file

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as err:  # noqa: BLE001 - counted as this user's failures; the others still start
        with lock:
            result.failures += [f"could not connect: {err.__class__.__name__}: {err}"[:200]] * n
        start.wait()
        return
    start.wait()
    for _ in range(n):
        began = time.perf_counter()
        try:
            label, _, activations, membership = client.predict(pair, handle_file(rng.choice(images)), 0.5,
                                                               api_name="/audit")
            problem = answer_problem(label, activations, membership)
            with lock:
                (result.latencies.append(time.perf_counter() - began) if problem is None
                 else result.failures.append(problem))
        except Exception as err:  # noqa: BLE001 - every failure is counted and reported
            with lock:
                result.failures.append(f"{err.__class__.__name__}: {err}"[:200])


def _training_session(url: str, settings: tuple, result: LoadResult) -> None:
    from gradio_client import Client

    began = time.perf_counter()
    try:
        outputs = Client(url, verbose=False, download_files=False).predict(*settings, [], api_name="/train")
        result.training = str(outputs[0])
    except Exception as err:  # noqa: BLE001
        result.training = f"{err.__class__.__name__}: {err}"
    result.training_s = time.perf_counter() - began


SMALL_TRAINING = ("from scratch", "MobileNetV3 (fast)", "middle", 1.0, 256, 256, 2, 1e-3, 32)


def run_load(url: str, pair: str, images: list[str], users: int = 20, audits_per_user: int = 10,
             training: tuple | None = SMALL_TRAINING) -> LoadResult:
    """`users` concurrent clients, each `audits_per_user` sequential /audit calls on random `images`, while one
    training session (the /train settings given, no uploads) runs; every request is accounted for."""
    result = LoadResult(users, audits_per_user)
    lock = threading.Lock()
    start = threading.Barrier(users + 1)
    workers = [threading.Thread(target=_audit_user, args=(url, pair, images, audits_per_user, seed, result, lock, start))
               for seed in range(users)]
    trainer = threading.Thread(target=_training_session, args=(url, training, result)) if training else None
    for worker in workers:
        worker.start()
    start.wait()  # all clients connected
    if trainer:
        trainer.start()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    result.wall_s = time.perf_counter() - began
    if trainer:
        trainer.join()
    return result


def run_memory(url: str, pid: int, pair: str, images: list[str], audits: int = 1000, warmup: int = 50) -> dict:
    """Server RSS before and after `audits` consecutive /audit calls (after `warmup` calls fill the caches)."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)

    def call(i: int) -> None:
        client.predict(pair, handle_file(images[i % len(images)]), 0.5, api_name="/audit")

    for i in range(warmup):
        call(i)
    before = rss_mb(pid)
    began = time.perf_counter()
    samples = []
    for i in range(audits):
        call(i)
        if (i + 1) % max(1, audits // 10) == 0:
            samples.append(round(rss_mb(pid), 1))
    after = rss_mb(pid)
    return {"audits": audits, "warmup": warmup, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
            "growth_mb": round(after - before, 1), "rss_samples_mb": samples,
            "seconds": round(time.perf_counter() - began, 1)}
