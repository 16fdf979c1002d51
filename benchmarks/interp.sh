#!/usr/bin/env bash
# The prior+attention op at the readout's real shapes: official formulation, reference,
# factorised path (and the CUDA kernel on cuda). Time per image (forward, forward+backward) and
# peak memory, each case in its own process (lidere bench interp).
#   bash benchmarks/interp.sh          CPU: 512 px, batch 1, 8 and 32 (cases that would not fit are skipped)
#   bash benchmarks/interp.sh cuda     GPU: 512 and 1024 px, batch 1, 8 and 32, with the CUDA kernel
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${LIDERE_BIN:-$root/build/apps/lidere/lidere}"
device="${1:-cpu}"
if [[ $device == cpu ]]; then
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  "$bin" bench interp --sizes 512 --batches 1,8,32 --repeat 3
else
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
  "$bin" bench interp --device "$device" --sizes 512,1024 --batches 1,8,32 --paths official,reference,factorized,cuda --repeat 5
fi
