"""The one frozen configuration object of a training run (written into the pair's manifest)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from amint_demo.errors import InvalidConfig

METHODS = ("amint", "loss", "passive", "gradient")
METHOD_HELP = {
    "amint": "Active MINT: audited model and MINT head trained jointly (multi-task)",
    "loss": "plain training (no MINT term) + loss-threshold baseline (Yeom et al.); the reference for the cost of auditability",
    "passive": "passive MINT: CNN or MLP head on the activations of a frozen plain model",
    "gradient": "gradient MINT: MLP on per-sample gradients of one layer of a frozen plain model",
}


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one run. Sizes None mean the dataset's defaults (DESIGN.md §5).

    `calibration_size`: members and unused train images (outside D and E) on which the detector's 0.5
    threshold is calibrated after training; 0: no calibration.
    `focus_fraction`: share of each member batch drawn from extra members (a user's own images), when a
    run has any, so a handful of them is learned among thousands.
    """

    method: str = "amint"
    arch: str = "resnet18"
    dataset: str = "fashion-mnist"
    taps: str = "middle"
    n_members: int | None = None
    n_external: int | None = None
    n_test: int | None = None
    split_seed: int = 0
    seed: int = 0
    epochs: int = 10
    max_steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    mint_weight: float = 1.0
    normalize_first_batch: bool = True
    head: str = "cnn"
    head_width: int = 64
    head_hidden: int = 128
    head_epochs: int = 10
    head_member_fraction: float = 0.5
    focus_fraction: float = 0.25
    calibration_size: int = 1000
    gradient_layer: str | None = None
    small_input_stem: bool = True
    timm_kwargs: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None
    device: str = "auto"
    amp: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.method in METHODS, f"method must be one of {', '.join(METHODS)}"),
            (self.epochs >= 1 and self.head_epochs >= 1, "epochs must be at least 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be at least 1"),
            (1 <= self.batch_size <= 4096, "batch_size must be within 1..4096"),
            (0 < self.lr <= 1.0, "lr must be within (0, 1]"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.mint_weight <= 1000, "mint_weight (λ) must be within 0..1000"),
            (self.head in ("cnn", "mlp"), "head must be 'cnn' or 'mlp'"),
            (1 <= self.head_width <= 1024 and 1 <= self.head_hidden <= 4096, "head sizes out of range"),
            (0 < self.head_member_fraction < 1, "head_member_fraction must be within (0, 1)"),
            (0 <= self.focus_fraction < 1, "focus_fraction must be within [0, 1)"),
            (0 <= self.calibration_size <= 100_000, "calibration_size must be within 0..100000"),
            (all(n is None or n >= 1 for n in (self.n_members, self.n_external, self.n_test)),
             "split sizes must be at least 1"),
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

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})
