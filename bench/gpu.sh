#!/usr/bin/env bash
# Runs `npm run bench` on a Linux machine's GPU through Dawn on Vulkan, from the bundle that
# bench/pack-gpu.sh makes (Node, Dawn, the Vulkan loader and the bench; no network, no npm):
#   tar -xJf strata-gpu.tar.xz && strata-gpu/gpu.sh [--allow-software] [--out FILE]
#     [--no-peers | --peers "bench:peers options"] [bench options]
# Forward without captures, with the studio's captures and with every hook captured (GPT-2 small
# and medium shapes, T = 16, 64, 256), and the causal instruments' patching case; then bench:peers in
# Node on the same adapter (Strata, onnxruntime-web, TensorFlow.js). One JSON file of every number
# (default strata-gpu-bench.json), written after the bench and again after the peers. Refuses a
# software adapter (SwiftShader, llvmpipe) unless --allow-software. Stopped after 8 minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/bin/node" ]; then
  echo "gpu.sh runs from the bundle: make it with bash bench/pack-gpu.sh, copy and unpack it" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# libstdc++ and libgcc_s from the bundle only where the system has none.
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libstdc++.so.6 '; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$here/lib/compat"
fi
STRATA_DAWN_VERSION="$(cat "$here/DAWN_VERSION")"
export STRATA_DAWN_VERSION
exec timeout --signal=INT --kill-after=10 480 "$here/bin/node" "$here/bench.mjs" "$@"
