"""Cost of auditing and of aMINT training, as ratios measured in one run on one machine."""
from __future__ import annotations

import logging
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from amint_demo.data import ImageDataset, make_splits, normalize
from amint_demo.methods import TrainCallbacks, TrainConfig, TrainingRun
from amint_demo.methods.joint import train_joint
from amint_demo.models import AuditableModel
from amint_demo.pairs import Pair

TRAIN_ROUNDS = 3
TARGETS = {"audit_latency_ratio": ("<=", 1.5), "audit_throughput_ratio": (">=", 0.7), "train_step_ratio": ("<=", 2.3)}


def _median_seconds(fn: Callable[[], object], min_run_time: float) -> float:
    """Median seconds per call, by torch.utils.benchmark (blocks of calls for at least `min_run_time` seconds;
    it warms up, synchronises CUDA and keeps this process's thread count)."""
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA runtime" on a CPU machine
    from torch.utils.benchmark import Timer

    timer = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def _synthetic_dataset(pair: Pair, n: int) -> ImageDataset:
    data = pair.manifest.dataset
    generator = torch.Generator().manual_seed(0)
    shape = (n, data.channels, data.image_size, data.image_size)
    images = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, data.num_classes, (n,), generator=generator)
    return ImageDataset("bench", "random pixels", images, labels, images[:8], labels[:8], data.class_names,
                        data.mean, data.std)


def _step_time(pair: Pair, with_head: bool, batch_size: int, steps: int, device: torch.device) -> float:
    """Median seconds per optimiser step of the project's own trainer, over `steps` steps after 2 warm-ups."""
    dataset = _synthetic_dataset(pair, batch_size * 4)
    splits = make_splits(dataset, batch_size * 2, batch_size * 2, 8, seed=0)
    head = pair.manifest.head
    config = TrainConfig(arch=pair.model.spec.arch, batch_size=batch_size, epochs=1000, max_steps=2 + steps, amp=True)
    model = AuditableModel(pair.model.spec, pair.model.taps, (head.kind if head else "cnn") if with_head else None)
    stamps: list[float] = []

    def stamp(done: int, total: int) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    train_joint(TrainingRun(config, dataset, splits, device, TrainCallbacks(on_step=stamp)), model)
    return statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:]))


def run_bench(pair: Pair, seconds: float = 1.0, batch_size: int = 256, train_batch: int = 64,
              train_steps: int = 10) -> dict:
    """Audit vs plain forward latency (one image) and throughput (`batch_size`), each timed for `seconds`, and
    an aMINT vs plain training step over `train_steps` steps; ratios measured in this one run."""
    device = pair.device
    data = pair.manifest.dataset
    rng = np.random.default_rng(0)
    mode = "L" if data.channels == 1 else "RGB"
    shape = (data.image_size, data.image_size) + (() if mode == "L" else (3,))
    images = [Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode) for _ in range(batch_size)]
    pixels = pair.preprocess(images)
    x = normalize(pixels.to(device), data.mean, data.std)
    backbone = pair.model.backbone

    def plain(batch: torch.Tensor) -> None:
        with torch.no_grad():
            backbone(batch)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    single_audit = _median_seconds(lambda: pair.audit(images[:1]), seconds)
    single_plain = _median_seconds(lambda: plain(x[:1]), seconds)
    batch_audit = _median_seconds(lambda: pair.audit(images), seconds)
    batch_plain = _median_seconds(lambda: plain(x), seconds)
    rounds = [(_step_time(pair, True, train_batch, train_steps, device),
               _step_time(pair, False, train_batch, train_steps, device)) for _ in range(TRAIN_ROUNDS)]
    step_amint = statistics.median(a for a, _ in rounds)  # rounds in turn: drift in the load hits both alike
    step_plain = statistics.median(p for _, p in rounds)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {
        "pair": str(pair.path), "method": pair.manifest.method, "arch": pair.model.spec.arch,
        "device": str(device), "threads": torch.get_num_threads(),
        "audit_latency_ms_p50": single_audit * 1e3, "plain_forward_latency_ms_p50": single_plain * 1e3,
        "audit_latency_ratio": single_audit / single_plain,
        "audit_images_per_s": batch_size / batch_audit, "plain_images_per_s": batch_size / batch_plain,
        "audit_throughput_ratio": batch_plain / batch_audit, "batch_size": batch_size,
        "amint_step_ms": step_amint * 1e3, "plain_step_ms": step_plain * 1e3,
        "train_step_ratio": step_amint / step_plain, "train_batch_size": train_batch,
        "peak_memory_mib": peak, "peak_memory_kind": "CUDA allocated" if device.type == "cuda" else "process max RSS",
    }


def format_report(report: dict) -> str:
    lines = [f"bench of {report['pair']} ({report['method']}, {report['arch']}) on {report['device']}, "
             f"{report['threads']} threads"]
    lines.append(f"single-image audit p50 {report['audit_latency_ms_p50']:.2f} ms vs plain forward "
                 f"{report['plain_forward_latency_ms_p50']:.2f} ms")
    lines.append(f"batch of {report['batch_size']}: audit {report['audit_images_per_s']:.0f} img/s vs plain "
                 f"{report['plain_images_per_s']:.0f} img/s")
    lines.append(f"training step at batch {report['train_batch_size']} per side: aMINT {report['amint_step_ms']:.1f} ms "
                 f"vs plain {report['plain_step_ms']:.1f} ms")
    for key, (op, target) in TARGETS.items():
        value = report[key]
        ok = value <= target if op == "<=" else value >= target
        lines.append(f"{key:24s} {value:6.2f}  (target {op} {target}: {'met' if ok else 'MISSED'})")
    lines.append(f"peak memory {report['peak_memory_mib']:.0f} MiB ({report['peak_memory_kind']})")
    return "\n".join(lines)
