#!/usr/bin/env bash
# The GPU-machine run (issue 12): unpack the bundle of scripts/device/pack.sh, set up Node and
# Vulkan, name the adapter, then run each step under its own time limit and print one summary.
#
# On the device (from the checkout root; the bundle travels as the carried .device/):
#   run(command='bash scripts/device/run.sh', carry=['.device'], timeout_s=540)
# Rehearsal here: scripts/device/rehearse.sh (SwiftShader, SNN_DEVICE_QUICK=1).
#
# What comes back ($OUT, at most 8 files): summary.txt (the table), results.jsonl (every JSON line
# of every step, tagged {"step": …}), logs.tar.xz (every step's full log, the vitest report, the
# training's metrics.jsonl and config.json).
#
# Environment: OUT (default ./device-out), SNN_DEVICE_QUICK=1 (short steps, for the rehearsal),
# SNN_DEVICE_BUDGET_S (all steps together, default 465 s; each step also has its own limit),
# SNN_DEVICE_WORK (where the bundle is unpacked, default /tmp/snn-device), SNN_BUNDLE (the bundle,
# default .device/snn-bundle.tar.xz), SNN_ADAPTER (default: nvidia when NVIDIA's Vulkan ICD is
# found), SNN_DEVICE_TESTS (test files or folders, default test/gpu test/e2e), SNN_DEVICE_STEPS
# (space-separated step names to run, default all).

# ---- The PyTorch peer (bench/torch/peer.py): the lead fills in its command line. It runs in the
# bundle's app folder (bin/webgpu-snn.js and dist/ are there; the checkout's bench/torch/ is copied
# over the bundle's first, when there is one), with PEER_OUT set to a folder for its files; its
# stdout JSON lines go to results.jsonl. SNN_DEVICE_QUICK is exported for it.
# Parity first (five SPEC §7 cases, ours against the peer, one of them compiled too), then timing;
# reduce-overhead (CUDA graphs) compiles each case once. Run through bash -c (the quotes matter).
TORCH_PEER_CMD='python3 bench/torch/peer.py selfcheck --our "node bin/webgpu-snn.js" --device cuda --compiled-cases 1 && python3 bench/torch/peer.py bench --device cuda --json --compile-mode reduce-overhead'
TORCH_PEER_CMD_QUICK='python3 bench/torch/peer.py selfcheck --our "node bin/webgpu-snn.js" --device cpu --compiled-cases 0 && python3 bench/torch/peer.py bench --device cpu --quick --json'
TORCH_PEER_LIMIT_S=90   # its time limit on the GPU machine (each torch.compile takes tens of seconds)
# ---- The short S-MNIST FPTT training on the carried MNIST subset (20000 train, 2000 test).
TRAIN_ARGS='smnist --subset 20000 --test-subset 2000 --eval-every 5 --log-every 1 --iterations 100000 --checkpoint-every 0'
TRAIN_ARGS_QUICK='smnist --subset 64 --test-subset 32 --batch 16 --hidden 16 --iterations 2 --eval-every 1 --log-every 1 --checkpoint-every 0'

set -uo pipefail
start_all=$(date +%s)
quick="${SNN_DEVICE_QUICK:-0}"
budget="${SNN_DEVICE_BUDGET_S:-465}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkout="$(pwd)"
OUT="${OUT:-$checkout/device-out}"
mkdir -p "$OUT"

say() { echo "[run.sh $(( $(date +%s) - start_all ))s] $*"; }
fatal() {
  say "FATAL: $*"
  { echo "run.sh stopped before the steps: $*"; } >> "$OUT/summary.txt"
  [ -n "${logs:-}" ] && [ -d "$logs" ] && tar -C "$(dirname "$logs")" -czf "$OUT/logs.tar.gz" "$(basename "$logs")" 2>/dev/null
  exit 1
}

# ---- 1. The bundle: either this script runs inside an unpacked one (the rehearsal), or unpack it.
if [ -f "$here/../../../BUNDLE_INFO.txt" ]; then
  snn="$(cd "$here/../../.." && pwd)"
else
  bundle="${SNN_BUNDLE:-$checkout/.device/snn-bundle.tar.xz}"
  [ -f "$bundle" ] || fatal "no bundle at $bundle (run scripts/device/pack.sh here first and carry .device)"
  work="${SNN_DEVICE_WORK:-/tmp/snn-device}"
  rm -rf "$work" && mkdir -p "$work" || fatal "cannot make $work"
  say "unpacking $bundle into $work"
  if command -v xz >/dev/null 2>&1; then
    tar -C "$work" -xJf "$bundle" || fatal "could not unpack $bundle"
  else # no xz there: python3's lzma
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle" | tar -C "$work" -xf - || fatal "could not unpack $bundle (no xz; python3 lzma failed)"
  fi
  snn="$work/snn"
