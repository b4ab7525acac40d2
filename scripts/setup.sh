#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with the pinned requirements, and (when root with apt)
# the Debian package of the full Fashion-MNIST. Re-runs are quick: pip runs only when requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  (apt-get install -y -q dataset-fashion-mnist > /dev/null 2>&1 \
    || { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist > /dev/null 2>&1; }) \
    || echo "note: dataset-fashion-mnist not installed; the embedded subset will be used" >&2
fi
