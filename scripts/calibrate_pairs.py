"""Calibrate the threshold of pairs trained before threshold calibration existed (TrainConfig.calibration_size),
re-evaluate them and save them in place. The result is what `train --config manifest.json` now produces from
scratch: training is unchanged and calibration runs after it. Usage: python scripts/calibrate_pairs.py PAIR...
"""
from __future__ import annotations

import argparse
import json

import torch

from amint_demo.data import load_dataset
from amint_demo.evaluation import evaluate
from amint_demo.methods import TrainedModel
from amint_demo.methods.calibration import calibrate_on_unused
from amint_demo.pairs import load_pair, save_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pairs", nargs="+")
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    for path in args.pairs:
        pair = load_pair(path, device="cpu")
        manifest = pair.manifest
        if "calibration" in manifest.history:
            print(f"{path}: already calibrated, skipped")
            continue
        config = manifest.train_config.replace(calibration_size=args.size)
        base = load_dataset(manifest.dataset.name, allow_download=False)
        dataset, splits, extra = pair.rebuild_splits(base)
        record = calibrate_on_unused(pair.model, pair.detector, dataset, splits, config.calibration_size, config.seed,
                                     pair.device, config.batch_size * 4)
        if record is None:
            print(f"{path}: no unused train image to calibrate on, skipped")
            continue
        history = dict(manifest.history) | {"calibration": [record]}
        head_members = pair.head_members(splits)
        result = evaluate(pair.model, pair.detector, dataset, splits, head_members, pair.device, None,
                          seed=config.seed, extra=extra)
        trained = TrainedModel(pair.model, pair.detector, history, head_members)
        save_pair(path, trained, config, base, splits, result, float16=manifest.weights.dtype == "float16",
                  overwrite=True, runtime=manifest.runtime, extra=pair.extra_members)
        print(json.dumps({"pair": path, **result.headline()}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
