"""The detector's decision threshold, calibrated: one logit shift so that probability 0.5 separates members
from unseen images best (balanced accuracy). Fitted on members vs train images outside D and E; T is never used."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_curve

from amint_demo.data import ImageDataset, Splits, calibration_draw
from amint_demo.methods.base import Detector
from amint_demo.methods.batches import ImageBatches
from amint_demo.methods.scoring import score
from amint_demo.models import AuditableModel


def balanced_threshold(member_logits: np.ndarray, nonmember_logits: np.ndarray) -> float:
    """(N,), (M,) logits -> the threshold maximising TPR + TNR (Youden's J on scikit-learn's ROC), midway
    between the lowest logit it calls a member and the next lower observed logit."""
    scores = np.r_[member_logits, nonmember_logits].astype(np.float64)
    truth = np.r_[np.ones(len(member_logits)), np.zeros(len(nonmember_logits))]
    fpr, tpr, thresholds = roc_curve(truth, scores, drop_intermediate=False)
    best = int(np.argmax(tpr - fpr))
    if best == 0:  # nobody is a member: a threshold above every logit
        return float(thresholds[1] + 0.5)
    lower = thresholds[best + 1] if best + 1 < len(thresholds) else thresholds[best] - 1.0
    return float((thresholds[best] + lower) / 2)


def _logits(model: AuditableModel, detector: Detector, batches: ImageBatches, index: torch.Tensor,
            batch_size: int) -> np.ndarray:
    parts = []
    for x, y in batches.iterate(index, batch_size):
        probabilities = score(model, detector, x, y).membership.double().clamp(1e-12, 1 - 1e-12)
        parts.append(torch.logit(probabilities).cpu().numpy())
    return np.concatenate(parts)


def calibrate(model: AuditableModel, detector: Detector, dataset: ImageDataset, members: torch.Tensor,
              nonmembers: torch.Tensor, device: torch.device, batch_size: int = 256) -> dict:
    """Shift the detector so that its 0.5 threshold is the balanced-accuracy optimum on `members` vs
    `nonmembers` (train indices, labels used). Returns the record stored in the manifest."""
    batches = ImageBatches.train_split(dataset, device)
    model.eval()
    shift = balanced_threshold(_logits(model, detector, batches, members, batch_size),
                               _logits(model, detector, batches, nonmembers, batch_size))
    with torch.no_grad():
        detector.decision_bias(model).sub_(shift)
    return {"n_members": len(members), "n_nonmembers": len(nonmembers), "logit_shift": shift}


def calibrate_on_unused(model: AuditableModel, detector: Detector, dataset: ImageDataset, splits: Splits, size: int,
                        seed: int, device: torch.device, batch_size: int = 256) -> dict | None:
    """`calibrate` on `size` members vs as many train images outside D and E (seeded draw). Returns the
    manifest record, or None when the train split has no unused image (or `size` is 0)."""
    members, unused = calibration_draw(splits, len(dataset.train_labels), size, seed)
    if len(unused) == 0:
        return None
    return calibrate(model, detector, dataset, members, unused, device, batch_size)
