"""Measure the Train tab's key moment: fine-tune a pair with a visitor's images added to its members.

Stands in for uploads with N images of the official train split that are in neither D nor E of the pair
(same distribution, never seen by the model), runs the same workflow as the app (the pair's own split,
`focus_fraction` of each member batch from the uploads), and prints: wall time, uploads-vs-T AUC, members-vs-T
metrics, and task accuracy before and after.

Usage: python scripts/measure_finetune.py [PAIR] [--uploads 32] [--epochs 1] [--out runs/finetune] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from amint_demo import load_pair
from amint_demo.data import ExtraMembers, load_dataset
from amint_demo.machine import machine_info
from amint_demo.pairs import train_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", nargs="?", default="pretrained/fmnist-mobilenetv3-amint-middle")
    parser.add_argument("--uploads", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="runs/finetune")
    parser.add_argument("--json", type=Path, help="also write the report, with the machine, to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = load_pair(args.pair, device="cpu")
    dataset = load_dataset(start.manifest.dataset.name, allow_download=False)
    _, splits, _ = start.rebuild_splits(dataset)
    unused = torch.ones(len(dataset.train_labels), dtype=torch.bool)
    unused[splits.members] = False
    unused[splits.external] = False
    chosen = unused.nonzero().squeeze(1)[torch.randperm(int(unused.sum()), generator=torch.Generator().manual_seed(0))[:args.uploads]]
    extra = ExtraMembers(dataset.train_images[chosen].clone(), dataset.train_labels[chosen].clone())
    config = start.manifest.train_config.replace(
        epochs=args.epochs, init_from=args.pair, max_steps=None, device="cpu")
    began = time.perf_counter()
    path = train_pair(config, args.out, extra=extra, overwrite=True, allow_download=False)
    seconds = time.perf_counter() - began
    metrics = load_pair(path, device="cpu").manifest.metrics
    report = {"pair": args.pair, "uploads": args.uploads, "epochs": args.epochs, "threads": args.threads,
              "wall_seconds": round(seconds, 1),
              "uploads_vs_test_auc": metrics.extra_members_vs_test.auc,
              "uploads_vs_test_tpr_at_1pct_fpr": metrics.extra_members_vs_test.tpr_at_1pct_fpr,
              "uploads_flagged_at_0.5": None,
              "members_vs_test_auc": metrics.members_vs_test.auc,
              "members_vs_test_balanced_accuracy": metrics.members_vs_test.balanced_accuracy,
              "task_accuracy_before": start.manifest.metrics.task_accuracy,
              "task_accuracy_after": metrics.task_accuracy, "n_test": metrics.n_test}
    verdicts = load_pair(path, device="cpu").audit_pixels(extra.images)
    report["uploads_flagged_at_0.5"] = sum(v.is_member for v in verdicts) / len(verdicts)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report | {"machine": machine_info()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
