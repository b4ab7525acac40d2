"""Training of the audited model: aMINT (task + MINT terms, jointly) or plain (task term only). Shared by the
aMINT method and by the plain model the frozen-model methods audit."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from amint_demo.data import ImageDataset, normalize
from amint_demo.data.synthetic import dead_leaves
from amint_demo.methods.augment import augment
from amint_demo.methods.precision import Precision, training_dtype
from amint_demo.errors import InvalidConfig
from amint_demo.methods.batches import ImageBatches, ShuffledStream
from amint_demo.methods.checkpoint import Progress, TrainingState
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.distributed import mean_across
from amint_demo.methods.progress import TrainingStopped
from amint_demo.models import AuditableModel, BackboneSpec

if TYPE_CHECKING:
    from amint_demo.methods.base import TrainingRun


def build_model(config: TrainConfig, dataset: ImageDataset, with_head: bool) -> AuditableModel:
    """A freshly initialised audited model for `config` on `dataset` (with a map head or without)."""
    spec = BackboneSpec(config.arch, dataset.channels, dataset.num_classes, dataset.image_size,
                        config.small_input_stem, dict(config.timm_kwargs))
    return AuditableModel(spec, config.taps, config.head if with_head else None, config.head_width, config.head_hidden)


def start_model(config: TrainConfig, dataset: ImageDataset, init: AuditableModel | None,
                with_head: bool) -> AuditableModel:
    """A fresh model, or one initialised from an existing pair's model (fine-tuning, or a model to freeze)."""
    model = build_model(config, dataset, with_head)
    if init is None:
        return model
    if init.spec != model.spec:
        raise InvalidConfig(f"cannot start from a {init.spec.arch} pair for {dataset.name}/{config.arch}: "
                            "architecture, input size, channels and classes must match")
    model.backbone.load_state_dict(init.backbone.state_dict())
    if with_head and init.head is not None and init.taps == model.taps and init.head_kind == model.head_kind:
        model.head.load_state_dict(init.head.state_dict())
    return model


def train_joint(run: TrainingRun, model: AuditableModel) -> tuple[list[dict], dict | None]:
    """Train `model` in place on members D; with a head, also teach it D (1) from E (0).

    One step: a D batch and an E batch of `batch_size` each, in one forward pass;
    L = CE(D)/CE₀ + λ·[BCE(D,1) + BCE(E,0)]/B₀ (₀: first-batch values when normalising).
    `run.focus` (member indices, optional): `focus_fraction` of every member batch is drawn from them.
    `config.synthetic_negatives` fresh dead-leaves images join every E batch (non-members of a photo's kind).
    With `run.checkpoint`, the state is saved after every epoch and a run resumes from the last one saved.
    Returns one record per epoch (losses and training accuracies) and how often E images were drawn
    (`ShuffledStream.use`; None without the MINT term).
    """
    config, dataset, splits, device = run.config, run.dataset, run.splits, run.device
    callbacks, context, focus = run.callbacks, run.context, run.focus
    joint = model.head is not None and config.mint_weight > 0
    generator = torch.Generator().manual_seed(config.seed)
    members = ShuffledStream(splits.members, generator)
    focused = ShuffledStream(focus, generator) if focus is not None and len(focus) else None
    n_focus = max(1, round(config.focus_fraction * config.batch_size)) if focused and config.focus_fraction else 0
    external = ShuffledStream(splits.external, generator)
    synthetic = torch.Generator().manual_seed(config.seed + 3)
    batches = ImageBatches.train_split(dataset, device)
    model.to(device).train()
    if config.freeze_norm_stats:  # photos and dead leaves in every batch must not shift the dataset's statistics
        for module in model.backbone.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    trained = DistributedDataParallel(model) if context.enabled else model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(splits.members) / config.batch_size)
    total = steps_per_epoch * config.epochs if config.max_steps is None else min(config.max_steps, steps_per_epoch * config.epochs)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=0.1)
    precision = Precision(device, training_dtype(device, config.precision) if config.amp else None)
    share = slice(context.rank, None, context.world_size)
    streams = {"members": members, "external": external} | ({"focused": focused} if focused else {})
    state = TrainingState(model, optimizer, scheduler, precision.scaler, streams,
                          {"streams": generator, "synthetic": synthetic})
    progress = run.checkpoint.resume(state) if run.checkpoint else None
    progress = progress or Progress(epoch=0, step=0, history=[], scales=None)
    history, step = progress.history, progress.step
    ce0, bce0 = (None, None) if progress.scales is None else (torch.tensor(v, device=device) for v in progress.scales)
    out_of_time = False
    for epoch in range(progress.epoch, config.epochs):
        sums = torch.zeros(4, device=device)  # task loss, task correct, mint loss, mint correct
        seen = 0
        for _ in range(steps_per_epoch):
            if step >= total:
                break
            if callbacks.should_stop():
                raise TrainingStopped("training stopped by request")
            if callbacks.time_is_up():
                out_of_time = True
                break
            d_index = members.next_batch(config.batch_size - n_focus)
            if n_focus:
                d_index = torch.cat([focused.next_batch(n_focus), d_index])
            d_x, d_y = batches.get(d_index[share])
            x = d_x
            if joint:
                e_x, _ = batches.get(external.next_batch(config.batch_size)[share])
                if config.synthetic_negatives:
                    leaves = dead_leaves(config.synthetic_negatives, dataset.image_size, dataset.channels, synthetic)
                    e_x = torch.cat([e_x, normalize(leaves[share].to(device), dataset.mean, dataset.std)])
                x = torch.cat([d_x, e_x])
            x = augment(x, config.augment, synthetic)
            with precision.autocast():
                out = trained(x)
                n = len(d_x)
                ce = F.cross_entropy(out.class_logits[:n].float(), d_y, label_smoothing=config.label_smoothing)
                loss = ce
                if joint:
                    target = torch.cat([torch.ones(n, device=device), torch.zeros(len(x) - n, device=device)])
                    bce = F.binary_cross_entropy_with_logits(out.mint_logits.float(), target) * 2
                    if ce0 is None:
                        ce0, bce0 = (mean_across(context, v.detach()).clamp_min(1e-3) if config.normalize_first_batch
                                     else torch.ones((), device=device) for v in (ce, bce))
                    loss = ce / ce0 + config.mint_weight * bce / bce0
            optimizer.zero_grad(set_to_none=True)
            precision.step(loss, optimizer)
            scheduler.step()
            step += 1
            with torch.no_grad():
                sums[0] += ce.detach() * n
                sums[1] += (out.class_logits[:n].argmax(1) == d_y).sum()
                if joint:
                    sums[2] += bce.detach() / 2 * n
                    sums[3] += ((out.mint_logits > 0).float() == target).float().sum() * n / len(x)
            seen += n
            callbacks.on_step(step, total)
        if seen == 0:
            if out_of_time and history:
                history[-1]["ended_at_time_budget"] = True
            break
        sums = (sums / seen).tolist()
        record = {"epoch": epoch + 1, "step": step, "task_loss": sums[0], "task_accuracy": sums[1]}
        if joint:
            record |= {"mint_loss": sums[2], "mint_accuracy": sums[3]}
        if out_of_time:
            record["ended_at_time_budget"] = True
        history.append(record)
        callbacks.on_epoch(record)
        if out_of_time:
            break
        if run.checkpoint and context.is_main:
            scales = None if ce0 is None else (ce0.item(), bce0.item())
            run.checkpoint.save(state, Progress(epoch + 1, step, history, scales))
    model.eval()
    return history, external.use() if joint else None