fi
app="$snn/app"
logs="$snn/logs"
rm -rf "$logs" && mkdir -p "$logs/train"
: > "$logs/steps.tsv"
info="$logs/info.txt"
{
  echo "webgpu-snn device run ($( [ "$quick" = 1 ] && echo "SNN_DEVICE_QUICK=1: shortened steps" || echo full )), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  sed 's/^/bundle /' "$snn/BUNDLE_INFO.txt"
  echo "host: $(uname -srm); $(nproc) CPUs; $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  command -v nvidia-smi >/dev/null && echo "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
} > "$info"
# A bundle packed from other sources than this checkout's (run.sh runs from the checkout on the device).
if [ -d "$checkout/src" ] && [ -f "$here/sources_hash.sh" ]; then
  want="$(sed -n 's/^sources: //p' "$snn/BUNDLE_INFO.txt")"
  have="$(bash "$here/sources_hash.sh" "$checkout" 2>/dev/null)"
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    echo "WARNING: the bundle was packed from other sources than this checkout's (src, bench, test, configs, bin, scripts/build.mjs): run scripts/device/pack.sh again" | tee -a "$info"
  fi
fi

# dpkg -x DEB DIR, or (no dpkg) the same with python3: a .deb is an ar archive holding data.tar.*.
deb_x() {
  if command -v dpkg >/dev/null 2>&1; then dpkg -x "$1" "$2"; return; fi
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'!<arch>\n', f'{sys.argv[1]}: not an ar archive'
i = 8
while i < len(data):
    name, size = data[i:i + 16].decode().strip().rstrip('/'), int(data[i + 48:i + 58])
    body = data[i + 60:i + 60 + size]
    if name.startswith('data.tar'):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
        sys.exit(0)
    i += 60 + size + (size & 1)
sys.exit(f'{sys.argv[1]}: no data.tar member')
PY
}

# ---- 2. The Vulkan loader: Debian's libvulkan1, carried, when the system has none.
# SNN_DEVICE_FORCE_DEB=1 (the rehearsal) uses the carried one even so, unpacked under the bundle.
if [ "${SNN_DEVICE_FORCE_DEB:-0}" != 1 ] && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  echo "vulkan loader: the system's ($(ldconfig -p | grep 'libvulkan\.so\.1 ' | head -1 | sed 's/.*=> //'))" >> "$info"
else
  deb="$(ls "$snn"/deb/libvulkan1_*.deb 2>/dev/null | head -1)"
  [ -n "$deb" ] || fatal "no libvulkan.so.1 on this machine and no libvulkan1 .deb in the bundle"
  if [ "$(id -u)" = 0 ] && [ "${SNN_DEVICE_FORCE_DEB:-0}" != 1 ]; then
    deb_x "$deb" / && ldconfig || fatal "unpacking $deb into / failed"
    echo "vulkan loader: $(basename "$deb") unpacked into / (ldconfig)" >> "$info"
  else
    mkdir -p "$snn/vk" && deb_x "$deb" "$snn/vk" || fatal "unpacking $deb into $snn/vk failed"
    export LD_LIBRARY_PATH="$snn/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "vulkan loader: $(basename "$deb") unpacked into $snn/vk (LD_LIBRARY_PATH)" >> "$info"
  fi
fi

# ---- 3. Node: one on PATH if it is >= 20, else the carried one.
node_bin=""
if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
  node_bin="$(command -v node)"
else
  node_bin="$snn/bin/node"
  [ -x "$node_bin" ] || fatal "no Node >= 20 on PATH and no carried node at $node_bin"
fi
export PATH="$(dirname "$node_bin"):$PATH"
echo "node: $node_bin ($("$node_bin" --version))" >> "$info"

# ---- 4. The Vulkan driver: NVIDIA's ICD when there is one (else Dawn's own choice).
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d; do
    if [ -f "$d/nvidia_icd.json" ]; then
      export VK_ICD_FILENAMES="$d/nvidia_icd.json" VK_DRIVER_FILES="$d/nvidia_icd.json"
      break
    fi
  done
  if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -e /dev/nvidia0 ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_ICD_FILENAMES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
if [ -z "${SNN_ADAPTER:-}" ]; then
  case "${VK_ICD_FILENAMES:-}" in *nvidia*) export SNN_ADAPTER=nvidia ;; esac
fi
echo "vulkan driver: VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset, the engine and Dawn choose}; SNN_ADAPTER=${SNN_ADAPTER:-unset, the default adapter}" >> "$info"
export TFJS_WASM_DIR="$snn/tfjs-wasm/" SNN_DATA_DIR="$snn/data" SNN_DEVICE_QUICK="$quick" NO_COLOR=1
# The kernel-tiling cache (src/kernels/tuning_cache.ts): measured once (the tune step, else the
# first engine that needs it, <= 20 s), then read by every later step; it comes back in the logs.
export SNN_TUNING_CACHE="$logs/tuning.json"
cat "$info"

