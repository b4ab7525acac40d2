#!/usr/bin/env bash
# Set up (if needed) and serve the app on http://127.0.0.1:7860 with the committed pairs in pretrained/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python app.py "$@"
