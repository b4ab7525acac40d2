"""Train tab: a short aMINT session (from scratch or fine-tuning a pair), optionally on the visitor's images."""
from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from amint_demo.data import load_image
from amint_demo.errors import AmintError, InvalidConfig, StorageError
from amint_demo.pairs import extra_members_from_images, load_pair, zip_pair
from amint_demo.pairs.session import session_report
from amint_demo.runtime import Runtime
from amint_demo.runtime.training import (ARCHS, SCRATCH, default_lr, reference_pair, session_config, session_key,
                                         start_tap)
from amint_demo.ui.components import UploadedFiles
from amint_demo.ui.figures import training_figure
from amint_demo.ui.heatmap import figures_html


def client_address(request: gr.Request) -> str:
    """The visitor's network address: the first of X-Forwarded-For behind a proxy (a Space), else the peer's."""
    forwarded = (getattr(request, "headers", None) or {}).get("x-forwarded-for", "")
    client = getattr(request, "client", None)
    return forwarded.split(",")[0].strip() or (client.host if client else "unknown")


def result_text(path: Path, start_manifest) -> tuple[str, list, list]:
    """The session's results, each with its control: (Markdown table, uploads gallery, controls gallery). Figures
    come from the library's own evaluation and session report."""
    pair = load_pair(path, device="cpu")
    metrics = pair.manifest.metrics
    head = metrics.members_vs_test
    lines = ["| comparison (control) | before | after |", "|---|---|---|"]
    before = start_manifest.metrics if start_manifest is not None and start_manifest.metrics else None
    lines.append(f"| the pair's own members vs held-out Fashion-MNIST T: AUC | "
                 f"{'–' if before is None else f'{before.members_vs_test.auc:.3f}'} | {head.auc:.3f} |")
    lines.append(f"| task accuracy on T | {'–' if before is None else f'{before.task_accuracy:.3f}'} | "
                 f"{metrics.task_accuracy:.3f} |")
    if pair.extra_members is None:
        return "\n".join(lines), "", ""
    report = session_report(pair, start_manifest)
    counts = report.counts
    lines += [f"| **your {counts.n_uploads} images called members** | | **{counts.uploads_flagged} of "
              f"{counts.n_uploads}** |",
              f"| **control: {counts.n_controls} {counts.control_kind}, called members** | | "
              f"**{counts.controls_flagged} of {counts.n_controls}** |",
              f"| the same controls, detector alone (before the out-of-distribution check) | | "
              f"{counts.controls_flagged_by_detector} of {counts.n_controls} |"]
    def shown(verdicts) -> str:
        return figures_html([(Image.fromarray(v.model_input), f"{v.membership_probability:.0%} · {v.verdict}")
                             for v in verdicts], "amint-maps")

    uploads, controls = shown(report.uploads), shown(report.controls[:24])
    return "\n".join(lines), uploads, controls


OUTPUTS = 8  # status, curves, results, uploads' verdicts, controls' verdicts, download, session pairs, pair list
TAP_COST = ("The start pair reads **{tap}** taps: its MINT head is kept and fine-tuned. Another depth trains a new "
            "head from nothing, so the new pair loses the start pair's detector and has only this session to learn "
            "membership again.")


