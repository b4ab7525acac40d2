"""Train tab: a short aMINT session (from scratch or fine-tuning a pair), optionally on the visitor's images."""
from __future__ import annotations

import hashlib
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import torch

from amint_demo.data import load_image
from amint_demo.errors import AmintError, InvalidConfig, StorageError
from amint_demo.methods import TrainConfig
from amint_demo.pairs import extra_members_from_images, load_pair, zip_pair
from amint_demo.pairs.worker import TrainingProcess
from amint_demo.ui import registry, sessions
from amint_demo.ui.figures import training_figure

ARCHS = {"MobileNetV3 (fast)": "mobilenetv3_small_100", "ResNet-18": "resnet18", "DenseNet-121": "densenet121",
         "ViT-Tiny (patch 4)": "vit_tiny_patch16_224"}
SCRATCH = "from scratch"
_jobs: dict[str, TrainingProcess] = {}  # running job per session key


@dataclass(frozen=True)
class Limits:
    """What a deployment allows one session (environment variables, smaller defaults on CPU)."""

    max_members: int
    max_external: int
    max_steps: int
    max_uploads: int
    max_batch: int

    @classmethod
    def from_env(cls) -> Limits:
        gpu = torch.cuda.is_available()

        def read(name: str, cpu: int, cuda: int) -> int:
            return int(os.environ.get(name, cuda if gpu else cpu))

        return cls(read("AMINT_TRAIN_MAX_MEMBERS", 2000, 25000), read("AMINT_TRAIN_MAX_EXTERNAL", 2000, 35000),
                   read("AMINT_TRAIN_MAX_STEPS", 400, 20000), read("AMINT_TRAIN_MAX_UPLOADS", 32, 256),
                   read("AMINT_TRAIN_MAX_BATCH", 128, 512))


def session_config(start: str, arch_label: str, taps: str, mint_weight: float, members: int, external: int,
                   epochs: int, lr: float, batch_size: int, limits: Limits) -> TrainConfig:
    """The run's config: a fine-tune keeps the start pair's split (its members stay members, and its training
    data stays in the task loss); a scratch run uses the sizes given. Raises InvalidConfig beyond the limits."""
    if not 1 <= int(batch_size) <= limits.max_batch:
        raise InvalidConfig(f"batch size must be within 1..{limits.max_batch}")
    if start != SCRATCH:
        base = TrainConfig.from_dict(registry.get_pair(start).manifest["train_config"])
        config = base.replace(method="amint", taps=taps, mint_weight=float(mint_weight), epochs=int(epochs),
                              lr=float(lr), batch_size=int(batch_size), init_from=str(registry.resolve(start)),
                              max_steps=None, device="auto")
        n_members = registry.get_pair(start).manifest["splits"]["sizes"]["members"]
    else:
        if not 1 <= int(members) <= limits.max_members or not 1 <= int(external) <= limits.max_external:
            raise InvalidConfig(f"members must be within 1..{limits.max_members} and external images within "
                                f"1..{limits.max_external} on this deployment")
        config = TrainConfig(method="amint", arch=ARCHS[arch_label], dataset="fashion-mnist", taps=taps,
                             n_members=int(members), n_external=int(external), n_test=1000,
                             mint_weight=float(mint_weight), epochs=int(epochs), lr=float(lr),
                             batch_size=int(batch_size))
        n_members = int(members)
    steps = int(epochs) * math.ceil(n_members / int(batch_size))
    if steps > limits.max_steps:
        raise InvalidConfig(f"{steps} training steps requested ({epochs} epochs × {math.ceil(n_members / int(batch_size))} "
                            f"steps); this deployment allows {limits.max_steps}: fewer epochs or a larger batch")
    return config


def _reference_pair(start: str) -> str:
    reference = start if start != SCRATCH else registry.default_pair()
    if reference is None:
        raise InvalidConfig("uploaded images need a pretrained pair to label them; none is available")
    return reference


def run_training(start, arch_label, taps, mint_weight, members, external, epochs, lr, batch_size, uploads,
                 session_pairs, request: gr.Request, progress=gr.Progress()):
    """API `train`: runs one session in a worker process, yielding (status, curves, result, download,
    session pairs, pair choices). A cancelled request, a Stop, a crash or a killed worker end the run with
    nothing half-written; the page keeps serving."""
    limits = Limits.from_env()
    session_pairs = [p for p in (session_pairs or []) if Path(p).is_dir()]  # expired pairs drop out
    try:
        config = session_config(start, arch_label, taps, mint_weight, members, external, epochs, lr, batch_size, limits)
        extra = None
        files = [f if isinstance(f, str) else f.name for f in (uploads or [])]
        if len(files) > limits.max_uploads:
            raise InvalidConfig(f"at most {limits.max_uploads} images can be added to the members")
        if files:
            extra = extra_members_from_images(registry.get_pair(_reference_pair(start)), [load_image(f) for f in files])
    except AmintError as err:
        raise gr.Error(str(err), print_exception=False) from None
    sessions.prune(registry.SESSION_ROOT, sessions.SessionPolicy.from_env(), reserve=1)
    key = session_key(request)
    out = registry.SESSION_ROOT / key / f"amint-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
    records: list[dict] = []
    stage = "starting the training worker"
    outcome: dict = {}
    job = TrainingProcess(config, out, extra, threads=int(os.environ.get("AMINT_TRAIN_THREADS", "1")))
    _jobs[key] = job
    try:
        for event in job.events():
            kind = event["event"]
            if kind == "stage":
                stage = event["name"]
                progress(0, desc=stage)
            elif kind == "step":
                progress(event["done"] / max(1, event["total"]), desc=f"{stage}: step {event['done']}/{event['total']}")
            elif kind == "epoch":
                records.append(event["record"])
                yield f"**{stage}** — epoch {event['record']['epoch']} done", training_figure(records), gr.skip(), \
                    gr.skip(), session_pairs, gr.skip()
            elif kind in ("done", "stopped", "error"):
                outcome = event
            if kind in ("idle", "step"):  # a yield point at least every 0.5 s: a cancel is noticed at once
                yield (gr.skip(),) * 6
    finally:  # also when the request is cancelled or the visitor leaves: no worker, no partial folder is left
        _jobs.pop(key, None)
        job.close()
    if outcome.get("event") != "done":
        message = ("Training stopped: nothing was saved." if outcome.get("event") == "stopped"
                   else f"Error: {outcome.get('message', 'training ended without a result')}")
        yield message, training_figure(records), "", None, session_pairs, gr.skip()
        return
    path = Path(outcome["path"])
    session_pairs.append(str(path))
    try:
        archive, note = str(zip_pair(path, path.with_suffix(".zip"))), ""
    except StorageError as err:  # the pair is saved and usable; only its download is missing
        archive, note = None, f" No download: {err}."
    choices = registry.choices(session_pairs)
    yield (f"**Done.** The new pair is selected in the pair list above.{note}", training_figure(records),
           result_text(path, start), archive, session_pairs, gr.Dropdown(choices=choices, value=str(path)))


