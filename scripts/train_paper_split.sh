#!/usr/bin/env bash
# One family on the aMINT paper's Fashion-MNIST split (D 25,000 / E 35,000 / T 10,000), for a GPU: the same pairs
# as scripts/train_family.sh, written to $ZOO (default runs/paper-split), resumable. Mixed precision is chosen per
# GPU (bfloat16 where native, float16 with a gradient scaler on a T4). The README's results table marks these rows
# by their split.
#   bash scripts/train_paper_split.sh mobilenetv3 mobilenetv3_small_100 '{}' 20
set -euo pipefail
cd "$(dirname "$0")/.."
export MEMBERS=25000 EXTERNAL=35000 TEST=10000 ZOO=${ZOO:-runs/paper-split}
export EXTRA="--device cuda ${EXTRA:-}"
exec bash scripts/train_family.sh "$@"
