#!/usr/bin/env bash
# System packages the tests need beyond Node:
#  - chromium: the browser the e2e tests drive (never a downloaded browser);
#  - libvulkan1: the Vulkan loader, through which Dawn (the `webgpu` package) reaches SwiftShader;
#  - mesa-vulkan-drivers ≥ 24 (Debian 12: from bookworm-backports): lavapipe, a second software
#    Vulkan with shader-f16 and a 128 MiB binding limit, for test/engine-lavapipe.test.ts;
#  - python3-numpy: numpy for the bundled model trainer's tests (tools/train/test_*.py);
#  - flake8, black: the lint and format check of the Python under tools/ (`npm run lint:py`).
# On Debian as root they are installed; elsewhere this says what is missing.
set -euo pipefail
chrome="${CHROME_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$chrome" ] || missing+=(chromium)
if [ "$(uname -s)" = Linux ]; then
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || missing+=(libvulkan1)
  mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  case "$mesa" in 2[4-9].* | [3-9][0-9].*) ;; *) missing+=(mesa-vulkan-drivers) ;; esac
fi
python3 -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
command -v flake8 >/dev/null || missing+=(flake8)
command -v black >/dev/null || missing+=(black)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (Debian packages)…" >&2
  target=()
  if [[ " ${missing[*]} " == *" mesa-vulkan-drivers "* ]] && grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
    cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    target=(-t bookworm-backports)
  fi
  apt-get update -qq
  # Only the Mesa driver comes from backports; the rest from the release.
  others=()
  for p in "${missing[@]}"; do [ "$p" = mesa-vulkan-drivers ] || others+=("$p"); done
  [ ${#others[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${others[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" mesa-vulkan-drivers "* ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${target[@]}" mesa-vulkan-drivers >/dev/null
  fi
else
  echo "Missing system packages: ${missing[*]} (Mesa's Vulkan drivers must be version 24 or newer)." >&2
  echo "On Debian/Ubuntu: sudo apt-get install -y ${missing[*]}; or set CHROME_PATH to a local Chrome." >&2
  exit 1
fi
