"""Active MINT (aMINT, ICCV 2025, arXiv 2509.07879): the audited model and its MINT head trained jointly.

One step takes a D batch and an E batch; the task loss reads D, the MINT loss reads both, and both reach the
shared backbone (see `joint.train_joint`). The detector is the model's own map head.
"""
from __future__ import annotations

from amint_demo.methods.base import Detector, Method, TrainingRun
from amint_demo.methods.trained import TrainedModel
from amint_demo.methods.joint import start_model, train_joint
from amint_demo.methods.map_head import MapHeadDetector
from amint_demo.methods.registry import register_method


@register_method
class ActiveMint(Method):
    name = "amint"
    title = "Active MINT (aMINT)"
    help = "Active MINT: audited model and MINT head trained jointly (multi-task)"
    joint = True

    def fit(self, run: TrainingRun) -> TrainedModel:
        model = start_model(run.config, run.dataset, run.init, with_head=True)
        run.callbacks.stage("aMINT joint training")
        history, external_use = train_joint(run, model)
        return TrainedModel(model.to(run.device), MapHeadDetector(), {"joint": history}, external_use=external_use)

    def build_detector(self, section: dict) -> Detector:
        return MapHeadDetector()
