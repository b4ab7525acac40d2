"""Detectors fitted on a frozen audited model: passive MINT, gradient MINT, loss baseline."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from amint_demo.data import ImageDataset, Splits
from amint_demo.methods.batches import ImageBatches, ShuffledStream
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.detectors import GradientDetector, LossDetector, default_gradient_layer, per_sample_filter_gradients
from amint_demo.methods.progress import TrainCallbacks, TrainingStopped
from amint_demo.models import AuditableModel
from amint_demo.models.heads import MAP_HEADS


def split_members_for_head(splits: Splits, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Members the detector is fitted on, and members it never sees (reported separately). Both sorted."""
    order = splits.members[torch.randperm(len(splits.members), generator=torch.Generator().manual_seed(seed))]
    k = max(1, min(len(order) - 1, round(fraction * len(order))))
    return order[:k].sort().values, order[k:].sort().values


def external_for_head(splits: Splits, n: int, seed: int) -> torch.Tensor:
    """A seeded draw of n external non-members (balanced against the head's members)."""
    order = splits.external[torch.randperm(len(splits.external), generator=torch.Generator().manual_seed(seed + 1))]
    return order[:n].sort().values


def _freeze(model: AuditableModel) -> None:
    model.eval()
    for p in model.backbone.parameters():
        p.requires_grad_(False)


def fit_passive_head(config: TrainConfig, dataset: ImageDataset, model: AuditableModel, head_members: torch.Tensor,
                     external: torch.Tensor, device: torch.device, callbacks: TrainCallbacks) -> list[dict]:
    """Attach a fresh map head to the frozen model and train it on head_members (1) vs external (0)."""
    _freeze(model)
    torch.manual_seed(config.seed)
    model.head = MAP_HEADS[config.head](model.tap_channels, config.head_width, config.head_hidden).to(device)
    model.head_kind = config.head
    generator = torch.Generator().manual_seed(config.seed)
    streams = ShuffledStream(head_members, generator), ShuffledStream(external, generator)
    batches = ImageBatches.train_split(dataset, device)
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
    return history


def _per_sample(model: AuditableModel, dataset: ImageDataset, index: torch.Tensor, device: torch.device,
                batch_size: int, feature_fn, callbacks: TrainCallbacks) -> torch.Tensor:
    batches = ImageBatches.train_split(dataset, device)
    parts = []
    for i, (x, y) in enumerate(batches.iterate(index, batch_size)):
        if callbacks.should_stop():
            raise TrainingStopped("training stopped by request")
        parts.append(feature_fn(x, y).detach().cpu())
        callbacks.on_step(i + 1, math.ceil(len(index) / batch_size))
    return torch.cat(parts)


def fit_loss_threshold(dataset: ImageDataset, model: AuditableModel, head_members: torch.Tensor, external: torch.Tensor,
                       device: torch.device, batch_size: int, callbacks: TrainCallbacks) -> LossDetector:
    """Logistic fit of membership on log-loss over head_members (1) vs external (0)."""
    _freeze(model)

    def log_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return LossDetector.features(model(x), y)

    features = torch.cat([_per_sample(model, dataset, idx, device, batch_size, log_loss, callbacks)
                          for idx in (head_members, external)]).numpy()[:, None]
    target = np.r_[np.ones(len(head_members)), np.zeros(len(external))]
    fit = LogisticRegression(class_weight="balanced").fit(features, target)
    detector = LossDetector()
    detector.coef.fill_(float(fit.coef_[0, 0]))
    detector.intercept.fill_(float(fit.intercept_[0]))
    return detector.to(device)


def fit_gradient_detector(config: TrainConfig, dataset: ImageDataset, model: AuditableModel, head_members: torch.Tensor,
                          external: torch.Tensor, device: torch.device, callbacks: TrainCallbacks) -> tuple[GradientDetector, list[dict]]:
    """Per-sample gradient features of one layer, then an MLP on them (full-batch features cached)."""
    _freeze(model)
    layer = config.gradient_layer or default_gradient_layer(model)

    def grads(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return per_sample_filter_gradients(model.backbone, layer, x, y)

    callbacks.stage("gradient features")
    features = torch.cat([_per_sample(model, dataset, idx, device, config.batch_size, grads, callbacks)
                          for idx in (head_members, external)])
    target = torch.cat([torch.ones(len(head_members)), torch.zeros(len(external))])
    torch.manual_seed(config.seed)
    detector = GradientDetector(layer, features.shape[1], config.head_hidden)
    detector.feature_mean.copy_(features.mean(0))
    detector.feature_std.copy_(features.std(0).clamp_min(1e-12))
    scaled = (features - detector.feature_mean) / detector.feature_std
    optimizer = torch.optim.AdamW(detector.head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    callbacks.stage("gradient head")
    history = []
    for epoch in range(config.head_epochs * 4):  # the MLP is cheap: more passes over cached features
        order = torch.randperm(len(scaled), generator=generator)
        loss_sum = correct = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            logits = detector.head(scaled[idx])
            loss = F.binary_cross_entropy_with_logits(logits, target[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += float(((logits > 0).float() == target[idx]).sum())
        record = {"epoch": epoch + 1, "mint_loss": loss_sum / len(order), "mint_accuracy": correct / len(order)}
        history.append(record)
        callbacks.on_epoch(record)
    detector.eval()
    return detector.to(device), history
