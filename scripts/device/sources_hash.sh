#!/usr/bin/env bash
# One hash of the sources the bundle is built from (src, bench, test, configs, bin, scripts/build.mjs,
# package.json) under ROOT: pack.sh records it, run.sh compares it with the checkout's.
#   bash scripts/device/sources_hash.sh ROOT
set -euo pipefail
cd "${1:-.}"
find src bench test configs bin scripts/build.mjs package.json -type f ! -path '*/__pycache__/*' 2>/dev/null | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-16
