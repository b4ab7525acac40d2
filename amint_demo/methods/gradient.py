"""Gradient MINT (gMINT, CVPR Workshops 2025): an MLP on per-sample gradients of one layer of a frozen model."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.func import functional_call, grad, vmap

from amint_demo.methods.base import Detector, TrainingRun, labels_or_predictions
from amint_demo.methods.batches import ShuffledStream
from amint_demo.methods.frozen_base import FrozenModelMethod, external_draw, per_sample
from amint_demo.methods.registry import register_method
from amint_demo.models import AuditableModel, VectorMintHead

HEAD_PASSES_PER_EPOCH = 4  # the MLP is cheap: more passes over the cached features
MAX_EXTERNAL_REUSE = 4  # E features are computed for enough images that none is seen more often over all passes


def default_gradient_layer(model: AuditableModel) -> str:
    """The last convolution (or linear layer, for ViT) inside the deepest tap."""
    tap = model.taps[-1]
    candidates = [f"{tap}.{name}" if name else tap for name, module in model.backbone.get_submodule(tap).named_modules()
                  if isinstance(module, (nn.Conv2d, nn.Linear))]
    if not candidates:
        raise ValueError(f"tap {tap} has no convolution or linear layer")
    return candidates[-1]


def per_sample_filter_gradients(backbone: nn.Module, layer: str, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample d CE / d weight of `layer`, averaged per output filter: (B, C, H, W) -> (B, out_channels).

    `backbone` must be in eval mode (batch-norm statistics fixed), so samples stay independent.
    """
    name = f"{layer}.weight"
    weight = {name: backbone.get_parameter(name).detach()}

    def sample_loss(params: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(backbone, params, (xi.unsqueeze(0),))
        return F.cross_entropy(logits, yi.unsqueeze(0))

    grads = vmap(grad(sample_loss), in_dims=(None, 0, 0))(weight, x, labels)[name]
    return grads.flatten(2).mean(2) if grads.ndim > 2 else grads


class GradientSection(BaseModel):
    """The manifest's detector section of a gradient MINT pair."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    layer: str
    num_features: int = Field(ge=1)
    hidden: int = Field(ge=1)


class GradientDetector(Detector):
    """MLP on standardised per-filter gradients of one layer."""

    explains_maps = False  # its logit is itself a gradient: a Grad-CAM of it says nothing more

    def __init__(self, layer: str, num_features: int, hidden: int = 128) -> None:
        super().__init__()
        self.layer = layer
        self.head = VectorMintHead(num_features, hidden)
        self.register_buffer("feature_mean", torch.zeros(num_features))
        self.register_buffer("feature_std", torch.ones(num_features))

    def features(self, model: AuditableModel, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> standardised (B, F)."""
        raw = per_sample_filter_gradients(model.backbone, self.layer, x, labels)
        return (raw - self.feature_mean) / self.feature_std

    def membership_logits(self, model, x, output, labels):
        return self.head(self.features(model, x, labels_or_predictions(output, labels)))


    def section(self) -> dict:
        return {"layer": self.layer, "num_features": int(self.feature_mean.numel()),
                "hidden": self.head.classifier[1].out_features}


@register_method
class GradientMint(FrozenModelMethod):
    name = "gradient"
    title = "Gradient MINT (gMINT)"
    help = "gradient MINT: MLP on per-sample gradients of one layer of a frozen plain model"
    section_model = GradientSection

    def fit_detector(self, run: TrainingRun, model: AuditableModel,
                     head_members: torch.Tensor) -> tuple[Detector, list[dict], dict]:
        """Per-sample gradient features of one layer, then an MLP on them (features cached). Each pass pairs every
        head member with as many E images drawn from a cached pool large enough that no E image is seen more than
        MAX_EXTERNAL_REUSE times."""
        config, callbacks = run.config, run.callbacks
        layer = config.gradient_layer or default_gradient_layer(model)
        passes = config.head_epochs * HEAD_PASSES_PER_EPOCH
        external = external_draw(run.splits, -(-len(head_members) * passes // MAX_EXTERNAL_REUSE), config.seed)

        def grads(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return per_sample_filter_gradients(model.backbone, layer, x, y)

        callbacks.stage("gradient features")
        members, pool = (per_sample(run.dataset, index, run.device, config.batch_size, grads, callbacks)
                         for index in (head_members, external))
        torch.manual_seed(config.seed)
        detector = GradientDetector(layer, members.shape[1], config.head_hidden)
        everything = torch.cat([members, pool])
        detector.feature_mean.copy_(everything.mean(0))
        detector.feature_std.copy_(everything.std(0).clamp_min(1e-12))
        members, pool = ((f - detector.feature_mean) / detector.feature_std for f in (members, pool))
        optimizer = torch.optim.AdamW(detector.head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        generator = torch.Generator().manual_seed(config.seed)
        fresh = ShuffledStream(torch.arange(len(pool)), generator)
        target = torch.cat([torch.ones(len(members)), torch.zeros(len(members))])
        callbacks.stage("gradient head")
        history = []
        for epoch in range(passes):
            scaled = torch.cat([members, pool[fresh.next_batch(len(members))]])
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
        return detector, history, fresh.use()

    def build_detector(self, section: dict) -> Detector:
        checked = GradientSection.model_validate(section)
        return GradientDetector(checked.layer, checked.num_features, checked.hidden)
