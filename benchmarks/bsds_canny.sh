#!/usr/bin/env bash
# OpenCV's Canny on BSDS500 val, scored by our BSDS boundary benchmark (99 thresholds, maximum
# distance 0.0075 of the diagonal, thinning): the classical baseline of docs/results.md, and the
# timing of `lidere eval --task boundary` on all 100 val images.
#   bash benchmarks/bsds_canny.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bsds="${LIDERE_SHARED_DIR:-$root/../shared}/datasets/bsds500"
out="${1:-$root/runs/boundary/canny_val}"
build="${LIDERE_BUILD_DIR:-$root/build}"
"$build/benchmarks/canny_boundaries" "$bsds/images/val" "$out/maps"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
start=$(date +%s)
"$build/apps/lidere/lidere" eval --task boundary --pred "$out/maps" --gt "$bsds/groundTruth/val" --out "$out/eval"
echo "scored in $(($(date +%s) - start)) s"
