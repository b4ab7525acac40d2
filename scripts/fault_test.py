"""Fault drills on a locally launched app: the app keeps serving, nothing half-written is listed, no temporary
file is left.

    .venv/bin/python scripts/fault_test.py [--only kill-worker,cancel-training,...] [--json FILE]

Drills: kill-worker, cancel-training, cancel-audit, disconnect-upload, queue-position, training-flood,
failed-write.
Exits 1 if any check fails.
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
    parser.add_argument("--only", help="comma-separated drill names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    from benchmarks import repo_runtime
    from benchmarks.faultcheck import DRILLS, run_drills

    known = list(DRILLS) + ["failed-write"]
    names = args.only.split(",") if args.only else None
    if names and set(names) - set(known):
        parser.error(f"unknown drill(s) {sorted(set(names) - set(known))}; known: {', '.join(known)}")
    with tempfile.TemporaryDirectory() as workdir:
        runtime = repo_runtime()
        results = run_drills(Path(workdir), runtime.pairs.default_pair(), runtime.gallery.examples()[0][0], names)
    for result in results:
        print(f"[{'PASS' if result.ok else 'FAIL'}] {result.name}")
        for note in result.notes:
            print(f"    {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        from amint_demo.machine import machine_info

        args.json.write_text(json.dumps({"machine": machine_info(), "drills": [r.__dict__ for r in results]}, indent=1))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
