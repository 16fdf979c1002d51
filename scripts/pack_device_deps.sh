#!/usr/bin/env bash
# Here, before a GPU check: downloads the header-only dependencies (CLI11, nlohmann-json, Catch2)
# as .deb files into .device/debs, for `device run ... carry=[".device"]`. The GPU machine has
# LibTorch, nvcc, cmake and ninja but none of our Debian packages and no network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/.device/debs"
cd "$root/.device/debs"
apt-get download libcli11-dev nlohmann-json3-dev catch2 >/dev/null
ls -1 "$root/.device/debs"
