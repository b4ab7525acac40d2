"""Command line: train, evaluate, audit, list, bench. User errors: one line on stderr, exit code 2."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from amint_demo.data import DATASET_NAMES, load_image
from amint_demo.errors import AmintError, InvalidConfig, InvalidImage
from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import METHOD_HELP, METHODS, TrainCallbacks, TrainConfig, init_distributed
from amint_demo.models import TAP_DEPTHS
from amint_demo.pairs import evaluate_pair, list_pairs, load_pair, train_pair
from amint_demo.reporting import markdown_table, results_rows

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".avif"}
# CLI flag -> TrainConfig field (flags default to None so that --config values survive unless overridden)
TRAIN_FLAGS = {
    "method": "method", "arch": "arch", "dataset": "dataset", "taps": "taps", "members": "n_members",
    "external": "n_external", "test": "n_test", "split_seed": "split_seed", "seed": "seed", "epochs": "epochs",
    "max_steps": "max_steps", "batch_size": "batch_size", "lr": "lr", "weight_decay": "weight_decay",
    "mint_weight": "mint_weight", "head": "head", "head_width": "head_width", "head_hidden": "head_hidden",
    "head_epochs": "head_epochs", "gradient_layer": "gradient_layer", "init_from": "init_from", "device": "device",
    "calibration": "calibration_size",
}


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _writable(path: str | None, flag: str) -> None:
    """Refuse an output file whose folder does not exist, before any work is done."""
    if path and not Path(path).resolve().parent.is_dir():
        raise InvalidConfig(f"{flag} {path}: folder {Path(path).resolve().parent} does not exist")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a pair (audited model + membership detector)",
                       description="Train, evaluate on held-out T, and save a pair directory.")
    p.add_argument("--out", required=True, help="pair directory to create")
    p.add_argument("--config", help="a pair's manifest.json (or a JSON of settings) to retrain from; flags override it")
    p.add_argument("--method", choices=METHODS, help="; ".join(f"{k}: {v}" for k, v in METHOD_HELP.items()))
    p.add_argument("--arch", help="timm architecture: a ResNet, MobileNet, DenseNet or ViT (default resnet18)")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASET_NAMES)} (default fashion-mnist)")
    p.add_argument("--taps", help=f"{', '.join(TAP_DEPTHS)}, or one or two comma-separated module names")
    p.add_argument("--members", type=int, help="size of the member set D")
    p.add_argument("--external", type=int, help="size of the external non-member set E")
    p.add_argument("--test", type=int, help="size of the held-out non-member set T")
    p.add_argument("--split-seed", type=int)
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (quick runs)")
    p.add_argument("--batch-size", type=int, help="per side: a D batch and an E batch of this size each step")
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--lambda", dest="mint_weight", type=float, help="weight λ of the MINT term (aMINT)")
    p.add_argument("--no-first-batch-norm", action="store_true", help="do not divide the loss terms by their first-batch values")
    p.add_argument("--head", choices=("cnn", "mlp"), help="map head for aMINT / passive MINT")
    p.add_argument("--head-width", type=int)
    p.add_argument("--head-hidden", type=int)
    p.add_argument("--head-epochs", type=int, help="epochs of the passive / gradient head")
    p.add_argument("--gradient-layer", help="module whose weight gradients gradient MINT reads")
    p.add_argument("--calibration", type=int, help="members and unused train images (outside D and E) that calibrate "
                   "the detector's 0.5 threshold after training (default 1000; 0: none)")
    p.add_argument("--init-from", help="start from this pair's weights (aMINT fine-tuning; frozen model for passive/gradient/loss)")
    p.add_argument("--timm-kwargs", help="JSON of extra timm.create_model arguments")
    p.add_argument("--no-small-stem", action="store_true", help="keep timm's ImageNet stem")
    p.add_argument("--device", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--eval-test", type=positive_int, help="evaluate on this many images of T (default: all of T)")
    p.add_argument("--float16", action="store_true", help="store weights as float16")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--offline", action="store_true", help="never try to download a dataset")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m amint_demo", description="Membership Inference Tests (aMINT and baselines).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(sub)
    p = sub.add_parser("evaluate", help="re-run the evaluation protocol on saved pairs")
    p.add_argument("pair", nargs="?", help="pair directory")
    p.add_argument("--all", metavar="ROOT", help="evaluate every pair under ROOT")
    p.add_argument("--json", help="write the result(s) as JSON to this file")
    p.add_argument("--markdown", action="store_true", help="print a results table in Markdown")
    p.add_argument("--n-test", type=positive_int, help="use this many images of T (default: all)")
    p.add_argument("--stored", action="store_true", help="use the metrics stored in the manifests instead of re-running")
    p.add_argument("--offline", action="store_true", help="never try to download a dataset")
    p = sub.add_parser("audit", help="membership verdicts for image files and folders")
    p.add_argument("pair", help="pair directory")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--csv", help="write one row per file (bad files included, with the reason)")
    p = sub.add_parser("list", help="pairs under a folder with their headline metrics")
    p.add_argument("root", nargs="?", default="pretrained")
    p = sub.add_parser("bench", help="audit and training cost relative to plain forward / training")
    p.add_argument("--pair", required=True)
    p.add_argument("--repeats", type=positive_int, default=50, help="timed calls per latency measurement")
    p.add_argument("--batch-size", type=positive_int, default=256, help="images per batch-throughput call")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--json", help="also write the figures, with the machine they were measured on, to this file")
    return parser


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    base: dict = {}
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InvalidConfig(f"cannot read --config {args.config}: {err}") from None
        base = data.get("train_config", data) if isinstance(data, dict) else {}
    for flag, field in TRAIN_FLAGS.items():
        if getattr(args, flag) is not None:
            base[field] = getattr(args, flag)
    if args.timm_kwargs:
        try:
            base["timm_kwargs"] = json.loads(args.timm_kwargs)
        except json.JSONDecodeError as err:
            raise InvalidConfig(f"--timm-kwargs is not JSON: {err}") from None
    if args.no_small_stem:
        base["small_input_stem"] = False
    if args.no_amp:
        base["amp"] = False
    if args.no_first_batch_norm:
        base["normalize_first_batch"] = False
    return TrainConfig.from_dict(base)


class _TqdmCallbacks(TrainCallbacks):
    def __init__(self, enabled: bool) -> None:
        super().__init__(on_step=self._step, on_epoch=self._epoch, stage=self._stage)
        self.enabled, self.bar, self.name = enabled, None, ""

    def _stage(self, name: str) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.name = name

    def _step(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None or self.bar.total != total or done < self.bar.n:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, desc=self.name, unit="step", leave=False, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def _epoch(self, record: dict) -> None:
        if self.enabled:
            tqdm.write(f"{self.name} " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                 for k, v in record.items()), file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    context = init_distributed()
    callbacks = _TqdmCallbacks(enabled=context.is_main)
    path = train_pair(config, args.out, callbacks, context, float16=args.float16, overwrite=args.overwrite,
                      eval_n_test=args.eval_test, allow_download=not args.offline)
    callbacks.stage("")
    if path is not None:
        pair = load_pair(path, device="cpu")
        print(json.dumps({"pair": str(path), **{k: round(v, 4) for k, v in _headline(pair.manifest).items()}}))
    return 0


def _headline(manifest: dict) -> dict[str, float]:
    metrics = manifest.get("metrics") or {}
    head = metrics.get("members_vs_test") or {}
    keys = ("balanced_accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr")
    return {k: head[k] for k in keys if k in head} | ({"task_accuracy": metrics["task_accuracy"]} if metrics else {})


def cmd_evaluate(args: argparse.Namespace) -> int:
    if bool(args.pair) == bool(args.all):
        raise InvalidConfig("give either a pair directory or --all ROOT")
    _writable(args.json, "--json")
    paths = [s.path for s in list_pairs(args.all) if s.problem is None] if args.all else [Path(args.pair)]
    if not paths:
        raise InvalidConfig(f"no loadable pairs under {args.all}")
    results = {}
    for path in tqdm(paths, desc="evaluate", unit="pair", file=sys.stderr, disable=len(paths) < 2):
        pair = load_pair(path)
        result = (EvaluationResult.from_dict(pair.manifest["metrics"]) if args.stored
                  else evaluate_pair(pair, args.n_test, allow_download=not args.offline))
        results[str(path)] = result.to_dict()
        if args.json and not args.all:
            result.write_json(args.json)
        if not args.markdown:
            print(json.dumps({"pair": str(path), **{k: round(v, 4) for k, v in
                                                    _headline({"metrics": results[str(path)]}).items()}}))
    if args.json and args.all:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.markdown:
        manifests = {str(p): load_pair(p, device="cpu").manifest for p in paths}
        print(markdown_table(results_rows(manifests, results)))
    return 0


def _expand(inputs: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files


def cmd_audit(args: argparse.Namespace) -> int:
    _writable(args.csv, "--csv")
    pair = load_pair(args.pair)
    files = _expand(args.inputs)
    if not files:
        raise InvalidConfig(f"no files found in {', '.join(args.inputs)}")
    rows: list[dict] = []
    for path in tqdm(files, desc="audit", unit="image", file=sys.stderr, disable=len(files) < 20):
        row: dict = {"path": str(path)}
        try:
            verdict = pair.audit_pixels(pair.preprocess([load_image(path)]))[0]
            row |= {"status": "ok", **verdict.to_row(), "error": ""}
        except InvalidImage as err:
            row |= {"status": "error", "error": str(err)}
        rows.append(row)
    fields = ["path", "status", "membership_probability", "verdict", "predicted_class", "predicted_label",
              "confidence", "error"]
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    for row in rows:
        if row["status"] == "ok":
            print(f"{row['path']}: {row['verdict']} (p={row['membership_probability']:.3f}), "
                  f"{row['predicted_label']} ({row['confidence']:.2f})")
        else:
            print(f"{row['path']}: error: {row['error']}")
    bad = sum(r["status"] != "ok" for r in rows)
    if bad:
        print(f"{bad} of {len(rows)} file(s) could not be audited", file=sys.stderr)
    return 0 if bad < len(rows) else 2


def cmd_list(args: argparse.Namespace) -> int:
    summaries = list_pairs(args.root)
    if not summaries:
        print(f"no pairs under {args.root}")
    for summary in summaries:
        row = summary.row()
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from amint_demo.bench import format_report, run_bench

    if args.threads:
        torch.set_num_threads(args.threads)
    report = run_bench(load_pair(args.pair, device=args.device), args.repeats, args.batch_size)
    print(format_report(report))
    if args.json:
        from amint_demo.machine import machine_info

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report | {"machine": machine_info()}, indent=1) + "\n")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "audit": cmd_audit, "list": cmd_list, "bench": cmd_bench}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AmintError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable output, full disk, ...: a message, not a traceback
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was saved", file=sys.stderr)
        return 130
