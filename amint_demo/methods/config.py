"""The one frozen configuration object of a training run (written into the pair's manifest).

Each field carries its command-line help (and, where it differs from the field name, its flag): the CLI's
`train` options are derived from these fields.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from amint_demo.errors import InvalidConfig


def _option(default: Any, help: str, flag: str | None = None, **extra: Any) -> Any:
    """A config field with its command-line help; `flag` names the option when it is not the field's name."""
    kwargs = {"default_factory": default} if callable(default) else {"default": default}
    return field(metadata={"help": help, "flag": flag, **extra}, **kwargs)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one run. Sizes None mean the dataset's defaults (the aMINT paper's split where it fits)."""

    method: str = _option("amint", "membership inference method (see `--help` of train)")
    arch: str = _option("resnet18", "timm architecture: a ResNet, MobileNet, DenseNet or ViT")
    dataset: str = _option("fashion-mnist", "dataset name (see the README's datasets section)")
    taps: str = _option("middle", "entry, middle, output, or one or two comma-separated module names")
    n_members: int | None = _option(None, "size of the member set D", flag="members")
    n_external: int | None = _option(None, "size of the external non-member pool E (default: the whole train split "
                                           "outside D and the calibration images)", flag="external")
    n_test: int | None = _option(None, "size of the held-out non-member set T", flag="test")
    n_calibration: int | None = _option(None, "train images outside D and E reserved for calibration (default: "
                                              "--calibration)")
    split_seed: int = _option(0, "seed of the D / E / T split")
    seed: int = _option(0, "training seed")
    epochs: int = _option(10, "training epochs (passes over D)")
    max_steps: int | None = _option(None, "stop after this many optimiser steps (quick runs)")
    batch_size: int = _option(64, "per side: a D batch and an E batch of this size each step")
    lr: float = _option(1e-3, "learning rate (AdamW, one-cycle schedule)")
    weight_decay: float = _option(0.0, "AdamW weight decay")
    mint_weight: float = _option(1.0, "weight λ of the MINT term (aMINT)", flag="lambda")
    augment: str = _option("none", "training augmentation of D and E alike: none, shift (±2 px), shift-flip (also "
                                   "mirrored; not for digits)", choices=("none", "shift", "shift-flip"))
    label_smoothing: float = _option(0.0, "label smoothing of the task loss")
    normalize_first_batch: bool = _option(True, "divide each loss term by its first-batch value",
                                          flag="first-batch-norm")
    head: str = _option("cnn", "map head for aMINT / passive MINT", choices=("cnn", "mlp"))
    head_width: int = _option(64, "channels of the CNN head's convolutions")
    head_hidden: int = _option(128, "hidden units of the heads' classifier")
    head_epochs: int = _option(10, "epochs of the passive / gradient head")
    head_member_fraction: float = _option(0.5, "share of D the passive / gradient / loss detector is fitted on")
    focus_fraction: float = _option(0.25, "share of each member batch drawn from a user's own images, when a run "
                                          "has any, so a handful of them is learned among thousands")
    freeze_norm_stats: bool = _option(False, "keep the backbone's batch-norm statistics as they are (fine-tuning on "
                                             "batches unlike the training data)")
    synthetic_negatives: int = _option(0, "fresh dead-leaves images added to every E batch of aMINT (a session on "
                                          "a visitor's photos: non-members of the photos' own kind)")
    calibration_size: int = _option(1000, "members and unused train images (outside D and E) on which the "
                                          "detector's 0.5 threshold is calibrated after training; 0: none",
                                    flag="calibration")
    gradient_layer: str | None = _option(None, "module whose weight gradients gradient MINT reads")
    small_input_stem: bool = _option(True, "a 3×3 stride-1 stem instead of timm's ImageNet stem",
                                     flag="small-stem")
    timm_kwargs: dict[str, Any] = _option(dict, "JSON of extra timm.create_model arguments")
    init_from: str | None = _option(None, "start from this pair's weights (aMINT fine-tuning; the frozen model "
                                          "for passive / gradient / loss)")
    device: str = _option("auto", "auto (CUDA if present), cpu, cuda, cuda:N")
    amp: bool = _option(True, "mixed precision on CUDA (see --precision)")
    precision: str = _option("auto", "training precision: auto (bfloat16 on GPUs that compute it natively, float16 "
                                     "with a gradient scaler on older ones such as a T4, float32 on the CPU), "
                                     "float32, bfloat16 or float16", choices=("auto", "float32", "bfloat16", "float16"))

    def __post_init__(self) -> None:
        from amint_demo.methods.registry import get_method

        get_method(self.method)  # an unknown method is an InvalidConfig naming the known ones
        checks = [
            (self.epochs >= 1 and self.head_epochs >= 1, "epochs must be at least 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be at least 1"),
            (1 <= self.batch_size <= 4096, "batch_size must be within 1..4096"),
            (0 < self.lr <= 1.0, "lr must be within (0, 1]"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.mint_weight <= 1000, "mint_weight (λ) must be within 0..1000"),
            (self.head in ("cnn", "mlp"), "head must be 'cnn' or 'mlp'"),
            (self.augment in ("none", "shift", "shift-flip"), "augment must be none, shift or shift-flip"),
            (self.precision in ("auto", "float32", "bfloat16", "float16"),
             "precision must be auto, float32, bfloat16 or float16"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be within [0, 1)"),
            (1 <= self.head_width <= 1024 and 1 <= self.head_hidden <= 4096, "head sizes out of range"),
            (0 < self.head_member_fraction < 1, "head_member_fraction must be within (0, 1)"),
            (0 <= self.focus_fraction < 1, "focus_fraction must be within [0, 1)"),
            (0 <= self.calibration_size <= 100_000, "calibration_size must be within 0..100000"),
            (0 <= self.synthetic_negatives <= 4096, "synthetic_negatives must be within 0..4096"),
            (all(n is None or n >= 1 for n in (self.n_members, self.n_external, self.n_test)),
             "split sizes must be at least 1"),
            (self.n_calibration is None or self.n_calibration >= 0, "n_calibration must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidConfig(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidConfig(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def reserved_calibration(self) -> int:
        """Train images the split reserves for calibration."""
        return self.calibration_size if self.n_calibration is None else self.n_calibration

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})
