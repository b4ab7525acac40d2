"""Load test: concurrent visitors auditing while a training session runs, on a locally launched app.

    .venv/bin/python scripts/load_test.py [--users 20] [--audits 10] [--no-training] [--json FILE]

Starts `app.py` on a free loopback port, measures the library's own batch audit throughput in this process
(1 torch thread, as each app request uses), then lets `--users` gradio_client users each send `--audits`
sequential /audit calls on random gallery images while one small training session runs through /train.
Exits 1 if any request is lost or fails, or the training does not finish.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: its benchmarks/ package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--audits", type=int, default=10, help="sequential audits per user")
    parser.add_argument("--no-training", action="store_true", help="no training session during the load")
    parser.add_argument("--same-image", action="store_true", help="every user audits the same gallery image")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.users < 1 or args.audits < 1:
        parser.error("--users and --audits must be at least 1")
    import torch

    from amint_demo.machine import machine_info
    from benchmarks import repo_runtime
    from benchmarks.loadcheck import SMALL_TRAINING, library_throughput, run_load
    from benchmarks.local_server import LocalApp

    torch.set_num_threads(1)
    runtime = repo_runtime()
    pair = runtime.pairs.default_pair()
    images = runtime.gallery.examples()[0][:1] if args.same_image else runtime.gallery.examples()[0]
    library = library_throughput(runtime.pairs.get_pair(pair), images)
    with tempfile.TemporaryDirectory() as workdir, LocalApp(Path(workdir)) as app:
        result = run_load(app.url, pair, images, args.users, args.audits, None if args.no_training else SMALL_TRAINING)
        summary = result.summary()
    summary |= {"machine": machine_info(), "pair": pair, "start_to_ready_s": round(app.start_seconds, 1),
                "library_images_per_s": round(library, 1),
                "app_over_library_throughput": round(summary["requests_per_s"] / library, 3),
                "training_settings": None if args.no_training else list(SMALL_TRAINING),
                "same_image": args.same_image}
    lat = summary["latency"] or {}
    print(f"{summary['answered']}/{summary['requests']} audits answered, {summary['failed']} failed, "
          f"{summary['lost']} lost · {summary['requests_per_s']} req/s · p50 {lat.get('p50_ms')} ms · "
          f"p95 {lat.get('p95_ms')} ms · library batch audit {summary['library_images_per_s']} img/s · "
          f"app/library throughput {summary['app_over_library_throughput']}")
    print(f"training during the load: {summary['training_outcome'][:80]} ({summary['training_s']} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1))
    ok = summary["failed"] == 0 and summary["lost"] == 0 and (args.no_training or summary["training_outcome"].startswith("**Done"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