class TrainTab:
    """The training tab's handlers over one app's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def run_training(self, start, arch_label, taps, mint_weight, members, external, epochs, lr, batch_size, uploads,
                     session_pairs, request: gr.Request, progress=gr.Progress()):
        """API `train`: runs one session in a worker process, yielding (status, curves, results table, uploads'
        verdicts, controls' verdicts, download, session pairs, pair choices). A cancelled request, a Stop, a crash or a killed worker end the run with
        nothing half-written; the page keeps serving."""
        runtime = self.runtime
        limits = runtime.settings.train_limits()
        session_pairs = [p for p in (session_pairs or []) if Path(p).is_dir()]  # expired pairs drop out
        try:
            files = [f if isinstance(f, str) else f.name for f in (uploads or [])]
            config = session_config(runtime.pairs, limits, start, arch_label, taps, mint_weight, members, external,
                                    epochs, lr, batch_size, uploads=bool(files))
            extra = None
            if len(files) > limits.max_uploads:
                raise InvalidConfig(f"at most {limits.max_uploads} images can be added to the members")
            if files:
                labeller = runtime.pairs.get_pair(reference_pair(runtime.pairs, start))
                extra = extra_members_from_images(labeller, [load_image(f) for f in files])
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None
        key = session_key(request.session_hash)
        try:
            ticket = runtime.jobs.line.enter(key, client_address(request))
        except AmintError as err:
            raise gr.Error(str(err), print_exception=False) from None
        records: list[dict] = []
        stage = "starting the training worker"
        outcome: dict = {}
        job = None
        try:
            while not ticket.wait(0.5):  # a yield at least every 0.5 s: a cancel while waiting is noticed at once
                yield (f"Waiting for the device: {ticket.position} training(s) ahead of yours.",
                       *(gr.skip(),) * (OUTPUTS - 1))
            job = runtime.jobs.start(key, config, extra)
            began = time.monotonic()
            for event in job.events():
                kind = event["event"]
                if kind == "stage":
                    stage = event["name"]
                    progress(0, desc=stage)
                elif kind == "step":
                    elapsed = time.monotonic() - began
                    fits = min(event["total"], int(event["done"] * limits.max_seconds / max(elapsed, 1e-3)))
                    progress(event["done"] / max(1, event["total"]),
                             desc=f"{stage}: step {event['done']}/{event['total']} ({fits} fit in the "
                                  f"{limits.max_seconds:.0f} s budget at this pace)")
                elif kind == "epoch":
                    records.append(event["record"])
                    yield (f"**{stage}** — epoch {event['record']['epoch']} done", training_figure(records),
                           gr.skip(), gr.skip(), gr.skip(), gr.skip(), session_pairs, gr.skip())
                elif kind in ("done", "stopped", "error"):
                    outcome = event
                if kind in ("idle", "step"):  # a yield point at least every 0.5 s: a cancel is noticed at once
                    yield (gr.skip(),) * OUTPUTS
        finally:  # also when the request is cancelled or the visitor leaves: no worker, no partial folder is left
            ticket.leave()
            if job is not None:
                runtime.jobs.finish(key, job)
        if outcome.get("event") != "done":
            message = ("Training stopped: nothing was saved." if outcome.get("event") == "stopped"
                       else f"Error: {outcome.get('message', 'training ended without a result')}")
            yield message, training_figure(records), "", "", "", None, session_pairs, gr.skip()
            return
        path = Path(outcome["path"])
        session_pairs.append(str(path))
        try:
            archive, note = str(zip_pair(path, path.with_suffix(".zip"))), ""
        except StorageError as err:  # the pair is saved and usable; only its download is missing
            archive, note = None, f" No download: {err}."
        choices = runtime.pairs.choices(session_pairs)
        start_manifest = None if start == SCRATCH else runtime.pairs.get_pair(start).manifest
        table, uploaded, controls = result_text(path, start_manifest)
        if records and records[-1].get("ended_at_time_budget"):
            note += (f" Training ended at this deployment's time budget ({limits.max_seconds:.0f} s) after "
                     f"{records[-1]['step']} steps; the pair was then calibrated, evaluated and saved.")
        yield (f"**Done.** The new pair is selected in the pair list above.{note}", training_figure(records), table,
               uploaded, controls, archive, session_pairs, gr.Dropdown(choices=choices, value=str(path)))

    def on_start(self, start: str):
        """A new start pair: the scratch-only settings show or hide; the tap depth and the learning rate follow."""
        scratch = start == SCRATCH
        tap = start_tap(self.runtime.pairs, start)
        return (*[gr.update(visible=scratch)] * 3, gr.update(value=tap),
                "" if scratch else TAP_COST.format(tap=tap), gr.update(value=default_lr(start)))

    def request_stop(self, request: gr.Request) -> str:
        self.runtime.jobs.stop(session_key(request.session_hash))
        return "Stopping after the current step…"

    def build(self, pair: gr.Dropdown, session: gr.State) -> None:
        pairs = self.runtime.pairs
        limits = self.runtime.settings.train_limits()
        device = "a CUDA GPU" if torch.cuda.is_available() else "the CPU"
        gr.Markdown(f"Train an **aMINT** pair on {device}: the model learns its task and, jointly, to recognise its "
                    f"own training images. Add a few images of your own to the members, then audit them in the first "
                    f"tab. One training runs at a time on this device, for at most {limits.max_seconds:.0f} s (then "
                    f"it is calibrated, evaluated and saved); one session per visitor, and your place in the line "
                    f"shows here. The progress bar shows how many of your steps fit in the time budget.")
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
                first_tap = start_tap(pairs, default_start)
                taps = gr.Radio(["entry", "middle", "output"], value=first_tap, label="Tap depth")
                tap_note = gr.Markdown(TAP_COST.format(tap=first_tap) if default_start != SCRATCH else "")
                mint_weight = gr.Slider(0, 5, value=1, step=0.1, label="λ (weight of the MINT term)")
                members = gr.Slider(16, limits.max_members, value=min(1000, limits.max_members), step=16,
                                    label="Members D (from scratch)", visible=default_start == SCRATCH)
                external = gr.Slider(16, limits.max_external, value=min(1000, limits.max_external), step=16,
                                     label="External non-members E (from scratch)", visible=default_start == SCRATCH)
                epochs = gr.Slider(1, 50, value=1, step=1, label="Epochs")
                lr = gr.Number(default_lr(default_start), label="Learning rate", minimum=1e-6, maximum=1.0)
                batch = gr.Slider(8, limits.max_batch, value=64, step=8, label="Batch size (per side)")
                uploads = UploadedFiles(file_count="multiple", file_types=["image"],
                                        label="Your images to add to the members")
                with gr.Row():
                    go = gr.Button("Train", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column():
                status = gr.Markdown(elem_id="train-status", label="Status")
                curves = gr.Plot(label="Training curves (per epoch)")
                result = gr.Markdown(elem_id="train-result", label="Results")
                gr.Markdown("Your images after the session (probability · verdict):")
                uploaded = gr.HTML(elem_id="uploads-verdicts", js_on_load=None, label="Your images")
                gr.Markdown("Controls: images of the same kind that you did not upload:")
                controls = gr.HTML(elem_id="controls-verdicts", js_on_load=None, label="Controls")
                download = gr.File(label="Download the pair (zip)")
        start.change(self.on_start, start, [arch, members, external, taps, tap_note, lr], api_visibility="private",
                     queue=False)
        go.click(self.run_training, [start, arch, taps, mint_weight, members, external, epochs, lr, batch, uploads,
                                     session], [status, curves, result, uploaded, controls, download, session, pair],
                 api_name="train", concurrency_limit=None)  # trainings wait in the runtime's own line, not the queue
        stop.click(self.request_stop, None, status, api_visibility="private", queue=False)
