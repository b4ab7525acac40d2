#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: offline, CPU only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
export GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest -q "$@"
