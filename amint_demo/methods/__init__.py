"""Training and detection methods: aMINT, plain + loss baseline, passive MINT, gradient MINT."""
from amint_demo.methods.config import METHOD_HELP, METHODS, TrainConfig
from amint_demo.methods.detectors import Detector, GradientDetector, HeadDetector, LossDetector, build_detector
from amint_demo.methods.distributed import DistContext, device_for, init_distributed
from amint_demo.methods.frozen import split_members_for_head
from amint_demo.methods.progress import TrainCallbacks, TrainingStopped
from amint_demo.methods.saliency import membership_cam
from amint_demo.methods.scoring import Scores, score
from amint_demo.methods.train import TrainedModel, train

__all__ = ["METHOD_HELP", "METHODS", "TrainConfig", "Detector", "GradientDetector", "HeadDetector", "LossDetector",
           "build_detector", "DistContext", "device_for", "init_distributed", "split_members_for_head",
           "TrainCallbacks", "TrainingStopped", "TrainedModel", "train", "Scores", "score", "membership_cam"]
