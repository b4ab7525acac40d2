"""What a training session on a user's images achieved, each figure with its control: the uploads against images
of their kind that no model saw (evaluated when the pair was trained: `EvaluationResult.uploads`), and the start
pair's own members against T before and after."""
from __future__ import annotations

from dataclasses import dataclass

from amint_demo.data.ood import session_controls
from amint_demo.evaluation import ControlledUploads
from amint_demo.pairs.audit import AuditVerdict
from amint_demo.pairs.manifest import Manifest
from amint_demo.pairs.store import Pair
from amint_demo.pairs.workflow import PHOTO_CONTROLS


@dataclass(frozen=True)
class SessionReport:
    """The stored controlled comparison (`counts`), verdicts to show (the uploads; the controls when they are
    photos, which ship with the package), and the start pair's figures beside the new pair's."""

    counts: ControlledUploads
    uploads: list[AuditVerdict]
    controls: list[AuditVerdict]
    members_auc_after: float
    task_accuracy_after: float
    members_auc_before: float | None = None
    task_accuracy_before: float | None = None


def session_report(pair: Pair, start: Manifest | None = None) -> SessionReport:
    """The report of a session pair (one with extra members); `start`: the pair it was fine-tuned from."""
    metrics = pair.manifest.metrics
    if pair.extra_members is None or metrics is None or metrics.uploads is None:
        raise ValueError(f"{pair.path} holds no evaluated user images: it is not a session pair")
    data = pair.manifest.dataset
    uploads = pair.audit_pixels(pair.extra_members.images)
    controls = []
    if metrics.uploads.control_kind == PHOTO_CONTROLS:
        controls = pair.audit_pixels(session_controls(pair.extra_members.images, data.channels, data.image_size))
    before = start.metrics if start is not None else None
    return SessionReport(metrics.uploads, uploads, controls, metrics.members_vs_test.auc, metrics.task_accuracy,
                         None if before is None else before.members_vs_test.auc,
                         None if before is None else before.task_accuracy)
