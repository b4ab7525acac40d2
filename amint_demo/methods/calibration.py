"""The detector's decision threshold, calibrated: one logit shift so that probability 0.5 separates members
from unseen images best (balanced accuracy). Fitted on members vs train images outside D and E; T is never used."""
from __future__ import annotations

import numpy as np
import torch

from amint_demo.data import ImageDataset, Splits, calibration_draw
from amint_demo.methods.batches import ImageBatches
from amint_demo.methods.detectors import Detector, GradientDetector, HeadDetector, LossDetector
from amint_demo.methods.scoring import score
from amint_demo.models import AuditableModel


def balanced_threshold(member_logits: np.ndarray, nonmember_logits: np.ndarray) -> float:
    """(N,), (M,) logits -> the threshold, midway between two observed logits, maximising TPR + TNR."""
    values = np.concatenate([member_logits, nonmember_logits]).astype(np.float64)
    is_member = np.r_[np.ones(len(member_logits)), np.zeros(len(nonmember_logits))]
    order = np.argsort(values, kind="stable")
    values, is_member = values[order], is_member[order]
    # a threshold just above position i: members above it are found, non-members up to it are cleared
    tpr = (len(member_logits) - np.cumsum(is_member)) / len(member_logits)
    tnr = np.cumsum(1 - is_member) / len(nonmember_logits)
    cuts = np.flatnonzero(np.r_[values[1:] > values[:-1], True])  # only between distinct values
    best = cuts[np.argmax((tpr + tnr)[cuts])]
    above = values[best + 1] if best + 1 < len(values) else values[best] + 1.0
    return float((values[best] + above) / 2)


def _logits(model: AuditableModel, detector: Detector, batches: ImageBatches, index: torch.Tensor,
            batch_size: int) -> np.ndarray:
    parts = []
    for x, y in batches.iterate(index, batch_size):
        probabilities = score(model, detector, x, y).membership.double().clamp(1e-12, 1 - 1e-12)
        parts.append(torch.logit(probabilities).cpu().numpy())
    return np.concatenate(parts)


def shift_decision(model: AuditableModel, detector: Detector, shift: float) -> None:
    """Subtract `shift` from the membership logit, in the detector's last bias (so no new weight is stored)."""
    if isinstance(detector, HeadDetector):
        last = model.head.classifier[-1]
    elif isinstance(detector, GradientDetector):
        last = detector.head.classifier[-1]
    elif isinstance(detector, LossDetector):
        detector.intercept.sub_(shift)
        return
    else:
        raise TypeError(f"no decision bias in {detector.__class__.__name__}")
    with torch.no_grad():
        last.bias.sub_(shift)


def calibrate(model: AuditableModel, detector: Detector, dataset: ImageDataset, members: torch.Tensor,
              nonmembers: torch.Tensor, device: torch.device, batch_size: int = 256) -> dict:
    """Shift the detector so that its 0.5 threshold is the balanced-accuracy optimum on `members` vs
    `nonmembers` (train indices, labels used). Returns the record stored in the manifest."""
    batches = ImageBatches.train_split(dataset, device)
    model.eval()
    shift = balanced_threshold(_logits(model, detector, batches, members, batch_size),
                               _logits(model, detector, batches, nonmembers, batch_size))
    shift_decision(model, detector, shift)
    return {"n_members": len(members), "n_nonmembers": len(nonmembers), "logit_shift": shift}


def calibrate_on_unused(model: AuditableModel, detector: Detector, dataset: ImageDataset, splits: Splits, size: int,
                        seed: int, device: torch.device, batch_size: int = 256) -> dict | None:
    """`calibrate` on `size` members vs as many train images outside D and E (seeded draw). Returns the
    manifest record, or None when the train split has no unused image (or `size` is 0)."""
    members, unused = calibration_draw(splits, len(dataset.train_labels), size, seed)
    if len(unused) == 0:
        return None
    return calibrate(model, detector, dataset, members, unused, device, batch_size)
