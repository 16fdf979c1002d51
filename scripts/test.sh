#!/usr/bin/env bash
# The README's test command: sets up a fresh machine (idempotent), builds and runs the suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j 2
