#!/usr/bin/env bash
# System packages the tests need beyond Node: a Chromium for the e2e tests (never a downloaded
# browser) and the Vulkan loader, through which Dawn (the `webgpu` package) reaches SwiftShader in
# Node. On Debian/Ubuntu as root they are installed; elsewhere this says what is missing.
set -euo pipefail
chrome="${CHROME_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$chrome" ] || missing+=(chromium)
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then missing+=(libvulkan1); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (Debian packages)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}." >&2
  echo "On Debian/Ubuntu: sudo apt-get install -y ${missing[*]}; or set CHROME_PATH to a local Chrome." >&2
  exit 1
fi
