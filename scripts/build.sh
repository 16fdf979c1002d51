#!/usr/bin/env bash
# Sets up the machine (idempotent) and builds lidere into build/. Extra arguments go to CMake.
# LIDERE_BUILD_TARGET=lidere builds only the command-line tool (the main job needs no tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
cmake -S . -B build -G Ninja -DLIDERE_WERROR=ON "$@"
cmake --build build ${LIDERE_BUILD_TARGET:+--target "$LIDERE_BUILD_TARGET"}
