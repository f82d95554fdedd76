#!/usr/bin/env bash
# Rehearsal of the GPU-machine run, here: unpack .device/snn-bundle.tar.xz into an empty folder and
# run its scripts/device/run.sh there, with a PATH that holds no node, npm or npx, without the
# checkout's node_modules (the folder is outside the checkout; the environment is emptied), on
# SwiftShader, with SNN_DEVICE_QUICK=1 (short steps), and with the carried libvulkan1 .deb
# unpacked under the bundle (SNN_DEVICE_FORCE_DEB=1) rather than the system's loader.
#
#   scripts/device/rehearse.sh           (packs first when there is no bundle)
#   PACK=1 scripts/device/rehearse.sh    (packs again first)
#   SNN_REHEARSE_PYTHONPATH=/path/to/torch/site scripts/device/rehearse.sh
#                                        (a CPU PyTorch for the peer step; without it that step is skipped)
# Output: .device/rehearsal-out/ (summary.txt, results.jsonl, logs.tar.xz) and
# .device/rehearsal.log. Exit code: run.sh's (0 when every step passed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$root/.device/snn-bundle.tar.xz"
if [ "${PACK:-0}" = 1 ] || [ ! -f "$bundle" ]; then bash "$root/scripts/device/pack.sh"; fi

dir="$(mktemp -d /tmp/snn-rehearse.XXXXXX)"
out="$root/.device/rehearsal-out"
rm -rf "$out" && mkdir -p "$out"
tar -C "$dir" -xJf "$bundle"
# On the device run.sh, adapter.mjs and summary.mjs run from the checkout: use the checkout's here too.
cp "$root"/scripts/device/* "$dir/snn/app/scripts/device/"

# A PATH without node/npm/npx/corepack: links to everything else in /usr/bin, /usr/sbin, /usr/local/bin.
bin="$dir/path"
mkdir -p "$bin"
for d in /usr/local/bin /usr/bin /usr/sbin /sbin /bin; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n="$(basename "$f")"
    case "$n" in node | nodejs | npm | npx | corepack) continue ;; esac
    [ -x "$f" ] && [ ! -e "$bin/$n" ] && ln -s "$f" "$bin/$n"
  done
done
if env -i PATH="$bin" bash -c 'command -v node || command -v npm || command -v npx'; then
  echo "rehearse.sh: the PATH still holds node or npm" >&2
  exit 1
fi

echo "rehearse.sh: bundle unpacked into $dir; running run.sh there (SwiftShader, quick)"
set +e
(cd "$dir" && env -i HOME="$dir" PATH="$bin" OUT="$out" SNN_DEVICE_QUICK="${SNN_DEVICE_QUICK:-1}" SNN_DEVICE_FORCE_DEB=1 \
  SNN_ADAPTER="${SNN_ADAPTER:-swiftshader}" SNN_DEVICE_BUDGET_S="${SNN_DEVICE_BUDGET_S:-2400}" \
  ${SNN_REHEARSE_PYTHONPATH:+PYTHONPATH="$SNN_REHEARSE_PYTHONPATH"} ${SNN_DEVICE_STEPS:+SNN_DEVICE_STEPS="$SNN_DEVICE_STEPS"} ${SNN_DEVICE_TESTS:+SNN_DEVICE_TESTS="$SNN_DEVICE_TESTS"} ${SNN_DEVICE_TESTS_LIMIT:+SNN_DEVICE_TESTS_LIMIT="$SNN_DEVICE_TESTS_LIMIT"} \
  bash "$dir/snn/app/scripts/device/run.sh") 2>&1 | tee "$root/.device/rehearsal.log"
rc=${PIPESTATUS[0]}
set -e
echo "rehearse.sh: run.sh exited $rc; $out holds $(ls "$out" | tr '\n' ' ')(at most 8 files come back from a device run)"
[ "$(ls "$out" | wc -l)" -le 8 ] || { echo "rehearse.sh: more than 8 files in OUT" >&2; rc=1; }
rm -rf "$dir"
exit "$rc"
