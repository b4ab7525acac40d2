"""Whole runs over pairs, shared by the CLI and the app: train → evaluate → save; re-evaluate."""
from __future__ import annotations

import time
from pathlib import Path

import timm
import torch

from amint_demo.data import ExtraMembers, ImageDataset, Splits, add_extra_members, load_dataset, make_splits
from amint_demo.data.ood import ood_check_for, session_controls
from amint_demo.errors import InvalidConfig, InvalidPair
from amint_demo.evaluation import EvaluationResult, evaluate
from amint_demo.methods import DistContext, MembershipTest, TrainCallbacks, TrainConfig, device_for, train
from amint_demo.methods.checkpoint import EpochCheckpoint, checkpoint_path
from amint_demo.pairs.store import Pair, load_pair, save_pair
from amint_demo.settings import Settings

CONTROL_IMAGES = 1000
PHOTO_CONTROLS = "photos, faces and crops of photos that were not uploaded"


def train_pair(config: TrainConfig, out: str | Path, callbacks: TrainCallbacks | None = None,
               context: DistContext = DistContext(), float16: bool = False, overwrite: bool = False,
               eval_n_test: int | None = None, allow_download: bool = True,
               extra: ExtraMembers | None = None, settings: Settings | None = None,
               resumable: bool = False) -> Path | None:
    """Train `config`, evaluate on T, save the pair at `out`. Returns its path (None on non-zero ranks).

    `extra`: a user's own images added to the members (and stored in the pair). `settings`: where datasets
    are looked for (default: read from the environment). `resumable`: save the training after every epoch beside
    `out` (`checkpoint_path`) and resume from there; the file goes once the pair is saved."""
    callbacks = callbacks or TrainCallbacks()
    out = Path(out)
    if out.exists() and not overwrite:
        raise InvalidPair(f"{out} already exists (use --overwrite to replace it)")
    if any(parent.exists() and not parent.is_dir() for parent in out.resolve().parents):
        raise InvalidConfig(f"cannot write a pair at {out}: a file stands where a folder is needed")
    base = load_dataset(config.dataset, allow_download=allow_download, settings=settings)
    dataset, splits = base, make_splits(base, config.n_members, config.n_external, config.n_test, config.split_seed,
                                        config.reserved_calibration)
    focus = None
    if extra is not None:
        dataset, splits, focus = add_extra_members(base, splits, extra)
    init = load_pair(config.init_from, device="cpu").model if config.init_from else None
    device = device_for(context, config.device)
    began = time.perf_counter()
    checkpoint = EpochCheckpoint(checkpoint_path(out), config) if resumable else None
    trained = train(config, dataset, splits, device, callbacks, init, context, focus, checkpoint)
    train_seconds = time.perf_counter() - began
    if not context.is_main:
        return None
    callbacks.stage("evaluation")
    result = run_protocol(trained.test, trained.head_members, dataset, splits, device, eval_n_test, config.seed,
                          focus, extra)
    runtime = {"device": str(device), "world_size": context.world_size, "torch": torch.__version__,
               "timm": timm.__version__, "dataset_source": dataset.source, "train_seconds": round(train_seconds, 1),
               "threads": torch.get_num_threads()}
    saved = save_pair(out, trained, config, base, splits, result, float16=float16, overwrite=overwrite,
                      runtime=runtime, extra=extra)
    if checkpoint is not None:
        checkpoint.remove()
    return saved


def run_protocol(test: MembershipTest, head_members: torch.Tensor | None, dataset: ImageDataset, splits: Splits,
                 device: torch.device, n_test: int | None = None, seed: int = 0, focus: torch.Tensor | None = None,
                 extra: ExtraMembers | None = None) -> EvaluationResult:
    """`evaluate` with the check sets of the dataset's kind: the out-of-distribution check set, and (with a user's
    own members `extra`, at train indices `focus`) controls of the same kind that no model saw (`uploads_controls`)."""
    controls, kind = (None, "") if extra is None else uploads_controls(test, extra, dataset, splits)
    return evaluate(test, dataset, splits, head_members, device, n_test, seed, extra=focus, controls=controls,
                    control_kind=kind, ood=ood_check_for(dataset.channels, dataset.image_size))


def uploads_controls(test: MembershipTest, extra: ExtraMembers, dataset: ImageDataset,
                     splits: Splits) -> tuple[torch.Tensor, str]:
    """Images of the uploads' kind that no model saw, and what they are: if most uploads are unlike the dataset
    (the guard's density, its exceptions aside), the photo bank less the photos uploaded; else held-out test images
    of the dataset (at most CONTROL_IMAGES)."""
    if test.guard is not None:
        outside = test.guard.score(extra.images.to(test.guard.threshold.device)) > test.guard.threshold
        if float(outside.float().mean()) > 0.5:
            return session_controls(extra.images, dataset.channels, dataset.image_size), PHOTO_CONTROLS
    return dataset.test_images[splits.test[:CONTROL_IMAGES]], f"held-out {dataset.name} images (T)"


def evaluate_pair(pair: Pair, n_test: int | None = None, seed: int = 0, allow_download: bool = True,
                  settings: Settings | None = None) -> EvaluationResult:
    """Re-run the evaluation protocol for a saved pair on its own, rebuilt and hash-checked splits."""
    entry = pair.manifest.dataset
    dataset = load_dataset(entry.name, allow_download=allow_download, settings=settings)
    if dataset.fingerprint() != entry.fingerprint:
        raise InvalidPair(f"{pair.path}: dataset {entry.name!r} here ({dataset.source}) is not the data the pair "
                          f"was trained on ({entry.source})")
    dataset, splits, focus = pair.rebuild_splits(dataset)
    return run_protocol(pair.test, pair.head_members(splits), dataset, splits, pair.device, n_test, seed, focus,
                        pair.extra_members)
