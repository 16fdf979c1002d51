#!/usr/bin/env bash
# On the GPU machine: unpacks the carried .debs, builds against that machine's own LibTorch
# (python3's torch), runs the CUDA tests and the unit tests, then the Step 4 benchmark
# (benchmarks/interp.sh on cuda), and writes logs to $OUT.
#   here:  bash scripts/pack_device_deps.sh
#   there: bash scripts/device_check.sh          (device run, carry .device)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/.device/out}"
mkdir -p "$out"
deps=/tmp/lidere-deps
mkdir -p "$deps"
for deb in .device/debs/*.deb; do dpkg -x "$deb" "$deps"; done
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  cmake -S . -B build-device -G Ninja -DCMAKE_PREFIX_PATH="$deps/usr" -DLIDERE_CUDA=ON -DLIDERE_WITH_OPENCV=OFF \
    -DLIDERE_SHARED_DIR="$root/shared" &&
    cmake --build build-device -j 16 &&
    ctest --test-dir build-device --output-on-failure -L 'cuda|unit'
} 2>&1 | tee "$out/device_check.log"
status="${PIPESTATUS[0]}"
LIDERE_BIN=build-device/apps/lidere/lidere bash benchmarks/interp.sh cuda 2>&1 | tee "$out/bench_interp_cuda.log"
exit "$status"
