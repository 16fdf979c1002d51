#!/usr/bin/env bash
# The Step 4 GPU check, as one run on the GPU machine (device tool, carry [".device"]):
#   1. the [cuda] tests (kernels against the reference: float64, float32, bf16, determinism, memory)
#   2. benchmarks/interp.sh cuda (512 and 1024 px, batch 1/8/32, official/reference/factorized/cuda)
#   3. training parity: the same short training run with the reference and with the kernels (the
#      sample dataset packed, EfficientNet-Lite0, 300 iterations), three seeds each
# Results and logs go to $OUT.
#
# Prepare here first:  bash scripts/prepare_device_check.sh
# It builds lidere and lidere_tests without OpenCV (the GPU machine has LibTorch and nothing of
# ours), strips them into .device/bin, and packs the data and the backbone weights into
# .device/data. If the carried binaries cannot start there, this script builds from source there
# (header-only dependencies from .device/debs).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/.device/out}"
mkdir -p "$out"
torch_lib="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$torch_lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export LIDERE_EFFNET_LITE0_WEIGHTS="$root/.device/data/efficientnet-lite0.pth"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"

bin="$root/.device/bin"
if ! "$bin/lidere" --version >"$out/version.txt" 2>&1; then
  echo "carried binaries do not start here ($(cat "$out/version.txt")); building from source" | tee -a "$out/build.log"
  deps=/tmp/lidere-deps
  mkdir -p "$deps"
  for deb in .device/debs/*.deb; do dpkg -x "$deb" "$deps"; done
  cmake -S . -B build-device -G Ninja -DCMAKE_PREFIX_PATH="$deps/usr" -DLIDERE_CUDA=ON -DLIDERE_WITH_OPENCV=OFF \
    >>"$out/build.log" 2>&1 && cmake --build build-device -j 16 --target lidere lidere_tests >>"$out/build.log" 2>&1
  bin="$root/build-device/apps/lidere"
  cp build-device/tests/lidere_tests "$bin/" 2>/dev/null
fi

echo "== [cuda] tests"
timeout 150 "$bin/lidere_tests" "[cuda]" --durations yes -s 2>&1 | grep -v "^  *$" >"$out/cuda_tests.log"
tail -5 "$out/cuda_tests.log"

echo "== interp benchmark"
LIDERE_BIN="$bin/lidere" timeout 240 bash benchmarks/interp.sh cuda 2>&1 | tee "$out/bench_interp_cuda.txt"

echo "== training parity (reference vs kernels)"
# Every packed dataset in .device/data (prepare_device_check.sh packs the sample data at 256 px;
# PACK_SIZE=512 packs at 512 px), seeds from $SEEDS, $ITERATIONS iterations.
# SKIP_TRAIN=1 leaves this part out.
[[ ${SKIP_TRAIN:-0} == 1 ]] && exit 0
for pack in .device/data/packed*.safetensors; do
  for seed in ${SEEDS:-0 1 2}; do
    for interp in reference auto; do
      name="$(basename "$pack" .safetensors)-$interp-$seed"
      timeout 90 "$bin/lidere" bench train --packed "$pack" --device cuda --interp "$interp" \
        --iterations "${ITERATIONS:-300}" --batch 8 --lr 0.01 --val-every 100 --seed "$seed" --project /tmp/runs \
        --name "$name" --json 2>&1 | tail -1 | tee -a "$out/train_parity.jsonl"
    done
  done
done
exit 0
