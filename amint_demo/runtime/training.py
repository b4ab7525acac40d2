"""The app's training sessions: the run a visitor's settings ask for (within the deployment's limits), where
its pair goes, and the one worker process each session may have running."""
from __future__ import annotations

import hashlib
import math
import time
import uuid
from pathlib import Path

from amint_demo.errors import InvalidConfig
from amint_demo.methods import TrainConfig, get_method, list_methods
from amint_demo.runtime import sessions
from amint_demo.runtime.fairness import TrainingLine
from amint_demo.runtime.registry import PairRegistry
from amint_demo.runtime.worker import TrainingProcess
from amint_demo.settings import TrainLimits

ARCHS = {"MobileNetV3 (fast)": "mobilenetv3_small_100", "ResNet-18": "resnet18", "DenseNet-121": "densenet121",
         "ViT-Tiny (patch 4)": "vit_tiny_patch16_224"}
SCRATCH = "from scratch"
SESSION_METHOD = next(name for name in list_methods() if get_method(name).joint)  # what a session trains: aMINT
SESSION_TEST_IMAGES = 1000
# Fresh dead-leaves images among every step's non-members when a visitor's photos join the members: the detector
# learns "these photos", not "photos" (a session without them called 13 of 17 never-uploaded photos members).
SESSION_SYNTHETIC_NEGATIVES = 32


SCRATCH_LR = 1e-3
FINE_TUNE_LR = 3e-4  # a session from a pair moves its backbone less: its own members stay detected


def default_lr(start: str) -> float:
    """The learning rate a session starts with: lower when it fine-tunes a pair."""
    return SCRATCH_LR if start == SCRATCH else FINE_TUNE_LR


def start_tap(pairs: PairRegistry, start: str) -> str:
    """The tap depth a session keeps unless the visitor changes it: the start pair's (its MINT head is reused),
    "middle" from scratch."""
    if start == SCRATCH:
        return "middle"
    return pairs.get_pair(start).manifest.tap_depth or "middle"


def session_config(pairs: PairRegistry, limits: TrainLimits, start: str, arch_label: str, taps: str,
                   mint_weight: float, members: int, external: int, epochs: int, lr: float,
                   batch_size: int, uploads: bool = False) -> TrainConfig:
    """The run's config: a fine-tune keeps the start pair's split (its members stay members, and its training
    data stays in the task loss); a scratch run uses the sizes given. With `uploads` (a visitor's images join the
    members) fresh synthetic non-members join every step. Raises InvalidConfig beyond the limits."""
    if not 1 <= int(batch_size) <= limits.max_batch:
        raise InvalidConfig(f"batch size must be within 1..{limits.max_batch}")
    if start != SCRATCH:
        manifest = pairs.get_pair(start).manifest
        sizes = manifest.splits.sizes
        config = manifest.train_config.replace(
            method=SESSION_METHOD, taps=taps, mint_weight=float(mint_weight), epochs=int(epochs), lr=float(lr),
            batch_size=int(batch_size), init_from=str(pairs.resolve(start)), max_steps=None, device="auto",
            n_external=sizes.external, n_calibration=sizes.calibration, augment="none")
        n_members = manifest.splits.sizes.members
    else:
        if arch_label not in ARCHS:
            raise InvalidConfig(f"unknown backbone {arch_label!r}; choose one of {', '.join(ARCHS)}")
        if not 1 <= int(members) <= limits.max_members or not 1 <= int(external) <= limits.max_external:
            raise InvalidConfig(f"members must be within 1..{limits.max_members} and external images within "
                                f"1..{limits.max_external} on this deployment")
        config = TrainConfig(method=SESSION_METHOD, arch=ARCHS[arch_label], dataset="fashion-mnist", taps=taps,
                             n_members=int(members), n_external=int(external), n_test=SESSION_TEST_IMAGES,
                             mint_weight=float(mint_weight), epochs=int(epochs), lr=float(lr),
                             batch_size=int(batch_size))
        n_members = int(members)
    if uploads:
        config = config.replace(synthetic_negatives=SESSION_SYNTHETIC_NEGATIVES, freeze_norm_stats=start != SCRATCH)
    steps_per_epoch = math.ceil(n_members / int(batch_size))
    steps = int(epochs) * steps_per_epoch
    if steps > limits.max_steps:
        raise InvalidConfig(f"{steps} training steps requested ({epochs} epochs × {steps_per_epoch} steps); this "
                            f"deployment allows {limits.max_steps}: fewer epochs or a larger batch")
    return config


def reference_pair(pairs: PairRegistry, start: str) -> str:
    """The pair that labels a visitor's uploads: the start pair, or the default one for a scratch run."""
    reference = start if start != SCRATCH else pairs.default_pair()
    if reference is None:
        raise InvalidConfig("uploaded images need a pretrained pair to label them; none is available")
    return reference


def session_key(session_hash: str | None) -> str:
    """A folder-safe key for a visitor's session (the client chooses its session hash freely)."""
    return hashlib.sha256((session_hash or "local").encode()).hexdigest()[:24]


class TrainingJobs:
    """The running training worker of each session, and where session pairs are written."""

    def __init__(self, session_dir: Path, policy: sessions.SessionPolicy, threads: int, max_seconds: float | None,
                 line: TrainingLine) -> None:
        self.session_dir, self.policy = sessions.secure_root(Path(session_dir)), policy
        self.threads, self.max_seconds, self.line = threads, max_seconds, line
        self._jobs: dict[str, TrainingProcess] = {}

    def start(self, key: str, config: TrainConfig, extra=None) -> TrainingProcess:
        """Make room (expired and surplus session pairs go), then start the session's worker; its training ends
        after `max_seconds` (then it is calibrated, evaluated and saved)."""
        sessions.prune(self.session_dir, self.policy, reserve=1, session=key)
        out = self.session_dir / key / f"amint-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
        job = TrainingProcess(config, out, extra, threads=self.threads, max_seconds=self.max_seconds)
        self._jobs[key] = job
        return job

    def finish(self, key: str, job: TrainingProcess) -> None:
        """Forget and close the job: no worker and no partial folder is left."""
        if self._jobs.get(key) is job:
            self._jobs.pop(key)
        job.close()

    def stop(self, key: str) -> None:
        """Ask the session's running job, if any, to stop after its current step."""
        job = self._jobs.get(key)
        if job is not None:
            job.stop()
