#!/usr/bin/env bash
# The README's test command: sets up a fresh machine (idempotent), builds and runs the suite, then
# the unit and fuzz tests again under AddressSanitizer + UBSan (scripts/asan.sh). Tests labelled
# slow are left out (docs/cli.md, "Tests", says how to run them); LIDERE_SKIP_ASAN=1 leaves out the
# sanitizer run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j 2 -LE slow
if [[ "${LIDERE_SKIP_ASAN:-0}" != 1 ]]; then bash scripts/asan.sh; fi
