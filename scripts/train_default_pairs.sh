#!/usr/bin/env bash
# The pairs committed under pretrained/ for the app's default, trained on CPU (2 cores) with a reduced split
# (D 5k / E 5k / T 5k of the full Debian Fashion-MNIST). Rebuild: bash scripts/train_default_pairs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COMMON=(--dataset fashion-mnist --members 5000 --external 5000 --test 5000 --split-seed 0 --seed 0
        --arch mobilenetv3_small_100 --taps middle --batch-size 64 --lr 1e-3 --epochs 30 --offline --overwrite)
.venv/bin/python -m amint_demo train --method amint --lambda 1 "${COMMON[@]}" --out pretrained/fmnist-mobilenetv3-amint-middle
.venv/bin/python -m amint_demo train --method loss "${COMMON[@]}" --out pretrained/fmnist-mobilenetv3-loss
