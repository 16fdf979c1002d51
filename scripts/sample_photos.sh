#!/usr/bin/env bash
# Unpacks the sample photographs that Debian's python3-skimage package ships (public-domain and
# CC0 images: astronaut, chelsea, coffee, rocket, brick, grass, gravel, ...) into
# .cache/sample-photos, for `lidere sample-data`. Only the .deb is fetched (apt-get download,
# no root, none of its 140 dependencies) and only its data/ folder is kept. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/sample-photos
if [[ -f $out/astronaut.png && -f $out/gravel.png ]]; then
  echo "$out"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download python3-skimage >/dev/null 2>&1) || { echo "apt-get download python3-skimage failed (is apt reachable?)" >&2; exit 1; }
dpkg-deb -x "$work"/python3-skimage_*.deb "$work/root"
mkdir -p "$out"
cp "$work"/root/usr/lib/python3/dist-packages/skimage/data/*.{png,jpg} "$out"/
echo "$out"
