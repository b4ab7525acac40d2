"""Command line: train, evaluate, audit, list, bench. User errors: one line on stderr, exit code 2."""
from __future__ import annotations

import argparse
import csv
import json
import sys
import types
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import torch
from tqdm import tqdm

from amint_demo.data import DATASET_NAMES, load_image
from amint_demo.errors import AmintError, InvalidConfig, InvalidImage
from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import TrainCallbacks, TrainConfig, get_method, init_distributed, list_methods
from amint_demo.pairs import evaluate_pair, list_pairs, load_pair, train_pair
from amint_demo.pairs.manifest import config_from_json
from amint_demo.reporting import markdown_table, results_rows
from amint_demo.settings import Settings, settings_table


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _writable(path: str | None, flag: str) -> None:
    """Refuse an output file whose folder does not exist, before any work is done."""
    if path and not Path(path).resolve().parent.is_dir():
        raise InvalidConfig(f"{flag} {path}: folder {Path(path).resolve().parent} does not exist")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _json_object(text: str) -> dict:
    """argparse type: a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _value_type(hint: Any) -> Any:
    """`int | None` -> int, `dict[str, Any]` -> dict, ...: the type of one TrainConfig field's values."""
    options = [a for a in get_args(hint) if a is not type(None)] if isinstance(hint, types.UnionType) else [hint]
    return getattr(options[0], "__origin__", options[0])


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, from the field's own help and flag. Every option defaults to None, so
    that values from --config survive unless a flag overrides them."""
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag, kind = "--" + (f.metadata["flag"] or f.name).replace("_", "-"), _value_type(hints[f.name])
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "help": f.metadata["help"]}
        if f.name == "method":
            kwargs |= {"choices": list_methods(),
                       "help": "; ".join(f"{name}: {get_method(name).help}" for name in list_methods())}
        elif kind is bool:
            kwargs |= {"action": argparse.BooleanOptionalAction}
            kwargs["help"] += f" (default: {'on' if f.default else 'off'})"
        elif kind is dict:
            kwargs |= {"type": _json_object}
        else:
            kwargs |= {"type": kind, "metavar": flag[2:].upper().replace("-", "_")}
            if f.metadata.get("choices"):
                kwargs |= {"choices": f.metadata["choices"]}
        p.add_argument(flag, **kwargs)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a pair (audited model + membership detector)",
                       description="Train, evaluate on held-out T, and save a pair directory.")
    p.add_argument("--out", required=True, help="pair directory to create")
    p.add_argument("--config", help="a pair's manifest.json (or a JSON of settings) to retrain from; flags override it")
    _add_config_options(p)
    p.add_argument("--eval-test", type=positive_int, help="evaluate on this many images of T (default: all of T)")
    p.add_argument("--float16", action="store_true", help="store weights as float16")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--offline", action="store_true", help="never try to download a dataset")
    p.add_argument("--no-checkpoint", action="store_true",
                   help="do not save each epoch to OUT.checkpoint.safetensors (by default a run saves every epoch "
                        "there and an interrupted run resumes from it)")


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
    p.add_argument("--seconds", type=positive_float, default=1.0, help="timed seconds per latency / throughput "
                   "measurement (torch.utils.benchmark)")
    p.add_argument("--batch-size", type=positive_int, default=256, help="images per batch-throughput call")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--json", help="also write the figures, with the machine they were measured on, to this file")
    p = sub.add_parser("settings", help="the deployment settings (AMINT_* environment variables) in effect")
    p.add_argument("--markdown", action="store_true", help="print the table of every variable instead (README)")
    return parser


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    base: dict = {}
    if args.config:
        try:
            base = config_from_json(Path(args.config))
        except (OSError, ValueError) as err:
            raise InvalidConfig(f"cannot read --config {args.config}: {err}") from None
    for f in fields(TrainConfig):
        if getattr(args, f.name) is not None:
            base[f.name] = getattr(args, f.name)
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


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    config = _config_from_args(args)
    context = init_distributed()
    callbacks = _TqdmCallbacks(enabled=context.is_main)
    path = train_pair(config, args.out, callbacks, context, float16=args.float16, overwrite=args.overwrite,
                      eval_n_test=args.eval_test, allow_download=not args.offline, settings=settings,
                      resumable=not args.no_checkpoint)
    callbacks.stage("")
    if path is not None:
        print(_headline_line(path, load_pair(path, device="cpu").manifest.metrics))
    return 0


def _headline_line(path: Path, result: EvaluationResult | None) -> str:
    """One JSON line: the pair and its headline metrics (rounded)."""
    headline = {} if result is None else result.headline()
    return json.dumps({"pair": str(path), **{k: round(v, 4) for k, v in headline.items()}})


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.pair) == bool(args.all):
        raise InvalidConfig("give either a pair directory or --all ROOT")
    _writable(args.json, "--json")
    paths = [s.path for s in list_pairs(args.all) if s.problem is None] if args.all else [Path(args.pair)]
    if not paths:
        raise InvalidConfig(f"no loadable pairs under {args.all}")
    results = {}
    for path in tqdm(paths, desc="evaluate", unit="pair", file=sys.stderr, disable=len(paths) < 2):
        pair = load_pair(path)
        if args.stored and pair.manifest.metrics is None:
            raise InvalidConfig(f"{path} has no stored metrics; evaluate it without --stored")
        result = (pair.manifest.metrics if args.stored
                  else evaluate_pair(pair, args.n_test, allow_download=not args.offline, settings=settings))
        results[str(path)] = result
        if args.json and not args.all:
            result.write_json(args.json)
        if not args.markdown:
            print(_headline_line(path, result))
    if args.json and args.all:
        Path(args.json).write_text(json.dumps({k: r.to_dict() for k, r in results.items()}, indent=2))
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


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
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
    columns = ["path", "status", "membership_probability", "verdict", "in_distribution", "detector_probability",
               "predicted_class", "predicted_label", "confidence", "error"]
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
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


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    summaries = list_pairs(args.root)
    if not summaries:
        print(f"no pairs under {args.root}")
    for summary in summaries:
        row = summary.row()
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from amint_demo.bench import format_report, run_bench

    if args.threads:
        torch.set_num_threads(args.threads)
    report = run_bench(load_pair(args.pair, device=args.device), args.seconds, args.batch_size)
    print(format_report(report))
    if args.json:
        from amint_demo.machine import machine_info

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report | {"machine": machine_info()}, indent=1) + "\n")
    return 0


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print(settings_table())
    else:
        print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}, indent=1))
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "audit": cmd_audit, "list": cmd_list, "bench": cmd_bench,
            "settings": cmd_settings}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, Settings.from_env())
    except AmintError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable output, full disk, ...: a message, not a traceback
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was saved", file=sys.stderr)
        return 130
