#!/usr/bin/env bash
# Packs everything the GPU-machine run (scripts/device/run.sh) needs into one file:
#   .device/snn-bundle.tar.xz   (ignored; .gitignore names .device/)
# The GPU machine has no network and no Node, and at most 64 MiB travel with a `run` call, so the
# bundle carries: a stripped Node (this machine's, >= 20), the built dist/node and dist/bench, only
# linux-x64's dawn.node of the `webgpu` package, the tfjs-wasm .wasm binaries (tfjs-core and its
# backends are bundled into dist/bench/run.js), a trimmed vitest + vite + rolldown (to run
# test/gpu and test/e2e from their TypeScript sources), src/ test/ configs/ bin/, a small MNIST
# subset for the short S-MNIST training, and Debian's libvulkan1 .deb (the Vulkan loader).
# Nothing is downloaded on the GPU machine. Fails when the bundle is over 60 MiB.
#
#   scripts/device/pack.sh            build and pack
#   MNIST_TRAIN=20000 MNIST_TEST=2000 scripts/device/pack.sh   (samples carried; defaults shown)
# Then on the device: run(command='bash scripts/device/run.sh', carry=['.device']).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/.device"
stage="$out/stage/snn"
bundle="$out/snn-bundle.tar.xz"
limit=$((60 * 1024 * 1024))
data_dir="${SNN_DATA_DIR:-/work/shared/data}"
train_n="${MNIST_TRAIN:-20000}"
test_n="${MNIST_TEST:-2000}"

die() { echo "pack.sh: $*" >&2; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "this machine is $(uname -m); the GPU machine is x86-64 and needs x86-64 builds of node, dawn.node and rolldown (pack on x86-64)"
node_bin="$(command -v node)" || die "no node on PATH (need Node >= 20 to build and to carry)"
node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node on PATH is $("$node_bin" --version); need >= 20"
[ -d node_modules/vitest ] || die "node_modules/ lacks vitest: run npm ci first"
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || die "node_modules/webgpu/dist/linux-x64/dawn.node is missing (npm ci with the optional dependency webgpu)"
[ -d "$data_dir/mnist" ] || die "$data_dir/mnist not found (set SNN_DATA_DIR to the folder holding mnist/)"

# The Vulkan loader (device README recipe): downloaded here once into the ignored .gl/.
deb="$(ls .gl/libvulkan1_*_amd64.deb 2>/dev/null | head -1 || true)"
if [ -z "$deb" ]; then
  echo "pack.sh: downloading Debian's libvulkan1 (amd64) into .gl/"
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1) || die "could not download libvulkan1 with apt-get (see the device README)"
  deb="$(ls .gl/libvulkan1_*_amd64.deb | head -1)"
fi

rm -rf "$out/stage" "$out/build"
mkdir -p "$stage/app/node_modules" "$stage/bin" "$stage/deb"

echo "pack.sh: building dist/node and dist/bench into .device/build"
node scripts/build.mjs --bench --no-types --out=.device/build
[ -f .device/build/node/cli.js ] && [ -f .device/build/bench/run.js ] || die "the build wrote no .device/build/node/cli.js or bench/run.js"

# Node, stripped (xz happens once, on the whole tar).
cp "$node_bin" "$stage/bin/node"
strip "$stage/bin/node" 2>/dev/null || echo "pack.sh: strip failed; carrying node unstripped" >&2
cp "$deb" "$stage/deb/"

app="$stage/app"
mkdir -p "$app/dist"
cp -r .device/build/node .device/build/bench "$app/dist/"
cp package.json vitest.config.ts tsconfig.json "$app/"
cp -r bin configs src test "$app/"
[ -d shaders ] && cp -r shaders "$app/"
[ -d scripts/device ] && mkdir -p "$app/scripts" && cp -r scripts/device "$app/scripts/"
# The PyTorch peer, when it exists (bench/torch/peer.py and whatever sits beside it).
[ -d bench/torch ] && mkdir -p "$app/bench" && cp -r bench/torch "$app/bench/" && find "$app/bench/torch" -name __pycache__ -prune -exec rm -rf {} +

# node_modules: the test runner's packages (vitest's dependency tree), wgsl_reflect (a test
# imports it), webgpu with only linux-x64's dawn.node, and the tfjs-wasm binaries.
nm="$app/node_modules"
keep=(vitest @vitest vite rolldown @rolldown/binding-linux-x64-gnu @rolldown/pluginutils @oxc-project
  es-module-lexer expect-type magic-string @jridgewell obug pathe picomatch std-env tinybench tinyexec
  tinyglobby fdir tinyrainbow why-is-node-running siginfo stackback estree-walker chai assertion-error
  @standard-schema convert-source-map postcss nanoid picocolors source-map-js lightningcss detect-libc
  debug ms wgsl_reflect @webgpu)
for p in "${keep[@]}"; do
  [ -e "node_modules/$p" ] || continue
  mkdir -p "$nm/$(dirname "$p")"
  cp -r "node_modules/$p" "$nm/$p"
done
mkdir -p "$nm/webgpu/dist/linux-x64"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md "$nm/webgpu/"
cp node_modules/webgpu/dist/linux-x64/* "$nm/webgpu/dist/linux-x64/"
wasm_src=node_modules/@tensorflow/tfjs-backend-wasm/dist
ls "$wasm_src"/*.wasm >/dev/null 2>&1 || die "no .wasm files in $wasm_src"
mkdir -p "$stage/tfjs-wasm"
cp "$wasm_src"/*.wasm "$stage/tfjs-wasm/"
# Trim: no source maps, declarations, docs, or the packages' own TypeScript sources.
find "$nm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname 'README*' -o -iname 'CHANGELOG*' \) -type f -delete
# wgsl_reflect: only the module build the test imports.
if [ -d "$nm/wgsl_reflect" ]; then
  find "$nm/wgsl_reflect" -type f ! -name 'wgsl_reflect.module.js' ! -name package.json ! -name 'LICENSE*' -delete
  find "$nm/wgsl_reflect" -type d -empty -delete
fi

# MNIST: the first $train_n training and $test_n test images (valid IDX files, header counts fixed).
node scripts/device/mnist_subset.mjs "$data_dir/mnist" "$stage/data/mnist" "$train_n" "$test_n"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)"
{
  echo "commit: $commit${dirty:+-dirty}"
  echo "packed: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "node: $("$node_bin" --version)"
  echo "deb: $(basename "$deb")"
  echo "mnist: $train_n train, $test_n test"
  echo "sources: $(bash scripts/device/sources_hash.sh "$root")"
} > "$stage/BUNDLE_INFO.txt"

echo "pack.sh: sizes before compression (KiB):"
du -sk "$stage/bin/node" "$nm/webgpu" "$nm/@rolldown" "$nm" "$stage/tfjs-wasm" "$app/dist" "$stage/data" "$app/src" "$app/test" | sed 's/^/  /'

tar -C "$out/stage" -cf - snn | xz -6 -T0 > "$bundle.tmp"
mv "$bundle.tmp" "$bundle"
rm -rf "$out/stage" "$out/build"
size="$(stat -c %s "$bundle")"
echo "pack.sh: $bundle: $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB; limit 60 MiB)"
[ "$size" -le "$limit" ] || die "bundle is $size bytes, over the 60 MiB limit ($limit bytes): carry less (smaller MNIST_TRAIN, fewer packages)"
