"""timm backbones for small grey or colour inputs (28–64 px), with a small-input stem."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import timm
import torch
from torch import nn

from amint_demo.errors import InvalidConfig

FAMILIES = ("resnet", "mobilenet", "densenet", "vit")
DEFAULT_ARCHS = {"resnet": "resnet18", "mobilenet": "mobilenetv3_small_100",
                 "densenet": "densenet121", "vit": "vit_tiny_patch16_224"}
VIT_PATCH_SIZE = 4


def family_of(arch: str) -> str:
    """'resnet18' -> 'resnet', 'mobilenetv3_small_100' -> 'mobilenet', ..."""
    for family in FAMILIES:
        if arch.startswith(family):
            return family
    raise InvalidConfig(f"unsupported architecture {arch!r}: use a timm ResNet, MobileNet, DenseNet or ViT "
                        f"(e.g. {', '.join(DEFAULT_ARCHS.values())})")


@dataclass(frozen=True)
class BackboneSpec:
    """Everything needed to rebuild a backbone; written into each pair's manifest."""

    arch: str
    in_chans: int
    num_classes: int
    img_size: int
    small_input_stem: bool = True
    timm_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        family_of(self.arch)
        if self.in_chans not in (1, 3):
            raise InvalidConfig(f"in_chans must be 1 or 3, got {self.in_chans}")
        if not 8 <= self.img_size <= 512:
            raise InvalidConfig(f"img_size must be within 8..512, got {self.img_size}")
        if self.num_classes < 2:
            raise InvalidConfig(f"num_classes must be at least 2, got {self.num_classes}")

    @property
    def family(self) -> str:
        return family_of(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackboneSpec:
        return cls(**data)

    def build(self) -> nn.Module:
        """A freshly initialised timm model (never downloads weights)."""
        kwargs = dict(self.timm_kwargs)
        if self.family == "vit":
            kwargs.setdefault("img_size", self.img_size)
            kwargs.setdefault("patch_size", VIT_PATCH_SIZE)
        try:
            model = timm.create_model(self.arch, pretrained=False, num_classes=self.num_classes,
                                      in_chans=self.in_chans, **kwargs)
        except (RuntimeError, TypeError, ValueError) as err:
            raise InvalidConfig(f"timm cannot create {self.arch!r} with {kwargs}: {err}") from err
        if self.small_input_stem:
            _shrink_stem(model, self.family)
        return model


def _stride1_conv(conv: nn.Conv2d) -> nn.Conv2d:
    return nn.Conv2d(conv.in_channels, conv.out_channels, kernel_size=3, stride=1, padding=1,
                     bias=conv.bias is not None)


def _shrink_stem(model: nn.Module, family: str) -> None:
    """Replace an ImageNet stem (7×7/2 conv + max-pool, or a 3×3/2 conv) by a 3×3/1 conv, no pool.

    Keeps a 28 px input at 28 px through the stem instead of 7 px (timm's ImageNet stem leaves the taps little to read).
    """
    if family == "resnet" and isinstance(model.conv1, nn.Conv2d):
        model.conv1 = _stride1_conv(model.conv1)
        model.maxpool = nn.Identity()
    elif family == "densenet":
        model.features.conv0 = _stride1_conv(model.features.conv0)
        model.features.pool0 = nn.Identity()
    elif family == "mobilenet":
        model.conv_stem = _stride1_conv(model.conv_stem)
    elif family == "vit":
        return  # patch size 4 already keeps a 7×7 token grid at 28 px
    else:
        raise InvalidConfig(f"no small-input stem for {model.__class__.__name__}; pass small_input_stem=False")


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' -> CUDA when present, else CPU; otherwise the named device."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidConfig("device 'cuda' requested but no CUDA GPU is available")
    return torch.device(requested)
