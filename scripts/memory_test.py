"""Memory test: the server's resident memory before and after many consecutive audits.

    .venv/bin/python scripts/memory_test.py [--audits 1000] [--limit-mb 50] [--json FILE]

Starts `app.py` on a free loopback port, sends 50 warm-up /audit calls (caches filled), reads the server's
RSS, sends `--audits` more over the gallery images, reads it again. Exits 1 if it grew by `--limit-mb` or more.
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
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    from amint_demo.machine import machine_info
    from benchmarks import repo_runtime
    from benchmarks.loadcheck import run_memory
    from benchmarks.local_server import LocalApp

    runtime = repo_runtime()
    pair, images = runtime.pairs.default_pair(), runtime.gallery.examples()[0]
    with tempfile.TemporaryDirectory() as workdir, LocalApp(Path(workdir)) as app:
        result = run_memory(app.url, app.process.pid, pair, images, args.audits)
    result |= {"machine": machine_info(), "pair": pair, "limit_mb": args.limit_mb}
    print(f"{result['audits']} audits in {result['seconds']} s: server RSS {result['rss_before_mb']} -> "
          f"{result['rss_after_mb']} MiB (growth {result['growth_mb']} MiB, limit {args.limit_mb}); "
          f"samples {result['rss_samples_mb']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if result["growth_mb"] < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
