#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (a software Vulkan driver that Dawn accepts) into an ignored folder of
# the repository, leaving the system's packages alone. Debian 12 only.
#
#   bash scripts/install_lavapipe.sh [FOLDER]        (default: .gl/lavapipe in the repository)
#
# Debian 12's own lavapipe (Mesa 22.3) is rejected by Dawn; bookworm-backports has
# mesa-vulkan-drivers 25.x, which works. This script `apt-get download`s it (and the libdrm2 /
# libdrm-amdgpu1 of the same suite, which it declares) with a private source list and private apt
# state, unpacks them with `dpkg -x` into FOLDER/root, and writes FOLDER/lvp_icd.json, a copy of
# the package's ICD manifest whose library_path is absolute. The engine finds that file when
# lavapipe is asked for (`--adapter lavapipe`, SNN_ADAPTER=lavapipe, Engine.create({ adapterName:
# 'lavapipe' })); VK_ICD_FILENAMES=FOLDER/lvp_icd.json selects it for any Vulkan program.
#
# The driver links against Debian 12's own libraries (libllvm15, libxcb*, libwayland-client0, …);
# those that are not installed are installed from the system's usual sources (as root), or named.
# The libdrm symbols lavapipe uses are all in Debian 12's libdrm2 (checked below), so the
# backported libdrm is unpacked but LD_LIBRARY_PATH is not needed; if the check ever finds one
# missing, it says to set LD_LIBRARY_PATH=FOLDER/root/usr/lib/<arch>.
#
# Idempotent: does nothing when FOLDER/lvp_icd.json and its library are already there.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$repo/.gl/lavapipe}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
icd="$dest/lvp_icd.json"
say() { echo "install_lavapipe: $*"; }
fail() { echo "install_lavapipe: error: $*" >&2; exit 1; }

multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")"
lib="$dest/root/usr/lib/$multiarch/libvulkan_lvp.so"
if [ -f "$icd" ] && [ -f "$lib" ]; then
  say "already installed: $icd"
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || fail "needs Debian's apt-get and dpkg (this recipe is for Debian 12)"
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
[ "$codename" = bookworm ] || fail "this is for Debian 12 (bookworm), found '${codename:-unknown}'. Elsewhere install a Mesa ≥ 24 lavapipe with your package manager and set VK_ICD_FILENAMES to its lvp_icd json."

# The mirror and keyring of the system's own Debian entry (deb822 or one-line format).
uri="" keyring=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  uri="$(awk '/^URIs:/ && !done { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; done = 1; exit } }' /etc/apt/sources.list.d/debian.sources)"
  keyring="$(awk '/^Signed-By:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
fi
uri="${uri:-http://deb.debian.org/debian}"
keyring="${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"
[ -f "$keyring" ] || fail "the Debian archive keyring $keyring is missing (apt-get install -y debian-archive-keyring)"

apt_dir="$dest/apt"
rm -rf "$apt_dir" "$dest/root" "$dest/debs"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/debs" "$dest/root"
echo "deb [signed-by=$keyring] $uri bookworm-backports main" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root
)
say "reading bookworm-backports from $uri"
apt-get "${apt_opts[@]}" update -qq || fail "apt-get update of bookworm-backports ($uri) failed"
(cd "$dest/debs" && apt-get "${apt_opts[@]}" download -qq mesa-vulkan-drivers libdrm2 libdrm-amdgpu1) ||
  fail "apt-get download of mesa-vulkan-drivers libdrm2 libdrm-amdgpu1 from bookworm-backports failed"
mesa_deb="$(ls "$dest"/debs/mesa-vulkan-drivers_*.deb)"
version="$(dpkg-deb -f "$mesa_deb" Version)"
dpkg --compare-versions "$version" ge 24 || fail "bookworm-backports offers mesa-vulkan-drivers $version; Dawn needs Mesa ≥ 24"
for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest/root"; done
[ -f "$lib" ] || fail "mesa-vulkan-drivers $version has no $lib"
# Only lavapipe is used: drop the package's other drivers and its layers (two thirds of its size).
find "$dest/root/usr/lib" -name 'libvulkan_*.so' ! -name libvulkan_lvp.so -delete
find "$dest/root/usr/lib" -name 'libVkLayer_*.so' -delete
rm -rf "$dest/root/usr/share/vulkan/explicit_layer.d" "$dest/root/usr/share/vulkan/implicit_layer.d"

# Debian 12 libraries the driver links against, installed from the system's sources when missing.
missing=()
for dep in $(dpkg-deb -f "$mesa_deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' | tr -d ' '); do
  [ -n "$dep" ] || continue
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || missing+=("$dep")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing the Debian 12 libraries lavapipe links against: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      fail "apt-get install ${missing[*]} failed"
  else
    fail "lavapipe links against Debian 12 packages that are not installed; run: sudo apt-get install -y ${missing[*]}"
  fi
fi
if ldd "$lib" | grep -q 'not found'; then
  fail "$lib cannot load: $(ldd "$lib" | grep 'not found' | tr -s ' \t' ' ')"
fi

# Every libdrm symbol the driver uses must be in the libdrm the loader picks without LD_LIBRARY_PATH.
sysdrm="$(ldd "$lib" | awk '$1 == "libdrm.so.2" { print $3 }')"
if [ -n "$sysdrm" ] && command -v nm >/dev/null; then
  need="$(nm -D --undefined-only "$lib" | awk '$2 ~ /^drm/ { print $2 }' | sort -u)"
  have="$(nm -D --defined-only "$sysdrm" | awk '{ print $3 }' | sort -u)"
  lacking="$(comm -23 <(echo "$need") <(echo "$have") | tr '\n' ' ')"
  if [ -n "${lacking// /}" ]; then
    say "warning: $sysdrm lacks $lacking: start programs with LD_LIBRARY_PATH=$dest/root/usr/lib/$multiarch"
  fi
fi

# The manifest, with the library's absolute path.
src_icd="$dest/root/usr/share/vulkan/icd.d/lvp_icd.json"
[ -f "$src_icd" ] || src_icd="$(ls "$dest"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)"
sed -E "s#\"library_path\"[[:space:]]*:[[:space:]]*\"[^\"]*\"#\"library_path\": \"$lib\"#" "$src_icd" >"$icd.tmp"
grep -q "\"library_path\": \"$lib\"" "$icd.tmp" || fail "could not rewrite library_path in $src_icd"
mv "$icd.tmp" "$icd"
rm -rf "$apt_dir" "$dest/debs"
say "installed lavapipe (mesa-vulkan-drivers $version): $icd"
say "select it with --adapter lavapipe or SNN_ADAPTER=lavapipe (or VK_ICD_FILENAMES=$icd)"
