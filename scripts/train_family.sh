#!/usr/bin/env bash
# One backbone family of the zoo under pretrained/, on the reduced CPU split (D 5k / E 5k / T 5k of the full
# Debian Fashion-MNIST, split seed 0, training seed 0): the plain model (+ loss threshold), passive and gradient
# MINT on it, and aMINT at the middle, entry and output taps.
# The full split (for a GPU; delete the reduced-split pairs first, finished pairs are kept):
#   MEMBERS=25000 EXTERNAL=35000 TEST=10000 bash scripts/train_family.sh ...
# Pairs already complete (manifest written) are kept, so an interrupted family resumes; delete a pair to retrain it.
# Usage: bash scripts/train_family.sh NAME ARCH TIMM_KWARGS_JSON EPOCHS
#   bash scripts/train_family.sh mobilenetv3 mobilenetv3_small_100 '{}' 30
#   bash scripts/train_family.sh densenet densenet121 '{"growth_rate": 12, "block_config": [2, 4, 6, 4]}' 15
#   bash scripts/train_family.sh vit vit_tiny_patch16_224 '{"depth": 6, "embed_dim": 96, "num_heads": 3}' 15
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1 ARCH=$2 KWARGS=$3 EPOCHS=$4
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} TQDM_MININTERVAL=${TQDM_MININTERVAL:-30}
COMMON=(--dataset fashion-mnist --members "${MEMBERS:-5000}" --external "${EXTERNAL:-5000}" --test "${TEST:-5000}" --split-seed 0 --seed 0
        --arch "$ARCH" --timm-kwargs "$KWARGS" --batch-size 64 --lr 1e-3 --epochs "$EPOCHS" --offline --overwrite)
PLAIN=pretrained/fmnist-$NAME-loss
train() {  # train ... --out PATH (PATH last)
  local out=${*: -1}
  if [[ -f $out/manifest.json ]]; then echo "kept $out"; return; fi
  .venv/bin/python -m amint_demo train "$@" "${COMMON[@]}"
}
train --method loss --out "$PLAIN"
train --method passive --taps middle --init-from "$PLAIN" --head-epochs 10 --out "pretrained/fmnist-$NAME-passive-middle"
train --method gradient --taps middle --init-from "$PLAIN" --head-epochs 10 --out "pretrained/fmnist-$NAME-gradient-middle"
for tap in middle entry output; do
  train --method amint --lambda 1 --taps "$tap" --out "pretrained/fmnist-$NAME-amint-$tap"
done