def result_text(path: Path, start: str) -> str:
    """Before/after summary from the saved manifests (the library's own evaluation)."""
    manifest = load_pair(path, device="cpu").manifest
    metrics = manifest["metrics"]
    head = metrics["members_vs_test"]
    lines = ["| | value |", "|---|---|",
             f"| members vs held-out T: AUC | {head['auc']:.3f} |",
             f"| balanced accuracy @0.5 | {head['balanced_accuracy']:.3f} |",
             f"| TPR @ 1% FPR | {head['tpr_at_1pct_fpr']:.3f} |",
             f"| task accuracy on T (after) | {metrics['task_accuracy']:.3f} |"]
    if start != SCRATCH:
        before = registry.get_pair(start).manifest["metrics"]["task_accuracy"]
        lines.append(f"| task accuracy on T (before, start pair) | {before:.3f} |")
    extra = metrics.get("extra_members_vs_test")
    if extra:
        lines.append(f"| **your {extra['n_members']} images vs {extra['n_nonmembers']} unseen T images: AUC** | "
                     f"**{extra['auc']:.3f}** |")
    return "\n".join(lines)


def session_key(request: gr.Request) -> str:
    """A folder-safe key for the visitor's session (the client chooses its session hash freely)."""
    return hashlib.sha256((request.session_hash or "local").encode()).hexdigest()[:24]


def request_stop(request: gr.Request) -> str:
    job = _jobs.get(session_key(request))
    if job is not None:
        job.stop()
    return "Stopping after the current step…"


def build(pair: gr.Dropdown, session: gr.State) -> None:
    limits = Limits.from_env()
    device = "a CUDA GPU" if torch.cuda.is_available() else "the CPU"
    gr.Markdown(f"Train an **aMINT** pair on {device}: the model learns its task and, jointly, to recognise its own "
                f"training images. Add a few images of your own to the members, then audit them in the first tab. "
                f"One training runs at a time on this device; if one is running, your place in the queue shows here.")
    with gr.Row():
        with gr.Column():
            starts = [SCRATCH] + [registry.pair_value(s.path) for s in registry.summaries()
                                  if s.manifest["method"] in ("amint", "loss")]
            best = registry.default_pair()
            default_start = best if best in starts else SCRATCH
            start = gr.Dropdown([(s if s == SCRATCH else Path(s).name, s) for s in starts],
                                value=default_start,
                                label="Start from (a pair is fine-tuned on its own members plus your images)")
            arch = gr.Dropdown(list(ARCHS), value=list(ARCHS)[0], label="Backbone (from scratch)",
                               visible=default_start == SCRATCH)
            taps = gr.Radio(["entry", "middle", "output"], value="middle", label="Tap depth")
            mint_weight = gr.Slider(0, 5, value=1, step=0.1, label="λ (weight of the MINT term)")
            members = gr.Slider(16, limits.max_members, value=min(1000, limits.max_members), step=16,
                                label="Members D (from scratch)", visible=default_start == SCRATCH)
            external = gr.Slider(16, limits.max_external, value=min(1000, limits.max_external), step=16,
                                 label="External non-members E (from scratch)", visible=default_start == SCRATCH)
            epochs = gr.Slider(1, 50, value=1, step=1, label="Epochs")
            lr = gr.Number(1e-3, label="Learning rate", minimum=1e-6, maximum=1.0)
            batch = gr.Slider(8, limits.max_batch, value=64, step=8, label="Batch size (per side)")
            uploads = gr.File(file_count="multiple", file_types=["image"], label="Your images to add to the members")
            with gr.Row():
                go = gr.Button("Train", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column():
            status = gr.Markdown(elem_id="train-status")
            curves = gr.Plot(label="Training curves (per epoch)")
            result = gr.Markdown()
            download = gr.File(label="Download the pair (zip)")
    start.change(lambda s: [gr.update(visible=s == SCRATCH)] * 3, start, [arch, members, external],
                 api_visibility="private", queue=False)
    go.click(run_training, [start, arch, taps, mint_weight, members, external, epochs, lr, batch, uploads, session],
             [status, curves, result, download, session, pair], api_name="train", concurrency_limit=1,
             concurrency_id="training")
    stop.click(request_stop, None, status, api_visibility="private", queue=False)
