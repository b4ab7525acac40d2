"""Benchmark the served app: start-to-ready time, and /audit latency over HTTP against Gradio's own floor and
against the handler in-process.

    .venv/bin/python scripts/bench_app.py [--calls 30] [--warmup 3] [--pair DIR] [--image FILE] [--json FILE]

Launches `python app.py` (as scripts/run_app.sh does) and the floor app (`benchmarks/floor_app.py`: the same
inputs, a handler that only reads the image) on free loopback ports, measures process start until GET / answers
200, then times `/audit` on both through gradio_client, call for call in turn (upload + queue + handler +
post-processing; download_files=False; every answer of the app checked whole), and the ratio of their p50 and
p95; then times the same handler (`AuditTab.audit`) in this process with the app's thread setting. Prints a short
report with the machine and the load average (other work on the machine skews every number here).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: its benchmarks/ package

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIR = ROOT / "pretrained" / "fmnist-mobilenetv3-amint-middle"
DEFAULT_IMAGE = ROOT / "assets" / "examples" / "example-01.png"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench_both(app_url: str, floor_url: str, pair: str, image: str, warmup: int, calls: int) -> tuple[dict, dict]:
    """The app's /audit and the floor app's, call for call in turn (so drift in the machine's load hits both)."""
    from gradio_client import Client, handle_file

    from benchmarks.loadcheck import answer_problem, latency_stats

    clients = {"app": Client(app_url, verbose=False, download_files=False),
               "floor": Client(floor_url, verbose=False, download_files=False)}
    times: dict[str, list[float]] = {"app": [], "floor": []}
    for i in range(warmup + calls):
        for name, client in clients.items():
            t0 = time.perf_counter()
            out = client.predict(pair, handle_file(image), 0.5, api_name="/audit")
            elapsed = time.perf_counter() - t0
            if name == "app" and (problem := answer_problem(*[out[0], *out[2:]])):
                raise SystemExit(f"error: the app's answer is broken: {problem}")
            if i >= warmup:
                times[name].append(elapsed)
    return latency_stats(times["app"]), latency_stats(times["floor"])


def bench_handler(pair: str, image: str, warmup: int, calls: int) -> dict:
    import torch

    from amint_demo.ui.audit_tab import AuditTab
    from benchmarks import repo_runtime
    from benchmarks.loadcheck import latency_stats

    runtime = repo_runtime()
    threads = runtime.settings.torch_threads
    torch.set_num_threads(threads)  # as build_demo does
    audit_tab = AuditTab(runtime)

    t0 = time.perf_counter()
    audit_tab.audit(pair, image, 0.5)  # loads the pair (cached afterwards)
    first = time.perf_counter() - t0
    for _ in range(max(0, warmup - 1)):
        audit_tab.audit(pair, image, 0.5)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        audit_tab.audit(pair, image, 0.5)
        times.append(time.perf_counter() - t0)
    return {"torch_threads": threads, "first_call_incl_pair_load_ms": round(1000 * first, 1), **latency_stats(times)}


def report(result: dict) -> str:
    m, h, s = result["machine"], result["http_audit"], result["handler_audit"]
    busy = "yes" if result["other_load_present"] else "no"
    return "\n".join([
        f"machine     : {m['cpu_model']} · {m['usable_cpus']}/{m['logical_cpus']} CPUs usable · {m['platform']}",
        f"load avg    : before {result['load_before']} · after HTTP {result['load_after_http']} · "
        f"after handler {result['load_after_handler']} (1/5/15 min) · other load present: {busy}",
        f"pair, image : {Path(result['pair']).name}, {Path(result['image']).name}",
        f"start-ready : {result['start_to_ready_s']:.1f} s (process start until GET / returns 200)",
        f"/audit HTTP : p50 {h['p50_ms']:.0f} ms · p95 {h['p95_ms']:.0f} ms · mean {h['mean_ms']:.0f} · "
        f"min {h['min_ms']:.0f} · max {h['max_ms']:.0f} (n={h['n']} after {result['warmup']} warm-ups)",
        f"floor app   : p50 {result['floor_audit']['p50_ms']:.0f} ms · p95 {result['floor_audit']['p95_ms']:.0f} ms "
        f"(Gradio, a handler that only reads the image) · ratio p50 {result['ratio_p50']:.2f}, p95 "
        f"{result['ratio_p95']:.2f}",
        f"handler     : p50 {s['p50_ms']:.0f} ms · p95 {s['p95_ms']:.0f} ms · mean {s['mean_ms']:.0f} "
        f"(in-process audit_tab.audit, {s['torch_threads']} torch thread; first call with pair load "
        f"{s['first_call_incl_pair_load_ms']:.0f} ms)",
        f"overhead    : {h['p50_ms'] - s['p50_ms']:.0f} ms at p50 (upload, queue, pre/post-processing, "
        f"maps encoded inline)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", default=str(DEFAULT_PAIR), help="pair folder offered by the app (default: %(default)s)")
    parser.add_argument("--image", default=str(DEFAULT_IMAGE), help="image to audit (default: %(default)s)")
    parser.add_argument("--calls", type=int, default=30, help="timed calls (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (default: %(default)s)")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds to wait for the app")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error("--calls must be at least 2")
    for what in ("pair", "image"):
        if not Path(getattr(args, what)).exists():
            parser.error(f"--{what} {getattr(args, what)}: no such file or folder")
    from amint_demo.machine import machine_info
    from benchmarks import repo_runtime  # after argument checks: importing amint_demo loads torch

    pair, image = repo_runtime().pairs.pair_value(Path(args.pair).resolve()), str(Path(args.image).resolve())

    result = {"machine": machine_info(), "pair": pair, "image": image, "warmup": args.warmup,
              "load_before": _load()}
    # the 1-minute load before we start anything: above ~0.5 someone else is using the CPUs
    result["other_load_present"] = result["load_before"][0] >= 0.5
    from benchmarks.local_server import LocalApp  # imports torch (the package's __init__): after the load reading

    with tempfile.TemporaryDirectory(prefix="amint-bench-") as tmp, ExitStack() as stack:
        try:  # both servers are stopped when the stack closes, however the HTTP calls end
            app = stack.enter_context(LocalApp(Path(tmp) / "app", timeout=args.start_timeout))
            floor = stack.enter_context(LocalApp(Path(tmp) / "floor", script=ROOT / "benchmarks" / "floor_app.py",
                                                 timeout=args.start_timeout))
        except RuntimeError as err:
            raise SystemExit(f"error: {err}") from None
        result["start_to_ready_s"] = round(app.start_seconds, 2)
        result["http_audit"], result["floor_audit"] = bench_both(app.url, floor.url, pair, image, args.warmup,
                                                                 args.calls)
        result["ratio_p50"] = round(result["http_audit"]["p50_ms"] / result["floor_audit"]["p50_ms"], 2)
        result["ratio_p95"] = round(result["http_audit"]["p95_ms"] / result["floor_audit"]["p95_ms"], 2)
        result["load_after_http"] = _load()
    result["handler_audit"] = bench_handler(pair, image, args.warmup, args.calls)
    result["load_after_handler"] = _load()
    import gradio
    import torch

    result["versions"] = {"gradio": gradio.__version__, "torch": torch.__version__}
    print(report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
