"""Membership inference methods, one module each over a small registry (`list_methods`, `get_method`):
`amint` (Active MINT), `passive` (passive MINT), `gradient` (gradient MINT) and `loss` (the plain model's
loss threshold). Shared parts: the run's config, the audited-model trainer (`joint`), batching, calibration,
scoring and saliency."""
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.progress import TrainCallbacks, TrainingStopped
from amint_demo.methods.distributed import DistContext, device_for, init_distributed
from amint_demo.methods.base import Detector, Method, TrainingRun
from amint_demo.methods.registry import get_method, list_methods, method_rank, register_method
from amint_demo.methods.calibration import BetaCalibrator
from amint_demo.methods.guard import PixelDensityGuard
from amint_demo.methods.scoring import MembershipTest, Scores, score
from amint_demo.methods.trained import TrainedModel
from amint_demo.methods import amint, passive, gradient, loss  # noqa: F401  (each registers its method)
from amint_demo.methods.train import train

__all__ = ["TrainConfig", "TrainCallbacks", "TrainingStopped", "DistContext", "device_for", "init_distributed",
           "Detector", "Method", "TrainedModel", "TrainingRun", "get_method", "list_methods", "method_rank",
           "register_method", "BetaCalibrator", "PixelDensityGuard", "MembershipTest", "Scores", "score",
           "train"]
