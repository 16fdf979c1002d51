#!/usr/bin/env bash
# The unit tests and the fuzz targets under AddressSanitizer + UBSan, in build-asan/ (part of the
# README's test command, scripts/test.sh). Extra arguments go to ctest, e.g.
#   bash scripts/asan.sh -L golden        the golden tests too (slow under ASan)
#   bash scripts/asan.sh -L fuzz          only the fuzzers (add -L slow for their long runs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# LibTorch is not instrumented; its allocator and leak-free-at-exit globals are not our bugs. The
# build needs these too: it runs the test binary to list its test cases.
# allocator_may_return_null: libmatio allocates what a damaged .mat file claims (36 TB once, in the
# fuzz run) and checks for the null that glibc returns; ASan's default aborts on any request over
# 1 TB instead. datasets/mat5_structure.cpp now refuses such MAT 5 arrays before libmatio; this
# covers what it does not walk (sparse and text arrays, MAT 7.3). A failed allocation in our own
# code still fails the test (bad_alloc / c10 error).
export ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIDERE_ASAN=ON -DLIDERE_CUDA=OFF \
  -DLIDERE_WERROR=OFF >/dev/null  # -Wmaybe-uninitialized misfires on LibTorch headers under the sanitizers
targets=(lidere_tests)
while read -r fuzzer; do targets+=("$fuzzer"); done < <(ninja -C build-asan -t targets all | sed -n 's/^\(fuzz_[a-z_]*\): phony$/\1/p')
cmake --build build-asan --target "${targets[@]}"
if (($# == 0)); then set -- -L 'unit|fuzz' -LE slow; fi
ctest --test-dir build-asan --output-on-failure -j 2 "$@"
