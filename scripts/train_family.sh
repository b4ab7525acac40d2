#!/usr/bin/env bash
# One backbone family of the zoo under pretrained/ (or $ZOO): the plain model (+ loss threshold), passive and
# gradient MINT on it, and aMINT at the middle, entry and output taps. Split: D $MEMBERS (default 5,000), T $TEST
# (default 5,000) of the full Debian Fashion-MNIST, 1,000 held-out calibration images, and E the whole rest of the
# train split (fresh non-members; set $EXTERNAL for a fixed size, e.g. the paper's 35,000); split seed 0, training
# seed $SEED (default 0), MINT weight $LAMBDA for the aMINT pairs (default 1). $EXTRA: more `train` options for every
# pair (e.g. "--augment shift --label-smoothing 0.1").
# Pairs already complete (manifest written) are kept, and a pair interrupted mid-training resumes from its last
# epoch (OUT.checkpoint.safetensors), so an interrupted family continues where it stopped; delete a pair to retrain it.
# The paper's split, for a GPU: MEMBERS=25000 EXTERNAL=35000 TEST=10000 bash scripts/train_family.sh ...
# Usage: bash scripts/train_family.sh NAME ARCH TIMM_KWARGS_JSON EPOCHS
#   bash scripts/train_family.sh mobilenetv3 mobilenetv3_small_100 '{}' 20
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1 ARCH=$2 KWARGS=$3 EPOCHS=$4
ZOO=${ZOO:-pretrained}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} TQDM_MININTERVAL=${TQDM_MININTERVAL:-30}
COMMON=(--dataset fashion-mnist --members "${MEMBERS:-5000}" --test "${TEST:-5000}" --split-seed 0
        --seed "${SEED:-0}" --arch "$ARCH" --timm-kwargs "$KWARGS" --batch-size 64 --lr 1e-3 --epochs "$EPOCHS"
        --offline --overwrite)
[[ -n ${EXTERNAL:-} ]] && COMMON+=(--external "$EXTERNAL")
read -r -a EXTRA_ARGS <<< "${EXTRA:-}"
PLAIN=$ZOO/fmnist-$NAME-loss
train() {  # train ... --out PATH (PATH last)
  local out=${*: -1}
  if [[ -f $out/manifest.json ]]; then echo "kept $out"; return; fi
  .venv/bin/python -m amint_demo train "$@" "${COMMON[@]}" "${EXTRA_ARGS[@]}"
}
TAPS=${TAPS:-middle entry output}
if [[ ${ONLY:-all} != amint ]]; then
  train --method loss --out "$PLAIN"
  train --method passive --taps middle --init-from "$PLAIN" --head-epochs 10 --out "$ZOO/fmnist-$NAME-passive-middle"
  train --method gradient --taps middle --init-from "$PLAIN" --head-epochs 10 --out "$ZOO/fmnist-$NAME-gradient-middle"
fi
if [[ ${ONLY:-all} != frozen ]]; then
  for tap in $TAPS; do
    train --method amint --lambda "${LAMBDA:-1}" --taps "$tap" --out "$ZOO/fmnist-$NAME-amint-$tap"
  done
fi
