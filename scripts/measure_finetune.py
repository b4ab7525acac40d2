"""Measure the Train tab's key moment on real photos, with controls of the same kind.

A visitor's uploads are stood in for by 8 images of the photo bank (4 photos and a crop of each), labelled by the
start pair as the app labels uploads; the session is the app's own (`runtime.training.session_config` with its
defaults: the start pair's split and tap, fresh dead-leaves non-members every step). Reported: wall time, uploads
called members, controls (the bank's other photos, their faces and crops, never uploaded) called members, with
and without the out-of-distribution guard, and the start pair's own members-vs-T AUC and task accuracy before
and after.

Usage: python scripts/measure_finetune.py [PAIR] [--epochs 1] [--out runs/finetune] [--json FILE]
(PAIR defaults to the app's default start pair: the best aMINT pair of pretrained/ by stored AUC)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from amint_demo import load_pair
from amint_demo.data.ood import random_crops
from amint_demo.data.photos import photo_bank
from amint_demo.machine import machine_info
from amint_demo.pairs import extra_members_from_images, train_pair
from amint_demo.pairs.session import session_report
from amint_demo.runtime import PairRegistry
from amint_demo.runtime.training import default_lr, session_config
from amint_demo.settings import Settings

UPLOADED_PHOTOS = ("china", "flower", "luispedro", "coffee")


def uploads() -> list:
    """The 4 photos and one seeded crop of each: 8 images, as a visitor's uploads."""
    rng = np.random.default_rng(1)
    photos = [p.image() for p in photo_bank() if p.name in UPLOADED_PHOTOS]
    return photos + [random_crops(photo, 1, rng)[0] for photo in photos]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", nargs="?", help="start pair (default: the app's default, as the page picks it)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, help="learning rate (default: the app's for this start)")
    parser.add_argument("--out", default="runs/finetune")
    parser.add_argument("--json", type=Path, help="also write the report, with the machine, to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = Settings.from_env(gpu=False)
    zoo = Path(args.pair).resolve().parent if args.pair else Path(__file__).resolve().parents[1] / "pretrained"
    registry = PairRegistry(zoo, settings.resolved_session_dir())
    name = Path(args.pair).name if args.pair else registry.default_pair()
    start = registry.get_pair(name)
    defaults = settings.train_limits()
    config = session_config(registry, defaults, name, "", start.manifest.tap_label, 1.0, 0, 0, args.epochs,
                            args.lr or default_lr(name), 64, uploads=True)
    began = time.perf_counter()
    extra = extra_members_from_images(start, uploads())
    path = train_pair(config.replace(device="cpu"), args.out, extra=extra, overwrite=True, allow_download=False)
    seconds = time.perf_counter() - began
    report = session_report(load_pair(path, device="cpu"), start.manifest)
    result = {"pair": name, "uploads": report.counts.n_uploads, "epochs": args.epochs, "threads": args.threads,
              "steps": load_pair(path, device="cpu").manifest.history["joint"][-1]["step"], "lr": config.lr,
              "synthetic_negatives_per_step": config.synthetic_negatives, "tap": config.taps,
              "wall_seconds": round(seconds, 1),
              "uploads_flagged": report.counts.uploads_flagged, "controls": report.counts.n_controls,
              "controls_flagged": report.counts.controls_flagged,
              "controls_flagged_by_detector": report.counts.controls_flagged_by_detector,
              "control_kind": report.counts.control_kind,
              "members_auc_before": report.members_auc_before, "members_auc_after": report.members_auc_after,
              "task_accuracy_before": report.task_accuracy_before, "task_accuracy_after": report.task_accuracy_after,
              "uploaded_photos": list(UPLOADED_PHOTOS)}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result | {"machine": machine_info()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
