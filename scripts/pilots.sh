#!/usr/bin/env bash
# The zoo's pilots, one CPU thread each, each meant to take at most about 10-25 minutes; pairs go to
# runs/pilots/NAME (kept, so a rerun resumes). aMINT pilots: D 2,000 (T 2,000, E the rest of the train split),
# middle taps. Plain pilots (the *-plain* names): the loss threshold's plain model at the zoo's D 5,000 / T 5,000,
# to measure what a training recipe does to task accuracy and to the leak a passive attack reads. Zoo-scale pilots
# (ZOO_PILOTS): one aMINT pair at the zoo's D 5,000 / T 5,000 with its own tap, to try a recipe on a family's best
# tap before retraining the family (8-35 minutes each here).
# Table: .venv/bin/python -m amint_demo evaluate --all runs/pilots --markdown --stored
# Usage: bash scripts/pilots.sh NAME...    (names below; no name: all)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} TQDM_MININTERVAL=${TQDM_MININTERVAL:-60}
declare -A PILOTS=(
  [densenet-g12]='--arch densenet121 --timm-kwargs {"growth_rate":12,"block_config":[2,4,6,4]} --epochs 15'
  [densenet-g32]='--arch densenet121 --timm-kwargs {"growth_rate":32,"block_config":[2,4,6,4]} --epochs 15'
  [densenet-g12-head128]='--arch densenet121 --timm-kwargs {"growth_rate":12,"block_config":[2,4,6,4]} --epochs 15 --head-width 128'
  [vit-d96]='--arch vit_tiny_patch16_224 --timm-kwargs {"depth":6,"embed_dim":96,"num_heads":3} --epochs 15'
  [vit-d192]='--arch vit_tiny_patch16_224 --timm-kwargs {"depth":6,"embed_dim":192,"num_heads":3} --epochs 15'
  [resnet-c16]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 15'
  [resnet-c32]='--arch resnet18 --timm-kwargs {"channels":[32,64,128,256],"layers":[1,1,1,1]} --epochs 15'
  [mobilenet]='--arch mobilenetv3_small_100 --epochs 20'
  [mobilenet-15ep]='--arch mobilenetv3_small_100 --epochs 15'
  [mobilenet-050]='--arch mobilenetv3_small_050 --epochs 15'
  [densenet-g12-30ep]='--arch densenet121 --timm-kwargs {"growth_rate":12,"block_config":[2,4,6,4]} --epochs 30'
  [resnet-c16-30ep]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 30'
)
REGULARISED='--augment shift-flip --label-smoothing 0.1 --weight-decay 0.05'
declare -A PLAIN_PILOTS=(
  [mobilenet-plain]='--arch mobilenetv3_small_100 --epochs 20'
  [mobilenet-plain-augmented]="--arch mobilenetv3_small_100 --epochs 20 $REGULARISED"
  [resnet-plain-30ep]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 30'
  [vit-plain-60ep]='--arch vit_tiny_patch16_224 --timm-kwargs {"depth":6,"embed_dim":96,"num_heads":3} --epochs 60'
  [vit-plain-augmented]="--arch vit_tiny_patch16_224 --timm-kwargs {\"depth\":6,\"embed_dim\":96,\"num_heads\":3} --epochs 30 $REGULARISED"
  [resnet-plain-60ep]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 60'
)
declare -A ZOO_PILOTS=(
  [mobilenet-output-regularised]="--arch mobilenetv3_small_100 --epochs 20 --taps output $REGULARISED"
  [resnet-output-30ep]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 30 --taps output'
  [resnet-output-30ep-lambda03]='--arch resnet18 --timm-kwargs {"channels":[16,32,64,128]} --epochs 30 --taps output --lambda 0.3'
  [mobilenet-output-weight-decay]='--arch mobilenetv3_small_100 --epochs 20 --taps output --weight-decay 0.05'
  [densenet-middle-lambda03]='--arch densenet121 --timm-kwargs {"growth_rate":12,"block_config":[2,4,6,4]} --epochs 30 --taps middle --lambda 0.3'
  [vit-entry-60ep]='--arch vit_tiny_patch16_224 --timm-kwargs {"depth":6,"embed_dim":96,"num_heads":3} --epochs 60 --taps entry'
  [mobilenet-output-lambda03]='--arch mobilenetv3_small_100 --epochs 20 --taps output --lambda 0.3'
)
main() {  # read whole before it runs, so editing this file during a pilot cannot derail the loop
  local names=("$@") name out spec scale args
  [[ ${#names[@]} -eq 0 ]] && names=("${!PILOTS[@]}" "${!PLAIN_PILOTS[@]}" "${!ZOO_PILOTS[@]}")
  for name in "${names[@]}"; do
    if [[ -n ${PLAIN_PILOTS[$name]:-} ]]; then spec=${PLAIN_PILOTS[$name]} scale='--method loss --members 5000 --test 5000'
    elif [[ -n ${ZOO_PILOTS[$name]:-} ]]; then spec=${ZOO_PILOTS[$name]} scale='--method amint --members 5000 --test 5000'
    elif [[ -n ${PILOTS[$name]:-} ]]; then spec=${PILOTS[$name]} scale='--method amint --taps middle --members 2000 --test 2000'
    else echo "error: no pilot named $name (see the lists in $0)" >&2; return 2
    fi
    out=runs/pilots/$name
    if [[ -f $out/manifest.json ]]; then echo "kept $out"; continue; fi
    read -r -a args <<< "$spec $scale"
    .venv/bin/python -m amint_demo train --split-seed 0 --seed 0 --batch-size 64 --lr 1e-3 --dataset fashion-mnist \
      --offline --overwrite "${args[@]}" --out "$out"
  done
}
main "$@"; exit
