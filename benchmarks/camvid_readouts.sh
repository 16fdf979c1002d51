#!/usr/bin/env bash
# CamVid semantic segmentation (../shared/datasets/camvid, 11 classes, label 11 ignored): the
# LiDeRe readout and the linear probe trained with one budget (1000 iterations of batch 8, lr 0.01,
# cosine, hflip, seed 0), validated on the 101 val images every 250 iterations — the CamVid rows
# of docs/results.md. Backbone, input size and anything else come as extra train options.
#   bash benchmarks/camvid_readouts.sh OUT_DIR "lidere linear" --backbone dinov2-s-imgfocus --imgsz 280x392
# Prints each run's wall time and val mIoU; an existing run folder is reused (delete it to rerun).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
camvid="${LIDERE_SHARED_DIR:-$root/../shared}/datasets/camvid"
out="${1:?OUT_DIR}"
readouts="${2:-lidere linear}"
shift 2 || shift $#
bin="${LIDERE_BIN:-${LIDERE_BUILD_DIR:-$root/build}/apps/lidere/lidere}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git -C "$root" rev-parse --short HEAD)"
for readout in $readouts; do
  run="$out/seg/$readout"
  if [[ ! -f "$run/weights/best.safetensors" ]]; then
    start=$(date +%s)
    "$bin" train --data "$camvid" --set task.ignore_index=11 --batch 8 --iterations 1000 --set lr=0.01 \
      --set val_every=250 --readout "$readout" --project "$out" --name "$readout" --exist-ok -q "$@"
    echo "$readout: trained in $(($(date +%s) - start)) s"
  fi
  python3 - "$run" <<'PY'
import csv, json, sys
run = sys.argv[1]
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
curve = ", ".join(f"{r['step']}: {float(r['val_mIoU']):.4f}" for r in rows if r.get("val_mIoU"))
best = json.load(open(f"{run}/eval_val.json"))
print(f"{run}: best val mIoU {best['metrics']['mIoU']:.4f}; curve {curve}")
PY
done
