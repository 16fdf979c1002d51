#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UBSan in build-asan/ and runs the safetensors
# fuzzer and the [unit] tests under it (the golden tests are slow under ASan; pass "[golden]" to
# run them too).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLIDERE_ASAN=ON -DLIDERE_CUDA=OFF
cmake --build build-asan
# LibTorch is not instrumented; its allocator and leak-free-at-exit globals are not our bugs.
export ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/tests/safetensors_fuzz 50000
LIDERE_SHARED_DIR="${LIDERE_SHARED_DIR:-$root/../shared}" LIDERE_PYTHON="$root/.venv/bin/python" \
  build-asan/tests/lidere_tests "${1:-[unit]}"
