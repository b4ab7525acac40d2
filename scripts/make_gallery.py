"""Example images for the app: members (from D) and non-members (from T) of a pair, with ground truth.

Usage: python scripts/make_gallery.py PAIR [--per-side 12] [--out assets/examples]
Writes PNGs with neutral names in mixed order (the dataset's own pixels, unscaled) and `ground_truth.json` mapping file name ->
{"member": bool, "split": "D" | "T", "index": int, "label": str}. The pair's manifest must match the
dataset available here (its fingerprint and member hash are checked).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image

from amint_demo import load_pair
from amint_demo.data import load_dataset
from amint_demo.errors import InvalidPair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair")
    parser.add_argument("--per-side", type=int, default=12)
    parser.add_argument("--out", default="assets/examples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pair = load_pair(args.pair, device="cpu")
    dataset = load_dataset(pair.manifest.dataset.name, allow_download=False)
    if dataset.fingerprint() != pair.manifest.dataset.fingerprint:
        raise InvalidPair(f"dataset here ({dataset.source}) is not the one {args.pair} was trained on")
    _, splits, _ = pair.rebuild_splits(dataset)
    generator = torch.Generator().manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    picks = []
    for split, index, images, labels in (("D", splits.members, dataset.train_images, dataset.train_labels),
                                         ("T", splits.test, dataset.test_images, dataset.test_labels)):
        chosen = index[torch.randperm(len(index), generator=generator)[:args.per_side]]
        picks += [(split, i, images, labels) for i in chosen.tolist()]
    truth = {}
    for k in torch.randperm(len(picks), generator=generator).tolist():  # neutral names, mixed order
        split, i, images, labels = picks[k]
        name = f"example-{len(truth) + 1:02d}.png"
        Image.fromarray(images[i].permute(1, 2, 0).squeeze(-1).numpy()).save(out / name)
        truth[name] = {"member": split == "D", "split": split, "index": i,
                       "label": dataset.class_names[int(labels[i])]}
    source = {"pair": Path(args.pair).name, "dataset": dataset.name, "member_sha256": splits.member_sha256(),
              "seed": args.seed}
    (out / "ground_truth.json").write_text(json.dumps({"source": source, "images": truth}, indent=1))
    print(f"wrote {len(truth)} images to {out}")


if __name__ == "__main__":
    main()
