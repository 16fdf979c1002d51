#!/usr/bin/env bash
# Feature-extraction images/s at 512 px for EfficientNet-Lite0 (real weights) and a DINOv3
# ViT-S/16 (random weights written by transformers: speed does not depend on the values).
# Run after scripts/build.sh; prints one JSON line per backbone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/benchmarks/backbone_throughput"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$root/.venv/bin/python" - "$tmp/vits16" <<'PY'
import sys
from transformers import DINOv3ViTConfig, DINOv3ViTModel
DINOv3ViTModel(DINOv3ViTConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                               num_register_tokens=4, patch_size=16)).save_pretrained(sys.argv[1])
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$bin" efficientnet-lite0 512 4 5
"$bin" "$tmp/vits16" 512 4 3

# A training epoch (16 BSDS500 photographs, batch 4) with and without the feature cache.
images="${LIDERE_SHARED_DIR:-$root/../shared}/datasets/bsds500/images/train"
"$root/build/benchmarks/cache_epoch" "$images" 256 16 4
"$root/build/benchmarks/cache_epoch" "$images" 512 16 4
