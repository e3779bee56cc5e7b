#!/usr/bin/env bash
# Packs the GPU bench bundle: bench/gpu.sh with everything it needs on a Linux x86-64 machine with an
# NVIDIA GPU and no network — this machine's Node (stripped), the `webgpu` package's Dawn build,
# the Vulkan loader (Debian's libvulkan1), libstdc++/libgcc_s for systems without them, the bench
# bundled into one file and bench:peers' Node host into another, with onnxruntime-web's WebGPU
# build beside it (bench/pack-gpu.ts; it installs bench/peers first). At most 64 MiB, xz-compressed.
#   bash bench/pack-gpu.sh [OUT.tar.xz]      (default bench/strata-gpu.tar.xz; XZ_LEVEL=0…9, default 6)
# On the GPU machine: tar -xJf strata-gpu.tar.xz && strata-gpu/gpu.sh --out results.json
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-bench/strata-gpu.tar.xz}")"
limit=$((64 * 1024 * 1024))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
b="$work/strata-gpu"
mkdir -p "$b/bin" "$b/lib/compat" "$b/node_modules/webgpu/dist/linux-x64"

# Node: the binary running this script, without its symbol tables.
node_bin="$(command -v node)"
strip --strip-all -o "$b/bin/node" "$node_bin" 2>/dev/null || cp "$node_bin" "$b/bin/node"

# Dawn: the webgpu package's entry, its manifest and licence, and the linux-x64 build only.
w=node_modules/webgpu
cp "$w/index.js" "$w/package.json" "$w/LICENSE.md" "$b/node_modules/webgpu/"
cp "$w/dist/linux-x64/dawn.node" "$b/node_modules/webgpu/dist/linux-x64/"
node -p "require('./$w/package.json').version" > "$b/DAWN_VERSION"

# The Vulkan loader from Debian's libvulkan1 (apt-get download; this machine's copy if that fails).
(
  cd "$work"
  if apt-get download libvulkan1 >/dev/null 2>&1; then
    dpkg-deb -x libvulkan1_*.deb deb
    cp -P deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$b/lib/"
  else
    echo "pack-gpu: apt-get download libvulkan1 failed; copying this machine's loader" >&2
    cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$b/lib/libvulkan.so.1"
  fi
)
# Only used where the system has none (gpu.sh checks).
cp -L /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 "$b/lib/compat/"

npx tsx bench/pack-gpu.ts "$b"
cp bench/gpu.sh "$b/gpu.sh"
chmod +x "$b/gpu.sh" "$b/bin/node"

mkdir -p "$(dirname "$out")"
tar -C "$work" -cf - strata-gpu | xz "-${XZ_LEVEL:-6}" -T0 > "$out.part"
mv "$out.part" "$out"
size=$(stat -c %s "$out")
echo "pack-gpu: $out $((size / 1024 / 1024)) MiB ($size bytes; unpacked $(du -sm "$b" | cut -f1) MiB)"
if [ "$size" -gt "$limit" ]; then
  echo "pack-gpu: the bundle is over 64 MiB" >&2
  exit 1
fi
