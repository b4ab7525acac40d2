"""Whole runs over pairs, shared by the CLI and the app: train → evaluate → save; re-evaluate."""
from __future__ import annotations

from pathlib import Path

import timm
import torch

from amint_demo.data import ExtraMembers, add_extra_members, load_dataset, make_splits
from amint_demo.errors import InvalidConfig, InvalidPair
from amint_demo.evaluation import EvaluationResult, evaluate
from amint_demo.methods import DistContext, TrainCallbacks, TrainConfig, device_for, train
from amint_demo.pairs.store import Pair, load_pair, save_pair
from amint_demo.settings import Settings


def train_pair(config: TrainConfig, out: str | Path, callbacks: TrainCallbacks | None = None,
               context: DistContext = DistContext(), float16: bool = False, overwrite: bool = False,
               eval_n_test: int | None = None, allow_download: bool = True,
               extra: ExtraMembers | None = None, settings: Settings | None = None) -> Path | None:
    """Train `config`, evaluate on T, save the pair at `out`. Returns its path (None on non-zero ranks).

    `extra`: a user's own images added to the members (and stored in the pair). `settings`: where datasets
    are looked for (default: read from the environment)."""
    callbacks = callbacks or TrainCallbacks()
    out = Path(out)
    if out.exists() and not overwrite:
        raise InvalidPair(f"{out} already exists (use --overwrite to replace it)")
    if any(parent.exists() and not parent.is_dir() for parent in out.resolve().parents):
        raise InvalidConfig(f"cannot write a pair at {out}: a file stands where a folder is needed")
    base = load_dataset(config.dataset, allow_download=allow_download, settings=settings)
    dataset, splits = base, make_splits(base, config.n_members, config.n_external, config.n_test, config.split_seed)
    focus = None
    if extra is not None:
        dataset, splits, focus = add_extra_members(base, splits, extra)
    init = load_pair(config.init_from, device="cpu").model if config.init_from else None
    device = device_for(context, config.device)
    trained = train(config, dataset, splits, device, callbacks, init, context, focus)
    if not context.is_main:
        return None
    callbacks.stage("evaluation")
    result = evaluate(trained.model, trained.detector, dataset, splits, trained.head_members, device, eval_n_test,
                      seed=config.seed, extra=focus)
    runtime = {"device": str(device), "world_size": context.world_size, "torch": torch.__version__,
               "timm": timm.__version__, "dataset_source": dataset.source}
    return save_pair(out, trained, config, base, splits, result, float16=float16, overwrite=overwrite,
                     runtime=runtime, extra=extra)


def evaluate_pair(pair: Pair, n_test: int | None = None, seed: int = 0, allow_download: bool = True,
                  settings: Settings | None = None) -> EvaluationResult:
    """Re-run the evaluation protocol for a saved pair on its own, rebuilt and hash-checked splits."""
    entry = pair.manifest.dataset
    dataset = load_dataset(entry.name, allow_download=allow_download, settings=settings)
    if dataset.fingerprint() != entry.fingerprint:
        raise InvalidPair(f"{pair.path}: dataset {entry.name!r} here ({dataset.source}) is not the data the pair "
                          f"was trained on ({entry.source})")
    dataset, splits, extra = pair.rebuild_splits(dataset)
    return evaluate(pair.model, pair.detector, dataset, splits, pair.head_members(splits), pair.device, n_test, seed,
                    extra=extra)