# ---- Steps. step NAME REQUIRED LIMIT_S CMD… runs CMD in $app under `timeout`, stdout to
# logs/NAME.jsonl, stderr to logs/NAME.log; the limit is cut to what is left of the budget.
wanted_steps="${SNN_DEVICE_STEPS:-}"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$logs/steps.tsv"; }
step() {
  local name="$1" required="$2" lim="$3"; shift 3
  if [ -n "$wanted_steps" ] && ! [[ " $wanted_steps " == *" $name "* ]]; then record "$name" -1 0 0 "not in SNN_DEVICE_STEPS"; return 0; fi
  local left=$(( budget - ($(date +%s) - start_all) - 25 ))
  [ "$lim" -gt "$left" ] && lim=$left
  if [ "$lim" -lt 10 ]; then say "$name: skipped, no time left in the ${budget} s budget"; record "$name" -1 0 0 "no time left in the ${budget} s budget${required:+ (required)}"; return 0; fi
  say "$name (limit ${lim} s): $*"
  local t0=$(date +%s) rc
  # SIGTERM at the limit, SIGKILL 20 s later (the training checkpoints on SIGTERM).
  ( cd "$app" && timeout -k 20 "$lim" "$@" ) > "$logs/$name.jsonl" 2> "$logs/$name.log"
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  say "$name: exit $rc after ${secs} s"
  [ "$rc" -ne 0 ] && tail -n 15 "$logs/$name.log" | sed 's/^/    /'
  record "$name" "$rc" "$secs" "$lim" ""
  return 0
}
q() { [ "$quick" = 1 ] && echo "$1" || echo "$2"; }

step adapter required 30 env SNN_AUTOTUNE=off node "$here/adapter.mjs" "$app/dist/node/index.js"

# The GPU test suite on that adapter (vitest, from the TypeScript sources). Tests fail, never
# skip, when the adapter is missing; SNN_ADAPTER makes them check they run on the one asked for.
tests="${SNN_DEVICE_TESTS:-$(q 'test/gpu/device.test.ts test/gpu/adapter_choice.test.ts test/gpu/elementwise.test.ts test/e2e/trace.test.ts' 'test/gpu test/e2e')}"
# shellcheck disable=SC2086
step tests required "${SNN_DEVICE_TESTS_LIMIT:-$(q 300 120)}" node node_modules/vitest/vitest.mjs run $tests --maxWorkers="$(q 1 4)" \
  --reporter=default --reporter=json --outputFile.json="$logs/tests.json"

if (cd "$app" && node bin/webgpu-snn.js tune --help >/dev/null 2>&1); then
  step tune "" "$(q 90 40)" node bin/webgpu-snn.js tune --json --budget "$(q 15 25)"
else
  record tune -1 0 0 "no \`webgpu-snn tune\` in this build (tune --help did not exit 0)"
fi

B="dist/bench/run.js"
step matmul "" "$(q 120 35)" node $B matmul --json $(q --quick "")
step step-profile "" "$(q 240 40)" node $B step --json --profile $(q --quick "")
# tfjs, full: its two backends in separate runs so that one hitting its limit keeps the other.
# (tfjs-cpu, the third, needs minutes per S-MNIST sequence and is left out here.)
step tfjs-webgpu "" "$(q 240 50)" node $B tfjs --json --backends=webgpu $(q --quick "")
step tfjs-wasm "" "$(q 240 30)" node $B tfjs --json --backends=wasm $(q --quick "")
step memory "" "$(q 120 25)" node $B memory --json $(q --quick "")

if [ -f "$checkout/bench/torch/peer.py" ] && [ "$checkout" != "$app" ]; then
  mkdir -p "$app/bench" && rm -rf "$app/bench/torch" && cp -r "$checkout/bench/torch" "$app/bench/torch"
fi
if [ ! -f "$app/bench/torch/peer.py" ]; then
  record torch-peer -1 0 0 "no bench/torch/peer.py (checkout or bundle)"
elif [ "$quick" = 1 ] && ! python3 -c 'import torch' >/dev/null 2>&1; then
  record torch-peer -1 0 0 "python3 here has no torch (SNN_DEVICE_QUICK=1; on the GPU machine this fails instead)"
else
  mkdir -p "$logs/torch"
  export PEER_OUT="$logs/torch"
  # shellcheck disable=SC2086
  step torch-peer "" "$(q 120 "$TORCH_PEER_LIMIT_S")" env PYTHONUNBUFFERED=1 bash -c "$(q "$TORCH_PEER_CMD_QUICK" "$TORCH_PEER_CMD")"
fi

# The short S-MNIST FPTT training: stopped by its limit (SIGTERM: it checkpoints and exits 143).
# shellcheck disable=SC2046
step train "" "$(q 240 100)" node bin/webgpu-snn.js train $(q "$TRAIN_ARGS_QUICK" "$TRAIN_ARGS") --data "$snn/data" --out "$logs/train" --force

# ---- Summary: summary.txt, results.jsonl, logs.tar.xz (3 files in $OUT).
node "$here/summary.mjs" "$logs" "$OUT"
status=$?
rm -f "$logs/train/checkpoint.safetensors"
if command -v xz >/dev/null 2>&1; then tar -C "$snn" -cJf "$OUT/logs.tar.xz" logs
else python3 -c 'import sys, tarfile; t = tarfile.open(sys.argv[1], "w:xz"); t.add(sys.argv[2], "logs"); t.close()' "$OUT/logs.tar.xz" "$logs"; fi
say "done in $(( $(date +%s) - start_all )) s; $OUT holds: $(ls "$OUT" | tr '\n' ' ')"
exit $status
