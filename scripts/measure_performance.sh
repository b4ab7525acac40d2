#!/usr/bin/env bash
# Every performance figure of the README, measured on this machine into assets/perf/*.json, then the README's
# performance section regenerated from them (scripts/make_report.py --performance). About 15 minutes on 2 cores.
# Run it on a quiet machine: other work on the CPUs skews every number (each file records the load average).
#   bash scripts/measure_performance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh > /dev/null
PY=.venv/bin/python
OUT=assets/perf
PAIR=pretrained/fmnist-mobilenetv3-amint-middle
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GRADIO_ANALYTICS_ENABLED=False
$PY -m amint_demo bench --pair "$PAIR" --threads 1 --device cpu --json "$OUT/bench.json"
$PY scripts/bench_app.py --pair "$PAIR" --json "$OUT/bench_app.json"
$PY scripts/load_test.py --users 50 --audits 10 --same-image --no-training --json "$OUT/load_same.json"
$PY scripts/load_test.py --users 20 --audits 10 --json "$OUT/load.json"
$PY scripts/memory_test.py --audits 1000 --json "$OUT/memory.json"
$PY scripts/fault_test.py --json "$OUT/faults.json"
$PY scripts/measure_finetune.py --out "$tmp/finetune" --json "$OUT/finetune.json"
$PY -m benchmarks.decoding "$tmp/heavy" --json "$OUT/decoding.json"
$PY tests/bad_inputs.py "$tmp/corpus" --audit --json "$OUT/bad_inputs.json"
$PY scripts/make_report.py --performance
