"""Passive MINT (IEEE Access 2024): a MINT head trained on the activations of a frozen plain model."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from amint_demo.methods.base import Detector, TrainingRun
from amint_demo.methods.batches import ImageBatches, ShuffledStream
from amint_demo.methods.frozen_base import FrozenModelMethod
from amint_demo.methods.map_head import MapHeadDetector
from amint_demo.methods.progress import TrainingStopped
from amint_demo.methods.registry import register_method
from amint_demo.models import AuditableModel
from amint_demo.models.heads import MAP_HEADS


def fit_passive_head(run: TrainingRun, model: AuditableModel, head_members: torch.Tensor) -> tuple[list[dict], dict]:
    """Attach a fresh map head to the frozen model and train it on head_members (1) vs fresh batches of the whole
    E pool (0). Returns the per-epoch history and how often E images were seen."""
    config, device, callbacks = run.config, run.device, run.callbacks
    torch.manual_seed(config.seed)
    model.head = MAP_HEADS[config.head](model.tap_channels, config.head_width, config.head_hidden).to(device)
    model.head_kind = config.head
    generator = torch.Generator().manual_seed(config.seed)
    streams = ShuffledStream(head_members, generator), ShuffledStream(run.splits.external, generator)
    batches = ImageBatches.train_split(run.dataset, device)
    optimizer = torch.optim.AdamW(model.head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = math.ceil(len(head_members) / config.batch_size)
    total = steps * config.head_epochs if config.max_steps is None else min(config.max_steps, steps * config.head_epochs)
    history, step = [], 0
    for epoch in range(config.head_epochs):
        model.head.train()
        loss_sum = correct = seen = 0.0
        for _ in range(steps):
            if step >= total:
                break
            if callbacks.should_stop():
                raise TrainingStopped("training stopped by request")
            x = torch.cat([batches.get(s.next_batch(config.batch_size))[0] for s in streams])
            target = torch.cat([torch.ones(config.batch_size), torch.zeros(config.batch_size)]).to(device)
            with torch.no_grad():
                maps = model.forward_maps(x)[1]
            logits = model.head(maps)
            loss = F.binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += float(loss.detach()) * len(x)
            correct += float(((logits > 0).float() == target).sum())
            seen += len(x)
            callbacks.on_step(step, total)
        if seen:
            record = {"epoch": epoch + 1, "mint_loss": loss_sum / seen, "mint_accuracy": correct / seen}
            history.append(record)
            callbacks.on_epoch(record)
    model.head.eval()
    return history, streams[1].use()


@register_method
class PassiveMint(FrozenModelMethod):
    name = "passive"
    title = "Passive MINT"
    help = "passive MINT: CNN or MLP head on the activations of a frozen plain model"

    def fit_detector(self, run, model, head_members) -> tuple[Detector, list[dict], dict]:
        run.callbacks.stage("passive MINT head")
        history, external_use = fit_passive_head(run, model, head_members)
        return MapHeadDetector(), history, external_use

    def build_detector(self, section: dict) -> Detector:
        return MapHeadDetector()
