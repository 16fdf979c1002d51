#!/usr/bin/env bash
# The LiDeRe boundary readout on BSDS500: trained on train with the default backbone, predicted on
# the 100 val images (tiled as the official evaluation, and whole images), scored by our BSDS
# benchmark (99 thresholds, maximum distance 0.0075 of the diagonal, thinning) — the row next to
# OpenCV's Canny (benchmarks/bsds_canny.sh) in docs/results.md. Prints each step's wall time.
#   bash benchmarks/bsds_lidere.sh [OUT_DIR] [extra train options, e.g. --set balanced=true]
# An existing OUT_DIR/boundary/bsds run is reused (delete it to train again).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bsds="${LIDERE_SHARED_DIR:-$root/../shared}/datasets/bsds500"
out="${1:-$root/runs/bsds_lidere}"
shift || true
bin="${LIDERE_BIN:-${LIDERE_BUILD_DIR:-$root/build}/apps/lidere/lidere}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
timed() { local start=$(date +%s); "$@"; echo "  ($(($(date +%s) - start)) s)"; }
run="$out/boundary/bsds"
if [[ ! -f "$run/weights/best.safetensors" ]]; then
  echo "training: 1200 iterations of batch 8 at the backbone's recommended input (256 px for EfficientNet-Lite0) unless --imgsz, lr 0.01, hflip, validation on 20 val images"
  timed "$bin" train --task boundary --data "$bsds" --iterations 1200 --batch 8 --set lr=0.01 \
    --set val_every=400 --set val_images=20 --project "$out" --name bsds --exist-ok "$@"
fi
for mode in tiled whole; do
  tile=200; [[ $mode == whole ]] && tile=0
  echo "predict ($mode):"
  timed "$bin" predict "$bsds/images/val" --weights "$run" --tile $tile --batch 8 --out "$out/$mode" -q
  echo "score ($mode):"
  timed "$bin" eval --task boundary --pred "$out/$mode/boundaries" --gt "$bsds/groundTruth/val" --out "$out/$mode/eval"
done
