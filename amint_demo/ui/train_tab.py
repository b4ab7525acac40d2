"""Train tab: a short aMINT session (from scratch or fine-tuning a pair), optionally on the visitor's images."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch

from amint_demo.data import load_image
from amint_demo.errors import AmintError, InvalidConfig, StorageError
from amint_demo.pairs import extra_members_from_images, load_pair, zip_pair
from amint_demo.runtime import Runtime
from amint_demo.runtime.training import ARCHS, SCRATCH, reference_pair, session_config, session_key
from amint_demo.ui.figures import training_figure


def result_text(path: Path, start_manifest) -> str:
    """Before/after summary from the saved manifests (the library's own evaluation)."""
    metrics = load_pair(path, device="cpu").manifest.metrics
    head = metrics.members_vs_test
    lines = ["| | value |", "|---|---|",
             f"| members vs held-out T: AUC | {head.auc:.3f} |",
             f"| balanced accuracy @0.5 | {head.balanced_accuracy:.3f} |",
             f"| TPR @ 1% FPR | {head.tpr_at_1pct_fpr:.3f} |",
             f"| task accuracy on T (after) | {metrics.task_accuracy:.3f} |"]
    if start_manifest is not None:
        lines.append(f"| task accuracy on T (before, start pair) | {start_manifest.metrics.task_accuracy:.3f} |")
    extra = metrics.extra_members_vs_test
    if extra:
        lines.append(f"| **your {extra.n_members} images vs {extra.n_nonmembers} unseen T images: AUC** | "
                     f"**{extra.auc:.3f}** |")
    return "\n".join(lines)


class TrainTab:
    """The training tab's handlers over one app's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def run_training(self, start, arch_label, taps, mint_weight, members, external, epochs, lr, batch_size, uploads,
                     session_pairs, request: gr.Request, progress=gr.Progress()):
        """API `train`: runs one session in a worker process, yielding (status, curves, result, download,
        session pairs, pair choices). A cancelled request, a Stop, a crash or a killed worker end the run with
        nothing half-written; the page keeps serving."""
        runtime = self.runtime
        limits = runtime.settings.train_limits()
        session_pairs = [p for p in (session_pairs or []) if Path(p).is_dir()]  # expired pairs drop out
        try:
            config = session_config(runtime.pairs, limits, start, arch_label, taps, mint_weight, members, external,
                                    epochs, lr, batch_size)
            extra = None
            files = [f if isinstance(f, str) else f.name for f in (uploads or [])]
            if len(files) > limits.max_uploads:
                raise InvalidConfig(f"at most {limits.max_uploads} images can be added to the members")
            if files:
                labeller = runtime.pairs.get_pair(reference_pair(runtime.pairs, start))
                extra = extra_members_from_images(labeller, [load_image(f) for f in files])
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None
        key = session_key(request.session_hash)
        records: list[dict] = []
        stage = "starting the training worker"
        outcome: dict = {}
        job = runtime.jobs.start(key, config, extra)
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
            runtime.jobs.finish(key, job)
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
        choices = runtime.pairs.choices(session_pairs)
        start_manifest = None if start == SCRATCH else runtime.pairs.get_pair(start).manifest
        yield (f"**Done.** The new pair is selected in the pair list above.{note}", training_figure(records),
               result_text(path, start_manifest), archive, session_pairs, gr.Dropdown(choices=choices, value=str(path)))

    def request_stop(self, request: gr.Request) -> str:
        self.runtime.jobs.stop(session_key(request.session_hash))
        return "Stopping after the current step…"

    def build(self, pair: gr.Dropdown, session: gr.State) -> None:
        pairs = self.runtime.pairs
        limits = self.runtime.settings.train_limits()
        device = "a CUDA GPU" if torch.cuda.is_available() else "the CPU"
        gr.Markdown(f"Train an **aMINT** pair on {device}: the model learns its task and, jointly, to recognise its "
                    f"own training images. Add a few images of your own to the members, then audit them in the first "
                    f"tab. One training runs at a time on this device; if one is running, your place in the queue "
                    f"shows here.")
        with gr.Row():
            with gr.Column():
                # pairs whose run trained their own audited model (aMINT, the plain model) can be fine-tuned
                starts = [SCRATCH] + [pairs.pair_value(s.path) for s in pairs.summaries()
                                      if s.manifest.method_info.joint or s.manifest.method_info.plain_reference]
                best = pairs.default_pair()
                default_start = best if best in starts else SCRATCH
                start = gr.Dropdown([(s if s == SCRATCH else Path(s).name, s) for s in starts], value=default_start,
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
        go.click(self.run_training, [start, arch, taps, mint_weight, members, external, epochs, lr, batch, uploads,
                                     session], [status, curves, result, download, session, pair], api_name="train",
                 concurrency_limit=1, concurrency_id="training")
        stop.click(self.request_stop, None, status, api_visibility="private", queue=False)
