"""What every method module builds on: a `Detector` (a model's forward pass -> one membership logit per image)
and a `Method` (one training run -> audited model + fitted detector). A new method is one module that subclasses
both and registers itself (`methods.registry.register_method`); the CLI, the app, the reports and the tests
enumerate the registry.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from amint_demo.data import ImageDataset, Splits
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.distributed import DistContext
from amint_demo.methods.progress import TrainCallbacks
from amint_demo.models import AuditableModel, AuditOutput

if TYPE_CHECKING:
    from amint_demo.methods.checkpoint import EpochCheckpoint
    from amint_demo.methods.trained import TrainedModel


def labels_or_predictions(output: AuditOutput, labels: torch.Tensor | None) -> torch.Tensor:
    """True labels when known (evaluation), else the predicted class (uploads have no label): (B,)."""
    return output.class_logits.argmax(1) if labels is None else labels


class Detector(nn.Module):
    """Reads a forward pass (and labels) and returns one membership logit per image (> 0: member)."""

    #: whether a Grad-CAM of the logit over the tapped maps says where the evidence is
    explains_maps: ClassVar[bool] = True

    def membership_logits(self, model: AuditableModel, x: torch.Tensor, output: AuditOutput,
                          labels: torch.Tensor | None) -> torch.Tensor:
        """x (B, C, H, W) normalised, output = model(x), labels (B,) or None -> (B,) logits."""
        raise NotImplementedError

    def section(self) -> dict[str, Any]:
        """The manifest's detector section: what `Method.build_detector` needs to rebuild this detector."""
        return {}


class NoSection(BaseModel):
    """A detector section with nothing in it (the detector's weights say everything)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, eq=False)
class TrainingRun:
    """Everything one run reads. `init`: a model to start from (fine-tuning) or to audit frozen. `focus`: member
    indices (a user's own images) that fill `config.focus_fraction` of every member batch. `checkpoint`: where the
    audited model's training saves each epoch and resumes from."""

    config: TrainConfig
    dataset: ImageDataset
    splits: Splits
    device: torch.device
    callbacks: TrainCallbacks = field(default_factory=TrainCallbacks)
    init: AuditableModel | None = None
    context: DistContext = DistContext()
    focus: torch.Tensor | None = None
    checkpoint: EpochCheckpoint | None = None


class Method(ABC):
    """One membership inference method: how it trains, which detector it fits, what its manifest section holds."""

    name: ClassVar[str]
    title: ClassVar[str]  # for people: "Active MINT (aMINT)"
    help: ClassVar[str]  # one line for `--help` and the app
    #: reads the tapped activation maps (False: the same at every tap depth)
    reads_taps: ClassVar[bool] = True
    #: trains the audited model jointly with its detector (the method the app's training sessions run)
    joint: ClassVar[bool] = False
    #: its audited model is the plain model (no MINT term): the reference for the cost of auditability
    plain_reference: ClassVar[bool] = False
    #: the detector is fitted on part of D only; the rest is reported as unseen members
    fits_on_part_of_members: ClassVar[bool] = False
    #: the pydantic model of the manifest's detector section
    section_model: ClassVar[type[BaseModel]] = NoSection

    @abstractmethod
    def fit(self, run: TrainingRun) -> TrainedModel:
        """Train whatever the method trains on D and E of `run.splits` (T is never touched)."""

    @abstractmethod
    def build_detector(self, section: dict[str, Any]) -> Detector:
        """An untrained detector shaped as the manifest's detector section says (weights load into it)."""

    def head_members(self, splits: Splits, config: TrainConfig) -> torch.Tensor | None:
        """Members the detector was fitted on, or None when it saw all of D."""
        return None

    def check_section(self, section: dict[str, Any]) -> dict[str, Any]:
        """Validate a manifest's detector section (raises pydantic's ValidationError)."""
        return self.section_model.model_validate(section).model_dump()
