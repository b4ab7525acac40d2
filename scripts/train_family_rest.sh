#!/usr/bin/env bash
# The rest of the MobileNetV3 family on the reduced CPU split (run after train_default_pairs.sh):
# aMINT at the entry and output taps, passive and gradient MINT on the plain (loss) model.
set -euo pipefail
cd "$(dirname "$0")/.."
COMMON=(--dataset fashion-mnist --members 5000 --external 5000 --test 5000 --split-seed 0 --seed 0
        --arch mobilenetv3_small_100 --batch-size 64 --lr 1e-3 --epochs 30 --offline --overwrite)
PLAIN=pretrained/fmnist-mobilenetv3-loss
.venv/bin/python -m amint_demo train --method passive --taps middle --init-from "$PLAIN" --head-epochs 10 "${COMMON[@]}" --out pretrained/fmnist-mobilenetv3-passive-middle
.venv/bin/python -m amint_demo train --method gradient --taps middle --init-from "$PLAIN" --head-epochs 10 "${COMMON[@]}" --out pretrained/fmnist-mobilenetv3-gradient-middle
for tap in entry output; do
  .venv/bin/python -m amint_demo train --method amint --lambda 1 --taps "$tap" "${COMMON[@]}" --out "pretrained/fmnist-mobilenetv3-amint-$tap"
done
