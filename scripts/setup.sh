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
# Debian packages (root with apt only): the full Fashion-MNIST, and Chromium for the browser test
# (Playwright drives Debian's Chromium; it never downloads a browser of its own).
wanted=()
[ -d /usr/share/datasets/fashion-mnist ] || wanted+=(dataset-fashion-mnist)
[ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ] && wanted+=(chromium)
if [ ${#wanted[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  (apt-get install -y -q "${wanted[@]}" > /dev/null 2>&1 \
    || { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q "${wanted[@]}" > /dev/null 2>&1; }) \
    || echo "note: could not install ${wanted[*]}; tests needing them are skipped" >&2
fi
