"""Give pairs trained before schema 3 a calibrated probability and an out-of-distribution guard, re-evaluate them
on their own rebuilt splits and save them in place (weights of the model and detector unchanged).

The fit is the one `train` now runs after training (`methods.train.calibrate_and_guard`): Platt scaling on
members vs held-out train images in neither D nor E, the guard on the members' features; T is never used.

    .venv/bin/python scripts/upgrade_pairs.py pretrained/fmnist-densenet-*     # full Fashion-MNIST needed
"""
from __future__ import annotations

import argparse
import datetime as dt
import json

import torch

from amint_demo.data import load_dataset
from amint_demo.methods import TrainedModel
from amint_demo.methods.train import calibrate_and_guard
from amint_demo.pairs import load_pair, save_pair
from amint_demo.pairs.workflow import run_protocol


def upgrade(path: str) -> dict:
    pair = load_pair(path, device="cpu")
    manifest = pair.manifest
    base = load_dataset(manifest.dataset.name, allow_download=False)
    dataset, splits, focus = pair.rebuild_splits(base)
    history = {k: v for k, v in manifest.history.items() if k not in ("calibration", "guard")}
    if "calibration" in manifest.history:  # the logit shift of schema 1-2 stays in the weights: keep its record
        history["threshold_shift"] = manifest.history["calibration"]
    trained = TrainedModel(pair.model, pair.detector, history, pair.head_members(splits))
    calibrate_and_guard(trained, dataset, splits, manifest.train_config, pair.device, focus)
    trained.history["upgraded"] = [{"date": dt.date.today().isoformat(), "to_schema": 3}]
    result = run_protocol(trained.test, trained.head_members, dataset, splits, pair.device,
                          seed=manifest.train_config.seed, focus=focus, extra=pair.extra_members)
    save_pair(path, trained, manifest.train_config, base, splits, result, manifest.weights.dtype == "float16",
              overwrite=True, runtime=manifest.runtime, extra=pair.extra_members)
    return {"pair": path, **{k: round(v, 4) for k, v in result.headline().items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+")
    args = parser.parse_args()
    for path in args.pairs:
        print(json.dumps(upgrade(path)), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
