"""Membership detectors: turn a model's forward pass (and labels) into one membership logit per image."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from amint_demo.models import AuditableModel, AuditOutput, VectorMintHead

DETECTOR_KINDS = ("head", "gradient", "loss")


def labels_or_predictions(output: AuditOutput, labels: torch.Tensor | None) -> torch.Tensor:
    """True labels when known (evaluation), else the predicted class (uploads have no label)."""
    return output.class_logits.argmax(1) if labels is None else labels


class Detector(nn.Module):
    kind = "base"

    def membership_logits(self, model: AuditableModel, x: torch.Tensor, output: AuditOutput,
                          labels: torch.Tensor | None) -> torch.Tensor:
        """x (B, C, H, W) normalised, output = model(x) -> (B,) logits (> 0: member)."""
        raise NotImplementedError

    def config(self) -> dict:
        return {}


class HeadDetector(Detector):
    """aMINT and passive MINT: the model's own map head reads the tapped activations."""

    kind = "head"

    def membership_logits(self, model, x, output, labels):
        return output.mint_logits.float()


class LossDetector(Detector):
    """Loss-threshold baseline: logit = a·log(loss) + b, fitted on E vs a part of D, never on T."""

    kind = "loss"

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("coef", torch.zeros(()))
        self.register_buffer("intercept", torch.zeros(()))

    @staticmethod
    def features(output: AuditOutput, labels: torch.Tensor) -> torch.Tensor:
        """(B,) log of the per-sample cross-entropy."""
        loss = F.cross_entropy(output.class_logits.float(), labels, reduction="none")
        return torch.log(loss.clamp_min(1e-12))

    def membership_logits(self, model, x, output, labels):
        return self.coef * self.features(output, labels_or_predictions(output, labels)) + self.intercept


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


class GradientDetector(Detector):
    """Gradient MINT: MLP on standardised per-filter gradients of one layer."""

    kind = "gradient"

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

    def config(self) -> dict:
        return {"layer": self.layer, "num_features": int(self.feature_mean.numel()),
                "hidden": self.head.classifier[1].out_features}


def build_detector(kind: str, config: dict) -> Detector:
    """Rebuild an (untrained) detector from a manifest's detector entry."""
    if kind == "head":
        return HeadDetector()
    if kind == "loss":
        return LossDetector()
    if kind == "gradient":
        return GradientDetector(config["layer"], int(config["num_features"]), int(config["hidden"]))
    raise ValueError(f"unknown detector kind {kind!r}; known: {', '.join(DETECTOR_KINDS)}")
